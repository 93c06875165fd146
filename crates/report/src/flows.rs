//! Renderers of evidence joined with simulation (`analysis::flows`): a log's flow table,
//! traced packets placed in the ruleset, conntrack events per flow. Text and JSON for each;
//! the JSON types are their own (serde) so refactors cannot change the schema.
//!
//! ```text
//! FLOW                                         COUNT  FIRST SEEN       LAST SEEN        PREFIX        FATE      DECIDING RULE
//! tcp 10.1.1.2:1050 -> 10.1.0.2:2175 tap0>eno1     3  Nov 22 10:00:00  Nov 22 10:00:05  [UFW BLOCK]   REJECTED  filter/ufw-reject-forward #1 (iptables-save.txt:94)
//! ```

use crate::words;
use analysis::agree::{Divergence, Step};
use analysis::flows::conntrack::AskedPacket;
use analysis::flows::logs::{FlowAnswer, LoggedBy};
use analysis::flows::traces::TraceAnswer;
use engine::{Decider, Fate, Outcome};
use evidence::conntrack_events::{CtEvent, CtFile, CtFlow, NextState, Proof};
use evidence::log_file::{Flow, LogScan, Malformed};
use evidence::trace::TraceFile;
use frontends::ParseError;
use model::kernel_walk::{KernelFate, PlacedBy, Placement};
use model::{Packet, Ruleset};
use serde::Serialize;
use std::io::{self, Write};

/// `tcp 10.1.1.2:1050 -> 10.1.0.2:2175` without flags, plus the direction.
fn flow_words(f: &Flow) -> String {
    let p = &f.first.packet;
    let ports = p.l4.ports();
    let dir = match (&f.key.iif, &f.key.oif) {
        (Some(i), Some(o)) => format!(" {i}>{o}"),
        (Some(i), None) => format!(" in {i}"),
        (None, Some(o)) => format!(" out {o}"),
        (None, None) => String::new(),
    };
    let icmp = match p.l4 {
        model::L4::Icmp {
            icmp_type, code, ..
        }
        | model::L4::Icmpv6 {
            icmp_type, code, ..
        } => {
            format!(" type {icmp_type}/{code}")
        }
        _ => String::new(),
    };
    format!(
        "{} {} -> {}{icmp}{dir}",
        p.proto(),
        words::addr_port(p.src, ports.map(|p| p.0)),
        words::addr_port(p.dst, ports.map(|p| p.1))
    )
}

fn headline(o: &Outcome) -> &'static str {
    match o.decided_fate() {
        Some(f) => words::fate_headline(f),
        None => "UNDECIDED",
    }
}

fn decider(ruleset: &Ruleset, o: &Outcome) -> String {
    match o.decided_fate() {
        Some(_) => words::decider_short(ruleset, &o.primary().decider),
        None => "depends on an unknown match (see `whyblocked PACKET`)".to_string(),
    }
}

/// `file:LINE:COL: message` for a malformed line whose error source is the line alone.
pub fn malformed_line(name: &str, line: u64, e: &ParseError) -> String {
    let (_, col) = e.line_col();
    format!("{name}:{line}:{col}: {}", e.kind)
}

fn write_malformed<W: Write>(
    w: &mut W,
    name: &str,
    count: u64,
    examples: &[(u64, &ParseError)],
) -> io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    writeln!(
        w,
        "\nmalformed lines: {count} (skipped; the first {} shown)",
        examples.len()
    )?;
    for (line, e) in examples {
        writeln!(w, "  {}", malformed_line(name, *line, e))?;
    }
    Ok(())
}

/// The flow table of a log. `answers` is empty when no rules were given (then only the
/// evidence is shown), else one per flow.
pub fn render_log<W: Write>(
    w: &mut W,
    name: &str,
    scan: &LogScan,
    ruleset: &Ruleset,
    answers: &[FlowAnswer],
) -> io::Result<()> {
    writeln!(
        w,
        "{name}: {} lines, {} firewall log lines in {} flows, {} malformed, {} other lines",
        scan.lines,
        scan.records,
        scan.flows.len(),
        scan.malformed,
        scan.other
    )?;
    if scan.unmatched > 0 {
        writeln!(
            w,
            "  {} more lines belong to flows beyond the flow limit: counted, not shown",
            scan.unmatched
        )?;
    }
    if scan.flows.is_empty() {
        let m: Vec<(u64, &ParseError)> = scan
            .malformed_examples
            .iter()
            .map(|m| (m.line, &m.error))
            .collect();
        return write_malformed(w, name, scan.malformed, &m);
    }
    let rows: Vec<[String; 7]> = scan
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (fate, rule) = match answers.get(i) {
                Some(a) => (
                    headline(&a.outcome).to_string(),
                    decider(ruleset, &a.outcome),
                ),
                None => ("-".to_string(), "(no --rules: not simulated)".to_string()),
            };
            [
                flow_words(f),
                f.count.to_string(),
                f.first_seen.as_ref().map_or("-".into(), |s| s.to_string()),
                f.last_seen.as_ref().map_or("-".into(), |s| s.to_string()),
                if f.key.prefix.trim().is_empty() {
                    "(none)".into()
                } else {
                    f.key.prefix.trim().to_string()
                },
                fate,
                rule,
            ]
        })
        .collect();
    let header = [
        "FLOW",
        "COUNT",
        "FIRST SEEN",
        "LAST SEEN",
        "PREFIX",
        "FATE",
        "DECIDING RULE",
    ];
    let mut width = header.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    writeln!(w)?;
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 6 {
                s.push_str(c);
            } else if i == 1 {
                s.push_str(&format!("{c:>width$}  ", width = width[i]));
            } else {
                s.push_str(&format!("{c:<width$}  ", width = width[i]));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(w, "{}", line(header))?;
    for (i, r) in rows.iter().enumerate() {
        writeln!(
            w,
            "{}",
            line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]])
        )?;
        if let Some(a) = answers.get(i) {
            for note in flow_notes(ruleset, &scan.flows[i], a) {
                writeln!(w, "    {note}")?;
            }
        }
    }
    let m: Vec<(u64, &ParseError)> = scan
        .malformed_examples
        .iter()
        .map(|m| (m.line, &m.error))
        .collect();
    write_malformed(w, name, scan.malformed, &m)
}

fn flow_notes(ruleset: &Ruleset, f: &Flow, a: &FlowAnswer) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Decider::Rule(r)) = a
        .outcome
        .decided_fate()
        .map(|_| &a.outcome.primary().decider)
    {
        if let Some(o) = words::rule_origin(ruleset, *r) {
            out.push(format!("rule: {}", o.text));
        }
    }
    match &a.logged_by {
        LoggedBy::OnPath(_) => {}
        LoggedBy::NotOnPath(rules) => {
            let locs: Vec<String> = rules.iter().map(|r| words::rule_location(ruleset, *r)).collect();
            out.push(format!(
                "! DIVERGES: the line was written by a LOG rule with prefix \"{}\" ({}), but the simulated path passes none: the host state, a NAT before the LOG rule, or the ruleset differ from the host that wrote the log",
                f.key.prefix,
                locs.join(", ")
            ));
        }
        LoggedBy::NoSuchRule if !f.key.prefix.is_empty() => out.push(format!(
            "note: no LOG rule of the ruleset has the prefix \"{}\": the log comes from another ruleset",
            f.key.prefix
        )),
        LoggedBy::NoSuchRule => {}
    }
    if a.ttl_restored {
        // Stated once per flow only in JSON; the text stays short.
    }
    out
}

/// Version of the `whyblocked log --json` schema.
pub const LOG_SCHEMA_VERSION: u32 = 1;

/// Version of the `whyblocked conntrack --json` schema.
pub const CONNTRACK_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonLog<'a> {
    schema_version: u32,
    file: &'a str,
    lines: u64,
    records: u64,
    other: u64,
    malformed: u64,
    malformed_examples: Vec<JsonMalformed>,
    unmatched: u64,
    flows: Vec<JsonFlow>,
}

#[derive(Serialize)]
struct JsonMalformed {
    line: u64,
    column: u32,
    message: String,
}

#[derive(Serialize)]
struct JsonFlow {
    proto: String,
    src: String,
    dst: String,
    sport: Option<u16>,
    dport: Option<u16>,
    #[serde(rename = "in")]
    iif: Option<String>,
    out: Option<String>,
    prefix: String,
    count: u64,
    first_seen: Option<String>,
    last_seen: Option<String>,
    first_line: u64,
    last_line: u64,
    simulated: Option<JsonSim>,
}

#[derive(Serialize)]
struct JsonSim {
    /// `null` when branches of unknown matches disagree.
    fate: Option<&'static str>,
    fate_text: Option<String>,
    deciding_rule: Option<JsonRule>,
    /// `on_path`, `not_on_path` (a divergence) or `no_such_rule`.
    logged_by: &'static str,
    log_rule: Option<JsonRule>,
    ttl_restored: bool,
}

#[derive(Serialize)]
struct JsonRule {
    table: String,
    chain: String,
    /// 1-based position in its chain as iptables counts it (`index`, as in `--json`).
    index: usize,
    file: String,
    line: u32,
    text: String,
}

fn json_rule(ruleset: &Ruleset, r: model::RuleRef) -> JsonRule {
    let o = words::rule_origin(ruleset, r);
    JsonRule {
        table: words::table_name(ruleset, r.table),
        chain: words::chain_name(ruleset, r.chain_ref()),
        index: words::rule_number(ruleset, r),
        file: o.map(|o| o.file.to_string()).unwrap_or_default(),
        line: o.map_or(0, |o| o.line),
        text: o.map(|o| o.text.clone()).unwrap_or_default(),
    }
}

fn json_malformed(m: &Malformed) -> JsonMalformed {
    JsonMalformed {
        line: m.line,
        column: m.error.line_col().1,
        message: m.error.kind.to_string(),
    }
}

/// The flow table as JSON.
pub fn render_log_json<W: Write>(
    w: &mut W,
    name: &str,
    scan: &LogScan,
    ruleset: &Ruleset,
    answers: &[FlowAnswer],
) -> io::Result<()> {
    let flows = scan
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let p = &f.first.packet;
            let ports = p.l4.ports();
            JsonFlow {
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
                simulated: answers.get(i).map(|a| {
                    let decided = a.outcome.decided_fate();
                    JsonSim {
                        fate: decided.map(words::fate_kind),
                        fate_text: decided.map(words::fate_sentence),
                        deciding_rule: match (decided, &a.outcome.primary().decider) {
                            (Some(_), Decider::Rule(r)) => Some(json_rule(ruleset, *r)),
                            _ => None,
                        },
                        logged_by: match a.logged_by {
                            LoggedBy::OnPath(_) => "on_path",
                            LoggedBy::NotOnPath(_) => "not_on_path",
                            LoggedBy::NoSuchRule => "no_such_rule",
                        },
                        log_rule: match &a.logged_by {
                            LoggedBy::OnPath(r) => Some(json_rule(ruleset, *r)),
                            _ => None,
                        },
                        ttl_restored: a.ttl_restored,
                    }
                }),
            }
        })
        .collect();
    let j = JsonLog {
        schema_version: LOG_SCHEMA_VERSION,
        file: name,
        lines: scan.lines,
        records: scan.records,
        other: scan.other,
        malformed: scan.malformed,
        malformed_examples: scan.malformed_examples.iter().map(json_malformed).collect(),
        unmatched: scan.unmatched,
        flows,
    };
    serde_json::to_writer_pretty(&mut *w, &j).map_err(io::Error::other)?;
    writeln!(w)
}

fn placed_words(ruleset: &Ruleset, at: &Placement) -> String {
    match at {
        Placement::Rule(r) => words::rule_label(ruleset, *r),
        Placement::Policy(c) => format!("{} policy", words::chain_label(ruleset, *c)),
        Placement::ChainEnd(c) => format!("{} return", words::chain_label(ruleset, *c)),
        Placement::TracingRule => "(the rule that switched tracing on)".into(),
        Placement::NotInRuleset | Placement::Unmapped { .. } => "(not in the given ruleset)".into(),
        Placement::Unplaced(why) => format!("(not placed: {why})"),
    }
}

fn stop_words(ruleset: &Ruleset, s: &Option<Step>) -> String {
    match s {
        Some(s) => format!(
            "{} -> {}",
            placed_words(ruleset, &s.at),
            s.verdict
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
        None => "(nothing)".into(),
    }
}

/// The step where a traced fate was decided (a drop, a reject, a queue).
fn fate_step(f: &KernelFate) -> Option<usize> {
    match f {
        KernelFate::Dropped { step }
        | KernelFate::Rejected { step, .. }
        | KernelFate::Queued { step, .. } => Some(*step),
        _ => None,
    }
}

/// The simulation's fate in a few words, beside a traced one.
fn simulated_fate_words(f: &Fate) -> String {
    match f {
        Fate::Delivered { .. } => "delivered locally".into(),
        Fate::Forwarded { oif, .. } => format!("forwarded out of {oif}"),
        Fate::Sent { oif } => format!("sent out of {oif}"),
        Fate::Dropped => "dropped".into(),
        Fate::Rejected { with } => format!("rejected with {with}"),
        Fate::Queued { queue } => format!("queued to {}", queue.num),
        Fate::RoutingFailed { .. } => "lost in routing".into(),
        Fate::Undetermined { .. } => "undetermined".into(),
    }
}

/// One divergence of a traced packet, in words.
fn divergence_words(ruleset: &Ruleset, d: &Divergence) -> String {
    match d {
        Divergence::Path {
            index,
            kernel,
            engine,
        } => format!(
            "step {}: kernel {} | simulation {}",
            index + 1,
            stop_words(ruleset, kernel),
            stop_words(ruleset, engine)
        ),
        Divergence::Fate { kernel, engine } => {
            format!(
                "fate: kernel {kernel} | simulation {}",
                simulated_fate_words(engine)
            )
        }
        other => crate::verify::divergence(ruleset, other),
    }
}

fn by_words(by: Option<PlacedBy>) -> &'static str {
    match by {
        Some(PlacedBy::RuleNumber) => "by number",
        Some(PlacedBy::Handle) => "by handle",
        Some(PlacedBy::Text) => "by text",
        Some(PlacedBy::Verdict) => "by verdict",
        Some(PlacedBy::Simulation) => "as simulated",
        None => "",
    }
}

fn packet_words(p: &Packet) -> String {
    let mut s = words::packet(p);
    if let Some(i) = &p.iif {
        s.push_str(&format!(" in {i}"));
    }
    s
}

/// Each traced packet: its fate, the simulation's verdict on it, divergences, its path.
pub fn render_traces<W: Write>(
    w: &mut W,
    name: &str,
    tracer: &str,
    file: &TraceFile,
    ruleset: &Ruleset,
    answers: &[TraceAnswer],
) -> io::Result<()> {
    let diverging = answers.iter().filter(|a| !a.divergences.is_empty()).count();
    let simulated = answers.iter().filter(|a| a.simulated.is_some()).count();
    writeln!(
        w,
        "{name} ({tracer}): {} traced packets; {simulated} simulated, {diverging} diverge",
        answers.len()
    )?;
    if file.orphans > 0 {
        writeln!(
            w,
            "  {} events before their packet's first line (the trace started mid-walk): skipped",
            file.orphans
        )?;
    }
    for (n, a) in answers.iter().enumerate() {
        writeln!(w)?;
        let id = a
            .traced
            .id
            .map(|i| format!(", id {i:08x}"))
            .unwrap_or_default();
        let shown = match a.traced.incomplete {
            Some(_) => format!(
                "{} -> {} (protocol not printed by the tracer)",
                a.packet.src, a.packet.dst
            ),
            None => packet_words(&a.packet),
        };
        writeln!(w, "packet {}  {shown}  (line {}{id})", n + 1, a.traced.line)?;
        let fate = match fate_step(&a.fate) {
            Some(at) => {
                let s = &a.steps[at];
                let mut t = format!(
                    "{} by {}",
                    a.fate.to_string().to_uppercase(),
                    placed_words(ruleset, &s.at)
                );
                if let Placement::Rule(r) = s.at {
                    let loc = words::rule_location(ruleset, r);
                    if !loc.is_empty() {
                        t.push_str(&format!("  {loc}"));
                    }
                }
                t
            }
            None => a.fate.to_string().to_uppercase(),
        };
        writeln!(w, "  traced fate   {fate}")?;
        if let KernelFate::Rejected { step, .. } = a.fate {
            if let Placement::Rule(r) = a.steps[step].at {
                writeln!(w, "                {}", ruleset.rule_at(r).origin.text)?;
            }
            writeln!(w, "                (the kernel prints a REJECT as a drop; the rule's target says reject)")?;
        }
        match &a.simulated {
            None => writeln!(
                w,
                "  simulation    not run: {}",
                a.traced.incomplete.unwrap_or("headers incomplete")
            )?,
            Some(o) if a.divergences.is_empty() => writeln!(
                w,
                "  simulation    agrees: {}",
                o.decided_fate()
                    .map_or("undecided".to_string(), words::fate_sentence)
            )?,
            Some(_) => {
                for d in &a.divergences {
                    match d {
                        Divergence::Path { .. } => {
                            writeln!(w, "  ! DIVERGES    at {}", divergence_words(ruleset, d))?
                        }
                        _ => writeln!(w, "  ! DIVERGES    {}", divergence_words(ruleset, d))?,
                    }
                }
            }
        }
        for s in &a.assumptions {
            writeln!(w, "  assumed       {s}")?;
        }
        writeln!(w, "  path")?;
        for s in &a.steps {
            let hook = s.hook.map(|h| h.to_string()).unwrap_or_else(|| "?".into());
            let family = s.event.family.map(|f| f.to_string()).unwrap_or_default();
            let place = format!("{family} {} {}", s.event.table, s.event.chain);
            let (what, loc) = match &s.at {
                Placement::Rule(r) => {
                    let o = &ruleset.rule_at(*r).origin;
                    (
                        format!("#{} {}", words::rule_number(ruleset, *r), o.text),
                        format!("{} {}", words::location(o), by_words(s.by)),
                    )
                }
                Placement::Policy(_) => ("policy".to_string(), String::new()),
                Placement::ChainEnd(_) => ("return".to_string(), String::new()),
                other => (
                    s.event
                        .rule
                        .text
                        .clone()
                        .unwrap_or_else(|| format!("{:?}", s.event.kind).to_lowercase()),
                    placed_words(ruleset, other),
                ),
            };
            let verdict = match &s.event.verdict {
                None => "(no verdict printed)".to_string(),
                Some(v) => v.to_string(),
            };
            let loc = match loc.trim() {
                "" => String::new(),
                l => format!("  [{l}]"),
            };
            writeln!(
                w,
                "    {hook:<11} {place:<24} {what}{loc}  {verdict}  (line {})",
                s.event.line.unwrap_or(0)
            )?;
        }
    }
    let m: Vec<(u64, &ParseError)> = file
        .malformed_examples
        .iter()
        .map(|(l, e)| (*l, e))
        .collect();
    write_malformed(w, name, file.malformed, &m)
}

#[derive(Serialize)]
struct JsonTraces<'a> {
    file: &'a str,
    tracer: &'a str,
    packets: Vec<JsonTraced>,
    malformed: u64,
    orphans: u64,
}

#[derive(Serialize)]
struct JsonTraced {
    line: u64,
    id: Option<u32>,
    packet: String,
    /// `dropped`, `rejected`, `queued` or `accepted` (no closing event).
    traced_fate: &'static str,
    traced_fate_text: String,
    deciding_rule: Option<JsonRule>,
    simulated_fate: Option<&'static str>,
    agrees: Option<bool>,
    divergences: Vec<String>,
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonStep {
    line: u64,
    hook: Option<String>,
    family: String,
    table: String,
    chain: String,
    verdict: String,
    rule: Option<JsonRule>,
    placed: String,
}

/// Traced packets as JSON.
pub fn render_traces_json<W: Write>(
    w: &mut W,
    name: &str,
    tracer: &str,
    file: &TraceFile,
    ruleset: &Ruleset,
    answers: &[TraceAnswer],
) -> io::Result<()> {
    let packets = answers
        .iter()
        .map(|a| {
            let kind = match a.fate {
                KernelFate::Dropped { .. } => "dropped",
                KernelFate::Rejected { .. } => "rejected",
                KernelFate::Queued { .. } => "queued",
                // A tracer's text has no closing event: whatever got through is accepted.
                _ => "accepted",
            };
            let deciding_rule = fate_step(&a.fate).and_then(|i| match a.steps[i].at {
                Placement::Rule(r) => Some(json_rule(ruleset, r)),
                _ => None,
            });
            JsonTraced {
                line: a.traced.line,
                id: a.traced.id,
                packet: packet_words(&a.packet),
                traced_fate: kind,
                traced_fate_text: a.fate.to_string(),
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
                steps: a
                    .steps
                    .iter()
                    .map(|s| JsonStep {
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
                            Placement::Rule(r) => Some(json_rule(ruleset, r)),
                            _ => None,
                        },
                        placed: format!("{} {}", placed_words(ruleset, &s.at), by_words(s.by))
                            .trim()
                            .to_string(),
                    })
                    .collect(),
            }
        })
        .collect();
    let j = JsonTraces {
        file: name,
        tracer,
        packets,
        malformed: file.malformed,
        orphans: file.orphans,
    };
    serde_json::to_writer_pretty(&mut *w, &j).map_err(io::Error::other)?;
    writeln!(w)
}

/// What a flow's events prove, in words.
pub fn proof_words(p: Proof) -> &'static str {
    match p {
        Proof::HandshakeCompleted => "handshake completed through this host",
        Proof::Replied => "the peer answered through this host",
        Proof::PassedThenReset => "the first packet passed this host's firewall, then a TCP reset answered (nothing listening, or a tcp-reset reject further on); conntrack does not count a reset as a reply",
        Proof::PassedNoAnswer => "the first packet passed this host's firewall and nothing ever answered (timed out)",
        Proof::PassedNoAnswerYet => "the first packet passed this host's firewall; no answer yet",
        Proof::SeenMidway => "the connection existed before the events start",
    }
}

fn next_words(n: NextState) -> &'static str {
    match n {
        NextState::Established => "established",
        NextState::NewWithEntry => "new (an entry without a reply exists)",
        NextState::NoEntry => "new (no entry left)",
    }
}

fn ct_flow_words(f: &CtFlow) -> String {
    let icmp = matches!(
        f.proto,
        model::packet::IpProto::Icmp | model::packet::IpProto::Icmpv6
    );
    if icmp {
        format!(
            "{} {} -> {} id {}",
            f.proto, f.orig.src, f.orig.dst, f.orig.sport
        )
    } else {
        format!(
            "{} {} -> {}",
            f.proto,
            words::addr_port(f.orig.src, Some(f.orig.sport)),
            words::addr_port(f.orig.dst, Some(f.orig.dport))
        )
    }
}

fn events_words(f: &CtFlow) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<(CtEvent, usize)> = None;
    for e in &f.events {
        match &mut last {
            Some((ev, n)) if *ev == e.event => *n += 1,
            _ => {
                if let Some((ev, n)) = last.take() {
                    out.push(event_name(ev, n));
                }
                last = Some((e.event, 1));
            }
        }
    }
    if let Some((ev, n)) = last {
        out.push(event_name(ev, n));
    }
    out.join(", ")
}

fn event_name(e: CtEvent, n: usize) -> String {
    let name = match e {
        CtEvent::New => "NEW",
        CtEvent::Update => "UPDATE",
        CtEvent::Destroy => "DESTROY",
        CtEvent::Listed => "listed",
    };
    if n > 1 {
        format!("{name} x{n}")
    } else {
        name.to_string()
    }
}

/// Conntrack flows, and the packets asked about.
pub fn render_conntrack<W: Write>(
    w: &mut W,
    name: &str,
    file: &CtFile,
    ruleset: &Ruleset,
    asked: &[AskedPacket],
) -> io::Result<()> {
    writeln!(
        w,
        "{name}: {} events in {} flows",
        file.events,
        file.flows.len()
    )?;
    for a in asked {
        writeln!(w)?;
        writeln!(w, "{}", packet_words(&a.packet))?;
        match (a.flow, a.proof) {
            (Some(i), Some(p)) => {
                writeln!(w, "  events        {} (from line {})", events_words(&file.flows[i]), file.flows[i].events.first().map_or(0, |e| e.line))?;
                writeln!(w, "  proves        {}", proof_words(p))?;
            }
            _ => writeln!(
                w,
                "  events        none for this flow\n  proves        its first packet never got past this host's firewall: dropped by a rule (in any table, raw included) or by routing before conntrack confirmed it, or it is untracked (notrack)"
            )?,
        }
        if let Some(o) = &a.simulated {
            let t = o.primary();
            let rule = match o.decided_fate() {
                Some(_) => words::decider_short(ruleset, &t.decider),
                None => "undecided".into(),
            };
            let sentence = o
                .decided_fate()
                .map(words::fate_sentence)
                .unwrap_or_default();
            writeln!(
                w,
                "  simulation    {}: {sentence}; decided by {rule}",
                headline(o)
            )?;
            if let Decider::Rule(r) = t.decider {
                writeln!(w, "                {}", ruleset.rule_at(r).origin.text)?;
            }
            match a.agrees {
                Some(true) => writeln!(w, "                agrees with the events")?,
                Some(false) => writeln!(
                    w,
                    "  ! DIVERGES    the events say the firewall {} it; the simulation says {}",
                    if a.flow.is_some() {
                        "passed"
                    } else {
                        "stopped"
                    },
                    o.decided_fate()
                        .map_or("undecided".into(), words::fate_sentence)
                )?,
                None => {}
            }
        }
    }
    writeln!(w)?;
    writeln!(w, "flows")?;
    for f in &file.flows {
        let span = match f.span_secs() {
            Some(s) if s < 0.001 => format!("  within {} µs", (s * 1e6).round()),
            Some(s) => format!("  over {s:.3} s"),
            None => String::new(),
        };
        writeln!(w, "  {:<44} {}{span}", ct_flow_words(f), events_words(f))?;
        writeln!(
            w,
            "      {}; next packet: {}",
            proof_words(f.proof()),
            next_words(f.next_state())
        )?;
    }
    let m: Vec<(u64, &ParseError)> = file
        .malformed_examples
        .iter()
        .map(|(l, e)| (*l, e))
        .collect();
    write_malformed(w, name, file.malformed, &m)
}

#[derive(Serialize)]
struct JsonCt<'a> {
    schema_version: u32,
    file: &'a str,
    events: u64,
    malformed: u64,
    asked: Vec<JsonAsked>,
    flows: Vec<JsonCtFlow>,
}

#[derive(Serialize)]
struct JsonAsked {
    packet: String,
    has_events: bool,
    proof: String,
    simulated_fate: Option<&'static str>,
    deciding_rule: Option<JsonRule>,
    agrees: Option<bool>,
}

#[derive(Serialize)]
struct JsonCtFlow {
    flow: String,
    events: Vec<String>,
    first_line: u64,
    proof: &'static str,
    next_packet: &'static str,
    span_secs: Option<f64>,
}

/// Conntrack flows as JSON.
pub fn render_conntrack_json<W: Write>(
    w: &mut W,
    name: &str,
    file: &CtFile,
    ruleset: &Ruleset,
    asked: &[AskedPacket],
) -> io::Result<()> {
    let j = JsonCt {
        schema_version: CONNTRACK_SCHEMA_VERSION,
        file: name,
        events: file.events,
        malformed: file.malformed,
        asked: asked
            .iter()
            .map(|a| JsonAsked {
                packet: packet_words(&a.packet),
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
                        (Some(_), Decider::Rule(r)) => Some(json_rule(ruleset, *r)),
                        _ => None,
                    }
                }),
                agrees: a.agrees,
            })
            .collect(),
        flows: file
            .flows
            .iter()
            .map(|f| JsonCtFlow {
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
