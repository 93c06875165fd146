//! Test-host topologies and packets aimed at rules.
//!
//! A [`Topology`] is the shape of a test router: interfaces with one IPv4 and one IPv6
//! subnet each, a default route out of one of them. [`Topology::host`] is the same router as
//! a `model::Host` (what the engine is given); the oracle builds it in namespaces.
//!
//! [`aim`] derives a packet from one rule of a parsed ruleset: the conditions the rule
//! states (addresses, prefixes and ranges, protocol, ports, interfaces with `+` wildcards,
//! TCP flags, ICMP type, conntrack state, length, TTL, TOS/DSCP, mark, packet type,
//! address type) become the packet's fields, the hook its chain runs in decides whether
//! the packet is received, forwarded or sent by the router, and the rest is filled from
//! the topology. The same code serves generated rulesets and real ones.

use super::Rng;
use ipnet::IpNet;
use model::expr::{ct_state, rtn, CmpOp, Key, Pattern, Test, Value};
use model::host::{IfAddr, Interface, LinkType, Route, RouteType, Scope};
use model::packet::PktType;
use model::ruleset::Step;
use model::{ChainRef, Hook, Host, Packet, RuleRef, Ruleset, TcpFlags, Verdict, L4};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One router interface of a topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopoIface {
    pub name: String,
    /// The router's address and the subnet's prefix length.
    pub v4: (Ipv4Addr, u8),
    pub v6: (Ipv6Addr, u8),
}

/// The shape of a test router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub ifaces: Vec<TopoIface>,
    /// Index of the interface the default routes leave by (gateway: `.254` / `::fe`).
    pub default_iface: usize,
}

impl TopoIface {
    fn net4(&self) -> IpNet {
        IpNet::new(IpAddr::V4(self.v4.0), self.v4.1)
            .expect("prefix")
            .trunc()
    }
    fn net6(&self) -> IpNet {
        IpNet::new(IpAddr::V6(self.v6.0), self.v6.1)
            .expect("prefix")
            .trunc()
    }
    /// The default gateway when routes leave by this interface.
    pub fn gateway(&self, v6: bool) -> IpAddr {
        if v6 {
            let s = self.v6.0.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0xfe))
        } else {
            let o = self.v4.0.octets();
            IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], 254))
        }
    }
}

impl Topology {
    /// The differential tester's router: `lan0` 10.1.1.1/24, `wan0` 10.1.0.1/24 (default
    /// route via 10.1.0.254), `dmz0` 10.1.2.1/24; IPv6 fd00:1:N::1/64 likewise.
    pub fn lab() -> Topology {
        Topology::numbered(&["lan0", "wan0", "dmz0"], [(1u8, 1u16), (0, 0), (2, 2)], 1)
    }

    fn numbered<const N: usize>(
        names: &[&str; N],
        nets: [(u8, u16); N],
        default: usize,
    ) -> Topology {
        let ifaces = names
            .iter()
            .zip(nets)
            .map(|(n, (a, b))| TopoIface {
                name: n.to_string(),
                v4: (Ipv4Addr::new(10, 1, a, 1), 24),
                v6: (Ipv6Addr::new(0xfd00, 1, b, 0, 0, 0, 0, 1), 64),
            })
            .collect();
        Topology {
            ifaces,
            default_iface: default,
        }
    }

    /// A router with interfaces of these names (`10.200.N.1/24`, `fd00:200:N::1/64`), the
    /// default route out of the first.
    pub fn with_names(names: &[String]) -> Topology {
        let ifaces = names
            .iter()
            .enumerate()
            .map(|(i, n)| TopoIface {
                name: n.clone(),
                v4: (Ipv4Addr::new(10, 200, i as u8, 1), 24),
                v6: (Ipv6Addr::new(0xfd00, 0x200, i as u16, 0, 0, 0, 0, 1), 64),
            })
            .collect();
        Topology {
            ifaces,
            default_iface: 0,
        }
    }

    pub fn iface(&self, name: &str) -> Option<&TopoIface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    /// The router's own addresses of one family.
    pub fn local_addrs(&self, v6: bool) -> Vec<IpAddr> {
        self.ifaces
            .iter()
            .map(|i| {
                if v6 {
                    IpAddr::V6(i.v6.0)
                } else {
                    IpAddr::V4(i.v4.0)
                }
            })
            .collect()
    }

    /// The interface routing picks for `dst` (connected subnet, else the default).
    pub fn route_of(&self, dst: IpAddr) -> &TopoIface {
        self.ifaces
            .iter()
            .find(|i| i.net4().contains(&dst) || i.net6().contains(&dst))
            .unwrap_or(&self.ifaces[self.default_iface])
    }

    /// The router as a host model: addresses, connected and default routes, forwarding on,
    /// every part known (sockets aside: nothing listens, and the engine says so).
    pub fn host(&self) -> Host {
        let mut h = Host::default();
        h.interfaces.push(Interface {
            name: "lo".into(),
            link: LinkType::Loopback,
            up: true,
            addrs: vec![
                ifaddr(IpAddr::V4(Ipv4Addr::LOCALHOST), 8, Scope::Host),
                ifaddr(IpAddr::V6(Ipv6Addr::LOCALHOST), 128, Scope::Host),
            ],
            ..Interface::default()
        });
        for i in &self.ifaces {
            let (a4, a6) = (IpAddr::V4(i.v4.0), IpAddr::V6(i.v6.0));
            h.interfaces.push(Interface {
                name: i.name.clone(),
                up: true,
                addrs: vec![
                    ifaddr(a4, i.v4.1, Scope::Universe),
                    ifaddr(a6, i.v6.1, Scope::Universe),
                ],
                ..Interface::default()
            });
            for (net, src) in [(i.net4(), a4), (i.net6(), a6)] {
                h.routes.push(Route {
                    table: model::host::table_id::MAIN,
                    dst: net,
                    route_type: RouteType::Unicast,
                    gateway: None,
                    dev: Some(i.name.clone()),
                    prefsrc: Some(src),
                    metric: if src.is_ipv6() { 256 } else { 0 },
                    scope: Scope::Link,
                    protocol: Some("kernel".into()),
                    nexthops: vec![],
                    text: format!("{net} dev {} proto kernel scope link src {src}", i.name),
                });
            }
        }
        let d = &self.ifaces[self.default_iface];
        for v6 in [false, true] {
            let gw = d.gateway(v6);
            let dst: IpNet = if v6 {
                "::/0".parse().expect("net")
            } else {
                "0.0.0.0/0".parse().expect("net")
            };
            h.routes.push(Route {
                table: model::host::table_id::MAIN,
                dst,
                route_type: RouteType::Unicast,
                gateway: Some(gw),
                dev: Some(d.name.clone()),
                prefsrc: None,
                metric: if v6 { 1024 } else { 0 },
                scope: Scope::Universe,
                protocol: Some("static".into()),
                nexthops: vec![],
                text: format!("default via {gw} dev {}", d.name),
            });
        }
        h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
        h.sysctls
            .0
            .insert("net.ipv6.conf.all.forwarding".into(), "1".into());
        for (k, v) in oracle::netns::DEFAULT_SYSCTLS {
            h.sysctls.0.entry(k.to_string()).or_insert(v.to_string());
        }
        h.known.addresses = true;
        h.known.routes = true;
        h.known.sysctls = true;
        h.known.conntrack = true;
        h
    }
}

fn ifaddr(addr: IpAddr, prefix_len: u8, scope: Scope) -> IfAddr {
    IfAddr {
        addr,
        prefix_len,
        scope,
        broadcast: None,
        temporary: false,
        secondary: false,
        deprecated: false,
        dad: model::host::DadState::Done,
    }
}

/// The hooks a chain runs in: its own for a base chain; for a regular chain, those of the
/// base chains that reach it by jump/goto (in the same table).
pub fn hooks_of(ruleset: &Ruleset, at: ChainRef) -> Vec<Hook> {
    let table = &ruleset.tables[at.table];
    let mut hooks = BTreeSet::new();
    for (ci, c) in table.chains.iter().enumerate() {
        let Some(base) = &c.base else { continue };
        // Walk regular chains reachable from this base chain.
        let mut seen = BTreeSet::new();
        let mut todo = vec![ci];
        while let Some(x) = todo.pop() {
            if !seen.insert(x) || seen.len() > 10_000 {
                continue;
            }
            if x == at.chain {
                hooks.insert(base.hook);
                break;
            }
            for r in &table.chains[x].rules {
                if let Some(Verdict::Jump(n) | Verdict::Goto(n)) = r.verdict() {
                    if let Some(y) = table.chain(n) {
                        todo.push(y);
                    }
                }
            }
        }
    }
    hooks.into_iter().collect()
}

/// Where the packet goes, as the hook of the aimed rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Received for the router.
    Local,
    Forward,
    /// Sent by the router.
    Out,
}

fn pick_in(net: IpNet, rng: &mut Rng) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let base = u32::from(n.network());
            let size = if n.prefix_len() >= 32 {
                1
            } else {
                1u64 << (32 - n.prefix_len())
            };
            let off = if size > 4 {
                rng.range(1, (size - 2).min(250))
            } else {
                rng.below(size)
            };
            IpAddr::V4(Ipv4Addr::from(base.wrapping_add(off as u32)))
        }
        IpNet::V6(n) => {
            let base = u128::from(n.network());
            let host_bits = 128 - u32::from(n.prefix_len());
            let off = if host_bits == 0 {
                0
            } else {
                rng.range(1, 250.min((1u128 << host_bits.min(63)) as u64 - 1).max(1)) as u128
            };
            IpAddr::V6(Ipv6Addr::from(base.wrapping_add(off)))
        }
    }
}

fn addr_between(a: IpAddr, b: IpAddr, rng: &mut Rng) -> IpAddr {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (x, y) = (u32::from(a), u32::from(b));
            IpAddr::V4(Ipv4Addr::from(
                rng.range(u64::from(x), u64::from(y.max(x))) as u32
            ))
        }
        (IpAddr::V6(a), IpAddr::V6(_)) => IpAddr::V6(a),
        _ => a,
    }
}

fn int_of(p: &Pattern, rng: &mut Rng) -> Option<u64> {
    match p {
        Pattern::Value(Value::Int(n)) => Some(*n),
        Pattern::Range(Value::Int(a), Value::Int(b)) => Some(rng.range(*a, *b)),
        Pattern::OneOf(ps) if !ps.is_empty() => int_of(rng.pick(ps), rng),
        Pattern::Masked { value, .. } => Some(*value),
        Pattern::Compare(op, Value::Int(n)) => Some(match op {
            CmpOp::Lt => n.saturating_sub(1),
            CmpOp::Le => *n,
            CmpOp::Gt => n + 1,
            CmpOp::Ge => *n,
            CmpOp::Ne => n + 1,
        }),
        _ => None,
    }
}

fn addr_of(p: &Pattern, rng: &mut Rng) -> Option<IpAddr> {
    match p {
        Pattern::Value(Value::Addr(a)) => Some(*a),
        Pattern::Prefix(n) => Some(if n.prefix_len() == n.max_prefix_len() {
            n.addr()
        } else {
            pick_in(n.trunc(), rng)
        }),
        Pattern::Range(Value::Addr(a), Value::Addr(b)) => Some(addr_between(*a, *b, rng)),
        Pattern::OneOf(ps) if !ps.is_empty() => addr_of(rng.pick(ps), rng),
        _ => None,
    }
}

/// The interface a name pattern (`eth0`, `eth+`, `+`) means on this topology.
fn iface_of<'t>(p: &Pattern, topo: &'t Topology, rng: &mut Rng) -> Option<&'t TopoIface> {
    let name = match p {
        Pattern::Iface(n) | Pattern::Value(Value::Str(n)) => n,
        Pattern::OneOf(ps) if !ps.is_empty() => return iface_of(rng.pick(ps), topo, rng),
        _ => return None,
    };
    let fits: Vec<&TopoIface> = match name.strip_suffix('+') {
        Some(prefix) => topo
            .ifaces
            .iter()
            .filter(|i| i.name.starts_with(prefix))
            .collect(),
        None => topo.ifaces.iter().filter(|i| &i.name == name).collect(),
    };
    (!fits.is_empty()).then(|| *rng.pick(&fits))
}

/// What the aimed rule asks of the packet.
#[derive(Debug, Default)]
struct Want {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    iif: Option<String>,
    oif: Option<String>,
    proto: Option<u8>,
    sport: Option<u16>,
    dport: Option<u16>,
    flags: Option<u8>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    ct: Option<u64>,
    len: Option<u16>,
    ttl: Option<u8>,
    tos: Option<u8>,
    mark: Option<u32>,
    pkttype: Option<PktType>,
    dst_local: Option<bool>,
    src_local: Option<bool>,
}

fn want_of(ruleset: &Ruleset, at: RuleRef, topo: &Topology, rng: &mut Rng) -> Want {
    let mut w = Want::default();
    for step in &ruleset.rule_at(at).body {
        let Step::Match(m) = step else { continue };
        // Negated conditions are left to chance (the random fill rarely hits them).
        if m.negated {
            continue;
        }
        let Test::Cmp { key, pattern } = &m.test else {
            continue;
        };
        match key {
            Key::SrcAddr => w.src = addr_of(pattern, rng).or(w.src),
            Key::DstAddr => w.dst = addr_of(pattern, rng).or(w.dst),
            Key::IifName => {
                w.iif = iface_of(pattern, topo, rng)
                    .map(|i| i.name.clone())
                    .or(w.iif)
            }
            Key::OifName => {
                w.oif = iface_of(pattern, topo, rng)
                    .map(|i| i.name.clone())
                    .or(w.oif)
            }
            Key::L4Proto => w.proto = int_of(pattern, rng).map(|n| n as u8).or(w.proto),
            Key::SrcPort => w.sport = int_of(pattern, rng).map(|n| n as u16).or(w.sport),
            Key::DstPort => w.dport = int_of(pattern, rng).map(|n| n as u16).or(w.dport),
            Key::TcpFlags => w.flags = int_of(pattern, rng).map(|n| n as u8).or(w.flags),
            Key::IcmpType | Key::Icmpv6Type => {
                w.icmp_type = int_of(pattern, rng).map(|n| n as u8).or(w.icmp_type)
            }
            Key::IcmpCode | Key::Icmpv6Code => {
                w.icmp_code = int_of(pattern, rng).map(|n| n as u8).or(w.icmp_code)
            }
            Key::CtState => {
                w.ct = match pattern {
                    Pattern::AnyBit(b) => Some(*b),
                    Pattern::Value(Value::Int(b)) => Some(*b),
                    _ => w.ct,
                }
            }
            Key::Length => w.len = int_of(pattern, rng).map(|n| n as u16).or(w.len),
            Key::Ttl => {
                w.ttl = int_of(pattern, rng)
                    .map(|n| n.clamp(1, 255) as u8)
                    .or(w.ttl)
            }
            Key::Tos => w.tos = int_of(pattern, rng).map(|n| n as u8).or(w.tos),
            Key::Dscp => w.tos = int_of(pattern, rng).map(|n| (n as u8) << 2).or(w.tos),
            Key::Mark => w.mark = int_of(pattern, rng).map(|n| n as u32).or(w.mark),
            Key::PktType => {
                w.pkttype = match int_of(pattern, rng) {
                    Some(1) => Some(PktType::Broadcast),
                    Some(2) => Some(PktType::Multicast),
                    Some(0) => Some(PktType::Unicast),
                    _ => w.pkttype,
                }
            }
            Key::FibAddrType { dst, .. } => {
                if let Some(t) = int_of(pattern, rng) {
                    let v = match t {
                        rtn::LOCAL => Some(true),
                        rtn::UNICAST => Some(false),
                        _ => None,
                    };
                    if *dst {
                        w.dst_local = v.or(w.dst_local);
                    } else {
                        w.src_local = v.or(w.src_local);
                    }
                }
            }
            _ => {}
        }
    }
    w
}

/// Addresses the random fill draws from when the rule says nothing: hosts on each side,
/// and the internet beyond the default route.
fn remote(topo: &Topology, v6: bool, rng: &mut Rng) -> IpAddr {
    let n = topo.ifaces.len() as u64;
    let i = rng.below(n + 1) as usize;
    if i == topo.ifaces.len() {
        return if v6 {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                7,
                0,
                0,
                0,
                rng.range(1, 250) as u16,
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, rng.range(2, 250) as u8))
        };
    }
    let t = &topo.ifaces[i];
    pick_in(if v6 { t.net6() } else { t.net4() }, rng)
}

/// A packet aimed at rule `at` of `ruleset` (IPv6 when `v6`), on `topo`. The caller makes
/// the flow unique (ports, ICMP id): see [`uniquify`].
pub fn aim(ruleset: &Ruleset, at: RuleRef, topo: &Topology, v6: bool, rng: &mut Rng) -> Packet {
    let w = want_of(ruleset, at, topo, rng);
    let hooks = hooks_of(ruleset, at.chain_ref());
    build(&w, &hooks, topo, v6, rng)
}

/// A packet that ignores the rules: received, forwarded or sent between random ends.
pub fn random_packet(topo: &Topology, v6: bool, rng: &mut Rng) -> Packet {
    build(&Want::default(), &[], topo, v6, rng)
}

fn build(w: &Want, hooks: &[Hook], topo: &Topology, v6: bool, rng: &mut Rng) -> Packet {
    let hook = if hooks.is_empty() {
        *rng.pick(&[Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output])
    } else {
        *rng.pick(hooks)
    };
    let fam = |a: &Option<IpAddr>| a.filter(|a| a.is_ipv6() == v6);
    let (wsrc, wdst) = (fam(&w.src), fam(&w.dst));
    let locals = topo.local_addrs(v6);
    let mut path = match hook {
        Hook::Input => Path::Local,
        Hook::Forward => Path::Forward,
        Hook::Output => Path::Out,
        Hook::Prerouting => {
            if rng.chance(50) {
                Path::Local
            } else {
                Path::Forward
            }
        }
        _ => {
            if rng.chance(60) {
                Path::Forward
            } else {
                Path::Out
            }
        }
    };
    if w.iif.is_some() && path == Path::Out {
        path = Path::Forward;
    }
    if w.dst_local == Some(true) && path == Path::Forward {
        path = Path::Local;
    }
    // Destination.
    let dst = wdst.unwrap_or_else(|| match path {
        Path::Local => match w.iif.as_deref().and_then(|n| topo.iface(n)) {
            Some(i) if rng.chance(70) => {
                if v6 {
                    IpAddr::V6(i.v6.0)
                } else {
                    IpAddr::V4(i.v4.0)
                }
            }
            _ => *rng.pick(&locals),
        },
        _ => match w.oif.as_deref().and_then(|n| topo.iface(n)) {
            Some(i) if i.name != topo.ifaces[topo.default_iface].name || rng.chance(50) => {
                pick_in(if v6 { i.net6() } else { i.net4() }, rng)
            }
            _ => loop_remote(topo, v6, rng, &locals),
        },
    });
    let out_iface = topo.route_of(dst).name.clone();
    // Interface in, and source.
    let iif = match path {
        Path::Out => None,
        _ => Some(w.iif.clone().unwrap_or_else(|| {
            // Forwarded packets come from another side than they go to, mostly.
            let others: Vec<&TopoIface> = topo
                .ifaces
                .iter()
                .filter(|i| path == Path::Local || i.name != out_iface || topo.ifaces.len() == 1)
                .collect();
            rng.pick(&others).name.clone()
        })),
    };
    let src = wsrc.unwrap_or_else(|| match &iif {
        None => {
            if w.src_local == Some(false) {
                loop_remote(topo, v6, rng, &locals)
            } else {
                let o = topo.route_of(dst);
                if v6 {
                    IpAddr::V6(o.v6.0)
                } else {
                    IpAddr::V4(o.v4.0)
                }
            }
        }
        Some(name) => {
            let i = topo.iface(name).expect("topology interface");
            if i.name == topo.ifaces[topo.default_iface].name && rng.chance(50) {
                loop_remote(topo, v6, rng, &locals)
            } else {
                let mut a = pick_in(if v6 { i.net6() } else { i.net4() }, rng);
                if locals.contains(&a) {
                    a = pick_in(if v6 { i.net6() } else { i.net4() }, rng);
                }
                a
            }
        }
    });
    // Transport.
    let proto = w.proto.unwrap_or_else(|| {
        if v6 {
            *rng.pick(&[6u8, 6, 17, 58])
        } else {
            *rng.pick(&[6u8, 6, 17, 1])
        }
    });
    let sport = w.sport.unwrap_or_else(|| rng.range(1024, 60999) as u16);
    let dport = w
        .dport
        .unwrap_or_else(|| *rng.pick(&[22u16, 80, 443, 53, 8080, 1222, 3000]));
    let new_ok = w.ct.is_none_or(|b| b & ct_state::NEW != 0);
    let invalid =
        w.ct.is_some_and(|b| b & ct_state::INVALID != 0 && b & ct_state::NEW == 0);
    let l4 = match proto {
        6 => {
            let flags = w.flags.unwrap_or_else(|| {
                if invalid {
                    *rng.pick(&[0x04u8, 0x12, 0x11, 0x00])
                } else if new_ok && rng.chance(80) {
                    0x02
                } else {
                    *rng.pick(&[0x10u8, 0x18, 0x04, 0x12, 0x11, 0x03, 0x00])
                }
            });
            L4::Tcp {
                sport,
                dport,
                flags: TcpFlags(flags),
            }
        }
        17 => L4::Udp { sport, dport },
        1 if !v6 => L4::Icmp {
            icmp_type: w.icmp_type.unwrap_or(if invalid { 0 } else { 8 }),
            code: w.icmp_code.unwrap_or(0),
            id: sport,
        },
        58 if v6 => L4::Icmpv6 {
            icmp_type: w.icmp_type.unwrap_or(if invalid { 129 } else { 128 }),
            code: w.icmp_code.unwrap_or(0),
            id: sport,
        },
        // ICMP of the other family, SCTP (not injectable): plain protocols instead.
        1 | 58 | 132 => L4::Udp { sport, dport },
        n => L4::Other(model::packet::IpProto::from_number(n)),
    };
    let mut p = Packet::new(src, dst, l4);
    p.iif = iif;
    if let Some(t) = w.ttl {
        p.ttl = t;
    } else if rng.chance(5) {
        p.ttl = *rng.pick(&[1u8, 2, 128, 255]);
    }
    if let Some(t) = w.tos {
        p.tos = t;
    } else if rng.chance(10) {
        p.tos = *rng.pick(&[0x10u8, 0x28, 0xb8, 0x04]);
    }
    let min = p.minimal_len();
    if let Some(l) = w.len {
        p.len = l.clamp(min, 1400);
    } else if rng.chance(10) {
        p.len = *rng.pick(&[100u16, 500, 1400]);
    }
    if p.iif.is_none() {
        p.mark = w.mark.unwrap_or(0);
    }
    if p.iif.is_some() {
        if let Some(t) = w.pkttype {
            p.pkttype = t;
        }
    }
    no_local_broadcast(&mut p, topo);
    p
}

/// Whether `a` is the broadcast address of one of the topology's IPv4 subnets.
pub fn is_subnet_broadcast(a: IpAddr, topo: &Topology) -> bool {
    topo.ifaces.iter().any(|i| i.net4().broadcast() == a)
}

/// Excluded shapes, each replaced by a unicast destination:
/// - a locally generated packet to a broadcast address: sending one needs `SO_BROADCAST`
///   on the socket (`sendto` fails with EACCES before any hook otherwise), a property of the
///   sending program the packet spec does not carry;
/// - a multicast destination other than all-hosts: the kernel takes it in only for groups
///   a socket joined (`ip_check_mc_rcu`), host state the model does not carry (the engine
///   assumes a member; a known gap);
/// - an IPv6 link-local destination: the test host's per-device `fe80::/64` routes
///   (automatic link-local addresses) are not in the host model.
fn no_local_broadcast(p: &mut Packet, topo: &Topology) {
    let replace = match p.dst {
        IpAddr::V4(d) => {
            (p.iif.is_none() && (is_subnet_broadcast(p.dst, topo) || d.is_broadcast()))
                || (d.is_multicast() && d != Ipv4Addr::new(224, 0, 0, 1))
        }
        IpAddr::V6(d) => {
            (d.is_multicast() && d != Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1))
                || (d.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if replace {
        let i = topo.route_of(p.dst);
        p.dst = match p.dst {
            IpAddr::V4(_) => {
                let o = i.v4.0.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], 7))
            }
            IpAddr::V6(_) => {
                let s = i.v6.0.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 7))
            }
        };
        if p.iif.is_none() {
            p.src = if p.is_ipv6() {
                IpAddr::V6(i.v6.0)
            } else {
                IpAddr::V4(i.v4.0)
            };
        }
    }
}

fn loop_remote(topo: &Topology, v6: bool, rng: &mut Rng, locals: &[IpAddr]) -> IpAddr {
    for _ in 0..8 {
        let a = remote(topo, v6, rng);
        if !locals.contains(&a) {
            return a;
        }
    }
    remote(topo, v6, rng)
}

/// A variation of `p` that misses some condition (another port, protocol, address or
/// flags): packets that fall through rules reach deeper too.
pub fn perturb(p: &Packet, topo: &Topology, rng: &mut Rng) -> Packet {
    let mut q = p.clone();
    let v6 = p.is_ipv6();
    match rng.below(5) {
        0 => {
            if let Some((s, _)) = q.l4.ports() {
                q.l4 = q.l4.with_ports(s, rng.range(1, 65535) as u16);
            }
        }
        1 => q.src = remote(topo, v6, rng),
        2 => q.dst = remote(topo, v6, rng),
        3 => {
            if let L4::Tcp { sport, dport, .. } = q.l4 {
                q.l4 = L4::Tcp {
                    sport,
                    dport,
                    flags: TcpFlags(*rng.pick(&[0x10u8, 0x18, 0x04, 0x12, 0x01])),
                };
            }
        }
        _ => {
            let (s, d) = q.l4.ports().unwrap_or((rng.range(1024, 60000) as u16, 80));
            q.l4 = match q.l4 {
                L4::Udp { .. } | L4::Icmp { .. } | L4::Icmpv6 { .. } => L4::Tcp {
                    sport: s,
                    dport: d,
                    flags: TcpFlags::SYN,
                },
                _ => L4::Udp { sport: s, dport: d },
            };
        }
    }
    q.len = q.len.max(q.minimal_len());
    if q.iif.is_some() && topo.local_addrs(v6).contains(&q.src) {
        q.src = p.src;
    }
    no_local_broadcast(&mut q, topo);
    q
}

/// The conntrack tuple key of a packet: (protocol, source, source port or ICMP id,
/// destination, destination port).
pub fn flow_key(p: &Packet) -> (u8, IpAddr, u16, IpAddr, u16) {
    let (s, d) = match p.l4 {
        L4::Icmp { id, .. } | L4::Icmpv6 { id, .. } => (id, 0),
        _ => p.l4.ports().unwrap_or((0, 0)),
    };
    (p.proto().number(), p.src, s, p.dst, d)
}

/// Gives each packet whose source port (or ICMP id) the rule left free a distinct one
/// (among `used`), so that packets of one batch are distinct flows.
pub fn uniquify(p: &mut Packet, used: &mut BTreeSet<u16>, free_sport: bool) {
    if !free_sport {
        return;
    }
    let current = match p.l4 {
        L4::Icmp { id, .. } | L4::Icmpv6 { id, .. } => id,
        _ => match p.l4.ports() {
            Some((s, _)) => s,
            None => return,
        },
    };
    let mut s = current;
    let mut n = 0;
    while used.contains(&s) && n < 70_000 {
        s = if s >= 60999 { 1024 } else { s + 1 };
        n += 1;
    }
    used.insert(s);
    p.l4 = match p.l4 {
        L4::Icmp {
            icmp_type, code, ..
        } => L4::Icmp {
            icmp_type,
            code,
            id: s,
        },
        L4::Icmpv6 {
            icmp_type, code, ..
        } => L4::Icmpv6 {
            icmp_type,
            code,
            id: s,
        },
        other => {
            let (_, d) = other.ports().unwrap_or((0, 0));
            other.with_ports(s, d)
        }
    };
}

/// Whether the aimed rule fixes the source port (or ICMP id): then it is left alone.
pub fn rule_fixes_sport(ruleset: &Ruleset, at: RuleRef) -> bool {
    ruleset.rule_at(at).matches().any(|m| {
        matches!(
            &m.test,
            Test::Cmp {
                key: Key::SrcPort,
                ..
            }
        )
    })
}
