//! Topologies for the walk's tests, built with `testgen::topology::Net` (the builder the
//! kernel tests use, so the same hosts can be built in namespaces).
#![allow(dead_code)]

use model::packet::IpProto;
use model::topology::Topology;
use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};
use network::Query;
use std::net::IpAddr;
use testgen::topology::Net;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub const ROUTER_OPEN: &str = "";

/// A route `(dst, via, dev)` as `ip route add` takes it.
pub type RouteSpec<'a> = (&'a str, Option<&'a str>, &'a str);

/// client (10.0.1.2) -- router (10.0.1.1 | 10.0.2.1) -- server (10.0.2.2, listening on
/// 443), IPv4; the router's second link (and the server's interface) have MTU `eth1_mtu`.
pub fn three(router_rules: &str, server_routes: &[RouteSpec<'_>], eth1_mtu: u32) -> Topology {
    let mut n = Net::new();
    let (c, r, s) = (n.host("client"), n.host("router"), n.host("server"));
    n.iface(c, "eth0", &["10.0.1.2/24"])
        .route(c, "default", Some("10.0.1.1"), Some("eth0"));
    n.iface(r, "eth0", &["10.0.1.1/24"])
        .iface(r, "eth1", &["10.0.2.1/24"])
        .mtu(r, "eth1", eth1_mtu)
        .forwarding(r);
    if !router_rules.is_empty() {
        n.iptables(r, Family::Ip, router_rules);
    }
    n.iface(s, "eth0", &["10.0.2.2/24"])
        .mtu(s, "eth0", eth1_mtu)
        .listen(s, IpProto::Tcp, "0.0.0.0:443");
    for (dst, via, dev) in server_routes {
        n.route(s, dst, *via, Some(dev));
    }
    n.link("left", &[(c, "eth0"), (r, "eth0")])
        .link("right", &[(r, "eth1"), (s, "eth0")]);
    n.build()
}

pub const BACK: &[RouteSpec<'static>] = &[("default", Some("10.0.2.1"), "eth0")];

/// The same three hosts over IPv6 (`testgen::topology::v6_through_a_router`), the server
/// listening on 443.
pub fn three_v6() -> Topology {
    let (mut n, [_, _, s]) = testgen::topology::v6_through_a_router("eth0", &["2001:db8:2::2/64"]);
    n.listen(s, IpProto::Tcp, "[::]:443");
    n.build()
}

pub fn query(from: usize, l4: L4, dst: &str, size: Option<u16>) -> Query {
    let unspecified = if dst.contains(':') { "::" } else { "0.0.0.0" };
    Query {
        size,
        ..Query::new(from, Packet::new(ip(unspecified), ip(dst), l4))
    }
}

pub fn ping() -> L4 {
    L4::Icmp {
        icmp_type: 8,
        code: 0,
        id: 7,
    }
}

pub fn ping6() -> L4 {
    L4::Icmpv6 {
        icmp_type: 128,
        code: 0,
        id: 7,
    }
}

pub fn syn(dport: u16) -> L4 {
    L4::Tcp {
        sport: 40000,
        dport,
        flags: TcpFlags::SYN,
    }
}

pub fn names(topo: &Topology, leg: &network::Leg) -> Vec<String> {
    leg.hops
        .iter()
        .map(|h| topo.nodes[h.node].name.clone())
        .collect()
}

pub fn iptables(name: &str, text: &str) -> Ruleset {
    frontends::iptables_save::parse(&SourceFile::new(name, text), Some(Family::Ip)).unwrap()
}

/// Sets the MTU of `node`'s interface `iface` in a built topology.
pub fn set_mtu(t: &mut Topology, node: usize, iface: &str, mtu: u32) {
    let host = &mut t.nodes[node].host;
    host.interfaces
        .iter_mut()
        .find(|i| i.name == iface)
        .expect("the interface")
        .mtu = Some(mtu);
}

/// `testgen`'s tunnel between two routers, with iptables-save rules for the client and r1
/// ("" for none).
pub fn tunnel(client_rules: &str, r1_rules: &str) -> Topology {
    let (mut n, [c, r1, _, _]) = testgen::topology::tunnel_between_routers();
    if !client_rules.is_empty() {
        n.iptables(c, Family::Ip, client_rules);
    }
    if !r1_rules.is_empty() {
        n.iptables(r1, Family::Ip, r1_rules);
    }
    n.build()
}

/// A client firewall that takes TCP of established connections and nothing else (no ICMP).
pub const CLIENT_NO_ICMP: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n";

/// MSS clamping on a router's forwarded SYNs.
pub const CLAMP: &str = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n";

/// `node`'s `eth0` in a built topology.
pub fn eth0(t: &mut Topology, node: usize) -> &mut model::host::Interface {
    t.nodes[node]
        .host
        .interfaces
        .iter_mut()
        .find(|i| i.name == "eth0")
        .expect("eth0")
}

/// client (wlan0: public 2001:db8:1::2 and temporary 2001:db8:1::a1b2, use_tempaddr 2) --
/// router -- server, whose firewall lets in only the client's public address.
pub fn temporary_source() -> Topology {
    // use_tempaddr=2: the client's kernel sends from its temporary address, which the
    // server's firewall does not know (it allows only the client's public address).
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8:1::2/128 -j ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-advertisement -j ACCEPT\nCOMMIT\n";
    let mut n = Net::new();
    let (c, r, s) = (n.host("client"), n.host("router"), n.host("server"));
    n.iface(c, "wlan0", &["2001:db8:1::2/64"])
        .address(c, "wlan0", "2001:db8:1::a1b2/64")
        .route(c, "::/0", Some("fe80::1"), Some("wlan0"))
        .sysctl(c, "net.ipv6.conf.all.use_tempaddr", "2")
        .sysctl(c, "net.ipv6.conf.wlan0.use_tempaddr", "2");
    n.iface(r, "eth0", &["2001:db8:1::1/64", "fe80::1/64"])
        .iface(r, "eth1", &["2001:db8:2::1/64", "fe80::1/64"])
        .forwarding(r);
    n.iface(s, "eth0", &["2001:db8:2::2/64"])
        .route(s, "::/0", Some("fe80::1"), Some("eth0"))
        .iptables(s, Family::Ip6, rules);
    n.link("wifi", &[(c, "wlan0"), (r, "eth0")])
        .link("lan", &[(r, "eth1"), (s, "eth0")]);
    let mut t = n.build();
    let temporary = t.nodes[0]
        .host
        .interfaces
        .iter_mut()
        .flat_map(|i| i.addrs.iter_mut())
        .find(|a| a.addr == ip("2001:db8:1::a1b2"))
        .unwrap();
    temporary.temporary = true;
    t
}
