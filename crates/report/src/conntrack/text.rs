//! Conntrack flows as text: the packets asked about (their events, what those prove, the
//! simulation and whether it agrees), then every flow.

use super::{ct_flow_words, events_words, next_words, proof_words};
use crate::words::{self, flows};
use analysis::flows::conntrack::AskedPacket;
use engine::Decider;
use evidence::conntrack_events::CtFile;
use frontends::ParseError;
use model::Ruleset;
use std::io::{self, Write};

/// Conntrack flows, and the packets asked about.
pub fn render<W: Write>(
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
        asked_packet(w, a, file, ruleset)?;
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
    flows::write_malformed(w, name, file.malformed, &m)
}

/// A packet asked about: its flow's events, what they prove, the simulation and whether the
/// two agree.
fn asked_packet<W: Write>(
    w: &mut W,
    a: &AskedPacket,
    file: &CtFile,
    ruleset: &Ruleset,
) -> io::Result<()> {
    writeln!(w, "{}", flows::packet_with_iif(&a.packet))?;
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
            flows::outcome_headline(o)
        )?;
        if let Decider::Rule(r) = t.decider {
            writeln!(
                w,
                "                {}",
                words::rule_text(&ruleset.rule_at(r).origin.text)
            )?;
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
    Ok(())
}
