//! Test builders for small hand-made hosts and packets (tests only).
#![allow(dead_code)]

use ipnet::IpNet;
use model::host::{
    table_id, IfAddr, Interface, LinkType, PolicyRule, Route, RouteType, RuleAction, Scope, Socket,
};
use model::packet::{IpProto, TcpFlags, L4};
use model::{Host, Packet};
use std::net::IpAddr;

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub fn net(s: &str) -> IpNet {
    s.parse().expect("test prefix")
}

/// A host built step by step; each part given sets its `known` flag.
#[derive(Default)]
pub struct HostBuilder {
    host: Host,
}

pub fn host() -> HostBuilder {
    HostBuilder::default()
}

impl HostBuilder {
    /// `lo` with 127.0.0.1/8 and ::1/128.
    pub fn lo(mut self) -> Self {
        self.host.interfaces.push(Interface {
            name: "lo".into(),
            index: 1,
            link: LinkType::Loopback,
            up: true,
            addrs: vec![
                addr("127.0.0.1/8", Scope::Host),
                addr("::1/128", Scope::Host),
            ],
            ..Interface::default()
        });
        self.host.known.addresses = true;
        self
    }

    /// An Ethernet interface with addresses like `10.1.1.1/24`.
    pub fn iface(mut self, name: &str, addrs: &[&str]) -> Self {
        let index = self.host.interfaces.len() as u32 + 1;
        self.host.interfaces.push(Interface {
            name: name.into(),
            index,
            link: LinkType::Ether,
            up: true,
            addrs: addrs
                .iter()
                .map(|a| {
                    let link_local = a.starts_with("fe80");
                    addr(
                        a,
                        if link_local {
                            Scope::Link
                        } else {
                            Scope::Universe
                        },
                    )
                })
                .collect(),
            ..Interface::default()
        });
        self.host.known.addresses = true;
        self
    }

    pub fn mac(mut self, name: &str, mac: &str) -> Self {
        if let Some(i) = self.host.interfaces.iter_mut().find(|i| i.name == name) {
            i.mac = model::packet::Mac::parse(mac);
        }
        self
    }

    /// `ip route add DST dev DEV [via GW] [metric M] table T`, as a unicast route.
    pub fn route(self, table: u32, dst: &str, dev: &str, via: Option<&str>, metric: u32) -> Self {
        self.typed_route(table, dst, RouteType::Unicast, Some(dev), via, metric)
    }

    /// A main-table unicast route.
    pub fn main(self, dst: &str, dev: &str, via: Option<&str>) -> Self {
        self.route(table_id::MAIN, dst, dev, via, 0)
    }

    pub fn typed_route(
        mut self,
        table: u32,
        dst: &str,
        route_type: RouteType,
        dev: Option<&str>,
        via: Option<&str>,
        metric: u32,
    ) -> Self {
        self.host.routes.push(Route {
            table,
            dst: net(dst),
            route_type,
            gateway: via.map(ip),
            dev: dev.map(String::from),
            prefsrc: None,
            metric,
            scope: if via.is_some() {
                Scope::Universe
            } else {
                Scope::Link
            },
            protocol: None,
            nexthops: Vec::new(),
            text: format!("{route_type} {dst}"),
        });
        self.host.known.routes = true;
        self
    }

    pub fn rule(
        mut self,
        priority: u32,
        v6: bool,
        fwmark: Option<(u32, u32)>,
        action: RuleAction,
    ) -> Self {
        self.host.rules.push(PolicyRule {
            priority,
            v6,
            not: false,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            fwmark,
            tos: None,
            ipproto: None,
            sport: None,
            dport: None,
            uid: None,
            action,
            suppress_prefixlen: None,
            text: format!("{priority}: rule"),
        });
        self.host.known.policy_rules = true;
        self
    }

    /// The kernel's default rules for both families, given explicitly.
    pub fn default_rules(self) -> Self {
        self.rule(0, false, None, RuleAction::Lookup(table_id::LOCAL))
            .rule(32766, false, None, RuleAction::Lookup(table_id::MAIN))
            .rule(32767, false, None, RuleAction::Lookup(table_id::DEFAULT))
            .rule(0, true, None, RuleAction::Lookup(table_id::LOCAL))
            .rule(32766, true, None, RuleAction::Lookup(table_id::MAIN))
    }

    pub fn sysctl(mut self, key: &str, value: &str) -> Self {
        self.host.sysctls.0.insert(key.into(), value.into());
        self.host.known.sysctls = true;
        self
    }

    /// A router: IPv4 and IPv6 forwarding on, rp_filter off.
    pub fn router(self) -> Self {
        self.sysctl("net.ipv4.ip_forward", "1")
            .sysctl("net.ipv4.conf.all.forwarding", "1")
            .sysctl("net.ipv6.conf.all.forwarding", "1")
            .sysctl("net.ipv4.conf.all.rp_filter", "0")
    }

    pub fn socket(mut self, proto: IpProto, addr: &str, port: u16) -> Self {
        self.host.sockets.push(Socket {
            proto,
            addr: ip(addr),
            port,
            device: None,
            process: None,
            dual_stack: false,
        });
        self.host.known.sockets = true;
        self
    }

    pub fn no_sockets(mut self) -> Self {
        self.host.known.sockets = true;
        self
    }

    pub fn build(self) -> Host {
        self.host
    }
}

fn addr(s: &str, scope: Scope) -> IfAddr {
    let n = net(s);
    IfAddr {
        addr: n.addr(),
        prefix_len: n.prefix_len(),
        scope,
        broadcast: None,
        temporary: false,
        secondary: false,
        deprecated: false,
        dad: model::host::DadState::Done,
    }
}

/// A packet built step by step.
pub struct PacketBuilder {
    p: Packet,
}

pub fn tcp_syn(src: &str, dst: &str, dport: u16) -> PacketBuilder {
    PacketBuilder {
        p: Packet::new(
            ip(src),
            ip(dst),
            L4::Tcp {
                sport: 40000,
                dport,
                flags: TcpFlags::SYN,
            },
        ),
    }
}

pub fn udp(src: &str, dst: &str, dport: u16) -> PacketBuilder {
    PacketBuilder {
        p: Packet::new(
            ip(src),
            ip(dst),
            L4::Udp {
                sport: 40000,
                dport,
            },
        ),
    }
}

pub fn icmp_echo(src: &str, dst: &str) -> PacketBuilder {
    let l4 = if ip(dst).is_ipv6() {
        L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: 1,
        }
    } else {
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 1,
        }
    };
    PacketBuilder {
        p: Packet::new(ip(src), ip(dst), l4),
    }
}

impl PacketBuilder {
    pub fn iif(mut self, i: &str) -> Self {
        self.p.iif = Some(i.into());
        self
    }
    pub fn oif(mut self, o: &str) -> Self {
        self.p.oif = Some(o.into());
        self
    }
    pub fn ttl(mut self, t: u8) -> Self {
        self.p.ttl = t;
        self
    }
    pub fn mark(mut self, m: u32) -> Self {
        self.p.mark = m;
        self
    }
    pub fn sport(mut self, s: u16) -> Self {
        self.p.l4 = match self.p.l4.ports() {
            Some((_, d)) => self.p.l4.with_ports(s, d),
            None => self.p.l4,
        };
        self
    }
    pub fn build(self) -> Packet {
        self.p
    }
}
