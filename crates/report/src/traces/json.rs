//! Traced packets as JSON ([`TracesJson`], `whyblocked explain-trace --json`).

use super::{by_words, divergence_words, fate_step, placed_words};
use crate::evidence_json::RuleJson;
use crate::words::{self, flows};
use analysis::flows::traces::TraceAnswer;
use evidence::trace::TraceFile;
use model::kernel_walk::{KernelFate, KernelStep, Placement};
use model::Ruleset;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the `whyblocked explain-trace --json` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The `whyblocked explain-trace --json` document.
#[derive(Debug, Serialize)]
pub struct TracesJson<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The trace file's name as given.
    pub file: &'a str,
    /// The tracer whose text it is (`nft monitor trace`, `xtables TRACE`...).
    pub tracer: &'a str,
    /// One per traced packet, in order.
    pub packets: Vec<TracedJson>,
    /// Lines that could not be read.
    pub malformed: u64,
    /// Events before their packet's first line (the trace started mid-walk).
    pub orphans: u64,
}

/// A traced packet placed in the ruleset and compared with the simulation.
#[derive(Debug, Serialize)]
pub struct TracedJson {
    /// The line of its first event.
    pub line: u64,
    /// The tracer's packet id, when it prints one.
    pub id: Option<u32>,
    /// The packet in words.
    pub packet: String,
    /// `dropped`, `rejected`, `queued` or `accepted` (no closing event).
    pub traced_fate: &'static str,
    /// The traced fate in words.
    pub traced_fate_text: String,
    /// The rule that decided the traced fate, when placed in the ruleset.
    pub deciding_rule: Option<RuleJson>,
    /// The simulation's fate, as the main answer's `fate`.
    pub simulated_fate: Option<&'static str>,
    /// `null` when not simulated.
    pub agrees: Option<bool>,
    /// Each divergence in words.
    pub divergences: Vec<String>,
    /// The way the trace showed and the simulation was given (no host state), in words.
    pub assumed: Option<String>,
    /// The simulation took another way than the trace shows, in words.
    pub contradiction: Option<String>,
    /// The traced steps.
    pub steps: Vec<TraceStepJson>,
}

/// One traced step.
#[derive(Debug, Serialize)]
pub struct TraceStepJson {
    /// Its line in the trace.
    pub line: u64,
    /// The hook, when known.
    pub hook: Option<String>,
    /// The family as printed.
    pub family: String,
    /// The table as printed.
    pub table: String,
    /// The chain as printed.
    pub chain: String,
    /// The verdict as printed, empty when none.
    pub verdict: String,
    /// The rule it was placed on.
    pub rule: Option<RuleJson>,
    /// Where it was placed and how, in words.
    pub placed: String,
}

/// Traced packets as JSON.
pub fn render<W: Write>(
    w: &mut W,
    name: &str,
    tracer: &str,
    file: &TraceFile,
    ruleset: &Ruleset,
    answers: &[TraceAnswer],
) -> io::Result<()> {
    let j = TracesJson {
        schema_version: SCHEMA_VERSION,
        file: name,
        tracer,
        packets: answers.iter().map(|a| traced(ruleset, a)).collect(),
        malformed: file.malformed,
        orphans: file.orphans,
    };
    serde_json::to_writer_pretty(&mut *w, &j).map_err(io::Error::other)?;
    writeln!(w)
}

fn traced(ruleset: &Ruleset, a: &TraceAnswer) -> TracedJson {
    let kind = match a.fate {
        KernelFate::Dropped { .. } => "dropped",
        KernelFate::Rejected { .. } => "rejected",
        KernelFate::Queued { .. } => "queued",
        // A tracer's text has no closing event: whatever got through is accepted.
        _ => "accepted",
    };
    let deciding_rule = fate_step(&a.fate).and_then(|i| match a.steps[i].at {
        Placement::Rule(r) => Some(RuleJson::of(ruleset, r)),
        _ => None,
    });
    TracedJson {
        line: a.traced.line,
        id: a.traced.id,
        packet: flows::packet_with_iif(&a.packet),
        traced_fate: kind,
        traced_fate_text: words::kernel_fate(&a.fate),
        deciding_rule,
        simulated_fate: a
            .simulated
            .as_ref()
            .and_then(|o| o.decided_fate().map(words::fate_kind)),
        agrees: a.simulated.as_ref().map(|_| a.divergences.is_empty()),
        divergences: a
            .divergences
            .iter()
            .map(|d| divergence_words(ruleset, d))
            .collect(),
        assumed: a
            .assumed
            .as_ref()
            .map(|x| words::evidence_assumption(x, "trace")),
        contradiction: a
            .contradiction
            .as_ref()
            .map(|c| words::evidence_contradiction(c, "trace")),
        steps: a.steps.iter().map(|s| step(ruleset, s)).collect(),
    }
}

fn step(ruleset: &Ruleset, s: &KernelStep) -> TraceStepJson {
    TraceStepJson {
        line: s.event.line.unwrap_or(0),
        hook: s.hook.map(|h| h.to_string()),
        family: s.event.family.map(|f| f.to_string()).unwrap_or_default(),
        table: s.event.table.clone(),
        chain: s.event.chain.clone(),
        verdict: s
            .event
            .verdict
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        rule: match s.at {
            Placement::Rule(r) => Some(RuleJson::of(ruleset, r)),
            _ => None,
        },
        placed: format!("{} {}", placed_words(ruleset, &s.at), by_words(s.by))
            .trim()
            .to_string(),
    }
}
