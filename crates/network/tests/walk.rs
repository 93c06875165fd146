//! The walk across several hosts on hand-made topologies: each cause of a failing ping or
//! connection the issue names, found at the hop and in the direction it happens.

mod support;

use model::packet::IpProto;
use model::topology::{NodeKind, StubAnswers};
use model::{Family, SourceFile, L4};
use network::{LegEnd, LegRole, Outcome, Resolution, Stop};
use support::*;
use testgen::topology::Net;

#[test]
fn a_ping_through_a_router_goes_there_and_back() {
    let t = three(ROUTER_OPEN, BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", None));
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    assert_eq!(w.source.addr, Some(ip("10.0.1.2")));
    assert_eq!(names(&t, &w.legs[0]), ["client", "router", "server"]);
    assert_eq!(names(&t, &w.legs[1]), ["server", "router", "client"]);
    assert_eq!(w.legs[1].role, LegRole::Answer);
}

#[test]
fn no_route_back_on_the_far_end_loses_the_answer_there() {
    let t = three(ROUTER_OPEN, &[], 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 1, hop: 0 }, "{w:#?}");
    assert_eq!(w.legs[1].end, LegEnd::Stopped(Stop::Kernel));
    assert_eq!(names(&t, &w.legs[1]), ["server"]);
}

#[test]
fn a_closed_port_is_refused_by_the_far_end() {
    let t = three(ROUTER_OPEN, BACK, 1500);
    let w = network::walk(&t, &query(0, syn(80), "10.0.2.2", None));
    assert_eq!(w.outcome, Outcome::Refused, "{w:#?}");
    assert_eq!(w.legs.len(), 2);
}

#[test]
fn a_router_firewall_reject_sends_its_error_back_to_the_client() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp --dport 443 -j REJECT\nCOMMIT\n";
    let t = three(rules, BACK, 1500);
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 1 }, "{w:#?}");
    assert_eq!(w.legs[1].role, LegRole::Error { about: 0 });
    assert_eq!(names(&t, &w.legs[1]), ["router", "client"]);
    assert_eq!(w.legs[1].end, LegEnd::Arrived);
}

#[test]
fn a_neighbour_nobody_owns_fails_resolution_at_the_router_which_says_host_unreachable() {
    let t = three(ROUTER_OPEN, BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.9", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 1 }, "{w:#?}");
    assert_eq!(
        w.legs[0].end,
        LegEnd::Stopped(Stop::Neighbour {
            next_hop: ip("10.0.2.9")
        })
    );
    let egress = w.legs[0].hops[1].egress.as_ref().unwrap();
    assert_eq!(egress.resolution, Resolution::Failed { entry: None });
    let error = &w.legs[1];
    assert_eq!(
        error.hops[0].packet.l4,
        L4::Icmp {
            icmp_type: 3,
            code: 1,
            id: 0
        }
    );
    assert_eq!(error.hops[0].packet.src, ip("10.0.1.1"));
    assert_eq!(error.end, LegEnd::Arrived);
}

#[test]
fn a_big_ping_meets_a_smaller_mtu_gets_fragmentation_needed_and_the_next_is_fragmented() {
    let t = three(ROUTER_OPEN, BACK, 1400);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", Some(1500)));
    // The first echo request (DF set, as ping's default path-MTU discovery sends it) is
    // too big for the router's way out; its "fragmentation needed" reaches the client,
    // which sends the next one in fragments.
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    assert_eq!(w.path_mtu, Some(1400));
    let error = &w.legs[1];
    assert_eq!(error.role, LegRole::Error { about: 0 });
    assert_eq!(
        error.hops[0].packet.l4,
        L4::Icmp {
            icmp_type: 3,
            code: 4,
            id: 0
        }
    );
    assert_eq!(error.end, LegEnd::Arrived);
    assert_eq!(w.legs[2].role, LegRole::Request);
    assert!(!w.legs[2].hops[0].packet.dont_fragment);
}

#[test]
fn a_full_size_segment_is_resent_smaller_once_the_router_says_fragmentation_needed() {
    let mut t = three(ROUTER_OPEN, BACK, 1400);
    set_mtu(&mut t, 2, "eth0", 1500);
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", Some(1500)));
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    assert_eq!(w.path_mtu, Some(1400));
    let roles: Vec<LegRole> = w.legs.iter().map(|l| l.role).collect();
    assert_eq!(
        roles,
        [
            LegRole::Request,
            LegRole::Answer,
            LegRole::Data,
            LegRole::Error { about: 2 },
            LegRole::Data,
            LegRole::DataAnswer
        ]
    );
    assert_eq!(w.legs[4].hops[0].packet.len, 1400);
}

#[test]
fn a_firewall_dropping_icmp_makes_the_mtu_problem_a_black_hole() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let mut t = three(ROUTER_OPEN, BACK, 1400);
    // The server's own link is 1500 (so is its MSS); only the router's side is 1400, as
    // behind a tunnel.
    set_mtu(&mut t, 2, "eth0", 1500);
    let src = SourceFile::new("client.rules", rules);
    t.nodes[0].ruleset = frontends::iptables_save::parse(&src, Some(model::Family::Ip)).unwrap();
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", Some(1500)));
    // The handshake works (the SYN/ACK is ESTABLISHED), the full-size segment does not
    // fit the server's link, and the router's "fragmentation needed" is dropped by the
    // client's own INPUT policy.
    let data = w
        .legs
        .iter()
        .position(|l| l.role == LegRole::Data)
        .expect("a data leg");
    assert_eq!(w.outcome, Outcome::Fails { leg: data, hop: 1 }, "{w:#?}");
    let error = w.legs.last().unwrap();
    assert_eq!(error.role, LegRole::Error { about: data });
    assert_eq!(error.end, LegEnd::Stopped(Stop::Kernel));
    assert_eq!(names(&t, error), ["router", "client"]);
}

#[test]
fn forwarding_off_on_the_router_stops_the_request_there_silently() {
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    for k in ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"] {
        t.nodes[1].host.sysctls.0.insert(k.into(), "0".into());
    }
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 1 }, "{w:#?}");
    assert_eq!(w.legs.len(), 1, "forwarding off sends nothing back");
}

#[test]
fn a_stub_end_answers_as_described() {
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    t.nodes[2].kind = NodeKind::Stub(StubAnswers {
        tcp: Some(vec![2175]),
        udp: None,
        ping: true,
    });
    let works = network::walk(&t, &query(0, syn(2175), "10.0.2.2", None));
    assert_eq!(works.outcome, Outcome::Works, "{works:#?}");
    let refused = network::walk(&t, &query(0, syn(22), "10.0.2.2", None));
    assert_eq!(refused.outcome, Outcome::Refused);
}

#[test]
fn a_reply_coming_back_another_way_through_a_stateful_firewall_is_dropped_there() {
    // client -- r1 -- server, and server's default route via r2 (also on client's link).
    let stateful = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A FORWARD -i eth1 -o eth0 -p tcp --syn -j ACCEPT\nCOMMIT\n";
    let (mut n, [_, _, r2, s]) = testgen::topology::asymmetric_routers();
    n.iptables(r2, Family::Ip, stateful);
    n.listen(s, IpProto::Tcp, "0.0.0.0:443");
    let t = n.build();
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", None));
    assert_eq!(names(&t, &w.legs[0]), ["client", "r1", "server"]);
    assert_eq!(names(&t, &w.legs[1]), ["server", "r2"]);
    assert_eq!(w.outcome, Outcome::Fails { leg: 1, hop: 1 }, "{w:#?}");
}

#[test]
fn hairpin_nat_without_snat_answers_from_the_wrong_address() {
    // client and server share a LAN behind gw; the client connects to gw's public
    // address, DNATed to the server, which answers the client directly.
    let (n, _) = testgen::topology::hairpin_nat(&[]);
    let t = n.build();
    let w = network::walk(&t, &query(0, syn(443), "203.0.113.1", None));
    assert_eq!(names(&t, &w.legs[0]), ["client", "gw", "server"]);
    assert_eq!(names(&t, &w.legs[1]), ["server", "client"]);
    assert_eq!(
        w.legs[1].end,
        LegEnd::Stopped(Stop::NotForSender {
            expected: ip("203.0.113.1"),
            got: ip("192.168.1.10")
        }),
        "{w:#?}"
    );
}

#[test]
fn an_ipv6_ping_via_link_local_next_hops_goes_there_and_back() {
    let t = three_v6();
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", None));
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    assert_eq!(w.source.addr, Some(ip("2001:db8:1::2")));
    let first = w.legs[0].hops[0].egress.as_ref().unwrap();
    assert_eq!(first.next_hop, ip("fe80::1"));
    assert_eq!(names(&t, &w.legs[1]), ["server", "router", "client"]);
}

#[test]
fn an_ipv6_neighbour_that_never_answers_gets_address_unreachable_code_3_from_the_middle_hop() {
    let t = three_v6();
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::9", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 1 }, "{w:#?}");
    let error = &w.legs[1];
    assert_eq!(
        error.hops[0].packet.l4,
        L4::Icmpv6 {
            icmp_type: 1,
            code: 3,
            id: 0
        }
    );
    assert_eq!(names(&t, error), ["router", "client"]);
    assert_eq!(error.end, LegEnd::Arrived);
}

#[test]
fn an_ipv6_packet_too_big_for_the_next_link_gets_packet_too_big_back() {
    let mut t = three_v6();
    set_mtu(&mut t, 1, "eth1", 1280);
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", Some(1400)));
    // Routers never fragment IPv6: "packet too big" comes back, and the sender fragments
    // the next echo request itself.
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    assert_eq!(w.path_mtu, Some(1280));
    assert_eq!(
        w.legs[1].hops[0].packet.l4,
        L4::Icmpv6 {
            icmp_type: 2,
            code: 0,
            id: 0
        }
    );
    assert_eq!(w.legs[2].hops[0].packet.len, 1280);
}

#[test]
fn a_neighbour_the_sender_lists_as_failed_on_an_inferred_link_fails_there() {
    use model::host::{Neighbour, NeighbourState};
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    for l in &mut t.links {
        l.complete = false;
    }
    // Nobody given owns 10.0.2.9: the router's table says FAILED -> resolution fails;
    // without the entry the walk cannot say (another machine may be on the subnet).
    let unknown = network::walk(&t, &query(0, ping(), "10.0.2.9", None));
    assert_eq!(
        unknown.outcome,
        Outcome::Undecided { leg: 0, hop: 1 },
        "{unknown:#?}"
    );
    t.nodes[1].host.neighbours.push(Neighbour {
        addr: ip("10.0.2.9"),
        dev: "eth1".into(),
        lladdr: None,
        states: vec![NeighbourState::Failed],
        router: false,
    });
    t.nodes[1].host.known.neighbours = true;
    let failed = network::walk(&t, &query(0, ping(), "10.0.2.9", None));
    assert_eq!(
        failed.outcome,
        Outcome::Fails { leg: 0, hop: 1 },
        "{failed:#?}"
    );
}

#[test]
fn an_advertised_prefix_overlapping_the_senders_network_keeps_the_answer_on_the_far_link() {
    // The server's link was also given 2001:db8:1::/64 (a radvd prefix that overlaps the
    // client's network): the answer to 2001:db8:1::2 is for its own link, where nobody
    // answers neighbour discovery for it.
    let (n, _) =
        testgen::topology::v6_through_a_router("eth0", &["2001:db8:2::2/64", "2001:db8:1::99/64"]);
    let t = n.build();
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 1, hop: 0 }, "{w:#?}");
    assert_eq!(
        w.legs[1].end,
        LegEnd::Stopped(Stop::Neighbour {
            next_hop: ip("2001:db8:1::2")
        })
    );
}

#[test]
fn a_temporary_source_address_the_far_end_does_not_allow_is_named_as_the_choice() {
    let t = temporary_source();
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", None));
    assert_eq!(
        w.source.addr,
        Some(ip("2001:db8:1::a1b2")),
        "{:#?}",
        w.source
    );
    assert!(
        matches!(
            w.source.reason,
            engine::source::SourceReason::V6Rule {
                rule: engine::source::V6Rule::Privacy {
                    prefer_temporary: true
                },
                ..
            }
        ),
        "{:?}",
        w.source.reason
    );
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 2 }, "{w:#?}");
}

#[test]
fn ping_bound_to_a_device_leaves_by_it_even_when_the_route_says_otherwise() {
    // Two ways out: the default route by eth0; `ping -I eth1` leaves by eth1, whose link
    // reaches the server too (the destination is on eth1's subnet).
    let mut n = Net::new();
    let (c, s) = (n.host("client"), n.host("server"));
    n.iface(c, "eth0", &["10.0.1.2/24"])
        .iface(c, "eth1", &["10.0.3.2/24"])
        .route(c, "default", Some("10.0.1.1"), Some("eth0"));
    n.iface(s, "eth0", &["10.0.3.9/24"]);
    n.link("side", &[(c, "eth1"), (s, "eth0")]);
    let t = n.build();
    let mut q = query(0, ping(), "10.0.3.9", None);
    q.bind = network::Bind::Device("eth1".into());
    let w = network::walk(&t, &q);
    assert_eq!(w.source.addr, Some(ip("10.0.3.2")));
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    assert_eq!(w.legs[0].hops[0].egress.as_ref().unwrap().oif, "eth1");
}

#[test]
fn a_ping_larger_than_the_senders_own_mtu_leaves_in_fragments() {
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    set_mtu(&mut t, 0, "eth0", 1400);
    set_mtu(&mut t, 1, "eth0", 1400);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", Some(1500)));
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    let out = w.legs[0].hops[0].egress.as_ref().unwrap();
    assert!(out.fragmented && !out.packet.dont_fragment);
}

#[test]
fn ping_m_do_too_big_for_the_senders_own_mtu_fails_to_send() {
    let mut t = three(ROUTER_OPEN, BACK, 1500);
    set_mtu(&mut t, 0, "eth0", 1400);
    let mut q = query(0, ping(), "10.0.2.2", Some(1500));
    q.dont_fragment = true;
    let w = network::walk(&t, &q);
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 0 }, "{w:#?}");
    assert_eq!(
        w.legs[0].end,
        LegEnd::Stopped(Stop::TooBigToSend { mtu: 1400 })
    );
}

#[test]
fn ping_m_do_through_a_smaller_link_gets_fragmentation_needed_as_its_answer() {
    let t = three(ROUTER_OPEN, BACK, 1400);
    let mut q = query(0, ping(), "10.0.2.2", Some(1500));
    q.dont_fragment = true;
    let w = network::walk(&t, &q);
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 1 }, "{w:#?}");
    assert_eq!(w.path_mtu, Some(1400));
    assert_eq!(w.legs.len(), 2, "no second echo request");
}

#[test]
fn a_black_hole_behind_a_tunnel_stops_the_full_size_segment() {
    let t = tunnel(CLIENT_NO_ICMP, "");
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", Some(1500)));
    let data = w.legs.iter().position(|l| l.role == LegRole::Data).unwrap();
    assert_eq!(w.outcome, Outcome::Fails { leg: data, hop: 1 }, "{w:#?}");
}

#[test]
fn mss_clamping_on_the_router_sizes_segments_for_the_tunnel() {
    let t = tunnel(CLIENT_NO_ICMP, CLAMP);
    let w = network::walk(&t, &query(0, syn(443), "10.0.2.2", Some(1500)));
    assert_eq!(w.outcome, Outcome::Works, "{w:#?}");
    let data = w.legs.iter().find(|l| l.role == LegRole::Data).unwrap();
    assert_eq!(
        data.hops[0].packet.len, 1400,
        "1360 bytes of data and 40 of headers"
    );
    assert_eq!(w.path_mtu, None, "no error was needed");
}

#[test]
fn a_udp_service_on_the_wildcard_address_answers_from_the_address_its_route_back_selects() {
    // The server has two addresses on its link; asked on the second, a plain UDP socket
    // bound to 0.0.0.0 answers from the first (source selection on the way back), which
    // the client's connected socket does not take.
    let mut n = Net::new();
    let (c, s) = (n.host("client"), n.host("server"));
    n.iface(c, "eth0", &["10.0.1.2/24"]);
    n.iface(s, "eth0", &["10.0.1.9/24", "10.0.1.10/24"])
        .listen(s, IpProto::Udp, "0.0.0.0:53");
    n.link("lan", &[(c, "eth0"), (s, "eth0")]);
    let mut t = n.build();
    // The second address is a secondary one, as `ip addr add` makes it.
    for a in &mut eth0(&mut t, 1).addrs {
        a.secondary = a.addr == ip("10.0.1.10");
    }
    let udp = L4::Udp {
        sport: 40000,
        dport: 53,
    };
    let asked_first = network::walk(&t, &query(0, udp, "10.0.1.9", None));
    assert_eq!(asked_first.outcome, Outcome::Works, "{asked_first:#?}");
    let asked_second = network::walk(&t, &query(0, udp, "10.0.1.10", None));
    assert_eq!(
        asked_second.legs[1].end,
        LegEnd::Stopped(Stop::NotForSender {
            expected: ip("10.0.1.10"),
            got: ip("10.0.1.9")
        }),
        "{asked_second:#?}"
    );
}

#[test]
fn an_ipv6_firewall_that_accepts_only_established_drops_neighbour_discovery() {
    // The server's INPUT accepts established traffic and drops the rest: neighbour
    // solicitations (untracked by conntrack) never reach it, so the router cannot resolve
    // it and answers "address unreachable".
    let mut t = three_v6();
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT\nCOMMIT\n";
    t.nodes[2].ruleset =
        frontends::iptables_save::parse(&SourceFile::new("server.rules", rules), Some(Family::Ip6))
            .unwrap();
    let w = network::walk(&t, &query(0, ping6(), "2001:db8:2::2", None));
    assert_eq!(w.outcome, Outcome::Fails { leg: 0, hop: 1 }, "{w:#?}");
    let out = w.legs[0].hops[1].egress.as_ref().unwrap();
    assert!(
        matches!(&out.resolution, Resolution::Filtered { by: 2, .. }),
        "{:?}",
        out.resolution
    );
    assert_eq!(
        w.legs[1].hops[0].packet.l4,
        L4::Icmpv6 {
            icmp_type: 1,
            code: 3,
            id: 0
        }
    );
}
