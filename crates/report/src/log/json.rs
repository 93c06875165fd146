//! The flow table of a log as JSON ([`LogJson`], `whyblocked log --json`).

use super::shown;
use crate::evidence_json::RuleJson;
use crate::words;
use analysis::flows::logs::{by_count, tally_by_decider, FlowAnswer, LoggedBy};
use engine::Decider;
use evidence::log_file::{Flow, LogScan, Malformed};
use model::Ruleset;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the `whyblocked log --json` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The `whyblocked log --json` document.
#[derive(Debug, Serialize)]
pub struct LogJson<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The log's name as given.
    pub file: &'a str,
    /// Lines read.
    pub lines: u64,
    /// Firewall log lines among them.
    pub records: u64,
    /// Other lines (not from the firewall).
    pub other: u64,
    /// Firewall lines that could not be read.
    pub malformed: u64,
    /// The first of those.
    pub malformed_examples: Vec<MalformedJson>,
    /// Lines of flows beyond the flow limit: counted, not shown.
    pub unmatched: u64,
    /// Per deciding rule, the flows and lines it decided, most lines first (empty
    /// without rules).
    pub by_decider: Vec<DeciderJson>,
    /// One per flow listed, most lines first (ties: first appearance); all of them unless
    /// `--top N` was given.
    pub flows: Vec<FlowJson>,
    /// Flows left out by `--top N`.
    pub flows_not_shown: usize,
    /// Their lines.
    pub lines_not_shown: u64,
}

/// The flows one decider decided.
#[derive(Debug, Serialize)]
pub struct DeciderJson {
    /// The fate kind; `null` when it depends on an unknown match.
    pub fate: Option<&'static str>,
    /// The rule, when a rule decided.
    pub deciding_rule: Option<RuleJson>,
    /// The decider in words (rule, policy, routing, stack).
    pub decider: Option<String>,
    pub flows: u64,
    pub lines: u64,
}

/// A malformed line.
#[derive(Debug, Serialize)]
pub struct MalformedJson {
    /// Its line number.
    pub line: u64,
    /// The column of the error.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// A flow: the lines of one packet shape, with the simulation of the first.
#[derive(Debug, Serialize)]
pub struct FlowJson {
    /// `tcp`, `udp`, `icmp`...
    pub proto: String,
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Source port, if the protocol has ports.
    pub sport: Option<u16>,
    /// Destination port, if the protocol has ports.
    pub dport: Option<u16>,
    /// Input interface.
    #[serde(rename = "in")]
    pub iif: Option<String>,
    /// Output interface.
    pub out: Option<String>,
    /// The log prefix.
    pub prefix: String,
    /// Lines of this flow.
    pub count: u64,
    /// Timestamp of the first line, as written.
    pub first_seen: Option<String>,
    /// Timestamp of the last line, as written.
    pub last_seen: Option<String>,
    /// Line number of the first line.
    pub first_line: u64,
    /// Line number of the last line.
    pub last_line: u64,
    /// `null` when no rules were given.
    pub simulated: Option<SimulatedJson>,
}

/// The simulation of a flow's first packet.
#[derive(Debug, Serialize)]
pub struct SimulatedJson {
    /// `null` when branches of unknown matches disagree.
    pub fate: Option<&'static str>,
    /// The fate in a sentence.
    pub fate_text: Option<String>,
    /// The rule that decided it.
    pub deciding_rule: Option<RuleJson>,
    /// `on_path`, `not_on_path` (a divergence) or `no_such_rule`.
    pub logged_by: &'static str,
    /// The LOG rule on the simulated path that wrote the line.
    pub log_rule: Option<RuleJson>,
    /// The TTL was raised by one: the line was written after forwarding.
    pub ttl_restored: bool,
    /// The simulation took another way than the line's interfaces show, in words.
    pub contradiction: Option<String>,
}

/// The flow table as JSON; `top`: `--top N` (0 or `None`: every flow).
pub fn render<W: Write>(
    w: &mut W,
    name: &str,
    scan: &LogScan,
    ruleset: &Ruleset,
    answers: &[FlowAnswer],
    top: Option<usize>,
) -> io::Result<()> {
    let j = document(name, scan, ruleset, answers, top);
    serde_json::to_writer_pretty(&mut *w, &j).map_err(io::Error::other)?;
    writeln!(w)
}

/// The [`LogJson`] document of a scanned log.
pub fn document<'a>(
    name: &'a str,
    scan: &LogScan,
    ruleset: &Ruleset,
    answers: &[FlowAnswer],
    top: Option<usize>,
) -> LogJson<'a> {
    let order = by_count(&scan.flows);
    let n = shown(order.len(), top, None);
    let (listed, rest) = order.split_at(n);
    LogJson {
        schema_version: SCHEMA_VERSION,
        file: name,
        lines: scan.lines,
        records: scan.records,
        other: scan.other,
        malformed: scan.malformed,
        malformed_examples: scan.malformed_examples.iter().map(malformed).collect(),
        unmatched: scan.unmatched,
        by_decider: tally_by_decider(&scan.flows, answers)
            .iter()
            .map(|t| DeciderJson {
                fate: t.fate.as_ref().map(words::fate_kind),
                deciding_rule: match &t.decider {
                    Some(Decider::Rule(r)) => Some(RuleJson::of(ruleset, *r)),
                    _ => None,
                },
                decider: t.decider.as_ref().map(|d| words::decider_short(ruleset, d)),
                flows: t.flows,
                lines: t.lines,
            })
            .collect(),
        flows: listed
            .iter()
            .map(|&i| {
                let f = &scan.flows[i];
                flow(f, answers.get(i).map(|a| simulated(ruleset, a)))
            })
            .collect(),
        flows_not_shown: rest.len(),
        lines_not_shown: rest.iter().map(|&i| scan.flows[i].count).sum(),
    }
}

fn malformed(m: &Malformed) -> MalformedJson {
    MalformedJson {
        line: m.line,
        column: m.error.line_col().1,
        message: m.error.kind.to_string(),
    }
}

fn flow(f: &Flow, simulated: Option<SimulatedJson>) -> FlowJson {
    let p = &f.first.packet;
    let ports = p.l4.ports();
    FlowJson {
        proto: p.proto().to_string(),
        src: p.src.to_string(),
        dst: p.dst.to_string(),
        sport: ports.map(|p| p.0),
        dport: ports.map(|p| p.1),
        iif: f.key.iif.clone(),
        out: f.key.oif.clone(),
        prefix: f.key.prefix.clone(),
        count: f.count,
        first_seen: f.first_seen.as_ref().map(|s| s.to_string()),
        last_seen: f.last_seen.as_ref().map(|s| s.to_string()),
        first_line: f.first_line,
        last_line: f.last_line,
        simulated,
    }
}

fn simulated(ruleset: &Ruleset, a: &FlowAnswer) -> SimulatedJson {
    let decided = a.outcome.decided_fate();
    SimulatedJson {
        fate: decided.map(words::fate_kind),
        fate_text: decided.map(words::fate_sentence),
        deciding_rule: match (decided, &a.outcome.primary().decider) {
            (Some(_), Decider::Rule(r)) => Some(RuleJson::of(ruleset, *r)),
            _ => None,
        },
        logged_by: match a.logged_by {
            LoggedBy::OnPath(_) => "on_path",
            LoggedBy::NotOnPath(_) => "not_on_path",
            LoggedBy::NoSuchRule => "no_such_rule",
        },
        log_rule: match &a.logged_by {
            LoggedBy::OnPath(r) => Some(RuleJson::of(ruleset, *r)),
            _ => None,
        },
        ttl_restored: a.ttl_restored,
        contradiction: a
            .contradiction
            .as_ref()
            .map(|c| words::evidence_contradiction(c, "log line")),
    }
}
