//! Conntrack flows as JSON ([`ConntrackJson`], `whyblocked conntrack --json`).

use super::{ct_flow_words, event_name, next_words, proof_words};
use crate::evidence_json::RuleJson;
use crate::words::{self, flows};
use analysis::flows::conntrack::AskedPacket;
use engine::Decider;
use evidence::conntrack_events::CtFile;
use model::Ruleset;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the `whyblocked conntrack --json` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The `whyblocked conntrack --json` document.
#[derive(Debug, Serialize)]
pub struct ConntrackJson<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The events file's name as given.
    pub file: &'a str,
    /// Events read.
    pub events: u64,
    /// Lines that could not be read.
    pub malformed: u64,
    /// The packets asked about.
    pub asked: Vec<AskedJson>,
    /// Every flow of the events.
    pub flows: Vec<CtFlowJson>,
}

/// A packet asked about: its flow's events, what they prove, the simulation.
#[derive(Debug, Serialize)]
pub struct AskedJson {
    /// The packet in words.
    pub packet: String,
    /// Whether its flow has events.
    pub has_events: bool,
    /// What the events (or their absence) prove, in words.
    pub proof: String,
    /// The simulation's fate, as the main answer's `fate`.
    pub simulated_fate: Option<&'static str>,
    /// The rule that decided it.
    pub deciding_rule: Option<RuleJson>,
    /// Whether events and simulation agree; `null` when not simulated.
    pub agrees: Option<bool>,
}

/// A flow of the events.
#[derive(Debug, Serialize)]
pub struct CtFlowJson {
    /// The flow in words.
    pub flow: String,
    /// Its events in order (`NEW`, `UPDATE`, `DESTROY`, `listed`).
    pub events: Vec<String>,
    /// The line of its first event.
    pub first_line: u64,
    /// What its events prove, in words.
    pub proof: &'static str,
    /// What the next packet of this flow would be, in words.
    pub next_packet: &'static str,
    /// Seconds between its first and last event.
    pub span_secs: Option<f64>,
}

/// Conntrack flows and the packets asked about, as JSON.
pub fn render<W: Write>(
    w: &mut W,
    name: &str,
    file: &CtFile,
    ruleset: &Ruleset,
    asked: &[AskedPacket],
) -> io::Result<()> {
    let j = ConntrackJson {
        schema_version: SCHEMA_VERSION,
        file: name,
        events: file.events,
        malformed: file.malformed,
        asked: asked
            .iter()
            .map(|a| AskedJson {
                packet: flows::packet_with_iif(&a.packet),
                has_events: a.flow.is_some(),
                proof: a
                    .proof
                    .map_or(
                        "no event: dropped before conntrack confirmed it, or untracked",
                        proof_words,
                    )
                    .to_string(),
                simulated_fate: a
                    .simulated
                    .as_ref()
                    .and_then(|o| o.decided_fate().map(words::fate_kind)),
                deciding_rule: a.simulated.as_ref().and_then(|o| {
                    match (o.decided_fate(), &o.primary().decider) {
                        (Some(_), Decider::Rule(r)) => Some(RuleJson::of(ruleset, *r)),
                        _ => None,
                    }
                }),
                agrees: a.agrees,
            })
            .collect(),
        flows: file
            .flows
            .iter()
            .map(|f| CtFlowJson {
                flow: ct_flow_words(f),
                events: f.events.iter().map(|e| event_name(e.event, 1)).collect(),
                first_line: f.events.first().map_or(0, |e| e.line),
                proof: proof_words(f.proof()),
                next_packet: next_words(f.next_state()),
                span_secs: f.span_secs(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &j).map_err(io::Error::other)?;
    writeln!(w)
}
