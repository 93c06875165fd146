//! The words of the path answer, shared by the text and the JSON (`text` fields).

use super::{last_back, received, sender_view, PathAnswer, Verdict};
use crate::words;
use engine::{Cause, Decider, Fate};
use model::topology::{LinkEvidence, NodeKind, Topology};
use model::{Packet, L4};
use network::fix::Change;
use network::sees::SenderSees;
use network::{
    Egress, Hop, HopKind, Leg, LegEnd, LegRole, Outcome, Resolution, SourceChoice, Stop,
};
use std::net::IpAddr;

/// A node's name.
pub(crate) fn node(topology: &Topology, node: usize) -> &str {
    &topology.nodes[node].name
}

/// The leg's role as JSON spells it.
pub(crate) fn role_code(role: LegRole) -> &'static str {
    match role {
        LegRole::Request => "request",
        LegRole::Answer => "answer",
        LegRole::Data => "data",
        LegRole::DataAnswer => "data_answer",
        LegRole::Error { .. } => "error",
    }
}

/// Which way a leg goes, in words.
pub(crate) fn direction(role: LegRole) -> &'static str {
    match role {
        LegRole::Request => "the way there",
        LegRole::Answer => "the way back",
        LegRole::Data => "the way there, full-size data",
        LegRole::DataAnswer => "the way back, its acknowledgement",
        LegRole::Error { .. } => "the error's way back",
    }
}

/// The headline word: `WORKS`, `REFUSED`, `FAILS`, `UNDECIDED`.
pub(crate) fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Works => "WORKS",
        Outcome::Refused => "REFUSED",
        Outcome::Fails { .. } => "FAILS",
        Outcome::Undecided { .. } => "UNDECIDED",
    }
}

/// The outcome as JSON spells it.
pub(crate) fn outcome_code(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Works => "works",
        Outcome::Refused => "refused",
        Outcome::Fails { .. } => "fails",
        Outcome::Undecided { .. } => "undecided",
    }
}

/// `FAILS at router (the way back)` without the word: ` at router (the way back)`.
pub(crate) fn headline_place(a: &PathAnswer<'_>, v: &Verdict<'_>) -> String {
    match v.at {
        Some((leg, hop)) => {
            let l = &a.walk.legs[leg];
            match l.hops.get(hop) {
                Some(h) => format!(" at {} ({})", node(a.topology, h.node), direction(l.role)),
                None => format!(" at {} ({})", node(a.topology, a.sender), direction(l.role)),
            }
        }
        None => String::new(),
    }
}

/// The nodes a leg crossed: `client -> router -> server`.
pub(crate) fn hop_names(topology: &Topology, leg: &Leg) -> String {
    leg.hops
        .iter()
        .map(|h| node(topology, h.node))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// How a leg ended: `arrived at server`, `stopped at router`.
pub(crate) fn end(topology: &Topology, leg: &Leg) -> String {
    let at = leg
        .hops
        .last()
        .map(|h| node(topology, h.node))
        .unwrap_or("the sender");
    match &leg.end {
        LegEnd::Arrived => format!("arrived at {at}"),
        LegEnd::Stopped(_) => format!("stopped at {at}"),
        LegEnd::Left => format!("left the hosts given at {at}"),
        LegEnd::Undecided => format!("undecided at {at}"),
        LegEnd::Looped => format!("looped ({} hops)", leg.hops.len()),
    }
}

/// The end as JSON spells it.
pub(crate) fn end_code(end: &LegEnd) -> &'static str {
    match end {
        LegEnd::Arrived => "arrived",
        LegEnd::Stopped(_) => "stopped",
        LegEnd::Left => "left",
        LegEnd::Undecided => "undecided",
        LegEnd::Looped => "looped",
    }
}

/// The stop as JSON spells it.
pub(crate) fn stop_code(stop: &Stop) -> &'static str {
    match stop {
        Stop::Kernel => "kernel",
        Stop::Neighbour { .. } => "neighbour",
        Stop::FrameTooBig { .. } => "frame_too_big",
        Stop::TooBigToSend { .. } => "too_big_to_send",
        Stop::StubNoRoute => "stub_no_route",
        Stop::StubTtl => "stub_ttl",
        Stop::NoSourceAddress => "no_source_address",
        Stop::NotForSender { .. } => "not_for_sender",
        Stop::ArrivedElsewhere => "arrived_elsewhere",
    }
}

/// Why a leg stopped at its last hop (`hop`; `None` before the sender sent anything),
/// one or more lines.
pub(crate) fn stop(
    topology: &Topology,
    sender: usize,
    stop: &Stop,
    hop: Option<&Hop>,
) -> Vec<String> {
    let at = node(topology, hop.map_or(sender, |h| h.node));
    match stop {
        Stop::Kernel => match hop.map(|h| &h.kind) {
            Some(HopKind::Linux { outcome }) => {
                let trace = outcome.primary();
                let rs = &topology.nodes[hop.map_or(0, |h| h.node)].ruleset;
                match &trace.cause {
                    Some(cause) => words::reason(cause, rs),
                    None => vec![format!(
                        "{}: {}",
                        words::fate_sentence(&trace.fate),
                        words::decider_short(rs, &trace.decider)
                    )],
                }
            }
            _ => vec![format!("{at}'s kernel lost it")],
        },
        Stop::Neighbour { next_hop } => {
            let (unreach, v6) = match hop.map(|h| h.packet.is_ipv6()) {
                Some(true) => ("ICMPv6 address unreachable", true),
                _ => ("ICMP host unreachable", false),
            };
            let how = if v6 { "neighbour solicitation" } else { "ARP" };
            vec![format!(
                "neighbour: nobody answers {how} for {next_hop}: after about 3 s {at} gives \
                 up ({unreach} to the sender, or EHOSTUNREACH for its own packet)"
            )]
        }
        Stop::FrameTooBig {
            node: n,
            iface,
            mtu,
        } => vec![format!(
            "frame_too_big: the frame is larger than {}'s {iface} takes (MTU {mtu}): \
             dropped on arrival, unseen by its firewall and with no error sent",
            node(topology, *n)
        )],
        Stop::TooBigToSend { mtu } => vec![format!(
            "too_big_to_send: larger than the way out's MTU ({mtu}) and not to be \
             fragmented: the send fails with EMSGSIZE \"Message too long\""
        )],
        Stop::StubNoRoute => vec![format!(
            "stub_no_route: {at} (a stub) has no route to the destination; what it sends \
             back then is not modelled"
        )],
        Stop::StubTtl => vec![format!(
            "stub_ttl: the TTL runs out at {at} (a stub); what it sends back then is not \
             modelled"
        )],
        Stop::NoSourceAddress => vec![format!(
            "no_source_address: {at} finds no route or no address to send from"
        )],
        Stop::NotForSender { expected, got } => vec![format!(
            "not_for_sender: the answer comes from {got}, the sender asked {expected}: no \
             socket takes it (a TCP segment is answered with a reset)"
        )],
        Stop::ArrivedElsewhere => vec![format!(
            "arrived_elsewhere: the answer is delivered to {at}, not to the sender"
        )],
    }
}

/// Why a leg ended where it did, at its last hop `hop`: `fate` and the hop's fate for a
/// plain rule's verdict (the deciding rule says the rest), else `reason` and why.
pub(crate) fn failure_reason(
    topology: &Topology,
    sender: usize,
    leg: &Leg,
    hop: Option<&Hop>,
) -> Option<(&'static str, Vec<String>)> {
    let linux = hop.and_then(|h| match &h.kind {
        HopKind::Linux { outcome } => Some(outcome.primary()),
        HopKind::Stub { .. } => None,
    });
    let egress = hop.and_then(|h| h.egress.as_ref());
    let lines = match &leg.end {
        LegEnd::Stopped(Stop::Kernel) if linux.is_some_and(|t| t.cause.is_none()) => {
            let fate = linux.map(|t| words::fate_sentence(&t.fate));
            return Some(("fate", fate.into_iter().collect()));
        }
        LegEnd::Stopped(s) => stop(topology, sender, s, hop),
        LegEnd::Left => vec![format!(
            "it leaves the hosts given: {}",
            egress.map_or("no way out known".to_string(), |e| resolution(topology, e))
        )],
        LegEnd::Undecided => match egress {
            Some(e) => vec![format!("neighbour {}", resolution(topology, e))],
            None => return None,
        },
        LegEnd::Looped => {
            vec!["a routing loop: the packet goes round until its TTL runs out".to_string()]
        }
        LegEnd::Arrived => return None,
    };
    Some(("reason", lines))
}

/// How the sender's kernel chose the source address, and its notes (ping's warning, the
/// defaults it used), one line each.
pub(crate) fn source(topology: &Topology, sender: usize, choice: &SourceChoice) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {}",
        node(topology, sender),
        crate::words::source_choice(choice)
    )];
    lines.extend(choice.notes.iter().map(crate::words::source_note));
    lines
}

/// Who answered neighbour resolution.
pub(crate) fn resolution(topology: &Topology, e: &Egress) -> String {
    let nh = e.next_hop;
    match &e.resolution {
        Resolution::Node { node: n, iface } => {
            format!("{nh}: {} answers (its {iface})", node(topology, *n))
        }
        Resolution::Outside { entry } => format!(
            "{nh}: a machine not given answers (the neighbour table: {})",
            entry_line(entry)
        ),
        Resolution::Failed { entry: Some(entry) } => {
            format!("{nh}: FAILED (the neighbour table: {})", entry_line(entry))
        }
        Resolution::Failed { entry: None } => {
            format!("{nh}: FAILED (nobody on the link owns it, and every host on it is given)")
        }
        Resolution::Unknown => format!(
            "{nh}: unknown (nobody given owns it, the link may hold others, and the \
             neighbour table does not tell)"
        ),
        Resolution::NoLink => format!("{nh}: unknown ({} is on no link given)", e.oif),
        Resolution::Filtered {
            node: owner,
            iface,
            by,
            packet,
        } => format!(
            "{nh}: FAILED, though {} has it (its {iface}): {}'s firewall drops the neighbour \
             {} ({}); conntrack leaves neighbour discovery untracked, so `ct state \
             established,related` does not accept it",
            node(topology, *owner),
            node(topology, *by),
            match packet.l4 {
                model::L4::Icmpv6 { icmp_type: 135, .. } => "solicitation",
                _ => "advertisement",
            },
            words::packet(packet),
        ),
    }
}

/// The resolution as JSON spells it.
pub(crate) fn resolution_code(r: &Resolution) -> &'static str {
    match r {
        Resolution::Node { .. } => "node",
        Resolution::Outside { .. } => "outside",
        Resolution::Failed { .. } => "failed",
        Resolution::Filtered { .. } => "filtered",
        Resolution::Unknown => "unknown",
        Resolution::NoLink => "no_link",
    }
}

/// A neighbour entry as `ip neigh` shows it: `10.0.1.1 dev eth0 lladdr ... FAILED`.
pub(crate) fn entry_line(n: &model::host::Neighbour) -> String {
    let mut s = format!("{} dev {}", n.addr, n.dev);
    if let Some(mac) = &n.lladdr {
        s.push_str(&format!(" lladdr {mac}"));
    }
    for state in &n.states {
        s.push_str(&format!(" {state}"));
    }
    s
}

/// A link and how it is known.
pub(crate) fn link(topology: &Topology, link: usize) -> String {
    let l = &topology.links[link];
    format!("{} ({})", l.name, evidence(topology, &l.evidence))
}

/// How a link is known.
pub(crate) fn evidence(topology: &Topology, e: &LinkEvidence) -> String {
    match e {
        LinkEvidence::Declared { file, line } => format!("declared at {file}:{line}"),
        LinkEvidence::SharedSubnet { net } => format!("inferred: both ends are in {net}"),
        LinkEvidence::Neighbour {
            node: n,
            iface,
            addr,
        } => format!(
            "inferred: {}'s neighbour table lists {addr} on {iface}",
            node(topology, *n)
        ),
    }
}

/// The evidence as JSON spells it.
pub(crate) fn evidence_code(e: &LinkEvidence) -> &'static str {
    match e {
        LinkEvidence::Declared { .. } => "declared",
        LinkEvidence::SharedSubnet { .. } => "shared_subnet",
        LinkEvidence::Neighbour { .. } => "neighbour",
    }
}

/// The MTU of the way out and the packet's size.
pub(crate) fn mtu(e: &Egress) -> String {
    let len = e.packet.len;
    match e.mtu {
        Some(m) if e.fragmented => {
            format!("{m}; the packet ({len} bytes) leaves in fragments (no DF)")
        }
        Some(m) => format!("{m} (the packet: {len} bytes)"),
        None => format!("not given: not checked (the packet: {len} bytes)"),
    }
}

/// What a stub did.
pub(crate) fn stub_hop(topology: &Topology, hop: &Hop, route: Option<usize>) -> String {
    let host = &topology.nodes[hop.node].host;
    match (route.and_then(|r| host.routes.get(r)), &hop.egress) {
        (Some(r), Some(e)) => format!("a stub: forwards out of {} by its route {}", e.oif, r.text),
        (None, Some(e)) => format!("a stub: forwards out of {} (on link)", e.oif),
        (_, None) if host.owner_of(hop.packet.dst).is_some() => {
            "a stub: takes it (its own address)".to_string()
        }
        (_, None) => "a stub".to_string(),
    }
}

/// The ICMP error `packet` as ping prints it (iputils): `Destination Host Unreachable`.
fn ping_error(packet: &Packet, mtu: Option<u32>) -> Option<String> {
    let mtu = mtu.unwrap_or(0);
    let text = match packet.l4 {
        L4::Icmp {
            icmp_type, code, ..
        } => match (icmp_type, code) {
            (3, 0) => "Destination Net Unreachable".to_string(),
            (3, 1) => "Destination Host Unreachable".to_string(),
            (3, 2) => "Destination Protocol Unreachable".to_string(),
            (3, 3) => "Destination Port Unreachable".to_string(),
            (3, 4) => format!("Frag needed and DF set (mtu = {mtu})"),
            (3, 9) => "Destination Net Prohibited".to_string(),
            (3, 10) => "Destination Host Prohibited".to_string(),
            (3, 13) => "Packet filtered".to_string(),
            (11, 0) => "Time to live exceeded".to_string(),
            _ => return None,
        },
        L4::Icmpv6 {
            icmp_type, code, ..
        } => match (icmp_type, code) {
            (1, 0) => "Destination unreachable: No route".to_string(),
            (1, 1) => "Destination unreachable: Administratively prohibited".to_string(),
            (1, 3) => "Destination unreachable: Address unreachable".to_string(),
            (1, 4) => "Destination unreachable: Port unreachable".to_string(),
            (2, _) => format!("Packet too big: mtu={mtu}"),
            (3, 0) => "Time exceeded: Hop limit".to_string(),
            _ => return None,
        },
        _ => return None,
    };
    Some(format!("From {} icmp_seq=1 {text}", packet.src))
}

fn is_echo(p: &Packet) -> bool {
    matches!(
        p.l4,
        L4::Icmp { icmp_type: 8, .. } | L4::Icmpv6 { icmp_type: 128, .. }
    )
}

/// ICMP error kinds in words: `ICMP host unreachable`.
fn error_kind(l4: &L4) -> String {
    match *l4 {
        L4::Icmp {
            icmp_type, code, ..
        } => words::response_kind(engine::ResponseKind::Icmp { icmp_type, code }),
        L4::Icmpv6 {
            icmp_type, code, ..
        } => words::response_kind(engine::ResponseKind::Icmpv6 { icmp_type, code }),
        _ => "TCP RST".to_string(),
    }
}

/// `10.0.1.1 (router)`: an address and the node that owns it, when one does.
fn addr_of(topology: &Topology, addr: IpAddr) -> String {
    match topology.owners_of(addr).first() {
        Some(end) => format!("{addr} ({})", node(topology, end.node)),
        None => addr.to_string(),
    }
}

/// What the sender observes, one line each.
pub(crate) fn seen(a: &PathAnswer<'_>, v: &Verdict<'_>) -> Vec<String> {
    let topo = a.topology;
    let Some(first) = a.walk.legs.first().and_then(|l| l.hops.first()) else {
        return vec!["nothing is sent: the sender has no route or no address for it".to_string()];
    };
    let request = &first.packet;
    let sender = &topo.nodes[first.node];
    // What a program reports (ping's lines, a socket's errno) is Linux's; a stub's is not
    // modelled.
    let linux = sender.kind == NodeKind::Linux;
    let echo = linux && is_echo(request);
    // A hop's neighbour resolution gives up after its probes (3 of them, 1 s apart, by
    // default): its error, and the errno, come that late.
    let resolving = v.at.and_then(|(leg, _)| {
        matches!(
            a.walk.legs[leg].end,
            LegEnd::Stopped(Stop::Neighbour { .. })
        )
        .then_some(3)
    });
    let errno = |back: Option<&Packet>| {
        let mut view = sender_view(&sender.host, request, back);
        if back.is_some() && view.errno.is_some() {
            view.errno_after_secs = view.errno_after_secs.max(resolving);
        }
        linux.then(|| words::errno_line(&view, request)).flatten()
    };
    let tcp = matches!(request.l4, L4::Tcp { .. });
    // A "too big" that reached the sender before it sent again smaller: for TCP about the
    // first full-size segment, after the handshake; otherwise about the first packet.
    let mut learned = Vec::new();
    if let Some((error, from)) = v.learned {
        let mtu = a.walk.path_mtu.unwrap_or_default();
        learned.push(format!(
            "{} {} (mtu {mtu}) from {} ({})",
            if tcp {
                "the first full-size segment gets"
            } else {
                "first"
            },
            error_kind(&error.l4),
            error.src,
            node(topo, from)
        ));
        if echo {
            learned.extend(ping_error(error, Some(mtu)));
        }
        learned.push(format!(
            "the sender's kernel lowers its path MTU to {mtu} and sends again{}",
            if tcp {
                " in smaller segments"
            } else {
                " in fragments"
            }
        ));
    }
    let mut lines = Vec::new();
    if !tcp {
        lines.append(&mut learned);
    }
    match &v.sees {
        SenderSees::Answer { from } => {
            let back = last_back(a.walk).map(received);
            lines.push(match back.map(|p| (p, p.l4)) {
                Some((p, L4::Icmp { .. } | L4::Icmpv6 { .. })) if is_echo(request) => {
                    let header = if p.is_ipv6() { 40 } else { 20 };
                    // The reply carries the request's data back: ping counts its bytes.
                    let sent = a
                        .walk
                        .legs
                        .iter()
                        .rev()
                        .find(|l| l.role == LegRole::Request)
                        .and_then(|l| l.hops.first())
                        .map_or(p.len, |h| h.packet.len);
                    // After a "too big", the echo request answered is the next one.
                    let seq = if v.learned.is_some() { 2 } else { 1 };
                    let ping = format!(
                        " (ping: `{} bytes from {from}: icmp_seq={seq}`)",
                        sent.saturating_sub(header)
                    );
                    format!(
                        "an echo reply from {}{}",
                        addr_of(topo, *from),
                        if echo { ping.as_str() } else { "" }
                    )
                }
                _ if first_answer_is_syn_ack(a) => {
                    format!(
                        "a SYN/ACK from {}: connect() succeeds",
                        addr_of(topo, *from)
                    )
                }
                _ => format!("the answer, from {}", addr_of(topo, *from)),
            });
            lines.append(&mut learned);
            if let Some(data) = a.walk.legs.iter().rev().find(|l| l.role == LegRole::Data) {
                lines.push(format!(
                    "a full-size segment ({} bytes) is acknowledged",
                    data.hops.first().map_or(0, |h| h.packet.len)
                ));
            }
        }
        SenderSees::Refused { from } => {
            let back = last_back(a.walk).map(received);
            lines.push(format!(
                "{} from {}",
                back.map_or("a refusal".to_string(), |p| error_kind(&p.l4)),
                addr_of(topo, *from)
            ));
            lines.extend(errno(back));
        }
        SenderSees::Error { from, l4, mtu } => {
            let error = Packet::new(*from, request.src, *l4);
            lines.push(format!("{} from {}", error_kind(l4), addr_of(topo, *from)));
            if echo {
                lines.extend(ping_error(&error, *mtu));
            } else if mtu.is_some() && linux {
                lines.push("the send fails: EMSGSIZE \"Message too long\"".to_string());
            } else {
                lines.extend(errno(Some(&error)));
            }
        }
        SenderSees::SendFails { errno, too_big } => match (too_big, errno) {
            (Some(mtu), _) if echo => lines.push(format!(
                "ping: local error: message too long, {}",
                if request.is_ipv6() {
                    format!("mtu: {mtu}")
                } else {
                    format!("mtu={mtu}")
                }
            )),
            (Some(_), _) => {
                lines.push("the send fails at once: EMSGSIZE \"Message too long\"".to_string())
            }
            (None, Some(e)) => lines.push(format!(
                "the send fails at once: {} \"{}\"",
                e.name(),
                e.message()
            )),
            (None, None) => lines.push("the send fails".to_string()),
        },
        SenderSees::Nothing => match (&v.lost, v.stray) {
            (Some(lost), _) => {
                let what = match lost.mtu {
                    Some(_) if lost.packet.is_ipv6() => "'packet too big'".to_string(),
                    Some(_) => "'fragmentation needed'".to_string(),
                    None => error_kind(&lost.packet.l4),
                };
                let dropped = format!(
                    "{}'s {what} is dropped by {} on its way back",
                    node(topo, lost.from),
                    node(topo, lost.lost_at)
                );
                let data =
                    v.at.is_some_and(|(leg, _)| a.walk.legs[leg].role == LegRole::Data);
                if data {
                    lines.push(format!(
                        "the handshake works, full-size segments vanish: {dropped} (a path-MTU \
                         black hole)"
                    ));
                    lines.push(
                        "the connection stalls: the full-size segment is sent again until the \
                         connection times out"
                            .to_string(),
                    );
                } else {
                    lines.push(format!("nothing: {dropped}"));
                    lines.extend(errno(None));
                }
            }
            (None, Some((expected, got))) => {
                lines.push(format!(
                    "an answer from {got}, not from {expected}: no socket takes it"
                ));
                if matches!(request.l4, L4::Tcp { .. }) {
                    lines.push(format!(
                        "the sender's stack answers it with a reset; connect() to {expected} \
                         times out"
                    ));
                }
            }
            (None, None) if a.walk.outcome == Outcome::Refused => {
                let to = a
                    .walk
                    .legs
                    .first()
                    .and_then(|l| l.hops.last())
                    .map_or("the destination", |h| node(topo, h.node));
                lines.push(format!(
                    "nothing: {to} takes the request and sends nothing back"
                ));
                lines.extend(errno(None));
            }
            (None, None) => {
                lines.push(if echo {
                    "nothing: no reply (ping: 100% packet loss)".to_string()
                } else {
                    "nothing comes back".to_string()
                });
                lines.extend(errno(None));
            }
        },
        SenderSees::Unknown => lines.push("cannot be said: see why below".to_string()),
    }
    // Not placed after a handshake: it came first.
    lines.splice(0..0, learned);
    lines
}

/// Whether the first answer leg carries a SYN/ACK.
fn first_answer_is_syn_ack(a: &PathAnswer<'_>) -> bool {
    a.walk
        .legs
        .iter()
        .find(|l| l.role == LegRole::Answer)
        .and_then(|l| l.hops.first())
        .is_some_and(|h| {
            matches!(h.packet.l4, L4::Tcp { flags, .. }
                if flags.contains(model::TcpFlags::SYN) && flags.contains(model::TcpFlags::ACK))
        })
}

/// When the hop where an answer (or data's acknowledgement) is lost was not crossed by the
/// packet it answers: the answer takes another way back, so a stateful firewall there
/// never saw the connection. The hop's node, in words.
pub(crate) fn asymmetry(a: &PathAnswer<'_>, leg: usize, hop: usize) -> Option<String> {
    let l = &a.walk.legs[leg];
    let there_role = match l.role {
        LegRole::Answer => LegRole::Request,
        LegRole::DataAnswer => LegRole::Data,
        _ => return None,
    };
    let at = l.hops.get(hop)?.node;
    let there = a.walk.legs[..leg]
        .iter()
        .rev()
        .find(|x| x.role == there_role)?;
    if there.hops.iter().any(|h| h.node == at) {
        return None;
    }
    Some(format!(
        "the answer comes back through {}, which the way there did not cross ({}): its \
         conntrack never saw the connection",
        node(a.topology, at),
        hop_names(a.topology, there)
    ))
}

/// Where a fix belongs and what it is.
pub(crate) struct Fix {
    /// The node to change.
    pub node: usize,
    /// A stable code for what to change.
    pub code: &'static str,
    /// The change in words.
    pub text: String,
    /// More lines about it (where the change is kept across a reboot).
    pub detail: Vec<String>,
    /// Whether the exchange walked again with the change works (`None`: not walked
    /// again, the change is only named).
    pub proven: Option<bool>,
}

/// A fix [`network::fix::fix`] found, in words.
fn found_fix(a: &PathAnswer<'_>, f: &network::fix::PathFix) -> Fix {
    let topo = a.topology;
    let name = node(topo, f.node);
    let way = a.walk.legs.get(f.leg).map_or("", |l| direction(l.role));
    let mut detail = Vec::new();
    let (code, text) = match &f.change {
        Change::Firewall(_) => ("firewall", format!("{name}: its firewall, for {way}")),
        Change::Sysctl { key, value } => ("sysctl", format!("{name}: sysctl -w {key}={value}")),
        Change::Route { dst, via, dev } => (
            "route",
            format!("{name}: ip route add {dst} via {via} dev {dev}"),
        ),
        Change::ClampMss { line } => {
            let (text, keep) = mss_clamp(a, f.node, line);
            detail.push(keep);
            ("mss_clamp", text)
        }
        Change::Source {
            addr,
            prefer_public,
        } => {
            if let Some(key) = prefer_public {
                detail.push(format!(
                    "or have its kernel prefer public addresses: sysctl -w {key}=1 (kept in \
                     /etc/sysctl.d/)"
                ));
            }
            (
                "source",
                format!("{name}: send from {addr} (ping -I {addr}; a program binds it)"),
            )
        }
    };
    Fix {
        node: f.node,
        code,
        text,
        detail,
        proven: f.proof.as_ref().map(|_| f.works()),
    }
}

/// MSS clamping on `n`, as its admin types it: the command in the language of the host's
/// firewall (nft for a host whose rules are all nft's, else iptables) and where it is kept
/// (ufw's `before.rules` when ufw runs the firewall, `/etc/nftables.conf`, or the iptables
/// rules file).
fn mss_clamp(a: &PathAnswer<'_>, n: usize, line: &str) -> (String, String) {
    use model::owner::Dialect;
    let name = node(a.topology, n);
    let v6 = a
        .walk
        .legs
        .first()
        .and_then(|l| l.hops.first())
        .is_some_and(|h| h.packet.is_ipv6());
    let tables = &a.topology.nodes[n].ruleset.tables;
    let ufw = tables
        .iter()
        .any(|t| t.chains.iter().any(|c| c.name.starts_with("ufw")));
    let nft = !tables.is_empty()
        && tables
            .iter()
            .all(|t| matches!(t.origin.dialect, Some(Dialect::NftText | Dialect::NftJson)));
    let lead = format!(
        "{name}: clamp the MSS of forwarded SYNs to the route's MTU, so both ends send \
         segments that fit:"
    );
    if nft && !ufw {
        const RULE: &str = "tcp flags syn tcp option maxseg size set rt mtu";
        return (
            format!(
                "{lead} nft add table inet mss_clamp; nft 'add chain inet mss_clamp forward \
                 {{ type filter hook forward priority mangle; }}'; nft add rule inet \
                 mss_clamp forward {RULE}"
            ),
            format!(
                "to keep it, add to /etc/nftables.conf: table inet mss_clamp {{ chain \
                 forward {{ type filter hook forward priority mangle; {RULE}; }}; }}"
            ),
        );
    }
    let (tool, file) = if v6 {
        ("ip6tables", "/etc/iptables/rules.v6")
    } else {
        ("iptables", "/etc/iptables/rules.v4")
    };
    let keep = if ufw {
        let before = if v6 { "before6.rules" } else { "before.rules" };
        format!(
            "to keep it, add to /etc/ufw/{before}: `*mangle`, `:FORWARD ACCEPT [0:0]`, \
             `{line}`, `COMMIT`, then `ufw reload`"
        )
    } else {
        format!("to keep it, add to {file} (mangle/FORWARD): {line}")
    };
    (format!("{lead} {tool} -t mangle {line}"), keep)
}

/// The other fix found beside the first, in words.
pub(crate) fn alternative_fix(a: &PathAnswer<'_>) -> Option<Fix> {
    let f = a.facts.fix.as_ref()?.alternative.as_deref()?;
    Some(found_fix(a, f))
}

/// The fix the caller found ([`network::fix::fix`]), or else where the fix for the
/// failure belongs, named but not proven.
pub(crate) fn fix(a: &PathAnswer<'_>, v: &Verdict<'_>) -> Option<Fix> {
    let topo = a.topology;
    if let Some(f) = &a.facts.fix {
        return Some(found_fix(a, f));
    }
    let named = |node_: usize, code: &'static str, text: String| {
        Some(Fix {
            node: node_,
            code,
            text,
            detail: Vec::new(),
            proven: None,
        })
    };
    if let Some(lost) = &v.lost {
        let what = if lost.mtu.is_some() {
            "let the 'fragmentation needed' / 'packet too big' back in (accept ICMP RELATED \
             to the connection), or clamp the MSS on the router with the smaller MTU \
             (`-t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS \
             --clamp-mss-to-pmtu`)"
        } else {
            "let the error back in (accept ICMP RELATED to the connection)"
        };
        return named(
            lost.lost_at,
            "icmp_back",
            format!("{}: {what}", node(topo, lost.lost_at)),
        );
    }
    let (leg, hop) = v.at?;
    let l = &a.walk.legs[leg];
    let h = l.hops.get(hop)?;
    let name = node(topo, h.node);
    let way = direction(l.role);
    let LegEnd::Stopped(stop) = &l.end else {
        return None;
    };
    let (code, what) = match stop {
        Stop::Kernel => {
            let HopKind::Linux { outcome } = &h.kind else {
                return None;
            };
            let trace = outcome.primary();
            match (&trace.cause, &trace.decider, &trace.fate) {
                (Some(Cause::NoRoute), ..) => (
                    "route",
                    format!("a route to {} (for {way})", trace.packet.dst),
                ),
                (Some(Cause::IpForwardOff { sysctl }), ..) => {
                    ("sysctl", format!("sysctl -w {sysctl}=1"))
                }
                (Some(Cause::RpFilter { .. }), ..) => (
                    "route",
                    format!(
                        "a route back to {} out of the interface it arrives on, or loose \
                         reverse-path filtering (rp_filter = 2)",
                        trace.packet.src
                    ),
                ),
                (Some(Cause::TooBig { mtu }), ..) => (
                    "mtu",
                    format!(
                        "an MTU of at least {} on the way out, or a smaller packet (MSS clamp)",
                        trace
                            .packet
                            .len
                            .max(u16::try_from(*mtu).unwrap_or(u16::MAX))
                    ),
                ),
                (
                    _,
                    Decider::Rule(_) | Decider::Policy(_),
                    Fate::Dropped | Fate::Rejected { .. },
                ) => (
                    "firewall",
                    format!("its firewall, for {way}: let {} through", trace.packet),
                ),
                _ => return None,
            }
        }
        Stop::Neighbour { next_hop } => (
            "neighbour",
            format!(
                "{next_hop} must answer on {} (is the host up, the address right?), or a \
                 route via a next hop that exists",
                h.egress.as_ref().map_or("the link", |e| e.oif.as_str())
            ),
        ),
        Stop::FrameTooBig { node: n, iface, .. } => (
            "mtu",
            format!(
                "the same MTU on both ends of the link ({}'s {iface} and {name}'s {})",
                node(topo, *n),
                h.egress.as_ref().map_or("interface", |e| e.oif.as_str())
            ),
        ),
        Stop::TooBigToSend { mtu } => (
            "size",
            format!("packets of at most {mtu} bytes, or let them be fragmented"),
        ),
        Stop::StubNoRoute => ("route", format!("a route to the destination (for {way})")),
        Stop::NotForSender { expected, .. } => {
            let nat = a.walk.legs[0]
                .hops
                .iter()
                .find(|h| translated(h, *expected));
            let at = nat.map_or("the host that translated the request", |h| {
                node(topo, h.node)
            });
            return named(
                nat.map_or(h.node, |h| h.node),
                "snat",
                format!(
                    "{at}: also translate the source (SNAT or MASQUERADE) of the connection \
                     it forwards back into the same network, so the answer goes back through it"
                ),
            );
        }
        Stop::StubTtl => (
            "route",
            "its routes: the packet goes round, or the way is longer than its TTL".to_string(),
        ),
        Stop::NoSourceAddress => (
            "route",
            "a route to the destination, and a global address of its family on the \
             interface it leaves by"
                .to_string(),
        ),
        Stop::ArrivedElsewhere => {
            // The hop before the one it arrived at sent it there.
            let from = l.hops.len().checked_sub(2).map_or(h, |p| &l.hops[p]);
            return named(
                from.node,
                "route",
                format!(
                    "{}: its route to {} (it sends the packet to {name}, not to the sender)",
                    node(topo, from.node),
                    from.packet.dst
                ),
            );
        }
    };
    named(h.node, code, format!("{name}: {what}"))
}

/// Whether `hop` translated the destination `addr` (a DNAT on the way there).
fn translated(hop: &Hop, addr: std::net::IpAddr) -> bool {
    match &hop.kind {
        HopKind::Linux { outcome } => {
            let t = outcome.primary();
            t.packet.dst == addr && t.final_packet.dst != addr
        }
        HopKind::Stub { .. } => false,
    }
}

/// One assumption: the node it is about, a stable code and the words.
pub(crate) struct Assumed {
    /// The node, when it is about one.
    pub node: Option<usize>,
    /// A stable code.
    pub code: &'static str,
    /// The words.
    pub text: String,
}

/// Everything assumed: how each node was read, what each hop's simulation assumed, stubs
/// that answer what they do not describe, MTUs not given, links that may hold others.
pub(crate) fn assumptions(a: &PathAnswer<'_>) -> Vec<Assumed> {
    let topo = a.topology;
    let mut out: Vec<Assumed> = Vec::new();
    let mut push = |node: Option<usize>, code: &'static str, text: String| {
        if !out.iter().any(|x| x.node == node && x.text == text) {
            out.push(Assumed { node, code, text });
        }
    };
    let mut seen_nodes = Vec::new();
    for leg in &a.walk.legs {
        if let (LegRole::Request, LegEnd::Arrived, Some(last)) =
            (leg.role, &leg.end, leg.hops.last())
        {
            if network::answer::udp_from_wildcard(last) {
                push(
                    Some(last.node),
                    "udp_source",
                    "its UDP service, bound to the wildcard address, answers from the \
                     address its route back selects, as a plain socket does (a service \
                     using IP_PKTINFO answers from the address asked)"
                        .to_string(),
                );
            }
        }
        for hop in &leg.hops {
            let n = hop.node;
            if !seen_nodes.contains(&n) {
                seen_nodes.push(n);
                let node_ = &topo.nodes[n];
                for note in &node_.notes {
                    push(Some(n), "input_note", words::input_note(note));
                }
                if let NodeKind::Stub(_) = node_.kind {
                    push(
                        Some(n),
                        "stub",
                        "a stub (not Linux): only its addresses and routes are known; no \
                         firewall or conntrack of it is simulated"
                            .to_string(),
                    );
                }
                if node_.kind == NodeKind::Linux && !node_.rules_given {
                    push(
                        Some(n),
                        "no_rules",
                        "no firewall rules given: simulated without a firewall".to_string(),
                    );
                }
            }
            match &hop.kind {
                HopKind::Linux { outcome } => {
                    let trace = outcome.primary();
                    for x in &trace.assumptions {
                        push(Some(n), "host", words::assumption(x, &trace.packet));
                    }
                }
                HopKind::Stub { .. } => {}
            }
            if let Some(e) = &hop.egress {
                if e.mtu.is_none() {
                    push(
                        Some(n),
                        "mtu_not_given",
                        format!("the MTU of {} is not given: not checked", e.oif),
                    );
                }
                if let Some(l) = e.link.map(|l| &topo.links[l]).filter(|l| !l.complete) {
                    push(
                        None,
                        "inferred_link",
                        format!(
                            "the link {} ({}): other hosts may share it",
                            l.name,
                            evidence(topo, &l.evidence)
                        ),
                    );
                }
            }
        }
        if let (LegEnd::Arrived, Some(last)) = (&leg.end, leg.hops.last()) {
            if leg.role == LegRole::Request {
                stub_answer(topo, last, &mut push);
            }
        }
    }
    // Each node's together, in the order of the nodes; the topology's last.
    out.sort_by_key(|x| x.node.unwrap_or(usize::MAX));
    out
}

/// What a stub destination is assumed to answer.
fn stub_answer(
    topo: &Topology,
    hop: &Hop,
    push: &mut impl FnMut(Option<usize>, &'static str, String),
) {
    let NodeKind::Stub(answers) = &topo.nodes[hop.node].kind else {
        return;
    };
    let (proto, listed, port) = match hop.packet.l4 {
        L4::Tcp { dport, .. } => ("tcp", &answers.tcp, dport),
        L4::Udp { dport, .. } => ("udp", &answers.udp, dport),
        _ => return,
    };
    if listed.is_none() {
        push(
            Some(hop.node),
            "stub_answers",
            format!("a stub whose {proto} ports are not described: taken to accept port {port}"),
        );
    }
}
