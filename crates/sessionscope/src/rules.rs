//! `sessionscope rules`: detection rules from the command line (PRODUCT.md A3, A4) — list them,
//! mark a stored finding as a false positive, remove a rule, re-evaluate stored requests. The
//! work is the server's (`sessionscope_server::rules`), so the CLI and the API create the same
//! rules and record them the same way in the change log.

use std::process::ExitCode;

use sessionscope_analyze::DetectionRule;
use sessionscope_model::{parse_time_spec, Micros};
use sessionscope_server::rules::{self as server_rules, FalsePositiveRequest};
use sessionscope_store::Store;

use crate::cli::RulesCommand;

/// Who a change made from the command line is recorded as: `cli:<login name>`.
fn author() -> String {
    match std::env::var("USER").ok().filter(|name| !name.is_empty()) {
        Some(name) => format!("cli:{name}"),
        None => "cli".to_string(),
    }
}

pub fn run(store: &dyn Store, command: RulesCommand, now: Micros) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::List => {
            let rules = server_rules::stored_rules(store)?;
            if rules.is_empty() {
                println!("no detection rules");
            }
            for (index, rule) in rules.iter().enumerate() {
                let id = if rule.id.is_empty() {
                    format!("#{index}")
                } else {
                    rule.id.clone()
                };
                println!("{id}\t{}", rule.describe());
            }
            if let Some(status) = server_rules::reevaluation_status(store)? {
                println!("{}", status.message);
            }
        }
        RulesCommand::FalsePositive {
            request_id,
            attack_type,
            point,
            breadth,
            scope,
            comment,
        } => {
            let marked = FalsePositiveRequest {
                attack_type,
                point,
                breadth: Some(breadth),
                scope: Some(scope),
                comment,
            };
            let answer = server_rules::mark_false_positive(store, &request_id, &marked, &author())?;
            if answer.created {
                println!(
                    "created rule {}: {}",
                    answer.rule.id,
                    answer.rule.describe()
                );
            } else {
                println!("{}", answer.message);
            }
            println!("it applies to traffic ingested from now on; `sessionscope rules reevaluate` applies it to stored requests");
            // Last line: the id alone, for scripts.
            println!("{}", answer.rule.id);
        }
        RulesCommand::Add { rule } => {
            let rule: DetectionRule = serde_json::from_str(&rule)
                .map_err(|error| anyhow::anyhow!("the rule is not valid JSON: {error}"))?;
            let answer = server_rules::add_rule(store, rule, &author())?;
            println!("added rule {}: {}", answer.rule.id, answer.rule.describe());
            println!("{}", answer.message);
            println!("{}", answer.rule.id);
        }
        RulesCommand::Remove { id } => {
            // The command line has the store itself, so it acts with the admin's rights.
            let answer =
                server_rules::remove_rule(store, &id, &author(), sessionscope_model::Role::Admin)?;
            println!("removed rule {id}: {}", answer.removed.describe());
            println!("{}", answer.message);
        }
        RulesCommand::Reevaluate { from } => {
            let from = match from.as_deref() {
                None => None,
                Some(text) => Some(
                    parse_time_spec(text, now)
                        .map_err(|message| anyhow::anyhow!("invalid --from: {message}"))?,
                ),
            };
            if let Some(status) = server_rules::reevaluation_status(store)? {
                eprintln!("continuing: {}", status.message);
            }
            let mut last_report = std::time::Instant::now();
            let outcome = server_rules::reevaluate(store, from, &mut |job| {
                // A line every few seconds on a long pass; each line's work is committed.
                if last_report.elapsed() >= std::time::Duration::from_secs(2) {
                    last_report = std::time::Instant::now();
                    eprintln!(
                        "re-evaluating: {} of {} requests in session parts with attacks done",
                        job.requests_done.min(job.requests_total),
                        job.requests_total
                    );
                }
            })?;
            println!("{}", outcome.message);
            println!(
                "requests checked: {}, changed: {}, left without attacks: {}, session parts updated: {}",
                outcome.exchanges_checked,
                outcome.exchanges_changed,
                outcome.exchanges_cleared,
                outcome.parts_changed
            );
            if !outcome.complete {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
