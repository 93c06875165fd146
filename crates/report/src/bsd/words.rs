//! Words for the pieces every BSD answer shares: a rule by its place and number, what
//! decided a pass and why, a step of a pass, a translation. Shared by the text and JSON
//! renderers so both say the same thing.

use super::{DetectedFile, ToldBy};
use crate::words::{addr_port, response_kind};
use analysis::fix_bsd::{Breadth, BsdFix, NoFix, Placement};
use engine::bsd::path::{
    AnswerOutcome, AnswerWay, BsdAssumption, BsdFate, BsdTrace, BsdUndetermined, Leg, NotSent,
    PathKind, PlatformFact,
};
use engine::bsd::{
    BlockAnswer, Decider, Direction, Filter, Os, PassResult, PassVerdict, Rewrite, RuleId, Step,
};
use engine::Connection;
use frontends::BsdLanguage;
use model::note::DialectReason;
use model::Host;

/// `ipf`, `pf`: the filter as its own tools name it.
pub fn filter_name(f: Filter) -> &'static str {
    match f {
        Filter::Ipf => "ipf",
        Filter::Pf => "pf",
    }
}

/// `in`, `out`.
pub fn direction(d: Direction) -> &'static str {
    match d {
        Direction::In => "in",
        Direction::Out => "out",
    }
}

/// `ipf.rules:3`.
pub fn rule_place(r: &RuleId) -> String {
    format!("{}:{}", r.origin.file, r.origin.line)
}

/// `@3 in group 100` (IPFilter) / `@3 in anchor "ftp-proxy/*"` (pf): the number the filter's
/// own listing gives the rule, and where it sits; empty for the main list without a number.
pub fn rule_number(filter: Filter, r: &RuleId) -> String {
    let mut parts = Vec::new();
    if let Some(n) = r.number {
        parts.push(format!("@{n}"));
    }
    if let Some(g) = &r.group {
        parts.push(match filter {
            Filter::Ipf => format!("in group {g}"),
            Filter::Pf => format!("in anchor \"{g}\""),
        });
    }
    parts.join(" ")
}

/// `ipf.rules:3 @3 in group 100`.
pub fn rule_label(filter: Filter, r: &RuleId) -> String {
    let number = rule_number(filter, r);
    if number.is_empty() {
        rule_place(r)
    } else {
        format!("{} {number}", rule_place(r))
    }
}

/// Whether a pass's deciding rule ended the walk (`quick`) or won as the last match.
fn decided_quick(pass: &PassResult, rule: &RuleId) -> Option<bool> {
    pass.steps.iter().rev().find_map(|s| match s {
        Step::Rule {
            rule: r,
            matched: Some(true),
            remembered,
        } if r == rule => Some(!remembered),
        _ => None,
    })
}

/// The kind of decision as JSON spells it: `quick`, `last_match`, `state`, `default`,
/// `skipped`, `undetermined`.
pub fn decision_code(pass: &PassResult) -> &'static str {
    if let PassVerdict::Undetermined { .. } = pass.verdict {
        return "undetermined";
    }
    match &pass.decider {
        Decider::Rule(r) => match decided_quick(pass, r) {
            Some(true) => "quick",
            _ => "last_match",
        },
        Decider::State { .. } => "state",
        Decider::Default => "default",
        Decider::Skipped { .. } => "skipped",
    }
}

/// Why the decider decides, in the filter's own terms.
pub fn decision_why(filter: Filter, pass: &PassResult) -> String {
    if let PassVerdict::Undetermined { on } = &pass.verdict {
        return format!("cannot be decided offline: {on}");
    }
    match &pass.decider {
        Decider::Rule(r) => match decided_quick(pass, r) {
            Some(true) => "the first matching `quick` rule: the walk ends there".to_string(),
            _ => "the last matching rule (no `quick` rule matched first, no later rule matched)"
                .to_string(),
        },
        Decider::State { created_by } => {
            let by = created_by
                .as_ref()
                .map(|r| format!(" (created by {})", rule_label(filter, r)))
                .unwrap_or_default();
            format!("a state table entry{by} matched before the rules were read")
        }
        Decider::Default => match filter {
            Filter::Ipf => "no rule matched: IPFilter's default passes (unless the kernel \
                            was built with IPFILTER_DEFAULT_BLOCK)"
                .to_string(),
            Filter::Pf => "no rule matched: pf's default passes".to_string(),
        },
        Decider::Skipped { interface } => match filter {
            Filter::Pf => format!("{interface} is not filtered (a `set skip on` option names it)"),
            Filter::Ipf => format!("{interface} is not filtered on this platform"),
        },
    }
}

/// `pass`, `block`, `block return-rst`, `block return-icmp (3/3)`, `undetermined`.
pub fn verdict(v: &PassVerdict) -> String {
    match v {
        PassVerdict::Pass => "pass".to_string(),
        PassVerdict::Block { answer: None } => "block (drop)".to_string(),
        PassVerdict::Block { answer: Some(a) } => format!("block, {}", block_answer(a)),
        PassVerdict::Undetermined { .. } => "undetermined".to_string(),
    }
}

/// `pass`, `block`, `undetermined` as JSON spells it.
pub fn verdict_code(v: &PassVerdict) -> &'static str {
    match v {
        PassVerdict::Pass => "pass",
        PassVerdict::Block { .. } => "block",
        PassVerdict::Undetermined { .. } => "undetermined",
    }
}

/// What a blocking rule asks to send back: "answering with a TCP RST".
pub fn block_answer(a: &BlockAnswer) -> String {
    match a {
        BlockAnswer::Rst => "answering with a TCP RST".to_string(),
        BlockAnswer::Icmp {
            icmp_type,
            code,
            as_dest,
        } => {
            let from = if *as_dest {
                " from the blocked packet's destination"
            } else {
                ""
            };
            format!("answering with ICMP type {icmp_type} code {code}{from}")
        }
    }
}

/// What a rule did in a pass, next to it in the path.
pub fn rule_step(
    pass: &PassResult,
    rule: &RuleId,
    matched: Option<bool>,
    remembered: bool,
) -> String {
    let decides = matches!(&pass.decider, Decider::Rule(r) if r == rule);
    match (matched, remembered, decides) {
        (None, _, _) => "cannot be decided offline".to_string(),
        (Some(false), _, _) => "no match".to_string(),
        (Some(true), false, true) => "matches, quick: decides".to_string(),
        (Some(true), true, true) => "matches, the last match: decides".to_string(),
        (Some(true), true, false) => "matches, remembered; a later match overrides it".to_string(),
        (Some(true), false, false) => "matches (does not decide)".to_string(),
    }
}

/// `destination 192.0.2.10:443 -> 10.0.0.5:8080 by ipnat.rules:1`.
pub fn rewrite(filter: Filter, r: &Rewrite) -> String {
    format!(
        "{} {} -> {} by {}",
        if r.source { "source" } else { "destination" },
        addr_port(r.before.0, r.before.1),
        addr_port(r.after.0, r.after.1),
        rule_label(filter, &r.by)
    )
}

/// One step of a pass, without the rule's text (the renderers add it).
pub fn step(filter: Filter, pass: &PassResult, s: &Step) -> String {
    match s {
        Step::Rule {
            rule,
            matched,
            remembered,
        } => rule_step(pass, rule, *matched, *remembered),
        Step::State { created_by } => match created_by {
            Some(r) => format!("state entry (created by {})", rule_label(filter, r)),
            None => "state entry".to_string(),
        },
        Step::Nat(r) => format!("translated: {}", rewrite(filter, r)),
        Step::EnterGroup { group } => match filter {
            Filter::Ipf => format!("into group {group}"),
            Filter::Pf => format!("into anchor \"{group}\""),
        },
    }
}

/// The headline word: what the connection experiences, then how.
pub fn headline(trace: &BsdTrace, connection: Connection) -> &'static str {
    match (connection, &trace.fate) {
        (Connection::Undecided, _) => "UNDECIDED",
        (Connection::Refused, _) => "REFUSED",
        (Connection::AnswerLost, _) => "ANSWER LOST",
        (_, BsdFate::Delivered { .. }) => "DELIVERED",
        (_, BsdFate::Forwarded { .. }) => "FORWARDED",
        (_, BsdFate::Sent { .. }) => "SENT",
        (_, BsdFate::NoRoute) => "NO ROUTE",
        // What the sender gets back, not what the rule asked for: a `return-rst` that
        // never reaches it is a drop to the sender.
        (_, BsdFate::Blocked { .. }) if trace.sender_sees.response.is_some() => "REJECTED",
        (_, BsdFate::Blocked { .. }) => "DROPPED",
        (_, BsdFate::Undetermined(_)) => "UNDECIDED",
    }
}

/// The headline's keyword as JSON spells the fate: `delivered`, `forwarded`, `sent`,
/// `blocked`, `no_route`, `undetermined`.
pub fn fate_code(f: &BsdFate) -> &'static str {
    match f {
        BsdFate::Delivered { .. } => "delivered",
        BsdFate::Forwarded { .. } => "forwarded",
        BsdFate::Sent { .. } => "sent",
        BsdFate::Blocked { .. } => "blocked",
        BsdFate::NoRoute => "no_route",
        BsdFate::Undetermined(_) => "undetermined",
    }
}

/// `succeeds`, `refused`, `answer_lost`, `blocked`, `undecided`.
pub fn connection_code(c: Connection) -> &'static str {
    match c {
        Connection::Succeeds => "succeeds",
        Connection::Refused => "refused",
        Connection::AnswerLost => "answer_lost",
        Connection::Blocked => "blocked",
        Connection::Undecided => "undecided",
    }
}

/// How the packet travels: "arriving on em0 for this host", "forwarded em0 -> em1".
pub fn path_kind(trace: &BsdTrace) -> String {
    let p = &trace.packet;
    let iif = p.iif.as_deref().unwrap_or("an interface not given");
    let oif = trace
        .route
        .as_ref()
        .map(|r| r.oif.as_str())
        .or(p.oif.as_deref());
    match (trace.kind, oif) {
        (PathKind::Local, _) => format!("arriving on {iif} for this host"),
        (PathKind::Forwarded, Some(oif)) => format!("forwarded {iif} -> {oif}"),
        (PathKind::Forwarded, None) => format!("arriving on {iif} to be forwarded"),
        (PathKind::Sent, Some(oif)) => format!("sent by this host out of {oif}"),
        (PathKind::Sent, None) => "sent by this host".to_string(),
        (PathKind::ToSelf, _) => {
            let lo = trace.passes.first().map_or(iif, |p| p.interface.as_str());
            format!("from this host to itself over {lo}")
        }
    }
}

/// `local`, `forwarded`, `sent`, `to_self`.
pub fn path_kind_code(k: PathKind) -> &'static str {
    match k {
        PathKind::Local => "local",
        PathKind::Forwarded => "forwarded",
        PathKind::Sent => "sent",
        PathKind::ToSelf => "to_self",
    }
}

/// The fate in a sentence.
pub fn fate_sentence(trace: &BsdTrace) -> String {
    match &trace.fate {
        BsdFate::Delivered { listener } => {
            format!(
                "delivered to this host ({})",
                crate::words::listener_words(listener)
            )
        }
        BsdFate::Forwarded { oif, gateway } => match gateway {
            Some(g) => format!("forwarded out of {oif} via {g}"),
            None => format!("forwarded out of {oif}"),
        },
        BsdFate::Sent { oif } => format!("sent out of {oif}"),
        BsdFate::Blocked { pass, .. } => match trace.passes.get(*pass) {
            Some(p) => format!("blocked {} on {}", direction(p.direction), p.interface),
            None => "blocked".to_string(),
        },
        BsdFate::NoRoute => "no route to the destination".to_string(),
        BsdFate::Undetermined(u) => undetermined(trace, u),
    }
}

/// Why the simulation cannot say.
pub fn undetermined(trace: &BsdTrace, u: &BsdUndetermined) -> String {
    match u {
        BsdUndetermined::Pass { pass, on } => match trace.passes.get(*pass) {
            Some(p) => format!(
                "the pass {} on {} cannot be decided offline: {on}",
                direction(p.direction),
                p.interface
            ),
            None => format!("a pass cannot be decided offline: {on}"),
        },
        BsdUndetermined::NoInterface => "the interface the packet leaves by is not known (no \
                                         host routes or addresses, no `out IF` in the packet)"
            .to_string(),
    }
}

/// What became of the answer a blocking rule asked for.
pub fn answer_way(a: &AnswerWay) -> String {
    let asked = match a.asked {
        BlockAnswer::Rst => "a TCP RST".to_string(),
        BlockAnswer::Icmp {
            icmp_type, code, ..
        } => format!("an ICMP error (type {icmp_type} code {code})"),
    };
    let what = match &a.outcome {
        AnswerOutcome::Sent(r) => format!("sent: {}", response_kind(r.kind)),
        AnswerOutcome::RewrittenInPlace(r) => format!(
            "the blocked packet itself is turned into the {} on the loopback (the loopback fix)",
            response_kind(r.kind)
        ),
        AnswerOutcome::Stopped { pass, .. } => {
            format!(
                "sent, and stopped by the filter on its way in (pass {})",
                pass + 1
            )
        }
        AnswerOutcome::Uncertain { pass, .. } => format!(
            "sent; whether the filter lets it in cannot be decided (pass {})",
            pass + 1
        ),
        AnswerOutcome::NotSent(why) => format!("never sent: {}", not_sent(*why)),
    };
    format!("the rule asks for {asked}; {what}")
}

/// `sent`, `rewritten_in_place`, `stopped`, `uncertain`, `not_sent`.
pub fn answer_outcome_code(o: &AnswerOutcome) -> &'static str {
    match o {
        AnswerOutcome::Sent(_) => "sent",
        AnswerOutcome::RewrittenInPlace(_) => "rewritten_in_place",
        AnswerOutcome::Stopped { .. } => "stopped",
        AnswerOutcome::Uncertain { .. } => "uncertain",
        AnswerOutcome::NotSent(_) => "not_sent",
    }
}

/// Why a block's answer is not sent.
pub fn not_sent(n: NotSent) -> &'static str {
    match n {
        NotSent::BlockedOutbound => "IPFilter answers only packets it blocks inbound",
        NotSent::LoopbackNoNic => {
            "on the loopback the filter has no NIC to send it by, and this release does \
             not turn the packet into the answer: the block only drops"
        }
        NotSent::NotSynOrFin => "the loopback fix turns only a TCP SYN or FIN into the answer",
        NotSent::AnswerToRst => "a RST is never answered with a RST",
        NotSent::AnswerToIcmp => {
            "an ICMP error is never answered with one (IPFilter answers only ICMP queries)"
        }
        NotSent::RstForNonTcp => "`return-rst` answers TCP only",
    }
}

/// `blocked_outbound`, `loopback_no_nic`, ...
pub fn not_sent_code(n: NotSent) -> &'static str {
    match n {
        NotSent::BlockedOutbound => "blocked_outbound",
        NotSent::LoopbackNoNic => "loopback_no_nic",
        NotSent::NotSynOrFin => "not_syn_or_fin",
        NotSent::AnswerToRst => "answer_to_rst",
        NotSent::AnswerToIcmp => "answer_to_icmp",
        NotSent::RstForNonTcp => "rst_for_non_tcp",
    }
}

/// What the sender observes, one line each: the response (or silence), the errno.
pub fn sender_sees(trace: &BsdTrace, host: &Host) -> Vec<String> {
    let view = &trace.sender_sees;
    // Without a route the engine says what comes back (an ICMP error, or silence when the
    // filter stops it); an unsettled platform fact leaves the view unknown, not silent.
    let silent_no_route = view.errno.is_some() || view.recv_times_out;
    let silence = match trace.fate {
        BsdFate::Blocked { .. } => Some(crate::words::dropped(&trace.packet)),
        BsdFate::NoRoute if silent_no_route && view.response.is_none() => {
            Some(crate::words::dropped(&trace.packet))
        }
        _ => None,
    };
    let response = view
        .response
        .as_ref()
        .map(|r| crate::words::response_to(r, &trace.packet, host));
    crate::words::view_lines(view, &trace.packet, response, silence)
}

/// What had to be assumed.
pub fn assumption(a: &BsdAssumption) -> String {
    match a {
        BsdAssumption::LocalFromSpec => {
            "no host addresses given: `in IF` is taken as addressed to this host".to_string()
        }
        BsdAssumption::ForwardedFromSpec => {
            "no host addresses given: `in X out Y` is taken as forwarded from X to Y".to_string()
        }
        BsdAssumption::OutputFromSpec => {
            "no routes given: the packet is taken to leave by the packet's `out IF`".to_string()
        }
        BsdAssumption::ReplyByArrival { to, interface } => format!(
            "how a reply gets back to {to} is not in the host's routes (none given, or none \
             leads there): it is taken to leave by {interface}, the interface the packet came \
             in by"
        ),
        BsdAssumption::IpfDefaultPass => "no IPFilter rule matched a pass: IPFilter's default \
             pass is taken (the kernel as shipped; one built with IPFILTER_DEFAULT_BLOCK \
             blocks instead)"
            .to_string(),
        BsdAssumption::SocketsUnknown => {
            "listening sockets not given: whether something answers is unknown".to_string()
        }
        BsdAssumption::ForwardingAssumed { key } => {
            format!("forwarding not given: taken as on ({key}=1), as the packet implies")
        }
        BsdAssumption::SenderStackAssumed => "the sender is another host whose system was \
                                              not given: its socket call is read as this \
                                              platform's stack would return it (a Linux or \
                                              Windows client may differ)"
            .to_string(),
        BsdAssumption::DiffersByRelease { other } => format!(
            "this follows the release named with --os; on {} (the same system with or \
             without the loopback fix) the answer differs",
            other.name()
        ),
        BsdAssumption::PlatformFactUnknown(f) => format!(
            "{} is not settled by the sources read for this system: the sender's view is \
             unknown there",
            platform_fact(f)
        ),
    }
}

/// The code of an assumption in JSON.
pub fn assumption_code(a: &BsdAssumption) -> &'static str {
    match a {
        BsdAssumption::LocalFromSpec => "local_from_spec",
        BsdAssumption::ForwardedFromSpec => "forwarded_from_spec",
        BsdAssumption::OutputFromSpec => "output_from_spec",
        BsdAssumption::ReplyByArrival { .. } => "reply_by_arrival",
        BsdAssumption::IpfDefaultPass => "ipf_default_pass",
        BsdAssumption::SocketsUnknown => "sockets_unknown",
        BsdAssumption::ForwardingAssumed { .. } => "forwarding_assumed",
        BsdAssumption::PlatformFactUnknown(_) => "platform_fact_unknown",
        BsdAssumption::SenderStackAssumed => "sender_stack_assumed",
        BsdAssumption::DiffersByRelease { .. } => "differs_by_release",
    }
}

fn platform_fact(f: &PlatformFact) -> String {
    match f {
        PlatformFact::TcpIcmp { icmp_type, code } => format!(
            "what an ICMP error (type {icmp_type} code {code}) does to a connecting TCP client"
        ),
        PlatformFact::UdpIcmp { icmp_type, code } => format!(
            "what an ICMP error (type {icmp_type} code {code}) does to a connected UDP socket"
        ),
        PlatformFact::BlockedSendErrno => {
            "what the send returns when the filter blocks a packet on its way out".to_string()
        }
        PlatformFact::NoRouteError => {
            "which ICMP error a router sends back for a packet it has no route for".to_string()
        }
        PlatformFact::NoRouteSendErrno => {
            "what the socket call returns when this host has no route for its packet".to_string()
        }
    }
}

/// "the platform solaris10 (assumed: the most common system for ipf; say --os)".
pub fn platform(os: Os, assumed: bool, filter: Filter) -> String {
    if assumed {
        format!(
            "the platform is taken as {} (no --os: the most common system running {}); \
             name yours with --os",
            os.name(),
            filter_name(filter)
        )
    } else {
        format!("the platform is {} (--os)", os.name())
    }
}

/// The language of a rules file in words.
pub fn language(l: BsdLanguage) -> &'static str {
    match l {
        BsdLanguage::Ipf => "IPFilter rules (ipf.conf)",
        BsdLanguage::Ipnat => "IPFilter NAT rules (ipnat.conf)",
        BsdLanguage::Ippool => "IPFilter pools (ippool.conf)",
        BsdLanguage::Pf => "pf rules (pf.conf)",
        BsdLanguage::PfListing => "pf rules as pfctl -sr -vv lists them",
        BsdLanguage::IpfOrPf => "filter rules valid in both ipf.conf and pf.conf",
    }
}

/// `ipf`, `ipnat`, `ippool`, `pf` as JSON spells it.
pub fn language_code(l: BsdLanguage) -> &'static str {
    match l {
        BsdLanguage::Ipf => "ipf",
        BsdLanguage::Ipnat => "ipnat",
        BsdLanguage::Ippool => "ippool",
        BsdLanguage::Pf => "pf",
        BsdLanguage::PfListing => "pf_listing",
        BsdLanguage::IpfOrPf => "ipf_or_pf",
    }
}

/// "ipf.rules read as IPFilter rules (ipf.conf): line 1 `block in ...`".
pub fn detected(d: &DetectedFile) -> String {
    let how = match &d.told_by {
        ToldBy::Line(DialectReason::Line { number, text }) => {
            format!("told by line {number}: {text}")
        }
        ToldBy::Line(DialectReason::JsonObject) => "told by its JSON".to_string(),
        ToldBy::Format => "as --format says".to_string(),
        ToldBy::Platform { os } => {
            format!("its rules read the same in ipf.conf and pf.conf; {os} runs only this filter")
        }
        ToldBy::Companion { file } => format!(
            "its rules read the same in ipf.conf and pf.conf; {file}, given with it, is this \
             filter's"
        ),
    };
    format!("{} read as {} ({how})", d.file, language(d.language))
}

/// The log line with the logger that writes it: `ipmon: ...`, `pflog0: ...`.
pub fn log_line(filter: Filter, text: &str) -> String {
    match filter {
        Filter::Ipf => format!("ipmon: {text}"),
        Filter::Pf => format!("pflog0: {text}"),
    }
}

/// The leg a pass belongs to: `request`, `answer`, `reply`.
pub fn leg(l: Leg) -> &'static str {
    match l {
        Leg::Request => "request",
        Leg::Answer => "answer",
        Leg::Reply => "reply",
    }
}

/// Breadth of a fix in words.
pub fn breadth(b: Breadth) -> &'static str {
    match b {
        Breadth::Flow => "this flow: this source to this service",
        Breadth::SourceToService => "this source to the service on any address",
        Breadth::Service => "the service, for every source",
        Breadth::TableEntry => "the address in the table the rules already pass",
        Breadth::RequestRule => "what the request's rule already passes",
    }
}

/// `flow`, `source_to_service`, `service`.
pub fn breadth_code(b: Breadth) -> &'static str {
    match b {
        Breadth::Flow => "flow",
        Breadth::SourceToService => "source_to_service",
        Breadth::Service => "service",
        Breadth::TableEntry => "table_entry",
        Breadth::RequestRule => "request_rule",
    }
}

/// Where a fix goes: "insert as pf.conf:4, before the blocking `quick` rule @1".
pub fn placement(filter: Filter, fix: &BsdFix) -> String {
    let (r, where_) = match &fix.placement {
        Placement::Before(r) => (r, "before the blocking `quick` rule"),
        Placement::After(r) => (r, "after the blocking rule (the last match)"),
        Placement::KeepState(r) => {
            return format!(
                "edit {} (the rule that passed the request) to keep state: its entry passes \
                 the reply before the rules are read",
                rule_label(filter, r)
            )
        }
        Placement::TableEntry { table, addr } => {
            let (what, now) = match filter {
                Filter::Pf => (
                    format!("table <{table}>"),
                    format!("pfctl -t {table} -T add {addr}"),
                ),
                Filter::Ipf => {
                    let len = if addr.is_ipv4() { 32 } else { 128 };
                    (
                        format!("pool {table}"),
                        format!("ippool -a -m {table} -i {addr}/{len}"),
                    )
                }
            };
            return format!(
                "add {addr} to {what} where {}:{} declares it; at run time: {now}",
                fix.file, fix.line
            );
        }
    };
    let number = rule_number(filter, r);
    let number = if number.is_empty() {
        format!("(line {})", r.origin.line)
    } else {
        number
    };
    format!("insert as {}:{}, {where_} {number}", fix.file, fix.line)
}

/// What the walk with the fix showed.
pub fn proof(filter: Filter, fix: &BsdFix) -> String {
    let by = match &fix.proof.decided_by {
        Some(_) if fix.proof.by_fix => ", the fix deciding".to_string(),
        Some(r) => format!(", decided by {}", rule_label(filter, r)),
        None => String::new(),
    };
    let reply = if fix.proof.reply_passes {
        "; the reply passes back"
    } else {
        ""
    };
    format!(
        "proved: walked again with it in the file, the packet is {}{by}{reply}",
        fate_code(&fix.proof.fate)
    )
}

/// Under a fix placed in a `pfctl -sr` listing: where it goes on the host.
pub fn listing_fix() -> String {
    "the file is pfctl's listing: put the rule at the same place in the pf.conf it was \
     loaded from (or load it with pfctl -f)"
        .to_string()
}

/// Why no fix is offered.
pub fn no_fix(n: &NoFix) -> String {
    match n {
        NoFix::NotBlockedByRule => "no rule blocks the packet: nothing to fix in the rules".into(),
        NoFix::FileNotGiven { file } => {
            format!("the blocking rule is in {file}, which was not given: give it with --rules")
        }
        NoFix::Protocol => "a rule cannot name this protocol's packets more narrowly".into(),
        NoFix::NoneWorked { tried } => {
            let tried: Vec<String> = tried
                .iter()
                .map(|(t, c)| format!("`{t}` ({})", connection_code(*c)))
                .collect();
            format!(
                "no rule tried made the connection succeed: {}",
                tried.join(", ")
            )
        }
    }
}

/// A pf user or group name read without the host's passwd or group file.
pub fn unresolved_name(n: &frontends::pf::UnresolvedName) -> String {
    let (kind, file) = match n.kind {
        frontends::pf::IdKind::User => ("user", "passwd"),
        frontends::pf::IdKind::Group => ("group", "group"),
    };
    format!(
        "{}:{}: {kind} {} taken as written: no {file} file given (--host DIR/{file}), so its id \
         is unknown and the rule's {kind} test is Unknown unless the packet is forwarded \
         (no local socket: it never matches a name)",
        n.file, n.line, n.name
    )
}

/// An IPFilter rule the kernel refuses; `ipf -f` reports the failed ioctl and goes on.
pub fn not_loaded(origin: &model::Origin) -> String {
    format!(
        "{}:{}: rule not loaded: the kernel refuses it with ESRCH (no group map of its number \
         and direction); ipf -f reports the failed load and loads the other rules",
        origin.file, origin.line
    )
}

/// A file a pf rule names that was not found beside the pf.conf.
pub fn missing_file(m: &super::MissingFile) -> String {
    let what = match &m.fills {
        super::FileFills::Table(name) => format!("table <{name}>"),
        super::FileFills::Anchor(name) => format!("anchor \"{name}\""),
    };
    format!(
        "{}:{}: {what} reads \"{}\", not found beside the pf.conf: its contents are Unknown, \
         not empty (copy the host's file there under its name)",
        m.origin.file, m.origin.line, m.file
    )
}

/// The JSON code of a [`super::MissingFile`].
pub fn missing_file_code(m: &super::MissingFile) -> &'static str {
    match m.fills {
        super::FileFills::Table(_) => "table_file_missing",
        super::FileFills::Anchor(_) => "anchor_file_missing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Origin;

    fn rule(line: u32, number: Option<u32>, group: Option<&str>) -> RuleId {
        RuleId {
            origin: Origin {
                file: "ipf.rules".into(),
                line,
                text: "block in quick all".into(),
                ..Origin::default()
            },
            number,
            group: group.map(Into::into),
        }
    }

    fn pass(decider: Decider, steps: Vec<Step>) -> PassResult {
        PassResult {
            verdict: PassVerdict::Pass,
            decider,
            packet: frontends::packet_spec::parse(&[
                "tcp".into(),
                "1.1.1.1:1".into(),
                "2.2.2.2:2".into(),
            ])
            .unwrap()
            .into_packet(),
            steps,
            logs: Vec::new(),
            keeps_state: false,
        }
    }

    #[test]
    fn a_rule_is_named_by_its_place_number_and_group_or_anchor() {
        let r = rule(3, Some(2), Some("100"));
        assert_eq!(rule_label(Filter::Ipf, &r), "ipf.rules:3 @2 in group 100");
        assert_eq!(
            rule_label(Filter::Pf, &r),
            "ipf.rules:3 @2 in anchor \"100\""
        );
        assert_eq!(rule_label(Filter::Pf, &rule(7, None, None)), "ipf.rules:7");
    }

    #[test]
    fn why_a_pass_is_decided_follows_quick_and_last_match() {
        let r = rule(3, Some(2), None);
        let quick = pass(
            Decider::Rule(r.clone()),
            vec![Step::Rule {
                rule: r.clone(),
                matched: Some(true),
                remembered: false,
            }],
        );
        assert_eq!(decision_code(&quick), "quick");
        assert_eq!(
            rule_step(&quick, &r, Some(true), false),
            "matches, quick: decides"
        );
        let last = pass(
            Decider::Rule(r.clone()),
            vec![Step::Rule {
                rule: r.clone(),
                matched: Some(true),
                remembered: true,
            }],
        );
        assert_eq!(decision_code(&last), "last_match");
        assert!(decision_why(Filter::Ipf, &last).starts_with("the last matching rule"));
        let other = rule(9, None, None);
        assert_eq!(
            rule_step(&last, &other, Some(true), true),
            "matches, remembered; a later match overrides it"
        );
        assert_eq!(
            rule_step(&last, &other, None, false),
            "cannot be decided offline"
        );
        let skipped = pass(
            Decider::Skipped {
                interface: "lo0".into(),
            },
            Vec::new(),
        );
        assert_eq!(
            decision_why(Filter::Pf, &skipped),
            "lo0 is not filtered (a `set skip on` option names it)"
        );
        assert!(
            decision_why(Filter::Ipf, &pass(Decider::Default, Vec::new()))
                .contains("IPFILTER_DEFAULT_BLOCK")
        );
    }
}
