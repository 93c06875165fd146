//! Topologies for the walk's tests, built by hand: Linux nodes with interfaces, connected
//! routes as the kernel adds them, sysctls, sockets and iptables-save rules.
#![allow(dead_code)]

use ipnet::IpNet;
use model::host::{IfAddr, Interface, Route, RouteType, Scope, Socket};
use model::packet::IpProto;
use model::topology::{Link, LinkEnd, LinkEvidence, Node, NodeKind, Topology};
use model::{Host, Packet, Ruleset, SourceFile, TcpFlags, L4};
use network::Query;
use std::net::IpAddr;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A Linux node: interfaces `(name, addresses, mtu)`, main-table routes `(dst, via, dev)`
/// (connected routes are added as the kernel adds them), sysctls and iptables-save rules.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub ifaces: &'a [(&'a str, &'a [&'a str], u32)],
    pub routes: &'a [(&'a str, Option<&'a str>, &'a str)],
    pub router: bool,
    pub rules: &'a str,
    pub listens: &'a [u16],
}

pub fn node(spec: NodeSpec<'_>) -> Node {
    let mut host = Host::default();
    for (i, (name, addrs, mtu)) in spec.ifaces.iter().enumerate() {
        let mut iface = Interface {
            name: name.to_string(),
            index: i as u32 + 2,
            up: true,
            mtu: Some(*mtu),
            ..Interface::default()
        };
        for a in *addrs {
            let n: IpNet = a.parse().unwrap();
            iface.addrs.push(IfAddr {
                addr: n.addr(),
                prefix_len: n.prefix_len(),
                scope: if a.starts_with("fe80") {
                    Scope::Link
                } else {
                    Scope::Universe
                },
                broadcast: None,
                temporary: false,
                secondary: false,
            });
            host.routes
                .push(route(&n.trunc().to_string(), None, name, "kernel"));
        }
        host.interfaces.push(iface);
    }
    for (dst, via, dev) in spec.routes {
        host.routes.push(route(dst, *via, dev, "static"));
    }
    host.known.addresses = true;
    host.known.routes = true;
    host.known.sysctls = true;
    let forwarding = if spec.router { "1" } else { "0" };
    for k in [
        "net.ipv4.ip_forward",
        "net.ipv4.conf.all.forwarding",
        "net.ipv6.conf.all.forwarding",
    ] {
        host.sysctls.0.insert(k.to_string(), forwarding.to_string());
    }
    host.sysctls
        .0
        .insert("net.ipv4.conf.all.rp_filter".into(), "0".into());
    host.known.sockets = true;
    for port in spec.listens {
        host.sockets.push(Socket {
            proto: IpProto::Tcp,
            addr: ip("0.0.0.0"),
            port: *port,
            device: None,
            process: None,
            dual_stack: true,
        });
    }
    let (ruleset, rules_given) = if spec.rules.is_empty() {
        (Ruleset::default(), false)
    } else {
        let src = SourceFile::new(format!("{}.rules", spec.name), spec.rules);
        (
            frontends::iptables_save::parse(&src, Some(model::Family::Ip)).unwrap(),
            true,
        )
    };
    Node {
        name: spec.name.to_string(),
        kind: NodeKind::Linux,
        host,
        ruleset,
        tool_config: Default::default(),
        source: "test".into(),
        rules_given,
        iptables_sources: Vec::new(),
        nft_sources: Vec::new(),
        notes: Vec::new(),
    }
}

pub fn route(dst: &str, via: Option<&str>, dev: &str, proto: &str) -> Route {
    let dst: IpNet = if dst == "default" {
        "0.0.0.0/0".parse().unwrap()
    } else {
        dst.parse().unwrap()
    };
    Route {
        table: 254,
        dst,
        route_type: RouteType::Unicast,
        gateway: via.map(ip),
        dev: Some(dev.to_string()),
        prefsrc: None,
        metric: 0,
        scope: if via.is_some() {
            Scope::Universe
        } else {
            Scope::Link
        },
        protocol: Some(proto.to_string()),
        nexthops: Vec::new(),
        text: format!("{dst} dev {dev}"),
    }
}

pub fn link(topo: &Topology, ends: &[&str]) -> Link {
    Link {
        name: ends.join(" -- "),
        ends: ends
            .iter()
            .map(|e| {
                let (n, i) = e.split_once(':').unwrap();
                LinkEnd {
                    node: topo.node(n).unwrap(),
                    iface: i.to_string(),
                }
            })
            .collect(),
        evidence: LinkEvidence::Declared {
            file: "test".into(),
            line: 1,
        },
        complete: true,
    }
}

pub const ROUTER_OPEN: &str = "";

/// client (10.0.1.2) -- router (10.0.1.1 | 10.0.2.1) -- server (10.0.2.2), IPv4.
pub fn three(
    router_rules: &str,
    server_routes: &[(&str, Option<&str>, &str)],
    eth1_mtu: u32,
) -> Topology {
    let mut t = Topology::default();
    t.nodes.push(node(NodeSpec {
        name: "client",
        ifaces: &[("eth0", &["10.0.1.2/24"], 1500)],
        routes: &[("default", Some("10.0.1.1"), "eth0")],
        router: false,
        rules: "",
        listens: &[],
    }));
    t.nodes.push(node(NodeSpec {
        name: "router",
        ifaces: &[
            ("eth0", &["10.0.1.1/24"], 1500),
            ("eth1", &["10.0.2.1/24"], eth1_mtu),
        ],
        routes: &[],
        router: true,
        rules: router_rules,
        listens: &[],
    }));
    t.nodes.push(node(NodeSpec {
        name: "server",
        ifaces: &[("eth0", &["10.0.2.2/24"], eth1_mtu)],
        routes: server_routes,
        router: false,
        rules: "",
        listens: &[443],
    }));
    t.links = vec![
        link(&t, &["client:eth0", "router:eth0"]),
        link(&t, &["router:eth1", "server:eth0"]),
    ];
    t
}

pub const BACK: &[(&str, Option<&str>, &str)] = &[("default", Some("10.0.2.1"), "eth0")];

pub fn query(from: usize, l4: L4, dst: &str, size: Option<u16>) -> Query {
    Query {
        from,
        packet: Packet::new(ip("0.0.0.0"), ip(dst), l4),
        source_given: false,
        size,
        options: Default::default(),
    }
}

pub fn ping() -> L4 {
    L4::Icmp {
        icmp_type: 8,
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
    frontends::iptables_save::parse(&SourceFile::new(name, text), Some(model::Family::Ip)).unwrap()
}

/// The same three hosts over IPv6, each link with its own link-local addresses; the ends
/// route via the router's link-local address, as routers advertise themselves.
pub fn three_v6(server_routes: &[(&str, Option<&str>, &str)]) -> Topology {
    let mut t = Topology::default();
    t.nodes.push(node(NodeSpec {
        name: "client",
        ifaces: &[("eth0", &["2001:db8:1::2/64", "fe80::2/64"], 1500)],
        routes: &[("::/0", Some("fe80::1"), "eth0")],
        router: false,
        rules: "",
        listens: &[],
    }));
    t.nodes.push(node(NodeSpec {
        name: "router",
        ifaces: &[
            ("eth0", &["2001:db8:1::1/64", "fe80::1/64"], 1500),
            ("eth1", &["2001:db8:2::1/64", "fe80::1/64"], 1500),
        ],
        routes: &[],
        router: true,
        rules: "",
        listens: &[],
    }));
    t.nodes.push(node(NodeSpec {
        name: "server",
        ifaces: &[("eth0", &["2001:db8:2::2/64", "fe80::2/64"], 1500)],
        routes: server_routes,
        router: false,
        rules: "",
        listens: &[443],
    }));
    t.links = vec![
        link(&t, &["client:eth0", "router:eth0"]),
        link(&t, &["router:eth1", "server:eth0"]),
    ];
    t
}

pub fn ping6() -> L4 {
    L4::Icmpv6 {
        icmp_type: 128,
        code: 0,
        id: 7,
    }
}

pub fn query6(l4: L4, dst: &str, size: Option<u16>) -> Query {
    Query {
        from: 0,
        packet: Packet::new(ip("::"), ip(dst), l4),
        source_given: false,
        size,
        options: Default::default(),
    }
}
