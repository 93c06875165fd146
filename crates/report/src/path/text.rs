//! The human answer of `whyblocked path`: the verdict first, then every leg hop by hop.
//!
//! ```text
//! FAILS at router (the way there)  tcp 10.0.1.2:40000 -> 10.0.2.2:443 [SYN], from client
//!   sender sees    ICMP port unreachable from 10.0.1.1 (router)
//!                  connect() fails at once: ECONNREFUSED "Connection refused"
//!   failed at      router, forwarded eth0 -> eth1
//!   deciding rule  filter/FORWARD #1   router.rules:5
//!   ...
//!
//! request (the way there)  tcp 10.0.1.2:40000 -> 10.0.2.2:443 [SYN]: client -> router, stopped at router
//!   client  locally generated, out eth0
//!     routing  output via 10.0.1.1 dev eth0 [default via 10.0.1.1 dev eth0]
//!     neighbour  10.0.1.1: router answers (its eth0)
//! ```
//!
//! Each Linux hop shows the one-host answer's path table (hooks, rules, NAT, conntrack,
//! routing in kernel order), then how the packet leaves: neighbour resolution, the link
//! and how it is known, the MTU. Colour only when [`TextOptions::color`] is set.

use super::words as pw;
use super::{PathAnswer, Verdict};
use crate::answer::text::{path as path_table, Painter, Section, Style};
use crate::words;
use crate::{Answer, TextOptions};
use engine::Decider;
use network::fix::Change;
use network::{Hop, HopKind, Outcome};
use std::io::{self, Write};

/// Width of a hop's label column ("neighbour  ").
const SUB_LABEL: usize = 11;

/// Writes the answer to `w`.
pub fn render<W: Write>(w: &mut W, a: &PathAnswer<'_>, options: &TextOptions) -> io::Result<()> {
    let p = Painter {
        color: options.color,
    };
    let v = Verdict::of(a.walk);
    let topo = a.topology;
    let style = match a.walk.outcome {
        Outcome::Works => Style::Green,
        Outcome::Undecided { .. } => Style::Yellow,
        Outcome::Refused | Outcome::Fails { .. } => Style::Red,
    };
    let request = a
        .walk
        .legs
        .first()
        .and_then(|l| l.hops.first())
        .map(|h| words::packet(&h.packet))
        .unwrap_or_default();
    writeln!(
        w,
        "{}{}  {}, from {}",
        p.paint(pw::outcome_word(&a.walk.outcome), style),
        pw::headline_place(a, &v),
        p.paint(&request, Style::Bold),
        pw::node(topo, a.sender),
    )?;
    let mut s = Section { w, p: &p };
    s.field("sender sees", pw::seen(a, &v))?;
    if let Some((leg, hop)) = v.at {
        failure(&mut s, a, leg, hop)?;
    }
    if let Some(fix) = pw::fix(a, &v) {
        s.field("fix on", fix_lines(fix))?;
    }
    if let Some(fix) = &a.facts.fix {
        if let (Change::Firewall(remedies), Some(proven)) = (&fix.change, fix.proof.as_ref()) {
            // Judged by the whole exchange walked again, not by the one host alone.
            if let Some(primary) = remedies.primary() {
                let works = matches!(proven.outcome, Outcome::Works | Outcome::Refused);
                let lines = s.remedy_lines_passing(primary, works);
                s.field(&words::remedy_label(primary), lines)?;
            }
        }
    }
    if let Some(fix) = pw::alternative_fix(a) {
        s.field("or on", fix_lines(fix))?;
    }
    s.field("source", pw::source(topo, a.sender, &a.walk.source))?;
    // The same assumption on several hosts (a sysctl's default, say) is one line naming
    // them all, in the order the hosts are met.
    let mut grouped: Vec<(Vec<&str>, String)> = Vec::new();
    for x in pw::assumptions(a) {
        let name = x.node.map(|n| pw::node(topo, n));
        match grouped.iter_mut().find(|(_, text)| *text == x.text) {
            Some((names, _)) => names.extend(name),
            None => grouped.push((name.into_iter().collect(), x.text)),
        }
    }
    let assumed: Vec<String> = grouped
        .into_iter()
        .map(|(names, text)| match names.is_empty() {
            true => text,
            false => format!("{}: {text}", names.join(", ")),
        })
        .collect();
    if !assumed.is_empty() {
        s.field("assumed", assumed)?;
    }
    let w = s.w;
    for (i, leg) in a.walk.legs.iter().enumerate() {
        writeln!(w)?;
        let packet = leg
            .hops
            .first()
            .map(|h| words::packet(&h.packet))
            .unwrap_or_default();
        writeln!(
            w,
            "{} ({})  {}: {}, {}",
            p.paint(pw::role_code(leg.role), Style::Bold),
            pw::direction(leg.role),
            packet,
            pw::hop_names(topo, leg),
            pw::end(topo, leg)
        )?;
        for (j, hop) in leg.hops.iter().enumerate() {
            self::hop(w, &p, a, hop, a.hop_answer(i, j))?;
        }
    }
    Ok(())
}

/// A fix in words, with whether walking the exchange again proved it.
fn fix_lines(fix: pw::Fix) -> Vec<String> {
    let mut lines = vec![fix.text];
    lines.extend(fix.detail);
    match fix.proven {
        Some(true) => lines.push("(the exchange walked again with it works)".to_string()),
        Some(false) => lines.push("(the exchange walked again with it still fails)".to_string()),
        None => {}
    }
    lines
}

/// The hop the exchange fails at (or cannot be decided at): where, what decided, why.
fn failure<W: Write>(
    s: &mut Section<'_, '_, W>,
    a: &PathAnswer<'_>,
    leg: usize,
    hop: usize,
) -> io::Result<()> {
    let topo = a.topology;
    let l = &a.walk.legs[leg];
    let h = l.hops.get(hop);
    let label = match a.walk.outcome {
        Outcome::Undecided { .. } => "undecided at",
        _ => "failed at",
    };
    let Some(h) = h else {
        if let Some((label, lines)) = pw::failure_reason(topo, a.sender, l, None) {
            s.field(label, lines)?;
        }
        return Ok(());
    };
    s.field(
        label,
        [format!("{}, {}", pw::node(topo, h.node), hop_does(a, h))],
    )?;
    if let Some(asym) = pw::asymmetry(a, leg, hop) {
        s.field("asymmetric", [asym])?;
    }
    if let Some(answer) = a.hop_answer(leg, hop) {
        let outcome = answer.outcome;
        let trace = outcome.primary();
        if outcome.decided_fate().is_none() {
            s.undecided(answer.ruleset, outcome)?;
        } else if matches!(trace.decider, Decider::Rule(_) | Decider::Policy(_))
            && !trace.fate.passed()
        {
            s.decider(&answer, trace)?;
        }
    }
    if let Some((label, lines)) = pw::failure_reason(topo, a.sender, l, Some(h)) {
        s.field(label, lines)?;
    }
    Ok(())
}

/// What a hop does with the packet, in a few words.
fn hop_does(a: &PathAnswer<'_>, h: &Hop) -> String {
    match &h.kind {
        HopKind::Linux { outcome } => words::direction(outcome.primary()),
        HopKind::Stub { route } => pw::stub_hop(a.topology, h, *route),
    }
}

/// One hop: what it does, its kernel path, how the packet leaves.
fn hop<W: Write>(
    w: &mut W,
    p: &Painter,
    a: &PathAnswer<'_>,
    h: &Hop,
    answer: Option<Answer<'_>>,
) -> io::Result<()> {
    let topo = a.topology;
    writeln!(
        w,
        "  {}  {}",
        p.paint(pw::node(topo, h.node), Style::Bold),
        hop_does(a, h)
    )?;
    if let Some(answer) = answer {
        let trace = answer.outcome.primary();
        let mut table = Vec::new();
        path_table(&mut table, p, answer.ruleset, answer.host, trace)?;
        for line in String::from_utf8_lossy(&table).lines() {
            writeln!(w, "  {line}")?;
        }
        if !trace.fate.passed() {
            sub(w, p, "fate", &[words::fate_sentence(&trace.fate)])?;
        }
    }
    if let Some(e) = &h.egress {
        sub(w, p, "neighbour", &[pw::resolution(topo, e)])?;
        if let Some(l) = e.link {
            sub(w, p, "link", &[pw::link(topo, l)])?;
        }
        sub(w, p, "mtu", &[pw::mtu(e)])?;
    }
    Ok(())
}

/// `    label      first line` then continuation lines under it.
fn sub<W: Write>(w: &mut W, p: &Painter, label: &str, lines: &[String]) -> io::Result<()> {
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            let pad = SUB_LABEL.saturating_sub(label.chars().count()).max(1);
            writeln!(
                w,
                "    {}{}{line}",
                p.paint(label, Style::Dim),
                " ".repeat(pad)
            )?;
        } else {
            writeln!(w, "    {}{line}", " ".repeat(SUB_LABEL))?;
        }
    }
    Ok(())
}
