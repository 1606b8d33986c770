//! Sensitive business flows (PRODUCT.md F1) and a compact set of them.

use std::fmt;

/// The default business flows. The string ids are stable: they appear in filters, exports and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    AiLlm,
    AccountCreation,
    AccountManagement,
    Admin,
    Authentication,
    Billing,
    SmsGateway,
}

impl Flow {
    pub const ALL: [Flow; 7] = [
        Flow::AiLlm,
        Flow::AccountCreation,
        Flow::AccountManagement,
        Flow::Admin,
        Flow::Authentication,
        Flow::Billing,
        Flow::SmsGateway,
    ];

    /// Stable id used in filters and exports.
    pub fn id(self) -> &'static str {
        match self {
            Flow::AiLlm => "ai_llm",
            Flow::AccountCreation => "account_creation",
            Flow::AccountManagement => "account_management",
            Flow::Admin => "admin",
            Flow::Authentication => "authentication",
            Flow::Billing => "billing",
            Flow::SmsGateway => "sms_gateway",
        }
    }

    /// Human label for the console.
    pub fn label(self) -> &'static str {
        match self {
            Flow::AiLlm => "AI/LLM",
            Flow::AccountCreation => "Account creation",
            Flow::AccountManagement => "Account management",
            Flow::Admin => "Admin",
            Flow::Authentication => "Authentication",
            Flow::Billing => "Billing",
            Flow::SmsGateway => "SMS gateway",
        }
    }

    pub fn from_id(text: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|flow| flow.id() == text)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A set of flows in one byte, as stored with every exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowSet(pub u8);

impl FlowSet {
    pub fn insert(&mut self, flow: Flow) {
        self.0 |= flow.bit();
    }

    pub fn contains(self, flow: Flow) -> bool {
        self.0 & flow.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Flow> {
        Flow::ALL
            .into_iter()
            .filter(move |flow| self.contains(*flow))
    }

    pub fn ids(self) -> Vec<String> {
        self.iter().map(|flow| flow.id().to_string()).collect()
    }
}

impl FromIterator<Flow> for FlowSet {
    fn from_iter<I: IntoIterator<Item = Flow>>(flows: I) -> Self {
        let mut set = FlowSet::default();
        for flow in flows {
            set.insert(flow);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids_round_trip_and_sets_keep_members() {
        for flow in Flow::ALL {
            assert_eq!(Flow::from_id(flow.id()), Some(flow));
        }
        let set: FlowSet = [Flow::Billing, Flow::Admin].into_iter().collect();
        assert_eq!(set.ids(), vec!["admin", "billing"]);
        assert!(!set.contains(Flow::AiLlm));
    }
}
