//! Regression tests for what the random path differential against the kernel
//! (`oracle/tests/path_differential.rs`) found, each named after its finding.

mod support;

use network::sees::{sender_sees, SenderSees};
use support::*;

/// A ping from the client to `dst` from a second address of its `eth0`, 10.0.9.2 (`ping
/// -I`), which no other host routes.
fn from_a_second_address(t: &mut model::topology::Topology, dst: &str) -> network::Query {
    eth0(t, 0).addrs.push(model::host::IfAddr {
        addr: ip("10.0.9.2"),
        prefix_len: 24,
        scope: model::host::Scope::Universe,
        broadcast: None,
        temporary: false,
        secondary: false,
        deprecated: false,
        dad: model::host::DadState::Done,
    });
    let mut q = query(0, ping(), dst, None);
    q.packet.src = ip("10.0.9.2");
    q.bind = network::Bind::Address(ip("10.0.9.2"));
    q
}

#[test]
fn a_connection_to_an_address_of_the_sender_itself_goes_out_lo_and_back() {
    for dst in ["10.0.1.2", "2001:db8:1::2"] {
        let mut t = if dst.contains(':') {
            three_v6()
        } else {
            three(ROUTER_OPEN, BACK, 1500)
        };
        // Nothing listens on the client: its own stack refuses.
        t.nodes[0].host.known.sockets = true;
        let w = network::walk(&t, &query(0, syn(443), dst, None));
        assert_eq!(
            sender_sees(&w),
            SenderSees::Refused { from: ip(dst) },
            "{dst}: {w:#?}"
        );
    }
}

#[test]
fn an_echo_reply_is_as_large_as_the_request_and_leaves_in_fragments() {
    // The server's link is 1400: the 1500-byte echo request (without DF) arrives in
    // fragments, and the reply, as large, leaves in fragments too (no DF on the kernel's
    // echo replies).
    let t = three(ROUTER_OPEN, BACK, 1400);
    let mut q = query(0, ping(), "10.0.2.2", Some(1500));
    q.packet.dont_fragment = false;
    let w = network::walk(&t, &q);
    assert_eq!(w.outcome, network::Outcome::Works, "{w:#?}");
    let reply = &w.legs[1].hops[0];
    assert_eq!(w.legs[1].role, network::LegRole::Answer);
    assert_eq!(reply.packet.len, 1500);
    assert!(!reply.packet.dont_fragment);
    assert!(
        reply.egress.as_ref().is_some_and(|e| e.fragmented),
        "{reply:#?}"
    );
}

#[test]
fn a_ping_sent_again_after_a_packet_too_big_shows_the_error_for_the_first() {
    // The router's way to the server is 1400; the 1500-byte echo request (IPv6: never
    // fragmented by routers) gets "packet too big" from the router: `ping -c1` prints it,
    // whatever the walk's next, smaller packet does.
    let mut t = three_v6();
    set_mtu(&mut t, 1, "eth1", 1400);
    set_mtu(&mut t, 2, "eth0", 1400);
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", Some(1500)));
    assert_eq!(w.outcome, network::Outcome::Works, "{w:#?}");
    assert_eq!(
        sender_sees(&w),
        SenderSees::Error {
            from: ip("2001:db8:1::1"),
            l4: model::L4::Icmpv6 {
                icmp_type: 2,
                code: 0,
                id: 0
            },
            mtu: Some(1400)
        }
    );
}

#[test]
fn a_ping_to_itself_dropped_on_its_way_back_in_is_sent_and_gets_nothing() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p icmp -j DROP\nCOMMIT\n";
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    t.nodes[0].ruleset = iptables("client.rules", rules);
    let w = network::walk(&t, &query(0, ping(), "10.0.1.2", None));
    assert_eq!(sender_sees(&w), SenderSees::Nothing, "{w:#?}");
}

#[test]
fn a_masqueraded_packet_whose_neighbour_fails_gets_its_error_from_the_masquerading_address() {
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n";
    let t = three(rules, BACK, 1500);
    let w = network::walk(&t, &query(0, syn(80), "10.0.2.200", None));
    // The SYN leaves the router as 10.0.2.1; nobody answers for 10.0.2.200; the host
    // unreachable is about the masqueraded SYN, so it comes from 10.0.2.1 (measured).
    assert_eq!(
        sender_sees(&w),
        SenderSees::Error {
            from: ip("10.0.2.1"),
            l4: model::L4::Icmp {
                icmp_type: 3,
                code: 1,
                id: 0
            },
            mtu: None
        },
        "{w:#?}"
    );
}

#[test]
fn an_error_about_a_lost_answer_goes_to_the_host_that_answered_not_to_the_sender() {
    // The client pings from a second address, 10.0.9.2, to which the router has no
    // route: the server's reply is lost at the router, whose "network unreachable" goes
    // to the server. The client sees nothing.
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    let q = from_a_second_address(&mut t, "10.0.2.2");
    let w = network::walk(&t, &q);
    assert!(
        w.legs
            .iter()
            .any(|l| matches!(l.role, network::LegRole::Error { about: 1 })),
        "{w:#?}"
    );
    assert_eq!(sender_sees(&w), SenderSees::Nothing, "{w:#?}");
}

#[test]
fn the_senders_own_host_unreachable_passes_its_own_output_chain() {
    // Nobody owns 10.0.1.9 on the client's link: its kernel reports host unreachable to
    // itself, through OUTPUT, which drops it here: ping sees nothing (measured).
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p icmp --icmp-type destination-unreachable -j DROP\nCOMMIT\n";
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.1.9", None));
    assert!(
        matches!(sender_sees(&w), SenderSees::Error { .. }),
        "{w:#?}"
    );
    t.nodes[0].ruleset = iptables("client.rules", rules);
    let w = network::walk(&t, &query(0, ping(), "10.0.1.9", None));
    assert_eq!(sender_sees(&w), SenderSees::Nothing, "{w:#?}");
}

#[test]
fn an_ipv6_sender_whose_way_out_has_only_a_link_local_address_sends_from_another_interface() {
    // The client's link to the router carries link-local addresses only; its global
    // address is on a second interface. The kernel sends from that global address.
    let mut t = three_v6();
    let link_only = eth0(&mut t, 0);
    link_only
        .addrs
        .retain(|a| a.scope == model::host::Scope::Link);
    let mut lan = link_only.clone();
    lan.name = "eth1".into();
    lan.addrs[0].addr = ip("2001:db8:9::2");
    lan.addrs[0].scope = model::host::Scope::Universe;
    t.nodes[0].host.interfaces.push(lan);
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", None));
    assert_eq!(w.source.addr, Some(ip("2001:db8:9::2")), "{w:#?}");
}

#[test]
fn a_routing_loop_ends_in_time_exceeded_back_to_the_sender() {
    // The router sends 10.0.9.0/24 to the server, which (forwarding) sends it back: the
    // TTL of 64 runs out at the 64th forwarding hop, which answers "time exceeded".
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    t.nodes[1].host.routes.push(model::host::Route {
        table: 254,
        dst: "10.0.9.0/24".parse().unwrap(),
        route_type: model::host::RouteType::Unicast,
        gateway: Some(ip("10.0.2.2")),
        dev: Some("eth1".into()),
        prefsrc: None,
        metric: 0,
        scope: model::host::Scope::Universe,
        protocol: Some("static".into()),
        nexthops: Vec::new(),
        text: "10.0.9.0/24 via 10.0.2.2 dev eth1".into(),
    });
    for k in ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"] {
        t.nodes[2].host.sysctls.0.insert(k.into(), "1".into());
    }
    let w = network::walk(&t, &query(0, ping(), "10.0.9.1", None));
    assert_eq!(
        w.legs[0].hops.len(),
        65,
        "the sender and 64 forwarding hops"
    );
    assert!(
        matches!(
            sender_sees(&w),
            SenderSees::Error {
                l4: model::L4::Icmp { icmp_type: 11, .. },
                ..
            }
        ),
        "{:?}",
        sender_sees(&w)
    );
}

#[test]
fn an_icmp_error_never_runs_the_nat_chains() {
    // The router has no route to 10.99.0.1 and answers "network unreachable"; its nat
    // OUTPUT chain would send ICMP elsewhere, but an ICMP error is only translated by the
    // binding of the flow it quotes (kernel: `nf_nat_ipv4_fn`), so it reaches the client.
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A OUTPUT -p icmp -j DNAT --to-destination 10.0.2.2\nCOMMIT\n";
    let t = three(rules, BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.99.0.1", None));
    assert_eq!(
        sender_sees(&w),
        SenderSees::Error {
            from: ip("10.0.1.1"),
            l4: model::L4::Icmp {
                icmp_type: 3,
                code: 0,
                id: 0
            },
            mtu: None
        },
        "{w:#?}"
    );
}

#[test]
fn an_arp_request_from_a_source_the_target_rp_filter_refuses_gets_no_answer() {
    // The client sends from a second address, 10.0.9.2, to the router, which has no
    // route back to it and rp_filter 2: the router does not answer the client's ARP, so
    // the client's own resolution fails (measured: "Destination Host Unreachable" from
    // 10.0.9.2 after about 3 s, and the router never sees the packet).
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    t.nodes[1]
        .host
        .sysctls
        .0
        .insert("net.ipv4.conf.all.rp_filter".into(), "2".into());
    let q = from_a_second_address(&mut t, "10.0.1.1");
    let w = network::walk(&t, &q);
    assert_eq!(
        w.legs[0].end,
        network::LegEnd::Stopped(network::Stop::Neighbour {
            next_hop: ip("10.0.1.1")
        }),
        "{w:#?}"
    );
    assert!(matches!(sender_sees(&w), SenderSees::Error { from, .. } if from == ip("10.0.9.2")));
}

#[test]
fn a_reject_reset_is_related_to_the_connection_it_refuses() {
    // The server refuses 443 with a reset and drops INVALID packets it sends: the reset is
    // attached to the refused SYN's connection (RELATED, measured), so it gets out.
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 443 -j REJECT --reject-with tcp-reset\n-A OUTPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    t.nodes[2].ruleset = iptables("server.rules", rules);
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", None));
    assert!(
        matches!(
            sender_sees(&w),
            SenderSees::Error { l4: model::L4::Tcp { .. }, from, .. } if from == ip("10.0.2.2")
        ),
        "{:?}",
        sender_sees(&w)
    );
}

#[test]
fn a_ping_to_itself_through_a_stateful_input_chain_is_answered() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p icmp --icmp-type echo-request -j ACCEPT\nCOMMIT\n";
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    t.nodes[0].ruleset = iptables("client.rules", rules);
    let w = network::walk(&t, &query(0, ping(), "10.0.1.2", None));
    assert_eq!(
        sender_sees(&w),
        SenderSees::Answer {
            from: ip("10.0.1.2")
        },
        "{w:#?}"
    );
}
