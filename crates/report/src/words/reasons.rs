//! Words for the reason of a loss that is not a plain rule ([`Cause`]), the reverse lookup
//! of a reverse-path check, why conntrack found a packet INVALID, and where an answer comes
//! from when the host's addresses were not given.
//!
//! Every cause has a typed code; JSON's `reason.code` is [`cause_code`]'s name:
//!
//! | code                  | what happened                                                     |
//! |-----------------------|-------------------------------------------------------------------|
//! | `rp_filter`           | a reverse-path check failed (the `rp_filter` sysctl, `-m rpfilter`, nft `fib saddr . iif oif missing`): the route back to the source does not leave by the arrival interface; the lookup is shown step by step |
//! | `no_route`            | no route to the destination (or an `ip rule ... unreachable`)      |
//! | `blackhole`           | a `blackhole` route or rule: dropped silently                      |
//! | `unreachable`         | an `unreachable` route: ICMP host unreachable                      |
//! | `prohibit`            | a `prohibit` route or rule: ICMP administratively prohibited       |
//! | `ip_forward_off`      | forwarding is off (`net.ipv4.conf.IFACE.forwarding`, `net.ipv6.conf.all.forwarding`) |
//! | `ct_invalid`          | conntrack found the packet INVALID (a SYN/ACK, RST, FIN or ACK with no entry, bad TCP flags, an ICMP error about an unknown flow, ...) and a rule on the state stopped it |
//! | `ct_table_full`       | the conntrack table is full: a new connection is dropped           |
//! | `no_helper`           | a helper protocol's data connection (FTP, TFTP) is NEW because no conntrack helper is assigned to its control connection, and the path accepts RELATED but not NEW; the ground is the control connection's entry in the host's table, or active FTP's source port 20 |
//! | `martian_source`      | a source address the kernel never accepts from the wire            |
//! | `martian_destination` | a destination address the kernel never routes from the wire       |
//! | `ttl_exceeded`        | the TTL (hop limit) ran out while forwarding                       |
//! | `not_unicast_frame`   | a link-layer broadcast or multicast frame is never forwarded      |
//! | `no_listener`         | accepted, but nothing listens on the port: the stack refuses       |
//! | `echo_ignored`        | an echo request this host ignores (`icmp_echo_ignore_all`)         |
//!
//! Out of window never arises: the packet model carries no sequence numbers, so a packet
//! that belongs to an entry of the host's table is taken as inside the window
//! (`tcp_in_window` is not simulated) and gets the entry's state. The kernel would leave a
//! segment outside the window INVALID (unless `nf_conntrack_tcp_be_liberal` is 1); the
//! simulation cannot, so `ct_invalid` is only ever said of a packet without an entry.

use engine::{
    AnswerSource, Cause, CauseCode, CtInvalid, FibStep, FibStepResult, ReverseLookup, RouteSeen,
    RpfCheck, RpfMiss, TcpSegment,
};
use model::host::{table_id, RouteType, RuleAction};
use model::{Host, Ruleset};

use super::rules::{rule_label, rule_location, with_loc};

/// The code's name, as JSON's `reason.code` spells it.
pub fn cause_code(code: CauseCode) -> &'static str {
    match code {
        CauseCode::RpFilter => "rp_filter",
        CauseCode::NoRoute => "no_route",
        CauseCode::Blackhole => "blackhole",
        CauseCode::Unreachable => "unreachable",
        CauseCode::Prohibit => "prohibit",
        CauseCode::IpForwardOff => "ip_forward_off",
        CauseCode::CtInvalid => "ct_invalid",
        CauseCode::CtTableFull => "ct_table_full",
        CauseCode::NoHelper => "no_helper",
        CauseCode::MartianSource => "martian_source",
        CauseCode::MartianDestination => "martian_destination",
        CauseCode::TtlExceeded => "ttl_exceeded",
        CauseCode::TooBig => "too_big",
        CauseCode::NotUnicastFrame => "not_unicast_frame",
        CauseCode::NoListener => "no_listener",
        CauseCode::EchoIgnored => "echo_ignored",
    }
}

/// The reason in words: a headline, then (for a reverse lookup) one line per step and why
/// the answer does not lead back.
pub fn reason(cause: &Cause, rs: &Ruleset) -> Vec<String> {
    let code = cause_code(cause.code());
    let head = match cause {
        Cause::RpFilter { check, lookup } => {
            let who = match check {
                RpfCheck::Sysctl { mode, sysctl } => format!(
                    "the kernel's reverse-path filter ({sysctl} = {mode}, {})",
                    strictness(*mode == 2)
                ),
                RpfCheck::Rule { rule, loose } => format!(
                    "the reverse-path check of {} ({})",
                    with_loc(rule_label(rs, *rule), &rule_location(rs, *rule)),
                    strictness(*loose)
                ),
            };
            let mut lines = vec![format!("{code}: {who} refused the source")];
            match lookup {
                Some(l) => lines.extend(reverse_lookup(l)),
                None => lines.push("the host's routes were not given: the lookup is unknown".into()),
            }
            return lines;
        }
        Cause::MartianSource { lookup: Some(l) } => {
            let mut lines = vec![format!(
                "{code}: the route back to the source is not a unicast route"
            )];
            lines.extend(reverse_lookup(l));
            return lines;
        }
        Cause::MartianSource { lookup: None } => {
            "the source address is one the kernel never accepts from the wire \
             (loopback, multicast, broadcast, 0.0.0.0 or one of this host's own)"
                .to_string()
        }
        Cause::MartianDestination => "the destination address is one the kernel never routes \
                                      from the wire (0.0.0.0, loopback)"
            .to_string(),
        Cause::NoRoute => "no route to the destination".to_string(),
        Cause::Blackhole => "a blackhole route (or rule) drops it silently".to_string(),
        Cause::Unreachable => "an unreachable route answers host unreachable".to_string(),
        Cause::Prohibit => "a prohibit route (or rule) answers administratively prohibited".to_string(),
        Cause::IpForwardOff { sysctl } => format!("forwarding is off: {sysctl} = 0"),
        Cause::CtInvalid { why } => format!("conntrack found it INVALID: {}", ct_invalid(why)),
        Cause::NoHelper {
            helper,
            control,
            related_accept,
        } => {
            let accept = with_loc(
                rule_label(rs, *related_accept),
                &rule_location(rs, *related_accept),
            );
            let ground = match control {
                Some(e) => format!("its control connection has no {helper} helper: {}", e.text),
                None => format!(
                    "its source port is an active {helper} data connection's and no rule \
                     assigns the {helper} helper"
                ),
            };
            return vec![
                format!(
                    "{code}: a new connection the {helper} conntrack helper would have made \
                     RELATED; without the helper it is NEW, and {accept} accepts RELATED, not NEW"
                ),
                ground,
                format!(
                    "the helper is assigned to the control connection by a rule \
                     (`-j CT --helper {helper}`, nft `ct helper set`); the kernel no longer \
                     assigns it by port (nf_conntrack_helper = 0 since Linux 4.7)"
                ),
            ];
        }
        Cause::CtTableFull => "the conntrack table is full (nf_conntrack_count reached nf_conntrack_max): a new connection cannot be tracked".to_string(),
        Cause::TtlExceeded => "the TTL ran out while forwarding".to_string(),
        Cause::TooBig { mtu } => format!(
            "larger than the way out's MTU ({mtu}) and not to be fragmented (DF set, or IPv6): \
             the router answers \"fragmentation needed\" / \"packet too big\" with the MTU"
        ),
        Cause::NotUnicastFrame { .. } => "the frame was not addressed to this host's MAC: never forwarded".to_string(),
        Cause::NoListener => "nothing listens on the port: the stack refuses the connection".to_string(),
        Cause::EchoIgnored { sysctl } => format!("this host ignores echo requests ({sysctl} = 1)"),
    };
    vec![format!("{code}: {head}")]
}

fn strictness(loose: bool) -> &'static str {
    if loose {
        "loose: any route back will do"
    } else {
        "strict: the route back must leave by the arrival interface"
    }
}

/// The reverse lookup step by step, then why it does not lead back.
pub fn reverse_lookup(l: &ReverseLookup) -> Vec<String> {
    let mark = if l.mark != 0 {
        format!(" with mark {:#x}", l.mark)
    } else {
        String::new()
    };
    let mut lines = vec![format!(
        "route back to {} (looked up as this host would send to it{mark}):",
        l.addr
    )];
    if l.steps.is_empty() {
        lines.push("  no policy rule matched".to_string());
    }
    lines.extend(l.steps.iter().map(|s| format!("  {}", fib_step(s))));
    lines.push(match &l.miss {
        RpfMiss::OtherInterface { via: Some(via) } => format!(
            "it leaves by {via}, not by {} where the packet arrived",
            l.iif
        ),
        RpfMiss::OtherInterface { via: None } => {
            format!("it does not leave by {} where the packet arrived", l.iif)
        }
        RpfMiss::NoRoute => format!("no route back at all, so none by {}", l.iif),
        RpfMiss::NotUnicast => "the answer is not a unicast route: nothing goes back".to_string(),
    });
    lines
}

/// `32765: not from all fwmark 0xca6c lookup 51820 -> table 51820: 0.0.0.0/0 dev wg0`.
fn fib_step(s: &FibStep) -> String {
    let result = match &s.result {
        FibStepResult::NothingInTable { table } => {
            format!("{}: nothing for it, next rule", routing_table_name(*table))
        }
        FibStepResult::Suppressed { table, route } => format!(
            "{}: {} passed over (suppress_prefixlength), next rule",
            routing_table_name(*table),
            route_seen(route)
        ),
        FibStepResult::Throw { table } => {
            format!("{}: a throw route, next rule", routing_table_name(*table))
        }
        FibStepResult::Found { table, route } => {
            format!("{}: {}", routing_table_name(*table), route_seen(route))
        }
        FibStepResult::Action(a) => format!("the rule itself: {}", rule_action(a)),
    };
    let rule = if s.rule.is_empty() {
        format!("{}:", s.priority)
    } else {
        s.rule.clone()
    };
    format!("{rule}  ->  {result}")
}

fn rule_action(a: &RuleAction) -> &'static str {
    match a {
        RuleAction::Blackhole => "blackhole",
        RuleAction::Unreachable => "unreachable",
        RuleAction::Prohibit => "prohibit",
        RuleAction::Lookup(_) | RuleAction::Goto(_) | RuleAction::Nop => "no route",
    }
}

/// `table main`, `table 51820`.
pub fn routing_table_name(t: u32) -> String {
    match t {
        table_id::LOCAL => "table local".to_string(),
        table_id::MAIN => "table main".to_string(),
        table_id::DEFAULT => "table default".to_string(),
        t => format!("table {t}"),
    }
}

/// `0.0.0.0/0 dev wg0`, `blackhole 10.0.0.0/8`, `default via 192.0.2.1 dev eth0`.
pub fn route_seen(r: &RouteSeen) -> String {
    let mut s = String::new();
    if r.route_type != RouteType::Unicast {
        s.push_str(&format!("{} ", r.route_type));
    }
    s.push_str(&r.dst.to_string());
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = &r.dev {
        s.push_str(&format!(" dev {dev}"));
    }
    s
}

/// Why conntrack left a packet INVALID.
pub fn ct_invalid(why: &CtInvalid) -> String {
    match why {
        CtInvalid::NoEntry { segment, tcp_loose } => {
            let what = match segment {
                TcpSegment::SynAck => "a SYN/ACK",
                TcpSegment::Rst => "an RST",
                TcpSegment::Fin => "a FIN",
                TcpSegment::Ack => "an ACK",
            };
            let loose = match tcp_loose {
                Some(false) => " (nf_conntrack_tcp_loose = 0: a mid-stream ACK does not open one)",
                _ => "",
            };
            format!("{what} with no conntrack entry for its flow cannot open a connection{loose}")
        }
        CtInvalid::BadTcpFlags => "a TCP flag combination TCP never uses".to_string(),
        CtInvalid::IcmpErrorUnknownFlow => {
            "an ICMP error about a flow no conntrack entry knows".to_string()
        }
        CtInvalid::IcmpCannotOpen { icmp_type } => {
            format!("ICMP type {icmp_type} cannot open a connection and no entry knows its flow")
        }
        CtInvalid::BeforeConntrack => {
            "the rule runs before conntrack (raw priority), where every packet reads INVALID"
                .to_string()
        }
    }
}

/// The code of why a packet is INVALID, as JSON spells it.
pub fn ct_invalid_code(why: &CtInvalid) -> &'static str {
    match why {
        CtInvalid::NoEntry { .. } => "no_entry",
        CtInvalid::BadTcpFlags => "bad_tcp_flags",
        CtInvalid::IcmpErrorUnknownFlow => "icmp_error_unknown_flow",
        CtInvalid::IcmpCannotOpen { .. } => "icmp_cannot_open",
        CtInvalid::BeforeConntrack => "before_conntrack",
    }
}

/// `10.1.1.1`, or "this host's address on the route back (via eth0)" when the host's
/// addresses were not given: never 0.0.0.0 or ::.
pub fn answer_source(s: &AnswerSource) -> String {
    match s {
        AnswerSource::Addr(a) => a.to_string(),
        AnswerSource::RouteBack { via: Some(via) } => {
            format!("this host's address on the route back (via {via})")
        }
        AnswerSource::RouteBack { via: None } => {
            "this host's address on the route back".to_string()
        }
    }
}

/// The interface of `host` an answer's address is on, when known.
pub fn answer_source_iface<'h>(s: &AnswerSource, host: &'h Host) -> Option<&'h str> {
    host.owner_of(s.addr()?).map(|i| i.name.as_str())
}
