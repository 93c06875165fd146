//! The path answer, text and JSON, on hand-built topologies walked for real
//! ([`network::walk`]): one snapshot pair per cause of a failing ping or connection the
//! issue names. The whole output is compared, so any change of wording shows up as a
//! snapshot diff; the JSON is also checked against `docs/path.schema.json`.

mod schema;

use model::packet::IpProto;
use model::topology::{NodeKind, StubAnswers, Topology};
use model::{Family, Packet, TcpFlags, L4};
use network::Query;
use report::path::{PathAnswer, PathFacts};
use std::net::IpAddr;
use testgen::topology::{asymmetric_routers, two_hosts_through_a_router, Net};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `a -- r -- b` (10.0.1.0/24, 10.0.2.0/24, fd00:1::/64, fd00:2::/64), `b` listening on
/// 443, with `r`'s IPv4 firewall when given.
fn lab(router_rules: Option<&str>) -> (Net, [usize; 3]) {
    let (mut n, [a, r, b]) = two_hosts_through_a_router();
    if let Some(rules) = router_rules {
        n.iptables(r, Family::Ip, rules);
    }
    (n, [a, r, b])
}

/// The topology, `b` listening on TCP 443 (IPv4 and IPv6).
fn built(n: &Net, b: usize) -> Topology {
    let mut n = n.clone();
    n.listen(b, IpProto::Tcp, "0.0.0.0:443")
        .listen(b, IpProto::Tcp, "[::]:443");
    n.build()
}

fn ping() -> L4 {
    L4::Icmp {
        icmp_type: 8,
        code: 0,
        id: 7,
    }
}

fn ping6() -> L4 {
    L4::Icmpv6 {
        icmp_type: 128,
        code: 0,
        id: 7,
    }
}

fn syn(dport: u16) -> L4 {
    L4::Tcp {
        sport: 40000,
        dport,
        flags: TcpFlags::SYN,
    }
}

/// What `from` sends to `dst`; an echo request as large as ping's by default (56 bytes of
/// data).
fn query(from: usize, l4: L4, dst: &str, size: Option<u16>) -> Query {
    let v6 = dst.contains(':');
    let mut packet = Packet::new(ip(if v6 { "::" } else { "0.0.0.0" }), ip(dst), l4);
    if matches!(l4, L4::Icmp { .. } | L4::Icmpv6 { .. }) {
        packet.len = if v6 { 104 } else { 84 };
    }
    Query {
        size,
        ..Query::new(from, packet)
    }
}

/// The text and the JSON of the walk of `q` on `t`, the fix searched for as the command
/// does; the JSON checked against the schema.
fn answer(t: &Topology, q: &Query) -> (String, String) {
    let walk = network::walk(t, q);
    let fix = network::fix::fix(t, q, &walk);
    let facts = PathFacts::of(t, &walk, fix);
    let a = PathAnswer {
        topology: t,
        walk: &walk,
        sender: q.from,
        facts: &facts,
        size: q.size,
    };
    let mut text = Vec::new();
    report::path::text::render(&mut text, &a, &Default::default()).unwrap();
    let mut json = Vec::new();
    report::path::json::render(&mut json, &a).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    schema::assert_valid(&value);
    (
        String::from_utf8(text).unwrap(),
        String::from_utf8(json).unwrap(),
    )
}

fn snap(name: &str, t: &Topology, q: &Query) -> (String, String) {
    let (text, json) = answer(t, q);
    insta::assert_snapshot!(format!("{name}__text"), text);
    insta::assert_snapshot!(format!("{name}__json"), json);
    (text, json)
}

#[test]
fn a_ping_through_a_router_works() {
    let (n, [a, _, b]) = lab(None);
    let (text, _) = snap(
        "ping_works",
        &built(&n, b),
        &query(a, ping(), "10.0.2.2", None),
    );
    assert!(
        text.starts_with("WORKS  icmp 10.0.1.2 -> 10.0.2.2"),
        "{text}"
    );
}

#[test]
fn a_router_reject_fails_the_way_there_and_the_fix_is_on_the_router() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp --dport 443 -j REJECT\nCOMMIT\n";
    let (n, [a, _, b]) = lab(Some(rules));
    let (text, _) = snap(
        "router_reject",
        &built(&n, b),
        &query(a, syn(443), "10.0.2.2", None),
    );
    assert!(text.starts_with("FAILS at r (the way there)"), "{text}");
    assert!(text.contains("ECONNREFUSED"), "{text}");
}

#[test]
fn no_route_back_fails_on_the_way_back_with_a_route_as_the_fix() {
    let (mut n, [a, _, b]) = lab(None);
    n.unroute(b, "0.0.0.0/0");
    let (text, _) = snap(
        "no_route_back",
        &built(&n, b),
        &query(a, ping(), "10.0.2.2", None),
    );
    assert!(text.starts_with("FAILS at b (the way back)"), "{text}");
}

#[test]
fn a_neighbour_nobody_owns_is_destination_host_unreachable_from_the_router() {
    let (n, [a, _, b]) = lab(None);
    let (text, _) = snap(
        "neighbour_failed",
        &built(&n, b),
        &query(a, ping(), "10.0.2.9", None),
    );
    assert!(
        text.contains("From 10.0.1.1 icmp_seq=1 Destination Host Unreachable"),
        "{text}"
    );
}

#[test]
fn ipv6_neighbour_discovery_failing_on_the_router_is_address_unreachable() {
    let (n, [a, _, b]) = lab(None);
    let (text, _) = snap(
        "neighbour_failed_v6",
        &built(&n, b),
        &query(a, ping6(), "fd00:2::9", None),
    );
    assert!(
        text.contains("Destination unreachable: Address unreachable"),
        "{text}"
    );
}

#[test]
fn the_path_mtu_black_hole_says_where_the_error_is_dropped() {
    // The router's link to b is 1400 (as behind a tunnel); b itself says 1500, so its MSS
    // lets full-size segments come; a's INPUT drops everything but established TCP, so the
    // router's "fragmentation needed" never reaches it.
    let (mut n, [a, r, b]) = lab(None);
    n.mtu(r, "eth1", 1400);
    n.iptables(
        a,
        Family::Ip,
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    let (text, _) = snap(
        "pmtu_black_hole",
        &built(&n, b),
        &query(a, syn(443), "10.0.2.2", Some(1500)),
    );
    assert!(
        text.contains("the handshake works, full-size segments vanish: r's 'fragmentation needed' is dropped by a on its way back"),
        "{text}"
    );
}

#[test]
fn a_big_ping_learns_the_path_mtu_and_then_works() {
    let (mut n, [a, r, b]) = lab(None);
    // The link between r and b carries 1400 bytes, on both of its ends.
    n.mtu(r, "eth1", 1400).mtu(b, "eth0", 1400);
    let (text, _) = snap(
        "ping_learns_mtu",
        &built(&n, b),
        &query(a, ping(), "10.0.2.2", Some(1500)),
    );
    assert!(
        text.contains("Frag needed and DF set (mtu = 1400)"),
        "{text}"
    );
}

#[test]
fn forwarding_off_is_fixed_by_a_sysctl_on_the_router() {
    let (mut n, [a, r, b]) = lab(None);
    n.sysctl(r, "net.ipv4.ip_forward", "0")
        .sysctl(r, "net.ipv4.conf.all.forwarding", "0");
    let (text, _) = snap(
        "forwarding_off",
        &built(&n, b),
        &query(a, ping(), "10.0.2.2", None),
    );
    assert!(text.contains("sysctl -w"), "{text}");
}

#[test]
fn a_stub_end_refuses_a_port_it_does_not_list() {
    let (n, [a, _, b]) = lab(None);
    let mut t = built(&n, b);
    t.nodes[b].kind = NodeKind::Stub(StubAnswers {
        tcp: Some(vec![2175]),
        udp: None,
        ping: true,
    });
    let (text, _) = snap("stub_refuses", &t, &query(a, syn(22), "10.0.2.2", None));
    assert!(text.starts_with("REFUSED"), "{text}");
}

#[test]
fn hairpin_nat_without_snat_answers_from_an_address_no_socket_asked() {
    let mut n = Net::new();
    let c = n.host("client");
    let gw = n.host("gw");
    let s = n.host("server");
    n.iface(c, "eth0", &["192.168.1.20/24"])
        .route(c, "default", Some("192.168.1.1"), Some("eth0"));
    n.iface(gw, "lan", &["192.168.1.1/24"])
        .iface(gw, "wan", &["203.0.113.1/24"])
        .forwarding(gw)
        .iptables(
            gw,
            Family::Ip,
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d 203.0.113.1/32 -p tcp --dport 443 -j DNAT --to-destination 192.168.1.10\nCOMMIT\n",
        );
    n.iface(s, "eth0", &["192.168.1.10/24"])
        .route(s, "default", Some("192.168.1.1"), Some("eth0"));
    n.link("lan", &[(c, "eth0"), (gw, "lan"), (s, "eth0")]);
    let (text, _) = snap(
        "hairpin_nat",
        &built(&n, s),
        &query(c, syn(443), "203.0.113.1", None),
    );
    assert!(text.contains("gw: also translate the source"), "{text}");
}

#[test]
fn ipv6_ping_through_the_router_works() {
    let (n, [a, _, b]) = lab(None);
    let (text, json) = snap(
        "ping6_works",
        &built(&n, b),
        &query(a, ping6(), "fd00:2::2", None),
    );
    assert!(text.starts_with("WORKS"), "{text}");
    assert!(json.contains("\"outcome\": \"works\""), "{json}");
}

#[test]
fn the_schema_check_catches_what_breaks_it() {
    let (n, [a, _, b]) = lab(None);
    let (_, json) = answer(&built(&n, b), &query(a, ping(), "10.0.2.2", None));
    let good: serde_json::Value = serde_json::from_str(&json).unwrap();
    let root = schema::schema();
    assert!(schema::violations(&root, &good).is_empty());
    let mut bad = good.clone();
    bad["outcome"] = "maybe".into();
    bad["legs"][0]["hops"][0]["egress"]["neighbour"]["result"] = "asked".into();
    bad["legs"][0]["extra"] = 1.into();
    bad["sender_sees"].as_object_mut().unwrap().remove("text");
    let errors = schema::violations(&root, &bad);
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn an_inferred_link_where_nobody_given_owns_the_next_hop_is_undecided() {
    let (n, [a, _, b]) = lab(None);
    let mut t = built(&n, b);
    t.links[1].complete = false;
    t.links[1].evidence = model::topology::LinkEvidence::SharedSubnet {
        net: "10.0.2.0/24".parse().unwrap(),
    };
    let (text, _) = snap(
        "inferred_link_undecided",
        &t,
        &query(a, ping(), "10.0.2.9", None),
    );
    assert!(text.starts_with("UNDECIDED at r (the way there)"), "{text}");
    assert!(text.contains("other hosts may share it"), "{text}");
}

#[test]
fn a_stub_router_in_the_middle_forwards_by_its_routes() {
    // User story 1's shape: a -- zos (a stub, not Linux) -- b.
    let mut n = Net::new();
    let a = n.host("a");
    let z = n.stub("zos", &[], true);
    let b = n.host("b");
    n.iface(a, "eth0", &["10.0.1.2/24"])
        .route(a, "default", Some("10.0.1.1"), Some("eth0"));
    n.iface(z, "eth0", &["10.0.1.1/24"])
        .iface(z, "eth1", &["10.0.2.1/24"]);
    n.iface(b, "eth0", &["10.0.2.2/24"])
        .route(b, "default", Some("10.0.2.1"), Some("eth0"));
    n.link("left", &[(a, "eth0"), (z, "eth0")])
        .link("right", &[(z, "eth1"), (b, "eth0")]);
    let (text, _) = snap(
        "stub_in_the_middle",
        &built(&n, b),
        &query(a, syn(443), "10.0.2.2", None),
    );
    assert!(text.starts_with("WORKS"), "{text}");
    assert!(text.contains("zos  a stub: forwards out of eth1"), "{text}");
}

#[test]
fn colour_only_when_asked() {
    let (mut n, [a, _, b]) = lab(None);
    n.unroute(b, "0.0.0.0/0");
    let t = built(&n, b);
    let q = query(a, ping(), "10.0.2.2", None);
    let walk = network::walk(&t, &q);
    let facts = PathFacts::of(&t, &walk, None);
    let answer = PathAnswer {
        topology: &t,
        walk: &walk,
        sender: q.from,
        facts: &facts,
        size: None,
    };
    let render = |color: bool| {
        let mut out = Vec::new();
        report::path::text::render(&mut out, &answer, &report::TextOptions { color }).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert!(render(true).starts_with("\x1b[1;31mFAILS\x1b[0m"));
    assert!(!render(false).contains('\x1b'));
}

#[test]
fn an_answer_coming_back_another_way_is_dropped_by_a_stateful_firewall_that_never_saw_the_request()
{
    // client -- r1 -- server on the way there; the server's default route is r2, whose
    // FORWARD accepts only established flows and new SYNs from its inside.
    let (mut n, [c, _, r2, s]) = asymmetric_routers();
    n.iptables(
        r2,
        Family::Ip,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A FORWARD -i eth1 -o eth0 -p tcp --syn -j ACCEPT\nCOMMIT\n",
    );
    let (text, json) = snap(
        "asymmetric_stateful",
        &built(&n, s),
        &query(c, syn(443), "10.0.2.2", None),
    );
    assert!(text.starts_with("FAILS at r2 (the way back)"), "{text}");
    assert!(json.contains("\"role\": \"answer\""), "{json}");
}

#[test]
fn a_rate_limit_on_the_router_leaves_the_walk_undecided_with_its_branches() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m limit --limit 1/s -j ACCEPT\nCOMMIT\n";
    let (n, [a, _, b]) = lab(Some(rules));
    let (text, _) = snap(
        "router_rate_limit",
        &built(&n, b),
        &query(a, ping(), "10.0.2.2", None),
    );
    assert!(text.starts_with("UNDECIDED at r (the way there)"), "{text}");
    assert!(text.contains("branches"), "{text}");
}

#[test]
fn tcp_learns_the_path_mtu_from_the_first_full_size_segment_and_then_works() {
    let (mut n, [a, r, b]) = lab(None);
    n.mtu(r, "eth1", 1400);
    let (text, _) = snap(
        "tcp_learns_mtu",
        &built(&n, b),
        &query(a, syn(443), "10.0.2.2", Some(1500)),
    );
    assert!(text.starts_with("WORKS"), "{text}");
    assert!(
        text.contains("a SYN/ACK from 10.0.2.2 (b): connect() succeeds\n                 the first full-size segment gets ICMP fragmentation needed (mtu 1400) from 10.0.1.1 (r)"),
        "{text}"
    );
}

#[test]
fn the_mss_clamp_is_worded_in_nft_for_a_router_whose_firewall_is_nft() {
    let (mut n, [client, r1, _, _]) = testgen::topology::tunnel_between_routers();
    n.iptables(
        client,
        model::Family::Ip,
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    n.nft(
        r1,
        "table inet filter { chain forward { type filter hook forward priority 0; policy accept; } }\n",
    );
    let t = n.build();
    let (text, _) = answer(&t, &query(client, syn(443), "10.0.2.2", Some(1500)));
    assert!(
        text.contains(
            "nft add rule inet mss_clamp forward tcp flags syn tcp option maxseg size set rt mtu"
        ),
        "{text}"
    );
    // The very table `oracle/tests/mss_clamp_kernel.rs` loads into the kernel.
    assert!(
        text.contains("/etc/nftables.conf: table inet mss_clamp { chain forward { type filter hook forward priority mangle; tcp flags syn tcp option maxseg size set rt mtu; }; }"),
        "{text}"
    );
}
