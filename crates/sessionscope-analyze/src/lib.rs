//! The pure analysis pipeline of sessionscope (DESIGN.md "Data flow", stages 2, 3 and 5–9): from a
//! captured `Exchange` and a validated configuration to an `AnalyzedExchange` ready to store —
//! application, points and context, endpoint template, business flows, session key and id, user
//! and roles, with every secret masked or hashed on the way. No IO, no clock, no global state:
//! `Analyzer::analyze` is a pure function that any number of threads may call. The one
//! order-dependent step (folding high-cardinality segments, inheriting the user inside a session)
//! is `SessionState::complete`, run on one thread in exchange order afterwards.
//!
//! The point syntax, the built-in keys, the secret rules and the flow keywords are documented for
//! users in `POINTS.md` beside this crate.

mod analyzer;
mod extract;
mod flows;
mod identity;
mod jwt;
mod memory;
mod names;
mod point;
mod rules;
mod sample;
mod secrets;
mod settings;
mod state;
mod template;
mod view;

pub use analyzer::{Analyzer, MAX_CLEAR_VALUE_CHARS};
pub use flows::flows_for;
pub use identity::BUILTIN_KEYS;
pub use names::{is_credential_name, is_masked_name, is_sensitive_query_name};
pub use point::{request_point_pattern, JsonPath, PathStep, Point, SPACE_OR_CONTROL_CLASS};
pub use rules::{
    false_positive_rule, present, Breadth, DetectionRule, RuleScope, RuleSet, ScopeChoice,
    DISABLE_DETECTION, FALSE_POSITIVE, MASK_PARAMETER, RULE_KINDS, VIRTUAL_PATCH,
    VIRTUAL_PATCH_RULE_PREFIX,
};
pub use sample::{MAX_SAMPLE_BODY_BYTES, SAMPLE_HASH_PREFIX};
pub use sessionscope_detect::AttackKind;
pub use settings::{
    AnalysisConfig, AnalysisSettings, AppSetting, ConfigProblem, ContextSetting, SessionKeySetting,
    MAX_CONTEXT_ITEMS, MAX_KEY_POINTS,
};
pub use state::{SessionState, ESTABLISHED_HITS, FOLD_THRESHOLD, MAX_FOLD_POSITIONS};
pub use template::{endpoint_template, FOLDED_PLACEHOLDER};

#[cfg(test)]
mod tests;
