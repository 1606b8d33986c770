//! Uploads of scripts: a file name the web server would run or obey — a server-side script
//! extension (PHP in all its spellings, JSP, ASP and ASP.NET handlers, ColdFusion, CGI, Perl,
//! SSI), also behind the tricks that get one past an extension check: a second extension that
//! Apache still maps (`shell.php.jpg`), trailing dots and spaces Windows drops, NTFS streams
//! (`::$DATA`), `;` that IIS cuts at, a NUL byte that ends the name in C. Server configuration
//! files (`.htaccess`, `web.config`, `.user.ini`) count too.

use crate::finding::AttackKind;
use crate::scan::Hit;

/// Extensions that servers hand to an interpreter.
const SCRIPT_EXTENSIONS: &[&str] = &[
    "php", "php2", "php3", "php4", "php5", "php6", "php7", "php8", "phps", "pht", "phtm", "phtml",
    "phar", "pgif", "inc", "hphp", "ctp", "jsp", "jspx", "jsw", "jsv", "jspf", "jhtml", "war",
    "asp", "aspx", "asa", "asax", "ascx", "ashx", "asmx", "axd", "cdx", "soap", "rem", "svc",
    "cshtml", "vbhtml", "cfm", "cfml", "cfc", "dbm", "cgi", "shtml", "shtm", "stm",
];

/// Extensions that only matter as the last one: elsewhere in a name they are ordinary words.
const LAST_ONLY: &[&str] = &["inc", "rem", "stm", "soap"];

/// Whole names that configure the server that stores them.
const SERVER_FILES: &[&str] = &[
    ".htaccess",
    ".htpasswd",
    ".htdigest",
    "web.config",
    ".user.ini",
    "php.ini",
    ".bashrc",
    ".profile",
    "authorized_keys",
];

/// The name as the server's file system would store it, lowercase: cut at a NUL byte (or its
/// escape) and at IIS's `;`, without NTFS stream suffixes and trailing dots and spaces.
fn stored_name(file_name: &str) -> String {
    let mut name = file_name.to_ascii_lowercase();
    for cut in ["\0", "%00", "\\0", "\\x00", "\\u0000"] {
        if let Some(at) = name.find(cut) {
            name.truncate(at);
        }
    }
    if let Some(at) = name.find(';') {
        name.truncate(at);
    }
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").to_string();
    let mut base = base;
    if let Some(at) = base.find("::$") {
        base.truncate(at);
    }
    base.trim_end_matches(['.', ' ', '\t']).to_string()
}

/// A hit when an uploaded file's name is a script or a server configuration file.
pub(crate) fn detect_file_name(file_name: &str) -> Option<Hit> {
    if file_name.is_empty() || file_name.len() > 1024 {
        return None;
    }
    let name = stored_name(file_name);
    let hit = || {
        Some(Hit::new(
            AttackKind::Rce,
            "rce.script-upload",
            0,
            file_name.len(),
        ))
    };
    if SERVER_FILES.contains(&name.as_str()) {
        return hit();
    }
    let mut pieces = name.split('.');
    pieces.next();
    let extensions: Vec<&str> = pieces.map(str::trim).collect();
    let last = extensions.last()?;
    if SCRIPT_EXTENSIONS.contains(last) {
        return hit();
    }
    // A script extension before the last one: Apache maps every extension of a name.
    let inner = &extensions[..extensions.len() - 1];
    if inner
        .iter()
        .any(|extension| SCRIPT_EXTENSIONS.contains(extension) && !LAST_ONLY.contains(extension))
    {
        return hit();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_uploads_are_found() {
        for name in [
            "shell.php",
            "shell.PhP5",
            "shell.phtml",
            "shell.phar",
            "shell.php.jpg",
            "shell.php.",
            "shell.php . .",
            "shell.php::$DATA",
            "shell.asp;.jpg",
            "shell.php%00.jpg",
            "shell.php\0.png",
            "shell.jsp",
            "shell.jspx",
            "shell.aspx",
            "shell.ashx",
            "shell.cfm",
            "shell.cgi",
            "shell.shtml",
            ".htaccess",
            "web.config",
            ".user.ini",
            "../../var/www/html/shell.php",
        ] {
            assert!(detect_file_name(name).is_some(), "missed {name}");
        }
        for name in [
            "report.final.v2.pdf",
            "photo 2024-06-01.jpg",
            "my.resume.docx",
            "archive.tar.gz",
            "php-cheatsheet.pdf",
            "java-tutorial.epub",
            "invoice_2024.pdf",
            "index.html",
            "style.min.css",
            "app.bundle.js",
            "setup.exe",
            "notes.txt",
            "Q3 results (draft).xlsx",
            "image.jpeg",
            "data.backup.json",
            "acme.inc.pdf",
            "php",
            "config.yaml",
            "README",
        ] {
            assert!(detect_file_name(name).is_none(), "flagged {name}");
        }
    }
}
