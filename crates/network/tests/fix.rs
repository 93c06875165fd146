//! The fix for a failed walk: on the host where the exchange fails, and proven by walking
//! the whole exchange again with it.
mod support;

use network::fix::{fix, Change};
use network::Outcome;
use support::*;

#[test]
fn forwarding_off_is_fixed_by_the_sysctl_on_that_router() {
    let mut t = three("", BACK, 1500);
    for k in ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"] {
        t.nodes[1].host.sysctls.0.insert(k.into(), "0".into());
    }
    let q = query(0, ping(), "10.0.2.2", None);
    let w = network::walk(&t, &q);
    let f = fix(&t, &q, &w).expect("a fix");
    assert_eq!(t.nodes[f.node].name, "router");
    assert!(
        matches!(&f.change, Change::Sysctl { value, .. } if value == "1"),
        "{:?}",
        f.change
    );
    assert!(f.works(), "{:#?}", f.proof);
}

#[test]
fn no_route_back_is_fixed_by_a_route_to_the_senders_network_via_the_router() {
    let t = three("", &[], 1500);
    let q = query(0, ping(), "10.0.2.2", None);
    let w = network::walk(&t, &q);
    let f = fix(&t, &q, &w).expect("a fix");
    assert_eq!(t.nodes[f.node].name, "server");
    match &f.change {
        Change::Route { dst, via, dev } => {
            assert_eq!(dst.to_string(), "10.0.1.0/24");
            assert_eq!(*via, ip("10.0.2.1"));
            assert_eq!(dev, "eth0");
        }
        other => panic!("{other:?}"),
    }
    assert!(f.works(), "{:#?}", f.proof);
}

#[test]
fn a_router_reject_is_fixed_in_the_routers_firewall_and_proven_across_the_path() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp --dport 443 -j REJECT\nCOMMIT\n";
    let t = three(rules, BACK, 1500);
    let q = query(0, syn(443), "10.0.2.2", None);
    let w = network::walk(&t, &q);
    let f = fix(&t, &q, &w).expect("a fix");
    assert_eq!(t.nodes[f.node].name, "router");
    assert!(matches!(f.change, Change::Firewall(_)));
    assert!(f.works(), "{:#?}", f.proof);
}

#[test]
fn a_path_mtu_black_hole_is_fixed_where_the_too_big_error_is_dropped() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let mut t = three("", BACK, 1400);
    set_mtu(&mut t, 2, "eth0", 1500);
    t.nodes[0].ruleset = iptables("client.rules", rules);
    let q = query(0, syn(443), "10.0.2.2", Some(1500));
    let w = network::walk(&t, &q);
    assert!(matches!(w.outcome, Outcome::Fails { .. }), "{w:#?}");
    let f = fix(&t, &q, &w).expect("a fix");
    assert_eq!(
        t.nodes[f.node].name, "client",
        "the ICMP is dropped by the client's INPUT"
    );
    assert!(matches!(f.change, Change::Firewall(_)));
    let proof = f.proof.as_ref().expect("proven");
    assert_eq!(proof.outcome, Outcome::Works, "{proof:#?}");
    assert_eq!(proof.path_mtu, Some(1400));
}

#[test]
fn a_black_hole_behind_a_tunnel_can_also_be_cured_by_mss_clamping_on_the_router() {
    let t = tunnel(CLIENT_NO_ICMP, "");
    let q = query(0, syn(443), "10.0.2.2", Some(1500));
    let w = network::walk(&t, &q);
    let f = fix(&t, &q, &w).expect("a fix");
    assert_eq!(t.nodes[f.node].name, "client");
    assert!(f.works(), "{:#?}", f.proof);
    let clamp = f.alternative.as_ref().expect("the MSS clamp as well");
    assert_eq!(t.nodes[clamp.node].name, "r1");
    assert!(matches!(clamp.change, Change::ClampMss { .. }));
    let proof = clamp.proof.as_ref().expect("proven");
    assert_eq!(proof.outcome, Outcome::Works, "{proof:#?}");
    assert_eq!(proof.path_mtu, None, "segments fit: no error needed");
}

#[test]
fn a_temporary_source_the_far_end_refuses_can_also_be_fixed_on_the_sender() {
    let t = temporary_source();
    let q = query(0, ping6(), "2001:db8:2::2", None);
    let w = network::walk(&t, &q);
    assert!(matches!(w.outcome, Outcome::Fails { .. }), "{w:#?}");
    let f = fix(&t, &q, &w).expect("a fix");
    assert_eq!(
        t.nodes[f.node].name, "server",
        "the firewall that refuses it"
    );
    let other = f.alternative.as_ref().expect("the sender's other address");
    assert_eq!(t.nodes[other.node].name, "client");
    match &other.change {
        Change::Source {
            addr,
            prefer_public,
        } => {
            assert_eq!(*addr, ip("2001:db8:1::2"));
            assert_eq!(
                prefer_public.as_deref(),
                Some("net.ipv6.conf.wlan0.use_tempaddr")
            );
        }
        c => panic!("{c:?}"),
    }
    assert!(other.works(), "{:#?}", other.proof);
}
