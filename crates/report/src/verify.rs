//! The words of a kernel comparison: `whyblocked verify`'s report, and the pieces
//! `trace --compare` and the differential tests show (a step, a divergence, both walks side
//! by side, the engine's fate in a few words).

use crate::words;
use analysis::agree::{Comparison, Divergence, Endpoints, Step, Verification};
use engine::Fate;
use model::kernel::NfVerdict;
use model::kernel_walk::{KernelStep, KernelWalk, Placement, StepKind};
use model::{ChainRef, Packet, Ruleset};
use std::fmt::Write as _;

/// `input  filter INPUT #3 (rules.v4:12) -> drop`
pub fn step(ruleset: &Ruleset, s: &Step) -> String {
    let hook = s.hook.map(|h| h.to_string()).unwrap_or_else(|| "?".into());
    let chain = |c: ChainRef| {
        let t = &ruleset.tables[c.table];
        format!("{} {} {}", t.family, t.name, t.chains[c.chain].name)
    };
    let at = match &s.at {
        Placement::Rule(r) => {
            let o = &ruleset.rule_at(*r).origin;
            let place = if o.line > 0 {
                format!(" ({}:{})", o.file, o.line)
            } else {
                String::new()
            };
            format!("{} #{}{place}", chain(r.chain_ref()), r.rule + 1)
        }
        Placement::Policy(c) => format!("{} policy", chain(*c)),
        Placement::ChainEnd(c) => format!("{} end", chain(*c)),
        Placement::Unmapped {
            table,
            chain,
            handle,
        } => {
            format!(
                "{table} {chain} handle {} (not in the given ruleset)",
                handle.unwrap_or(0)
            )
        }
        Placement::TracingRule => "(the rule that switched tracing on)".into(),
        Placement::NotInRuleset => "(not in the given ruleset)".into(),
        Placement::Unplaced(why) => format!("(not placed: {})", words::unplaceable(*why)),
    };
    let verdict = match &s.verdict {
        _ if s.rejects => "reject".to_string(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    format!("{hook:<11} {at} -> {verdict}")
}

fn endpoints(e: &Endpoints) -> String {
    match e.ports {
        Some((a, b)) => format!("{}:{a} -> {}:{b}", e.src, e.dst),
        None => format!("{} -> {}", e.src, e.dst),
    }
}

/// One divergence in one line.
pub fn divergence(ruleset: &Ruleset, d: &Divergence) -> String {
    let side = |s: &Option<Step>| {
        s.as_ref()
            .map_or("(nothing)".to_string(), |s| step(ruleset, s))
    };
    match d {
        Divergence::Path {
            index,
            kernel,
            engine,
        } => format!(
            "step {}: kernel {} | engine {}",
            index + 1,
            side(kernel),
            side(engine)
        ),
        Divergence::Fate { kernel, engine } => {
            format!(
                "fate: kernel {} | engine {}",
                words::kernel_fate(kernel),
                engine_fate(engine)
            )
        }
        Divergence::Nat { kernel, engine } => format!(
            "after NAT: kernel {} | engine {}",
            endpoints(kernel),
            endpoints(engine)
        ),
        Divergence::Conntrack { kernel, engine } => {
            format!(
                "conntrack: kernel {} | engine {}",
                words::ct_state(*kernel),
                words::ct_state(*engine)
            )
        }
        Divergence::Answer {
            kernel_stopped,
            engine_stopped,
        } => {
            let said = |stopped: &bool| {
                if *stopped {
                    "stopped on its way out"
                } else {
                    "got out"
                }
            };
            format!(
                "the answer: kernel {} | engine {}",
                said(kernel_stopped),
                said(engine_stopped)
            )
        }
    }
}

/// Both walks side by side, the first differing step marked `>>`.
pub fn side_by_side(ruleset: &Ruleset, c: &Comparison) -> String {
    let k: Vec<String> = c.kernel.iter().map(|s| step(ruleset, s)).collect();
    let e: Vec<String> = c.engine.iter().map(|s| step(ruleset, s)).collect();
    let width = k
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let first = match c.first() {
        Some(Divergence::Path { index, .. }) => Some(*index),
        _ => None,
    };
    let mut out = format!("   {:<width$} | engine\n", "kernel");
    for i in 0..k.len().max(e.len()) {
        let mark = if Some(i) == first { ">>" } else { "  " };
        let l = k.get(i).map_or("", String::as_str);
        let r = e.get(i).map_or("", String::as_str);
        let _ = writeln!(out, "{mark} {l:<width$} | {r}");
    }
    out
}

/// The engine's fate in a few words.
pub fn engine_fate(f: &Fate) -> String {
    match f {
        Fate::Delivered { .. } => "delivered locally".into(),
        Fate::Forwarded { oif, .. } => format!("forwarded out of {}", words::iface(oif)),
        Fate::Sent { oif } => format!("sent out of {}", words::iface(oif)),
        Fate::Dropped => "dropped".into(),
        Fate::Rejected { with } => format!("rejected with {with}"),
        Fate::Queued { queue } => format!("queued to {}", queue.num),
        Fate::RoutingFailed { reason } => {
            format!("lost in routing ({})", words::routing_failure(reason))
        }
        Fate::Undetermined { reason } => format!("undetermined: {}", words::undetermined(reason)),
    }
}

/// One step of the kernel's walk: `input       ip filter INPUT #3 -> drop`.
pub fn kernel_step(s: &KernelStep) -> String {
    let hook = s.hook.map(|h| h.to_string()).unwrap_or_else(|| "?".into());
    let e = &s.event;
    let fam = e.family.map(|x| x.to_string()).unwrap_or_default();
    let mut f = format!("{hook:<11} {fam} {} {}", e.table, e.chain);
    match e.kind {
        StepKind::Rule => match s.rule() {
            Some(r) => {
                let _ = write!(f, " #{}", r.rule + 1);
            }
            None => {
                let _ = write!(f, " handle {}", e.rule.handle.unwrap_or(0));
            }
        },
        StepKind::Policy => f.push_str(" policy"),
        StepKind::Return => f.push_str(" end"),
        StepKind::Unknown(t) => {
            let _ = write!(f, " type {t}");
        }
    }
    match (s.verdict.code, s.rejects) {
        (NfVerdict::Drop, Some(r)) => {
            let _ = write!(f, " -> reject ({r}; the kernel says drop)");
        }
        _ => {
            let _ = write!(f, " -> {}", s.verdict);
        }
    }
    f
}

/// What became of the `index`th answer the kernel sent, when it is known.
pub fn answer_note(k: &KernelWalk, index: usize) -> &'static str {
    if k.answer_stopped_at(index) {
        " (stopped on its way out: the sender never gets it)"
    } else {
        ""
    }
}

/// The kernel's walk alone: its fate, steps, headers after NAT, conntrack and answers.
pub fn kernel_walk(k: &KernelWalk) -> String {
    let mut f = format!("kernel: {} (tag {})\n", words::kernel_fate(&k.fate), k.tag);
    for s in &k.steps {
        let _ = writeln!(f, "  {}", kernel_step(s));
    }
    if let Some(h) = &k.final_headers {
        let _ = writeln!(f, "  leaves as {h}");
    }
    if let Some(s) = k.ct_state {
        let _ = writeln!(f, "  conntrack {}", words::ct_seen(s));
    }
    for (i, r) in k.responses.iter().enumerate() {
        let _ = writeln!(f, "  answered with {r}{}", answer_note(k, i));
    }
    f
}

/// The first divergence of a verification, in one line.
pub fn first_divergence(v: &Verification) -> Option<String> {
    v.comparison
        .as_ref()?
        .first()
        .map(|d| divergence(&v.ruleset, d))
}

/// `whyblocked verify`'s report: the packet, both fates, AGREE or DISAGREE with the
/// divergences, both paths, what the kernel sent back, and the test host's notes.
pub fn render_text(v: &Verification) -> String {
    let mut f = String::new();
    let p = &v.packet;
    let _ = write!(f, "packet   {p}");
    if let Some(i) = &p.iif {
        let _ = write!(f, " in {i}");
    }
    if let Some(o) = &p.oif {
        let _ = write!(f, " out {o}");
    }
    f.push('\n');
    let _ = writeln!(f, "kernel   {}", words::kernel_fate(&v.kernel.fate));
    match (&v.engine, &v.engine_error) {
        (Some(o), _) => {
            let _ = writeln!(f, "engine   {}", engine_fate(&o.primary().fate));
        }
        (None, Some(e)) => {
            let _ = writeln!(f, "engine   failed: {e}");
        }
        (None, None) => f.push_str("engine   (not run)\n"),
    }
    if v.agree {
        f.push_str("AGREE\n");
    } else {
        f.push_str("DISAGREE\n");
        if let Some(c) = &v.comparison {
            for d in &c.divergences {
                let _ = writeln!(f, "  {}", divergence(&v.ruleset, d));
            }
        }
    }
    if let Some(c) = &v.comparison {
        f.push_str("\npath\n");
        f.push_str(&side_by_side(&v.ruleset, c));
    } else {
        f.push_str("\nkernel path\n");
        f.push_str(&kernel_walk(&v.kernel));
    }
    if let Some(h) = &v.kernel.final_headers {
        let _ = writeln!(f, "kernel: leaves as {h}");
    }
    for (i, r) in v.kernel.responses.iter().enumerate() {
        let _ = writeln!(f, "kernel: answered with {r}{}", answer_note(&v.kernel, i));
    }
    for n in &v.notes {
        let _ = writeln!(f, "note: {n}");
    }
    f
}

/// `whyblocked verify --fix`: the remedy applied, then each packet of the exchange as
/// simulated and as the kernel handled it, and the conclusion.
pub fn render_fix_exchange(
    remedy: &analysis::remedy::Remedy,
    simulated: &analysis::remedy::exchange::Exchange,
    kernel: &[(analysis::remedy::exchange::StepRole, &Packet, &KernelWalk)],
    kernel_works: bool,
) -> String {
    use analysis::remedy::exchange::StepRole;
    let mut s = format!("{}\n", words::remedy_label(remedy));
    for step in &remedy.steps {
        let _ = writeln!(s, "  {}", words::step(step));
    }
    s.push_str("applied in the test host as the rules it makes\n");
    for rule in &remedy.kernel_rules {
        let _ = writeln!(s, "  {}", rule.command);
    }
    s.push_str("the whole exchange\n");
    let n = simulated.steps.len().max(kernel.len());
    for i in 0..n {
        let sim = simulated.steps.get(i);
        let ker = kernel.get(i);
        let role = sim.map(|x| x.role).or(ker.map(|k| k.0));
        let role = match role {
            Some(StepRole::Request) => "request",
            Some(StepRole::Reply) => "reply",
            Some(StepRole::DataForward) => "data out",
            Some(StepRole::DataBack) => "data back",
            None => "?",
        };
        let packet = sim.map(|x| &x.packet).or(ker.map(|k| k.1));
        let sim_words = match sim.map(|x| x.fate.as_ref()) {
            Some(Some(f)) => engine_fate(f),
            Some(None) => "undecided".to_string(),
            None => "(not simulated)".to_string(),
        };
        let ker_words = ker.map_or("(not sent)".to_string(), |k| words::kernel_fate(&k.2.fate));
        let _ = writeln!(
            s,
            "  {role:<9} {}\n            simulated: {sim_words}\n            kernel:    {ker_words}",
            packet.map(words::flows::packet_with_iif).unwrap_or_default()
        );
    }
    let simulated_passes = simulated.firewall_passes();
    let _ = writeln!(
        s,
        "{}",
        match (kernel_works, simulated_passes) {
            (true, true) => "VERIFIED  the whole exchange passes in the kernel, as simulated",
            (true, false) =>
                "DISAGREE  the kernel lets the whole exchange through; the simulation does not",
            (false, true) =>
                "DISAGREE  the simulation lets the whole exchange through; the kernel does not",
            (false, false) => "NOT FIXED the exchange still fails in the kernel, as simulated",
        }
    );
    if simulated.end == analysis::remedy::exchange::ExchangeEnd::NoListener {
        s.push_str("note      nothing listens on the destination port on this host: the firewall lets the connection through, but the host answers it with a reset or a port unreachable (the test host stands for a listener)\n");
    }
    s
}
