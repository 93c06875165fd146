//! The BSD answer's `--json` document: its own schema, built from the path's trace but
//! separate from it (see the crate's conventions); [`SCHEMA_VERSION`] bumps on any change
//! that is not purely additive. Packets, responses and the sender's view use the Linux
//! answer's shapes.

use super::words as w;
use super::BsdAnswer;
use crate::answer::json::{
    packet_json, response_with_text, sender_view, PacketJson, SenderSeesJson,
};
use engine::bsd::path::{BsdFate, BsdTrace, PassStep};
use engine::bsd::{Decider, Filter, RuleId, Step};
use serde::Serialize;
use std::io::{self, Write};

/// Version of this schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole BSD answer.
#[derive(Debug, Clone, Serialize)]
pub struct BsdReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `ipf` or `pf`.
    pub filter: String,
    /// The platform (`--os` names).
    pub os: String,
    /// No `--os` was given: the platform was assumed.
    pub os_assumed: bool,
    /// The packet as given.
    pub packet: PacketJson,
    /// `local`, `forwarded`, `sent`, `to_self`.
    pub path_kind: String,
    /// `delivered`, `forwarded`, `sent`, `blocked`, `no_route`, `undetermined`.
    pub fate: String,
    /// The fate in words.
    pub fate_text: String,
    /// `succeeds`, `refused`, `answer_lost`, `blocked`, `undecided`: the exit status
    /// follows it (0, 1, 1, 1, 3).
    pub connection: String,
    /// The headline word (`DROPPED`, `REJECTED`, ...).
    pub headline: String,
    /// The rule that blocked (or could not be decided); `null` when none did.
    pub deciding_rule: Option<RuleJson>,
    /// How the blocking (or undecided) pass was decided: `quick`, `last_match`, `state`,
    /// `default`, `skipped`, `undetermined`; `null` when the packet passed.
    pub decided_by: Option<String>,
    /// What became of the answer a blocking rule asked for; `null` when none was asked.
    pub answer: Option<AnswerJson>,
    /// The reply's way back, for a passed packet.
    pub reply: Option<ReplyJson>,
    /// Address translations, in order.
    pub nat: Vec<NatJson>,
    /// What the sender observes.
    pub sender_sees: SenderSeesJson,
    /// The lines the host's logger writes (`ipmon`, `pflog0`).
    pub logs: Vec<LogJson>,
    /// How each rules file was read.
    pub read_as: Vec<ReadAsJson>,
    /// What was assumed.
    pub assumptions: Vec<AssumptionJson>,
    /// IPFilter rules the kernel refuses to load (`ipf -f` reports each, loads the rest).
    pub not_loaded: Vec<NotLoadedJson>,
    /// Every pass, in order.
    pub path: Vec<PassJson>,
    /// The fixes, proved; empty when none was searched for or found.
    pub fixes: Vec<FixJson>,
    /// Why no fix is offered, when the exchange is blocked and none is.
    pub no_fix: Option<String>,
}

/// A rule the kernel refuses to load.
#[derive(Debug, Clone, Serialize)]
pub struct NotLoadedJson {
    /// Its file.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// Why: `group_map_missing` (`ipf_grpmapinit`, ESRCH).
    pub code: String,
    /// The sentence.
    pub text: String,
}

/// A rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleJson {
    pub file: String,
    pub line: u32,
    /// The rule as written.
    pub text: String,
    /// The filter's own number (`@3`), when it has one.
    pub number: Option<u32>,
    /// IPFilter group or pf anchor holding it; `null` for the main list.
    pub group: Option<String>,
}

/// A block's answer.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerJson {
    /// `sent`, `rewritten_in_place`, `stopped`, `uncertain`, `not_sent`.
    pub outcome: String,
    /// Why it was not sent (`loopback_no_nic`, ...); `null` otherwise.
    pub not_sent: Option<String>,
    pub text: String,
}

/// The reply's way back.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyJson {
    pub packet: PacketJson,
    /// Index into `path` of the pass that blocked it.
    pub blocked_at: Option<usize>,
    /// Index into `path` of the pass that could not be decided.
    pub undecided_at: Option<usize>,
}

/// A translation.
#[derive(Debug, Clone, Serialize)]
pub struct NatJson {
    /// `source` or `destination`.
    pub rewrites: String,
    pub before: String,
    pub after: String,
    pub by: RuleJson,
}

/// A log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogJson {
    /// `ipmon` or `pflog`.
    pub logger: String,
    /// Exactly as the logger prints it, without a timestamp.
    pub text: String,
    pub by: RuleJson,
}

/// How a rules file was read.
#[derive(Debug, Clone, Serialize)]
pub struct ReadAsJson {
    pub file: String,
    /// `ipf`, `ipnat`, `ippool`, `pf`, `pf_listing`.
    pub language: String,
    pub text: String,
}

/// An assumption.
#[derive(Debug, Clone, Serialize)]
pub struct AssumptionJson {
    /// `os_assumed`, `local_from_spec`, `sockets_unknown`, ...
    pub code: String,
    pub text: String,
}

/// One pass.
#[derive(Debug, Clone, Serialize)]
pub struct PassJson {
    /// `request`, `answer`, `reply`.
    pub leg: String,
    /// `in` or `out`.
    pub direction: String,
    pub interface: String,
    /// `pass`, `block`, `undetermined`.
    pub verdict: String,
    /// `quick`, `last_match`, `state`, `default`, `skipped`, `undetermined`.
    pub decided_by: String,
    /// The deciding rule, when a rule decided.
    pub rule: Option<RuleJson>,
    /// Whether the pass created a state entry.
    pub keeps_state: bool,
    pub steps: Vec<StepJson>,
}

/// One step of a pass.
#[derive(Debug, Clone, Serialize)]
pub struct StepJson {
    /// `rule`, `state`, `nat`, `group`.
    pub kind: String,
    pub rule: Option<RuleJson>,
    /// For a rule: whether it matched (`null`: cannot be decided offline).
    pub matched: Option<bool>,
    /// For a matching rule without `quick`: remembered until a later match.
    pub remembered: bool,
    pub text: String,
}

/// A proved fix.
#[derive(Debug, Clone, Serialize)]
pub struct FixJson {
    /// `flow`, `source_to_service`, `service`, `table_entry`, `request_rule`.
    pub breadth: String,
    /// The rule as the admin types it.
    pub rule: String,
    pub file: String,
    /// Its line in the fixed file.
    pub line: u32,
    /// `before` (a `quick` rule before the blocking one), `after` (after the blocking
    /// last match), `table_entry` (`rule` is then the table's declaration with the
    /// address in it) or `keep_state` (`rule` is the request's rule, edited in place, when
    /// the reply was blocked).
    pub placement: String,
    /// The fate with the fix in place.
    pub proved_fate: String,
    /// The reply passes back with it.
    pub reply_passes: bool,
    /// The fix itself decides the pass the packet was blocked in.
    pub decided_by_fix: bool,
    pub text: Vec<String>,
}

fn rule(r: &RuleId) -> RuleJson {
    RuleJson {
        file: r.origin.file.to_string(),
        line: r.origin.line,
        text: r.origin.text.to_string(),
        number: r.number,
        group: r.group.as_deref().map(str::to_string),
    }
}

fn pass(filter: Filter, p: &PassStep) -> PassJson {
    PassJson {
        leg: w::leg(p.leg).to_string(),
        direction: w::direction(p.direction).to_string(),
        interface: p.interface.clone(),
        verdict: w::verdict_code(&p.result.verdict).to_string(),
        decided_by: w::decision_code(&p.result).to_string(),
        rule: match &p.result.decider {
            Decider::Rule(r) => Some(rule(r)),
            _ => None,
        },
        keeps_state: p.result.keeps_state,
        steps: p
            .result
            .steps
            .iter()
            .map(|s| {
                let (kind, r, matched, remembered) = match s {
                    Step::Rule {
                        rule: r,
                        matched,
                        remembered,
                    } => ("rule", Some(rule(r)), *matched, *remembered),
                    Step::State { created_by } => {
                        ("state", created_by.as_ref().map(rule), None, false)
                    }
                    Step::Nat(n) => ("nat", Some(rule(&n.by)), None, false),
                    Step::EnterGroup { .. } => ("group", None, None, false),
                };
                StepJson {
                    kind: kind.to_string(),
                    rule: r,
                    matched,
                    remembered,
                    text: w::step(filter, &p.result, s),
                }
            })
            .collect(),
    }
}

/// The pass that decided the fate, when one did not pass it.
fn deciding_pass(trace: &BsdTrace) -> Option<&PassStep> {
    match &trace.fate {
        BsdFate::Blocked { pass, .. } => trace.passes.get(*pass),
        BsdFate::Undetermined(engine::bsd::path::BsdUndetermined::Pass { pass, .. }) => {
            trace.passes.get(*pass)
        }
        _ => None,
    }
}

/// The document for `a`.
pub fn build(a: &BsdAnswer<'_>) -> BsdReport {
    let trace = a.trace;
    let deciding = deciding_pass(trace);
    let mut assumptions = Vec::new();
    if a.os_assumed {
        assumptions.push(AssumptionJson {
            code: "os_assumed".into(),
            text: w::platform(a.platform.os, true, a.filter),
        });
    }
    assumptions.extend(trace.assumptions.iter().map(|x| AssumptionJson {
        code: w::assumption_code(x).into(),
        text: w::assumption(x),
    }));
    assumptions.extend(a.loaded.unresolved_names.iter().map(|n| {
        AssumptionJson {
            code: match n.kind {
                frontends::pf::IdKind::User => "user_unresolved",
                frontends::pf::IdKind::Group => "group_unresolved",
            }
            .into(),
            text: w::unresolved_name(n),
        }
    }));
    assumptions.extend(a.loaded.missing_files.iter().map(|m| AssumptionJson {
        code: w::missing_file_code(m).into(),
        text: w::missing_file(m),
    }));
    let not_loaded = a
        .loaded
        .not_loaded
        .iter()
        .map(|o| NotLoadedJson {
            file: o.file.to_string(),
            line: o.line,
            code: "group_map_missing".into(),
            text: w::not_loaded(o),
        })
        .collect();
    let response = trace
        .sender_sees
        .response
        .as_ref()
        .map(|r| response_with_text(r, crate::words::response_to(r, &trace.packet, a.host)));
    BsdReport {
        schema_version: SCHEMA_VERSION,
        filter: w::filter_name(a.filter).into(),
        os: a.platform.os.name().into(),
        os_assumed: a.os_assumed,
        packet: packet_json(&trace.packet),
        path_kind: w::path_kind_code(trace.kind).into(),
        fate: w::fate_code(&trace.fate).into(),
        fate_text: w::fate_sentence(trace),
        connection: w::connection_code(a.connection).into(),
        headline: w::headline(trace, a.connection).into(),
        deciding_rule: deciding.and_then(|p| match &p.result.decider {
            Decider::Rule(r) => Some(rule(r)),
            _ => None,
        }),
        decided_by: deciding.map(|p| w::decision_code(&p.result).into()),
        answer: trace.answer.as_ref().map(|x| AnswerJson {
            outcome: w::answer_outcome_code(&x.outcome).into(),
            not_sent: match &x.outcome {
                engine::bsd::path::AnswerOutcome::NotSent(n) => Some(w::not_sent_code(*n).into()),
                _ => None,
            },
            text: w::answer_way(x),
        }),
        reply: trace.reply.as_ref().map(|r| ReplyJson {
            packet: packet_json(&r.packet),
            blocked_at: r.blocked_at,
            undecided_at: r.undecided_at,
        }),
        nat: trace
            .passes
            .iter()
            .flat_map(|p| p.result.steps.iter())
            .filter_map(|s| match s {
                Step::Nat(n) => Some(NatJson {
                    rewrites: if n.source { "source" } else { "destination" }.into(),
                    before: crate::words::addr_port(n.before.0, n.before.1),
                    after: crate::words::addr_port(n.after.0, n.after.1),
                    by: rule(&n.by),
                }),
                _ => None,
            })
            .collect(),
        sender_sees: sender_view(&trace.sender_sees, response, w::sender_sees(trace, a.host)),
        logs: trace
            .logs
            .iter()
            .map(|l| LogJson {
                logger: match a.filter {
                    Filter::Ipf => "ipmon",
                    Filter::Pf => "pflog",
                }
                .into(),
                text: l.text.clone(),
                by: rule(&l.by),
            })
            .collect(),
        read_as: a
            .detected
            .iter()
            .map(|d| ReadAsJson {
                file: d.file.clone(),
                language: w::language_code(d.language).into(),
                text: w::detected(d),
            })
            .collect(),
        assumptions,
        not_loaded,
        path: trace.passes.iter().map(|p| pass(a.filter, p)).collect(),
        fixes: a
            .fixes
            .map(|f| {
                f.fixes
                    .iter()
                    .map(|fix| FixJson {
                        breadth: w::breadth_code(fix.breadth).into(),
                        rule: fix.text.clone(),
                        file: fix.file.to_string(),
                        line: fix.line,
                        placement: match fix.placement {
                            analysis::fix_bsd::Placement::Before(_) => "before",
                            analysis::fix_bsd::Placement::After(_) => "after",
                            analysis::fix_bsd::Placement::TableEntry { .. } => "table_entry",
                            analysis::fix_bsd::Placement::KeepState(_) => "keep_state",
                        }
                        .into(),
                        proved_fate: w::fate_code(&fix.proof.fate).into(),
                        reply_passes: fix.proof.reply_passes,
                        decided_by_fix: fix.proof.by_fix,
                        text: vec![w::placement(a.filter, fix), w::proof(a.filter, fix)],
                    })
                    .collect()
            })
            .unwrap_or_default(),
        no_fix: a.fixes.and_then(|f| f.none.as_ref()).map(w::no_fix),
    }
}

/// Writes the document, pretty-printed, with a final newline.
pub fn render<W: Write>(out: &mut W, a: &BsdAnswer<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(a))?;
    writeln!(out)
}
