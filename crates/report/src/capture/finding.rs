//! A finding (a failed or suspicious flow) and a fine flow in words: the table's columns,
//! what the capture shows, what it usually means.

use super::tls::{alert_long, alert_meaning, alert_short, handshake_stage};
use super::CaptureAnswer;
use super::{distance, endpoint, fine_endpoint, plural, pmtu, proto_name, secs, side_name};
use crate::words;
use engine::ResponseKind;
use evidence::classify::{
    Finding, FineFlow, IcmpVerdict, Reporter, RstOrigin, RstVerdict, Symptom, Working,
};
use model::Host;

/// The table's "what" column.
pub(super) fn headline(f: &Finding) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { syns, .. } => {
            format!(
                "timed out: {syns} SYN{}, no answer",
                plural(u64::from(*syns))
            )
        }
        Symptom::SynRefused { rst } => match rst.origin {
            RstOrigin::Middlebox => "refused: RST forged on the way".to_string(),
            RstOrigin::Server => "refused: RST from the server".to_string(),
            RstOrigin::Unknown => "refused: RST".to_string(),
        },
        Symptom::IcmpError(v) => {
            let word = if v.is_time_exceeded() {
                "time exceeded"
            } else if v.is_pmtu() {
                "too big"
            } else if v.reporter == Reporter::Destination {
                "refused by the destination"
            } else {
                "rejected on the way"
            };
            format!("{word}: {}", icmp_name(v))
        }
        Symptom::WrongAnswer(_) => "SYN/ACK from the wrong address".to_string(),
        Symptom::EchoUnanswered { requests, .. } => {
            format!(
                "{requests} echo request{}, no reply",
                plural(u64::from(*requests))
            )
        }
        Symptom::TlsAlert(alert) => format!("TLS: {}", alert_short(alert)),
        Symptom::Reset { by, .. } => format!("reset by the {}", side_name(*by)),
        Symptom::PmtuBlackHole(v) => pmtu::headline(v).to_string(),
    }
}

/// The table's "answered by" column.
pub(super) fn answered_by(f: &Finding) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { .. } | Symptom::EchoUnanswered { .. } => "nobody".to_string(),
        Symptom::SynRefused { rst } => format!(
            "{} ({} hop{})",
            f.server.0,
            rst.hops,
            plural(u64::from(rst.hops))
        ),
        Symptom::IcmpError(v) => format!(
            "{} ({})",
            v.error.from,
            match v.reporter {
                Reporter::Destination => "the destination",
                Reporter::OnTheWay => "on the way",
            }
        ),
        Symptom::WrongAnswer(s) => words::addr_port(s.from.0, Some(s.from.1)),
        Symptom::TlsAlert(a) => format!("the {}", side_name(a.sender)),
        Symptom::Reset { by, .. } => format!("the {}", side_name(*by)),
        Symptom::PmtuBlackHole(v) => pmtu::answered_by(v),
    }
}

/// What the capture shows, in one sentence. The simulated host, when its state was given,
/// names an ICMP error from one of its addresses as its own (the router).
pub(super) fn summary(f: &Finding, a: &CaptureAnswer<'_>) -> String {
    let host = a.host;
    match &f.symptom {
        Symptom::SynUnanswered { syns, span_ns } => format!(
            "{syns} SYN{} over {} s (retransmissions: {}), nothing came back",
            plural(u64::from(*syns)),
            secs(*span_ns),
            syns.saturating_sub(1)
        ),
        Symptom::SynRefused { rst } => refused_summary(f, rst),
        Symptom::IcmpError(v) => icmp_summary(f, v, host),
        Symptom::WrongAnswer(s) => format!(
            "the SYN went to {}, the SYN/ACK came from {} ({} time{}), and the client answered it with RST ({} time{})",
            endpoint(f.server, f),
            words::addr_port(s.from.0, Some(s.from.1)),
            s.count,
            plural(u64::from(s.count)),
            s.client_rsts,
            plural(u64::from(s.client_rsts))
        ),
        Symptom::EchoUnanswered { requests, span_ns } => format!(
            "{requests} echo request{} to {} over {} s, no reply and no error",
            plural(u64::from(*requests)),
            f.server.0,
            secs(*span_ns)
        ),
        Symptom::TlsAlert(a) => {
            let handshake = f
                .tls
                .as_ref()
                .map(handshake_stage)
                .unwrap_or_default();
            format!(
                "the {} sent {}{handshake} (frame {})",
                side_name(a.sender),
                alert_long(a),
                a.frame
            )
        }
        Symptom::Reset {
            by,
            payload,
            with_data,
        } => format!(
            "the {} reset the connection after {} bytes from the client and {} from the server{}",
            side_name(*by),
            payload[0],
            payload[1],
            if *with_data { "; the RST carries data (often a reason in text)" } else { "" }
        ),
        Symptom::PmtuBlackHole(v) => pmtu::summary(f, v, &a.analysis.interfaces),
    }
}

/// What the symptom usually means.
pub(super) fn meaning(f: &Finding, a: &CaptureAnswer<'_>) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { .. } => {
            "timed out: silently dropped (a DROP rule or policy, no route back, or the host is down); \
             the client's connect() ends with ETIMEDOUT"
                .to_string()
        }
        Symptom::SynRefused { rst } => match rst.origin {
            RstOrigin::Middlebox => format!(
                "a firewall between forged the RST in the server's name (REJECT --reject-with tcp-reset): \
                 its TTL says {} hop{} away, the server is {}",
                rst.hops,
                plural(u64::from(rst.hops)),
                rst.server_hops.map_or("elsewhere".to_string(), |h| format!(
                    "{h} hop{} away",
                    plural(u64::from(h))
                ))
            ),
            RstOrigin::Server => format!(
                "the server's own stack refused: nothing listens on port {} (or a firewall on the server \
                 rejects with tcp-reset); connect() fails at once with ECONNREFUSED",
                f.server.1
            ),
            RstOrigin::Unknown => format!(
                "connection refused: nothing listens on port {}, or a firewall rejects with tcp-reset; \
                 a firewall's RST often has another TTL than the server's packets (none to compare here)",
                f.server.1
            ),
        },
        Symptom::IcmpError(v) => icmp_meaning(v, f),
        Symptom::WrongAnswer(_) => "broken reverse NAT: the reply left without conntrack undoing the \
             translation (the reply path skipped the NAT box, the reply was untracked, or something \
             rewrote ports after conntrack), so the client does not recognise it and resets it"
            .to_string(),
        Symptom::EchoUnanswered { .. } => format!(
            "the requests or the replies are dropped silently: a DROP rule, or {} has no route back to {}",
            f.server.0, f.client.0
        ),
        Symptom::TlsAlert(a) => alert_meaning(a, f.tls.as_ref()),
        Symptom::Reset { by, .. } => format!(
            "the {} aborted the connection (an application closing with unread data, a timeout, \
             or a firewall resetting an established flow)",
            side_name(*by)
        ),
        Symptom::PmtuBlackHole(v) => pmtu::meaning(f, v, &a.analysis.interfaces),
    }
}

pub(super) fn icmp_meaning(v: &IcmpVerdict, f: &Finding) -> String {
    let e = &v.error;
    let at = match v.reporter {
        Reporter::Destination => format!("the destination {}", e.from),
        Reporter::OnTheWay => format!("the hop {}", e.from),
    };
    let firewall = |with: &str| format!("{at} refused it: a firewall REJECT ({with}) there");
    match (e.v6, e.icmp_type, e.code) {
        (false, 3, 3) | (true, 1, 4) => match v.reporter {
            Reporter::Destination => format!(
                "nothing listens on {} port {} at {}, or its firewall rejects it (icmp-port-unreachable)",
                proto_name(f.protocol),
                f.server.1,
                e.from
            ),
            Reporter::OnTheWay => format!(
                "{at} refused to forward it: a firewall REJECT there (icmp-port-unreachable, REJECT's \
                 default); the client sees ECONNREFUSED \"Connection refused\""
            ),
        },
        (false, 3, 13) => firewall("icmp-admin-prohibited"),
        (false, 3, 10) => firewall("icmp-host-prohibited"),
        (false, 3, 9) => firewall("icmp-net-prohibited"),
        (false, 3, 0) => format!("{at} has no route to the destination network (or a REJECT with icmp-net-unreachable)"),
        (false, 3, 1) => format!(
            "{at} cannot reach the host: ARP got no answer on its link, no route, or a REJECT with icmp-host-unreachable"
        ),
        (false, 3, 2) => firewall("icmp-proto-unreachable") + ", or the protocol is not supported there",
        (false, 3, 4) | (true, 2, _) => format!(
            "path MTU: the packet is too big for the next link at {} and may not be fragmented; \
             connections stall if these errors are filtered",
            e.from
        ),
        (false, 11, _) | (true, 3, _) => format!(
            "the TTL ran out at {}: a routing loop, or the sender's TTL is too small (traceroute)",
            e.from
        ),
        (true, 1, 0) => format!("{at} has no route to the destination (or a REJECT with icmp6-no-route)"),
        (true, 1, 1) => firewall("icmp6-adm-prohibited") + "; the client sees EACCES \"Permission denied\"",
        (true, 1, 3) => format!(
            "address unreachable: neighbour discovery for {} failed at {} (nothing answers on that \
             link), or a REJECT with icmp6-addr-unreachable",
            f.server.0, e.from
        ),
        (true, 1, 5) => format!("{at}: the source address failed an ingress/egress policy"),
        (true, 1, 6) => format!("{at} has a reject route to the destination"),
        (_, t, c) => format!("{at} answered with ICMP type {t} code {c}"),
    }
}

pub(super) fn icmp_name(v: &IcmpVerdict) -> String {
    let e = &v.error;
    let kind = if e.v6 {
        ResponseKind::Icmpv6 {
            icmp_type: e.icmp_type,
            code: e.code,
        }
    } else {
        ResponseKind::Icmp {
            icmp_type: e.icmp_type,
            code: e.code,
        }
    };
    words::response_kind(kind)
}

/// The table's "what" column for a fine flow.
pub(super) fn fine_headline(f: &FineFlow) -> String {
    match f.working {
        Working::EchoAnswered { .. } => "fine: ping answered".to_string(),
        Working::Handshake => "fine: handshake completed".to_string(),
        Working::BothWays => "fine: answered".to_string(),
        Working::OneWay => "fine: one way, no answer expected".to_string(),
    }
}

/// What a fine flow shows, in one sentence.
pub(super) fn fine_summary(f: &FineFlow) -> String {
    match f.working {
        Working::EchoAnswered { requests, replies } => format!(
            "{requests} echo request{} to {}, {replies} echo repl{} from it",
            plural(u64::from(requests)),
            f.server.0,
            if replies == 1 { "y" } else { "ies" }
        ),
        Working::Handshake => format!(
            "the SYN to {} was answered by a SYN/ACK",
            fine_endpoint(f.server, f)
        ),
        Working::BothWays => format!(
            "{} packet{} from the client, {} from {}",
            f.packets[0],
            plural(u64::from(f.packets[0])),
            f.packets[1],
            fine_endpoint(f.server, f)
        ),
        Working::OneWay => format!(
            "{} packet{} one way, none expected back",
            f.packets[0] + f.packets[1],
            plural(u64::from(f.packets[0] + f.packets[1]))
        ),
    }
}

/// An RST answering the SYN: from whom, its TTL, and the server's own TTL to compare.
fn refused_summary(f: &Finding, rst: &RstVerdict) -> String {
    let mut s = format!(
        "the SYN was answered by an RST from {} with TTL {} ({} hop{} away)",
        f.server.0,
        rst.ttl,
        rst.hops,
        plural(u64::from(rst.hops))
    );
    match (rst.server_ttl, rst.server_hops) {
        (Some(t), Some(h)) => s.push_str(&format!(
            "; the server's other packets have TTL {t} ({h} hop{} away)",
            plural(u64::from(h))
        )),
        _ => s.push_str("; no other packet from the server to compare its TTL with"),
    }
    s
}

/// An ICMP error: which, how many, from whom (this host, when it owns the address) and how
/// far from the capture point.
fn icmp_summary(f: &Finding, v: &IcmpVerdict, host: &Host) -> String {
    let who = match v.reporter {
        Reporter::Destination => "the destination itself".to_string(),
        Reporter::OnTheWay => match host.owner_of(v.error.from) {
            Some(i) => format!(
                "the router: this host, its address on {}; not the destination {}",
                i.name, f.server.0
            ),
            None => format!(
                "a hop on the way (a router), not the destination {}",
                f.server.0
            ),
        },
    };
    let count = if v.error.count > 1 {
        format!(" ({} times)", v.error.count)
    } else {
        String::new()
    };
    format!(
        "{}{count} from {} ({who}), {}",
        icmp_name(v),
        v.error.from,
        distance(v.hops)
    )
}
