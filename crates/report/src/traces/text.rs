//! Traced packets as text: per packet its traced fate, the simulation's verdict on it, the
//! divergences, then its path with each step placed in the ruleset.

use super::{by_words, divergence_words, fate_step, placed_words};
use crate::words::{self, flows};
use analysis::agree::Divergence;
use analysis::flows::traces::TraceAnswer;
use evidence::trace::TraceFile;
use frontends::ParseError;
use model::kernel_walk::{KernelFate, KernelStep, Placement};
use model::Ruleset;
use std::io::{self, Write};

/// Each traced packet: its fate, the simulation's verdict on it, divergences, its path.
pub fn render<W: Write>(
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
        packet(w, n, a, ruleset)?;
    }
    let m: Vec<(u64, &ParseError)> = file
        .malformed_examples
        .iter()
        .map(|(l, e)| (*l, e))
        .collect();
    flows::write_malformed(w, name, file.malformed, &m)
}

/// The `n`th traced packet (0-based): its line, traced fate, simulation, path.
fn packet<W: Write>(w: &mut W, n: usize, a: &TraceAnswer, ruleset: &Ruleset) -> io::Result<()> {
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
        None => flows::packet_with_iif(&a.packet),
    };
    writeln!(w, "packet {}  {shown}  (line {}{id})", n + 1, a.traced.line)?;
    traced_fate(w, a, ruleset)?;
    if let Some(c) = &a.contradiction {
        writeln!(w, "  ! {}", words::evidence_contradiction(c, "trace"))?;
    }
    simulation(w, a, ruleset)?;
    if let Some(x) = &a.assumed {
        writeln!(
            w,
            "  assumed       {}",
            words::evidence_assumption(x, "trace")
        )?;
    }
    if a.assumed_established {
        writeln!(
            w,
            "  assumed       a later packet of a traced flow: simulated with an established conntrack entry for it"
        )?;
    }
    // No rule or policy traced (a packet lost in routing): say so, not an empty section.
    if a.steps.is_empty() {
        return writeln!(w, "  path          no rule or policy of the ruleset traced");
    }
    writeln!(w, "  path")?;
    for s in &a.steps {
        step(w, s, ruleset)?;
    }
    Ok(())
}

/// `DROPPED by RULE  file:line`, and for a reject the rule's text and the kernel's way of
/// printing it.
fn traced_fate<W: Write>(w: &mut W, a: &TraceAnswer, ruleset: &Ruleset) -> io::Result<()> {
    let fate = match fate_step(&a.fate) {
        Some(at) => {
            let s = &a.steps[at];
            let mut t = format!(
                "{} by {}",
                words::kernel_fate(&a.fate).to_uppercase(),
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
        None => words::kernel_fate(&a.fate).to_uppercase(),
    };
    writeln!(w, "  traced fate   {fate}")?;
    if let KernelFate::Rejected { step, .. } = a.fate {
        if let Placement::Rule(r) = a.steps[step].at {
            writeln!(
                w,
                "                {}",
                words::rule_text(&ruleset.rule_at(r).origin.text)
            )?;
        }
        writeln!(
            w,
            "                (the kernel prints a REJECT as a drop; the rule's target says reject)"
        )?;
    }
    Ok(())
}

/// Whether the simulation agrees, or each divergence.
fn simulation<W: Write>(w: &mut W, a: &TraceAnswer, ruleset: &Ruleset) -> io::Result<()> {
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
    Ok(())
}

/// One step of the path: hook, chain, the rule (placed, with how) and its verdict.
fn step<W: Write>(w: &mut W, s: &KernelStep, ruleset: &Ruleset) -> io::Result<()> {
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
                .unwrap_or_else(|| words::step_kind(s.event.kind)),
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
    )
}
