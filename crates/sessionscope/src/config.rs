//! Configuration: defaults < file < environment < flags, merged in `resolve`, every problem
//! reported at once.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sessionscope_analyze::{AnalysisConfig, AnalysisSettings};

/// The configuration file as written by the user. Every field is optional so that a file can set
/// only what it changes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Store URI, `sqlite:PATH`.
    pub store: Option<String>,
    /// Where the default store lives.
    pub data_dir: Option<PathBuf>,
    pub retention_days: Option<u32>,
    pub listen: Option<String>,
    /// Exchanges per store transaction.
    pub ingest_batch_size: Option<usize>,
    #[serde(default)]
    pub session_keys: Vec<sessionscope_analyze::SessionKeySetting>,
    #[serde(default)]
    pub context: Vec<sessionscope_analyze::ContextSetting>,
    #[serde(default)]
    pub apps: Vec<sessionscope_analyze::AppSetting>,
}

/// What the command line says about configuration (flags shared by every command).
#[derive(Debug, Clone, Default)]
pub struct FlagConfig {
    pub config_file: Option<PathBuf>,
    pub store: Option<String>,
    pub db: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub retention_days: Option<u32>,
    pub listen: Option<String>,
}

/// The resolved configuration every command runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub config_file: Option<PathBuf>,
    pub store_uri: String,
    pub data_dir: PathBuf,
    pub retention_days: u32,
    pub listen: SocketAddr,
    pub ingest_batch_size: usize,
    pub analysis_settings: AnalysisSettings,
    pub analysis: AnalysisConfig,
}

/// One thing wrong with the configuration, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub source: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

pub const DEFAULT_RETENTION_DAYS: u32 = 7;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_BATCH_SIZE: usize = 20_000;
const MAX_RETENTION_DAYS: u32 = 3_650;

fn default_data_dir() -> PathBuf {
    if let Some(data_home) = std::env::var_os("XDG_DATA_HOME").filter(|value| !value.is_empty()) {
        return PathBuf::from(data_home).join("sessionscope");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|value| !value.is_empty()) {
        return PathBuf::from(home).join(".local/share/sessionscope");
    }
    PathBuf::from("sessionscope-data")
}

/// Reads and merges everything. `environment` is passed in (not read here) so tests can drive it.
pub fn resolve(
    flags: &FlagConfig,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<Problem>> {
    let mut problems = Vec::new();

    let config_file = flags
        .config_file
        .clone()
        .or_else(|| environment("SESSIONSCOPE_CONFIG").map(PathBuf::from));
    let file = match &config_file {
        Some(path) => match read_file_config(path) {
            Ok(file) => file,
            Err(problem) => {
                problems.push(problem);
                FileConfig::default()
            }
        },
        None => FileConfig::default(),
    };

    let data_dir = flags
        .data_dir
        .clone()
        .or_else(|| environment("SESSIONSCOPE_DATA_DIR").map(PathBuf::from))
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(default_data_dir);

    let store_uri = if let Some(db) = &flags.db {
        format!("sqlite:{}", db.display())
    } else if let Some(store) = flags.store.clone() {
        store
    } else if let Some(store) = environment("SESSIONSCOPE_STORE") {
        store
    } else if let Some(store) = file.store.clone() {
        store
    } else {
        format!("sqlite:{}", data_dir.join("sessionscope.db").display())
    };
    if !store_uri.starts_with("sqlite:") {
        problems.push(Problem {
            source: "store".into(),
            message: format!("unsupported store `{store_uri}`; expected sqlite:PATH"),
        });
    }

    let retention_days = match flags.retention_days {
        Some(days) => Some(days),
        None => match environment("SESSIONSCOPE_RETENTION_DAYS") {
            Some(text) => match text.trim().parse::<u32>() {
                Ok(days) => Some(days),
                Err(_) => {
                    problems.push(Problem {
                        source: "SESSIONSCOPE_RETENTION_DAYS".into(),
                        message: format!("`{text}` is not a whole number of days"),
                    });
                    None
                }
            },
            None => file.retention_days,
        },
    }
    .unwrap_or(DEFAULT_RETENTION_DAYS);
    if retention_days == 0 || retention_days > MAX_RETENTION_DAYS {
        problems.push(Problem {
            source: "retention_days".into(),
            message: format!(
                "{retention_days} is out of range; expected 1 to {MAX_RETENTION_DAYS}"
            ),
        });
    }

    let listen_text = flags
        .listen
        .clone()
        .or_else(|| environment("SESSIONSCOPE_LISTEN"))
        .or_else(|| file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(address) => address,
        Err(_) => {
            problems.push(Problem {
                source: "listen".into(),
                message: format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            });
            DEFAULT_LISTEN
                .parse()
                .expect("the default listen address parses")
        }
    };

    let ingest_batch_size = file.ingest_batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    if !(100..=1_000_000).contains(&ingest_batch_size) {
        problems.push(Problem {
            source: "ingest_batch_size".into(),
            message: format!("{ingest_batch_size} is out of range; expected 100 to 1000000"),
        });
    }

    let analysis_settings = AnalysisSettings {
        session_keys: file.session_keys.clone(),
        context: file.context.clone(),
        apps: file.apps.clone(),
        // Detection rules live in the store (made through the API and `sessionscope rules`).
        rules: Vec::new(),
    };
    let analysis = match analysis_settings.validate() {
        Ok(analysis) => Some(analysis),
        Err(analysis_problems) => {
            let source = config_file
                .as_ref()
                .map(|path| path.display().to_string())
                .unwrap_or_else(|| "configuration".into());
            for problem in analysis_problems {
                problems.push(Problem {
                    source: source.clone(),
                    message: problem.to_string(),
                });
            }
            None
        }
    };

    match analysis {
        Some(analysis) if problems.is_empty() => Ok(Config {
            config_file,
            store_uri,
            data_dir,
            retention_days,
            listen,
            ingest_batch_size,
            analysis_settings,
            analysis,
        }),
        _ => Err(problems),
    }
}

fn read_file_config(path: &Path) -> Result<FileConfig, Problem> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| Problem {
        source: source.clone(),
        message: format!("failed to read configuration file: {error}"),
    })?;
    parse_file_config(&text).map_err(|message| Problem { source, message })
}

pub fn parse_file_config(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|error| {
        let message = error.message().to_string();
        match error.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {message}")
            }
            None => message,
        }
    })
}

impl Config {
    /// The configuration as `config check` prints it: TOML, with nothing secret in it (the
    /// installation secret lives in the store, and the file holds no credentials).
    pub fn to_toml(&self) -> String {
        let file = FileConfig {
            store: Some(self.store_uri.clone()),
            data_dir: Some(self.data_dir.clone()),
            retention_days: Some(self.retention_days),
            listen: Some(self.listen.to_string()),
            ingest_batch_size: Some(self.ingest_batch_size),
            session_keys: self.analysis_settings.session_keys.clone(),
            context: self.analysis_settings.context.clone(),
            apps: self.analysis_settings.apps.clone(),
        };
        let source = match &self.config_file {
            Some(path) => format!(
                "# resolved from defaults, {}, environment and flags\n",
                path.display()
            ),
            None => "# resolved from defaults, environment and flags (no configuration file)\n"
                .to_string(),
        };
        match toml::to_string_pretty(&file) {
            Ok(text) => source + &text,
            Err(error) => format!("# cannot render the configuration: {error}\n"),
        }
    }

    /// The SQLite file of the store, when the store is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.store_uri.strip_prefix("sqlite:")?;
        Some(PathBuf::from(rest.strip_prefix("//").unwrap_or(rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(
            &file,
            "retention_days = 3\nlisten = \"127.0.0.1:9000\"\nstore = \"sqlite:/from/file.db\"\n",
        )
        .unwrap();
        let flags = FlagConfig {
            config_file: Some(file.clone()),
            ..Default::default()
        };

        let from_file = resolve(&flags, &env(&[])).unwrap();
        assert_eq!(from_file.retention_days, 3);
        assert_eq!(from_file.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(from_file.store_uri, "sqlite:/from/file.db");

        let from_env = resolve(
            &flags,
            &env(&[
                ("SESSIONSCOPE_RETENTION_DAYS", "5"),
                ("SESSIONSCOPE_STORE", "sqlite:/env.db"),
            ]),
        )
        .unwrap();
        assert_eq!(from_env.retention_days, 5);
        assert_eq!(from_env.store_uri, "sqlite:/env.db");

        let with_flags = FlagConfig {
            retention_days: Some(9),
            db: Some(PathBuf::from("/flag.db")),
            ..flags
        };
        let from_flags =
            resolve(&with_flags, &env(&[("SESSIONSCOPE_RETENTION_DAYS", "5")])).unwrap();
        assert_eq!(from_flags.retention_days, 9);
        assert_eq!(from_flags.store_uri, "sqlite:/flag.db");

        let defaults = resolve(
            &FlagConfig::default(),
            &env(&[("SESSIONSCOPE_DATA_DIR", "/data")]),
        )
        .unwrap();
        assert_eq!(defaults.retention_days, DEFAULT_RETENTION_DAYS);
        assert_eq!(defaults.store_uri, "sqlite:/data/sessionscope.db");
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(
            &file,
            "retention_days = 0\nlisten = \"nowhere\"\n[[context]]\nname = \"pw\"\npoint = \"request.form.password\"\ntype = \"none\"\ngroup_by = true\n",
        )
        .unwrap();
        let flags = FlagConfig {
            config_file: Some(file),
            ..Default::default()
        };
        let problems =
            resolve(&flags, &env(&[("SESSIONSCOPE_STORE", "postgres://x")])).unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter().any(|p| p.contains("retention_days")),
            "{text:?}"
        );
        assert!(text.iter().any(|p| p.contains("listen")), "{text:?}");
        assert!(text.iter().any(|p| p.contains("postgres://x")), "{text:?}");
        assert!(text.iter().any(|p| p.contains("masked")), "{text:?}");
    }

    #[test]
    fn unknown_keys_and_syntax_errors_name_the_line() {
        let error = parse_file_config("retention_days = 3\nretention = 4\n").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("retention"), "{error}");
    }
}
