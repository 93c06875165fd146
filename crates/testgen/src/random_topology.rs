//! Random small topologies for the path differential (issue 12, "How it is checked"): 2-4
//! Linux hosts on point-to-point links or a shared segment (a bridge), sometimes a second
//! path between two hosts (asymmetric routes), IPv4 and IPv6 (global addresses, and
//! link-local next hops `via fe80::N dev X`), static routes (some missing: no way there or
//! back), forwarding on or off, `rp_filter` 0/1/2, MTUs from 1280 to 1500 (now and then
//! two ends of a link that disagree), simple iptables-save rulesets on some hosts (a
//! stateful policy, drops and REJECTs of a port or protocol, ICMP drops, a DNAT or a
//! MASQUERADE on a router), and the probes sent across each: ping (with a size, DF or
//! not, a fixed source or the kernel's), TCP to an open or closed port (with data
//! sometimes), UDP.
//!
//! Everything is kept as structure ([`Spec`], [`Probe`]) so a disagreement can be printed
//! readably ([`Spec::dump`]) and made smaller ([`Spec::shrink_candidates`]: a rule, a
//! route, a ruleset fewer, an MTU or `rp_filter` back to its default) before it is shown.
//!
//! Addressing: link `S` (1-based) is `10.0.S.0/24` and `fd00:S::/64`; host `h` (0-based)
//! is `.h+1` / `::h+1` on it and `fe80::h+1` on every interface. Every route the generator
//! writes is one the kernel accepts (its gateway is on the link it names).

use crate::topology::Net;
use crate::Rng;
use model::host::Socket;
use model::packet::IpProto;
use model::topology::Topology;
use model::Family;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The service ports probes aim at and rules name.
pub const PORTS: [u16; 5] = [22, 80, 443, 5353, 8080];

/// One generated network, as structure.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The hosts, `h0`..`h3`.
    pub hosts: Vec<HostSpec>,
    /// The links; link `i` is subnet `i + 1`.
    pub links: Vec<LinkSpec>,
}

/// One Linux host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec {
    /// IPv4 forwarding.
    pub forward_v4: bool,
    /// IPv6 forwarding.
    pub forward_v6: bool,
    /// `net.ipv4.conf.all.rp_filter`.
    pub rp_filter: u8,
    /// Static routes in table main.
    pub routes: Vec<RouteSpec>,
    /// Its firewall, when it has one.
    pub rules: Option<RulesSpec>,
}

/// A link: its ends (two: a veth pair; more: a bridge).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    /// The ends.
    pub ends: Vec<EndSpec>,
    /// Whether the ends have global IPv6 addresses (otherwise link-local only: IPv6
    /// crosses it by `fe80::` next hops).
    pub v6_global: bool,
}

/// One interface on a link.
#[derive(Debug, Clone, PartialEq)]
pub struct EndSpec {
    /// The host.
    pub host: usize,
    /// Its interface name there.
    pub iface: String,
    /// The interface's MTU.
    pub mtu: u32,
}

/// `dst via gateway dev iface`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSpec {
    /// `default` or a prefix.
    pub dst: String,
    /// The gateway.
    pub via: IpAddr,
    /// The interface.
    pub dev: String,
}

/// An iptables-save ruleset of one family: filter policies and rules, nat rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesSpec {
    /// `Family::Ip` or `Family::Ip6`.
    pub family: Family,
    /// Policies of INPUT, FORWARD, OUTPUT.
    pub policies: [&'static str; 3],
    /// `-A CHAIN ...` lines of the filter table.
    pub filter: Vec<String>,
    /// `-A CHAIN ...` lines of the nat table (IPv4 only).
    pub nat: Vec<String>,
}

impl RulesSpec {
    /// The iptables-save text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if !self.nat.is_empty() {
            s.push_str("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n");
            s.push_str(":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
            for r in &self.nat {
                let _ = writeln!(s, "{r}");
            }
            s.push_str("COMMIT\n");
        }
        let [i, f, o] = self.policies;
        let _ = write!(
            s,
            "*filter\n:INPUT {i} [0:0]\n:FORWARD {f} [0:0]\n:OUTPUT {o} [0:0]\n"
        );
        for r in &self.filter {
            let _ = writeln!(s, "{r}");
        }
        s.push_str("COMMIT\n");
        s
    }
}

/// What a probe sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    /// `ping -c1`: `size` is the IP length (header included) of the echo request, sent
    /// with `-M do` (`dont_fragment`) or `-M dont`.
    Ping {
        /// The IP length, when a size is given.
        size: Option<u16>,
        /// DF set (`-M do`); without a size ping's default (the packet fits).
        dont_fragment: bool,
    },
    /// A TCP connection, `write` bytes sent once connected.
    Tcp {
        /// The port.
        port: u16,
        /// Bytes written after the handshake.
        write: usize,
    },
    /// One UDP datagram, echoed by a listener.
    Udp {
        /// The port.
        port: u16,
    },
}

/// One probe: a sender, a destination, what is sent, who listens.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The sending host.
    pub from: usize,
    /// The destination address.
    pub dst: IpAddr,
    /// A fixed source (`ping -I ADDR`); `None`: the kernel chooses.
    pub src: Option<IpAddr>,
    /// What is sent.
    pub kind: ProbeKind,
    /// The host that listens on the port (TCP, UDP), if any.
    pub listener: Option<usize>,
}

/// The name of host `h`.
pub fn host_name(h: usize) -> String {
    format!("h{h}")
}

fn v4(subnet: usize, host: usize) -> IpAddr {
    IpAddr::from([10, 0, subnet as u8, host as u8 + 1])
}

fn v6(subnet: usize, host: usize) -> IpAddr {
    IpAddr::from([0xfd00, subnet as u16, 0, 0, 0, 0, 0, host as u16 + 1])
}

fn link_local(host: usize) -> IpAddr {
    IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, host as u16 + 1])
}

impl Spec {
    /// The interfaces of `host`: (link index, interface name).
    pub fn ifaces(&self, host: usize) -> Vec<(usize, &str)> {
        self.links
            .iter()
            .enumerate()
            .flat_map(|(li, l)| {
                l.ends
                    .iter()
                    .filter(move |e| e.host == host)
                    .map(move |e| (li, e.iface.as_str()))
            })
            .collect()
    }

    /// The global addresses of `host` of one family (IPv6 when `six`).
    pub fn addresses(&self, host: usize, six: bool) -> Vec<IpAddr> {
        self.ifaces(host)
            .into_iter()
            .filter(|(li, _)| !six || self.links[*li].v6_global)
            .map(|(li, _)| {
                if six {
                    v6(li + 1, host)
                } else {
                    v4(li + 1, host)
                }
            })
            .collect()
    }

    /// The host owning `addr`.
    pub fn owner(&self, addr: IpAddr) -> Option<usize> {
        (0..self.hosts.len()).find(|h| {
            self.addresses(*h, false).contains(&addr) || self.addresses(*h, true).contains(&addr)
        })
    }

    /// The topology, as a reader would fill it (connected routes, every part given).
    pub fn topology(&self) -> Topology {
        let mut n = Net::new();
        for h in 0..self.hosts.len() {
            n.host(&host_name(h));
        }
        for (li, l) in self.links.iter().enumerate() {
            for e in &l.ends {
                let mut addrs = vec![format!("{}/24", v4(li + 1, e.host))];
                if l.v6_global {
                    addrs.push(format!("{}/64", v6(li + 1, e.host)));
                }
                let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
                n.iface(e.host, &e.iface, &refs)
                    .address(e.host, &e.iface, &format!("{}/64", link_local(e.host)))
                    .mtu(e.host, &e.iface, e.mtu);
            }
        }
        for (h, spec) in self.hosts.iter().enumerate() {
            for r in &spec.routes {
                n.route(h, &r.dst, Some(&r.via.to_string()), Some(&r.dev));
            }
            if spec.forward_v4 {
                n.sysctl(h, "net.ipv4.ip_forward", "1").sysctl(
                    h,
                    "net.ipv4.conf.all.forwarding",
                    "1",
                );
            }
            if spec.forward_v6 {
                n.sysctl(h, "net.ipv6.conf.all.forwarding", "1");
            }
            n.sysctl(
                h,
                "net.ipv4.conf.all.rp_filter",
                &spec.rp_filter.to_string(),
            );
            if let Some(rules) = &spec.rules {
                n.iptables(h, rules.family, &rules.to_text());
            }
        }
        for (li, l) in self.links.iter().enumerate() {
            let ends: Vec<(usize, &str)> =
                l.ends.iter().map(|e| (e.host, e.iface.as_str())).collect();
            n.link(&format!("l{}", li + 1), &ends);
        }
        let mut topo = n.build();
        for node in &mut topo.nodes {
            node.host.known.sockets = true;
        }
        topo
    }

    /// A readable dump: links with their addresses and MTUs, each host's sysctls, routes
    /// and rules.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for (li, l) in self.links.iter().enumerate() {
            let ends: Vec<String> = l
                .ends
                .iter()
                .map(|e| {
                    let six = if l.v6_global {
                        format!(" {}", v6(li + 1, e.host))
                    } else {
                        String::new()
                    };
                    format!(
                        "{}:{} {}{six} mtu {}",
                        host_name(e.host),
                        e.iface,
                        v4(li + 1, e.host),
                        e.mtu
                    )
                })
                .collect();
            let _ = writeln!(s, "link l{}: {}", li + 1, ends.join(" | "));
        }
        for (h, spec) in self.hosts.iter().enumerate() {
            let _ = writeln!(
                s,
                "{}: forwarding v4 {} v6 {}, rp_filter {}",
                host_name(h),
                u8::from(spec.forward_v4),
                u8::from(spec.forward_v6),
                spec.rp_filter
            );
            for r in &spec.routes {
                let _ = writeln!(s, "  route {} via {} dev {}", r.dst, r.via, r.dev);
            }
            if let Some(rules) = &spec.rules {
                let _ = writeln!(s, "  rules ({:?}):", rules.family);
                for line in rules.to_text().lines() {
                    let _ = writeln!(s, "    {line}");
                }
            }
        }
        s
    }

    /// Variants one step smaller: a ruleset, a rule or a route fewer, an MTU back to
    /// 1500, `rp_filter` back to 0.
    pub fn shrink_candidates(&self) -> Vec<Spec> {
        let mut out = Vec::new();
        for (h, spec) in self.hosts.iter().enumerate() {
            if let Some(rules) = &spec.rules {
                let mut c = self.clone();
                c.hosts[h].rules = None;
                out.push(c);
                for i in 0..rules.filter.len() {
                    let mut c = self.clone();
                    if let Some(r) = &mut c.hosts[h].rules {
                        r.filter.remove(i);
                    }
                    out.push(c);
                }
                for i in 0..rules.nat.len() {
                    let mut c = self.clone();
                    if let Some(r) = &mut c.hosts[h].rules {
                        r.nat.remove(i);
                    }
                    out.push(c);
                }
            }
            for i in 0..spec.routes.len() {
                let mut c = self.clone();
                c.hosts[h].routes.remove(i);
                out.push(c);
            }
            if spec.rp_filter != 0 {
                let mut c = self.clone();
                c.hosts[h].rp_filter = 0;
                out.push(c);
            }
        }
        for (li, l) in self.links.iter().enumerate() {
            if l.ends.iter().any(|e| e.mtu != 1500) {
                let mut c = self.clone();
                for e in &mut c.links[li].ends {
                    e.mtu = 1500;
                }
                out.push(c);
            }
        }
        out
    }
}

impl Probe {
    /// The topology the probe runs in: `spec`'s, with the listener's socket on it.
    pub fn topology(&self, spec: &Spec) -> Topology {
        let mut topo = spec.topology();
        let (proto, port) = match self.kind {
            ProbeKind::Tcp { port, .. } => (IpProto::Tcp, port),
            ProbeKind::Udp { port } => (IpProto::Udp, port),
            ProbeKind::Ping { .. } => return topo,
        };
        if let Some(l) = self.listener {
            let any = if self.dst.is_ipv6() {
                IpAddr::from([0u16; 8])
            } else {
                IpAddr::from([0u8; 4])
            };
            topo.nodes[l].host.sockets.push(Socket {
                proto,
                addr: any,
                port,
                device: None,
                process: None,
                dual_stack: false,
            });
        }
        topo
    }

    /// One line: `h0 -> 10.0.2.3 ping size 1400 DF (src 10.0.1.1)`.
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            ProbeKind::Ping {
                size,
                dont_fragment,
            } => match size {
                Some(s) => format!("ping, IP length {s}, DF {}", u8::from(*dont_fragment)),
                None => "ping".to_string(),
            },
            ProbeKind::Tcp { port, write } => format!("tcp port {port}, {write} bytes"),
            ProbeKind::Udp { port } => format!("udp port {port}"),
        };
        let src = self
            .src
            .map(|s| format!(", source {s}"))
            .unwrap_or_default();
        let listener = self
            .listener
            .map(|l| format!(", {} listens", host_name(l)))
            .unwrap_or_default();
        format!(
            "{} -> {}: {what}{src}{listener}",
            host_name(self.from),
            self.dst
        )
    }
}

/// A network and the probes to send across it, from `seed`.
pub fn generate(seed: u64, probes: usize) -> (Spec, Vec<Probe>) {
    let mut rng = Rng::new(seed);
    let mut spec = shape(&mut rng);
    routes(&mut rng, &mut spec);
    for h in 0..spec.hosts.len() {
        if rng.chance(35) {
            spec.hosts[h].rules = Some(ruleset(&mut rng, &spec, h));
        }
    }
    let probes = (0..probes).map(|_| probe(&mut rng, &spec)).collect();
    (spec, probes)
}

/// Hosts, links (a tree, and sometimes one link more), MTUs, forwarding, rp_filter.
fn shape(rng: &mut Rng) -> Spec {
    let n = rng.range(2, 4) as usize;
    let mut spec = Spec {
        hosts: Vec::new(),
        links: Vec::new(),
    };
    let mut iface_count = vec![0usize; n];
    let end = |host: usize, count: &mut Vec<usize>| {
        let iface = format!("eth{}", count[host]);
        count[host] += 1;
        EndSpec {
            host,
            iface,
            mtu: 1500,
        }
    };
    for h in 1..n {
        let peer = rng.below(h as u64) as usize;
        // Join a segment the peer is on (a bridge), or a new point-to-point link.
        let joined = spec
            .links
            .iter()
            .position(|l| l.ends.iter().any(|e| e.host == peer))
            .filter(|_| rng.chance(30));
        match joined {
            Some(li) => {
                let e = end(h, &mut iface_count);
                spec.links[li].ends.push(e);
            }
            None => {
                let ends = vec![end(peer, &mut iface_count), end(h, &mut iface_count)];
                spec.links.push(LinkSpec {
                    ends,
                    v6_global: true,
                });
            }
        }
    }
    // A second path: a link between two hosts that share none.
    if n >= 3 && rng.chance(30) {
        let a = rng.below(n as u64) as usize;
        let b = rng.below(n as u64) as usize;
        let share = spec
            .links
            .iter()
            .any(|l| l.ends.iter().any(|e| e.host == a) && l.ends.iter().any(|e| e.host == b));
        if a != b && !share {
            let ends = vec![end(a, &mut iface_count), end(b, &mut iface_count)];
            spec.links.push(LinkSpec {
                ends,
                v6_global: true,
            });
        }
    }
    for l in &mut spec.links {
        l.v6_global = !rng.chance(15);
        if rng.chance(30) {
            let mtu = rng.range(1280, 1500) as u32;
            for e in &mut l.ends {
                e.mtu = mtu;
            }
        }
        if rng.chance(6) {
            let i = rng.below(l.ends.len() as u64) as usize;
            l.ends[i].mtu = rng.range(1280, 1500) as u32;
        }
    }
    for ifaces in iface_count {
        let router = ifaces >= 2;
        let on = |rng: &mut Rng| {
            if router {
                rng.chance(88)
            } else {
                rng.chance(5)
            }
        };
        let forward_v4 = on(rng);
        let forward_v6 = on(rng);
        let rp_filter = *rng.pick(&[0, 0, 0, 1, 1, 2]);
        spec.hosts.push(HostSpec {
            forward_v4,
            forward_v6,
            rp_filter,
            routes: Vec::new(),
            rules: None,
        });
    }
    spec
}

/// The hosts sharing a link with `host`: (neighbour, link index, my interface).
fn neighbours(spec: &Spec, host: usize) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (li, iface) in spec.ifaces(host) {
        for e in &spec.links[li].ends {
            if e.host != host {
                out.push((e.host, li, iface.to_string()));
            }
        }
    }
    out
}

/// Hops from every host to `to` (breadth first over shared links).
fn distances(spec: &Spec, to: usize) -> Vec<Option<usize>> {
    let mut dist = vec![None; spec.hosts.len()];
    dist[to] = Some(0);
    let mut queue = VecDeque::from([to]);
    while let Some(h) = queue.pop_front() {
        for (n, _, _) in neighbours(spec, h) {
            if dist[n].is_none() {
                dist[n] = dist[h].map(|d| d + 1);
                queue.push_back(n);
            }
        }
    }
    dist
}

/// The gateway `neighbour` is on link `li`, for a family: its global address, or for IPv6
/// (always on a link without global addresses) its link-local one.
fn gateway(rng: &mut Rng, spec: &Spec, neighbour: usize, li: usize, six: bool) -> IpAddr {
    if !six {
        return v4(li + 1, neighbour);
    }
    if !spec.links[li].v6_global || rng.chance(40) {
        link_local(neighbour)
    } else {
        v6(li + 1, neighbour)
    }
}

/// Static routes: per host and family a default route (hosts on one link, mostly) or one
/// route per subnet not attached, mostly along a shortest path, sometimes along another
/// (asymmetric) or missing.
fn routes(rng: &mut Rng, spec: &mut Spec) {
    for h in 0..spec.hosts.len() {
        let near = neighbours(spec, h);
        if near.is_empty() {
            continue;
        }
        let attached: Vec<usize> = spec.ifaces(h).into_iter().map(|(li, _)| li).collect();
        for six in [false, true] {
            let mut routes = Vec::new();
            let single = attached.len() == 1;
            if (single && rng.chance(75)) || (!single && rng.chance(15)) {
                if !rng.chance(8) {
                    let (n, li, dev) = rng.pick(&near).clone();
                    let via = gateway(rng, spec, n, li, six);
                    routes.push(RouteSpec {
                        dst: "default".into(),
                        via,
                        dev,
                    });
                }
                spec.hosts[h].routes.extend(routes);
                continue;
            }
            for target in 0..spec.links.len() {
                if attached.contains(&target) || (six && !spec.links[target].v6_global) {
                    continue;
                }
                if rng.chance(10) {
                    continue;
                }
                // Toward the nearest host on the target link.
                let best = |rng: &mut Rng| {
                    let dist: Vec<Option<usize>> = spec.links[target]
                        .ends
                        .iter()
                        .map(|e| distances(spec, e.host)[h])
                        .collect();
                    let d = dist.iter().flatten().min().copied()?;
                    let via: Vec<&(usize, usize, String)> = near
                        .iter()
                        .filter(|(n, _, _)| {
                            spec.links[target]
                                .ends
                                .iter()
                                .any(|e| distances(spec, e.host)[*n] == Some(d - 1))
                        })
                        .collect();
                    (!via.is_empty()).then(|| (*rng.pick(&via)).clone())
                };
                let chosen = if rng.chance(12) {
                    Some(rng.pick(&near).clone())
                } else {
                    best(rng)
                };
                let Some((n, li, dev)) = chosen else { continue };
                let via = gateway(rng, spec, n, li, six);
                let dst = if six {
                    format!("fd00:{}::/64", target + 1)
                } else {
                    format!("10.0.{}.0/24", target + 1)
                };
                routes.push(RouteSpec { dst, via, dev });
            }
            spec.hosts[h].routes.extend(routes);
        }
    }
}

/// A small ruleset for host `h`: a stateful policy, port and ICMP drops or REJECTs, and on
/// a router (IPv4) sometimes a DNAT to another host or a MASQUERADE.
fn ruleset(rng: &mut Rng, spec: &Spec, h: usize) -> RulesSpec {
    let six = rng.chance(30);
    let mut rules = RulesSpec {
        family: if six { Family::Ip6 } else { Family::Ip },
        policies: ["ACCEPT"; 3],
        filter: Vec::new(),
        nat: Vec::new(),
    };
    let (icmp, echo, error) = if six {
        (
            "ipv6-icmp",
            "--icmpv6-type echo-request",
            "--icmpv6-type packet-too-big",
        )
    } else {
        (
            "icmp",
            "--icmp-type echo-request",
            "--icmp-type destination-unreachable",
        )
    };
    let chains = ["INPUT", "FORWARD", "OUTPUT"];
    for _ in 0..rng.range(1, 3) {
        let chain = *rng.pick(&["INPUT", "INPUT", "FORWARD", "FORWARD", "OUTPUT"]);
        let port = *rng.pick(&PORTS);
        let line = match rng.below(7) {
            0 => {
                // Stateful: what is not an answer is dropped, but for one port or ping.
                let at = rng.below(2) as usize;
                rules.policies[at] = "DROP";
                let c = chains[at];
                rules.filter.push(format!(
                    "-A {c} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
                ));
                if six {
                    // Neighbour discovery passes INPUT: without it nothing resolves.
                    for t in ["neighbour-solicitation", "neighbour-advertisement"] {
                        rules
                            .filter
                            .push(format!("-A {c} -p ipv6-icmp --icmpv6-type {t} -j ACCEPT"));
                    }
                }
                if rng.chance(50) {
                    format!("-A {c} -p tcp --dport {port} -j ACCEPT")
                } else {
                    format!("-A {c} -p {icmp} {echo} -j ACCEPT")
                }
            }
            1 => format!("-A {chain} -p tcp --dport {port} -j REJECT --reject-with tcp-reset"),
            2 => format!("-A {chain} -p tcp --dport {port} -j REJECT"),
            3 => format!("-A {chain} -p udp --dport {port} -j DROP"),
            4 => format!("-A {chain} -p {icmp} {echo} -j DROP"),
            5 => format!("-A {chain} -p {icmp} {error} -j DROP"),
            _ => format!("-A {chain} -p tcp --dport {port} -j DROP"),
        };
        rules.filter.push(line);
    }
    let ifaces = spec.ifaces(h);
    if !six && ifaces.len() >= 2 && rng.chance(40) {
        let (_, out) = *rng.pick(&ifaces);
        if rng.chance(50) {
            rules
                .nat
                .push(format!("-A POSTROUTING -o {out} -j MASQUERADE"));
        } else {
            let others: Vec<IpAddr> = (0..spec.hosts.len())
                .filter(|o| *o != h)
                .flat_map(|o| spec.addresses(o, false))
                .collect();
            if !others.is_empty() {
                let to = *rng.pick(&others);
                let port = *rng.pick(&PORTS);
                let proto = *rng.pick(&["tcp", "udp"]);
                rules.nat.push(format!(
                    "-A PREROUTING -p {proto} --dport {port} -j DNAT --to-destination {to}"
                ));
            }
        }
    }
    rules
}

/// One probe: a sender with an address, a destination (another host's address mostly;
/// now and then its own, one nobody owns on an attached subnet, or one of no subnet).
fn probe(rng: &mut Rng, spec: &Spec) -> Probe {
    let n = spec.hosts.len();
    let from = rng.below(n as u64) as usize;
    let six = rng.chance(35) && !spec.addresses(from, true).is_empty();
    let others: Vec<IpAddr> = (0..n)
        .filter(|h| *h != from)
        .flat_map(|h| spec.addresses(h, six))
        .collect();
    let roll = rng.below(100);
    let dst = if roll < 4 || others.is_empty() {
        *rng.pick(&spec.addresses(from, six))
    } else if roll < 8 {
        // Nobody owns it: neighbour resolution fails where it is on link.
        let li = rng.below(spec.links.len() as u64) as usize;
        if six {
            // Of the sender's family: a link with global IPv6 addresses (the sender has
            // one, so there is such a link).
            let v6_link = (0..spec.links.len()).find(|l| spec.links[*l].v6_global);
            let li = Some(li)
                .filter(|l| spec.links[*l].v6_global)
                .or(v6_link)
                .unwrap_or(li);
            v6(li + 1, 199)
        } else {
            v4(li + 1, 199)
        }
    } else if roll < 12 {
        if six {
            IpAddr::from([0xfd00, 0x99, 0, 0, 0, 0, 0, 1])
        } else {
            IpAddr::from([10, 99, 0, 1])
        }
    } else {
        *rng.pick(&others)
    };
    let owner = spec.owner(dst);
    let dnat = dnat_target(spec, dst);
    let kind_roll = rng.below(100);
    let (kind, listener, src) = if kind_roll < 45 {
        let (size, dont_fragment) = if rng.chance(30) {
            let df = six || rng.chance(60);
            (Some(rng.range(1200, 1600) as u16), df)
        } else {
            (None, true)
        };
        let src = rng
            .chance(20)
            .then(|| *rng.pick(&spec.addresses(from, six)));
        (
            ProbeKind::Ping {
                size,
                dont_fragment,
            },
            None,
            src,
        )
    } else {
        let (port, listener) = match dnat.filter(|_| rng.chance(60)) {
            Some((port, to)) => (port, Some(to)),
            None => (*rng.pick(&PORTS), owner.filter(|_| rng.chance(60))),
        };
        let kind = if kind_roll < 80 {
            let write = if listener.is_some() && rng.chance(30) {
                100_000
            } else {
                0
            };
            ProbeKind::Tcp { port, write }
        } else {
            ProbeKind::Udp { port }
        };
        (kind, listener, None)
    };
    Probe {
        from,
        dst,
        src,
        kind,
        listener,
    }
}

/// A DNAT of the host owning `dst`: its port and the host it sends to.
fn dnat_target(spec: &Spec, dst: IpAddr) -> Option<(u16, usize)> {
    let owner = spec.owner(dst)?;
    let rules = spec.hosts[owner].rules.as_ref()?;
    rules.nat.iter().find_map(|r| {
        let port = r
            .split("--dport ")
            .nth(1)?
            .split(' ')
            .next()?
            .parse()
            .ok()?;
        let to: IpAddr = r.split("--to-destination ").nth(1)?.trim().parse().ok()?;
        Some((port, spec.owner(to)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_gives_a_connected_network_whose_routes_name_their_links() {
        for seed in 0..300 {
            let (spec, probes) = generate(seed, 8);
            assert!((2..=4).contains(&spec.hosts.len()));
            for h in 0..spec.hosts.len() {
                assert!(!spec.ifaces(h).is_empty(), "seed {seed}: h{h} on no link");
                for r in &spec.hosts[h].routes {
                    let (li, _) = spec
                        .ifaces(h)
                        .into_iter()
                        .find(|(_, i)| *i == r.dev)
                        .expect("the route's device exists");
                    let on_link = spec.links[li].ends.iter().any(|e| {
                        e.host != h
                            && (r.via == v4(li + 1, e.host)
                                || r.via == v6(li + 1, e.host)
                                || r.via == link_local(e.host))
                    });
                    assert!(on_link, "seed {seed}: {r:?} has no gateway on its link");
                }
            }
            assert_eq!(probes.len(), 8);
            for p in &probes {
                let same_family = |a: IpAddr| a.is_ipv4() == p.dst.is_ipv4();
                assert!(p.src.is_none_or(same_family), "seed {seed}: {p:?}");
            }
            let topo = spec.topology();
            assert_eq!(topo.nodes.len(), spec.hosts.len());
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_network() {
        assert_eq!(generate(7, 5), generate(7, 5));
        assert_ne!(generate(7, 5).0, generate(8, 5).0);
    }
}
