//! The random differential of small topologies against the kernel (issue 12, "How it is
//! checked"): networks from `testgen::random_topology` built in namespaces, probes (ping,
//! TCP, UDP) sent across them, and `network::walk` asked the same. A case is one probe; it
//! agrees when
//! (a) what the sender saw is what `network::sees::sender_sees` says (the answer and from
//!     whom, the ICMP error's source, type, code and MTU, a refusal, a timeout, a local
//!     error), and
//! (b) every hop of the walk (the first packet's way there, its answer or error and their
//!     way back) was traced by that node's kernel with the same fate and steps
//!     (`analysis::agree::compare`), and the request reached exactly the nodes the walk
//!     says.
//!
//! A case the walk cannot decide (`SenderSees::Unknown`) is counted apart, not compared.
//! `WB_PATH_CASES` (default 300), `WB_PATH_SEED` (default fixed, printed) and
//! `WB_PATH_SHRINK` (networks built to shrink one disagreement, default 24) change the
//! run; a disagreement prints the seed, the network, the probe and both sides, after
//! shrinking the network while the probe still disagrees.
#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)]

use analysis::agree::Divergence;
use engine::Errno;
use model::kernel_walk::{Headers, KernelFate, KernelWalk};
use model::topology::Topology;
use model::{Packet, TcpFlags, L4};
use network::sees::{sender_sees, SenderSees};
use network::{HopKind, LegEnd, LegRole, PathWalk, Query, Stop};
use oracle::topology::{
    first_headers, Exchange, IcmpSeen, Ping, PingSeen, SocketError, TcpProbe, TcpSeen, TestNetwork,
    UdpProbe, UdpSeen,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use testgen::kernel_tests::{
    assert_no_disagreements, assert_no_namespaces_of_this_process, env_usize, kernel_tests_enabled,
};
use testgen::random_topology::{generate, host_name, Probe, ProbeKind, Spec};

/// Cases (probes) in a default run.
const DEFAULT_CASES: usize = 300;
/// The first network's seed when `WB_PATH_SEED` is not set; network `i` has seed + i.
const DEFAULT_SEED: u64 = 1200;
/// Probes sent across one network (built once for them).
const PROBES_PER_NETWORK: usize = 8;
/// Networks built while shrinking one disagreement, at most (`WB_PATH_SHRINK` to change).
const SHRINK_BUDGET: usize = 24;

#[test]
fn random_topologies_agree_with_the_kernel() {
    if !kernel_tests_enabled("random_topologies_agree_with_the_kernel") {
        return;
    }
    let cases = env_usize("WB_PATH_CASES").unwrap_or(DEFAULT_CASES);
    let seed = env_usize("WB_PATH_SEED").map_or(DEFAULT_SEED, |s| s as u64);
    eprintln!("path differential: {cases} cases, networks from seed {seed}");
    let t0 = Instant::now();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut network_seed = seed;
    while tally.cases < cases {
        let (spec, probes) = generate(network_seed, PROBES_PER_NETWORK.min(cases - tally.cases));
        let mut net = match TestNetwork::build(&spec.topology()) {
            Ok(net) => net,
            Err(e) => {
                failures.push(format!(
                    "seed {network_seed}: the generated network does not build: {e}\n{}",
                    spec.dump()
                ));
                tally.cases += probes.len();
                network_seed += 1;
                continue;
            }
        };
        tally.networks += 1;
        for probe in &probes {
            tally.cases += 1;
            match run_case(&mut net, &spec, probe) {
                Verdict::Agree(seen) => *tally.agreed.entry(seen).or_default() += 1,
                Verdict::Undecided => tally.undecided += 1,
                Verdict::NotComparable(why) => *tally.not_comparable.entry(why).or_default() += 1,
                Verdict::Differ(problems) => {
                    tally.differ += 1;
                    let report = shrunk_report(network_seed, &spec, probe, &problems);
                    eprintln!("{report}");
                    failures.push(report);
                }
            }
        }
        drop(net);
        network_seed += 1;
    }
    assert_no_namespaces_of_this_process();
    eprintln!(
        "path differential: {} cases on {} networks (seeds {seed}..{network_seed}): {} agree \
         {:?}, {} undecided by the walk, not comparable {:?}, {} disagree; {:.1?}",
        tally.cases,
        tally.networks,
        tally.agreed.values().sum::<usize>(),
        tally.agreed,
        tally.undecided,
        tally.not_comparable,
        tally.differ,
        t0.elapsed()
    );
    assert_no_disagreements(&failures);
}

#[derive(Default)]
struct Tally {
    cases: usize,
    networks: usize,
    /// Cases that agree, by what the sender saw.
    agreed: BTreeMap<&'static str, usize>,
    undecided: usize,
    /// Cases the kernel decided by what the walk does not model, by why.
    not_comparable: BTreeMap<&'static str, usize>,
    differ: usize,
}

/// One case's result.
enum Verdict {
    /// They agree; what the sender saw, in a word.
    Agree(&'static str),
    Undecided,
    /// The kernel did something the walk does not claim to know; why.
    NotComparable(&'static str),
    /// What differs (each a line), with both sides.
    Differ(Vec<String>),
}

/// The disagreement of `probe` on `spec`, shrunk while it still disagrees, as printed.
fn shrunk_report(seed: u64, spec: &Spec, probe: &Probe, problems: &[String]) -> String {
    let mut best = (spec.clone(), problems.to_vec());
    let mut budget = env_usize("WB_PATH_SHRINK").unwrap_or(SHRINK_BUDGET);
    'smaller: while budget > 0 {
        for candidate in best.0.shrink_candidates() {
            if budget == 0 {
                break 'smaller;
            }
            budget -= 1;
            let Ok(mut net) = TestNetwork::build(&candidate.topology()) else {
                continue;
            };
            if let Verdict::Differ(p) = run_case(&mut net, &candidate, probe) {
                best = (candidate, p);
                continue 'smaller;
            }
        }
        break;
    }
    let shrunk = if best.0 == *spec {
        String::new()
    } else {
        format!("\nshrunk to:\n{}  {}", best.0.dump(), best.1.join("\n  "))
    };
    format!(
        "seed {seed}: {} (again: WB_PATH_SEED={seed} WB_PATH_CASES={PROBES_PER_NETWORK})\n{}  \
         {}{shrunk}",
        probe.describe(),
        spec.dump(),
        problems.join("\n  ")
    )
}

/// The walk's question for `probe`.
fn query(probe: &Probe) -> Query {
    let six = probe.dst.is_ipv6();
    let l4 = match probe.kind {
        ProbeKind::Ping { .. } if six => L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: 7,
        },
        ProbeKind::Ping { .. } => L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 7,
        },
        ProbeKind::Tcp { port, .. } => L4::Tcp {
            sport: 40000,
            dport: port,
            flags: TcpFlags::SYN,
        },
        ProbeKind::Udp { port } => L4::Udp {
            sport: 40000,
            dport: port,
        },
    };
    let unspecified = if six {
        IpAddr::from([0u16; 8])
    } else {
        IpAddr::from([0u8; 4])
    };
    let mut packet = Packet::new(probe.src.unwrap_or(unspecified), probe.dst, l4);
    let size = match probe.kind {
        ProbeKind::Ping {
            size,
            dont_fragment,
        } => {
            packet.dont_fragment = dont_fragment;
            size
        }
        // A bulk write: segments as large as both ends' MSS allow.
        ProbeKind::Tcp { write, .. } if write > 0 => Some(9000),
        _ => None,
    };
    Query {
        from: probe.from,
        bind: probe
            .src
            .map_or(network::Bind::None, network::Bind::Address),
        // `ping -M do`: a too-big error is the answer, nothing is sent smaller.
        dont_fragment: matches!(
            probe.kind,
            ProbeKind::Ping {
                dont_fragment: true,
                ..
            }
        ),
        packet,
        size,
        options: Default::default(),
    }
}

/// Runs one probe on a network built from `spec` and compares.
fn run_case(net: &mut TestNetwork, spec: &Spec, probe: &Probe) -> Verdict {
    let topo = probe.topology(spec);
    let walked = network::walk(&topo, &query(probe));
    let sees = sender_sees(&walked);
    if sees == SenderSees::Unknown {
        return Verdict::Undecided;
    }
    if let Err(e) = reset(net) {
        return Verdict::Differ(vec![format!("resetting the network failed: {e}")]);
    }
    // Neighbour resolution gives up after about 3 s: wait for its error when the walk
    // expects one or nobody owns the destination.
    let slow = spec.owner(probe.dst).is_none() || resolution_fails(&walked);
    let wait = Duration::from_secs(if slow { 5 } else { 1 });
    let from = host_name(probe.from);
    let mut problems = Vec::new();
    let hops = match &probe.kind {
        ProbeKind::Ping {
            size,
            dont_fragment,
        } => {
            let six = probe.dst.is_ipv6();
            let p = Ping {
                dst: probe.dst,
                size: size.map(|s| u32::from(s) - if six { 48 } else { 28 }),
                pmtu: size.map(|_| if *dont_fragment { "do" } else { "dont" }),
                interface: probe.src.map(|s| s.to_string()),
                wait,
            };
            match net.ping(&from, &p) {
                Ok(ex) => {
                    problems.extend(
                        ping_differs(&sees, &ex.seen)
                            .map(|d| format!("{d}\n  ping printed: {}", ex.transcript.trim())),
                    );
                    ex.hops
                }
                Err(e) => return Verdict::Differ(vec![format!("ping did not run: {e}")]),
            }
        }
        ProbeKind::Tcp { port, write } => {
            let p = TcpProbe {
                dst: SocketAddr::new(probe.dst, *port),
                listener: probe.listener.map(host_name),
                write: *write,
                timeout: wait.max(Duration::from_millis(1500)),
            };
            match net.tcp(&from, &p) {
                Ok(ex) if gso_past_a_smaller_mtu(&walked, &ex.seen) => {
                    return Verdict::NotComparable(GSO_PAST_A_SMALLER_MTU)
                }
                Ok(ex) => {
                    problems.extend(tcp_differs(&walked, &sees, &ex, &from, *write));
                    ex.hops
                }
                Err(e) => return Verdict::Differ(vec![format!("tcp did not run: {e}")]),
            }
        }
        ProbeKind::Udp { port } => {
            let p = UdpProbe {
                dst: SocketAddr::new(probe.dst, *port),
                listener: probe.listener.map(host_name),
                timeout: wait,
            };
            match net.udp(&from, &p) {
                Ok(ex) => {
                    problems.extend(udp_differs(&sees, &ex, &from));
                    ex.hops
                }
                Err(e) => return Verdict::Differ(vec![format!("udp did not run: {e}")]),
            }
        }
    };
    problems.extend(hops_differ(&topo, &walked, probe, &hops));
    if problems.is_empty() {
        Verdict::Agree(match sees {
            SenderSees::Answer { .. } => "answer",
            SenderSees::Refused { .. } => "refused",
            SenderSees::Error { .. } => "error from a hop",
            SenderSees::SendFails { .. } => "send fails",
            SenderSees::Nothing | SenderSees::Unknown => "nothing",
        })
    } else {
        problems.insert(0, format!("walk: sender sees {sees:?}"));
        problems.push(format!("walk legs:\n{}", legs_dump(&topo, &walked)));
        Verdict::Differ(problems)
    }
}

/// A veth passes a GSO packet whatever its peer's MTU (`is_skb_forwardable`), so TCP
/// segments a local socket sends cross a link whose far end has a smaller MTU; a real
/// NIC sends MSS-sized frames which a receiver with a smaller MTU may or may not take. The
/// walk says such a frame is dropped.
const GSO_PAST_A_SMALLER_MTU: &str = "TCP data past a receiver with a smaller MTU (GSO)";

/// Whether the walk lost a TCP data segment to a receiver's smaller MTU where the kernel
/// delivered the data.
fn gso_past_a_smaller_mtu(walked: &PathWalk, seen: &TcpSeen) -> bool {
    let too_big = walked.legs.iter().any(|l| {
        l.role == LegRole::Data && matches!(l.end, LegEnd::Stopped(Stop::FrameTooBig { .. }))
    });
    too_big && matches!(seen, TcpSeen::Connected { delivered, .. } if *delivered > 0)
}

/// Forgets what earlier probes left: conntrack entries, learned path MTUs and resolved
/// neighbours (the walk resolves each next hop afresh: an earlier ARP exchange would
/// spare a later probe the checks a new request gets).
fn reset(net: &TestNetwork) -> Result<(), oracle::LiveError> {
    for node in &net.nodes {
        // `conntrack -F` exits non-zero on an empty table with some versions.
        let _ = netlink::cmd::in_ns(node.ns.name(), "conntrack", &["-F"], None)?;
        node.ns
            .ip_batch(None, "route flush cache\nneigh flush all\n")?;
        node.ns.ip_batch(Some("-6"), "route flush cache\n")?;
    }
    Ok(())
}

fn resolution_fails(walked: &PathWalk) -> bool {
    walked
        .legs
        .iter()
        .any(|l| matches!(l.end, LegEnd::Stopped(Stop::Neighbour { .. })))
}

/// The ICMP error type and code in `l4`, with its family (IPv6 when `true`).
fn icmp_of(l4: &L4) -> Option<(u8, u8, bool)> {
    match *l4 {
        L4::Icmp {
            icmp_type, code, ..
        } => Some((icmp_type, code, false)),
        L4::Icmpv6 {
            icmp_type, code, ..
        } => Some((icmp_type, code, true)),
        _ => None,
    }
}

/// What ping shows of the walk's `sees`, against what it printed.
fn ping_differs(sees: &SenderSees, seen: &PingSeen) -> Option<String> {
    let agree = match (sees, seen) {
        (SenderSees::Answer { from }, PingSeen::Reply { from: k }) => from == k,
        (SenderSees::Error { from, l4, mtu }, PingSeen::Error(k)) => {
            let carries_mtu = matches!((k.icmp_type, k.code), (3, 4) | (2, 0));
            icmp_of(l4).is_some_and(|(t, c, _)| (t, c) == (k.icmp_type, k.code))
                && *from == k.from
                && (!carries_mtu || *mtu == k.mtu)
        }
        (SenderSees::SendFails { too_big, errno }, PingSeen::LocalError { mtu, .. }) => {
            too_big.is_some() && errno.is_none() && (mtu.is_none() || mtu == too_big)
        }
        (SenderSees::SendFails { too_big, errno }, PingSeen::SendFailed { line }) => {
            match (too_big, errno) {
                (Some(_), None) => line.contains("Message too long"),
                (None, Some(e)) => line.contains(e.message()),
                _ => false,
            }
        }
        // `ping -c1` prints nothing when its `sendto` fails after the socket was set up
        // (EPERM from its own OUTPUT chain, ENETUNREACH with `-I ADDR`, which skips the
        // connect probe): it counts the packet sent and none received.
        (SenderSees::Nothing | SenderSees::SendFails { errno: Some(_), .. }, PingSeen::Timeout) => {
            true
        }
        _ => false,
    };
    (!agree).then(|| format!("sender: walk says {sees:?}, ping saw {seen:?}"))
}

/// The errno a TCP connect (`tcp`) or a connected UDP socket gets for an ICMP error;
/// `None` when the socket ignores it (UDP: errors the kernel calls soft; TCP: a "too
/// big", which only lowers the path MTU). `icmp_err_convert` / `icmpv6_err_convert`.
fn socket_error_of_icmp(icmp_type: u8, code: u8, six: bool, tcp: bool) -> Option<SocketError> {
    use SocketError::*;
    let (error, fatal) = match (six, icmp_type, code) {
        (false, 3, 4) | (true, 2, _) => return None,
        (false, 3, 0 | 6 | 9 | 11) => (NetUnreachable, !matches!(code, 0 | 11)),
        (false, 3, 3) | (true, 1, 4) => (Refused, true),
        (false, 3, 2) => (
            Failed {
                errno: libc::ENOPROTOOPT,
            },
            true,
        ),
        (false, 3, 5) => (
            Failed {
                errno: libc::EOPNOTSUPP,
            },
            false,
        ),
        (false, 3, 7) => (
            Failed {
                errno: libc::EHOSTDOWN,
            },
            true,
        ),
        (false, 3, 8) => (
            Failed {
                errno: libc::ENONET,
            },
            true,
        ),
        (false, 3, c) => (HostUnreachable, !matches!(c, 1 | 12)),
        (false, 11, _) | (true, 3, _) => (HostUnreachable, false),
        (true, 1, 0) => (NetUnreachable, false),
        (true, 1, 2 | 3) => (HostUnreachable, false),
        (true, 1, _) => (NotPermitted, true),
        _ => (
            Failed {
                errno: libc::EPROTO,
            },
            true,
        ),
    };
    (tcp || fatal).then_some(error)
}

fn socket_error_of_errno(e: Errno) -> SocketError {
    match e {
        Errno::Econnrefused => SocketError::Refused,
        Errno::Ehostunreach => SocketError::HostUnreachable,
        Errno::Enetunreach => SocketError::NetUnreachable,
        Errno::Eacces | Errno::Eperm => SocketError::NotPermitted,
        Errno::Etimedout => SocketError::TimedOut,
        Errno::Einval => SocketError::Failed {
            errno: libc::EINVAL,
        },
    }
}

/// The socket error `sees` means for a TCP (`tcp`) or UDP socket, and the ICMP error that
/// must have reached the sender's kernel; `Ok(None)` for an answer.
fn socket_outcome(sees: &SenderSees, tcp: bool) -> (Option<SocketError>, Option<(IpAddr, u8, u8)>) {
    match sees {
        SenderSees::Answer { .. } => (None, None),
        SenderSees::Refused { .. } => (Some(SocketError::Refused), None),
        SenderSees::Error { from, l4, .. } => match icmp_of(l4) {
            Some((t, c, six)) => (
                Some(socket_error_of_icmp(t, c, six, tcp).unwrap_or(SocketError::TimedOut)),
                Some((*from, t, c)),
            ),
            // A firewall's reset.
            None => (Some(SocketError::Refused), None),
        },
        SenderSees::SendFails { errno, .. } => (
            Some(errno.map_or(SocketError::Failed { errno: 0 }, socket_error_of_errno)),
            None,
        ),
        SenderSees::Nothing | SenderSees::Unknown => (Some(SocketError::TimedOut), None),
    }
}

/// The ICMP error the walk expects at the sender's kernel, against what it traced.
fn icmp_differs<T>(
    expected: Option<(IpAddr, u8, u8)>,
    ex: &Exchange<T>,
    from: &str,
) -> Option<String> {
    let (addr, t, c) = expected?;
    let got = ex.icmp_errors_received(from);
    let arrived = got
        .iter()
        .any(|e: &IcmpSeen| (e.from, e.icmp_type, e.code) == (addr, t, c));
    (!arrived).then(|| {
        format!("sender: walk expects ICMP {t}/{c} from {addr}; its kernel received {got:?}")
    })
}

fn tcp_differs(
    walked: &PathWalk,
    sees: &SenderSees,
    ex: &Exchange<TcpSeen>,
    from: &str,
    write: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let connected = walked.legs.iter().any(|l| l.role == LegRole::Data)
        || (write == 0 && matches!(sees, SenderSees::Answer { .. }));
    match ex.seen {
        TcpSeen::Connected { written, delivered } if connected => {
            let all = written == write && delivered == written;
            let walk_all = walked.outcome == network::Outcome::Works;
            if write > 0 && all != walk_all {
                problems.push(format!(
                    "data: walk says {:?}, the kernel delivered {delivered} of {written} bytes",
                    walked.outcome
                ));
            }
        }
        TcpSeen::Failed(e) if !connected => {
            let (expected, icmp) = socket_outcome(sees, true);
            if expected != Some(e) {
                problems.push(format!(
                    "sender: walk says {sees:?} ({expected:?}), connect gave {e:?}"
                ));
            }
            problems.extend(icmp_differs(icmp, ex, from));
        }
        seen => problems.push(format!("sender: walk says {sees:?}, tcp saw {seen:?}")),
    }
    problems
}

fn udp_differs(sees: &SenderSees, ex: &Exchange<UdpSeen>, from: &str) -> Vec<String> {
    let (expected, icmp) = socket_outcome(sees, false);
    let got = match ex.seen {
        UdpSeen::Reply => None,
        UdpSeen::Failed(e) => Some(e),
    };
    let mut problems = Vec::new();
    if got != expected {
        problems.push(format!(
            "sender: walk says {sees:?} ({expected:?}), udp saw {:?}",
            ex.seen
        ));
    }
    problems.extend(icmp_differs(icmp, ex, from));
    problems
}

/// The legs about the first packet sent: its way there, and the answer or error that came
/// back for it (a packet sent again after path-MTU discovery, or a TCP data segment, is
/// not compared hop by hop: `ping -c1` sends one, and TCP's segments are its own).
fn first_exchange(walked: &PathWalk) -> &[network::Leg] {
    let end = walked
        .legs
        .iter()
        .skip(1)
        .position(|l| matches!(l.role, LegRole::Request | LegRole::Data))
        .map_or(walked.legs.len(), |i| i + 1);
    &walked.legs[..end]
}

/// Whether the kernel's first headers `h` are the walk's `p` arriving on `iif` (`None`:
/// sent by the node): the same addresses, protocol and service port (the client's port
/// is the kernel's own choice), TCP flags or ICMP type and code.
fn same_packet(h: &Headers, w: &KernelWalk, p: &Packet, iif: Option<&str>) -> bool {
    let bits = |f: TcpFlags| f.0 & (TcpFlags::SYN.0 | TcpFlags::ACK.0 | TcpFlags::RST.0);
    let service = |(s, d): (u16, u16)| s.min(d);
    let l4 = match (p.l4, h.proto) {
        (
            L4::Tcp {
                sport,
                dport,
                flags,
            },
            6,
        ) => {
            h.ports.map(service) == Some(service((sport, dport)))
                && h.tcp_flags.is_some_and(|f| bits(f) == bits(flags))
        }
        (L4::Udp { sport, dport }, 17) => h.ports.map(service) == Some(service((sport, dport))),
        (
            L4::Icmp {
                icmp_type, code, ..
            },
            1,
        )
        | (
            L4::Icmpv6 {
                icmp_type, code, ..
            },
            58,
        ) => h.icmp == Some((icmp_type, code)),
        _ => false,
    };
    l4 && h.src == p.src && h.dst == p.dst && w.packet.iif.as_deref() == iif
}

/// The kernel's walk of the walk's `p` arriving on `iif`. A packet that arrived in
/// fragments (IPv4: one id) is carried on by its last fragment's walk, which conntrack
/// reassembles into; the first fragment's walk ends there.
fn kernel_walk_of<'k>(
    walks: &'k [KernelWalk],
    p: &Packet,
    iif: Option<&str>,
) -> Option<&'k KernelWalk> {
    // In a routing loop a node sees the packet again and again: the TTL tells which time.
    let candidates: Vec<(&KernelWalk, Headers)> = walks
        .iter()
        .filter_map(|w| first_headers(w).map(|h| (w, h)))
        .filter(|(w, h)| same_packet(h, w, p, iif))
        .collect();
    let (first, h) = candidates
        .iter()
        .find(|(_, h)| h.ttl == p.ttl)
        .or(candidates.first())
        .copied()?;
    if h.len >= p.len || p.is_ipv6() {
        return Some(first);
    }
    let fragment_of = |w: &KernelWalk, k: &Headers| {
        (k.src, k.dst, k.proto, k.tag) == (h.src, h.dst, h.proto, h.tag)
            && w.packet.iif.as_deref() == iif
    };
    walks
        .iter()
        .rev()
        .find(|w| first_headers(w).is_some_and(|k| fragment_of(w, &k)))
}

/// Whether a packet's walk to its own host ended the same way in the kernel's last walk
/// of it as in the engine's one walk (delivered, dropped or rejected by a rule, lost in
/// routing).
fn same_end(kernel: &KernelFate, engine: &engine::Fate) -> bool {
    use engine::Fate;
    matches!(
        (kernel, engine),
        (KernelFate::Delivered, Fate::Delivered { .. })
            | (KernelFate::Dropped { .. }, Fate::Dropped)
            | (KernelFate::Rejected { .. }, Fate::Rejected { .. })
            | (KernelFate::Vanished { .. }, Fate::RoutingFailed { .. })
    )
}

/// An ICMP error this node sent about a packet it had masqueraded to its own address:
/// the kernel addresses it to that address (the translated source) and conntrack gives it
/// back to the sender in OUTPUT, after the trace saw it; the walk sends it to the sender
/// at once.
fn error_to_be_readdressed<'k>(
    walks: &'k [KernelWalk],
    leg: &network::Leg,
    hop_index: usize,
    p: &Packet,
) -> Option<&'k KernelWalk> {
    if !matches!(leg.role, LegRole::Error { .. }) || hop_index != 0 {
        return None;
    }
    let mut to_itself = p.clone();
    to_itself.dst = p.src;
    kernel_walk_of(walks, &to_itself, None)
}

/// A divergence that is only the client's port, which the kernel chose and the walk
/// could not know.
fn only_the_client_port(d: &Divergence) -> bool {
    match d {
        Divergence::Nat { kernel, engine } => {
            let service = |p: Option<(u16, u16)>| p.map(|(s, d)| s.min(d));
            kernel.src == engine.src
                && kernel.dst == engine.dst
                && service(kernel.ports) == service(engine.ports)
        }
        _ => false,
    }
}

/// Whether the node's kernel never traces a packet it sends that the walk stopped at
/// once: no route (the socket's or ICMP's route lookup fails before OUTPUT), or too big
/// for its own MTU with DF (`EMSGSIZE` from the send).
fn never_traced(leg: &network::Leg, hop_index: usize, trace: &engine::Trace) -> bool {
    hop_index == 0
        && leg.hops[0].arrived_on.is_none()
        && (matches!(trace.fate, engine::Fate::RoutingFailed { .. })
            || matches!(leg.end, LegEnd::Stopped(Stop::TooBigToSend { .. })))
}

/// Whether a traced packet is the probe's request (before any NAT changed its address).
fn is_request(h: &Headers, probe: &Probe) -> bool {
    match probe.kind {
        ProbeKind::Ping { .. } => matches!(h.icmp, Some((8, 0)) | Some((128, 0))),
        ProbeKind::Tcp { port, .. } => {
            h.proto == 6
                && h.ports.is_some_and(|(_, d)| d == port)
                && h.tcp_flags.is_some_and(|f| f.0 & 0x17 == TcpFlags::SYN.0)
        }
        ProbeKind::Udp { port } => h.proto == 17 && h.ports.is_some_and(|(_, d)| d == port),
    }
}

/// Each hop of the first exchange against the walk its node's kernel traced of it, and the
/// nodes the request reached.
fn hops_differ(
    topo: &Topology,
    walked: &PathWalk,
    probe: &Probe,
    hops: &[oracle::topology::NodeWalks],
) -> Vec<String> {
    let mut problems = Vec::new();
    let walks = |node: usize| {
        hops.iter()
            .find(|h| h.node == topo.nodes[node].name)
            .map_or(&[][..], |h| h.walks.as_slice())
    };
    let legs = first_exchange(walked);
    for (li, leg) in legs.iter().enumerate() {
        for (hi, hop) in leg.hops.iter().enumerate() {
            let HopKind::Linux { outcome } = &hop.kind else {
                continue;
            };
            let trace = outcome.primary();
            if never_traced(leg, hi, trace) {
                continue;
            }
            let name = &topo.nodes[hop.node].name;
            // A packet to the node's own address leaves by `lo` and comes back in: the
            // kernel traces the way back in as a walk of its own, which ends it unless
            // OUTPUT did.
            let host = &topo.nodes[hop.node].host;
            let to_itself = hop.arrived_on.is_none() && host.owner_of(hop.packet.dst).is_some();
            let found = if to_itself {
                kernel_walk_of(walks(hop.node), &hop.packet, Some("lo"))
                    .or_else(|| kernel_walk_of(walks(hop.node), &hop.packet, None))
            } else {
                kernel_walk_of(walks(hop.node), &hop.packet, hop.arrived_on.as_deref())
                    .or_else(|| error_to_be_readdressed(walks(hop.node), leg, hi, &hop.packet))
            };
            let traced = || -> Vec<String> {
                walks(hop.node)
                    .iter()
                    .map(|w| format!("{} len {} -> {:?}", w.packet, w.packet.len, w.fate))
                    .collect()
            };
            let Some(kernel) = found else {
                problems.push(format!(
                    "leg {li} ({:?}) hop {hi}: {name} never traced {} (walk: {:?}); it \
                     traced {:?}",
                    leg.role,
                    hop.packet,
                    trace.fate,
                    traced()
                ));
                continue;
            };
            let divergences: Vec<Divergence> = if to_itself {
                (!same_end(&kernel.fate, &trace.fate))
                    .then(|| Divergence::Fate {
                        kernel: kernel.fate.clone(),
                        engine: trace.fate.clone(),
                    })
                    .into_iter()
                    .collect()
            } else {
                analysis::agree::compare(&topo.nodes[hop.node].ruleset, kernel, trace)
                    .divergences
                    .into_iter()
                    .filter(|d| !only_the_client_port(d))
                    .collect()
            };
            if !divergences.is_empty() {
                problems.push(format!(
                    "leg {li} ({:?}) hop {hi} at {name}: {} — kernel {:?}, walk {:?}: \
                     {divergences:?}; {name} traced {:?}",
                    leg.role,
                    hop.packet,
                    kernel.fate,
                    trace.fate,
                    traced()
                ));
            }
        }
    }
    let walk_reached: BTreeSet<&str> = legs
        .iter()
        .filter(|l| l.role == LegRole::Request)
        .flat_map(|l| l.hops.iter().enumerate().map(move |(i, h)| (l, i, h)))
        .filter(|(l, i, h)| match &h.kind {
            HopKind::Linux { outcome } => !never_traced(l, *i, outcome.primary()),
            HopKind::Stub { .. } => false,
        })
        .map(|(_, _, h)| h)
        .map(|h| topo.nodes[h.node].name.as_str())
        .collect();
    let kernel_reached: BTreeSet<&str> = hops
        .iter()
        .filter(|n| {
            n.walks
                .iter()
                .any(|w| first_headers(w).is_some_and(|h| is_request(&h, probe)))
        })
        .map(|n| n.node.as_str())
        .collect();
    if walk_reached != kernel_reached {
        problems.push(format!(
            "the request reached {kernel_reached:?} in the kernel, {walk_reached:?} in the walk"
        ));
    }
    problems
}

/// The walk's legs, one line per hop.
fn legs_dump(topo: &Topology, walked: &PathWalk) -> String {
    let mut s = String::new();
    for (li, leg) in walked.legs.iter().enumerate() {
        s.push_str(&format!("    leg {li} {:?} -> {:?}\n", leg.role, leg.end));
        for hop in &leg.hops {
            let fate = match &hop.kind {
                HopKind::Linux { outcome } => format!("{:?}", outcome.primary().fate),
                HopKind::Stub { route } => format!("stub route {route:?}"),
            };
            s.push_str(&format!(
                "      {} in {:?}: {} => {fate}\n",
                topo.nodes[hop.node].name, hop.arrived_on, hop.packet
            ));
        }
    }
    s
}
