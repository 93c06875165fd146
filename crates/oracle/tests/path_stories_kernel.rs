//! The causes issue 12 names (user story 8, story 1, the path-MTU black hole, hairpin NAT,
//! asymmetric routing through a stateful firewall), each its own kernel test of the walk:
//! the topology is walked by `network::walk`, built in namespaces, the same traffic is sent
//! for real, and one comparer holds the two together, (a) what the sender sees and (b) hop
//! by hop what each host's kernel did with each packet of each leg, and that a packet the
//! walk loses is traced by no host after the one that lost it.
//!
//! A hop is matched to the kernel's walks at its node by headers (addresses, protocol, ICMP
//! type and code, TCP flags and the service port, data or not); it agrees when one of them
//! arrived on the same interface and ended as the walk says (out the same interface,
//! delivered, or dropped by the same chain and rule or policy). "One of": a SYN is resent,
//! a stream has many segments, and after PMTU discovery the same segment comes again
//! smaller, so the kernel has several walks of what the walk sends once.
//!
//! Kernel facts these cases measured (Linux 6.18):
//! - with `use_tempaddr` 2, `ip addr add ... mngtmpaddr` makes the temporary address at
//!   once (within 5 ms), and the kernel sends from it;
//! - `ip -6 route add PREFIX via GLOBAL dev eth0` with the gateway on no prefix of eth0
//!   fails with exit status 2, `RTNETLINK answers: No route to host`;
//! - a reply the far end has no route for never reaches its output hook: no trace at all;
//! - an IPv6 neighbour that does not answer gives "address unreachable" (1/3) from the
//!   router after about 3.07 s; the echo request was traced as forwarded (resolution fails
//!   after POSTROUTING);
//! - a SYN/ACK first seen by a router (the SYN went another way) is not ESTABLISHED there:
//!   `FORWARD DROP` with `ctstate ESTABLISHED,RELATED` drops it by the policy;
//! - without SNAT, hairpin NAT's SYN/ACK from the server's own address is delivered to the
//!   client's kernel (which resets it) and the connection times out;
//! - a full-size segment too big for the next link vanishes after PREROUTING on the router
//!   (no FORWARD rule sees it), which sends "fragmentation needed" each time.
//!
//! The cases run one at a time (a lock) and each checks that no `wb*` namespace is left.
#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)]

use engine::{Decider, Fate};
use model::kernel_walk::{Headers, KernelFate, KernelWalk, Placement};
use model::packet::IpProto;
use model::topology::Topology;
use model::{Family, Packet, TcpFlags, L4};
use network::sees::{sender_sees, SenderSees};
use network::{HopKind, LegEnd, LegRole, PathWalk, Query};
use oracle::topology::{
    first_headers, IcmpSeen, NodeWalks, Ping, PingSeen, SocketError, TcpProbe, TcpSeen, TestNetwork,
};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use testgen::kernel_tests::{assert_no_namespaces_of_this_process, kernel_tests_enabled};
use testgen::topology::{
    asymmetric_routers, echo_request, hairpin_nat, two_hosts_through_a_link_local_router,
    two_hosts_through_a_router, v6_through_a_router, Net,
};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The traffic of a case, sent by the walk and for real.
#[derive(Clone)]
enum Traffic {
    /// `ping -c1 DST` from node `from`, waiting `wait` seconds.
    Ping { from: usize, dst: IpAddr, wait: u64 },
    /// A TCP connection from node `from`, writing `write` bytes (read by `listener`'s
    /// socket) in segments of at most `segment` IP bytes as the walk sees them.
    Tcp {
        from: usize,
        dst: SocketAddr,
        write: usize,
        segment: Option<u16>,
        listener: Option<usize>,
    },
}

/// What the real sender observed.
#[derive(Debug)]
enum Observed {
    Ping(PingSeen),
    Tcp {
        seen: TcpSeen,
        /// The ICMP errors the sender's kernel received (a socket shows only an errno).
        errors: Vec<IcmpSeen>,
    },
}

fn query(traffic: &Traffic) -> Query {
    let unspecified = |dst: IpAddr| -> IpAddr {
        if dst.is_ipv6() {
            ip("::")
        } else {
            ip("0.0.0.0")
        }
    };
    let (from, packet, size) = match traffic {
        Traffic::Ping { from, dst, .. } => (*from, echo_request(*dst), None),
        Traffic::Tcp {
            from, dst, segment, ..
        } => {
            let l4 = L4::Tcp {
                sport: 40000,
                dport: dst.port(),
                flags: TcpFlags::SYN,
            };
            (
                *from,
                Packet::new(unspecified(dst.ip()), dst.ip(), l4),
                *segment,
            )
        }
    };
    Query {
        size,
        ..Query::new(from, packet)
    }
}

/// Sends `traffic` for real on `net`; returns what the sender observed and every node's
/// kernel walks.
fn send(
    net: &mut TestNetwork,
    topo: &Topology,
    traffic: &Traffic,
) -> (Observed, Vec<NodeWalks>, Duration) {
    match traffic {
        Traffic::Ping { from, dst, wait } => {
            let p = Ping {
                wait: Duration::from_secs(*wait),
                ..Ping::to(*dst)
            };
            let ex = net.ping(&topo.nodes[*from].name, &p).expect("ping runs");
            for line in ex.transcript.lines().filter(|l| !l.trim().is_empty()) {
                eprintln!("    | {line}");
            }
            (Observed::Ping(ex.seen), ex.hops, ex.elapsed)
        }
        Traffic::Tcp {
            from,
            dst,
            write,
            listener,
            ..
        } => {
            let probe = TcpProbe {
                dst: *dst,
                listener: listener.map(|l| topo.nodes[l].name.clone()),
                write: *write,
                timeout: Duration::from_secs(2),
            };
            let name = &topo.nodes[*from].name;
            let ex = net.tcp(name, &probe).expect("tcp runs");
            let mut errors = ex.icmp_errors_received(name);
            errors.dedup();
            (
                Observed::Tcp {
                    seen: ex.seen,
                    errors,
                },
                ex.hops,
                ex.elapsed,
            )
        }
    }
}

/// One case: builds `topo` in namespaces, lets `prepare` change the network and the model
/// (to read back what the kernel made), walks the model, sends the traffic for real and
/// asserts that the two agree. Returns the case for its own assertions.
fn judge(
    name: &str,
    topo: Topology,
    traffic: Traffic,
    prepare: impl FnOnce(&TestNetwork, &mut Topology),
) -> Option<Judged> {
    let judged = run(name, topo, traffic, prepare)?;
    assert!(
        judged.comparison.agree,
        "{name}: the walk and the kernel disagree (see the table above)"
    );
    Some(judged)
}

/// [`judge`] without the assertion: the comparison is in the result.
fn run(
    name: &str,
    topo: Topology,
    traffic: Traffic,
    prepare: impl FnOnce(&TestNetwork, &mut Topology),
) -> Option<Judged> {
    if !kernel_tests_enabled(name) {
        return None;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let mut topo = topo;
    let mut net = TestNetwork::build(&topo).expect("the topology builds");
    for note in &net.notes {
        eprintln!("  note: {note}");
    }
    prepare(&net, &mut topo);
    let walked = network::walk(&topo, &query(&traffic));
    let (observed, hops, elapsed) = send(&mut net, &topo, &traffic);
    drop(net);
    assert_no_namespaces_of_this_process();
    let comparison = compare(&topo, &walked, &traffic, &observed, &hops);
    eprintln!("{name}:\n{}", comparison.table);
    eprintln!("{name}: sent in {elapsed:?}, {:?} in all", t0.elapsed());
    Some(Judged {
        walked,
        topo,
        elapsed,
        comparison,
    })
}

/// A case the walk and the kernel agree on, for its own further assertions.
struct Judged {
    walked: PathWalk,
    /// The model as walked (after `prepare`).
    topo: Topology,
    /// From the first packet sent to the sender's observation.
    elapsed: Duration,
    comparison: Comparison,
}

/// The side-by-side of a walk and the kernel's walks, and whether they agree.
struct Comparison {
    table: String,
    agree: bool,
}

/// (a) what the sender sees, (b) every hop of every leg against its kernel walk, and no
/// kernel walk of a lost packet after the host that lost it.
fn compare(
    topo: &Topology,
    walked: &PathWalk,
    traffic: &Traffic,
    observed: &Observed,
    hops: &[NodeWalks],
) -> Comparison {
    let mut table = String::new();
    let mut agree = true;
    let mut line = |ok: bool, text: String| {
        agree &= ok;
        let _ = writeln!(table, "  {} {text}", if ok { "  " } else { "XX" });
    };
    let sees = sender_sees(walked);
    line(
        sender_agrees(&sees, observed, walked),
        format!("sender sees | walk: {sees:?} | kernel: {observed:?}"),
    );
    let port = match traffic {
        Traffic::Tcp { dst, .. } => Some(dst.port()),
        Traffic::Ping { .. } => None,
    };
    let walks_at = |node: usize| -> &[KernelWalk] {
        hops.iter()
            .find(|h| h.node == topo.nodes[node].name)
            .map_or(&[], |h| h.walks.as_slice())
    };
    for (l, leg) in walked.legs.iter().enumerate() {
        line(true, format!("leg {l} {:?}, ends {:?}", leg.role, leg.end));
        for (i, hop) in leg.hops.iter().enumerate() {
            let node = &topo.nodes[hop.node];
            let matching: Vec<&KernelWalk> = walks_at(hop.node)
                .iter()
                .filter(|w| first_headers(w).is_some_and(|h| same_packet(&h, &hop.packet, port)))
                .collect();
            let expected = expected_fate(leg, i);
            let kernel = kernel_text(topo, hop.node, &matching);
            let ok = match &expected {
                Expected::NoWalk => matching.is_empty(),
                Expected::Undecided => false,
                // A packet a host sends to itself: the kernel traces it out of `lo` and
                // back in; the walk's one hop says where it ends.
                Expected::Engine {
                    fate: Fate::Delivered { .. },
                    ..
                } if hop.arrived_on.is_none() => matching.iter().any(|w| {
                    w.packet.iif.as_deref() == Some("lo") && w.fate == KernelFate::Delivered
                }),
                Expected::Engine { .. } | Expected::Stub(_) => matching
                    .iter()
                    .any(|w| w.packet.iif == hop.arrived_on && fate_agrees(&expected, w)),
            };
            line(
                ok,
                format!(
                    "  hop {i} {} {}: {} | walk: {} | kernel: {kernel}",
                    node.name,
                    hop.arrived_on
                        .as_deref()
                        .map_or("(sends)".to_string(), |i| format!("(in {i})")),
                    hop.packet,
                    expected_text(topo, hop.node, &expected),
                ),
            );
        }
        if leg.end == LegEnd::Arrived {
            continue;
        }
        // Lost: no host the leg did not reach traces the packet (unless another leg of the
        // walk takes the same packet there, as a segment sent again after PMTU discovery).
        let Some(last) = leg.hops.last() else {
            continue;
        };
        let lost: Vec<&Packet> = std::iter::once(&last.packet)
            .chain(last.egress.as_ref().map(|e| &e.packet))
            .collect();
        for other in (0..topo.nodes.len()).filter(|n| leg.hops.iter().all(|h| h.node != *n)) {
            let carried_by_another_leg = walked.legs.iter().enumerate().any(|(k, o)| {
                k != l && o.role == leg.role && o.hops.iter().any(|h| h.node == other)
            });
            if carried_by_another_leg {
                continue;
            }
            let seen: Vec<String> = walks_at(other)
                .iter()
                .filter(|w| {
                    first_headers(w).is_some_and(|h| lost.iter().any(|p| same_packet(&h, p, port)))
                })
                .map(|w| format!("{} {}", w.packet, kernel_fate_text(&w.fate)))
                .collect();
            line(
                seen.is_empty(),
                format!(
                    "  after the loss, {} traces none of it | kernel: {seen:?}",
                    topo.nodes[other].name
                ),
            );
        }
    }
    Comparison { table, agree }
}

/// What the walk says a hop's kernel did with the packet.
#[derive(Debug)]
enum Expected {
    /// The engine's fate on a Linux host, and for a drop or a REJECT the rule or policy
    /// that decided it.
    Engine {
        fate: Fate,
        decider: Option<Decider>,
    },
    /// A stub's fate: it forwards by its routes and takes what is for it.
    Stub(KernelFate),
    /// A packet the host itself sends that routing refuses: the kernel looks the route up
    /// before the output hook, so no trace of it exists.
    NoWalk,
    /// The walk cannot say (a comparison cannot pass).
    Undecided,
}

fn expected_fate(leg: &network::Leg, i: usize) -> Expected {
    let hop = &leg.hops[i];
    match &hop.kind {
        HopKind::Linux { outcome } => {
            if outcome.decided_fate().is_none() {
                return Expected::Undecided;
            }
            let trace = outcome.primary();
            if hop.arrived_on.is_none() && matches!(trace.fate, Fate::RoutingFailed { .. }) {
                return Expected::NoWalk;
            }
            Expected::Engine {
                fate: trace.fate.clone(),
                decider: matches!(trace.fate, Fate::Dropped | Fate::Rejected { .. })
                    .then(|| trace.decider.clone()),
            }
        }
        HopKind::Stub { .. } => {
            let fate = match (&hop.egress, &hop.arrived_on) {
                (Some(e), None) => KernelFate::Sent { oif: e.oif.clone() },
                (Some(e), Some(_)) => KernelFate::Forwarded { oif: e.oif.clone() },
                (None, _) if i + 1 == leg.hops.len() && leg.end == LegEnd::Arrived => {
                    KernelFate::Delivered
                }
                (None, _) => return Expected::Undecided,
            };
            Expected::Stub(fate)
        }
    }
}

fn fate_agrees(expected: &Expected, w: &KernelWalk) -> bool {
    let (engine, decider) = match expected {
        Expected::Engine { fate, decider } => (fate, decider),
        Expected::Stub(fate) => return w.fate == *fate,
        Expected::NoWalk | Expected::Undecided => return false,
    };
    if !analysis::agree::fate_matches(&w.fate, engine, w.packet.is_ipv6()) {
        return false;
    }
    let step = match w.fate {
        KernelFate::Dropped { step } | KernelFate::Rejected { step, .. } => step,
        _ => return true,
    };
    let placed = w.steps.get(step).map(|s| &s.at);
    match (decider, placed) {
        (Some(Decider::Rule(e)), Some(Placement::Rule(k))) => {
            e.chain_ref() == k.chain_ref() && e.rule == k.rule
        }
        (Some(Decider::Policy(e)), Some(Placement::Policy(k))) => e == k,
        _ => false,
    }
}

/// ` by CHAIN #N` / ` by CHAIN policy`: the rule or policy that decided, in `node`'s ruleset.
fn decided_by(topo: &Topology, node: usize, at: Option<&Placement>) -> String {
    let rs = &topo.nodes[node].ruleset;
    match at {
        Some(Placement::Rule(r)) => {
            format!(" by {} #{}", rs.chain_at(r.chain_ref()).name, r.rule + 1)
        }
        Some(Placement::Policy(c)) => format!(" by {} policy", rs.chain_at(*c).name),
        other => format!(" at {other:?}"),
    }
}

/// The walk's hop, in the words of the table.
fn expected_text(topo: &Topology, node: usize, expected: &Expected) -> String {
    let (fate, decider) = match expected {
        Expected::Engine { fate, decider } => (fate, decider),
        Expected::Stub(k) => return format!("stub: {}", kernel_fate_text(k)),
        Expected::NoWalk => return "routing fails before the output hook: no trace".into(),
        Expected::Undecided => return "undecided".into(),
    };
    let what = match fate {
        Fate::Delivered { .. } => "delivered".to_string(),
        Fate::Forwarded { oif, .. } => format!("forwarded out {oif}"),
        Fate::Sent { oif } => format!("sent out {oif}"),
        Fate::Dropped => "dropped".to_string(),
        Fate::Rejected { with } => format!("rejected with {with:?}"),
        Fate::RoutingFailed { reason } => format!("lost in routing ({reason:?})"),
        other => format!("{other:?}"),
    };
    let by = match decider {
        Some(Decider::Rule(r)) => decided_by(topo, node, Some(&Placement::Rule(*r))),
        Some(Decider::Policy(c)) => decided_by(topo, node, Some(&Placement::Policy(*c))),
        Some(other) => format!(" by {other:?}"),
        None => String::new(),
    };
    what + &by
}

fn kernel_fate_text(k: &KernelFate) -> String {
    match k {
        KernelFate::Delivered => "delivered".into(),
        KernelFate::Forwarded { oif } => format!("forwarded out {oif}"),
        KernelFate::Sent { oif } => format!("sent out {oif}"),
        KernelFate::Dropped { .. } => "dropped".into(),
        KernelFate::Rejected { with, .. } => format!("rejected with {with:?}"),
        KernelFate::Vanished { after } => format!("vanished after {after:?}"),
        other => format!("{other:?}"),
    }
}

/// The kernel's walks of one packet at `node`, identical ones counted (a retransmitted SYN,
/// the segments of a stream).
fn kernel_text(topo: &Topology, node: usize, walks: &[&KernelWalk]) -> String {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for w in walks {
        let by = match w.fate {
            KernelFate::Dropped { step } | KernelFate::Rejected { step, .. } => {
                decided_by(topo, node, w.steps.get(step).map(|s| &s.at))
            }
            _ => String::new(),
        };
        let text = format!(
            "{}{}{by}",
            w.packet
                .iif
                .as_deref()
                .map_or(String::new(), |i| format!("in {i}, ")),
            kernel_fate_text(&w.fate)
        );
        match seen.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None => seen.push((text, 1)),
        }
    }
    if seen.is_empty() {
        return "no trace".into();
    }
    seen.iter()
        .map(|(t, n)| {
            if *n == 1 {
                t.clone()
            } else {
                format!("{n}x {t}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the kernel's first headers `h` are the walk's packet `p`: addresses, protocol,
/// ICMP type and code, TCP flags (PSH aside) and the service's port (the client's port and
/// the echo id are the sender's own choice), and for TCP whether it carries data.
fn same_packet(h: &Headers, p: &Packet, port: Option<u16>) -> bool {
    let addresses = h.src == p.src && h.dst == p.dst && h.proto == p.proto().number();
    addresses
        && match p.l4 {
            L4::Icmp {
                icmp_type, code, ..
            }
            | L4::Icmpv6 {
                icmp_type, code, ..
            } => h.icmp == Some((icmp_type, code)),
            L4::Tcp { flags, .. } => {
                const SIGNIFICANT: u8 = 0x17; // FIN SYN RST ACK
                h.tcp_flags.map(|f| f.0 & SIGNIFICANT) == Some(flags.0 & SIGNIFICANT)
                    && port.is_none_or(|s| h.ports.is_some_and(|(a, b)| a == s || b == s))
                    && (h.len > 100) == (p.len > 100)
            }
            _ => true,
        }
}

fn icmp_of(l4: &L4) -> Option<(u8, u8)> {
    match *l4 {
        L4::Icmp {
            icmp_type, code, ..
        }
        | L4::Icmpv6 {
            icmp_type, code, ..
        } => Some((icmp_type, code)),
        _ => None,
    }
}

/// (a): the walk's `SenderSees` against what the sender observed.
fn sender_agrees(sees: &SenderSees, observed: &Observed, walked: &PathWalk) -> bool {
    let data_lost = matches!(walked.outcome, network::Outcome::Fails { leg, .. }
        if walked.legs[leg].role == LegRole::Data);
    match (sees, observed) {
        (SenderSees::Answer { from }, Observed::Ping(PingSeen::Reply { from: f })) => from == f,
        (
            SenderSees::Answer { .. },
            Observed::Tcp {
                seen: TcpSeen::Connected { written, delivered },
                ..
            },
        ) => written == delivered,
        (
            SenderSees::Refused { .. },
            Observed::Tcp {
                seen: TcpSeen::Failed(SocketError::Refused),
                ..
            },
        ) => true,
        (SenderSees::Error { from, l4, mtu }, Observed::Ping(PingSeen::Error(e))) => {
            e.from == *from
                && icmp_of(l4) == Some((e.icmp_type, e.code))
                && (e.mtu.is_none() || e.mtu == *mtu)
        }
        (SenderSees::Error { from, l4, .. }, Observed::Tcp { seen, errors }) => {
            matches!(seen, TcpSeen::Failed(_))
                && errors
                    .iter()
                    .any(|e| e.from == *from && icmp_of(l4) == Some((e.icmp_type, e.code)))
        }
        (SenderSees::Nothing, Observed::Ping(PingSeen::Timeout)) => true,
        (
            SenderSees::Nothing,
            Observed::Tcp {
                seen: TcpSeen::Failed(SocketError::TimedOut),
                ..
            },
        ) => !data_lost,
        (
            SenderSees::Nothing,
            Observed::Tcp {
                seen: TcpSeen::Connected { written, delivered },
                ..
            },
        ) => data_lost && delivered < written,
        (
            SenderSees::SendFails {
                too_big: Some(m), ..
            },
            Observed::Ping(PingSeen::LocalError { mtu, .. }),
        ) => *mtu == Some(*m),
        (
            SenderSees::SendFails { too_big: None, .. },
            Observed::Ping(PingSeen::SendFailed { .. }),
        ) => true,
        _ => false,
    }
}

/// An iptables-save filter table with the given policies and rules.
fn filter(input: &str, forward: &str, rules: &[&str]) -> String {
    let mut text =
        format!("*filter\n:INPUT {input} [0:0]\n:FORWARD {forward} [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for r in rules {
        text.push_str(r);
        text.push('\n');
    }
    text + "COMMIT\n"
}

fn ping_of(from: usize, dst: &str, wait: u64) -> Traffic {
    Traffic::Ping {
        from,
        dst: ip(dst),
        wait,
    }
}

fn unchanged(_: &TestNetwork, _: &mut Topology) {}

// (1) Source address selection with a temporary address.
#[test]
fn a_kernel_made_temporary_source_address_the_far_end_refuses_times_out() {
    let (mut n, [c, _, s]) = v6_through_a_router("wlan0", &["2001:db8:2::2/64"]);
    n.sysctl(c, "net.ipv6.conf.all.use_tempaddr", "2")
        .sysctl(c, "net.ipv6.conf.wlan0.use_tempaddr", "2")
        .iptables(
            s,
            Family::Ip6,
            &filter(
                "DROP",
                "ACCEPT",
                &[
                    "-A INPUT -s 2001:db8:1::2/128 -j ACCEPT",
                    "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT",
                    "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-advertisement -j ACCEPT",
                ],
            ),
        );
    let judged = judge(
        "a_kernel_made_temporary_source_address_the_far_end_refuses_times_out",
        n.build(),
        ping_of(c, "2001:db8:2::2", 1),
        |net, topo| {
            // The kernel makes a temporary address for a `mngtmpaddr` one (use_tempaddr 2).
            let ns = &net.node("client").unwrap().ns;
            let tempaddr = ns
                .exec("sysctl", &["-n", "net.ipv6.conf.wlan0.use_tempaddr"], None)
                .unwrap();
            assert_eq!(tempaddr.trim(), "2", "the model's use_tempaddr is built");
            ns.exec(
                "ip",
                &["-6", "addr", "del", "2001:db8:1::2/64", "dev", "wlan0"],
                None,
            )
            .unwrap();
            ns.exec(
                "ip",
                &[
                    "-6",
                    "addr",
                    "add",
                    "2001:db8:1::2/64",
                    "dev",
                    "wlan0",
                    "mngtmpaddr",
                    "nodad",
                ],
                None,
            )
            .unwrap();
            let t0 = Instant::now();
            let listing = loop {
                let out = ns
                    .exec("ip", &["-j", "addr", "show", "dev", "wlan0"], None)
                    .unwrap();
                if out.contains("\"temporary\":true") || t0.elapsed() > Duration::from_secs(3) {
                    break out;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            eprintln!("  temporary address after {:?}", t0.elapsed());
            // Read back with the project's reader, into the model.
            let read = frontends::host::iproute::parse_addrs(&model::SourceFile::new(
                "ip-addr.json",
                listing,
            ))
            .expect("ip -j addr reads");
            let wlan0 = read.into_iter().find(|i| i.name == "wlan0").unwrap();
            assert!(
                wlan0.addrs.iter().any(|a| a.temporary),
                "the kernel made no temporary address: {:?}",
                wlan0.addrs
            );
            let model_iface = topo.nodes[c]
                .host
                .interfaces
                .iter_mut()
                .find(|i| i.name == "wlan0")
                .unwrap();
            model_iface.addrs = wlan0.addrs;
        },
    );
    if let Some(j) = judged {
        let source = j.walked.source.addr.expect("a source");
        let temporary = j.topo.nodes[c]
            .host
            .interfaces
            .iter()
            .flat_map(|i| &i.addrs)
            .any(|a| a.addr == source && a.temporary);
        assert!(
            temporary,
            "the source {source} is the kernel's temporary address"
        );
        // The fix on the sender: send from its public address, which the walk proves and
        // the kernel confirms (`ping -I 2001:db8:1::2` is answered).
        let query = query(&ping_of(c, "2001:db8:2::2", 1));
        let fix = network::fix::fix(&j.topo, &query, &j.walked).expect("a fix");
        let other = fix
            .alternative
            .as_ref()
            .expect("the sender's other address");
        let network::fix::Change::Source { addr, .. } = other.change else {
            panic!("{:?}", other.change)
        };
        assert_eq!(addr, ip("2001:db8:1::2"));
        assert!(other.works(), "{:#?}", other.proof);
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let mut net = TestNetwork::build(&j.topo).expect("the topology builds");
        let ping = Ping {
            interface: Some(addr.to_string()),
            ..Ping::to(ip("2001:db8:2::2"))
        };
        let seen = net.ping("client", &ping).expect("ping runs");
        drop(net);
        assert_no_namespaces_of_this_process();
        assert!(
            matches!(seen.seen, PingSeen::Reply { .. }),
            "ping -I {addr}: {:?}\n{}",
            seen.seen,
            seen.transcript
        );
    }
}

// (2) No route back.
#[test]
fn no_route_back_on_the_far_end_loses_the_reply_there() {
    let (mut n, [a, _, b]) = two_hosts_through_a_router();
    n.unroute(b, "0.0.0.0/0").unroute(b, "::/0");
    let topo = n.build();
    for dst in ["10.0.2.2", "fd00:2::2"] {
        judge(
            &format!("no_route_back_on_the_far_end_loses_the_reply_there ({dst})"),
            topo.clone(),
            ping_of(a, dst, 1),
            unchanged,
        );
    }
}

// (3) Global vs link-local next hop.
#[test]
fn a_link_local_next_hop_works_and_a_global_one_off_the_link_is_refused_by_the_kernel() {
    let (n, [a, _, _]) = two_hosts_through_a_link_local_router();
    let name = "a_link_local_next_hop_works_and_a_global_one_off_the_link_is_refused_by_the_kernel";
    judge(name, n.build(), ping_of(a, "fd00:2::2", 1), |net, _| {
        // A global next hop on no link of eth0: the kernel refuses the route.
        let refused = net.node("a").unwrap().ns.exec(
            "ip",
            &[
                "-6",
                "route",
                "add",
                "fd00:9::/64",
                "via",
                "fd00:5::1",
                "dev",
                "eth0",
            ],
            None,
        );
        let err = refused
            .expect_err("the kernel refuses a gateway off the link")
            .to_string();
        eprintln!("  kernel: {err}");
        assert!(err.contains("No route to host"), "{err}");
    });
    // The topology reader refuses the same route line with the kernel's words.
    let toml = "[host.a]\ninterfaces.eth0 = { addresses = [\"fd00:1::2/64\"] }\nroutes = [\"fd00:9::/64 via fd00:5::1 dev eth0\"]\n";
    let err = frontends::topology::from_source(&model::SourceFile::new("t.toml", toml), None)
        .expect_err("the reader refuses the route")
        .to_string();
    assert!(
        err.contains("No route to host") && err.contains("fd00:5::1"),
        "{err}"
    );
}

// (4) ND failure in the middle.
#[test]
fn an_unanswered_neighbour_solicitation_at_the_router_gives_address_unreachable_from_it() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    let judged = judge(
        "an_unanswered_neighbour_solicitation_at_the_router_gives_address_unreachable_from_it",
        n.build(),
        ping_of(a, "fd00:2::99", 6),
        unchanged,
    );
    // Neighbour discovery gives up after its three solicitations, a second apart.
    if let Some(j) = judged {
        assert!(
            j.elapsed >= Duration::from_secs(2) && j.elapsed < Duration::from_secs(6),
            "{:?}",
            j.elapsed
        );
    }
}

// (4b) Neighbour discovery dropped by a firewall that accepts only established traffic:
// conntrack leaves ND untracked, so the router never resolves the server.
#[test]
fn an_ipv6_firewall_accepting_only_established_drops_neighbour_discovery() {
    let (mut n, [a, _, b]) = two_hosts_through_a_router();
    n.iptables(
        b,
        Family::Ip6,
        &filter(
            "DROP",
            "ACCEPT",
            &[
                "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT",
            ],
        ),
    );
    let judged = judge(
        "an_ipv6_firewall_accepting_only_established_drops_neighbour_discovery",
        n.build(),
        ping_of(a, "fd00:2::2", 6),
        unchanged,
    );
    if let Some(j) = judged {
        let filtered = j.walked.legs[0].hops.iter().any(|h| {
            h.egress
                .as_ref()
                .is_some_and(|e| matches!(e.resolution, network::Resolution::Filtered { .. }))
        });
        assert!(filtered, "the walk names the firewall that drops ND");
    }
}

// (5) Overlapping prefixes.
#[test]
fn a_prefix_of_the_clients_network_on_the_servers_link_keeps_the_reply_there() {
    let (n, [c, _, _]) = v6_through_a_router("eth0", &["2001:db8:2::2/64", "2001:db8:1::99/64"]);
    // Long enough for the server's own neighbour discovery to give up (~3 s) and send
    // itself the "address unreachable" the walk says it does.
    judge(
        "a_prefix_of_the_clients_network_on_the_servers_link_keeps_the_reply_there",
        n.build(),
        ping_of(c, "2001:db8:2::2", 5),
        unchanged,
    );
}

// (6) Story 1 with its three systems.
#[test]
fn story1_the_zos_stub_through_the_ufw_router_to_the_laptop() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../frontends/tests/fixtures/topology/story1/topology.toml");
    let topo = frontends::topology::load_file(&path).expect("the story 1 topology loads");
    let node = |name: &str| topo.nodes.iter().position(|n| n.name == name).unwrap();
    let (zos, laptop) = (node("zos"), node("laptop"));
    judge(
        "story1 ping",
        topo.clone(),
        ping_of(zos, "10.1.0.2", 1),
        unchanged,
    );
    judge(
        "story1 tcp 2175",
        topo,
        Traffic::Tcp {
            from: zos,
            dst: "10.1.0.2:2175".parse().unwrap(),
            write: 0,
            segment: None,
            listener: Some(laptop),
        },
        unchanged,
    );
}

/// a -(9000)- r -(1400)- b, b's interface taking jumbo frames too: b offers an MSS of
/// 8960, so a's full-size segments need the path MTU r's "fragmentation needed" tells.
fn narrow_middle() -> (Net, [usize; 3]) {
    let (mut n, [a, r, b]) = two_hosts_through_a_router();
    n.mtu(a, "eth0", 9000)
        .mtu(r, "eth0", 9000)
        .mtu(r, "eth1", 1400)
        .mtu(b, "eth0", 9000);
    (n, [a, r, b])
}

fn full_size_tcp(from: usize, listener: usize) -> Traffic {
    Traffic::Tcp {
        from,
        dst: "10.0.2.2:9000".parse().unwrap(),
        write: 100_000,
        segment: Some(9000),
        listener: Some(listener),
    }
}

// (7) The PMTU black hole.
#[test]
fn a_client_dropping_frag_needed_is_a_pmtu_black_hole_and_allowing_it_works() {
    let (n, [a, _, b]) = narrow_middle();
    judge(
        "pmtu: ICMP allowed",
        n.build(),
        full_size_tcp(a, b),
        unchanged,
    );
    let (mut n, [a, _, b]) = narrow_middle();
    n.iptables(
        a,
        Family::Ip,
        &filter(
            "ACCEPT",
            "ACCEPT",
            &["-A INPUT -p icmp --icmp-type destination-unreachable -j DROP"],
        ),
    );
    judge(
        "pmtu: black hole",
        n.build(),
        full_size_tcp(a, b),
        unchanged,
    );
}

fn tcp_443(from: usize, dst: &str) -> Traffic {
    Traffic::Tcp {
        from,
        dst: format!("{dst}:443").parse().unwrap(),
        write: 0,
        segment: None,
        listener: None,
    }
}

// (8) Hairpin NAT.
#[test]
fn hairpin_nat_answers_from_the_wrong_address_until_masquerade_is_added() {
    let (n, [c, ..]) = hairpin_nat(&[]);
    judge(
        "hairpin NAT without SNAT",
        n.build(),
        tcp_443(c, "203.0.113.1"),
        unchanged,
    );
    let (n, [c, ..]) = hairpin_nat(&[
        "-A POSTROUTING -s 192.168.1.0/24 -d 192.168.1.10/32 -p tcp --dport 443 -j MASQUERADE",
    ]);
    judge(
        "hairpin NAT with MASQUERADE",
        n.build(),
        tcp_443(c, "203.0.113.1"),
        unchanged,
    );
}

// (9) Asymmetric routing through a stateful firewall.
#[test]
fn a_reply_coming_back_through_another_stateful_router_is_dropped_there() {
    let (mut n, [c, _, r2, s]) = asymmetric_routers();
    n.iptables(
        r2,
        Family::Ip,
        &filter(
            "ACCEPT",
            "DROP",
            &[
                "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                "-A FORWARD -i eth1 -o eth0 -p tcp --syn -j ACCEPT",
            ],
        ),
    );
    n.listen(s, IpProto::Tcp, "0.0.0.0:443");
    judge(
        "a_reply_coming_back_through_another_stateful_router_is_dropped_there",
        n.build(),
        tcp_443(c, "10.0.2.2"),
        unchanged,
    );
}

#[test]
fn the_comparer_finds_a_router_whose_model_drops_what_its_kernel_forwards() {
    let (n, [a, r, _]) = two_hosts_through_a_router();
    let ran = run(
        "the_comparer_finds_a_router_whose_model_drops_what_its_kernel_forwards",
        n.build(),
        ping_of(a, "10.0.2.2", 1),
        |_, topo| {
            // Only the model's router drops pings; the kernel's forwards them.
            let rules = filter("ACCEPT", "ACCEPT", &["-A FORWARD -p icmp -j DROP"]);
            let src = model::SourceFile::new("r.rules", rules);
            topo.nodes[r].ruleset =
                frontends::iptables_save::parse(&src, Some(Family::Ip)).unwrap();
        },
    );
    let Some(j) = ran else { return };
    assert!(!j.comparison.agree);
    let wrong: Vec<&str> = j
        .comparison
        .table
        .lines()
        .filter(|l| l.trim_start().starts_with("XX"))
        .collect();
    assert_eq!(wrong.len(), 3, "{}", j.comparison.table);
    assert!(wrong[0].contains("sender sees"), "{wrong:?}");
    assert!(
        wrong[1].contains("hop 1 r") && wrong[1].contains("dropped by FORWARD #1"),
        "{wrong:?}"
    );
    assert!(wrong[2].contains("after the loss, b"), "{wrong:?}");
}

#[test]
fn the_comparer_tells_a_packet_by_its_service_port_flags_and_data() {
    let h = |flags: u8, len: u16| Headers {
        src: ip("10.0.1.2"),
        dst: ip("10.0.2.2"),
        proto: 6,
        tag: 0,
        ttl: 64,
        ports: Some((51234, 443)),
        tcp_flags: Some(TcpFlags(flags)),
        icmp: None,
        quoted_tag: None,
        tos: 0,
        len,
        dont_fragment: true,
        icmp_id: None,
    };
    let syn = Packet::new(
        ip("10.0.1.2"),
        ip("10.0.2.2"),
        L4::Tcp {
            sport: 40000,
            dport: 443,
            flags: TcpFlags::SYN,
        },
    );
    assert!(same_packet(&h(0x02, 60), &syn, Some(443)));
    assert!(!same_packet(&h(0x12, 60), &syn, Some(443)));
    assert!(!same_packet(&h(0x02, 60), &syn, Some(80)));
    let mut data = syn.clone();
    data.l4 = L4::Tcp {
        sport: 40000,
        dport: 443,
        flags: TcpFlags::ACK,
    };
    data.len = 1400;
    assert!(same_packet(&h(0x18, 1400), &data, Some(443)));
    assert!(!same_packet(&h(0x10, 52), &data, Some(443)));
}
