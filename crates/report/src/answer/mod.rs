//! The main answer (`whyblocked PACKET`): one simulated packet, its fate, the deciding rule,
//! what the sender sees, the path; as text ([`text`]) and as JSON ([`json`]).

pub mod json;
pub mod text;

use analysis::remedy::Remedies;
use analysis::{AnswerFacts, PingContrast};
use engine::Outcome;
use model::note::InputNote;
use model::{Host, Ruleset};

/// Everything an answer is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The ruleset the packet was simulated on (to show rules by their source).
    pub ruleset: &'a Ruleset,
    /// The host state it was simulated on (to name addresses, routes, conntrack entries).
    pub host: &'a Host,
    /// The simulation's result.
    pub outcome: &'a Outcome,
    /// How the deciding rule was reached and cross-table findings, computed by the caller
    /// ([`AnswerFacts::of`]): the report only words them.
    pub facts: &'a AnswerFacts,
    /// The remedies, if the packet was blocked and they were searched for.
    pub remedies: Option<&'a Remedies>,
    /// Rule-level reasons (missed set lookups, shadowed and repeated rules), computed by the
    /// caller ([`analysis::reasons::RuleReasons::of`]); `None` when not computed.
    pub rule_reasons: Option<&'a analysis::reasons::RuleReasons>,
    /// What a ping between the same endpoints does, for a blocked port.
    pub ping: Option<&'a PingContrast>,
    /// How the inputs were read, when it was a guess (e.g. which family an iptables-save
    /// file was read as, and why); worded with the assumptions.
    pub input_notes: &'a [InputNote],
}
