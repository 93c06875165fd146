//! The human BSD answer: the verdict first, then the path.
//!
//! ```text
//! DROPPED  tcp 127.0.0.1:40000 -> 127.0.0.1:22 [SYN], from this host to itself over lo0  [solaris10, ipf]
//!   deciding rule  ipf.rules:2 @2
//!                  block return-rst in quick on lo0 proto tcp from any to any port = 22
//!   why            the first matching `quick` rule: the walk ends there
//!   ...
//! path
//!   request  out on lo0   pass (no rule matched: IPFilter's default passes ...)
//! ```

use super::words as w;
use super::BsdAnswer;
use crate::answer::text::{Painter, Section, Style};
use crate::TextOptions;
use engine::bsd::path::BsdFate;
use engine::bsd::{Decider, Step};
use engine::Connection;
use std::io::{self, Write};

/// Writes the answer to `out`.
pub fn render<W: Write>(out: &mut W, a: &BsdAnswer<'_>, options: &TextOptions) -> io::Result<()> {
    let p = Painter {
        color: options.color,
    };
    let trace = a.trace;
    let style = match a.connection {
        Connection::Succeeds => Style::Green,
        Connection::Undecided => Style::Yellow,
        _ => Style::Red,
    };
    writeln!(
        out,
        "{}  {}, {}  [{}, {}]",
        p.paint(w::headline(trace, a.connection), style),
        p.paint(&crate::words::packet(&trace.packet), Style::Bold),
        w::path_kind(trace),
        a.platform.os.name(),
        w::filter_name(a.filter)
    )?;
    let mut s = Section { w: out, p: &p };
    // The deciding pass: the one that blocked, else each pass of the request.
    let deciding: Vec<_> = match &trace.fate {
        BsdFate::Blocked { pass, .. } => trace.passes.get(*pass).into_iter().collect(),
        BsdFate::Undetermined(engine::bsd::path::BsdUndetermined::Pass { pass, .. }) => {
            trace.passes.get(*pass).into_iter().collect()
        }
        _ => trace
            .passes
            .iter()
            .filter(|p| p.leg == engine::bsd::path::Leg::Request)
            .collect(),
    };
    let label = if trace.fate.passed() {
        "passed by"
    } else {
        "deciding rule"
    };
    for pass in &deciding {
        let at = format!("{} on {}", w::direction(pass.direction), pass.interface);
        let undetermined = matches!(
            pass.result.verdict,
            engine::bsd::PassVerdict::Undetermined { .. }
        );
        match &pass.result.decider {
            // The fate line says why it cannot be decided.
            Decider::Rule(r) if undetermined => {
                s.field(
                    "undecided at",
                    [
                        format!("{}  ({at})", w::rule_label(a.filter, r)),
                        r.origin.text.to_string(),
                    ],
                )?;
                continue;
            }
            Decider::Rule(r) => {
                s.field(
                    label,
                    [
                        format!("{}  ({at})", w::rule_label(a.filter, r)),
                        r.origin.text.to_string(),
                    ],
                )?;
            }
            Decider::State { .. } => s.field("decided by", [format!("state ({at})")])?,
            Decider::Default => s.field("decided by", [format!("no rule ({at})")])?,
            Decider::Skipped { .. } => s.field("decided by", [format!("not filtered ({at})")])?,
        }
        s.field("why", [w::decision_why(a.filter, &pass.result)])?;
    }
    s.field("fate", [w::fate_sentence(trace)])?;
    if let Some(answer) = &trace.answer {
        s.field("answer", [w::answer_way(answer)])?;
    }
    if let Some(reply) = &trace.reply {
        if let Some(at) = reply.blocked_at.and_then(|i| trace.passes.get(i)) {
            let by = match &at.result.decider {
                Decider::Rule(r) => format!(" by {}", w::rule_label(a.filter, r)),
                _ => String::new(),
            };
            s.field(
                "reply",
                [format!(
                    "{} is blocked {} on {}{by}",
                    crate::words::packet(&reply.packet),
                    w::direction(at.direction),
                    at.interface
                )],
            )?;
        }
    }
    let nat: Vec<String> = trace
        .passes
        .iter()
        .flat_map(|p| p.result.steps.iter())
        .filter_map(|s| match s {
            Step::Nat(r) => Some(w::rewrite(a.filter, r)),
            _ => None,
        })
        .collect();
    if !nat.is_empty() {
        s.field("translated", nat)?;
    }
    let sees = w::sender_sees(trace, a.host);
    if !sees.is_empty() {
        s.field("sender sees", sees)?;
    }
    if !trace.logs.is_empty() {
        s.field(
            "logged",
            trace.logs.iter().map(|l| w::log_line(a.filter, &l.text)),
        )?;
    }
    s.field("read as", a.detected.iter().map(w::detected))?;
    if !a.loaded.not_loaded.is_empty() {
        s.field("not loaded", a.loaded.not_loaded.iter().map(w::not_loaded))?;
    }
    let mut assumed = vec![w::platform(a.platform.os, a.os_assumed, a.filter)];
    assumed.extend(trace.assumptions.iter().map(w::assumption));
    assumed.extend(a.loaded.unresolved_names.iter().map(w::unresolved_name));
    assumed.extend(a.loaded.missing_files.iter().map(w::missing_file));
    s.field("assumed", assumed)?;
    if let Some(fixes) = a.fixes {
        if let Some(none) = &fixes.none {
            s.field("fix", [w::no_fix(none)])?;
        }
        for (i, fix) in fixes.fixes.iter().enumerate() {
            let label = if i == 0 { "fix" } else { "or" };
            s.field(
                label,
                [
                    fix.text.clone(),
                    format!(
                        "{}; {}",
                        w::breadth(fix.breadth),
                        w::placement(a.filter, fix)
                    ),
                    w::proof(a.filter, fix),
                ],
            )?;
            let listed = a
                .detected
                .iter()
                .any(|d| *d.file == *fix.file && d.language == frontends::BsdLanguage::PfListing);
            if listed {
                s.field("", [w::listing_fix()])?;
            }
        }
    }

    let out = s.w;
    writeln!(out)?;
    writeln!(out, "{}", p.paint("path", Style::Bold))?;
    for pass in &trace.passes {
        writeln!(
            out,
            "  {:<8} {:<3} on {:<8} {}: {}",
            w::leg(pass.leg),
            w::direction(pass.direction),
            pass.interface,
            w::verdict(&pass.result.verdict),
            w::decision_why(a.filter, &pass.result)
        )?;
        for step in &pass.result.steps {
            let text = match step {
                Step::Rule { rule, .. } => format!(
                    "{}  {}",
                    p.paint(&w::rule_label(a.filter, rule), Style::Dim),
                    rule.origin.text
                ),
                _ => String::new(),
            };
            let what = w::step(a.filter, &pass.result, step);
            if text.is_empty() {
                writeln!(out, "           {what}")?;
            } else {
                writeln!(out, "           {text}  -> {what}")?;
            }
        }
    }
    Ok(())
}
