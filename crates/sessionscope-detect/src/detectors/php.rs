//! PHP: code injection (opening tags, calls of the functions that run commands or code, also
//! spaced out, commented or through a variable or a concatenated string), the stream wrappers
//! that turn an include or a file read into code or a remote fetch (`php://`, `phar://`,
//! `data://`, `expect://`), serialized objects, superglobals, and configuration directives set
//! from a request (also PHP-FPM's `PHP_VALUE` smuggled through the path).

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{ANGLE, COLON, DOLLAR, EQUALS, NEWLINE, PAREN, QUOTE};
use crate::finding::AttackKind;
use crate::scan::{Hit, Subject};

/// Functions that run a command or code, or read and write files, by name. A call needs
/// arguments shaped like code (see `CALL`); the distinctive names count even alone.
const CALLED_FUNCTIONS: &str = "system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|eval|assert|assert_options|create_function|call_user_func|call_user_func_array|preg_replace|base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|convert_uudecode|hex2bin|file_get_contents|file_put_contents|fopen|fwrite|fputs|readfile|unlink|symlink|chmod|highlight_file|show_source|php_uname|phpinfo|getenv|putenv|ini_set|ini_get|fsockopen|pfsockopen|stream_socket_client|curl_exec|curl_init|move_uploaded_file|array_map|array_filter|array_walk|usort|uasort|uksort|register_shutdown_function|register_tick_function|ob_start|extract|parse_str|unserialize|get_defined_vars|scandir|opendir|posix_getpwuid|posix_kill|posix_setuid|posix_mkfifo|escapeshellcmd|escapeshellarg|set_error_handler|set_exception_handler|iterator_apply|forward_static_call";

static FUNCTION_ANCHORS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    let names: Vec<&str> = CALLED_FUNCTIONS.split('|').collect();
    super::anchors(&names)
});

static CODE_ANCHORS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    super::anchors(&[
        "<?", "<script", "$", "://", "data:", "`", ":{", "\".\"", "'.'", "\" . \"", "' . '",
    ])
});

static DIRECTIVE_ANCHORS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    super::anchors(&[
        "allow_url",
        "auto_",
        "disable_",
        "open_basedir",
        "safe_mode",
        "register_globals",
        "enable_dl",
        "cgi.",
        "suhosin.",
        "extension",
        "error_log",
        "include_path",
        "file_uploads",
        "upload_tmp_dir",
        "session.s",
        "mail.log",
        "sendmail_path",
        "pcre.",
        "opcache.",
        "phar.",
        "php_value",
        "php_admin_value",
    ])
});

/// Function names that are a probe on their own, as a whole value or a name.
const PROBE_NAMES: &[&str] = &[
    "phpinfo",
    "passthru",
    "shell_exec",
    "proc_open",
    "pcntl_exec",
    "base64_decode",
    "gzinflate",
    "gzuncompress",
    "str_rot13",
    "call_user_func",
    "call_user_func_array",
    "create_function",
    "assert_options",
    "fsockopen",
    "pfsockopen",
    "escapeshellcmd",
    "escapeshellarg",
    "file_put_contents",
    "move_uploaded_file",
    "get_defined_vars",
    "php_uname",
    "highlight_file",
    "show_source",
    "posix_getpwuid",
    "posix_setuid",
    "convert_uudecode",
    "register_shutdown_function",
];

/// A call: the name, blanks or comments, `(`, then something a program passes (a string, a
/// variable, a number, another call, a constant, a closing parenthesis).
static CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?:^|[^a-z0-9_$>.:\\])(?:{CALLED_FUNCTIONS})(?:\s|/\*.*?\*/|#[^\n]*\n|//[^\n]*\n)*\(\s*(?:['"`$]|\\?[a-z_][a-z0-9_\\]*\s*\(|[0-9]+\s*[,)]|(?-i:[A-Z][A-Z_]{{2,}})\b)"#
    ))
    .expect("static php rule compiles")
});

/// Dangerous calls that are a probe even with empty parentheses.
static EMPTY_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[^a-z0-9_$>.])(?:phpinfo|get_defined_vars|getcwd|php_uname|posix_getpwuid|posix_getuid|getmypid|get_current_user|phpversion)\s*\(\s*\)",
    )
    .expect("static php rule compiles")
});

/// Other code shapes: opening tags, calling a variable or a concatenated string, superglobals,
/// backticks around a variable, serialized objects, wrappers, configuration directives.
static CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<\?(?:php\b|=|\s+[a-z$_])|<script\s+language\s*=\s*['"]?php|\$\{?\s*_(?:get|post|request|cookie|server|files|env|session)\b\s*\}?\s*[\[;),.]|\$globals\s*\[|\$\{\s*['"]?globals|\$http_raw_post_data|\$http_(?:get|post|cookie|server|env)_vars|\$(?:[a-z_][a-z0-9_]*|\{[^}]{1,80}\})(?:\s*\[[^\]]{0,40}\])*\s*\(\s*(?:['"$]|[a-z_][a-z0-9_]*\s*\(|\))|\(\s*['"][a-z_]{1,12}['"]\s*\.\s*['"][a-z_]{1,12}['"](?:\s*\.\s*['"][a-z_]{1,12}['"])*\s*\)\s*\(|['"][a-z_]{1,12}['"]\s*\.\s*['"][a-z_]{1,12}['"]\s*\)\s*;\s*\$|`\s*\$\w+|\b[oc]:\d+:"[a-z_\\][a-z0-9_\\]*":\d+:\{|\ba:\d+:\{(?:i|s):\d+[:;]|\b(?:php|phar|zip|expect|glob|compress\.zlib|compress\.bzip2|rar|ogg|ssh2\.(?:shell|exec|tunnel|sftp|scp))://|\bdata:/{0,2}(?:text/(?:plain|html|x-php)|application/(?:x-httpd-php|x-php|octet-stream))[;,]|\bdata://"#,
    )
    .expect("static php rule compiles")
});

/// `php.ini` directives that turn a request into code execution or loosen the sandbox, when a
/// value sets one (`allow_url_include=On`, `PHP_VALUE auto_prepend_file=...`).
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\bphp_(?:admin_)?value\b[\s\S]{0,20}?|(?:^|[^a-z0-9_.]))(?:allow_url_include|allow_url_fopen|auto_prepend_file|auto_append_file|disable_functions|disable_classes|open_basedir|safe_mode(?:_exec_dir)?|register_globals|enable_dl|cgi\.force_redirect|cgi\.redirect_status_env|suhosin\.[a-z_.]+|extension_dir|extension|zend_extension|error_log|include_path|file_uploads|upload_tmp_dir|session\.save_path|session\.serialize_handler|mail\.log|sendmail_path|pcre\.backtrack_limit|opcache\.[a-z_]+|phar\.readonly)\s*=\s*\S|\bphp_(?:admin_)?value\s*[\r\n]",
    )
    .expect("static php rule compiles")
});

/// A whole value (or name) that is a dangerous function's name.
pub(crate) fn plain_value(text: &str) -> Option<Hit> {
    let trimmed = text.trim();
    if trimmed.len() < 7 || trimmed.len() > 26 {
        return None;
    }
    PROBE_NAMES
        .iter()
        .any(|name| trimmed.eq_ignore_ascii_case(name))
        .then(|| {
            let start = text.len() - text.trim_start().len();
            Hit::new(
                AttackKind::Rce,
                "rce.php-function",
                start,
                start + trimmed.len(),
            )
        })
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    if text.len() < 4 {
        return None;
    }
    if features.has(PAREN) && FUNCTION_ANCHORS.is_match(text) {
        if let Some(found) = CALL.find(text) {
            return Some(Hit::over(
                AttackKind::Rce,
                "rce.php-function",
                found.range(),
            ));
        }
        if let Some(found) = EMPTY_CALL.find(text) {
            return Some(Hit::over(
                AttackKind::Rce,
                "rce.php-function",
                found.range(),
            ));
        }
    }
    if features.has(ANGLE | DOLLAR | COLON | QUOTE | PAREN) && CODE_ANCHORS.is_match(text) {
        if let Some(found) = CODE.find(text) {
            let rule = if found.as_str().contains("://") || found.as_str().starts_with("data:") {
                "rce.php-wrapper"
            } else {
                "rce.php-code"
            };
            return Some(Hit::over(AttackKind::Rce, rule, found.range()));
        }
    }
    if features.has(EQUALS | NEWLINE) && DIRECTIVE_ANCHORS.is_match(text) {
        if let Some(found) = DIRECTIVE.find(text) {
            return Some(Hit::over(
                AttackKind::Rce,
                "rce.php-directive",
                found.range(),
            ));
        }
    }
    if let Some(hit) = plain_value(text) {
        return Some(hit);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn php_code_wrappers_objects_and_directives_are_found() {
        check(
            detect,
            &[
                "<?php system($_GET['c']); ?>",
                "<?= `id` ?>",
                "<? echo 1; ?>",
                "system('id')",
                "system ('id')",
                "shell_exec(\"cat /etc/passwd\")",
                "passthru/**/(\"id\")",
                "eval(base64_decode('cGhwaW5mbygpOw=='))",
                "assert($_POST[x])",
                "phpinfo()",
                "phpinfo",
                "file_get_contents('/etc/passwd')",
                "include($_GET['page'])",
                "$_GET['f']($_GET['c'])",
                "$f('id')",
                "(\"sys\".\"tem\")(\"id\")",
                "${\"GLOBALS\"}[\"x\"]",
                "$_SERVER['HTTP_HOST']",
                "echo $_GET;",
                "O:8:\"stdClass\":1:{s:1:\"a\";s:1:\"b\";}",
                "a:2:{i:0;s:4:\"test\";i:1;s:2:\"xx\";}",
                "php://filter/convert.base64-encode/resource=index.php",
                "php://input",
                "phar://uploads/avatar.jpg/shell",
                "expect://id",
                "data://text/plain;base64,PD9waHAgcGhwaW5mbygpOyA/Pg==",
                "data:text/plain,<?php phpinfo(); ?>",
                "allow_url_include=On",
                "-d allow_url_include=1 -d auto_prepend_file=php://input",
                "PHP_VALUE\nauto_prepend_file=/tmp/x",
                "array_map('system', array('id'))",
                "call_user_func('assert', 'phpinfo()')",
                "{${phpinfo()}}",
            ],
            &[
                "the system (as designed) works",
                "Use $_GET in PHP to read parameters",
                "Never call eval() on user input",
                "exec summary attached",
                "assert that it works",
                "include a photo (optional)",
                "copy of the invoice",
                "file (pdf or jpg)",
                "$5 off, 2 for $9",
                "price: $100 | discount: 10%",
                "$(document).ready(function() { init(); })",
                "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "I <3 this shop",
                "a < b and c > d",
                "memory limit = 512 MB",
                "error log is empty",
                "system",
                "exec",
                "print('hello world')",
                "printf(\"%d\", 5) in C",
                "chr(65) returns A",
            ],
        );
    }
}
