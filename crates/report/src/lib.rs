//! Renderers of a simulated answer (and of input diagnostics): one module per format.
//!
//! - [`text`]: the answer first (fate, deciding rule, what the sender sees, log lines, fix),
//!   then the path in `nft monitor trace` style;
//! - [`json`]: the same answer as a stable, documented JSON schema ([`json::Report`]), built
//!   from its own serialisable types so internal refactors cannot change it;
//! - [`diagnostic`]: a parse error as `error: ...`, ` --> file:line:col`, the line and a
//!   caret under the span.
//!
//! Every renderer writes into any [`std::io::Write`]; nothing here prints on its own and
//! nothing here decides: the engine and the analyses decide, the report only words it.
//!
//! ```no_run
//! # fn demo(ruleset: &model::Ruleset, host: &model::Host, outcome: &engine::Outcome) -> std::io::Result<()> {
//! let facts = analysis::AnswerFacts::of(ruleset, outcome);
//! let answer = report::Answer { ruleset, host, outcome, facts: &facts, fix: None, ping: None, input_notes: &[] };
//! let mut out = Vec::new();
//! report::text::render(&mut out, &answer, &report::text::TextOptions::default())?;
//! # Ok(()) }
//! ```

pub mod capture;
pub mod counters;
pub mod diagnostic;
pub mod flows;
pub mod json;
pub mod text;
pub mod trace;
pub mod verify;
mod words;

use analysis::{AnswerFacts, Fix, PingContrast};
use engine::Outcome;
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
    /// The suggested fix, if the packet was blocked and a fix was searched for.
    pub fix: Option<&'a Fix>,
    /// What a ping between the same endpoints does, for a blocked port.
    pub ping: Option<&'a PingContrast>,
    /// How the inputs were read, when it was a guess (e.g. "rules.txt read as IPv4: it has
    /// no IPv6 addresses"); shown with the assumptions.
    pub input_notes: &'a [String],
}
