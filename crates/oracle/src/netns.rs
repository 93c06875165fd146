//! Throwaway test hosts in network namespaces.
//!
//! A [`TestHost`] is a *router* namespace that carries a [`Host`]'s interfaces (by name),
//! addresses, routes, policy rules and the sysctls that matter, each interface a veth whose
//! other end sits in its own *peer* namespace (device `eth0`, an address in the same subnet,
//! a default route via the router). Packets are injected from the peers.
//!
//! Names: `wb<pid>_<n><role>` (`wb4242_0r`, `wb4242_0p1`; a [`crate::topology`] network's
//! nodes and bridges `wb4242_1n0`, `wb4242_1b0`), so [`sweep_stale`] can delete the
//! namespaces of processes that died without cleaning up. Every namespace is owned by a
//! [`Netns`] guard that deletes it on drop, also while a panic unwinds.

use ipnet::IpNet;
use model::host::{IfAddr, Interface, LinkType, PolicyRule, Route, RouteType, RuleAction, Scope};
use model::packet::Mac;
use model::{Host, Packet};
use netlink::cmd;
use netlink::sys;
use netlink::LiveError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};

/// Prefix of every namespace the oracle creates.
pub const PREFIX: &str = "wb";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh group number for the namespaces of one test host or network.
pub(crate) fn next_group() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A network namespace we created; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `wb<pid>_<group><role>`.
    pub(crate) fn create(group: u32, role: &str) -> Result<Netns, LiveError> {
        let name = format!("{PREFIX}{}_{group}{role}", std::process::id());
        cmd::run_ok("ip", &["netns", "add", &name], None)?;
        Ok(Netns { name })
    }

    /// A namespace on its own (`wb<pid>_<n><role>`) for a test that builds its devices
    /// itself; deleted on drop like every other.
    pub fn standalone(role: &str) -> Result<Netns, LiveError> {
        if !sys::is_root() {
            return Err(LiveError::NotRoot);
        }
        Netns::create(COUNTER.fetch_add(1, Ordering::Relaxed), role)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `program args...` inside this namespace, failing on a non-zero exit.
    pub fn exec(
        &self,
        program: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<String, LiveError> {
        cmd::in_ns_ok(&self.name, program, args, stdin)
    }

    /// Runs `ip [family] -n NAME -batch -` with `commands` (one per line); on failure the
    /// failing line is quoted.
    pub fn ip_batch(&self, family: Option<&str>, commands: &str) -> Result<(), LiveError> {
        if commands.trim().is_empty() {
            return Ok(());
        }
        let mut args = Vec::new();
        if let Some(f) = family {
            args.push(f);
        }
        args.extend(["-n", self.name.as_str(), "-batch", "-"]);
        let out = cmd::run("ip", &args, Some(commands.as_bytes()), cmd::DEFAULT_TIMEOUT)?;
        if out.success {
            return Ok(());
        }
        // "Command failed -:3"
        let line = out
            .stderr
            .rsplit_once("-:")
            .and_then(|(_, n)| n.trim().parse::<usize>().ok())
            .and_then(|n| commands.lines().nth(n.saturating_sub(1)));
        Err(LiveError::Setup(format!(
            "`ip {}` failed in namespace {}: {}{}",
            family.unwrap_or(""),
            self.name,
            out.stderr.trim(),
            line.map(|l| format!(" (command: `ip {l}`)"))
                .unwrap_or_default()
        )))
    }

    /// Writes sysctls from a thread inside the namespace (`/proc/sys/net` follows the
    /// writing thread's namespace). Keys are dotted; dots inside interface names are `/`.
    pub fn set_sysctls(&self, kv: &[(String, String)]) -> Result<(), LiveError> {
        if kv.is_empty() {
            return Ok(());
        }
        let kv = kv.to_vec();
        let ns = self.name.clone();
        sys::in_netns(&self.name, move || {
            for (k, v) in &kv {
                let path = format!("/proc/sys/{}", k.replace('.', "/"));
                std::fs::write(&path, format!("{v}\n")).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("sysctl {k}={v} in {ns}: {e}"))
                })?;
            }
            Ok(())
        })
        .map_err(|e| LiveError::io("setting sysctls", e))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = cmd::run(
            "ip",
            &["netns", "del", &self.name],
            None,
            cmd::DEFAULT_TIMEOUT,
        );
    }
}

/// All `wb*` namespaces that exist now.
pub fn list_ours() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(PREFIX))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether the namespace `name` exists now.
fn exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

/// The pid encoded in a namespace name `wb<pid>_...`.
pub fn creator_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, _) = rest.split_once('_')?;
    pid.parse().ok()
}

/// Deletes namespaces named by this module (`wb<pid>_...`) whose creating process no longer
/// exists. Other `wb*` namespaces (another tool's, a script's) are left alone: they may be
/// in use by a process this one cannot see. Returns the names deleted.
pub fn sweep_stale() -> Result<Vec<String>, LiveError> {
    if !sys::is_root() {
        return Err(LiveError::NotRoot);
    }
    let mut deleted = Vec::new();
    for name in list_ours() {
        let Some(pid) = creator_pid(&name) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            // Another process sweeping at the same time may delete it first: a namespace
            // that is gone is what this wanted, not a failure.
            match cmd::run_ok("ip", &["netns", "del", &name], None) {
                Ok(_) => deleted.push(name),
                Err(_) if !exists(&name) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(deleted)
}

/// One router interface as built.
#[derive(Debug, Clone)]
pub struct RouterIface {
    pub name: String,
    pub index: u32,
    pub mac: Mac,
    /// Index into [`TestHost::peers`]; `None` for `lo`.
    pub peer: Option<usize>,
}

/// The namespace at the other end of one router interface.
#[derive(Debug)]
pub struct Peer {
    pub ns: Netns,
    /// The router interface this peer is plugged into.
    pub router_iface: String,
    /// The peer's device name (`eth0`).
    pub dev: String,
    pub mac: Mac,
    pub addrs: Vec<IpNet>,
}

/// The kernel-side twin of a [`Host`]. Dropping it deletes every namespace.
#[derive(Debug)]
pub struct TestHost {
    /// The namespace that plays the host.
    pub router: Netns,
    pub peers: Vec<Peer>,
    pub ifaces: Vec<RouterIface>,
    /// The sysctls written into the router namespace (after defaults).
    pub sysctls: Vec<(String, String)>,
    /// Things that could not be reproduced exactly (e.g. a tunnel device built as a veth).
    pub notes: Vec<String>,
}

/// Sysctls written when the host model does not give them: the assumptions a simulation
/// without host state makes (a router that forwards, no reverse-path filter).
pub const DEFAULT_SYSCTLS: [(&str, &str); 6] = [
    ("net.ipv4.ip_forward", "1"),
    ("net.ipv6.conf.all.forwarding", "1"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.netfilter.nf_conntrack_tcp_loose", "1"),
    ("net.ipv4.conf.all.accept_local", "0"),
];

/// Sysctls set in every namespace before devices exist: no DAD, no router solicitations,
/// no ICMP rate limits (every reject must answer).
const QUIET_SYSCTLS: [(&str, &str); 8] = [
    ("net.ipv6.conf.all.accept_dad", "0"),
    ("net.ipv6.conf.default.accept_dad", "0"),
    ("net.ipv6.conf.all.accept_ra", "0"),
    ("net.ipv6.conf.default.accept_ra", "0"),
    ("net.ipv6.conf.default.router_solicitations", "0"),
    ("net.ipv6.conf.all.router_solicitations", "0"),
    ("net.ipv4.icmp_ratelimit", "0"),
    ("net.ipv6.icmp.ratelimit", "0"),
];

/// [`QUIET_SYSCTLS`] as the owned pairs [`Netns::set_sysctls`] takes.
pub(crate) fn quiet_sysctls() -> Vec<(String, String)> {
    QUIET_SYSCTLS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether a sysctl of the host changes a packet's path (and so is reproduced).
pub fn sysctl_matters(key: &str) -> bool {
    const KNOBS: [&str; 8] = [
        "forwarding",
        "rp_filter",
        "accept_local",
        "route_localnet",
        "accept_source_route",
        "src_valid_mark",
        "disable_ipv6",
        // IPv6 source address selection prefers temporary addresses at 2.
        "use_tempaddr",
    ];
    if key == "net.ipv4.ip_forward" || key == "net.ipv4.conf.all.forwarding" {
        return true;
    }
    if let Some(rest) = key.strip_prefix("net.netfilter.") {
        return matches!(
            rest,
            "nf_conntrack_tcp_loose"
                | "nf_conntrack_tcp_be_liberal"
                | "nf_conntrack_checksum"
                | "nf_conntrack_acct"
        );
    }
    (key.starts_with("net.ipv4.conf.") || key.starts_with("net.ipv6.conf."))
        && KNOBS.iter().any(|k| key.ends_with(&format!(".{k}")))
}

/// The interface part of `net.ipv{4,6}.conf.IFACE.knob`, if it names one.
pub(crate) fn sysctl_iface(key: &str) -> Option<&str> {
    let rest = key
        .strip_prefix("net.ipv4.conf.")
        .or_else(|| key.strip_prefix("net.ipv6.conf."))?;
    let (iface, _) = rest.rsplit_once('.')?;
    (iface != "all" && iface != "default").then_some(iface)
}

/// A plan of what to build, derived from a host model and the packets to be sent: the
/// model's interfaces, plus what the packets need when the model lacks it.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
    pub rules: Vec<PolicyRule>,
    pub sysctls: Vec<(String, String)>,
    /// Addresses to give peers besides the automatic one (route gateways, packet sources).
    pub peer_extra: BTreeMap<String, Vec<IpNet>>,
    pub notes: Vec<String>,
}

pub(crate) fn host_net(addr: IpAddr) -> IpNet {
    IpNet::new(addr, if addr.is_ipv4() { 32 } else { 128 }).expect("host prefix")
}

impl Plan {
    /// What to build for `host` so that `packets` can be sent as given. Parts of the host the
    /// model knows are reproduced as they are; parts it does not know are filled from the
    /// packets the way a simulation without host state assumes them (`in X` alone: addressed
    /// to this host; `in X out Y`: forwarded; no `in`: locally generated).
    pub fn new(host: &Host, packets: &[Packet]) -> Plan {
        let mut plan = Plan {
            interfaces: host.interfaces.clone(),
            routes: host.routes.clone(),
            rules: host.rules.clone(),
            ..Plan::default()
        };
        let mut pool = 0u8;
        let mut ensure_iface = |plan: &mut Plan, name: &str| {
            if plan.interfaces.iter().any(|i| i.name == name) {
                return;
            }
            pool = pool.wrapping_add(1);
            let v4 = IpAddr::V4(Ipv4Addr::new(10, 250, pool, 1));
            let v6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x7762, pool as u16, 0, 0, 0, 0, 1));
            let mk = |addr, prefix_len| IfAddr {
                addr,
                prefix_len,
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
                deprecated: false,
                dad: model::host::DadState::Done,
            };
            plan.interfaces.push(Interface {
                name: name.to_string(),
                index: 0,
                link: LinkType::Ether,
                mac: None,
                up: true,
                mtu: None,
                addrs: vec![mk(v4, 24), mk(v6, 64)],
                master: None,
                lower_up: None,
                kind: None,
            });
        };
        for p in packets {
            if let Some(i) = &p.iif {
                ensure_iface(&mut plan, i);
            }
            if let Some(o) = &p.oif {
                ensure_iface(&mut plan, o);
            }
        }
        if !host.known.addresses {
            // `in X` alone: the destination is one of ours.
            for p in packets {
                if let (Some(iif), None) = (&p.iif, &p.oif) {
                    let iface = plan
                        .interfaces
                        .iter_mut()
                        .find(|i| &i.name == iif)
                        .expect("ensured");
                    if !iface.addrs.iter().any(|a| a.addr == p.dst) {
                        iface.addrs.push(IfAddr {
                            addr: p.dst,
                            prefix_len: if p.dst.is_ipv4() { 32 } else { 128 },
                            scope: Scope::Universe,
                            broadcast: None,
                            temporary: false,
                            secondary: true,
                            deprecated: false,
                            dad: model::host::DadState::Done,
                        });
                    }
                }
            }
        }
        if !host.known.routes {
            for p in packets {
                // The way back to the sender, and the way out to the destination.
                // The peer owns the address; the router reaches it on-link.
                let ends = [(p.iif.as_ref(), p.src), (p.oif.as_ref(), p.dst)];
                for (dev, a) in ends {
                    let Some(dev) = dev else { continue };
                    plan.peer_extra
                        .entry(dev.clone())
                        .or_default()
                        .push(host_net(a));
                    let connected = plan
                        .interfaces
                        .iter()
                        .any(|i| i.addrs.iter().any(|x| x.network().contains(&a)));
                    if !connected && !plan.routes.iter().any(|r| r.dst == host_net(a)) {
                        plan.routes.push(onlink_route(host_net(a), dev));
                    }
                }
            }
        }
        // Sysctls: the host's (those that matter), then defaults for the rest.
        for (k, v) in &host.sysctls.0 {
            if sysctl_matters(k) {
                plan.sysctls.push((k.clone(), v.trim().to_string()));
            }
        }
        for (k, v) in DEFAULT_SYSCTLS {
            if !host.sysctls.is_set(k) {
                plan.sysctls.push((k.to_string(), v.to_string()));
            }
        }
        // ip_forward first: writing it resets every conf.*.forwarding.
        plan.sysctls
            .sort_by_key(|(k, _)| (k != "net.ipv4.ip_forward", sysctl_iface(k).is_some()));
        plan
    }
}

fn onlink_route(dst: IpNet, dev: &str) -> Route {
    Route {
        table: model::host::table_id::MAIN,
        dst,
        route_type: RouteType::Unicast,
        gateway: None,
        dev: Some(dev.to_string()),
        prefsrc: None,
        metric: 0,
        scope: Scope::Link,
        protocol: Some("static".into()),
        nexthops: Vec::new(),
        text: String::new(),
    }
}

/// Picks an address for the peer in the subnet of `a`, not used by the router.
fn peer_addr(a: &IfAddr, taken: &[IpAddr]) -> Option<IpNet> {
    let net = a.network();
    match net {
        IpNet::V4(n) if n.prefix_len() <= 31 => n
            .hosts()
            .take(64)
            .map(IpAddr::V4)
            .find(|h| !taken.contains(h))
            .map(|h| IpNet::new(h, n.prefix_len()).expect("prefix")),
        IpNet::V6(n) if n.prefix_len() <= 126 && !a.addr.is_unicast_link_local_v6() => n
            .hosts()
            .skip(1)
            .take(64)
            .map(IpAddr::V6)
            .find(|h| !taken.contains(h))
            .map(|h| IpNet::new(h, n.prefix_len()).expect("prefix")),
        _ => None,
    }
}

trait LinkLocal {
    fn is_unicast_link_local_v6(&self) -> bool;
}
impl LinkLocal for IpAddr {
    fn is_unicast_link_local_v6(&self) -> bool {
        matches!(self, IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfe80)
    }
}

fn route_cmd(r: &Route) -> Option<String> {
    if r.table == model::host::table_id::LOCAL {
        return None; // made by the kernel from the addresses
    }
    if r.protocol.as_deref() == Some("kernel") {
        return None; // same
    }
    if matches!(
        r.route_type,
        RouteType::Broadcast
            | RouteType::Local
            | RouteType::Multicast
            | RouteType::Anycast
            | RouteType::Nat
    ) {
        return None;
    }
    let mut s = String::from("route replace ");
    if r.route_type != RouteType::Unicast {
        let _ = write!(s, "{} ", r.route_type);
    }
    let is_default = r.dst.prefix_len() == 0;
    if is_default {
        s.push_str("default");
    } else {
        let _ = write!(s, "{}", r.dst);
    }
    if r.route_type == RouteType::Unicast {
        if r.nexthops.len() > 1 {
            for nh in &r.nexthops {
                s.push_str(" nexthop");
                if let Some(g) = nh.gateway {
                    let _ = write!(s, " via {g}");
                }
                if let Some(d) = &nh.dev {
                    let _ = write!(s, " dev {d}");
                }
                let _ = write!(s, " weight {}", nh.weight.max(1));
            }
        } else {
            if let Some(g) = r.gateway {
                let _ = write!(s, " via {g}");
            }
            if let Some(d) = &r.dev {
                let _ = write!(s, " dev {d}");
            }
            if r.gateway.is_some() {
                s.push_str(" onlink");
            }
        }
        if let Some(src) = r.prefsrc {
            let _ = write!(s, " src {src}");
        }
    }
    let _ = write!(s, " metric {} table {}", r.metric, r.table);
    Some(s)
}

fn rule_cmd(r: &PolicyRule) -> Option<String> {
    let default = r.src.is_none()
        && r.dst.is_none()
        && r.iif.is_none()
        && r.oif.is_none()
        && r.fwmark.is_none()
        && !r.not
        && matches!(
            (r.priority, &r.action),
            (0, RuleAction::Lookup(255))
                | (32766, RuleAction::Lookup(254))
                | (32767, RuleAction::Lookup(253))
        );
    if default {
        return None;
    }
    let mut s = String::from("rule add");
    if r.not {
        s.push_str(" not");
    }
    let _ = write!(s, " priority {}", r.priority);
    if let Some(n) = r.src {
        let _ = write!(s, " from {n}");
    }
    if let Some(n) = r.dst {
        let _ = write!(s, " to {n}");
    }
    if let Some(i) = &r.iif {
        let _ = write!(s, " iif {i}");
    }
    if let Some(o) = &r.oif {
        let _ = write!(s, " oif {o}");
    }
    if let Some((v, m)) = r.fwmark {
        let _ = write!(s, " fwmark {v:#x}/{m:#x}");
    }
    if let Some(t) = r.tos {
        let _ = write!(s, " tos {t:#x}");
    }
    if let Some(p) = r.ipproto {
        let _ = write!(s, " ipproto {}", p.number());
    }
    if let Some((a, b)) = r.sport {
        let _ = write!(s, " sport {a}-{b}");
    }
    if let Some((a, b)) = r.dport {
        let _ = write!(s, " dport {a}-{b}");
    }
    if let Some((a, b)) = r.uid {
        let _ = write!(s, " uidrange {a}-{b}");
    }
    match r.action {
        RuleAction::Lookup(t) => {
            let _ = write!(s, " lookup {t}");
        }
        RuleAction::Goto(p) => {
            let _ = write!(s, " goto {p}");
        }
        RuleAction::Nop => s.push_str(" nop"),
        RuleAction::Blackhole => s.push_str(" blackhole"),
        RuleAction::Unreachable => s.push_str(" unreachable"),
        RuleAction::Prohibit => s.push_str(" prohibit"),
    }
    if let Some(p) = r.suppress_prefixlen {
        let _ = write!(s, " suppress_prefixlength {p}");
    }
    Some(s)
}

pub(crate) fn addr_cmd(dev: &str, a: &IpNet) -> String {
    if a.addr().is_ipv6() {
        format!("addr replace {a} dev {dev} nodad")
    } else {
        format!("addr replace {a} dev {dev}")
    }
}

/// `ip -j link` of a namespace: name -> (index, mac).
pub(crate) fn links(ns: &Netns) -> Result<BTreeMap<String, (u32, Mac)>, LiveError> {
    let out = cmd::run_ok("ip", &["-n", ns.name(), "-j", "link", "show"], None)?;
    let v: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| LiveError::Setup(format!("ip -j link: {e}")))?;
    let mut map = BTreeMap::new();
    for l in v.as_array().into_iter().flatten() {
        let name = l["ifname"].as_str().unwrap_or_default().to_string();
        let index = l["ifindex"].as_u64().unwrap_or(0) as u32;
        let mac = l["address"]
            .as_str()
            .and_then(Mac::parse)
            .unwrap_or(Mac([0; 6]));
        map.insert(name, (index, mac));
    }
    Ok(map)
}

/// Installs `routes` (every table; the ones the kernel makes from addresses are left to it)
/// and policy `rules` (the three default ones are already there) in `ns`, per family.
pub(crate) fn install_routes_and_rules(
    ns: &Netns,
    routes: &[Route],
    rules: &[PolicyRule],
) -> Result<(), LiveError> {
    for (v6, flag) in [(false, "-4"), (true, "-6")] {
        let mut cmds = String::new();
        let mut family: Vec<&Route> = routes
            .iter()
            .filter(|r| r.dst.addr().is_ipv6() == v6)
            .collect();
        family.sort_by_key(|r| r.gateway.is_some()); // on-link routes first
        for c in family.into_iter().filter_map(route_cmd) {
            cmds.push_str(&c);
            cmds.push('\n');
        }
        for c in rules.iter().filter(|r| r.v6 == v6).filter_map(rule_cmd) {
            cmds.push_str(&c);
            cmds.push('\n');
        }
        ns.ip_batch(Some(flag), &cmds)?;
    }
    Ok(())
}

impl TestHost {
    /// Builds the namespaces for `plan`. On any error, what was created is deleted.
    pub fn build(plan: &Plan) -> Result<TestHost, LiveError> {
        if !sys::is_root() {
            return Err(LiveError::NotRoot);
        }
        let group = next_group();
        let quiet = quiet_sysctls();
        let router = Netns::create(group, "r")?;
        router.set_sysctls(&quiet)?;
        let mut notes = plan.notes.clone();

        // Sysctls for all/default before devices exist, so new devices inherit them.
        let (global, per_iface): (Vec<_>, Vec<_>) = plan
            .sysctls
            .iter()
            .cloned()
            .partition(|(k, _)| sysctl_iface(k).is_none());
        router.set_sysctls(&global)?;

        let mut host = TestHost {
            router,
            peers: Vec::new(),
            ifaces: Vec::new(),
            sysctls: plan.sysctls.clone(),
            notes: Vec::new(),
        };
        let mut router_cmds = String::from("link set lo up\n");
        for iface in &plan.interfaces {
            if iface.link == LinkType::Loopback || iface.name == "lo" {
                for a in &iface.addrs {
                    if !a.addr.is_loopback() {
                        let _ = writeln!(
                            router_cmds,
                            "{}",
                            addr_cmd(
                                "lo",
                                &IpNet::new(a.addr, a.prefix_len).unwrap_or(host_net(a.addr))
                            )
                        );
                    }
                }
                continue;
            }
            if iface.name.len() > 15 {
                return Err(LiveError::Setup(format!(
                    "interface name `{}` is longer than 15 bytes",
                    iface.name
                )));
            }
            if iface.link != LinkType::Ether {
                notes.push(format!(
                    "{} is built as a veth (an Ethernet device)",
                    iface.name
                ));
            }
            let peer_ns = Netns::create(group, &format!("p{}", host.peers.len() + 1))?;
            peer_ns.set_sysctls(&quiet)?;
            let taken: Vec<IpAddr> = iface.addrs.iter().map(|a| a.addr).collect();
            let mut peer_addrs: Vec<IpNet> = Vec::new();
            for a in &iface.addrs {
                if let Some(p) = peer_addr(a, &taken) {
                    if !peer_addrs
                        .iter()
                        .any(|x| x.addr().is_ipv4() == p.addr().is_ipv4())
                    {
                        peer_addrs.push(p);
                    }
                }
            }
            // Gateways of routes through this interface live in the peer.
            for r in &plan.routes {
                let gws = std::iter::once((r.gateway, r.dev.as_deref()))
                    .chain(r.nexthops.iter().map(|n| (n.gateway, n.dev.as_deref())));
                for (gw, dev) in gws {
                    if let (Some(g), Some(d)) = (gw, dev) {
                        if d == iface.name
                            && !taken.contains(&g)
                            && !peer_addrs.iter().any(|p| p.addr() == g)
                        {
                            let prefix = iface
                                .addrs
                                .iter()
                                .find(|a| a.network().contains(&g))
                                .map_or(if g.is_ipv4() { 32 } else { 128 }, |a| a.prefix_len);
                            peer_addrs.push(IpNet::new(g, prefix).expect("prefix"));
                        }
                    }
                }
            }
            for extra in plan.peer_extra.get(&iface.name).into_iter().flatten() {
                if !taken.contains(&extra.addr())
                    && !peer_addrs.iter().any(|p| p.addr() == extra.addr())
                {
                    peer_addrs.push(*extra);
                }
            }
            let mut peer_cmds = String::new();
            let _ = writeln!(
                peer_cmds,
                "link add eth0 type veth peer name {} netns {}",
                iface.name,
                host.router.name()
            );
            peer_cmds.push_str("link set lo up\nlink set eth0 up\n");
            for a in &peer_addrs {
                let _ = writeln!(peer_cmds, "{}", addr_cmd("eth0", a));
            }
            peer_ns.ip_batch(None, &peer_cmds)?;
            host.peers.push(Peer {
                ns: peer_ns,
                router_iface: iface.name.clone(),
                dev: "eth0".into(),
                mac: Mac([0; 6]),
                addrs: peer_addrs,
            });
            if let Some(mac) = iface.mac {
                let _ = writeln!(router_cmds, "link set dev {} address {mac}", iface.name);
            }
            if let Some(mtu) = iface.mtu {
                let _ = writeln!(router_cmds, "link set dev {} mtu {mtu}", iface.name);
            }
            let _ = writeln!(router_cmds, "link set dev {} up", iface.name);
            for a in &iface.addrs {
                let net = IpNet::new(a.addr, a.prefix_len).unwrap_or(host_net(a.addr));
                let _ = writeln!(router_cmds, "{}", addr_cmd(&iface.name, &net));
            }
        }
        host.router.ip_batch(None, &router_cmds)?;

        install_routes_and_rules(&host.router, &plan.routes, &plan.rules)?;
        host.router.set_sysctls(&per_iface)?;

        // Peers: a default route via the router, per family.
        for peer in &host.peers {
            let iface = plan
                .interfaces
                .iter()
                .find(|i| i.name == peer.router_iface)
                .expect("planned");
            let mut cmds = String::new();
            for v6 in [false, true] {
                if let Some(a) = iface.addrs.iter().find(|a| {
                    a.addr.is_ipv6() == v6
                        && !a.addr.is_unicast_link_local_v6()
                        && peer.addrs.iter().any(|p| p.contains(&a.addr))
                }) {
                    let _ = writeln!(
                        cmds,
                        "{} route replace default via {} dev eth0",
                        if v6 { "-6" } else { "-4" },
                        a.addr
                    );
                }
            }
            // `-4`/`-6` are global options, so one line at a time.
            for line in cmds.lines() {
                let (fam, rest) = line.split_once(' ').expect("flag");
                peer.ns.ip_batch(Some(fam), rest)?;
            }
        }

        // Read back indexes and MACs.
        let rl = links(&host.router)?;
        for (i, peer) in host.peers.iter_mut().enumerate() {
            let pl = links(&peer.ns)?;
            peer.mac = pl.get("eth0").map(|x| x.1).unwrap_or(Mac([0; 6]));
            let (index, mac) = rl
                .get(&peer.router_iface)
                .copied()
                .unwrap_or((0, Mac([0; 6])));
            host.ifaces.push(RouterIface {
                name: peer.router_iface.clone(),
                index,
                mac,
                peer: Some(i),
            });
        }
        if let Some((index, mac)) = rl.get("lo") {
            host.ifaces.push(RouterIface {
                name: "lo".into(),
                index: *index,
                mac: *mac,
                peer: None,
            });
        }
        host.notes = notes;
        Ok(host)
    }

    /// Builds a test host for `host` and `packets` (see [`Plan::new`]).
    pub fn for_packets(host: &Host, packets: &[Packet]) -> Result<TestHost, LiveError> {
        TestHost::build(&Plan::new(host, packets))
    }

    pub fn iface(&self, name: &str) -> Option<&RouterIface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    pub fn iface_by_index(&self, index: u32) -> Option<&RouterIface> {
        self.ifaces.iter().find(|i| i.index == index)
    }

    /// The peer plugged into router interface `name`.
    pub fn peer_of(&self, name: &str) -> Option<&Peer> {
        self.iface(name)
            .and_then(|i| i.peer)
            .map(|p| &self.peers[p])
    }

    /// All namespace names of this host (router first).
    pub fn namespace_names(&self) -> Vec<String> {
        std::iter::once(self.router.name().to_string())
            .chain(self.peers.iter().map(|p| p.ns.name().to_string()))
            .collect()
    }

    /// Empties the router's conntrack table (between unrelated cases).
    pub fn flush_conntrack(&self) -> Result<(), LiveError> {
        let out = cmd::in_ns(self.router.name(), "conntrack", &["-F"], None)?;
        // conntrack -F exits 1 on an already-empty table with some versions: accept both.
        if !out.success && !out.stderr.contains("0 flow entries") {
            return Err(LiveError::Command {
                what: "conntrack -F".into(),
                status: out.status,
                stderr: out.stderr,
            });
        }
        Ok(())
    }
}
