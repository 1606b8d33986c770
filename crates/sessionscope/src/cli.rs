//! The command line: every command and flag, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::FlagConfig;

#[derive(Debug, Parser)]
#[command(
    name = "sessionscope",
    version,
    about = "Turns HTTP API traffic into user sessions you can explore"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML); also SESSIONSCOPE_CONFIG
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store URI, e.g. sqlite:/var/lib/sessionscope/s.db; also SESSIONSCOPE_STORE
    #[arg(long, global = true, value_name = "URI")]
    pub store: Option<String>,
    /// Shorthand for --store sqlite:PATH
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "store")]
    pub db: Option<PathBuf>,
    /// Directory of the default store; also SESSIONSCOPE_DATA_DIR
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Days a day of traffic is kept after it was last stored into; also SESSIONSCOPE_RETENTION_DAYS
    #[arg(long, global = true, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// More log output (-v info, -vv debug, -vvv trace); also SESSIONSCOPE_LOG
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    pub fn flag_config(&self, listen: Option<String>) -> FlagConfig {
        FlagConfig {
            config_file: self.config.clone(),
            store: self.store.clone(),
            db: self.db.clone(),
            data_dir: self.data_dir.clone(),
            retention_days: self.retention_days,
            listen,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate traffic, ingest it into a fresh store and serve it on 127.0.0.1:8080
    Demo(DemoArgs),
    /// Serve the REST API
    Serve(ServeArgs),
    /// Ingest files: exchange NDJSON, HAR, combined/common logs, nginx JSON logs, Zeek http.log (gzip accepted)
    Ingest(IngestArgs),
    /// Write synthetic traffic (exchange NDJSON) and its ground truth
    Generate(GenerateArgs),
    /// List sessions
    Sessions(SessionsArgs),
    /// Show one session: its parts, statistics and requests
    Session(SessionArgs),
    /// Export requests or sessions as NDJSON or CSV
    Export(ExportArgs),
    /// Manage local users
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Show the audit log: access changes, sign-ins and configuration changes, newest first
    Audit(AuditArgs),
    /// Inspect the configuration
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Apply the retention period now and show disk usage
    Retention,
    /// Detection rules: false positives, virtual patches, disabled detection, masked parameters
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Exchanges to generate
    #[arg(long, default_value_t = 60_000)]
    pub requests: u64,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep the demo store in this directory instead of a temporary one
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind; also SESSIONSCOPE_LISTEN (default 127.0.0.1:8080)
    #[arg(long)]
    pub listen: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Ndjson,
    Har,
    Combined,
    NginxJson,
    Zeek,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit status:\n  \
    0  every file was read to its end (rejected records do not change this)\n  \
    1  a file could not be opened or recognised, or was cut short (a truncated gzip file, a read \
    error): the other files, and what was read before the cut, are still stored")]
pub struct IngestArgs {
    /// Files to ingest; `-` reads standard input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Input format (default: detected from the content)
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write every rejected record (file, line, reason) to this file
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Never draw a progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Analysis threads (default: one per core)
    #[arg(long)]
    pub workers: Option<usize>,
    /// Skip attack detection (sessions only; for comparison runs and traffic known to be clean)
    #[arg(long)]
    pub no_detection: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of exchanges
    #[arg(long, default_value_t = 100_000)]
    pub requests: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (default: standard output)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Ground-truth file (NDJSON, one line per exchange)
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Start of the traffic (RFC 3339 or relative like -24h; default: yesterday 00:00 UTC)
    #[arg(long)]
    pub start: Option<String>,
    /// Hours the traffic spans
    #[arg(long, default_value_t = 24)]
    pub hours: u32,
    /// Print the configuration (TOML) that fits the generated traffic and exit
    #[arg(long)]
    pub print_config: bool,
}

/// The general filters (PRODUCT.md E2–E4), shared by the read commands.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Start of the time window (RFC 3339, or relative: -15m, -1h, -7d, today, yesterday)
    #[arg(long)]
    pub from: Option<String>,
    /// End of the time window (exclusive)
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub app: Vec<String>,
    #[arg(long)]
    pub host: Vec<String>,
    /// Business flow id, e.g. billing, authentication
    #[arg(long)]
    pub flow: Vec<String>,
    #[arg(long)]
    pub user: Vec<String>,
    #[arg(long)]
    pub role: Vec<String>,
    /// Client IP or CIDR
    #[arg(long)]
    pub client_ip: Vec<String>,
    #[arg(long)]
    pub method: Vec<String>,
    /// Response code or class (404, 5xx)
    #[arg(long)]
    pub status: Vec<String>,
    #[arg(long)]
    pub session_id: Vec<String>,
    #[arg(long)]
    pub request_id: Vec<String>,
    /// Endpoint pattern with * and ?, e.g. '/v1/users/*'
    #[arg(long)]
    pub endpoint: Vec<String>,
    #[arg(long)]
    pub attack_type: Vec<String>,
}

impl FilterArgs {
    /// The same name/value pairs the REST API takes, so both parse filters alike.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut one = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                pairs.push((name.to_string(), value.clone()));
            }
        };
        one("from", &self.from);
        one("to", &self.to);
        let lists: [(&str, &Vec<String>); 12] = [
            ("app", &self.app),
            ("host", &self.host),
            ("flow", &self.flow),
            ("user", &self.user),
            ("role", &self.role),
            ("client_ip", &self.client_ip),
            ("method", &self.method),
            ("status", &self.status),
            ("session_id", &self.session_id),
            ("request_id", &self.request_id),
            ("endpoint", &self.endpoint),
            ("attack_type", &self.attack_type),
        ];
        for (name, values) in lists {
            for value in values {
                pairs.push((name.to_string(), value.clone()));
            }
        }
        pairs
    }
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Rows to show
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Continue after this cursor (printed under the previous page)
    #[arg(long)]
    pub cursor: Option<String>,
    /// Print the page as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Session id (32 hex characters)
    pub id: String,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Requests to show
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Sort requests: time, -time, duration, -duration, size, -size
    #[arg(long, default_value = "time", allow_hyphen_values = true)]
    pub sort: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportWhat {
    Requests,
    Sessions,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub what: ExportWhat,
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: ExportFormat,
    /// Output file (default: standard output)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a local user; the password is read from standard input, or generated and printed
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List local users
    List,
    /// Remove a local user and end their console logins (the last admin cannot be removed)
    Remove { name: String },
    /// Set a new password and end the user's console logins; read from standard input, or generated and printed
    Passwd {
        name: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; the token is printed on the last line of standard output
    Create {
        #[arg(long)]
        role: String,
        /// A unique name to recognise the token by (default: ROLE-N, the first free N)
        #[arg(long)]
        name: Option<String>,
    },
    /// List API tokens: name, role, when created and last used (never the token)
    List,
    /// Revoke a token by name; a running server refuses it from the next request on
    Revoke { name: String },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many of the newest events to show
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved configuration, or every problem in it
    Check,
    /// Replace the analysis settings kept in the store (session_keys, context, apps) with a file's; recorded in the change log
    Import {
        /// Configuration file (TOML) whose session_keys, context and apps replace the stored ones
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the detection rules in the order they apply
    List,
    /// Mark a finding of a stored request as a false positive; the rule's id is printed on the last line
    FalsePositive {
        /// The request (exchange id) the finding belongs to
        request_id: String,
        /// The finding's attack type, e.g. sqli
        #[arg(long = "type", value_name = "TYPE")]
        attack_type: String,
        /// The finding's point, e.g. request.query.q
        #[arg(long)]
        point: String,
        /// payload (this payload), type (this type, any payload) or point (every type at the point)
        #[arg(long, default_value = "payload", value_parser = ["payload", "type", "point"])]
        breadth: String,
        /// endpoint (the request's endpoint on its host), host or everywhere
        #[arg(long, default_value = "endpoint", value_parser = ["endpoint", "host", "everywhere"])]
        scope: String,
        /// Why this is a false positive
        #[arg(long)]
        comment: Option<String>,
    },
    /// Add a rule of any kind from its JSON, e.g. '{"kind":"virtual_patch","point":"request.header.x-debug","pattern":"^on$","attack_type":"scanner"}'
    Add {
        /// The rule as JSON (see docs/detection.md); a rule without an id gets one
        rule: String,
    },
    /// Remove a rule by id (or #INDEX), e.g. to undo a false positive
    Remove { id: String },
    /// Apply the false-positive and disable rules to stored requests and fix the sessions' attack counts
    Reevaluate {
        /// Only requests at or after this time (RFC 3339, -7d, today, ...); all when absent
        #[arg(long)]
        from: Option<String>,
    },
}
