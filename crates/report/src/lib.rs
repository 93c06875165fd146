//! The only place anything becomes words: renderers of whyblocked's answers as text and JSON.
//!
//! One module per answer kind; inside it one renderer per format, each writing into any
//! [`std::io::Write`] (or returning the text, for the comparison pieces the tests print too):
//!
//! | answer kind (command)                 | text                      | JSON: renderer, schema type, `schema_version` |
//! |---------------------------------------|---------------------------|------------------------------------------------|
//! | the main answer (`whyblocked PACKET`) | [`answer::text::render`]  | [`answer::json::render`], [`answer::json::Report`], 2 |
//! | the answer on IPFilter or pf rules    | [`bsd::text::render`]     | [`bsd::json::render`], [`bsd::json::BsdReport`], 1 |
//! | a walk across hosts (`path`)          | [`path::text::render`]    | [`path::json::render`], [`path::json::PathJson`], 1 |
//! | a capture (`pcap`)                    | [`capture::text::render`] | [`capture::json::render`], [`capture::json::CaptureJson`], 1 |
//! | a firewall log (`log`)                | [`log::text::render`]     | [`log::json::render`], [`log::json::LogJson`], 1 |
//! | a trace file (`explain-trace`)        | [`traces::text::render`]  | [`traces::json::render`], [`traces::json::TracesJson`], 1 |
//! | conntrack events (`conntrack`)        | [`conntrack::text::render`] | [`conntrack::json::render`], [`conntrack::json::ConntrackJson`], 1 |
//! | counter deltas (`counters`)           | [`counters::render_text`] | [`counters::render_json`], [`counters::CountersJson`], 1 |
//! | a live trace (`trace`)                | [`trace::render_text`]    | [`trace::render_json`], [`trace::TracedJson`], 2 |
//! | a kernel comparison (`verify`)        | [`verify::render_text`]   | none |
//! | an input error                        | [`diagnostic::render`]    | [`diagnostic::render_json`], [`diagnostic::ErrorJson`], 1 |
//!
//! Every JSON document is built from its own serialisable types (never the engine's or the
//! evidence crate's), so refactoring those cannot change what scripts read; a change that is
//! not purely additive bumps the document's `SCHEMA_VERSION`.
//!
//! Nothing here decides or prints on its own: the engine and the analyses decide, the
//! caller computes (call stacks, cross-table findings, comparisons) before rendering, and
//! the report only words it. Wording several renderers share sits in `words`.
//!
//! ```no_run
//! # fn demo(ruleset: &model::Ruleset, host: &model::Host, outcome: &engine::Outcome) -> std::io::Result<()> {
//! let facts = analysis::AnswerFacts::of(ruleset, outcome);
//! let answer = report::Answer { ruleset, host, outcome, facts: &facts, remedies: None, rule_reasons: None, ping: None, input_notes: &[] };
//! let mut out = Vec::new();
//! report::answer::text::render(&mut out, &answer, &report::TextOptions::default())?;
//! # Ok(()) }
//! ```

pub mod answer;
pub mod bsd;
pub mod capture;
pub mod conntrack;
pub mod counters;
pub mod diagnostic;
pub mod evidence_json;
pub mod ipftest;
pub mod log;
pub mod path;
/// The source address a host's own packet gets, in words (`engine::source`), for the
/// multi-host `path` answer.
pub mod source {
    pub use crate::words::{source_choice, source_note};
}
pub mod trace;
pub mod traces;
pub mod verify;
mod words;

pub use answer::text::TextOptions;
pub use answer::Answer;
pub use capture::CaptureAnswer;
