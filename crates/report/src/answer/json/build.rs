//! How the schema types are filled from the engine's trace, the ruleset and the host.

use super::{
    AssumptionJson, AssumptionKind, BaseChainJson, BranchJson, ConntrackJson, CrossTableAccept,
    CrossTableJson, CtEntryJson, CtTupleJson, Endpoint, ExchangeStepJson, FateDetail, FixJson,
    LogJson, NatJson, OwnerJson, PacketJson, PathStep, RemedyJson, ReplyJson, ResponseJson,
    RouteJson, RuleJson, RuleLoc, SenderSeesJson, StepJson, UnknownJson, WarningJson, WarningKind,
};
use crate::words;
use analysis::remedy::{Remedies, Remedy, Step};
use engine::{
    Assumption, Branch, Decider, Event, Fate, LogLine, NatRewrite, Reply, Response, RouteDecision,
    RouteKind, SenderView, Trace, TraceVerdict, UnknownChoice, Warning,
};
use model::expr::LogKind;
use model::{ChainRef, Host, Packet, RuleRef, Ruleset, L4};

pub(super) fn assumption(a: &Assumption, packet: &Packet) -> AssumptionJson {
    let kind = match a {
        Assumption::ForwardedFromSpec => AssumptionKind::ForwardedFromSpec {
            iif: packet.iif.clone(),
            oif: packet.oif.clone(),
        },
        Assumption::LocalFromSpec => AssumptionKind::LocalFromSpec {
            iif: packet.iif.clone(),
        },
        Assumption::OutputFromSpec => AssumptionKind::OutputFromSpec,
        Assumption::SysctlDefault { key, value } => AssumptionKind::SysctlDefault {
            key: key.clone(),
            value: value.clone(),
        },
        Assumption::SocketsUnknown => AssumptionKind::SocketsUnknown,
        Assumption::FirstPacketOfFlow => AssumptionKind::FirstPacketOfFlow,
        Assumption::InsideTcpWindow => AssumptionKind::InsideTcpWindow,
        Assumption::NotExpected { helper, control } => AssumptionKind::NotExpected {
            helper: helper.clone(),
            control: control.clone(),
        },
        Assumption::LocalRoutesFromAddresses { v6 } => AssumptionKind::LocalRoutesFromAddresses {
            family: if *v6 { "ip6" } else { "ip" },
        },
        Assumption::SysctlAssumed { key, value } => AssumptionKind::SysctlAssumed {
            key: key.clone(),
            value: value.clone(),
        },
        Assumption::LegacyBackendForDepth { table, depth, path } => {
            AssumptionKind::LegacyBackendForDepth {
                table: table.clone(),
                depth: *depth,
                path: path.clone(),
            }
        }
    };
    AssumptionJson {
        kind,
        text: words::assumption(a, packet),
    }
}

pub(super) fn warning(rs: &Ruleset, w: &Warning) -> WarningJson {
    let base_chain = |c: ChainRef| {
        let priority = rs
            .tables
            .get(c.table)
            .and_then(|t| t.chains.get(c.chain))
            .and_then(|ch| ch.base.as_ref())
            .map_or(0, |b| b.priority);
        base_chain_json(rs, c, priority)
    };
    let kind = match w {
        Warning::QueueAfterConntrackOnNat { at } => WarningKind::QueueAfterConntrackOnNat {
            rule: rule_json(rs, *at),
        },
        Warning::EqualPriority {
            hook,
            ran_first,
            ran_second,
        } => WarningKind::EqualPriority {
            hook: hook.to_string(),
            ran_first: base_chain(*ran_first),
            ran_second: base_chain(*ran_second),
        },
        Warning::AnswerStopped { by } => WarningKind::AnswerStopped {
            decided_by: decided_by(by).to_string(),
            rule: decider_json(rs, by),
        },
        Warning::AnswerUncertain => WarningKind::AnswerUncertain,
        Warning::QueueAssumedListening { num, bypass } => WarningKind::QueueAssumedListening {
            queue: *num,
            bypass: *bypass,
        },
        Warning::BridgeNotSimulated { table, iif } => WarningKind::BridgeNotSimulated {
            table: table.clone(),
            iif: iif.clone(),
        },
        Warning::FlowOffload { at, flowtable } => WarningKind::FlowOffload {
            rule: rule_json(rs, *at),
            flowtable: flowtable.clone(),
        },
        Warning::SetUpdated { at, set } => WarningKind::SetUpdated {
            rule: rule_json(rs, *at),
            set: set.clone(),
        },
        Warning::DynamicSetRead { set } => WarningKind::DynamicSetRead { set: set.clone() },
        Warning::HelperAssigned { helper } => WarningKind::HelperAssigned {
            helper: helper.clone(),
        },
        Warning::NatOutsideNatChain { kind } => WarningKind::NatOutsideNatChain {
            nat: kind.to_string(),
        },
        Warning::NatWrongHook { kind, hook } => WarningKind::NatWrongHook {
            nat: kind.to_string(),
            hook: hook.to_string(),
        },
        Warning::NatNoInterfaceAddress { kind } => WarningKind::NatNoInterfaceAddress {
            nat: kind.to_string(),
        },
        Warning::NatAddressesUnknown { kind } => WarningKind::NatAddressesUnknown {
            nat: kind.to_string(),
        },
        Warning::NatRangeFirstShown { kind } => WarningKind::NatRangeFirstShown {
            nat: kind.to_string(),
        },
        Warning::ConntrackTableFull => WarningKind::ConntrackTableFull,
        Warning::IcmpErrorAssumedRelated => WarningKind::IcmpErrorAssumedRelated,
    };
    WarningJson {
        kind,
        text: words::warning(rs, w),
    }
}

pub(super) fn base_chain_json(rs: &Ruleset, c: ChainRef, priority: i32) -> BaseChainJson {
    BaseChainJson {
        table: rs
            .tables
            .get(c.table)
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        family: rs
            .tables
            .get(c.table)
            .map(|t| t.family.to_string())
            .unwrap_or_default(),
        chain: words::chain_name(rs, c),
        priority,
    }
}

pub(super) fn cross_table(rs: &Ruleset, x: &analysis::CrossTable, trace: &Trace) -> CrossTableJson {
    CrossTableJson {
        hook: x.hook.to_string(),
        accepted_by: x
            .accepted
            .iter()
            .map(|a| CrossTableAccept {
                base_chain: base_chain_json(rs, a.base, a.priority),
                rule: rule_json(rs, a.rule),
            })
            .collect(),
        decided_in: base_chain_json(rs, x.decided_in, x.decided_priority),
        text: words::cross_table(rs, x, &trace.fate),
    }
}

pub(crate) fn packet(p: &Packet) -> PacketJson {
    let ports = p.l4.ports();
    let (icmp_type, icmp_code) = match p.l4 {
        L4::Icmp {
            icmp_type, code, ..
        }
        | L4::Icmpv6 {
            icmp_type, code, ..
        } => (Some(icmp_type), Some(code)),
        _ => (None, None),
    };
    PacketJson {
        family: if p.is_ipv6() { "ip6" } else { "ip" }.to_string(),
        proto: p.proto().to_string(),
        src: p.src.to_string(),
        dst: p.dst.to_string(),
        sport: ports.map(|x| x.0),
        dport: ports.map(|x| x.1),
        tcp_flags: match p.l4 {
            L4::Tcp { flags, .. } => Some(flags.to_string()),
            _ => None,
        },
        icmp_type,
        icmp_code,
        iif: p.iif.clone(),
        oif: p.oif.clone(),
        mark: p.mark,
        ttl: p.ttl,
        len: p.len,
        text: p.to_string(),
    }
}

pub(super) fn fate_detail(f: &Fate) -> FateDetail {
    let mut d = FateDetail {
        text: words::fate_sentence(f),
        ..FateDetail::default()
    };
    match f {
        Fate::Delivered { listener } => {
            d.listener = Some(
                match listener {
                    engine::Listener::Open(_) => "open",
                    engine::Listener::Closed => "closed",
                    engine::Listener::Unknown => "unknown",
                }
                .to_string(),
            )
        }
        Fate::Forwarded { oif, gateway } => {
            d.oif = Some(oif.clone());
            d.gateway = gateway.map(|g| g.to_string());
        }
        Fate::Sent { oif } => d.oif = Some(oif.clone()),
        Fate::Dropped => {}
        Fate::Rejected { with } => d.reject_with = Some(with.to_string()),
        Fate::Queued { queue } => d.queue = Some(queue.num),
        Fate::RoutingFailed { reason } => d.routing_failure = Some(words::routing_failure(reason)),
        Fate::Undetermined { reason } => d.undetermined = Some(words::undetermined(reason)),
    }
    d
}

pub(super) fn decided_by(d: &Decider) -> &'static str {
    match d {
        Decider::Rule(_) => "rule",
        Decider::Policy(_) => "policy",
        Decider::Routing => "routing",
        Decider::Stack => "stack",
        Decider::Conntrack => "conntrack",
    }
}

pub(super) fn decider_json(rs: &Ruleset, d: &Decider) -> Option<RuleJson> {
    match d {
        Decider::Rule(at) => rule_json(rs, *at),
        Decider::Policy(c) => policy_json(rs, *c),
        _ => None,
    }
}

pub(super) fn rule_json(rs: &Ruleset, at: RuleRef) -> Option<RuleJson> {
    let number = rs
        .tables
        .get(at.table)?
        .chains
        .get(at.chain)?
        .source_rule_number(at.rule);
    numbered_rule_json(rs, at, number)
}

/// [`rule_json`] for a rule whose number the caller has (counting it again walks the chain
/// from its start: once per rule of a long list would be quadratic).
fn numbered_rule_json(rs: &Ruleset, at: RuleRef, number: usize) -> Option<RuleJson> {
    let table = rs.tables.get(at.table)?;
    let chain = table.chains.get(at.chain)?;
    let o = &chain.rules.get(at.rule)?.origin;
    Some(RuleJson {
        kind: "rule".to_string(),
        table: table.name.clone(),
        family: table.family.to_string(),
        chain: chain.name.clone(),
        index: Some(number),
        file: o.file.to_string(),
        line: o.line,
        handle: o.handle,
        text: words::rule_text(&o.text).into_owned(),
        comment: o.comment.clone(),
        owner: o.owner.as_ref().map(owner),
        policy: None,
    })
}

pub(super) fn policy_json(rs: &Ruleset, at: ChainRef) -> Option<RuleJson> {
    let table = rs.tables.get(at.table)?;
    let chain = table.chains.get(at.chain)?;
    let o = &chain.origin;
    Some(RuleJson {
        kind: "policy".to_string(),
        table: table.name.clone(),
        family: table.family.to_string(),
        chain: chain.name.clone(),
        index: None,
        file: o.file.to_string(),
        line: o.line,
        handle: o.handle,
        text: words::rule_text(&o.text).into_owned(),
        comment: o.comment.clone(),
        owner: o.owner.as_ref().map(owner),
        policy: chain.base.as_ref().map(|b| b.policy.to_string()),
    })
}

pub(super) fn rule_loc(rs: &Ruleset, at: RuleRef) -> Option<RuleLoc> {
    let o = words::rule_origin(rs, at)?;
    Some(RuleLoc {
        file: o.file.to_string(),
        line: o.line,
        text: words::rule_text(&o.text).into_owned(),
        index: words::rule_number(rs, at),
        handle: o.handle,
        owner: o.owner.as_ref().map(owner),
    })
}

pub(super) fn empty_step(event: &str, hook: Option<model::Hook>) -> PathStep {
    PathStep {
        event: event.to_string(),
        hook: hook.map(|h| h.to_string()),
        table: None,
        family: None,
        chain: None,
        rule: None,
        verdict: None,
        target: None,
        detail: None,
    }
}

pub(super) fn in_chain(mut s: PathStep, rs: &Ruleset, c: ChainRef) -> PathStep {
    if let Some(t) = rs.tables.get(c.table) {
        s.table = Some(t.name.clone());
        s.family = Some(t.family.to_string());
    }
    s.chain = Some(words::chain_name(rs, c));
    s
}

pub(super) fn verdict_parts(
    rs: &Ruleset,
    v: &TraceVerdict,
) -> (String, Option<String>, Option<String>) {
    match v {
        TraceVerdict::Accept => ("accept".into(), None, None),
        TraceVerdict::Drop => ("drop".into(), None, None),
        TraceVerdict::Reject(r) => ("reject".into(), None, Some(r.to_string())),
        TraceVerdict::Queue(q) => ("queue".into(), None, Some(words::queue_words(q))),
        TraceVerdict::Jump(c) => ("jump".into(), Some(words::chain_name(rs, *c)), None),
        TraceVerdict::Goto(c) => ("goto".into(), Some(words::chain_name(rs, *c)), None),
        TraceVerdict::Return => ("return".into(), None, None),
        TraceVerdict::Continue => ("continue".into(), None, None),
    }
}

/// The step with a rule's or a policy's verdict, its target and detail.
pub(super) fn with_verdict(mut s: PathStep, rs: &Ruleset, verdict: &TraceVerdict) -> PathStep {
    let (v, target, detail) = verdict_parts(rs, verdict);
    s.verdict = Some(v);
    s.target = target;
    s.detail = detail;
    s
}

pub(super) fn step(rs: &Ruleset, host: &Host, e: &Event) -> PathStep {
    match e {
        Event::Hook(h) => empty_step("hook", Some(*h)),
        Event::Rule { hook, at, verdict } => {
            let mut s = in_chain(empty_step("rule", Some(*hook)), rs, at.chain_ref());
            s.rule = rule_loc(rs, *at);
            with_verdict(s, rs, verdict)
        }
        Event::ChainEnd { hook, chain } => {
            let mut s = in_chain(empty_step("chain_end", Some(*hook)), rs, *chain);
            s.verdict = Some("return".into());
            s
        }
        Event::Policy {
            hook,
            chain,
            verdict,
        } => {
            let s = in_chain(empty_step("policy", Some(*hook)), rs, *chain);
            with_verdict(s, rs, verdict)
        }
        Event::Unknown { hook, choice } => {
            let mut s = in_chain(
                empty_step("unknown", Some(*hook)),
                rs,
                choice.site.rule.chain_ref(),
            );
            s.rule = rule_loc(rs, choice.site.rule);
            s.detail = Some(format!(
                "{}: taken as {}",
                choice.why,
                if choice.matched {
                    "matching"
                } else {
                    "not matching"
                }
            ));
            s
        }
        Event::Conntrack { hook, state, entry } => {
            let mut s = empty_step("conntrack", Some(*hook));
            let mut d = words::ct_state(*state).to_string();
            if let Some(c) = entry.and_then(|i| host.conntrack.get(i)) {
                d.push_str(&format!(": {}", c.text));
            }
            s.detail = Some(d);
            s
        }
        Event::Nat { hook, rewrite } => {
            let mut s = empty_step("nat", Some(*hook));
            if let Some(at) = rewrite.by {
                s = in_chain(s, rs, at.chain_ref());
                s.rule = rule_loc(rs, at);
            }
            s.detail = Some(words::nat(rs, rewrite));
            s
        }
        Event::Route(d) => {
            let mut s = empty_step("route", Some(d.hook));
            s.detail = Some(words::route(d, host));
            s
        }
        Event::MarkSet { hook, at, old, new } => {
            let mut s = in_chain(empty_step("mark", Some(*hook)), rs, at.chain_ref());
            s.rule = rule_loc(rs, *at);
            s.detail = Some(format!("mark {old:#x} -> {new:#x}"));
            s
        }
        Event::Note { hook, note } => {
            let mut s = empty_step("note", *hook);
            s.detail = Some(words::note(rs, note));
            s
        }
    }
}

pub(super) fn nat(rs: &Ruleset, n: &NatRewrite) -> NatJson {
    NatJson {
        kind: n.kind.to_string(),
        hook: n.hook.to_string(),
        before: Endpoint {
            addr: n.before.0.to_string(),
            port: n.before.1,
        },
        after: Endpoint {
            addr: n.after.0.to_string(),
            port: n.after.1,
        },
        rule: n.by.and_then(|at| rule_json(rs, at)),
    }
}

pub(super) fn conntrack(trace: &Trace, host: &Host) -> ConntrackJson {
    let ct = &trace.conntrack;
    let tuple = |t: &model::host::CtTuple| CtTupleJson {
        src: t.src.to_string(),
        dst: t.dst.to_string(),
        sport: t.sport,
        dport: t.dport,
    };
    ConntrackJson {
        state: ct.state.map(|s| words::ct_state(s).to_string()),
        entry: ct
            .entry
            .and_then(|i| host.conntrack.get(i))
            .map(|e| e.text.clone()),
        new_entry: ct.new_entry.as_ref().map(|(o, r)| CtEntryJson {
            original: tuple(o),
            reply: tuple(r),
        }),
        depends_on: ct.depends_on.clone(),
    }
}

pub(super) fn route(d: &RouteDecision, host: &Host) -> RouteJson {
    let (kind, oif, gateway, src, failure) = match &d.kind {
        RouteKind::Local => ("local", None, None, None, None),
        RouteKind::Forward { oif, gateway } => ("forward", Some(oif.clone()), *gateway, None, None),
        RouteKind::Output { oif, gateway, src } => {
            ("output", Some(oif.clone()), *gateway, *src, None)
        }
        RouteKind::Failed(f) => ("failed", None, None, None, Some(words::routing_failure(f))),
    };
    RouteJson {
        hook: d.hook.to_string(),
        kind: kind.to_string(),
        oif,
        gateway: gateway.map(|g| g.to_string()),
        src: src.map(|s| s.to_string()),
        table: d.table,
        rule_priority: d.rule_priority,
        route: words::route_text(d, host).map(str::to_string),
        failure,
        assumed: d.assumed,
        text: words::route(d, host),
    }
}

pub(super) fn response(r: &Response, trace: &Trace, host: &Host) -> ResponseJson {
    response_with_text(r, words::response(r, trace, host))
}

/// The JSON of a response, with its words already chosen (`trace` has no host state to
/// word it with).
pub(crate) fn response_with_text(r: &Response, text: String) -> ResponseJson {
    let (kind, icmp_type, icmp_code) = words::response_kind_code(r.kind);
    ResponseJson {
        kind: kind.to_string(),
        from: r.from.addr().map(|a| a.to_string()),
        from_route_back_via: match &r.from {
            engine::AnswerSource::RouteBack { via } => via.clone(),
            engine::AnswerSource::Addr(_) => None,
        },
        to: r.to.to_string(),
        icmp_type,
        icmp_code,
        by_stack: r.by_stack,
        text,
    }
}

pub(super) fn sender_sees(trace: &Trace, host: &Host) -> SenderSeesJson {
    let v = &trace.sender_sees;
    sender_view(
        v,
        v.response.as_ref().map(|r| response(r, trace, host)),
        words::sender_sees(trace, host),
    )
}

/// The JSON of what the sender sees, with the response and the words already made
/// (`trace` words them without host state).
pub(crate) fn sender_view(
    v: &SenderView,
    response: Option<ResponseJson>,
    text: Vec<String>,
) -> SenderSeesJson {
    SenderSeesJson {
        response,
        errno: v.errno.map(|e| e.name().to_string()),
        errno_message: v.errno.map(|e| e.message().to_string()),
        timeout_secs: v.timeout_secs,
        errno_after_secs: v.errno_after_secs,
        depends_on_listener: v.depends_on_listener,
        recv_times_out: v.recv_times_out,
        errno_on_send: v.errno_on_send,
        text,
    }
}

pub(super) fn log(rs: &Ruleset, l: &LogLine) -> LogJson {
    LogJson {
        text: l.text.clone(),
        kind: words::log_kind(l.kind).to_string(),
        group: match l.kind {
            LogKind::Kernel => None,
            LogKind::Nflog { group } | LogKind::Ulog { group } => Some(group),
        },
        rule: rule_json(rs, l.by),
        may_be_missing: l.may_be_missing.as_ref().map(|u| u.to_string()),
    }
}

pub(super) fn unknown(rs: &Ruleset, c: &UnknownChoice) -> UnknownJson {
    UnknownJson {
        rule: rule_json(rs, c.site.rule),
        step: c.site.step,
        why: c.why.to_string(),
        matched: c.matched,
        assumed_by_user: c.assumed_by_user,
    }
}

pub(super) fn branch(rs: &Ruleset, b: &Branch) -> BranchJson {
    BranchJson {
        choices: b.choices.iter().map(|c| unknown(rs, c)).collect(),
        fate: words::fate_kind(&b.trace.fate).to_string(),
        fate_detail: fate_detail(&b.trace.fate),
        decided_by: decided_by(&b.trace.decider).to_string(),
        deciding_rule: decider_json(rs, &b.trace.decider),
        text: words::branch(rs, b),
    }
}

pub(super) fn reply(r: &Reply, host: &Host) -> ReplyJson {
    ReplyJson {
        packet: packet(&r.packet),
        delivered_as: packet(&r.delivered_as),
        route_back: r.route_back.as_ref().map(|d| route(d, host)),
    }
}

pub(crate) fn fix(r: &Remedies) -> Option<FixJson> {
    let primary = r.primary()?;
    Some(FixJson {
        primary: remedy(primary),
        alternatives: r
            .ladder
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != r.primary)
            .map(|(_, x)| remedy(x))
            .collect(),
        owner: r.owner.as_ref().map(owner),
        hit_reply: r.hit_reply,
    })
}

fn remedy(r: &Remedy) -> RemedyJson {
    let passes = r
        .exchange
        .as_ref()
        .is_none_or(|x| x.steps.first().is_some_and(|s| s.passed()));
    RemedyJson {
        command: r
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Run(c) => Some(c.as_str()),
                Step::AddLine { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        breadth: words::breadth_code(r.breadth).to_string(),
        language: words::language_code(&r.language),
        steps: r.steps.iter().map(remedy_step).collect(),
        durability: match r.durability {
            analysis::remedy::Durability::Durable => "durable",
            analysis::remedy::Durability::RuntimeOnly => "runtime_only",
            analysis::remedy::Durability::LostOnReload(_) => "lost_on_reload",
        }
        .to_string(),
        kernel_rules: r.kernel_rules.iter().map(|k| k.command.clone()).collect(),
        verified: r.verified(),
        verified_exchange: r.exchange.as_ref().map(|x| {
            x.steps
                .iter()
                .map(|s| ExchangeStepJson {
                    role: words::step_role_code(s.role).to_string(),
                    packet: packet(&s.packet),
                    fate: s.fate.as_ref().map(|f| words::fate_kind(f).to_string()),
                    passed: s.passed(),
                })
                .collect()
        }),
        note: words::fix_note(&r.opens, &r.caveats, passes),
    }
}

fn remedy_step(s: &Step) -> StepJson {
    match s {
        Step::Run(c) => StepJson {
            kind: "run".into(),
            text: c.clone(),
            file: None,
            table: None,
            chain: None,
        },
        Step::AddLine {
            file,
            table,
            chain,
            line,
        } => StepJson {
            kind: "add_line".into(),
            text: line.clone(),
            file: Some(words::persistent_file(file).to_string()),
            table: Some(table.clone()),
            chain: Some(chain.clone()),
        },
    }
}

pub(super) fn owner(o: &model::Owner) -> OwnerJson {
    OwnerJson {
        tool: o.tool.to_string(),
        role: words::role_words(&o.role),
        evidence: words::owner_evidence(&o.evidence),
        rewritten_on_reload: o.rewritten_on_reload(),
    }
}

/// The typed reason of a loss: its code, the values it is made of, and the words.
pub(super) fn reason(rs: &Ruleset, c: &engine::Cause) -> super::ReasonJson {
    use engine::{Cause, RpfCheck};
    let sysctl = match c {
        Cause::RpFilter {
            check: RpfCheck::Sysctl { sysctl, .. },
            ..
        }
        | Cause::IpForwardOff { sysctl }
        | Cause::EchoIgnored { sysctl } => Some(sysctl.clone()),
        _ => None,
    };
    let lookup = match c {
        Cause::RpFilter { lookup, .. } | Cause::MartianSource { lookup } => lookup.as_ref(),
        _ => None,
    };
    super::ReasonJson {
        code: words::cause_code(c.code()).to_string(),
        sysctl,
        reverse_lookup: lookup.map(reverse_lookup),
        ct_invalid: match c {
            Cause::CtInvalid { why } => Some(words::ct_invalid_code(why).to_string()),
            _ => None,
        },
        no_helper: match c {
            Cause::NoHelper {
                helper,
                control,
                related_accept,
            } => Some(super::NoHelperJson {
                helper: helper.clone(),
                control: control.as_ref().map(|e| e.text.clone()),
                related_accept: words::rule_label(rs, *related_accept),
            }),
            _ => None,
        },
        text: words::reason(c, rs),
    }
}

fn reverse_lookup(l: &engine::ReverseLookup) -> super::ReverseLookupJson {
    use engine::{FibStepResult, RpfMiss};
    let steps = l
        .steps
        .iter()
        .map(|s| {
            let (result, table, route) = match &s.result {
                FibStepResult::NothingInTable { table } => ("nothing_in_table", Some(*table), None),
                FibStepResult::Suppressed { table, route } => {
                    ("suppressed", Some(*table), Some(words::route_seen(route)))
                }
                FibStepResult::Throw { table } => ("throw", Some(*table), None),
                FibStepResult::Found { table, route } => {
                    ("found", Some(*table), Some(words::route_seen(route)))
                }
                FibStepResult::Action(_) => ("action", None, None),
            };
            super::FibStepJson {
                priority: s.priority,
                rule: s.rule.clone(),
                result: result.to_string(),
                table,
                route,
            }
        })
        .collect();
    let (miss, via) = match &l.miss {
        RpfMiss::OtherInterface { via } => ("other_interface", via.clone()),
        RpfMiss::NoRoute => ("no_route", None),
        RpfMiss::NotUnicast => ("not_unicast", None),
    };
    super::ReverseLookupJson {
        iif: l.iif.clone(),
        addr: l.addr.to_string(),
        mark: l.mark,
        steps,
        miss: miss.to_string(),
        via,
    }
}

pub(super) fn rule_reasons(
    rs: &Ruleset,
    r: &analysis::reasons::RuleReasons,
) -> super::RuleReasonsJson {
    use super::{
        KeyPartJson, MismatchJson, MismatchKind, NearElementJson, RepeatJson, RepeatedRuleJson,
        RuleReasonsJson, SetMissJson, ShadowedJson,
    };
    use analysis::reasons::{Lookup, Mismatch};
    let key_json = |key: &[analysis::reasons::KeyPart]| -> Vec<KeyPartJson> {
        key.iter()
            .map(|k| KeyPartJson {
                field: words::key_name(k.key).to_string(),
                value: k
                    .value
                    .as_ref()
                    .map(|_| words::key_text(std::slice::from_ref(k))),
            })
            .collect()
    };
    let set_misses = r
        .set_misses
        .iter()
        .map(|m| {
            let keys: Vec<model::Key> = m.key.iter().map(|k| k.key).collect();
            let (lookup, set, flags) = match &m.lookup {
                Lookup::Set { name } => ("set", Some(name.clone()), None),
                Lookup::Ipset { name, src } => (
                    "ipset",
                    Some(name.clone()),
                    Some(words::match_set_flags(src)),
                ),
                Lookup::VerdictMap { name } => ("verdict_map", name.clone(), None),
            };
            SetMissJson {
                rule: rule_json(rs, m.rule),
                hook: m.hook.to_string(),
                lookup: lookup.to_string(),
                set,
                match_set_flags: flags,
                set_type: m.declared_type.clone(),
                elements: m.elements,
                key: key_json(&m.key),
                nearest: m
                    .nearest
                    .iter()
                    .map(|e| NearElementJson {
                        element: words::element_text(
                            &keys,
                            &analysis::reasons::NearElement {
                                verdict: None,
                                nomatch: false,
                                ..e.clone()
                            },
                        ),
                        matching: e.matching.clone(),
                        verdict: e.verdict.as_ref().map(ToString::to_string),
                        nomatch: e.nomatch,
                    })
                    .collect(),
                mismatches: m
                    .mismatches
                    .iter()
                    .map(|x| MismatchJson {
                        kind: match x {
                            Mismatch::FewerDimensions { rule, set } => {
                                MismatchKind::FewerDimensions {
                                    rule_dimensions: *rule,
                                    set_dimensions: *set,
                                }
                            }
                            Mismatch::Family { key_v6 } => MismatchKind::Family {
                                key_family: if *key_v6 { "ipv6" } else { "ipv4" }.to_string(),
                            },
                            Mismatch::OtherDirection { keys, ipset_flags } => {
                                MismatchKind::OtherDirection {
                                    fields: keys
                                        .iter()
                                        .map(|k| words::key_name(*k).to_string())
                                        .collect(),
                                    match_set_flags: ipset_flags
                                        .as_deref()
                                        .map(words::match_set_flags),
                                }
                            }
                            Mismatch::Untranslated { key } => {
                                MismatchKind::Untranslated { key: key_json(key) }
                            }
                            Mismatch::Excluded { element } => MismatchKind::Excluded {
                                element: words::element_text(
                                    &keys,
                                    &analysis::reasons::NearElement {
                                        key: element.clone(),
                                        matching: Vec::new(),
                                        verdict: None,
                                        nomatch: false,
                                    },
                                ),
                            },
                            Mismatch::Dynamic => MismatchKind::Dynamic,
                            Mismatch::Empty => MismatchKind::Empty,
                        },
                        text: words::mismatch_text(m, x),
                    })
                    .collect(),
                text: words::set_miss(rs, m),
            }
        })
        .collect();
    RuleReasonsJson {
        set_misses,
        shadowed: r
            .shadowed
            .iter()
            .map(|s| ShadowedJson {
                rule: rule_json(rs, s.rule),
                would: words::verdict_class(s.would).to_string(),
                shadowed_by: rule_json(rs, s.by),
                did: words::verdict_class(s.did).to_string(),
                hook: s.hook.to_string(),
                passes_without: s.passes_without,
                text: words::shadowed(rs, s),
            })
            .collect(),
        repeats: r
            .repeats
            .iter()
            .map(|x| RepeatJson {
                rules: x
                    .rules
                    .iter()
                    .map(|c| RepeatedRuleJson {
                        rule: numbered_rule_json(rs, c.at, c.number),
                        matched: c.matched,
                    })
                    .collect(),
                text: words::repeat(rs, x),
            })
            .collect(),
    }
}

pub(super) fn firewalld_zone(rs: &Ruleset, z: &owners::firewalld::ZoneChoice) -> super::ZoneJson {
    use owners::firewalld::ZoneWhy;
    let (why, binding) = match &z.why {
        ZoneWhy::Source { address } => ("source", Some(address.clone())),
        ZoneWhy::Interface { name } => ("interface", Some(name.clone())),
        ZoneWhy::DefaultZone => ("default_zone", None),
    };
    super::ZoneJson {
        zone: z.zone.clone(),
        why: why.to_string(),
        binding,
        config: z.config.as_ref().map(|(p, l)| format!("{p}:{l}")),
        rule: rule_json(rs, z.rule),
        text: words::firewalld_zone(rs, z),
    }
}
