//! The flow table of a log as text: a summary line, one row per flow (with the deciding
//! rule's text and any divergence below it), then the malformed lines.

use super::{shown, DEFAULT_TOP};
use crate::words::{self, flows};
use analysis::flows::logs::{by_count, tally_by_decider, DeciderTally, FlowAnswer, LoggedBy};
use engine::{Decider, Outcome};
use evidence::log_file::{Flow, LogScan};
use frontends::ParseError;
use model::Ruleset;
use std::io::{self, Write};

const UNDECIDED: &str = "depends on an unknown match (see `whyblocked PACKET`)";

const HEADER: [&str; 7] = [
    "FLOW",
    "COUNT",
    "FIRST SEEN",
    "LAST SEEN",
    "PREFIX",
    "FATE",
    "DECIDING RULE",
];

/// The flow table of a log. `answers` is empty when no rules were given (then only the
/// evidence is shown), else one per flow. `top`: `--top N` (0: all); without it, the first
/// [`DEFAULT_TOP`] flows of a longer log.
pub fn render<W: Write>(
    w: &mut W,
    name: &str,
    scan: &LogScan,
    ruleset: &Ruleset,
    answers: &[FlowAnswer],
    top: Option<usize>,
) -> io::Result<()> {
    summary(w, name, scan)?;
    if !answers.is_empty() {
        by_decider(w, ruleset, &tally_by_decider(&scan.flows, answers))?;
    }
    if !scan.flows.is_empty() {
        let order = by_count(&scan.flows);
        let n = shown(order.len(), top, Some(DEFAULT_TOP));
        table(w, scan, ruleset, answers, &order[..n])?;
        not_shown(w, scan, &order[n..])?;
    }
    let m: Vec<(u64, &ParseError)> = scan
        .malformed_examples
        .iter()
        .map(|m| (m.line, &m.error))
        .collect();
    flows::write_malformed(w, name, scan.malformed, &m)
}

fn summary<W: Write>(w: &mut W, name: &str, scan: &LogScan) -> io::Result<()> {
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
    Ok(())
}

/// Per deciding rule, the flows and lines it decided, most lines first.
fn by_decider<W: Write>(w: &mut W, ruleset: &Ruleset, tally: &[DeciderTally]) -> io::Result<()> {
    let rows: Vec<[String; 4]> = tally
        .iter()
        .map(|t| {
            [
                t.flows.to_string(),
                t.lines.to_string(),
                t.fate
                    .as_ref()
                    .map_or("UNDECIDED", words::fate_headline)
                    .to_string(),
                match &t.decider {
                    Some(d) => words::decider_short(ruleset, d),
                    None => UNDECIDED.to_string(),
                },
            ]
        })
        .collect();
    let head = ["FLOWS", "LINES", "FATE", "DECIDING RULE"];
    let width = flows::column_widths(head, &rows);
    let line = |c: [&str; 4]| format!("  {}", flows::aligned_row(&c, &width, &[0, 1]));
    writeln!(w, "\nby deciding rule:")?;
    writeln!(w, "{}", line(head))?;
    for r in &rows {
        writeln!(w, "{}", line([&r[0], &r[1], &r[2], &r[3]]))?;
    }
    Ok(())
}

/// How many flows (and their lines) the table leaves out, and how to see them.
fn not_shown<W: Write>(w: &mut W, scan: &LogScan, rest: &[usize]) -> io::Result<()> {
    if rest.is_empty() {
        return Ok(());
    }
    let lines: u64 = rest.iter().map(|&i| scan.flows[i].count).sum();
    writeln!(
        w,
        "... and {} more flow{} not shown ({} line{}): --top N lists more, --top 0 all",
        rest.len(),
        if rest.len() == 1 { "" } else { "s" },
        lines,
        if lines == 1 { "" } else { "s" }
    )
}

/// The rows of the flows `order` lists, aligned on their widest cell (COUNT to the right),
/// each followed by its notes.
fn table<W: Write>(
    w: &mut W,
    scan: &LogScan,
    ruleset: &Ruleset,
    answers: &[FlowAnswer],
    order: &[usize],
) -> io::Result<()> {
    let rows: Vec<[String; 7]> = order
        .iter()
        .map(|&i| row(ruleset, &scan.flows[i], answers.get(i)))
        .collect();
    let width = flows::column_widths(HEADER, &rows);
    let line = |cells: [&str; 7]| flows::aligned_row(&cells, &width, &[1]);
    writeln!(w)?;
    writeln!(w, "{}", line(HEADER))?;
    for (&i, r) in order.iter().zip(&rows) {
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
    Ok(())
}

fn row(ruleset: &Ruleset, f: &Flow, answer: Option<&FlowAnswer>) -> [String; 7] {
    let (fate, rule) = match answer {
        Some(a) => (
            flows::outcome_headline(&a.outcome).to_string(),
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
}

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

fn decider(ruleset: &Ruleset, o: &Outcome) -> String {
    match o.decided_fate() {
        Some(_) => words::decider_short(ruleset, &o.primary().decider),
        None => UNDECIDED.to_string(),
    }
}

fn flow_notes(ruleset: &Ruleset, f: &Flow, a: &FlowAnswer) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = &a.contradiction {
        out.push(format!(
            "! {}",
            words::evidence_contradiction(c, "log line")
        ));
    }
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
    out
}
