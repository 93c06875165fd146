//! Kernel-verified topologies (issue 12, "How it is checked"): small networks built from
//! `model::topology::Topology` values in namespaces, real traffic sent across them, and
//! what the sender saw and what each hop's kernel did asserted together.
//!
//! The cases run one at a time (a lock), so each can check that no `wb*` namespace of this
//! process is left once its network is dropped.
#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)]

use model::kernel_walk::{Headers, KernelFate, KernelWalk};
use model::packet::IpProto;
use model::Family;
use oracle::topology::{
    Exchange, IcmpSeen, Ping, PingSeen, SocketError, TcpProbe, TcpSeen, TestNetwork, UdpProbe,
    UdpSeen,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use testgen::kernel_tests::{assert_no_namespaces_of_this_process, kernel_tests_enabled};
use testgen::topology::{two_hosts_through_a_router, Net};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Builds `topo`, runs `case` on it, drops it and checks nothing is left; prints the time.
fn with_network(name: &str, topo: &model::topology::Topology, case: impl FnOnce(&mut TestNetwork)) {
    if !kernel_tests_enabled(name) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let mut net = TestNetwork::build(topo).expect("the topology builds");
    let built = t0.elapsed();
    // Named so that a later run's sweep deletes them if this process dies.
    for ns in net.namespace_names() {
        assert_eq!(
            oracle::netns::creator_pid(&ns),
            Some(std::process::id()),
            "{ns}"
        );
    }
    case(&mut net);
    drop(net);
    assert_no_namespaces_of_this_process();
    eprintln!("{name}: built in {built:?}, {:?} in all", t0.elapsed());
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn is_echo_request(h: &Headers) -> bool {
    matches!(h.icmp, Some((8, 0)) | Some((128, 0)))
}

fn is_echo_reply(h: &Headers) -> bool {
    matches!(h.icmp, Some((0, 0)) | Some((129, 0)))
}

/// The walk at `node` of the first packet satisfying `pred`, or a failure listing them all.
fn walk_at<'a, T: std::fmt::Debug>(
    ex: &'a Exchange<T>,
    node: &str,
    what: &str,
    pred: impl Fn(&Headers) -> bool,
) -> &'a KernelWalk {
    let found = ex.walk(node, pred).unwrap_or_else(|| {
        let seen: Vec<String> = ex
            .walks(node)
            .iter()
            .map(|w| format!("{} {:?}", w.packet, w.fate))
            .collect();
        panic!(
            "no {what} traced at {node}; it traced {seen:#?} (sender saw {:?})",
            ex.seen
        )
    });
    eprintln!("    {what} at {node}: {} -> {:?}", found.packet, found.fate);
    found
}

/// An iptables-save filter table, every policy ACCEPT, with `rules`.
fn filter_table(rules: &[&str]) -> String {
    let mut text =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for r in rules {
        text.push_str(r);
        text.push('\n');
    }
    text + "COMMIT\n"
}

/// A ping from `from` to `dst` that `dst` answers.
fn answered_ping(net: &mut TestNetwork, from: &str, dst: &str) -> Exchange<PingSeen> {
    let ex = ping(net, from, &Ping::to(ip(dst)));
    assert_eq!(ex.seen, PingSeen::Reply { from: ip(dst) });
    ex
}

/// A ping from `a` that gets no answer at all.
fn lost_ping(net: &mut TestNetwork, p: &Ping) -> Exchange<PingSeen> {
    let ex = ping(net, "a", p);
    assert_eq!(ex.seen, PingSeen::Timeout);
    ex
}

/// An ICMP error of `(type, code)` from `from`, as ping shows it.
fn error_from(from: &str, (icmp_type, code): (u8, u8), mtu: Option<u32>) -> PingSeen {
    PingSeen::Error(IcmpSeen {
        from: ip(from),
        icmp_type,
        code,
        mtu,
    })
}

/// Router `r` forwarded the echo request out `eth1`, where neighbour resolution gave up
/// (after 2 to 6 s): the sender got `icmp` from `from`, which `r` sent out `eth0`.
fn assert_neighbour_failure(ex: &Exchange<PingSeen>, from: &str, icmp: (u8, u8)) {
    assert_eq!(ex.seen, error_from(from, icmp, None));
    assert!(
        ex.elapsed >= Duration::from_secs(2) && ex.elapsed < Duration::from_secs(6),
        "{:?}",
        ex.elapsed
    );
    // The router's firewall saw it leave: resolution fails after POSTROUTING.
    let there = walk_at(ex, "r", "echo request", is_echo_request);
    assert_eq!(there.fate, forwarded("eth1"));
    let error = walk_at(ex, "r", "the error", |h| h.icmp == Some(icmp));
    assert_eq!(error.fate, KernelFate::Sent { oif: "eth0".into() });
}

/// A TCP connection from `a` to `dst` (`listener` listening), writing `write` bytes.
fn tcp(
    net: &mut TestNetwork,
    dst: &str,
    listener: Option<&str>,
    write: usize,
) -> Exchange<TcpSeen> {
    let probe = TcpProbe {
        dst: sock(dst),
        listener: listener.map(str::to_string),
        write,
        timeout: Duration::from_secs(2),
    };
    let ex = net.tcp("a", &probe).expect("tcp runs");
    eprintln!(
        "  tcp to {dst}, {write} bytes: {:?} after {:?}",
        ex.seen, ex.elapsed
    );
    ex
}

fn vanished_after_prerouting() -> KernelFate {
    KernelFate::Vanished {
        after: Some(model::Hook::Prerouting),
    }
}

fn forwarded(oif: &str) -> KernelFate {
    KernelFate::Forwarded { oif: oif.into() }
}

fn ping(net: &mut TestNetwork, from: &str, p: &Ping) -> Exchange<PingSeen> {
    let ex = net.ping(from, p).expect("ping runs");
    eprintln!(
        "  ping {} from {from}: {:?} after {:?}",
        p.dst, ex.seen, ex.elapsed
    );
    for line in ex.transcript.lines().filter(|l| !l.trim().is_empty()) {
        eprintln!("    | {line}");
    }
    ex
}

#[test]
fn two_hosts_on_one_link_ping_each_other() {
    let mut n = Net::new();
    let a = n.host("a");
    let b = n.host("b");
    n.iface(a, "eth0", &["10.0.0.1/24", "fd00::1/64"]);
    n.iface(b, "eth0", &["10.0.0.2/24", "fd00::2/64"]);
    n.link("lan", &[(a, "eth0"), (b, "eth0")]);
    let topo = n.build();
    // The model lists the link-local address the kernel derives from the model's MAC.
    let b_link_local = topo.nodes[b]
        .host
        .interface("eth0")
        .and_then(|i| i.addrs.iter().find(|a| a.scope == model::host::Scope::Link))
        .map(|a| a.addr)
        .expect("a link-local address");
    with_network("two_hosts_on_one_link_ping_each_other", &topo, |net| {
        let p = Ping {
            interface: Some("eth0".into()),
            ..Ping::to(b_link_local)
        };
        let ex = ping(net, "a", &p);
        assert_eq!(ex.seen, PingSeen::Reply { from: b_link_local });
        for dst in ["10.0.0.2", "fd00::2"] {
            let ex = answered_ping(net, "a", dst);
            let out = walk_at(&ex, "a", "echo request", is_echo_request);
            assert_eq!(out.fate, KernelFate::Sent { oif: "eth0".into() });
            let at_b = walk_at(&ex, "b", "echo request", is_echo_request);
            assert_eq!(at_b.packet.iif.as_deref(), Some("eth0"));
            assert_eq!(at_b.fate, KernelFate::Delivered);
            let back = walk_at(&ex, "a", "echo reply", is_echo_reply);
            assert_eq!(back.fate, KernelFate::Delivered);
        }
    });
}

#[test]
fn three_hosts_through_a_router_ping_tcp_and_udp() {
    let (mut n, [_, _, b]) = two_hosts_through_a_router();
    n.listen(b, IpProto::Tcp, "0.0.0.0:22");
    with_network(
        "three_hosts_through_a_router_ping_tcp_and_udp",
        &n.build(),
        |net| {
            for dst in ["10.0.2.2", "fd00:2::2"] {
                let ex = answered_ping(net, "a", dst);
                let there = walk_at(&ex, "r", "echo request", is_echo_request);
                assert_eq!(there.packet.iif.as_deref(), Some("eth0"));
                assert_eq!(there.fate, forwarded("eth1"));
                let back = walk_at(&ex, "r", "echo reply", is_echo_reply);
                assert_eq!(back.packet.iif.as_deref(), Some("eth1"));
                assert_eq!(back.fate, forwarded("eth0"));
            }

            // A listener: the handshake and 200 kB of data get through.
            let ex = tcp(net, "10.0.2.2:8080", Some("b"), 200_000);
            assert_eq!(
                ex.seen,
                TcpSeen::Connected {
                    written: 200_000,
                    delivered: 200_000
                }
            );
            let syn = walk_at(&ex, "r", "SYN", |h| {
                h.ports.is_some_and(|(_, d)| d == 8080) && h.tcp_flags.is_some_and(|f| f.0 == 0x02)
            });
            assert_eq!(syn.fate, forwarded("eth1"));

            // b's model listens on port 22: the kernel completes the handshake.
            let ex = tcp(net, "10.0.2.2:22", None, 0);
            assert_eq!(
                ex.seen,
                TcpSeen::Connected {
                    written: 0,
                    delivered: 0
                }
            );

            // No listener: b's kernel resets, the router forwards the reset back.
            let ex = tcp(net, "10.0.2.2:8081", None, 0);
            assert_eq!(ex.seen, TcpSeen::Failed(SocketError::Refused));
            let rst = walk_at(&ex, "r", "RST", |h| {
                h.src == ip("10.0.2.2") && h.tcp_flags.is_some_and(|f| f.0 & 0x04 != 0)
            });
            assert_eq!(rst.fate, forwarded("eth0"));

            // UDP: an echo, then a closed port answered with ICMP port unreachable by b.
            let udp = |listener: Option<&str>, port: u16| UdpProbe {
                dst: SocketAddr::new(ip("fd00:2::2"), port),
                listener: listener.map(str::to_string),
                timeout: Duration::from_secs(2),
            };
            let ex = net.udp("a", &udp(Some("b"), 5353)).expect("udp runs");
            eprintln!("  udp echo: {:?} after {:?}", ex.seen, ex.elapsed);
            assert_eq!(ex.seen, UdpSeen::Reply);
            let ex = net.udp("a", &udp(None, 5354)).expect("udp runs");
            eprintln!(
                "  udp to a closed port: {:?} after {:?}",
                ex.seen, ex.elapsed
            );
            assert_eq!(ex.seen, UdpSeen::Failed(SocketError::Refused));
            assert_eq!(
                ex.icmp_errors_received("a"),
                vec![IcmpSeen {
                    from: ip("fd00:2::2"),
                    icmp_type: 1,
                    code: 4,
                    mtu: None
                }]
            );
            let error = walk_at(&ex, "r", "port unreachable", |h| h.icmp == Some((1, 4)));
            assert_eq!(error.fate, forwarded("eth0"));
        },
    );
}

#[test]
fn a_router_with_forwarding_off_drops_silently() {
    let (mut n, [_, r, _]) = two_hosts_through_a_router();
    n.sysctl(r, "net.ipv4.ip_forward", "0")
        .sysctl(r, "net.ipv4.conf.all.forwarding", "0");
    with_network(
        "a_router_with_forwarding_off_drops_silently",
        &n.build(),
        |net| {
            let ex = lost_ping(net, &Ping::to(ip("10.0.2.2")));
            // Routing refuses it without an ICMP error: no FORWARD hook.
            let at_r = walk_at(&ex, "r", "echo request", is_echo_request);
            assert_eq!(at_r.fate, vanished_after_prerouting());
            assert!(ex.walk("b", is_echo_request).is_none());
        },
    );
}

#[test]
fn no_route_back_from_the_far_end_times_out() {
    let (mut n, [_, _, b]) = two_hosts_through_a_router();
    // b knows only its own subnets.
    n.unroute(b, "0.0.0.0/0").unroute(b, "::/0");
    with_network(
        "no_route_back_from_the_far_end_times_out",
        &n.build(),
        |net| {
            let ex = lost_ping(net, &Ping::to(ip("10.0.2.2")));
            let there = walk_at(&ex, "r", "echo request", is_echo_request);
            assert_eq!(there.fate, forwarded("eth1"));
            let at_b = walk_at(&ex, "b", "echo request", is_echo_request);
            assert_eq!(at_b.fate, KernelFate::Delivered);
            // The reply finds no route: it never reaches b's output hook.
            assert!(ex.walk("b", is_echo_reply).is_none());
            assert!(ex.walk("r", is_echo_reply).is_none());
        },
    );
}

#[test]
fn a_smaller_mtu_in_the_middle_answers_frag_needed() {
    let (mut n, [a, r, b]) = two_hosts_through_a_router();
    // The first link takes jumbo frames; the second 1400 bytes.
    n.mtu(a, "eth0", 9000)
        .mtu(r, "eth0", 9000)
        .mtu(r, "eth1", 1400)
        .mtu(b, "eth0", 1400);
    with_network(
        "a_smaller_mtu_in_the_middle_answers_frag_needed",
        &n.build(),
        |net| {
            let big = |dst: &str| Ping {
                size: Some(1600),
                pmtu: Some("do"),
                ..Ping::to(ip(dst))
            };
            let ex = ping(net, "a", &big("10.0.2.2"));
            assert_eq!(ex.seen, error_from("10.0.1.1", (3, 4), Some(1400)));
            let at_r = walk_at(&ex, "r", "echo request", is_echo_request);
            assert_eq!(at_r.final_headers.map(|h| h.len), Some(1628));
            // ip_forward checks the MTU before the FORWARD hook: no FORWARD rule sees it.
            assert_eq!(at_r.fate, vanished_after_prerouting());
            let error = walk_at(&ex, "r", "frag needed", |h| h.icmp == Some((3, 4)));
            assert_eq!(error.fate, KernelFate::Sent { oif: "eth0".into() });
            // Now the sender's kernel knows the path MTU and refuses the next one itself.
            let again = ping(net, "a", &big("10.0.2.2"));
            assert_eq!(
                again.seen,
                PingSeen::LocalError {
                    mtu: Some(1400),
                    line: "ping: local error: message too long, mtu=1400".into()
                }
            );
            assert!(again.walk("r", is_echo_request).is_none());

            let ex = ping(net, "a", &big("fd00:2::2"));
            assert_eq!(ex.seen, error_from("fd00:1::1", (2, 0), Some(1400)));
        },
    );
}

#[test]
fn an_ipv6_neighbour_that_does_not_answer_gives_address_unreachable_from_the_middle_hop() {
    let (n, _) = two_hosts_through_a_router();
    with_network(
        "an_ipv6_neighbour_that_does_not_answer_gives_address_unreachable_from_the_middle_hop",
        &n.build(),
        |net| {
            let p = Ping {
                wait: Duration::from_secs(6),
                ..Ping::to(ip("fd00:2::99"))
            };
            let ex = ping(net, "a", &p);
            assert_neighbour_failure(&ex, "fd00:1::1", (1, 3));
        },
    );
}

#[test]
fn a_firewall_drop_on_the_router_is_in_its_kernel_walk() {
    let (mut n, [_, r, _]) = two_hosts_through_a_router();
    n.iptables(
        r,
        Family::Ip,
        &filter_table(&[
            "-A FORWARD -p tcp --dport 22 -j ACCEPT",
            "-A FORWARD -p udp --dport 53 -j ACCEPT",
            "-A FORWARD -d 10.0.2.2/32 -p icmp -j DROP",
        ]),
    );
    let topo = n.build();
    with_network(
        "a_firewall_drop_on_the_router_is_in_its_kernel_walk",
        &topo,
        |net| {
            let ex = lost_ping(net, &Ping::to(ip("10.0.2.2")));
            let at_r = walk_at(&ex, "r", "echo request", is_echo_request);
            let KernelFate::Dropped { step } = at_r.fate else {
                panic!("not dropped by a rule: {:?}", at_r.fate)
            };
            let rule = at_r.steps[step].rule().expect("placed on a rule");
            let rs = &topo.nodes[r].ruleset;
            assert_eq!(rs.chain_at(rule.chain_ref()).name, "FORWARD");
            assert_eq!(rule.rule, 2, "the third rule of FORWARD");
            assert!(ex.walk("b", is_echo_request).is_none());
            // IPv6 is not filtered by this IPv4 ruleset.
            answered_ping(net, "a", "fd00:2::2");
        },
    );
}

#[test]
fn three_hosts_on_one_bridged_link() {
    let mut n = Net::new();
    let hosts: Vec<usize> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let h = n.host(name);
            n.iface(h, "eth0", &[&format!("10.0.9.{}/24", i + 1)]);
            h
        })
        .collect();
    let ends: Vec<(usize, &str)> = hosts.iter().map(|h| (*h, "eth0")).collect();
    n.link("lan", &ends);
    with_network("three_hosts_on_one_bridged_link", &n.build(), |net| {
        assert_eq!(net.bridges.len(), 1);
        for dst in ["10.0.9.2", "10.0.9.3"] {
            answered_ping(net, "a", dst);
        }
        let ex = answered_ping(net, "c", "10.0.9.1");
        assert!(ex.walk("b", |h| h.proto == 1).is_none());
    });
}

#[test]
fn an_unresolved_ipv4_neighbour_answers_host_unreachable_and_a_permanent_entry_hides_it() {
    let (mut n, [_, r, _]) = two_hosts_through_a_router();
    // Nobody owns 10.0.2.98 or 10.0.2.99; the router has a permanent entry for .99 only.
    n.neighbour(r, "eth1", "10.0.2.99", "02:00:00:00:00:99");
    with_network(
        "an_unresolved_ipv4_neighbour_answers_host_unreachable_and_a_permanent_entry_hides_it",
        &n.build(),
        |net| {
            let p = |dst: &str, secs: u64| Ping {
                wait: Duration::from_secs(secs),
                ..Ping::to(ip(dst))
            };
            let ex = ping(net, "a", &p("10.0.2.98", 6));
            assert_neighbour_failure(&ex, "10.0.1.1", (3, 1));

            // The permanent entry sends the frame to a MAC nobody has: no error, no answer.
            let ex = lost_ping(net, &p("10.0.2.99", 2));
            let there = walk_at(&ex, "r", "echo request", is_echo_request);
            assert_eq!(there.fate, forwarded("eth1"));
            assert!(ex.walk("r", |h| h.icmp == Some((3, 1))).is_none());
        },
    );
}

#[test]
fn a_link_local_next_hop_carries_ipv6() {
    let (n, _) = testgen::topology::two_hosts_through_a_link_local_router();
    with_network("a_link_local_next_hop_carries_ipv6", &n.build(), |net| {
        let ex = answered_ping(net, "a", "fd00:2::2");
        let there = walk_at(&ex, "r", "echo request", is_echo_request);
        assert_eq!(there.fate, forwarded("eth1"));
        let out = walk_at(&ex, "a", "echo request", is_echo_request);
        assert_eq!(out.fate, KernelFate::Sent { oif: "eth0".into() });
    });
}

/// a -(9000)- r1 -(1400)- r2 -(9000)- b: both ends offer an MSS of 8960, so a's segments
/// need the path MTU that r1's "fragmentation needed" tells.
fn jumbo_ends_narrow_middle() -> (Net, usize) {
    let mut n = Net::new();
    let a = n.host("a");
    let r1 = n.host("r1");
    let r2 = n.host("r2");
    let b = n.host("b");
    n.iface(a, "eth0", &["10.0.1.2/24"])
        .mtu(a, "eth0", 9000)
        .route(a, "default", Some("10.0.1.1"), Some("eth0"));
    // (router, its eth0 and eth1 with their MTUs, the far subnet and its gateway)
    let routers = [
        (
            r1,
            ("10.0.1.1/24", 9000),
            ("10.0.12.1/24", 1400),
            "10.0.2.0/24",
            "10.0.12.2",
            "eth1",
        ),
        (
            r2,
            ("10.0.12.2/24", 1400),
            ("10.0.2.1/24", 9000),
            "10.0.1.0/24",
            "10.0.12.1",
            "eth0",
        ),
    ];
    for (r, (left, left_mtu), (right, right_mtu), far, via, dev) in routers {
        n.iface(r, "eth0", &[left])
            .mtu(r, "eth0", left_mtu)
            .iface(r, "eth1", &[right])
            .mtu(r, "eth1", right_mtu)
            .route(r, far, Some(via), Some(dev))
            .forwarding(r);
    }
    n.iface(b, "eth0", &["10.0.2.2/24"])
        .mtu(b, "eth0", 9000)
        .route(b, "default", Some("10.0.2.1"), Some("eth0"));
    n.link("a-r1", &[(a, "eth0"), (r1, "eth0")])
        .link("r1-r2", &[(r1, "eth1"), (r2, "eth0")])
        .link("r2-b", &[(r2, "eth1"), (b, "eth0")]);
    (n, a)
}

#[test]
fn a_large_tcp_write_needs_the_frag_needed_that_a_firewall_can_drop() {
    let (n, a) = jumbo_ends_narrow_middle();
    with_network(
        "a_large_tcp_write_needs_the_frag_needed (ICMP allowed)",
        &n.build(),
        |net| {
            let ex = tcp(net, "10.0.2.2:9000", Some("b"), 100_000);
            assert_eq!(
                ex.seen,
                TcpSeen::Connected {
                    written: 100_000,
                    delivered: 100_000
                }
            );
            assert!(ex.icmp_errors_received("a").contains(&IcmpSeen {
                from: ip("10.0.1.1"),
                icmp_type: 3,
                code: 4,
                mtu: None
            }));
        },
    );
    // The sender's own firewall drops every ICMP error: a PMTU black hole.
    let mut n = n;
    n.iptables(
        a,
        Family::Ip,
        &filter_table(&["-A INPUT -p icmp --icmp-type destination-unreachable -j DROP"]),
    );
    let topo = n.build();
    with_network(
        "a_large_tcp_write_needs_the_frag_needed (ICMP dropped)",
        &topo,
        |net| {
            let ex = tcp(net, "10.0.2.2:9000", Some("b"), 100_000);
            let TcpSeen::Connected { written, delivered } = ex.seen else {
                panic!("did not connect: {:?}", ex.seen)
            };
            assert!(written > 0 && delivered < written, "{:?}", ex.seen);
            let dropped = walk_at(&ex, "a", "frag needed", |h| h.icmp == Some((3, 4)));
            let KernelFate::Dropped { step } = dropped.fate else {
                panic!("not dropped: {:?}", dropped.fate)
            };
            let rule = dropped.steps[step].rule().expect("placed");
            assert_eq!(
                topo.nodes[a].ruleset.chain_at(rule.chain_ref()).name,
                "INPUT"
            );
        },
    );
}

#[test]
fn a_policy_rule_to_a_prohibit_route_answers_from_the_router() {
    let (mut n, [_, r, _]) = two_hosts_through_a_router();
    n.rule_from(r, 100, "10.0.1.0/24", 100).typed_route(
        r,
        100,
        model::host::RouteType::Prohibit,
        "10.0.2.0/24",
    );
    with_network(
        "a_policy_rule_to_a_prohibit_route_answers_from_the_router",
        &n.build(),
        |net| {
            let ex = ping(net, "a", &Ping::to(ip("10.0.2.2")));
            assert_eq!(ex.seen, error_from("10.0.1.1", (3, 13), None));
            let at_r = walk_at(&ex, "r", "echo request", is_echo_request);
            assert_eq!(at_r.fate, vanished_after_prerouting());
            let error = walk_at(&ex, "r", "prohibited", |h| h.icmp == Some((3, 13)));
            assert_eq!(error.fate, KernelFate::Sent { oif: "eth0".into() });
            // IPv6 has no such rule.
            answered_ping(net, "a", "fd00:2::2");
        },
    );
}

#[test]
fn a_stub_that_ignores_pings_still_takes_tcp() {
    let mut n = Net::new();
    let a = n.host("a");
    let s = n.stub("s", &[443], false);
    n.iface(a, "eth0", &["10.0.0.1/24"]);
    n.iface(s, "eth0", &["10.0.0.2/24"]);
    n.link("lan", &[(a, "eth0"), (s, "eth0")]);
    with_network(
        "a_stub_that_ignores_pings_still_takes_tcp",
        &n.build(),
        |net| {
            let ex = lost_ping(net, &Ping::to(ip("10.0.0.2")));
            let at_s = walk_at(&ex, "s", "echo request", is_echo_request);
            assert_eq!(at_s.fate, KernelFate::Delivered);
            let ex = tcp(net, "10.0.0.2:443", Some("s"), 10);
            assert_eq!(
                ex.seen,
                TcpSeen::Connected {
                    written: 10,
                    delivered: 10
                }
            );
        },
    );
}

#[test]
fn a_topology_the_kernel_refuses_is_an_error_and_leaves_nothing() {
    let name = "a_topology_the_kernel_refuses_is_an_error_and_leaves_nothing";
    if !kernel_tests_enabled(name) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut n, [_, r, _]) = two_hosts_through_a_router();
    n.link("again", &[(r, "eth0")]);
    let err = TestNetwork::build(&n.build()).expect_err("eth0 is on two links");
    assert!(err.to_string().contains("two links"), "{err}");

    // nft refuses the file after every namespace exists: all of them go.
    let (n, [_, r, _]) = two_hosts_through_a_router();
    let mut topo = n.build();
    topo.nodes[r].nft_sources.push(model::SourceFile::new(
        "r.nft",
        "table inet t {\n  chain c {\n    frobnicate\n  }\n}\n",
    ));
    match TestNetwork::build(&topo) {
        Err(oracle::LiveError::Load { file, line, .. }) => {
            assert_eq!((file.as_str(), line), ("r.nft", Some(3)));
        }
        other => panic!("expected a load error, got {other:?}"),
    }
    assert_no_namespaces_of_this_process();
}
