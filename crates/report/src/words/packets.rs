//! The packet and what the host does with it: addresses, direction, conntrack state,
//! route, NAT, the response and what the sender sees.

use super::fates::routing_failure;
use super::rules::with_loc;
use super::rules::{rule_label, rule_location};
use engine::{
    CtState, Errno, Fate, NatRewrite, Response, ResponseKind, RouteDecision, RouteKind, SenderView,
    Trace,
};
use model::{Host, Packet, Ruleset, L4};
use std::net::IpAddr;

pub fn addr_port(a: IpAddr, port: Option<u16>) -> String {
    match (a, port) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    }
}

/// "tcp 10.1.0.2:2175 -> 10.1.1.2:1050 [SYN ACK]".
pub fn packet(p: &Packet) -> String {
    p.to_string()
}

/// How the packet travels: "forwarded tap0 -> eno1", "received on eth0", "locally generated".
pub fn direction(trace: &Trace) -> String {
    let p = &trace.packet;
    let iif = p.iif.as_deref();
    match trace.route.as_ref().map(|r| &r.kind) {
        Some(RouteKind::Forward { oif, .. }) => {
            format!("forwarded {} -> {}", iif.unwrap_or("?"), iface(oif))
        }
        Some(RouteKind::Local) => match iif {
            Some(i) => format!("to this host, in on {i}"),
            None => "to this host".to_string(),
        },
        Some(RouteKind::Output { oif, .. }) => format!("locally generated, out {}", iface(oif)),
        Some(RouteKind::Failed(_)) | None => match (iif, p.oif.as_deref()) {
            (Some(i), Some(o)) => format!("forwarded {i} -> {o}"),
            (Some(i), None) => format!("received on {i}"),
            (None, Some(o)) => format!("locally generated, out {o}"),
            (None, None) => "locally generated".to_string(),
        },
    }
}

/// An interface's name; the engine leaves it empty when the input does not tell it (no
/// routes given and no `out IFACE`), which is said, never printed as nothing.
pub fn iface(name: &str) -> &str {
    if name.is_empty() {
        "an interface the input does not give"
    } else {
        name
    }
}

pub fn ct_state(s: CtState) -> &'static str {
    match s {
        CtState::New => "new",
        CtState::Established => "established",
        CtState::Related => "related",
        CtState::Invalid => "invalid",
        CtState::Untracked => "untracked",
    }
}

/// `forward via eno1 (10.1.0.0/24 dev eno1 proto kernel scope link)`.
pub fn route(d: &RouteDecision, host: &Host) -> String {
    let mut s = match &d.kind {
        RouteKind::Local => "local delivery".to_string(),
        RouteKind::Forward { oif, gateway } => match gateway {
            Some(gw) => format!("forward via {gw} dev {}", iface(oif)),
            None => format!("forward out of {}", iface(oif)),
        },
        RouteKind::Output { oif, gateway, src } => {
            let mut s = match gateway {
                Some(gw) => format!("output via {gw} dev {}", iface(oif)),
                None => format!("output out of {}", iface(oif)),
            };
            if let Some(src) = src {
                s.push_str(&format!(" src {src}"));
            }
            s
        }
        RouteKind::Failed(f) => format!("failed: {}", routing_failure(f)),
    };
    if let Some(text) = route_text(d, host) {
        s.push_str(&format!(" [{text}]"));
    }
    if d.assumed {
        s.push_str(" (assumed from the packet spec)");
    } else if d.table != model::host::table_id::MAIN && d.table != model::host::table_id::LOCAL {
        s.push_str(&format!(" (table {})", d.table));
    }
    s
}

pub fn route_text<'h>(d: &RouteDecision, host: &'h Host) -> Option<&'h str> {
    d.route
        .and_then(|i| host.routes.get(i))
        .map(|r| r.text.as_str())
        .filter(|t| !t.is_empty())
}

/// `dnat 10.1.2.3:1222 -> 192.168.70.10:22 by nat/PREROUTING #1 (rules:12)`.
pub fn nat(ruleset: &Ruleset, n: &NatRewrite) -> String {
    let by = match n.by {
        Some(at) => format!(
            "by {}",
            with_loc(rule_label(ruleset, at), &rule_location(ruleset, at))
        ),
        None => "by conntrack (existing binding)".to_string(),
    };
    format!(
        "{} {} -> {} {by}",
        n.kind,
        addr_port(n.before.0, n.before.1),
        addr_port(n.after.0, n.after.1)
    )
}

/// `ICMP port unreachable`, `TCP RST`, `ICMPv6 administratively prohibited`.
pub fn response_kind(k: ResponseKind) -> String {
    match k {
        ResponseKind::TcpRst => "TCP RST".to_string(),
        ResponseKind::SynAck => "SYN/ACK".to_string(),
        ResponseKind::Icmp { icmp_type, code } => format!("ICMP {}", icmp_words(icmp_type, code)),
        ResponseKind::Icmpv6 { icmp_type, code } => {
            format!("ICMPv6 {}", icmpv6_words(icmp_type, code))
        }
    }
}

/// The response's kind as JSON spells it (`tcp_rst`, `syn_ack`, `icmp`, `icmpv6`), with
/// the ICMP type and code.
pub fn response_kind_code(k: ResponseKind) -> (&'static str, Option<u8>, Option<u8>) {
    match k {
        ResponseKind::TcpRst => ("tcp_rst", None, None),
        ResponseKind::SynAck => ("syn_ack", None, None),
        ResponseKind::Icmp { icmp_type, code } => ("icmp", Some(icmp_type), Some(code)),
        ResponseKind::Icmpv6 { icmp_type, code } => ("icmpv6", Some(icmp_type), Some(code)),
    }
}

fn icmp_words(t: u8, c: u8) -> String {
    match (t, c) {
        (3, 0) => "net unreachable".into(),
        (3, 1) => "host unreachable".into(),
        (3, 2) => "protocol unreachable".into(),
        (3, 3) => "port unreachable".into(),
        (3, 4) => "fragmentation needed".into(),
        (3, 9) => "net administratively prohibited".into(),
        (3, 10) => "host administratively prohibited".into(),
        (3, 13) => "communication administratively prohibited".into(),
        (3, c) => format!("destination unreachable (code {c})"),
        (11, _) => "time exceeded".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

fn icmpv6_words(t: u8, c: u8) -> String {
    match (t, c) {
        (1, 0) => "no route to destination".into(),
        (1, 1) => "administratively prohibited".into(),
        (1, 2) => "beyond scope of source address".into(),
        (1, 3) => "address unreachable".into(),
        (1, 4) => "port unreachable".into(),
        (1, 5) => "source address failed policy".into(),
        (1, 6) => "reject route".into(),
        (1, c) => format!("destination unreachable (code {c})"),
        (3, _) => "time exceeded".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

/// "ICMP port unreachable from 10.1.1.1 (this host's address on tap0)".
pub fn response(r: &Response, trace: &Trace, host: &Host) -> String {
    response_to(r, &trace.packet, host)
}

/// [`response`] to `packet`, whichever path sent it (Linux's or a BSD host's).
pub fn response_to(r: &Response, packet: &Packet, host: &Host) -> String {
    let mut s = format!(
        "{} from {}",
        response_kind(r.kind),
        super::reasons::answer_source(&r.from)
    );
    let own = super::reasons::answer_source_iface(&r.from, host);
    match r.kind {
        ResponseKind::TcpRst if r.by_stack => {
            s.push_str(" (the stack: nothing listens on the port)")
        }
        ResponseKind::TcpRst if r.from.addr() == Some(packet.dst) => {
            s.push_str(" (looks like the server; sent by the firewall)")
        }
        ResponseKind::SynAck => s.push_str(": the connection is accepted"),
        _ => {
            if let Some(ifname) = own {
                s.push_str(&format!(" (this host's address on {ifname})"));
            }
            if r.by_stack {
                s.push_str(", sent by the stack");
            }
        }
    }
    s
}

/// The sender's socket call: "connect() fails at once: ECONNREFUSED \"Connection refused\"".
pub fn errno_line(view: &SenderView, packet: &Packet) -> Option<String> {
    let errno = view.errno?;
    let call = match packet.l4 {
        L4::Tcp { .. } => "connect()",
        L4::Udp { .. } if view.errno_on_send => "send() on the UDP socket",
        L4::Udp { .. } => "recv() on a connected UDP socket",
        _ if view.errno_on_send => "the sender's sendmsg()",
        _ => "the sender's socket call",
    };
    let when = match (errno, view.timeout_secs, view.errno_after_secs) {
        (Errno::Etimedout, Some(secs), _) => format!("times out after ~{secs} s"),
        (Errno::Etimedout, None, _) => "times out".to_string(),
        (_, _, Some(secs)) => format!("fails after ~{secs} s"),
        (_, Some(secs), None) if view.response.is_none() => format!("fails after ~{secs} s"),
        _ => "fails at once".to_string(),
    };
    Some(format!(
        "{call} {when}: {} \"{}\"",
        errno.name(),
        errno.message()
    ))
}

/// What the sender observes, one line each: the response (or silence), the errno.
pub fn sender_sees(trace: &Trace, host: &Host) -> Vec<String> {
    let view = &trace.sender_sees;
    let silence = match &trace.fate {
        Fate::Dropped | Fate::RoutingFailed { .. } => Some(dropped(&trace.packet)),
        Fate::Queued { .. } => Some("whatever the queue's program does".to_string()),
        _ => None,
    };
    let response = view.response.as_ref().map(|r| response(r, trace, host));
    view_lines(view, &trace.packet, response, silence)
}

/// "nothing: the SYN is silently dropped".
pub fn dropped(packet: &Packet) -> String {
    let what = match packet.l4 {
        L4::Tcp { flags, .. } if flags == model::TcpFlags::SYN => "the SYN",
        _ => "the packet",
    };
    format!("nothing: {what} is silently dropped")
}

/// The sender's view of `packet` in lines: whether it depends on a listener, what comes
/// back (`response`, in words) or the `silence` when nothing does, the errno or timeout.
pub fn view_lines(
    view: &SenderView,
    packet: &Packet,
    response: Option<String>,
    silence: Option<String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if view.depends_on_listener {
        lines.push(
            "depends on whether something listens (listening sockets not given): \
             a SYN/ACK if it does, the stack's refusal if not"
                .to_string(),
        );
    }
    lines.extend(response.or(silence));
    if let Some(e) = errno_line(view, packet) {
        lines.push(e);
    } else if view.recv_times_out {
        match view.timeout_secs {
            Some(secs) => lines.push(format!(
                "no error: recv() waits until its own timeout (~{secs} s)"
            )),
            None => lines.push("no error: recv() waits until its own timeout".to_string()),
        }
    } else if view.response.is_none() {
        if let Some(secs) = view.timeout_secs {
            lines.push(format!("gives up after ~{secs} s"));
        }
    }
    lines
}
