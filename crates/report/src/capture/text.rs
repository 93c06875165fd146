//! The capture diagnosis as text: the header and notes, the table of flows, then each
//! finding explained and each simulated fine flow.

use super::finding::{answered_by, fine_headline, fine_summary, headline, meaning, summary};
use super::notes::{duration, format_name, input_notes, placement, reading_notes};
use super::tls::tls_lines;
use super::{endpoint, fine_endpoint, path, plural, pmtu, proto_name, CaptureAnswer};
use crate::words;
use analysis::capture::Simulated;
use evidence::classify::{Finding, FineFlow, Symptom, Working};
use std::io::{self, Write};

/// Writes the text diagnosis.
pub fn render<W: Write>(w: &mut W, a: &CaptureAnswer<'_>) -> io::Result<()> {
    let an = a.analysis;
    header(w, a)?;
    if an.shows_no_traffic() {
        writeln!(w, "\nno IP packet in the capture: nothing to judge")?;
        return Ok(());
    }
    if an.findings.is_empty() {
        writeln!(w, "\nno failed or suspicious flow")?;
        if an.fine.is_empty() {
            return Ok(());
        }
    }
    writeln!(w)?;
    table(w, a)?;
    for (i, f) in an.findings.iter().enumerate() {
        writeln!(w)?;
        let sim = a.simulations.findings.get(i).and_then(|s| s.as_ref());
        finding_text(w, f, sim, a)?;
        if let Some(p) = a.paths {
            if let Some(Some(on_path)) = p.flows.get(i) {
                labelled(w, "path", &path::lines(on_path, &p.topology))?;
            }
        }
    }
    // A fine flow is explained only when simulated: why the rules let it through.
    for (i, f) in an.fine.iter().enumerate() {
        if let Some(sim) = a.simulations.fine.get(i).and_then(|s| s.as_ref()) {
            writeln!(w)?;
            fine_text(w, f, sim, a)?;
        }
    }
    Ok(())
}

/// The capture line, the flow counts and the notes on how the inputs were read.
fn header<W: Write>(w: &mut W, a: &CaptureAnswer<'_>) -> io::Result<()> {
    let an = a.analysis;
    let links: Vec<String> = an
        .interfaces
        .iter()
        .map(|i| match &i.name {
            Some(n) => format!("{n}: {}", i.link),
            None => i.link.to_string(),
        })
        .collect();
    writeln!(
        w,
        "capture   {} ({}, {}): {} frame{}, {}{} flow{}{}",
        a.file,
        format_name(an),
        links.join(", "),
        an.read.frames,
        plural(an.read.frames),
        if an.table.evictions_not_remembered > 0 {
            "at most "
        } else {
            ""
        },
        an.table.flows,
        plural(an.table.flows),
        duration(an)
    )?;
    writeln!(
        w,
        "flows     {}, {}, {} fine",
        counted(an.failed, "failed", an),
        counted(an.suspicious, "suspicious", an),
        an.ok_flows
    )?;
    for line in reading_notes(an) {
        writeln!(w, "note      {line}")?;
    }
    for n in input_notes(a) {
        writeln!(w, "note      {n}")?;
    }
    Ok(())
}

/// `n failed`, and when the findings table was full, how many of them are shown.
fn counted(n: u64, what: &str, an: &evidence::capture::CaptureAnalysis) -> String {
    if an.findings_not_kept == 0 || n == 0 {
        return format!("{n} {what}");
    }
    let failure = what == "failed";
    let shown = an
        .findings
        .iter()
        .filter(|f| f.symptom.is_failure() == failure)
        .count();
    format!(
        "{n} {what} ({shown} shown; the table keeps {})",
        an.findings_limit
    )
}

/// The table of failed and suspicious flows and the fine ones kept (what worked beside
/// them), in flow order, then how many were left out.
fn table<W: Write>(w: &mut W, a: &CaptureAnswer<'_>) -> io::Result<()> {
    let an = a.analysis;
    let mut rows: Vec<(u64, [String; 5])> = an.findings.iter().map(|f| (f.flow, row(f))).collect();
    rows.extend(an.fine.iter().map(|f| (f.flow, fine_row(f))));
    rows.sort_by_key(|(flow, _)| *flow);
    let rows: Vec<[String; 5]> = rows.into_iter().map(|(_, r)| r).collect();
    let head = ["flow", "what", "proto", "client -> server", "answered by"];
    let width = words::flows::column_widths(head, &rows);
    let line = |w: &mut W, r: [&str; 5]| {
        writeln!(
            w,
            "{:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3]
        )
    };
    line(w, head)?;
    for r in &rows {
        line(w, [&r[0], &r[1], &r[2], &r[3], &r[4]])?;
    }
    if an.findings_not_kept > 0 {
        writeln!(
            w,
            "... and {} more failed or suspicious flows not kept (the table keeps {})",
            an.findings_not_kept, an.findings_limit
        )?;
    }
    let fine_not_listed = an.ok_flows.saturating_sub(an.fine.len() as u64);
    if fine_not_listed > 0 {
        writeln!(w, "... and {fine_not_listed} more fine flows not listed")?;
    }
    Ok(())
}

fn row(f: &Finding) -> [String; 5] {
    [
        f.flow.to_string(),
        headline(f),
        proto_name(f.protocol).to_string(),
        format!("{} -> {}", endpoint(f.client, f), endpoint(f.server, f)),
        answered_by(f),
    ]
}

fn fine_row(f: &FineFlow) -> [String; 5] {
    [
        f.flow.to_string(),
        fine_headline(f),
        proto_name(f.protocol).to_string(),
        format!(
            "{} -> {}",
            fine_endpoint(f.client, f),
            fine_endpoint(f.server, f)
        ),
        match f.working {
            Working::OneWay => "-".to_string(),
            _ => "the destination".to_string(),
        },
    ]
}

/// A simulated fine flow: what was seen and why the rules let it through.
fn fine_text<W: Write>(
    w: &mut W,
    f: &FineFlow,
    sim: &Simulated,
    a: &CaptureAnswer<'_>,
) -> io::Result<()> {
    writeln!(
        w,
        "flow {}  {} {} -> {}  (fine, frame {})",
        f.flow,
        proto_name(f.protocol),
        fine_endpoint(f.client, f),
        fine_endpoint(f.server, f),
        f.first_frame
    )?;
    labelled(w, "seen", &[fine_summary(f)])?;
    simulation_text(w, sim, a)
}

const LABEL: usize = 12;

fn labelled<W: Write>(w: &mut W, label: &str, lines: &[String]) -> io::Result<()> {
    for (i, l) in lines.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        writeln!(w, "  {label:<LABEL$} {l}")?;
    }
    Ok(())
}

fn finding_text<W: Write>(
    w: &mut W,
    f: &Finding,
    sim: Option<&Simulated>,
    a: &CaptureAnswer<'_>,
) -> io::Result<()> {
    writeln!(
        w,
        "flow {}  {} {} -> {}  ({}, frame {}{})",
        f.flow,
        proto_name(f.protocol),
        endpoint(f.client, f),
        endpoint(f.server, f),
        if f.symptom.is_failure() {
            "FAILED"
        } else {
            "suspicious"
        },
        f.first_frame,
        if f.from_quote {
            "; only an ICMP error quoting it was captured"
        } else {
            ""
        }
    )?;
    labelled(w, "seen", &[summary(f, a)])?;
    labelled(w, "means", &[meaning(f, a)])?;
    if let Symptom::PmtuBlackHole(_) = &f.symptom {
        labelled(w, "cure", &pmtu::cure(f))?;
    }
    if let Symptom::IcmpError(v) = &f.symptom {
        if let Some(q) = v.quoted() {
            let mut s = format!(
                "{} {} -> {} ttl {}",
                proto_name(q.protocol),
                words::addr_port(q.src, q.ports.map(|p| p.0)),
                words::addr_port(q.dst, q.ports.map(|p| p.1)),
                q.ttl
            );
            if let Some(sent) = v.sent_ttl {
                let n = sent.saturating_sub(q.ttl);
                s.push_str(&format!(
                    " (captured with ttl {sent}: decremented {n} time{} past the capture point before it was refused)",
                    plural(u64::from(n))
                ));
            }
            labelled(w, "quoted", &[s])?;
        }
    }
    if let Some(t) = &f.tls {
        labelled(w, "tls", &tls_lines(t))?;
    }
    if let Some(s) = sim {
        simulation_text(w, s, a)?;
        if let Symptom::PmtuBlackHole(_) = &f.symptom {
            // The stuck segment's fate on the host is the diagnosis itself: too big for the
            // way out, and whether the error it answers gets out.
            let trace = s.outcome.primary();
            let mut lines = vec![words::fate_sentence(&trace.fate)];
            lines.extend(trace.warnings.iter().map(|x| words::warning(a.ruleset, x)));
            labelled(w, "", &lines)?;
        }
    }
    Ok(())
}

fn simulation_text<W: Write>(w: &mut W, s: &Simulated, a: &CaptureAnswer<'_>) -> io::Result<()> {
    let trace = s.outcome.primary();
    let fate = match s.outcome.decided_fate() {
        Some(f) => words::fate_headline(f).to_string(),
        None => "UNDECIDED".to_string(),
    };
    if let Some(c) = &s.contradiction {
        labelled(w, "!", &[words::evidence_contradiction(c, "capture")])?;
    }
    if let Some(i) = &s.assumed {
        labelled(w, "assumed", &[words::evidence_assumption(i, "capture")])?;
    }
    let mut lines = vec![format!(
        "{fate}  {}  ({})",
        words::packet(&s.packet),
        placement(&s.placement)
    )];
    lines.push(format!(
        "decided by {}",
        words::decider_short(a.ruleset, &trace.decider)
    ));
    if let engine::Decider::Rule(at) = trace.decider {
        if let Some(o) = words::rule_origin(a.ruleset, at) {
            lines.push(format!("  {}", o.text));
        }
    }
    for n in &trace.nat {
        lines.push(format!("nat {}", words::nat(a.ruleset, n)));
    }
    for l in words::sender_sees(trace, a.host) {
        lines.push(format!("sender sees {l}"));
    }
    labelled(w, "simulated", &lines)
}
