//! The attack vocabulary (PRODUCT.md A1), what a detector reports (`Finding`, PRODUCT.md A2), and
//! the stable rule ids with their one-line explanations.

use std::fmt;

use sessionscope_model::Attack;

/// The attack types of PRODUCT.md A1 that a single request can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttackKind {
    Sqli,
    Nosqli,
    Xss,
    Rce,
    Ptrav,
    Ssrf,
    Xxe,
    Ldapi,
    Ssti,
    Ssi,
    Crlf,
    Redir,
    MailInjection,
    Scanner,
}

impl AttackKind {
    pub const ALL: [AttackKind; 14] = [
        AttackKind::Sqli,
        AttackKind::Nosqli,
        AttackKind::Xss,
        AttackKind::Rce,
        AttackKind::Ptrav,
        AttackKind::Ssrf,
        AttackKind::Xxe,
        AttackKind::Ldapi,
        AttackKind::Ssti,
        AttackKind::Ssi,
        AttackKind::Crlf,
        AttackKind::Redir,
        AttackKind::MailInjection,
        AttackKind::Scanner,
    ];

    /// The name used in stored attacks, filters and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackKind::Sqli => "sqli",
            AttackKind::Nosqli => "nosqli",
            AttackKind::Xss => "xss",
            AttackKind::Rce => "rce",
            AttackKind::Ptrav => "ptrav",
            AttackKind::Ssrf => "ssrf",
            AttackKind::Xxe => "xxe",
            AttackKind::Ldapi => "ldapi",
            AttackKind::Ssti => "ssti",
            AttackKind::Ssi => "ssi",
            AttackKind::Crlf => "crlf",
            AttackKind::Redir => "redir",
            AttackKind::MailInjection => "mail_injection",
            AttackKind::Scanner => "scanner",
        }
    }

    pub fn from_name(name: &str) -> Option<AttackKind> {
        AttackKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for AttackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attack found in one place of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: AttackKind,
    /// Where the value sat, e.g. `request.query.q` or `request.json.user.name`.
    pub point: String,
    /// At most `MAX_PAYLOAD_CHARS` characters of the decoded value around the match; `***` when
    /// the point holds a secret.
    pub payload: String,
    /// A stable rule id, e.g. `sqli.libinjection`; see `explain`.
    pub rule: &'static str,
}

/// Payload excerpts are cut to this many characters.
pub const MAX_PAYLOAD_CHARS: usize = 120;

impl From<Finding> for Attack {
    fn from(finding: Finding) -> Attack {
        Attack {
            kind: finding.kind.as_str().to_string(),
            point: finding.point,
            payload: finding.payload,
            rule: finding.rule.to_string(),
        }
    }
}

/// Every rule id a detector can report, with its explanation. Ids are stable: stored attacks and
/// false-positive rules refer to them.
pub const RULES: &[(&str, &str)] = &[
    ("sqli.libinjection", "the value tokenizes as an SQL fragment that breaks out of a literal or query (libinjection fingerprint)"),
    ("sqli.union-select", "UNION SELECT: a second query appended to read other tables"),
    ("sqli.time-delay", "a time-delay function (sleep, benchmark, pg_sleep, waitfor delay) used for blind SQL injection"),
    ("sqli.tautology", "a quote or parenthesis closed, then an always-true or always-false condition (' or 1=1)"),
    ("sqli.quote-comparison", "a string literal closed at the start of the value, then a comparison that rewrites the condition ('!=1, '='', 1' sounds like 1, x' is not null)"),
    ("sqli.comment-terminator", "a number, variable or closed literal followed by an SQL comment that cuts off the rest of the query (1--, admin' #, order by 3--)"),
    ("sqli.stacked-query", "a statement terminator followed by a new data-changing or administrative statement"),
    ("sqli.schema-probe", "a reference to the database catalogue or server variables (information_schema, @@version, sysobjects)"),
    ("sqli.error-function", "an SQL function used to leak data through error messages or files (extractvalue, updatexml, load_file, into outfile)"),
    ("nosqli.operator-name", "a MongoDB query operator smuggled into a parameter or JSON key ([$ne], $gt, $where)"),
    ("nosqli.operator-value", "a MongoDB operator or JavaScript condition inside a value ($where: '1 == 1', this.password.match)"),
    ("xss.libinjection", "the value parses as HTML that opens a script-capable tag, event handler or script URL (libinjection)"),
    ("xss.script-tag", "an HTML tag that runs script or loads active content"),
    ("xss.event-handler", "an HTML event handler attribute (onload=, onerror=, ...) after a tag or a broken-out attribute, or whose value calls a function"),
    ("xss.script-url", "a javascript:, vbscript: or data:text/html URL"),
    ("xss.script-call", "a JavaScript sink called after breaking out of a string or tag (alert(), eval(), document.cookie)"),
    ("xss.script-expression", "a value that is nothing but JavaScript running a sink: a dialog or eval call, a sink handed to another function, a computed call on a global object, a cookie or location write (alert`1`, top['al'+'ert'](1))"),
    ("xss.stripped-script", "a script block whose angle brackets were removed, the script still glued to the tag names (scriptalert(1)/script)"),
    ("xss.charset-markup", "markup hidden in a charset a browser or old decoder folds back to ASCII: UTF-7 (+ADw-script+AD4-) or Latin-1 with the eighth bit dropped (¼script¾)"),
    ("rce.shell-command", "a known system command after a shell separator (; | & newline), or a value that is itself a command line (whoami, cat /etc/passwd, dir c:\\, ping 127.0.0.1)"),
    ("rce.shell-substitution", "shell command substitution $(...) or `...` around a command"),
    ("rce.shell-obfuscation", "shell obfuscation used to smuggle commands (${IFS}, brace expansion, quoted or escaped command names)"),
    ("rce.shellshock", "a Bash function definition in a value: the Shellshock pattern () { :; };"),
    ("rce.code-injection", "a code-evaluation or process-spawning call of Python, Ruby or Perl (os.system, subprocess, __import__, IO.popen)"),
    ("rce.php-function", "a call of a PHP function that runs commands or code or reads and writes files (system, passthru, eval, assert, base64_decode, file_get_contents), also spaced out or commented, or such a function's name alone"),
    ("rce.php-code", "PHP code: an opening tag, a superglobal ($_GET, $GLOBALS), a call through a variable or a concatenated name, or a serialized object (O:8:\"stdClass\":...)"),
    ("rce.php-wrapper", "a PHP stream wrapper that turns a read or an include into code or a fetch (php://input, php://filter, phar://, data://, expect://)"),
    ("rce.php-directive", "a php.ini directive set from the request (allow_url_include=On, auto_prepend_file=, PHP_VALUE through PHP-FPM)"),
    ("rce.java-class", "a fully qualified Java class that runs code, loads classes or is a deserialization gadget (java.lang.Runtime, ProcessBuilder, javax.script, JNDI, RMI, CORBA, Commons Collections functors, TemplatesImpl)"),
    ("rce.java-serialized", "a serialized Java object (the AC ED 00 05 stream magic in clear, hex or base64 rO0AB)"),
    ("rce.java-expression", "an expression-language, OGNL or reflection construct that reaches code (#_memberAccess, T(...), getClass().forName, getRuntime(), ${pageContext...})"),
    ("rce.node-code", "Node.js code that reaches child_process or the process object, or builds code from strings (require('child_process'), process.mainModule, this.constructor.constructor, new Function, node-serialize's _$$ND_FUNC$$_)"),
    ("rce.prototype-pollution", "__proto__ or constructor.prototype as a key or a bracketed parameter name: merging the request changes every object of a JavaScript application"),
    ("rce.powershell", "PowerShell: a cmdlet that runs, fetches, reads or writes (Invoke-Expression, Start-Process, Get-Content), an alias call (iex, iwr), a .NET type reached from a script, an encoded command or a hidden window"),
    ("rce.windows-command", "cmd.exe: a FOR or IF construct, cmd /c, %COMSPEC% and the variables naming Windows directories"),
    ("rce.script-upload", "an uploaded file name that the server would run or obey: a server-side script extension (also as a second extension, with trailing dots, ::$DATA, ; or a NUL byte) or a server configuration file (.htaccess, web.config)"),
    ("rce.log4j-jndi", "a Log4j JNDI lookup (${jndi:...}), also when hidden behind nested lookups"),
    ("ptrav.dot-dot", "a ../ or ..\\ path segment that climbs out of the intended directory"),
    ("ptrav.sensitive-file", "a path to a well-known sensitive system or configuration file"),
    ("ptrav.php-wrapper", "a PHP stream wrapper that reads or runs files (php://filter, phar://, expect://, zip://)"),
    ("ptrav.null-byte", "a NUL byte that cuts a file name short after the attacker's path"),
    ("ssrf.internal-address", "a URL to loopback, a private or link-local network, or a cloud metadata service"),
    ("ssrf.obfuscated-address", "a URL whose host is an IP address written in decimal, hex, octal or shortened form"),
    ("ssrf.dangerous-scheme", "a URL with a scheme used to reach internal services or files (file, gopher, dict, ldap, tftp, jar, netdoc)"),
    ("ssrf.remote-include", "a URL to a script on a raw IP address or ending in ?, typical of remote file inclusion"),
    ("xxe.external-entity", "an XML DOCTYPE declaring an external entity (SYSTEM or PUBLIC)"),
    ("xxe.entity-expansion", "an XML DOCTYPE with nested internal entities (billion laughs) or parameter entities"),
    ("xxe.xinclude", "an XInclude element pulling in another document"),
    ("ldapi.filter-metacharacters", "a run of LDAP filter metacharacters with an empty filter, an operator and a wildcard (*()|&') that rewrites a filter's structure"),
    ("ldapi.filter-injection", "LDAP filter metacharacters that close the filter and open a new condition (*)(, )(|, )(&)"),
    ("ssti.expression", "a template expression with an operator, call or attribute access ({{7*7}}, ${...}, <%= %>, #{...})"),
    ("ssti.object-traversal", "a template expression walking to internal objects (__class__, __globals__, config, constructor)"),
    ("ssi.directive", "a server-side include directive (<!--#exec, <!--#include, ...)"),
    ("ssi.esi-tag", "an Edge Side Include tag (<esi:include, <esi:vars, ...)"),
    ("crlf.header-injection", "a CR or LF followed by an HTTP header line (response splitting or header injection), or a line break in a parameter name, a path segment or a header value"),
    ("crlf.request-smuggling", "request smuggling: a second HTTP request line (GET /admin HTTP/1.1) after a line break inside a value or body, or framing two servers may read differently (Transfer-Encoding beside Content-Length, sent twice or obfuscated, Content-Length twice with different values)"),
    ("redir.offsite", "a redirect-like parameter pointing to another host (//host, /\\host, https:host, scheme-relative tricks)"),
    ("mail_injection.header", "a CR or LF followed by a mail header (To, Cc, Bcc, From, Subject, Content-Type)"),
    ("mail_injection.command", "a CR or LF followed by an SMTP or IMAP command"),
    ("scanner.user-agent", "the User-Agent of a vulnerability scanner or attack tool"),
    ("scanner.probe-path", "a request for a path that scanners probe: version-control data, secrets files, admin and management interfaces"),
];

/// A one-line human explanation of a rule id, for request details and exports.
pub fn explain(rule: &str) -> Option<&'static str> {
    RULES
        .iter()
        .find(|(id, _)| *id == rule)
        .map(|(_, explanation)| *explanation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_starts_with_a_kind_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for (id, explanation) in RULES {
            let (kind, _) = id.split_once('.').expect("rule ids are kind.name");
            assert!(AttackKind::from_name(kind).is_some(), "{id}");
            assert!(seen.insert(*id), "duplicate {id}");
            assert!(
                !explanation.is_empty() && !explanation.ends_with('.'),
                "{id}"
            );
        }
    }

    #[test]
    fn explain_knows_rules_and_refuses_others() {
        assert!(explain("sqli.libinjection").is_some());
        assert!(explain("sqli.nothing").is_none());
    }

    #[test]
    fn kinds_round_trip_through_names() {
        for kind in AttackKind::ALL {
            assert_eq!(AttackKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(AttackKind::MailInjection.as_str(), "mail_injection");
    }
}
