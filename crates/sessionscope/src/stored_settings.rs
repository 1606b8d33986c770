//! The analysis settings live in the store (PRODUCT.md C6): the console edits them there and every
//! change is recorded. The rule for the commands that analyse or serve: when the store holds no
//! settings yet, the configuration file's (or the defaults) become the first version, recorded as
//! changed by `config-file` (or `system`); afterwards the stored settings are used, and `ingest`
//! warns when the file says something else. `config import FILE` replaces them on purpose.

use anyhow::Context as _;
use sessionscope_analyze::{AnalysisConfig, AnalysisSettings};
use sessionscope_store::{ConfigChange, Store};

use crate::config::Config;

/// Who a change made from a configuration file is recorded as.
pub const FILE_AUTHOR: &str = "config-file";
/// Who a change made without a file (the defaults) is recorded as.
pub const SYSTEM_AUTHOR: &str = "system";

/// The parts of the settings that differ, by their names in the file.
pub fn differing_parts(left: &AnalysisSettings, right: &AnalysisSettings) -> Vec<&'static str> {
    let mut parts = Vec::new();
    if left.session_keys != right.session_keys {
        parts.push("session_keys");
    }
    if left.context != right.context {
        parts.push("context");
    }
    if left.apps != right.apps {
        parts.push("apps");
    }
    parts
}

fn to_json(settings: &AnalysisSettings) -> anyhow::Result<String> {
    serde_json::to_string(settings).context("failed to encode the analysis settings")
}

/// The stored settings, parsed; `None` when the store has none yet.
pub fn stored(store: &dyn Store) -> anyhow::Result<Option<AnalysisSettings>> {
    let Some(text) = store
        .analysis_settings()
        .context("failed to read the analysis settings from the store")?
    else {
        return Ok(None);
    };
    let settings = serde_json::from_str(&text)
        .context("the analysis settings stored in the store are not readable")?;
    Ok(Some(settings))
}

/// The analysis configuration to run with, following the rule above. `warn_when_file_differs`
/// prints one warning to standard error naming what differs and how to replace it.
pub fn effective_analysis(
    config: &Config,
    store: &dyn Store,
    warn_when_file_differs: bool,
) -> anyhow::Result<AnalysisConfig> {
    let Some(settings) = stored(store)? else {
        let (author, summary) = match &config.config_file {
            Some(path) => (
                FILE_AUTHOR,
                format!("first version, from `{}`", path.display()),
            ),
            None => (
                SYSTEM_AUTHOR,
                "first version, from the defaults".to_string(),
            ),
        };
        store
            .save_analysis_settings(&to_json(&config.analysis_settings)?, author, &summary)
            .context("failed to save the analysis settings in the store")?;
        return Ok(config.analysis.clone());
    };
    if warn_when_file_differs {
        if let Some(path) = &config.config_file {
            let parts = differing_parts(&settings, &config.analysis_settings);
            if !parts.is_empty() {
                eprintln!(
                    "warning: the analysis settings in `{}` differ from the ones in the store ({}); the store's are used (they are edited in the console). To replace them with the file's, run `sessionscope config import {}` with the same --store/--db",
                    path.display(),
                    parts.join(", "),
                    path.display()
                );
            }
        }
    }
    settings.validate().map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| format!("  {problem}"))
            .collect();
        anyhow::anyhow!(
            "the analysis settings stored in the store are invalid:\n{}\nreplace them with `sessionscope config import FILE`",
            lines.join("\n")
        )
    })
}

/// Replaces the stored settings with `settings` read from `source`, recorded in the change log.
/// Returns `None` (and records nothing) when they are already equal.
pub fn import(
    store: &dyn Store,
    settings: &AnalysisSettings,
    source: &str,
) -> anyhow::Result<Option<ConfigChange>> {
    let before = stored(store)?;
    let summary = match &before {
        Some(before) => {
            let parts = differing_parts(before, settings);
            if parts.is_empty() {
                return Ok(None);
            }
            format!("imported `{source}` ({} changed)", parts.join(", "))
        }
        None => format!("imported `{source}`"),
    };
    let change = store
        .save_analysis_settings(&to_json(settings)?, FILE_AUTHOR, &summary)
        .context("failed to save the analysis settings in the store")?;
    Ok(Some(change))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_analyze::SessionKeySetting;

    fn with_key(point: &str) -> AnalysisSettings {
        AnalysisSettings {
            session_keys: vec![SessionKeySetting {
                points: vec![point.to_string()],
            }],
            ..AnalysisSettings::default()
        }
    }

    #[test]
    fn only_the_parts_that_differ_are_named() {
        let left = with_key("request.header.x-a");
        assert!(differing_parts(&left, &left.clone()).is_empty());
        let right = with_key("request.header.x-b");
        assert_eq!(differing_parts(&left, &right), vec!["session_keys"]);
    }

    #[test]
    fn import_records_a_change_only_when_something_changes() {
        let directory = tempfile::tempdir().unwrap();
        let store = sessionscope_store::SqliteStore::open(&directory.path().join("s.db")).unwrap();
        let first = import(&store, &with_key("request.header.x-a"), "a.toml")
            .unwrap()
            .expect("first import is recorded");
        assert_eq!(first.summary, "imported `a.toml`");
        assert!(import(&store, &with_key("request.header.x-a"), "a.toml")
            .unwrap()
            .is_none());
        let second = import(&store, &with_key("request.header.x-b"), "b.toml")
            .unwrap()
            .expect("a change is recorded");
        assert_eq!(second.who, FILE_AUTHOR);
        assert_eq!(second.summary, "imported `b.toml` (session_keys changed)");
        assert_eq!(
            stored(&store).unwrap(),
            Some(with_key("request.header.x-b"))
        );
    }
}
