//! The kernel (and the real `ping`) as judge of what the path answer says the sender sees:
//! each topology is built in network namespaces (`oracle::topology::TestNetwork`), the
//! same ping is sent for real, and every line of ping's own output the answer quotes
//! (`From 10.0.1.1 icmp_seq=1 Destination Host Unreachable`, `64 bytes from ...`) must be
//! one ping printed.
#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)]

use model::topology::Topology;
use model::{Packet, TcpFlags, L4};
use network::Query;
use oracle::topology::{Ping, SocketError, TcpProbe, TcpSeen, TestNetwork};
use report::path::{PathAnswer, PathFacts};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;
use testgen::kernel_tests::{assert_no_namespaces_of_this_process, kernel_tests_enabled};
use testgen::topology::two_hosts_through_a_router;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The path answer's text for a ping of `size` IP bytes (ping's default without) from node
/// `from` to `dst`.
fn answer(t: &Topology, from: usize, dst: IpAddr, size: Option<u16>) -> String {
    let mut packet = testgen::topology::echo_request(dst);
    if let Some(size) = size {
        packet.len = size;
    }
    render(t, from, packet, size)
}

/// The path answer's text for a TCP connection from node `from` to `dst`.
fn tcp_answer(t: &Topology, from: usize, dst: SocketAddr) -> String {
    let any: IpAddr = "0.0.0.0".parse().unwrap();
    let l4 = L4::Tcp {
        sport: 40000,
        dport: dst.port(),
        flags: TcpFlags::SYN,
    };
    render(t, from, Packet::new(any, dst.ip(), l4), None)
}

fn render(t: &Topology, from: usize, packet: Packet, size: Option<u16>) -> String {
    let q = Query {
        size,
        ..Query::new(from, packet)
    };
    let walk = network::walk(t, &q);
    let facts = PathFacts::of(t, &walk, None);
    let a = PathAnswer {
        topology: t,
        walk: &walk,
        sender: from,
        facts: &facts,
        size,
    };
    let mut out = Vec::new();
    report::path::text::render(&mut out, &a, &Default::default()).unwrap();
    String::from_utf8(out).unwrap()
}

/// What the answer quotes of ping's output for the first echo request (`ping -c1` sends
/// one): `From ...` and `ping: ...` lines, and the reply line inside `(ping: `...`)`.
fn quoted_ping_lines(answer: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in answer.lines().map(str::trim) {
        let line = line.strip_prefix("sender sees").map_or(line, str::trim);
        if line.starts_with("From ") || line.starts_with("ping: ") {
            lines.push(line.to_string());
        }
        if let Some((_, rest)) = line.split_once("(ping: `") {
            lines.push(rest.trim_end_matches("`)").to_string());
        }
    }
    lines.retain(|l| !l.contains("icmp_seq=") || l.contains("icmp_seq=1"));
    lines
}

/// Sends the ping for real on `t` and checks that the answer quotes only what ping printed
/// (and quotes something).
fn judged(name: &str, t: &Topology, from: usize, dst: &str, size: Option<u16>, wait: u64) {
    if !kernel_tests_enabled(name) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dst: IpAddr = dst.parse().unwrap();
    let text = answer(t, from, dst, size);
    let quoted = quoted_ping_lines(&text);
    assert!(
        !quoted.is_empty(),
        "{name}: the answer quotes no ping line:\n{text}"
    );
    let mut net = TestNetwork::build(t).expect("the topology builds");
    let header = if dst.is_ipv6() { 48 } else { 28 };
    let ping = Ping {
        size: size.map(|s| u32::from(s) - header),
        wait: Duration::from_secs(wait),
        ..Ping::to(dst)
    };
    let seen = net
        .ping(&t.nodes[from].name, &ping)
        .expect("ping runs in the namespace");
    drop(net);
    assert_no_namespaces_of_this_process();
    let printed: Vec<&str> = seen.transcript.lines().map(str::trim).collect();
    for q in &quoted {
        assert!(
            printed.iter().any(|p| p.contains(q.as_str())),
            "{name}: the answer says ping prints `{q}`; ping printed:\n{}\nthe answer:\n{text}",
            seen.transcript
        );
    }
    eprintln!(
        "{name}: {} line(s) of ping's output quoted and printed",
        quoted.len()
    );
}

#[test]
fn a_working_ping_is_quoted_as_ping_prints_its_reply() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    judged("path_kernel_ping_works", &n.build(), a, "10.0.2.2", None, 2);
}

#[test]
fn a_router_that_cannot_resolve_the_destination_is_quoted_as_ping_prints_it() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    judged(
        "path_kernel_router_arp_fails",
        &n.build(),
        a,
        "10.0.2.9",
        None,
        5,
    );
}

#[test]
fn ipv6_address_unreachable_from_the_router_is_quoted_as_ping_prints_it() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    judged(
        "path_kernel_router_nd_fails",
        &n.build(),
        a,
        "fd00:2::9",
        None,
        5,
    );
}

#[test]
fn the_senders_own_failed_neighbour_is_quoted_as_ping_prints_it() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    judged(
        "path_kernel_sender_arp_fails",
        &n.build(),
        a,
        "10.0.1.9",
        None,
        5,
    );
}

#[test]
fn fragmentation_needed_from_the_router_is_quoted_as_ping_prints_it() {
    let (mut n, [a, r, _]) = two_hosts_through_a_router();
    n.mtu(r, "eth1", 1400);
    judged(
        "path_kernel_frag_needed",
        &n.build(),
        a,
        "10.0.2.2",
        Some(1500),
        2,
    );
}

/// Connects for real on `t` and checks that the errno the answer names is the one
/// `connect()` got.
fn judged_tcp(name: &str, t: &Topology, from: usize, dst: &str, errno: &str) {
    if !kernel_tests_enabled(name) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dst: SocketAddr = dst.parse().unwrap();
    let text = tcp_answer(t, from, dst);
    assert!(
        text.contains(&format!(": {errno} ")),
        "{name}: the answer does not name {errno}:\n{text}"
    );
    let mut net = TestNetwork::build(t).expect("the topology builds");
    let probe = TcpProbe {
        dst,
        listener: None,
        write: 0,
        timeout: Duration::from_secs(5),
    };
    let seen = net
        .tcp(&t.nodes[from].name, &probe)
        .expect("the probe runs");
    drop(net);
    assert_no_namespaces_of_this_process();
    let got = match seen.seen {
        TcpSeen::Failed(SocketError::Refused) => "ECONNREFUSED",
        TcpSeen::Failed(SocketError::HostUnreachable) => "EHOSTUNREACH",
        TcpSeen::Failed(SocketError::NetUnreachable) => "ENETUNREACH",
        TcpSeen::Failed(SocketError::TimedOut) => "ETIMEDOUT",
        other => panic!("{name}: connect() saw {other:?}; the answer:\n{text}"),
    };
    assert_eq!(got, errno, "{name}: the answer:\n{text}");
    // "fails after ~N s" / "fails at once": the error came about that late.
    if let Some((_, after)) = text.split_once("fails after ~") {
        let secs: f64 = after.split(' ').next().unwrap().parse().unwrap();
        assert!(
            (seen.elapsed.as_secs_f64() - secs).abs() < 1.0,
            "{name}: the answer says ~{secs} s, connect() took {:?}",
            seen.elapsed
        );
    } else if text.contains("fails at once") {
        assert!(
            seen.elapsed < Duration::from_millis(500),
            "{name}: took {:?}",
            seen.elapsed
        );
    }
    eprintln!("{name}: connect() got {got}, as the answer says");
}

#[test]
fn a_router_reject_is_connection_refused_as_the_answer_says() {
    let (mut n, [a, r, _]) = two_hosts_through_a_router();
    n.iptables(
        r,
        model::Family::Ip,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp --dport 443 -j REJECT\nCOMMIT\n",
    );
    judged_tcp(
        "path_kernel_tcp_reject",
        &n.build(),
        a,
        "10.0.2.2:443",
        "ECONNREFUSED",
    );
}

#[test]
fn a_router_that_cannot_resolve_the_destination_is_host_unreachable_as_the_answer_says() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    judged_tcp(
        "path_kernel_tcp_arp_fails",
        &n.build(),
        a,
        "10.0.2.9:443",
        "EHOSTUNREACH",
    );
}

#[test]
fn the_senders_own_failed_neighbour_is_host_unreachable_as_the_answer_says() {
    let (n, [a, _, _]) = two_hosts_through_a_router();
    judged_tcp(
        "path_kernel_tcp_sender_arp_fails",
        &n.build(),
        a,
        "10.0.1.9:443",
        "EHOSTUNREACH",
    );
}

#[test]
fn no_route_back_is_a_timeout_as_the_answer_says() {
    let (mut n, [a, _, b]) = two_hosts_through_a_router();
    n.unroute(b, "0.0.0.0/0");
    judged_tcp(
        "path_kernel_tcp_no_route_back",
        &n.build(),
        a,
        "10.0.2.2:443",
        "ETIMEDOUT",
    );
}
