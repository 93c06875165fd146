//! A whole [`Topology`] built in network namespaces, real traffic sent across it, and each
//! hop's kernel walk read back: the judge of `whyblocked path`.
//!
//! [`TestNetwork::build`] makes one namespace per node (`wb<pid>_<n>n<i>`), a veth pair per
//! two-ended link and a bridge in a namespace of its own (`wb<pid>_<n>b<i>`) per link with
//! more ends; each node gets its interfaces by name (MTU, MAC, addresses, IPv6 without DAD),
//! its routes of every table, policy rules, the sysctls that change a packet's path,
//! `PERMANENT` neighbour entries, its firewall and whyblocked's trace table. The senders
//! are real sockets (`ping`, TCP and UDP from a thread inside the node's namespace), so
//! what they observe ([`PingSeen`], [`TcpSeen`], [`UdpSeen`]) is what a user would see,
//! and every node's kernel walks of the same traffic come back in an [`Exchange`].
//!
//! Sysctls: a new namespace copies the IPv4 per-device settings of the machine's own
//! namespace (`net.core.devconf_inherit_init_net` 0), so every node first gets the
//! kernel's defaults for the settings the engine reads ([`BASELINE_SYSCTLS`]), then the
//! model's own. Like every test namespace, a node has no ICMP rate limit (each error the
//! kernel decides to send is sent), no duplicate address detection and no router
//! solicitations.
//!
//! Reading the walks: each node's trace events are grouped per packet ([`split_walks`])
//! and placed in the node's ruleset by `analysis::agree::walk`, so a test can hold "at
//! router r the echo request was forwarded out eth1" or "dropped by rule 3 of FORWARD"
//! against the engine's hop. The walks are those of every packet the node handled during
//! the exchange (neighbour discovery and MLD included): pick the flow's by its headers
//! ([`Exchange::walk`]).

use crate::netns::{
    addr_cmd, host_net, install_routes_and_rules, links, next_group, quiet_sysctls, sysctl_iface,
    sysctl_matters, Netns,
};
use crate::run::{load_traced, TRACE_TABLE};
use analysis::agree::{walk, Listing};
use ipnet::IpNet;
use model::host::{LinkType, NeighbourState, Route};
use model::kernel_walk::{Headers, KernelWalk};
use model::packet::IpProto;
use model::topology::{NodeKind, Topology};
use model::{Family, Packet, Ruleset, TcpFlags, L4};
use netlink::nftrace::{Message, TraceEvent, TraceReader};
use netlink::{sys, LiveError};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kernel's defaults for the per-device IPv4/IPv6 settings the engine reads when a host
/// does not give them; written first into every node, so the machine's own settings (which
/// a new namespace copies for IPv4) cannot leak in.
pub const BASELINE_SYSCTLS: [(&str, &str); 12] = [
    ("net.ipv4.conf.all.forwarding", "0"),
    ("net.ipv4.conf.default.forwarding", "0"),
    ("net.ipv6.conf.all.forwarding", "0"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.conf.all.accept_local", "0"),
    ("net.ipv4.conf.default.accept_local", "0"),
    ("net.ipv4.conf.all.route_localnet", "0"),
    ("net.ipv4.conf.default.route_localnet", "0"),
    ("net.ipv4.conf.all.send_redirects", "1"),
    ("net.ipv4.conf.default.send_redirects", "1"),
    ("net.ipv4.conf.all.src_valid_mark", "0"),
];

/// Silence that ends the reading of a node's trace events after the traffic is over (the
/// events of a packet are emitted while the kernel handles it, before the sender returns).
const TRACE_SETTLE: Duration = Duration::from_millis(40);

/// One node built in its namespace.
#[derive(Debug)]
pub struct TestNode {
    /// The node's name in the topology.
    pub name: String,
    /// Its namespace.
    pub ns: Netns,
    /// Interface name -> ifindex, as built.
    pub ifindex: BTreeMap<String, u32>,
    /// The listening sockets the model gives it (a Linux host's `ss` list, a stub's ports),
    /// open for the network's lifetime: the kernel completes TCP handshakes without
    /// `accept`, and a datagram to a bound UDP port draws no ICMP error.
    tcp_listeners: Vec<TcpListener>,
    /// Held open only.
    _udp_sockets: Vec<UdpSocket>,
    ruleset: Ruleset,
    listing: Listing,
    reader: TraceReader,
}

impl TestNode {
    /// The model's TCP listener that takes connections to `dst`, as a second handle.
    fn tcp_listener_for(&self, dst: SocketAddr) -> Option<TcpListener> {
        self.tcp_listeners
            .iter()
            .find(|l| {
                l.local_addr().is_ok_and(|a| {
                    a.port() == dst.port() && (a.ip() == dst.ip() || a.ip().is_unspecified())
                })
            })
            .and_then(|l| l.try_clone().ok())
    }

    fn iface_name(&self, index: u32) -> Option<String> {
        self.ifindex
            .iter()
            .find(|(_, i)| **i == index)
            .map(|(n, _)| n.clone())
    }
}

/// The kernel-side twin of a [`Topology`]. Dropping it deletes every namespace.
#[derive(Debug)]
pub struct TestNetwork {
    /// The nodes, in the topology's order.
    pub nodes: Vec<TestNode>,
    /// One namespace per link with three ends or more, holding its bridge `br0`.
    pub bridges: Vec<Netns>,
    /// What could not be reproduced exactly.
    pub notes: Vec<String>,
}

/// Every kernel walk one node traced during an exchange, in the order they began.
#[derive(Debug, Clone)]
pub struct NodeWalks {
    /// The node's name.
    pub node: String,
    /// One walk per packet the node's kernel handled (received, forwarded or sent). Each
    /// walk's `packet` is rebuilt from the headers first traced (`iif` set when received)
    /// and its `tag` is the IPv4 id / IPv6 flow label the packet carried.
    pub walks: Vec<KernelWalk>,
}

/// What some traffic did: what the sender observed, and each node's walks.
#[derive(Debug, Clone)]
pub struct Exchange<T> {
    /// What the sender observed.
    pub seen: T,
    /// Each node's walks, in the topology's order.
    pub hops: Vec<NodeWalks>,
    /// From the first packet sent to the sender's observation.
    pub elapsed: Duration,
    /// What the sending program printed (`ping`'s output; empty for the socket probes).
    pub transcript: String,
}

impl<T> Exchange<T> {
    /// The walks of node `node` (none for an unknown name).
    pub fn walks(&self, node: &str) -> &[KernelWalk] {
        self.hops
            .iter()
            .find(|h| h.node == node)
            .map_or(&[], |h| h.walks.as_slice())
    }

    /// The first walk at `node` whose first traced headers satisfy `pred`.
    pub fn walk(&self, node: &str, pred: impl Fn(&Headers) -> bool) -> Option<&KernelWalk> {
        self.walks(node)
            .iter()
            .find(|w| first_headers(w).is_some_and(|h| pred(&h)))
    }

    /// The ICMP/ICMPv6 errors that arrived at `node`, as its kernel traced them (for TCP and
    /// UDP, whose sockets report only an errno).
    pub fn icmp_errors_received(&self, node: &str) -> Vec<IcmpSeen> {
        self.walks(node)
            .iter()
            .filter(|w| w.packet.iif.is_some())
            .filter_map(|w| {
                let h = first_headers(w)?;
                let (icmp_type, code) = h.icmp?;
                is_icmp_error(h.proto, icmp_type).then_some(IcmpSeen {
                    from: h.src,
                    icmp_type,
                    code,
                    mtu: None,
                })
            })
            .collect()
    }
}

/// The headers a walk's first event carried (as the packet entered the node).
pub fn first_headers(w: &KernelWalk) -> Option<Headers> {
    w.events.iter().find_map(|e| e.headers)
}

fn is_icmp_error(proto: u8, icmp_type: u8) -> bool {
    match proto {
        1 => matches!(icmp_type, 3 | 4 | 5 | 11 | 12),
        58 => (1..=4).contains(&icmp_type),
        _ => false,
    }
}

/// An ICMP or ICMPv6 error as a sender saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpSeen {
    /// The error's source: the hop that sent it.
    pub from: IpAddr,
    /// ICMP type (3 destination unreachable, 11 time exceeded; ICMPv6 1, 2 packet too
    /// big, 3).
    pub icmp_type: u8,
    /// ICMP code (IPv4 type 3: 1 host unreachable, 4 fragmentation needed; ICMPv6 type 1:
    /// 3 address unreachable).
    pub code: u8,
    /// The next-hop MTU a "fragmentation needed" / "packet too big" carries, when shown.
    pub mtu: Option<u32>,
}

/// What `ping -c1` observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingSeen {
    /// An echo reply came back from `from`.
    Reply {
        /// The replying address.
        from: IpAddr,
    },
    /// An ICMP error came back.
    Error(IcmpSeen),
    /// The sender's own kernel refused the packet before it left (`ping: local error:
    /// message too long, mtu=1400`): the MTU known for the route is smaller.
    LocalError {
        /// The path MTU the kernel reported, if printed.
        mtu: Option<u32>,
        /// ping's line, as printed.
        line: String,
    },
    /// The packet could not be sent at all (`ping: connect: Network is unreachable`,
    /// `ping: sendmsg: Operation not permitted`).
    SendFailed {
        /// ping's line, as printed.
        line: String,
    },
    /// Nothing came back within the wait.
    Timeout,
    /// ping printed something this parser does not know.
    Unrecognised {
        /// What ping printed.
        output: String,
    },
}

/// `ping`'s options: `-s`, `-M`, `-I`, `-W`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// Destination address.
    pub dst: IpAddr,
    /// Payload size (`-s`; ping's default 56).
    pub size: Option<u32>,
    /// Path MTU discovery mode (`-M do|want|dont`).
    pub pmtu: Option<&'static str>,
    /// Source interface or address (`-I`).
    pub interface: Option<String>,
    /// How long to wait for an answer (`-W`, whole seconds, at least 1). An ICMPv6
    /// "address unreachable" comes after neighbour discovery gives up, about 3 s.
    pub wait: Duration,
}

impl Ping {
    /// `ping -c1 -W1 DST`.
    pub fn to(dst: IpAddr) -> Ping {
        Ping {
            dst,
            size: None,
            pmtu: None,
            interface: None,
            wait: Duration::from_secs(1),
        }
    }
}

/// Why a socket's connection or datagram got no answer, by the errno the kernel gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketError {
    /// `ECONNREFUSED`: a TCP reset, or an ICMP port unreachable.
    Refused,
    /// `EHOSTUNREACH`: an ICMP host unreachable / prohibited, or no neighbour.
    HostUnreachable,
    /// `ENETUNREACH`: no route, or an ICMP network unreachable.
    NetUnreachable,
    /// `EPERM`/`EACCES`: the sender's own firewall refused it.
    NotPermitted,
    /// No answer before the timeout.
    TimedOut,
    /// Any other error number.
    Failed {
        /// The errno.
        errno: i32,
    },
}

impl SocketError {
    fn of(e: &std::io::Error) -> SocketError {
        match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => SocketError::Refused,
            Some(libc::EHOSTUNREACH) => SocketError::HostUnreachable,
            Some(libc::ENETUNREACH) => SocketError::NetUnreachable,
            Some(libc::EPERM | libc::EACCES) => SocketError::NotPermitted,
            Some(libc::ETIMEDOUT | libc::EAGAIN) => SocketError::TimedOut,
            _ if e.kind() == std::io::ErrorKind::TimedOut => SocketError::TimedOut,
            errno => SocketError::Failed {
                errno: errno.unwrap_or(0),
            },
        }
    }
}

/// What a TCP client observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpSeen {
    /// The handshake completed; `written` bytes were accepted by the socket and the
    /// listener read `delivered` of them before the deadline.
    Connected {
        /// Bytes the client's socket took.
        written: usize,
        /// Bytes the listener received.
        delivered: usize,
    },
    /// The connection failed.
    Failed(SocketError),
}

/// A TCP connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpProbe {
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The node whose listener counts the bytes delivered: its model's socket on the port
    /// if it has one, else one opened for the probe on every address.
    pub listener: Option<String>,
    /// Bytes to write once connected (0: none).
    pub write: usize,
    /// Bound of the connect and of the data's delivery.
    pub timeout: Duration,
}

/// What a UDP client observed after one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpSeen {
    /// The echo came back.
    Reply,
    /// No echo: the error the socket reported.
    Failed(SocketError),
}

/// One UDP datagram, echoed by a listener if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpProbe {
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The node that echoes datagrams on the port, if any.
    pub listener: Option<String>,
    /// How long to wait for the echo.
    pub timeout: Duration,
}

fn setup(msg: String) -> LiveError {
    LiveError::Setup(msg)
}

/// Checks the links name existing nodes and interfaces, each interface on one link at most.
fn check(topo: &Topology) -> Result<(), LiveError> {
    let mut seen: HashMap<(usize, &str), &str> = HashMap::new();
    for l in &topo.links {
        for e in &l.ends {
            let node = topo.nodes.get(e.node).ok_or_else(|| {
                setup(format!(
                    "link `{}` names node #{} that does not exist",
                    l.name, e.node
                ))
            })?;
            if node.host.interface(&e.iface).is_none() {
                return Err(setup(format!(
                    "link `{}`: node `{}` has no interface `{}`",
                    l.name, node.name, e.iface
                )));
            }
            if let Some(other) = seen.insert((e.node, e.iface.as_str()), &l.name) {
                return Err(setup(format!(
                    "interface {}:{} is on two links, `{other}` and `{}`",
                    node.name, e.iface, l.name
                )));
            }
        }
    }
    for n in &topo.nodes {
        if let Some(i) = n.host.interfaces.iter().find(|i| i.name.len() > 15) {
            return Err(setup(format!(
                "interface name `{}` of `{}` is longer than 15 bytes",
                i.name, n.name
            )));
        }
    }
    Ok(())
}

/// Sysctl keys and values, as [`Netns::set_sysctls`] writes them.
type Sysctls = Vec<(String, String)>;

/// The sysctls written into a node's namespace before its devices exist (all/default and
/// global ones) and after (per device).
fn node_sysctls(node: &model::topology::Node) -> (Sysctls, Sysctls) {
    let mut kv: Vec<(String, String)> = BASELINE_SYSCTLS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let NodeKind::Stub(answers) = &node.kind {
        // A stub forwards by its routes and answers pings as described.
        kv.push(("net.ipv4.conf.all.forwarding".into(), "1".into()));
        kv.push(("net.ipv6.conf.all.forwarding".into(), "1".into()));
        let ignore = if answers.ping { "0" } else { "1" };
        kv.push(("net.ipv4.icmp_echo_ignore_all".into(), ignore.into()));
        kv.push(("net.ipv6.icmp.echo_ignore_all".into(), ignore.into()));
    }
    kv.extend(
        node.host
            .sysctls
            .0
            .iter()
            .filter(|(k, _)| sysctl_matters(k))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    kv.into_iter().partition(|(k, _)| sysctl_iface(k).is_none())
}

/// Opens the listening sockets of `node`'s model in its namespace: a Linux host's
/// [`model::Host::sockets`], a stub's TCP and UDP ports (IPv6 wildcard, which takes IPv4
/// too). What cannot be reproduced is noted.
fn open_sockets(
    ns: &Netns,
    node: &model::topology::Node,
    notes: &mut Vec<String>,
) -> (Vec<TcpListener>, Vec<UdpSocket>) {
    let wildcard = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    let mut wanted: Vec<(IpProto, SocketAddr)> = Vec::new();
    match &node.kind {
        NodeKind::Linux => {
            for s in &node.host.sockets {
                if let Some(dev) = &s.device {
                    notes.push(format!(
                        "{}: the socket on port {} is not bound to {dev} in the test network",
                        node.name, s.port
                    ));
                }
                wanted.push((s.proto, SocketAddr::new(s.addr, s.port)));
            }
        }
        NodeKind::Stub(answers) => {
            for (proto, ports) in [(IpProto::Tcp, &answers.tcp), (IpProto::Udp, &answers.udp)] {
                match ports {
                    Some(ports) => {
                        wanted.extend(ports.iter().map(|p| (proto, SocketAddr::new(wildcard, *p))))
                    }
                    None => notes.push(format!(
                        "{}: the stub's open {proto} ports are not said: none is opened",
                        node.name
                    )),
                }
            }
        }
    }
    let (mut tcp, mut udp) = (Vec::new(), Vec::new());
    for (proto, addr) in wanted {
        let opened = match proto {
            IpProto::Tcp => {
                sys::in_netns(ns.name(), move || TcpListener::bind(addr)).map(|l| tcp.push(l))
            }
            IpProto::Udp => {
                sys::in_netns(ns.name(), move || UdpSocket::bind(addr)).map(|u| udp.push(u))
            }
            _ => Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
        };
        if let Err(e) = opened {
            notes.push(format!(
                "{}: the {proto} socket {addr} is not opened: {e}",
                node.name
            ));
        }
    }
    (tcp, udp)
}

/// The node's routes with the device filled in where only a gateway is given (the
/// interface whose subnet holds it), as the kernel resolves it when the route is added.
fn routes_with_devices(host: &model::Host) -> Vec<Route> {
    host.routes
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let (None, Some(g)) = (&r.dev, r.gateway) {
                r.dev = host
                    .interfaces
                    .iter()
                    .find(|i| i.addrs.iter().any(|a| a.network().contains(&g)))
                    .map(|i| i.name.clone());
            }
            r
        })
        .collect()
}

impl TestNetwork {
    /// Builds `topo` in namespaces. On any error, what was created is deleted.
    pub fn build(topo: &Topology) -> Result<TestNetwork, LiveError> {
        if !sys::is_root() {
            return Err(LiveError::NotRoot);
        }
        check(topo)?;
        let group = next_group();
        let mut notes = Vec::new();
        let mut namespaces = Vec::new();
        let mut per_iface_sysctls = Vec::new();
        for (i, node) in topo.nodes.iter().enumerate() {
            let ns = Netns::create(group, &format!("n{i}"))?;
            namespaces.push(ns);
            let ns = namespaces.last().expect("pushed");
            ns.set_sysctls(&quiet_sysctls())?;
            let (global, per_iface) = node_sysctls(node);
            ns.set_sysctls(&global)?;
            per_iface_sysctls.push(per_iface);
        }
        let mut bridges = Vec::new();
        let mut linked: Vec<(usize, String)> = Vec::new();
        for (li, link) in topo.links.iter().enumerate() {
            match link.ends.as_slice() {
                [] | [_] => notes.push(format!(
                    "link `{}` has fewer than two ends: its interface is built unconnected",
                    link.name
                )),
                [a, b] => {
                    namespaces[a.node].ip_batch(
                        None,
                        &format!(
                            "link add {} type veth peer name {} netns {}\n",
                            a.iface,
                            b.iface,
                            namespaces[b.node].name()
                        ),
                    )?;
                    linked.push((a.node, a.iface.clone()));
                    linked.push((b.node, b.iface.clone()));
                }
                ends => {
                    let br = Netns::create(group, &format!("b{li}"))?;
                    bridges.push(br);
                    let br = bridges.last().expect("pushed");
                    br.set_sysctls(&quiet_sysctls())?;
                    // The segment itself carries the largest frame any end sends: an end
                    // with a smaller MTU drops what it cannot take, as on a real segment.
                    let mtu = ends
                        .iter()
                        .filter_map(|e| topo.nodes[e.node].host.interface(&e.iface)?.mtu)
                        .max()
                        .unwrap_or(1500);
                    let mut cmds = format!("link add br0 mtu {mtu} type bridge\n");
                    for (j, e) in ends.iter().enumerate() {
                        namespaces[e.node].ip_batch(
                            None,
                            &format!(
                                "link add {} type veth peer name p{j} netns {}\n",
                                e.iface,
                                br.name()
                            ),
                        )?;
                        let _ = writeln!(cmds, "link set p{j} mtu {mtu} master br0 up");
                        linked.push((e.node, e.iface.clone()));
                    }
                    cmds.push_str("link set br0 up\n");
                    br.ip_batch(None, &cmds)?;
                }
            }
        }
        for (i, node) in topo.nodes.iter().enumerate() {
            let ns = &namespaces[i];
            let mut cmds = String::from("link set lo up\n");
            for iface in &node.host.interfaces {
                let dev = if iface.link == LinkType::Loopback {
                    "lo"
                } else {
                    iface.name.as_str()
                };
                if dev != "lo" {
                    if !linked.contains(&(i, iface.name.clone())) {
                        notes.push(format!(
                            "{}:{} is on no link: built as a dummy device",
                            node.name, iface.name
                        ));
                        let _ = writeln!(cmds, "link add {dev} type dummy");
                    } else if iface.link != LinkType::Ether {
                        notes.push(format!(
                            "{}:{} is built as a veth (an Ethernet device)",
                            node.name, iface.name
                        ));
                    }
                    if let Some(mac) = iface.mac {
                        let _ = writeln!(cmds, "link set dev {dev} address {mac}");
                    }
                    if let Some(mtu) = iface.mtu {
                        let _ = writeln!(cmds, "link set dev {dev} mtu {mtu}");
                    }
                    if iface.up {
                        let _ = writeln!(cmds, "link set dev {dev} up");
                    }
                }
                for a in iface.addrs.iter().filter(|a| !a.addr.is_loopback()) {
                    let net = IpNet::new(a.addr, a.prefix_len).unwrap_or(host_net(a.addr));
                    let _ = writeln!(cmds, "{}", addr_cmd(dev, &net));
                }
            }
            ns.ip_batch(None, &cmds)?;
            install_routes_and_rules(ns, &routes_with_devices(&node.host), &node.host.rules)?;
            ns.set_sysctls(&per_iface_sysctls[i])?;
            let mut neigh = String::new();
            for n in &node.host.neighbours {
                match (n.states.contains(&NeighbourState::Permanent), n.lladdr) {
                    (true, Some(mac)) => {
                        let _ = writeln!(
                            neigh,
                            "neigh replace {} lladdr {mac} dev {} nud permanent",
                            n.addr, n.dev
                        );
                    }
                    _ => notes.push(format!(
                        "{}: neighbour {} on {} is not PERMANENT: left to the kernel's own \
                         resolution",
                        node.name, n.addr, n.dev
                    )),
                }
            }
            ns.ip_batch(None, &neigh)?;
        }
        let mut nodes = Vec::new();
        for (node, ns) in topo.nodes.iter().zip(namespaces) {
            let rules: Vec<(model::SourceFile, Family)> = node
                .iptables_sources
                .iter()
                .cloned()
                .chain(node.nft_sources.iter().map(|s| (s.clone(), Family::Inet)))
                .collect();
            let (_, listing) = load_traced(&ns, &rules)?;
            let ifindex = links(&ns)?.into_iter().map(|(n, (i, _))| (n, i)).collect();
            let reader = TraceReader::open_in(ns.name(), false)?;
            let (tcp_listeners, udp_sockets) = open_sockets(&ns, node, &mut notes);
            nodes.push(TestNode {
                name: node.name.clone(),
                ns,
                ifindex,
                tcp_listeners,
                _udp_sockets: udp_sockets,
                ruleset: node.ruleset.clone(),
                listing,
                reader,
            });
        }
        Ok(TestNetwork {
            nodes,
            bridges,
            notes,
        })
    }

    /// All namespace names (nodes, then bridges).
    pub fn namespace_names(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| n.ns.name().to_string())
            .chain(self.bridges.iter().map(|b| b.name().to_string()))
            .collect()
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&TestNode, LiveError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| LiveError::Packet(format!("no node `{name}` in the test network")))
    }

    /// Runs `ping -n -c1` from `from`'s namespace.
    pub fn ping(&mut self, from: &str, ping: &Ping) -> Result<Exchange<PingSeen>, LiveError> {
        let ns = self.node(from)?.ns.name().to_string();
        let wait = ping.wait.as_secs_f64().ceil().max(1.0).to_string();
        let size = ping.size.map(|s| s.to_string());
        let dst = ping.dst.to_string();
        let mut args = vec!["-n", "-c1", "-W", wait.as_str()];
        if let Some(s) = &size {
            args.extend(["-s", s.as_str()]);
        }
        if let Some(m) = ping.pmtu {
            args.extend(["-M", m]);
        }
        if let Some(i) = &ping.interface {
            args.extend(["-I", i.as_str()]);
        }
        args.push(dst.as_str());
        self.observe(|| {
            let out = netlink::cmd::in_ns(&ns, "ping", &args, None)?;
            let text = format!("{}{}", out.stdout, out.stderr);
            Ok((parse_ping(&text), text))
        })
    }

    /// Opens a TCP connection from `from`'s namespace (a listener first, if asked for), and
    /// writes `probe.write` bytes if it connects.
    pub fn tcp(&mut self, from: &str, probe: &TcpProbe) -> Result<Exchange<TcpSeen>, LiveError> {
        let from_ns = self.node(from)?.ns.name().to_string();
        let listener = match &probe.listener {
            Some(name) => {
                let node = self.node(name)?;
                let any = unspecified(probe.dst);
                let l = match node.tcp_listener_for(probe.dst) {
                    Some(l) => l,
                    None => sys::in_netns(node.ns.name(), move || TcpListener::bind(any))
                        .map_err(|e| LiveError::io(format!("TCP listener in {name}"), e))?,
                };
                l.set_nonblocking(true)
                    .map_err(|e| LiveError::io("O_NONBLOCK", e))?;
                Some(l)
            }
            None => None,
        };
        let probe = probe.clone();
        self.observe(move || {
            let deadline = Instant::now() + probe.timeout;
            // 0 running, 1 failed, 2 connected and done writing.
            let client = Arc::new(AtomicU8::new(0));
            let server = listener.map(|l| {
                let client = client.clone();
                std::thread::spawn(move || serve_tcp(&l, &client, deadline))
            });
            let (dst, write, timeout) = (probe.dst, probe.write, probe.timeout);
            let outcome = sys::in_netns(&from_ns, move || {
                Ok(connect_and_write(dst, write, timeout, deadline))
            })
            .map_err(|e| LiveError::io("TCP client thread", e))?;
            let (seen, stream) = outcome;
            client.store(if stream.is_some() { 2 } else { 1 }, Ordering::SeqCst);
            let delivered = server.map(|s| s.join().unwrap_or(0)).unwrap_or(0);
            drop(stream);
            let seen = match seen {
                TcpSeen::Connected { written, .. } => TcpSeen::Connected { written, delivered },
                other => other,
            };
            Ok((seen, String::new()))
        })
    }

    /// Sends one UDP datagram from `from`'s namespace and waits for its echo.
    pub fn udp(&mut self, from: &str, probe: &UdpProbe) -> Result<Exchange<UdpSeen>, LiveError> {
        let from_ns = self.node(from)?.ns.name().to_string();
        let deadline = Instant::now() + probe.timeout;
        let echo = match &probe.listener {
            Some(node) => {
                let any = unspecified(probe.dst);
                let s = sys::in_netns(self.node(node)?.ns.name(), move || UdpSocket::bind(any))
                    .map_err(|e| LiveError::io(format!("UDP listener in {node}"), e))?;
                Some(s)
            }
            None => None,
        };
        let probe = probe.clone();
        self.observe(move || {
            let server = echo.map(|s| std::thread::spawn(move || echo_udp(&s, deadline)));
            let (dst, timeout) = (probe.dst, probe.timeout);
            let seen = sys::in_netns(&from_ns, move || Ok(send_udp(dst, timeout)))
                .map_err(|e| LiveError::io("UDP client thread", e))?;
            if let Some(s) = server {
                let _ = s.join();
            }
            Ok((seen, String::new()))
        })
    }

    /// Runs `send` (what the sender observed, and what it printed) with every node's trace
    /// read before (stale events dropped) and after.
    fn observe<T>(
        &mut self,
        send: impl FnOnce() -> Result<(T, String), LiveError>,
    ) -> Result<Exchange<T>, LiveError> {
        for n in &mut self.nodes {
            n.reader.drain(Duration::from_millis(2))?;
        }
        let t0 = Instant::now();
        let (seen, transcript) = send()?;
        let elapsed = t0.elapsed();
        let mut hops = Vec::new();
        for n in &mut self.nodes {
            let events: Vec<TraceEvent> = n
                .reader
                .drain(TRACE_SETTLE)?
                .into_iter()
                .filter_map(|m| match m {
                    Message::Trace(ev) => Some(ev),
                    _ => None,
                })
                .collect();
            n.reader.check_no_loss()?;
            hops.push(NodeWalks {
                node: n.name.clone(),
                walks: node_walks(n, events),
            });
        }
        Ok(Exchange {
            seen,
            hops,
            elapsed,
            transcript,
        })
    }
}

fn unspecified(dst: SocketAddr) -> SocketAddr {
    let ip = if dst.is_ipv6() {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    SocketAddr::new(ip, dst.port())
}

/// Connects (bounded by `timeout`) and writes `write` bytes until `deadline`; the stream is
/// returned open so the data still queued is not reset away.
fn connect_and_write(
    dst: SocketAddr,
    write: usize,
    timeout: Duration,
    deadline: Instant,
) -> (TcpSeen, Option<TcpStream>) {
    let mut s = match TcpStream::connect_timeout(&dst, timeout) {
        Ok(s) => s,
        Err(e) => return (TcpSeen::Failed(SocketError::of(&e)), None),
    };
    let chunk = vec![0x77u8; 16 * 1024];
    let mut written = 0;
    while written < write {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_write_timeout(Some(left)).is_err() {
            break;
        }
        match s.write(&chunk[..chunk.len().min(write - written)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n,
        }
    }
    let _ = s.shutdown(std::net::Shutdown::Write);
    (
        TcpSeen::Connected {
            written,
            delivered: 0,
        },
        Some(s),
    )
}

/// Accepts one connection and reads it to its end, until `deadline`; stops at once when
/// the client failed to connect. Returns the bytes read.
fn serve_tcp(l: &TcpListener, client: &AtomicU8, deadline: Instant) -> usize {
    let mut conn = loop {
        match l.accept() {
            Ok((c, _)) => break c,
            Err(_) if client.load(Ordering::SeqCst) == 1 || Instant::now() >= deadline => return 0,
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero()
            || conn.set_nonblocking(false).is_err()
            || conn.set_read_timeout(Some(left)).is_err()
        {
            return total;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

fn send_udp(dst: SocketAddr, timeout: Duration) -> UdpSeen {
    let attempt = || -> std::io::Result<()> {
        let s = UdpSocket::bind(SocketAddr::new(unspecified(dst).ip(), 0))?;
        s.connect(dst)?;
        s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        s.send(b"whyblocked")?;
        let mut buf = [0u8; 64];
        s.recv(&mut buf)?;
        Ok(())
    };
    match attempt() {
        Ok(()) => UdpSeen::Reply,
        Err(e) => UdpSeen::Failed(SocketError::of(&e)),
    }
}

/// Echoes one datagram back to its sender, waiting until `deadline` at most.
fn echo_udp(s: &UdpSocket, deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    if s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .is_err()
    {
        return;
    }
    let mut buf = [0u8; 2048];
    if let Ok((n, peer)) = s.recv_from(&mut buf) {
        let _ = s.send_to(&buf[..n], peer);
    }
}

/// Splits one namespace's trace events into one list per packet: events are grouped by
/// trace id, and a packet's walk begins where an id's events enter the trace table's
/// first chain (`pre` or `out`) anew (the kernel reuses an id for a later packet that
/// lands in the same memory). A packet looped back through `lo` shows as two walks.
pub fn split_walks(events: Vec<TraceEvent>) -> Vec<Vec<TraceEvent>> {
    let mut walks: Vec<Vec<TraceEvent>> = Vec::new();
    // trace id -> index of its current walk
    let mut current: HashMap<u32, usize> = HashMap::new();
    for ev in events {
        let starts_chain = ev.table == TRACE_TABLE && (ev.chain == "pre" || ev.chain == "out");
        let continuing = current.get(&ev.id).copied().filter(|&w| {
            !starts_chain
                || walks[w]
                    .last()
                    .is_some_and(|last| last.table == ev.table && last.chain == ev.chain)
        });
        match continuing {
            Some(w) => walks[w].push(ev),
            None => {
                current.insert(ev.id, walks.len());
                walks.push(vec![ev]);
            }
        }
    }
    walks
}

/// The packet a walk's first headers describe (received on `iif` when it began in
/// prerouting).
fn packet_of(h: &Headers, iif: Option<String>) -> Packet {
    let l4 = match (h.proto, h.ports, h.icmp) {
        (6, Some((sport, dport)), _) => L4::Tcp {
            sport,
            dport,
            flags: h.tcp_flags.unwrap_or(TcpFlags(0)),
        },
        (17, Some((sport, dport)), _) => L4::Udp { sport, dport },
        (1, _, Some((icmp_type, code))) => L4::Icmp {
            icmp_type,
            code,
            id: h.icmp_id.unwrap_or(0),
        },
        (58, _, Some((icmp_type, code))) => L4::Icmpv6 {
            icmp_type,
            code,
            id: h.icmp_id.unwrap_or(0),
        },
        (p, _, _) => L4::Other(model::packet::IpProto::from_number(p)),
    };
    let mut p = Packet::new(h.src, h.dst, l4);
    p.ttl = h.ttl;
    p.tos = h.tos;
    p.len = h.len;
    p.id = h.tag;
    p.dont_fragment = h.dont_fragment;
    p.iif = iif;
    p
}

/// Whether `answer`, a packet the node sent, answers `p`: it goes back to `p`'s source and
/// quotes it (an ICMP error) or is a reset with its ports reversed.
fn answers(answer: &Headers, p: &Headers) -> bool {
    answer.dst == p.src
        && (answer.quoted_tag.is_some_and(|q| q == p.tag)
            || (answer.tcp_flags.is_some_and(|f| f.contains(TcpFlags::RST))
                && answer.ports == p.ports.map(|(s, d)| (d, s))))
}

/// A node's events as placed walks, each received packet with the answers the node sent it.
fn node_walks(node: &TestNode, events: Vec<TraceEvent>) -> Vec<KernelWalk> {
    let groups: Vec<(Headers, Option<String>, Vec<TraceEvent>)> = split_walks(events)
        .into_iter()
        .filter_map(|g| {
            let first = g.first()?;
            let received = first.chain == "pre";
            let iif = if received {
                first.iif.and_then(|i| node.iface_name(i))
            } else {
                None
            };
            let h = g.iter().find_map(TraceEvent::headers)?;
            Some((h, iif.or_else(|| received.then(|| "?".to_string())), g))
        })
        .collect();
    groups
        .iter()
        .map(|(h, iif, events)| {
            let p = packet_of(h, iif.clone());
            let responses = if iif.is_some() {
                groups
                    .iter()
                    .filter(|(a, a_iif, _)| a_iif.is_none() && answers(a, h))
                    .map(|(a, _, _)| *a)
                    .collect()
            } else {
                Vec::new()
            };
            let names = |i: u32| node.iface_name(i);
            let events = events.iter().map(TraceEvent::to_walk_event).collect();
            walk::analyse(
                &node.ruleset,
                &node.listing,
                &names,
                &p,
                h.tag,
                events,
                responses,
            )
        })
        .collect()
}

/// The ICMP type and code a ping error line names (iputils' wording), with the MTU it
/// prints.
fn icmp_of_ping_text(text: &str) -> Option<(u8, u8, Option<u32>)> {
    let number_after = |key: &str| -> Option<u32> {
        let rest = &text[text.find(key)? + key.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    const V4_UNREACH: [&str; 16] = [
        "Destination Net Unreachable",
        "Destination Host Unreachable",
        "Destination Protocol Unreachable",
        "Destination Port Unreachable",
        "Frag needed and DF set",
        "Source Route Failed",
        "Destination Net Unknown",
        "Destination Host Unknown",
        "Source Host Isolated",
        "Destination Net Prohibited",
        "Destination Host Prohibited",
        "Destination Net Unreachable for Type of Service",
        "Destination Host Unreachable for Type of Service",
        "Packet filtered",
        "Precedence Violation",
        "Precedence Cutoff",
    ];
    const V6_UNREACH: [&str; 7] = [
        "No route",
        "Administratively prohibited",
        "Beyond scope of source address",
        "Address unreachable",
        "Port unreachable",
        "Source address failed ingress/egress policy",
        "Reject route to destination",
    ];
    if let Some(rest) = text.strip_prefix("Destination unreachable: ") {
        let code = V6_UNREACH.iter().position(|m| rest.starts_with(m))?;
        return Some((1, code as u8, None));
    }
    if text.starts_with("Packet too big") {
        return Some((2, 0, number_after("mtu=")));
    }
    if let Some(rest) = text.strip_prefix("Time exceeded: ") {
        return Some((3, u8::from(!rest.starts_with("Hop limit")), None));
    }
    if text.starts_with("Time to live exceeded") {
        return Some((11, 0, None));
    }
    if text.starts_with("Frag reassembly time exceeded") {
        return Some((11, 1, None));
    }
    // The longest wording that matches: "Destination Net Unreachable" is a prefix of the
    // "for Type of Service" one.
    let code = V4_UNREACH
        .iter()
        .enumerate()
        .filter(|(_, m)| text.starts_with(*m))
        .max_by_key(|(_, m)| m.len())?
        .0;
    let mtu = (code == 4).then(|| number_after("mtu =")).flatten();
    Some((3, code as u8, mtu))
}

/// Reads what `ping -n -c1` printed (stdout and stderr together). An answer wins over
/// ping's own complaints; its warnings (`ping: Warning: ...`) are not failures.
pub fn parse_ping(output: &str) -> PingSeen {
    let mut own_error = None;
    for line in output.lines().map(str::trim) {
        if let Some((_, rest)) = line.split_once(" bytes from ") {
            // IPv6 addresses contain colons: the address ends at ": icmp_seq"; a link-local
            // one carries its zone (`fe80::1%eth0`).
            let addr = rest.split_once(": icmp_seq").map_or(rest, |(a, _)| a);
            let addr = addr.split_once('%').map_or(addr, |(a, _)| a);
            if let Ok(from) = addr.parse() {
                return PingSeen::Reply { from };
            }
        }
        if let Some(rest) = line.strip_prefix("From ") {
            let (addr, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let addr = addr.split_once('%').map_or(addr, |(a, _)| a);
            let text = rest
                .split_once("icmp_seq=")
                .map(|(_, r)| r.split_once(' ').map_or("", |(_, t)| t))
                .unwrap_or(rest);
            if let (Ok(from), Some((icmp_type, code, mtu))) =
                (addr.parse(), icmp_of_ping_text(text.trim()))
            {
                return PingSeen::Error(IcmpSeen {
                    from,
                    icmp_type,
                    code,
                    mtu,
                });
            }
        }
        if own_error.is_some() || line.starts_with("ping: Warning:") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("ping: local error: ") {
            let mtu = rest
                .split_once("mtu=")
                .and_then(|(_, m)| m.trim().parse().ok());
            own_error = Some(PingSeen::LocalError {
                mtu,
                line: line.to_string(),
            });
        } else if line.starts_with("ping: ") {
            own_error = Some(PingSeen::SendFailed {
                line: line.to_string(),
            });
        }
    }
    match own_error {
        Some(e) => e,
        None if output.contains(" 0 received") => PingSeen::Timeout,
        None => PingSeen::Unrecognised {
            output: output.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::kernel_walk::StepKind;

    fn ev(id: u32, chain: &str) -> TraceEvent {
        TraceEvent::bare(id, Some(Family::Inet), TRACE_TABLE, chain, StepKind::Rule)
    }

    #[test]
    fn a_trace_id_seen_again_at_the_first_chain_is_a_new_packet() {
        // Packet 1 (id 7) is forwarded; an ICMP error (id 9) nests inside its walk; packet 2
        // reuses id 7.
        let events = vec![
            ev(7, "pre"),
            ev(7, "pre"),
            ev(7, "pre_end"),
            ev(9, "out"),
            ev(9, "post_end"),
            ev(7, "fwd_end"),
            ev(7, "pre"),
            ev(7, "in_end"),
        ];
        let walks: Vec<Vec<(u32, String)>> = split_walks(events)
            .into_iter()
            .map(|w| w.into_iter().map(|e| (e.id, e.chain)).collect())
            .collect();
        let w = |v: &[(u32, &str)]| -> Vec<(u32, String)> {
            v.iter().map(|(i, c)| (*i, c.to_string())).collect()
        };
        assert_eq!(
            walks,
            vec![
                w(&[(7, "pre"), (7, "pre"), (7, "pre_end"), (7, "fwd_end")]),
                w(&[(9, "out"), (9, "post_end")]),
                w(&[(7, "pre"), (7, "in_end")]),
            ]
        );
    }

    #[test]
    fn ping_replies_and_errors_are_read_with_their_source() {
        let reply = "PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.\n\
                     64 bytes from 10.0.2.2: icmp_seq=1 ttl=63 time=0.081 ms\n";
        assert_eq!(
            parse_ping(reply),
            PingSeen::Reply {
                from: "10.0.2.2".parse().unwrap()
            }
        );
        let v6 = "64 bytes from fd00:2::2: icmp_seq=1 ttl=63 time=0.1 ms\n";
        let link_local = "64 bytes from fe80::77:62ff:fe00:101%eth0: icmp_seq=1 ttl=64 time=0.141 ms\n\
                          ping: Warning: source address might be selected on device other than: eth0\n";
        assert_eq!(
            parse_ping(link_local),
            PingSeen::Reply {
                from: "fe80::77:62ff:fe00:101".parse().unwrap()
            }
        );
        assert_eq!(
            parse_ping(v6),
            PingSeen::Reply {
                from: "fd00:2::2".parse().unwrap()
            }
        );
        let frag = "From 10.0.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n";
        assert_eq!(
            parse_ping(frag),
            PingSeen::Error(IcmpSeen {
                from: "10.0.1.1".parse().unwrap(),
                icmp_type: 3,
                code: 4,
                mtu: Some(1400)
            })
        );
        let addr = "From fd00:1::1 icmp_seq=1 Destination unreachable: Address unreachable\n";
        assert_eq!(
            parse_ping(addr),
            PingSeen::Error(IcmpSeen {
                from: "fd00:1::1".parse().unwrap(),
                icmp_type: 1,
                code: 3,
                mtu: None
            })
        );
        let tos = "From 10.0.1.1 icmp_seq=1 Destination Net Unreachable for Type of Service\n";
        assert!(matches!(
            parse_ping(tos),
            PingSeen::Error(IcmpSeen { code: 11, .. })
        ));
    }

    #[test]
    fn ping_without_an_answer_is_a_timeout_and_its_own_errors_are_kept() {
        let lost = "PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.\n\n\
                    --- 10.0.2.2 ping statistics ---\n\
                    1 packets transmitted, 0 received, 100% packet loss, time 0ms\n";
        assert_eq!(parse_ping(lost), PingSeen::Timeout);
        assert_eq!(
            parse_ping("ping: local error: message too long, mtu=1400\n"),
            PingSeen::LocalError {
                mtu: Some(1400),
                line: "ping: local error: message too long, mtu=1400".into()
            }
        );
        assert!(matches!(
            parse_ping("ping: connect: Network is unreachable\n"),
            PingSeen::SendFailed { .. }
        ));
        assert!(matches!(
            parse_ping("something else\n"),
            PingSeen::Unrecognised { .. }
        ));
    }
}
