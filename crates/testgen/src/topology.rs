//! Small [`Topology`] values for tests: Linux nodes with interfaces, addresses, routes,
//! sysctls, neighbour entries and a firewall, and the links between them, written the way
//! a reader fills them (every part given, connected routes listed as the kernel makes
//! them), so that the engine and a kernel-built network see the same hosts. The random
//! topology generator builds on it.

use ipnet::IpNet;
use model::host::{
    IfAddr, Interface, Neighbour, NeighbourState, PolicyRule, Route, RouteType, RuleAction, Scope,
    Socket,
};
use model::packet::IpProto;
use model::packet::Mac;
use model::topology::{Link, LinkEnd, LinkEvidence, Node, NodeKind, StubAnswers, Topology};
use model::{Family, Host, SourceFile};
use std::net::{IpAddr, Ipv6Addr};

/// A topology under construction. Nodes are named by the index [`Net::host`] returns.
#[derive(Debug, Clone, Default)]
pub struct Net {
    topo: Topology,
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| panic!("test topology: bad {what} `{s}`"))
}

impl Net {
    /// An empty topology.
    pub fn new() -> Net {
        Net::default()
    }

    /// Adds a Linux node without interfaces, routes or firewall; every part of its state is
    /// marked as given (so what the builder leaves out is known to be absent).
    pub fn host(&mut self, name: &str) -> usize {
        self.add(name, NodeKind::Linux)
    }

    /// Adds a stub (a system that is not Linux) listening on the given TCP ports, answering
    /// pings or not.
    pub fn stub(&mut self, name: &str, tcp: &[u16], ping: bool) -> usize {
        self.add(
            name,
            NodeKind::Stub(StubAnswers {
                tcp: Some(tcp.to_vec()),
                udp: Some(Vec::new()),
                ping,
            }),
        )
    }

    fn add(&mut self, name: &str, kind: NodeKind) -> usize {
        let mut host = Host::default();
        host.known.addresses = true;
        host.known.routes = true;
        host.known.policy_rules = true;
        host.known.sysctls = true;
        host.known.neighbours = true;
        host.known.links = true;
        let loopback = |addr: &str, prefix_len| IfAddr {
            addr: parse("address", addr),
            prefix_len,
            scope: Scope::Host,
            broadcast: None,
            temporary: false,
            secondary: false,
            deprecated: false,
            dad: model::host::DadState::Done,
        };
        host.interfaces.push(Interface {
            name: "lo".into(),
            link: model::host::LinkType::Loopback,
            up: true,
            mtu: Some(65536),
            addrs: vec![loopback("127.0.0.1", 8), loopback("::1", 128)],
            ..Interface::default()
        });
        self.topo.nodes.push(Node {
            name: name.into(),
            kind,
            host,
            ruleset: model::Ruleset::default(),
            tool_config: model::tool_config::ToolConfig::default(),
            source: format!("test:{name}"),
            rules_given: false,
            iptables_sources: Vec::new(),
            nft_sources: Vec::new(),
            notes: Vec::new(),
        });
        self.topo.nodes.len() - 1
    }

    fn host_mut(&mut self, node: usize) -> &mut Host {
        &mut self.topo.nodes[node].host
    }

    /// Gives `node` an up Ethernet interface `name` (MTU 1500) with `addrs` (`10.0.1.2/24`,
    /// `fd00:1::2/64`), and the connected route of each, as `ip route` lists them.
    pub fn iface(&mut self, node: usize, name: &str, addrs: &[&str]) -> &mut Net {
        // A MAC of its own, so the kernel's EUI-64 link-local address is known in advance
        // and listed like `ip -j addr` lists it.
        let mac = Mac([
            0x02,
            0x77,
            0x62,
            0,
            node as u8,
            self.host_mut(node).interfaces.len() as u8,
        ]);
        self.host_mut(node).interfaces.push(Interface {
            name: name.into(),
            up: true,
            mtu: Some(1500),
            mac: Some(mac),
            ..Interface::default()
        });
        let link_local = format!("{}/64", link_local_of(mac));
        for a in std::iter::once(link_local.as_str()).chain(addrs.iter().copied()) {
            self.address(node, name, a);
            self.connected_route(node, name, parse("address", a));
        }
        self
    }

    /// The route the kernel makes for an address's subnet (once per subnet and device).
    fn connected_route(&mut self, node: usize, dev: &str, net: IpNet) {
        let dst = net.trunc();
        let host = self.host_mut(node);
        if host
            .routes
            .iter()
            .any(|r| r.dst == dst && r.dev.as_deref() == Some(dev))
        {
            return;
        }
        host.routes.push(Route {
            table: 254,
            dst,
            route_type: RouteType::Unicast,
            gateway: None,
            dev: Some(dev.into()),
            prefsrc: net.addr().is_ipv4().then_some(net.addr()),
            metric: if net.addr().is_ipv4() { 0 } else { 256 },
            scope: Scope::Link,
            protocol: Some("kernel".into()),
            nexthops: Vec::new(),
            text: format!("{dst} dev {dev} proto kernel scope link"),
        });
    }

    fn iface_mut(&mut self, node: usize, iface: &str) -> &mut Interface {
        self.host_mut(node)
            .interfaces
            .iter_mut()
            .find(|i| i.name == iface)
            .unwrap_or_else(|| panic!("test topology: no interface {iface}"))
    }

    /// Sets the MTU of `node`'s interface `iface`.
    pub fn mtu(&mut self, node: usize, iface: &str, mtu: u32) -> &mut Net {
        self.iface_mut(node, iface).mtu = Some(mtu);
        self
    }

    /// Adds an address (no route: for a link-local one, the kernel's `fe80::/64` covers it).
    pub fn address(&mut self, node: usize, iface: &str, addr: &str) -> &mut Net {
        let net: IpNet = parse("address", addr);
        let link_local = matches!(net.addr(), IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80);
        self.iface_mut(node, iface).addrs.push(IfAddr {
            addr: net.addr(),
            prefix_len: net.prefix_len(),
            scope: if link_local {
                Scope::Link
            } else {
                Scope::Universe
            },
            broadcast: None,
            temporary: false,
            secondary: false,
            deprecated: false,
            dad: model::host::DadState::Done,
        });
        self
    }

    /// Removes `node`'s static routes to `dst` (`0.0.0.0/0`, `::/0`, a prefix).
    pub fn unroute(&mut self, node: usize, dst: &str) -> &mut Net {
        let dst: IpNet = parse("prefix", dst);
        self.host_mut(node)
            .routes
            .retain(|r| r.dst != dst || r.protocol.as_deref() == Some("kernel"));
        self
    }

    /// A static route in table main: `dst` (`default` or a prefix) via `gateway` and/or
    /// out of `dev`.
    pub fn route(
        &mut self,
        node: usize,
        dst: &str,
        gateway: Option<&str>,
        dev: Option<&str>,
    ) -> &mut Net {
        let gateway: Option<IpAddr> = gateway.map(|g| parse("gateway", g));
        let dst: IpNet = match dst {
            "default" if gateway.is_some_and(|g| g.is_ipv6()) => parse("prefix", "::/0"),
            "default" => parse("prefix", "0.0.0.0/0"),
            d => parse("prefix", d),
        };
        let mut text = if dst.prefix_len() == 0 {
            "default".to_string()
        } else {
            dst.to_string()
        };
        if let Some(g) = gateway {
            text.push_str(&format!(" via {g}"));
        }
        if let Some(d) = dev {
            text.push_str(&format!(" dev {d}"));
        }
        self.host_mut(node).routes.push(Route {
            table: 254,
            dst,
            route_type: RouteType::Unicast,
            gateway,
            dev: dev.map(str::to_string),
            prefsrc: None,
            metric: if dst.addr().is_ipv4() { 0 } else { 1024 },
            scope: if gateway.is_some() {
                Scope::Universe
            } else {
                Scope::Link
            },
            protocol: Some("static".into()),
            nexthops: Vec::new(),
            text,
        });
        self
    }

    /// A route of `route_type` (`prohibit`, `blackhole`, ...) to `dst` in `table`.
    pub fn typed_route(
        &mut self,
        node: usize,
        table: u32,
        route_type: RouteType,
        dst: &str,
    ) -> &mut Net {
        let dst: IpNet = parse("prefix", dst);
        self.host_mut(node).routes.push(Route {
            table,
            dst,
            route_type,
            gateway: None,
            dev: None,
            prefsrc: None,
            metric: 0,
            scope: Scope::Link,
            protocol: Some("static".into()),
            nexthops: Vec::new(),
            text: format!("{route_type} {dst} table {table}"),
        });
        self
    }

    /// A policy rule: packets from `src` look their destination up in `table`.
    pub fn rule_from(&mut self, node: usize, priority: u32, src: &str, table: u32) -> &mut Net {
        let src: IpNet = parse("prefix", src);
        self.host_mut(node).rules.push(PolicyRule {
            priority,
            v6: src.addr().is_ipv6(),
            not: false,
            src: Some(src),
            dst: None,
            iif: None,
            oif: None,
            fwmark: None,
            tos: None,
            ipproto: None,
            sport: None,
            dport: None,
            uid: None,
            action: RuleAction::Lookup(table),
            suppress_prefixlen: None,
            text: format!("{priority}: from {src} lookup {table}"),
        });
        self
    }

    /// A listening TCP (or bound UDP) socket at `addr` (`0.0.0.0:22`, `[::]:53`).
    pub fn listen(&mut self, node: usize, proto: IpProto, addr: &str) -> &mut Net {
        let addr: std::net::SocketAddr = parse("socket address", addr);
        let host = self.host_mut(node);
        host.sockets.push(Socket {
            proto,
            addr: addr.ip(),
            port: addr.port(),
            device: None,
            process: None,
            dual_stack: false,
        });
        host.known.sockets = true;
        self
    }

    /// Sets a sysctl (`net.ipv4.ip_forward`, `1`).
    pub fn sysctl(&mut self, node: usize, key: &str, value: &str) -> &mut Net {
        self.host_mut(node)
            .sysctls
            .0
            .insert(key.into(), value.into());
        self
    }

    /// Makes `node` a router (IPv4 and IPv6 forwarding on).
    pub fn forwarding(&mut self, node: usize) -> &mut Net {
        self.sysctl(node, "net.ipv4.ip_forward", "1")
            .sysctl(node, "net.ipv4.conf.all.forwarding", "1")
            .sysctl(node, "net.ipv6.conf.all.forwarding", "1")
    }

    /// A `PERMANENT` neighbour entry: `addr` at `lladdr` on `dev`.
    pub fn neighbour(&mut self, node: usize, dev: &str, addr: &str, lladdr: &str) -> &mut Net {
        self.host_mut(node).neighbours.push(Neighbour {
            addr: parse("neighbour address", addr),
            dev: dev.into(),
            lladdr: Some(
                Mac::parse(lladdr).unwrap_or_else(|| panic!("test topology: bad MAC `{lladdr}`")),
            ),
            states: vec![NeighbourState::Permanent],
            router: false,
        });
        self
    }

    /// Gives `node` an iptables-save firewall of `family` (parsed as the loader would).
    pub fn iptables(&mut self, node: usize, family: Family, text: &str) -> &mut Net {
        let n = &mut self.topo.nodes[node];
        let src = SourceFile::new(format!("{}.rules", n.name), text);
        let rs = frontends::iptables_save::parse(&src, Some(family))
            .unwrap_or_else(|e| panic!("test topology: rules of {} do not parse: {e}", n.name));
        n.ruleset = rs;
        n.rules_given = true;
        n.iptables_sources.push((src, family));
        self
    }

    /// Gives `node` an nft firewall (text).
    pub fn nft(&mut self, node: usize, text: &str) -> &mut Net {
        let n = &mut self.topo.nodes[node];
        let src = SourceFile::new(format!("{}.nft", n.name), text);
        let rs = frontends::nft::parse_text(&src)
            .unwrap_or_else(|e| panic!("test topology: rules of {} do not parse: {e}", n.name));
        n.ruleset = rs;
        n.rules_given = true;
        n.nft_sources.push(src);
        self
    }

    /// A declared link between the given (node, interface) ends.
    pub fn link(&mut self, name: &str, ends: &[(usize, &str)]) -> &mut Net {
        let line = self.topo.links.len() + 1;
        self.topo.links.push(Link {
            name: name.into(),
            ends: ends
                .iter()
                .map(|(node, iface)| LinkEnd {
                    node: *node,
                    iface: (*iface).into(),
                })
                .collect(),
            evidence: LinkEvidence::Declared {
                file: "test".into(),
                line,
            },
            complete: true,
        });
        self
    }

    /// The topology.
    pub fn build(&self) -> Topology {
        self.topo.clone()
    }
}

/// The link-local address the kernel derives from `mac` (EUI-64, `addr_gen_mode` 0).
pub fn link_local_of(mac: Mac) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

/// `a -- r -- b`: host `a` (`eth0` 10.0.1.2/24, fd00:1::2/64) and host `b` (`eth0`
/// 10.0.2.2/24, fd00:2::2/64), each with a default route via router `r` (`eth0` .1 on
/// a's side, `eth1` .1 on b's side, forwarding on). Returns the builder and (a, r, b).
pub fn two_hosts_through_a_router() -> (Net, [usize; 3]) {
    let mut n = Net::new();
    let a = n.host("a");
    let r = n.host("r");
    let b = n.host("b");
    n.iface(a, "eth0", &["10.0.1.2/24", "fd00:1::2/64"])
        .route(a, "default", Some("10.0.1.1"), Some("eth0"))
        .route(a, "default", Some("fd00:1::1"), Some("eth0"));
    n.iface(r, "eth0", &["10.0.1.1/24", "fd00:1::1/64"])
        .iface(r, "eth1", &["10.0.2.1/24", "fd00:2::1/64"])
        .forwarding(r);
    n.iface(b, "eth0", &["10.0.2.2/24", "fd00:2::2/64"])
        .route(b, "default", Some("10.0.2.1"), Some("eth0"))
        .route(b, "default", Some("fd00:2::1"), Some("eth0"));
    n.link("left", &[(a, "eth0"), (r, "eth0")])
        .link("right", &[(r, "eth1"), (b, "eth0")]);
    (n, [a, r, b])
}

/// [`two_hosts_through_a_router`] with IPv6 routed by the router's link-local address: `r`
/// also has `fe80::1` on both interfaces, and `a` and `b` route `::/0` via `fe80::1`.
pub fn two_hosts_through_a_link_local_router() -> (Net, [usize; 3]) {
    let (mut n, [a, r, b]) = two_hosts_through_a_router();
    n.address(r, "eth0", "fe80::1/64")
        .address(r, "eth1", "fe80::1/64");
    for host in [a, b] {
        n.unroute(host, "::/0")
            .route(host, "default", Some("fe80::1"), Some("eth0"));
    }
    (n, [a, r, b])
}

/// IPv6 only: `client` (`client_iface` 2001:db8:1::2/64) -- `router` (`eth0`
/// 2001:db8:1::1/64 | `eth1` 2001:db8:2::1/64, `fe80::1` on both, forwarding on) --
/// `server` (`eth0` with `server_addrs`); both ends route `::/0` via `fe80::1`, as routers
/// advertise themselves. Returns the builder and (client, router, server).
pub fn v6_through_a_router(client_iface: &str, server_addrs: &[&str]) -> (Net, [usize; 3]) {
    let mut n = Net::new();
    let (c, r, s) = (n.host("client"), n.host("router"), n.host("server"));
    n.iface(c, client_iface, &["2001:db8:1::2/64"]).route(
        c,
        "::/0",
        Some("fe80::1"),
        Some(client_iface),
    );
    n.iface(r, "eth0", &["2001:db8:1::1/64", "fe80::1/64"])
        .iface(r, "eth1", &["2001:db8:2::1/64", "fe80::1/64"])
        .forwarding(r);
    n.iface(s, "eth0", server_addrs)
        .route(s, "::/0", Some("fe80::1"), Some("eth0"));
    n.link("left", &[(c, client_iface), (r, "eth0")])
        .link("right", &[(r, "eth1"), (s, "eth0")]);
    (n, [c, r, s])
}

/// A ping's echo request to `dst` as a walk's query takes it: from the unspecified address
/// (the sender's kernel chooses), as long as ping's default (56 bytes of data).
pub fn echo_request(dst: IpAddr) -> model::Packet {
    let (unspecified, l4, len) = if dst.is_ipv6() {
        let l4 = model::L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: 7,
        };
        (IpAddr::from(Ipv6Addr::UNSPECIFIED), l4, 104)
    } else {
        let l4 = model::L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 7,
        };
        (IpAddr::from([0, 0, 0, 0]), l4, 84)
    };
    let mut p = model::Packet::new(unspecified, dst, l4);
    p.len = len;
    p
}

/// Hairpin NAT: `client` (192.168.1.20) and `server` (192.168.1.10, listening on 443/tcp)
/// share a LAN behind `gw` (`lan` 192.168.1.1, `wan` 203.0.113.1 towards an `isp` host
/// 203.0.113.2), which DNATs 203.0.113.1:443 to the server; `postrouting` rules are added
/// to gw's nat table. Returns the builder and (client, gw, server, isp).
pub fn hairpin_nat(postrouting: &[&str]) -> (Net, [usize; 4]) {
    let mut nat = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d 203.0.113.1/32 -p tcp --dport 443 -j DNAT --to-destination 192.168.1.10\n",
    );
    for r in postrouting {
        nat.push_str(r);
        nat.push('\n');
    }
    nat.push_str("COMMIT\n");
    let mut n = Net::new();
    let (c, gw, s, isp) = (
        n.host("client"),
        n.host("gw"),
        n.host("server"),
        n.host("isp"),
    );
    n.iface(c, "eth0", &["192.168.1.20/24"])
        .route(c, "default", Some("192.168.1.1"), Some("eth0"));
    n.iface(gw, "lan", &["192.168.1.1/24"])
        .iface(gw, "wan", &["203.0.113.1/24"])
        .forwarding(gw)
        .iptables(gw, Family::Ip, &nat);
    n.iface(s, "eth0", &["192.168.1.10/24"])
        .route(s, "default", Some("192.168.1.1"), Some("eth0"))
        .listen(s, IpProto::Tcp, "0.0.0.0:443");
    n.iface(isp, "eth0", &["203.0.113.2/24"]);
    n.link("lan", &[(c, "eth0"), (gw, "lan"), (s, "eth0")])
        .link("wan", &[(gw, "wan"), (isp, "eth0")]);
    (n, [c, gw, s, isp])
}

/// An asymmetric way back: `client` (10.0.1.2) reaches 10.0.2.0/24 through router `r1`
/// (10.0.1.1 | 10.0.2.1), and `server` (10.0.2.2) answers through its default route, router
/// `r2` (10.0.1.3 | 10.0.2.3), which the request never crossed; both links hold three
/// hosts. No firewall anywhere. Returns the builder and (client, r1, r2, server).
pub fn asymmetric_routers() -> (Net, [usize; 4]) {
    let mut n = Net::new();
    let (c, r1, r2, s) = (
        n.host("client"),
        n.host("r1"),
        n.host("r2"),
        n.host("server"),
    );
    n.iface(c, "eth0", &["10.0.1.2/24"])
        .route(c, "10.0.2.0/24", Some("10.0.1.1"), Some("eth0"));
    n.iface(r1, "eth0", &["10.0.1.1/24"])
        .iface(r1, "eth1", &["10.0.2.1/24"])
        .forwarding(r1);
    n.iface(r2, "eth0", &["10.0.1.3/24"])
        .iface(r2, "eth1", &["10.0.2.3/24"])
        .forwarding(r2);
    n.iface(s, "eth0", &["10.0.2.2/24"])
        .route(s, "default", Some("10.0.2.3"), Some("eth0"));
    n.link("lan", &[(c, "eth0"), (r1, "eth0"), (r2, "eth0")])
        .link("dmz", &[(r1, "eth1"), (r2, "eth1"), (s, "eth0")]);
    (n, [c, r1, r2, s])
}

/// `client -- r1 ==(MTU 1400 on both ends)== r2 -- server`: a tunnel-like middle link,
/// every other link 1500, the server listening on TCP 443. Returns the builder and
/// (client, r1, r2, server).
pub fn tunnel_between_routers() -> (Net, [usize; 4]) {
    let mut n = Net::new();
    let (c, r1, r2, s) = (
        n.host("client"),
        n.host("r1"),
        n.host("r2"),
        n.host("server"),
    );
    n.iface(c, "eth0", &["10.0.1.2/24"])
        .route(c, "default", Some("10.0.1.1"), Some("eth0"));
    n.iface(r1, "eth0", &["10.0.1.1/24"])
        .iface(r1, "tun0", &["10.0.9.1/24"])
        .mtu(r1, "tun0", 1400)
        .route(r1, "10.0.2.0/24", Some("10.0.9.2"), Some("tun0"))
        .forwarding(r1);
    n.iface(r2, "tun0", &["10.0.9.2/24"])
        .mtu(r2, "tun0", 1400)
        .iface(r2, "eth1", &["10.0.2.1/24"])
        .route(r2, "10.0.1.0/24", Some("10.0.9.1"), Some("tun0"))
        .forwarding(r2);
    n.iface(s, "eth0", &["10.0.2.2/24"])
        .route(s, "default", Some("10.0.2.1"), Some("eth0"))
        .listen(s, model::packet::IpProto::Tcp, "0.0.0.0:443");
    n.link("lan", &[(c, "eth0"), (r1, "eth0")])
        .link("tunnel", &[(r1, "tun0"), (r2, "tun0")])
        .link("dc", &[(r2, "eth1"), (s, "eth0")]);
    (n, [c, r1, r2, s])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_local_address_is_the_kernels_eui64() {
        // `ip link set dev x address 02:77:62:00:01:02` gives `fe80::77:62ff:fe00:102`.
        let mac = Mac([0x02, 0x77, 0x62, 0x00, 0x01, 0x02]);
        assert_eq!(
            link_local_of(mac),
            "fe80::77:62ff:fe00:102".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn every_link_end_is_an_interface_with_its_connected_routes() {
        let (n, [a, r, b]) = two_hosts_through_a_router();
        let topo = n.build();
        assert_eq!(topo.link_of(r, "eth1"), topo.link_of(b, "eth0"));
        assert_ne!(topo.link_of(a, "eth0"), topo.link_of(b, "eth0"));
        let owners = topo.owners_of("10.0.2.1".parse().unwrap());
        assert_eq!(owners.len(), 1);
        assert_eq!((owners[0].node, owners[0].iface.as_str()), (r, "eth1"));
        // fe80::/64, 10.0.2.0/24 and fd00:2::/64 on eth0; two defaults.
        let b_routes: Vec<String> = topo.nodes[b]
            .host
            .routes
            .iter()
            .map(|r| r.dst.to_string())
            .collect();
        assert_eq!(
            b_routes,
            [
                "fe80::/64",
                "10.0.2.0/24",
                "fd00:2::/64",
                "0.0.0.0/0",
                "::/0"
            ]
        );
    }
}
