//! kube-proxy rulesets in their real shape, from a cluster description: the iptables mode
//! as `iptables-save` lists it after kube-proxy's `iptables-restore` ([`Cluster::iptables_save`]),
//! and the nftables mode as `nft list ruleset` lists the `ip kube-proxy` table
//! ([`Cluster::nft_ruleset`]).
//!
//! The shape is kube-proxy's own, read (not copied) from kubernetes/kubernetes:
//! - iptables mode: `pkg/proxy/iptables/proxier.go` (`syncProxyRules`, the jump chains of
//!   `iptablesJumpChains`, `KUBE-MARK-MASQ` / `KUBE-POSTROUTING`, the `statistic`
//!   probabilities `1/(n-i)` written with `%0.10f`) and the expected dumps of
//!   `pkg/proxy/iptables/proxier_test.go` (`TestOverallIPTablesRules`) and
//!   `cleanup_test.go`; the rule text is as `iptables-save` prints it back (matches
//!   reordered, `/32` added, `MARK --set-xmark`, probabilities with 11 decimals), which the
//!   kernel test of this module checks line by line against a real `iptables-save`.
//! - nftables mode: `pkg/proxy/nftables/proxier.go` (the base chains, sets and verdict
//!   maps of `setupNFTables`, `service-` / `external-` / `endpoint-` chain names,
//!   `numgen random mod N vmap`, the `no-endpoint-services` / `no-endpoint-nodeports`
//!   elements commented with the service port and mapped to `goto reject-chain`) and the
//!   expected transactions of `pkg/proxy/nftables/proxier_test.go` (`baseRules`,
//!   `TestOverallNFTablesRules`).
//!
//! Differences on purpose: chain-name hashes are FNV-1a, not kube-proxy's SHA-256 (same
//! alphabet and length, so the shape is the same and names are stable per service port);
//! IPv4 only; no session affinity, LoadBalancer source ranges or `Local` traffic policy.
//!
//! Everything is deterministic: [`Cluster::generate`] draws from [`Rng`] and the text
//! depends only on the cluster, so the same seed gives the same bytes at any size (the
//! scale work of issue 14 reuses it at 10k services and more).

use crate::Rng;
use ipnet::{IpNet, Ipv4Net};
use model::host::{IfAddr, Interface, Route, RouteType, Scope};
use model::Host;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// A node's view of a cluster: its services and their ready endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The services, in the order their rules are written.
    pub services: Vec<Service>,
    /// The pod network (`--cluster-cidr`): traffic from outside it is masqueraded.
    pub pod_cidr: (Ipv4Addr, u8),
    /// The service network (`--service-cluster-ip-range`).
    pub service_cidr: (Ipv4Addr, u8),
    /// The node's address that accepts NodePort traffic (nftables mode's `nodeport-ips`).
    pub node_ip: Ipv4Addr,
}

/// A Kubernetes service.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Namespace.
    pub ns: String,
    /// Name.
    pub name: String,
    /// The ClusterIP.
    pub cluster_ip: Ipv4Addr,
    /// `spec.externalIPs`.
    pub external_ips: Vec<Ipv4Addr>,
    /// The service ports.
    pub ports: Vec<ServicePort>,
    /// The ready endpoints' addresses (every port is served by each).
    pub endpoints: Vec<Ipv4Addr>,
}

/// One port of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePort {
    /// The port's name (`http`).
    pub name: String,
    /// Its protocol.
    pub proto: Proto,
    /// The service port.
    pub port: u16,
    /// The endpoints' port.
    pub target_port: u16,
    /// The NodePort, for `type: NodePort` services.
    pub node_port: Option<u16>,
}

/// A service port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl Service {
    /// `ns/name:port`, as kube-proxy's comments name a service port.
    pub fn port_name(&self, port: &ServicePort) -> String {
        format!("{}/{}:{}", self.ns, self.name, port.name)
    }
}

/// The first NodePort of the default range (30000-32767).
const NODE_PORT_FIRST: u16 = 30000;
const NODE_PORT_LAST: u16 = 32767;
const NAMESPACES: &[&str] = &["default", "kube-system", "shop", "monitoring"];

impl Cluster {
    /// An empty cluster with kube-proxy's test conventions: pods 10.0.0.0/8, services
    /// 172.30.0.0/16, node 192.168.0.2.
    pub fn new() -> Cluster {
        Cluster {
            services: Vec::new(),
            pod_cidr: (Ipv4Addr::new(10, 0, 0, 0), 8),
            service_cidr: (Ipv4Addr::new(172, 30, 0, 0), 16),
            node_ip: Ipv4Addr::new(192, 168, 0, 2),
        }
    }

    /// `services` services drawn from `seed`: one or two ports each (mostly TCP), a
    /// NodePort on about a quarter while the range lasts, an external IP on a few, and
    /// zero to three endpoints (about one in six has none). Up to 65,000 services.
    pub fn generate(seed: u64, services: usize) -> Cluster {
        let mut rng = Rng::new(seed);
        let mut cluster = Cluster::new();
        let mut next_node_port = NODE_PORT_FIRST;
        let mut next_endpoint: u32 = u32::from(Ipv4Addr::new(10, 180, 0, 1));
        let mut next_external: u8 = 1;
        for i in 0..services.min(65_000) {
            let ip_index = u32::try_from(i).unwrap_or(0) + 1;
            let cluster_ip = Ipv4Addr::from(u32::from(cluster.service_cidr.0) + ip_index);
            let mut ports = Vec::new();
            let port_count = 1 + usize::from(rng.below(3) == 0);
            for p in 0..port_count {
                let (name, port, proto) = match (p, rng.below(5)) {
                    (0, 0) => ("dns", 53, Proto::Udp),
                    (0, 1) => ("https", 443, Proto::Tcp),
                    (0, _) => ("http", 80, Proto::Tcp),
                    (_, _) => ("metrics", 9100, Proto::Tcp),
                };
                let node_port =
                    (rng.below(4) == 0 && next_node_port <= NODE_PORT_LAST).then(|| {
                        next_node_port += 1;
                        next_node_port - 1
                    });
                let target_port = if rng.below(2) == 0 { port } else { 8000 + port };
                ports.push(ServicePort {
                    name: name.to_string(),
                    proto,
                    port,
                    target_port,
                    node_port,
                });
            }
            let external_ips = if rng.below(10) == 0 && next_external < 255 {
                next_external += 1;
                vec![Ipv4Addr::new(192, 168, 99, next_external - 1)]
            } else {
                Vec::new()
            };
            let endpoint_count = if rng.below(6) == 0 {
                0
            } else {
                1 + rng.range(0, 2) as usize
            };
            let endpoints = (0..endpoint_count)
                .map(|_| {
                    next_endpoint += 1;
                    Ipv4Addr::from(next_endpoint - 1)
                })
                .collect();
            cluster.services.push(Service {
                ns: rng.pick(NAMESPACES).to_string(),
                name: format!("svc{i}"),
                cluster_ip,
                external_ips,
                ports,
                endpoints,
            });
        }
        cluster
    }

    /// Every service port with its service.
    fn service_ports(&self) -> impl Iterator<Item = (&Service, &ServicePort)> {
        self.services
            .iter()
            .flat_map(|s| s.ports.iter().map(move |p| (s, p)))
    }

    fn pod_cidr_text(&self) -> String {
        format!("{}/{}", self.pod_cidr.0, self.pod_cidr.1)
    }
}

impl Default for Cluster {
    fn default() -> Cluster {
        Cluster::new()
    }
}

/// FNV-1a over `parts`, twice with different offsets, as 16 base32 letters: the shape of
/// kube-proxy's `portProtoHash` (base32 of a SHA-256, first 16 characters).
fn chain_hash(parts: &[&str]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let fnv = |offset: u64| {
        let mut h = offset;
        for part in parts {
            for b in part.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    };
    let words = [fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4)];
    (0..16)
        .map(|i| {
            let bits = words[i / 8] >> ((i % 8) * 5);
            char::from(ALPHABET[usize::try_from(bits & 31).unwrap_or(0)])
        })
        .collect()
}

/// `--probability` as `iptables-save` prints it: kube-proxy writes `1/(n-i)` with ten
/// decimals, the kernel keeps it as a fraction of 2^31, and iptables prints that back
/// with eleven.
fn probability(n: usize, i: usize) -> String {
    let written: f64 = format!("{:.10}", 1.0 / (n - i) as f64)
        .parse()
        .unwrap_or(0.0);
    let scale = f64::from(0x8000_0000u32);
    format!("{:.11}", (written * scale).round() / scale)
}

/// The chain names of one service port in the iptables mode.
struct IptNames {
    svc: String,
    ext: String,
}

fn ipt_names(s: &Service, p: &ServicePort) -> IptNames {
    let h = chain_hash(&[&s.port_name(p), p.proto.name()]);
    IptNames {
        svc: format!("KUBE-SVC-{h}"),
        ext: format!("KUBE-EXT-{h}"),
    }
}

fn ipt_sep(s: &Service, p: &ServicePort, ep: Ipv4Addr) -> String {
    let endpoint = format!("{ep}:{}", p.target_port);
    format!(
        "KUBE-SEP-{}",
        chain_hash(&[&s.port_name(p), p.proto.name(), &endpoint])
    )
}

/// A table of `iptables-save` output: declared chains (built-ins first, then the rest
/// sorted, as iptables-save lists them) and rules grouped by chain in that order.
struct SaveTable {
    name: &'static str,
    builtins: &'static [&'static str],
    chains: Vec<String>,
    rules: Vec<(String, String)>,
}

impl SaveTable {
    fn new(name: &'static str, builtins: &'static [&'static str]) -> SaveTable {
        SaveTable {
            name,
            builtins,
            chains: Vec::new(),
            rules: Vec::new(),
        }
    }

    fn chain(&mut self, name: impl Into<String>) {
        self.chains.push(name.into());
    }

    fn rule(&mut self, chain: &str, body: String) {
        self.rules.push((chain.to_string(), body));
    }

    fn write(mut self, out: &mut String) {
        self.chains.sort();
        self.chains.dedup();
        let _ = writeln!(out, "*{}", self.name);
        for b in self.builtins {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        for c in &self.chains {
            let _ = writeln!(out, ":{c} - [0:0]");
        }
        let order: Vec<&str> = self
            .builtins
            .iter()
            .copied()
            .chain(self.chains.iter().map(String::as_str))
            .collect();
        // A stable sort by the chain's place keeps each chain's rules in written order.
        let place = |c: &str| order.iter().position(|o| *o == c).unwrap_or(usize::MAX);
        self.rules.sort_by_key(|(c, _)| place(c));
        for (chain, body) in &self.rules {
            let _ = writeln!(out, "-A {chain} {body}");
        }
        out.push_str("COMMIT\n");
    }
}

const REJECT: &str = "-j REJECT --reject-with icmp-port-unreachable";

impl Cluster {
    /// The iptables mode: filter, nat and mangle as `iptables-save` lists them.
    pub fn iptables_save(&self) -> String {
        let mut filter = SaveTable::new("filter", &["INPUT", "FORWARD", "OUTPUT"]);
        let mut nat = SaveTable::new("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]);
        self.ipt_base(&mut filter, &mut nat);
        for (s, p) in self.service_ports() {
            if s.endpoints.is_empty() {
                self.ipt_no_endpoints(&mut filter, s, p);
            } else {
                self.ipt_service(&mut nat, s, p);
            }
        }
        nat.rule(
            "KUBE-SERVICES",
            "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS".into(),
        );
        let mut out = String::new();
        filter.write(&mut out);
        nat.write(&mut out);
        let mut mangle = SaveTable::new(
            "mangle",
            &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        );
        for c in [
            "KUBE-IPTABLES-HINT",
            "KUBE-KUBELET-CANARY",
            "KUBE-PROXY-CANARY",
        ] {
            mangle.chain(c);
        }
        mangle.write(&mut out);
        out
    }

    /// The chains and jumps every sync writes, whatever the services.
    fn ipt_base(&self, filter: &mut SaveTable, nat: &mut SaveTable) {
        for c in [
            "KUBE-EXTERNAL-SERVICES",
            "KUBE-FIREWALL",
            "KUBE-FORWARD",
            "KUBE-KUBELET-CANARY",
            "KUBE-NODEPORTS",
            "KUBE-PROXY-CANARY",
            "KUBE-PROXY-FIREWALL",
            "KUBE-SERVICES",
        ] {
            filter.chain(c);
        }
        let new = "-m conntrack --ctstate NEW -m comment --comment";
        let lb = format!("{new} \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL");
        let portals = format!("{new} \"kubernetes service portals\" -j KUBE-SERVICES");
        let external = format!(
            "{new} \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"
        );
        filter.rule("INPUT", lb.clone());
        filter.rule(
            "INPUT",
            "-m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS"
                .into(),
        );
        filter.rule("INPUT", external.clone());
        filter.rule("INPUT", "-j KUBE-FIREWALL".into());
        filter.rule("FORWARD", lb.clone());
        filter.rule(
            "FORWARD",
            "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD".into(),
        );
        filter.rule("FORWARD", portals.clone());
        filter.rule("FORWARD", external);
        filter.rule("OUTPUT", lb);
        filter.rule("OUTPUT", portals);
        filter.rule("OUTPUT", "-j KUBE-FIREWALL".into());
        filter.rule(
            "KUBE-FIREWALL",
            "! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP".into(),
        );
        filter.rule(
            "KUBE-FORWARD",
            "-m conntrack --ctstate INVALID -j DROP".into(),
        );
        filter.rule(
            "KUBE-FORWARD",
            "-m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT".into(),
        );
        filter.rule(
            "KUBE-FORWARD",
            "-m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into(),
        );
        for c in [
            "KUBE-KUBELET-CANARY",
            "KUBE-MARK-MASQ",
            "KUBE-NODEPORTS",
            "KUBE-POSTROUTING",
            "KUBE-PROXY-CANARY",
            "KUBE-SERVICES",
        ] {
            nat.chain(c);
        }
        let portals = "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES";
        nat.rule("PREROUTING", portals.into());
        nat.rule("OUTPUT", portals.into());
        nat.rule(
            "POSTROUTING",
            "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING".into(),
        );
        nat.rule("KUBE-MARK-MASQ", "-j MARK --set-xmark 0x4000/0x4000".into());
        nat.rule(
            "KUBE-POSTROUTING",
            "-m mark ! --mark 0x4000/0x4000 -j RETURN".into(),
        );
        nat.rule("KUBE-POSTROUTING", "-j MARK --set-xmark 0x4000/0x0".into());
        nat.rule(
            "KUBE-POSTROUTING",
            "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully".into(),
        );
    }

    /// A service port without endpoints: REJECTs in filter's KUBE-SERVICES (ClusterIP)
    /// and KUBE-EXTERNAL-SERVICES (external IPs, NodePort).
    fn ipt_no_endpoints(&self, filter: &mut SaveTable, s: &Service, p: &ServicePort) {
        let sp = s.port_name(p);
        let proto = p.proto.name();
        let comment = format!("-m comment --comment \"{sp} has no endpoints\"");
        filter.rule(
            "KUBE-SERVICES",
            format!(
                "-d {}/32 -p {proto} {comment} -m {proto} --dport {} {REJECT}",
                s.cluster_ip, p.port
            ),
        );
        for ip in &s.external_ips {
            filter.rule(
                "KUBE-EXTERNAL-SERVICES",
                format!(
                    "-d {ip}/32 -p {proto} {comment} -m {proto} --dport {} {REJECT}",
                    p.port
                ),
            );
        }
        if let Some(np) = p.node_port {
            filter.rule(
                "KUBE-EXTERNAL-SERVICES",
                format!("-p {proto} {comment} -m addrtype --dst-type LOCAL -m {proto} --dport {np} {REJECT}"),
            );
        }
    }

    /// A service port with endpoints: its KUBE-SVC, KUBE-EXT and KUBE-SEP chains in nat.
    fn ipt_service(&self, nat: &mut SaveTable, s: &Service, p: &ServicePort) {
        let sp = s.port_name(p);
        let proto = p.proto.name();
        let names = ipt_names(s, p);
        let external = p.node_port.is_some() || !s.external_ips.is_empty();
        nat.chain(names.svc.clone());
        nat.rule(
            "KUBE-SERVICES",
            format!(
                "-d {}/32 -p {proto} -m comment --comment \"{sp} cluster IP\" -m {proto} --dport {} -j {}",
                s.cluster_ip, p.port, names.svc
            ),
        );
        if external {
            nat.chain(names.ext.clone());
            nat.rule(
                &names.ext,
                format!("-m comment --comment \"masquerade traffic for {sp} external destinations\" -j KUBE-MARK-MASQ"),
            );
            nat.rule(&names.ext, format!("-j {}", names.svc));
        }
        for ip in &s.external_ips {
            nat.rule(
                "KUBE-SERVICES",
                format!(
                    "-d {ip}/32 -p {proto} -m comment --comment \"{sp} external IP\" -m {proto} --dport {} -j {}",
                    p.port, names.ext
                ),
            );
        }
        if let Some(np) = p.node_port {
            nat.rule(
                "KUBE-NODEPORTS",
                format!(
                    "-p {proto} -m comment --comment \"{sp}\" -m {proto} --dport {np} -j {}",
                    names.ext
                ),
            );
        }
        nat.rule(
            &names.svc,
            format!(
                "! -s {} -d {}/32 -p {proto} -m comment --comment \"{sp} cluster IP\" -m {proto} --dport {} -j KUBE-MARK-MASQ",
                self.pod_cidr_text(),
                s.cluster_ip,
                p.port
            ),
        );
        let n = s.endpoints.len();
        for (i, ep) in s.endpoints.iter().enumerate() {
            let sep = ipt_sep(s, p, *ep);
            let statistic = if i + 1 < n {
                format!(
                    " -m statistic --mode random --probability {}",
                    probability(n, i)
                )
            } else {
                String::new()
            };
            nat.rule(
                &names.svc,
                format!(
                    "-m comment --comment \"{sp} -> {ep}:{}\"{statistic} -j {sep}",
                    p.target_port
                ),
            );
            nat.chain(sep.clone());
            nat.rule(
                &sep,
                format!("-s {ep}/32 -m comment --comment \"{sp}\" -j KUBE-MARK-MASQ"),
            );
            nat.rule(
                &sep,
                format!(
                    "-p {proto} -m comment --comment \"{sp}\" -m {proto} -j DNAT --to-destination {ep}:{}",
                    p.target_port
                ),
            );
        }
    }
}

/// The nftables mode's chain names of one service port.
struct NftNames {
    service: String,
    external: String,
}

/// `ns/name/proto/port`, the part of kube-proxy's nft chain names after the hash.
fn nft_base(s: &Service, p: &ServicePort) -> String {
    format!("{}/{}/{}/{}", s.ns, s.name, p.proto.name(), p.name)
}

fn nft_names(s: &Service, p: &ServicePort) -> NftNames {
    let base = nft_base(s, p);
    let h = &chain_hash(&[&base])[..8];
    NftNames {
        service: format!("service-{h}-{base}"),
        external: format!("external-{h}-{base}"),
    }
}

fn nft_endpoint(s: &Service, p: &ServicePort, ep: Ipv4Addr) -> String {
    let full = format!("{}__{ep}/{}", nft_base(s, p), p.target_port);
    format!("endpoint-{}-{full}", &chain_hash(&[&full])[..8])
}

/// An nft set or map as `nft list ruleset` prints it.
struct NftSet {
    kind: &'static str,
    name: &'static str,
    ty: &'static str,
    comment: &'static str,
    elements: Vec<String>,
}

impl NftSet {
    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "\t{} {} {{", self.kind, self.name);
        let _ = writeln!(out, "\t\ttype {}", self.ty);
        let _ = writeln!(out, "\t\tcomment \"{}\"", self.comment);
        if !self.elements.is_empty() {
            let _ = writeln!(
                out,
                "\t\telements = {{ {} }}",
                self.elements.join(",\n\t\t\t     ")
            );
        }
        out.push_str("\t}\n\n");
    }
}

/// A chain as `nft list ruleset` prints it: an optional hook line, comment and rules.
fn nft_chain(out: &mut String, name: &str, head: &[&str], rules: &[String]) {
    let _ = writeln!(out, "\tchain {name} {{");
    for h in head {
        let _ = writeln!(out, "\t\t{h}");
    }
    for r in rules {
        let _ = writeln!(out, "\t\t{r}");
    }
    out.push_str("\t}\n");
}

impl Cluster {
    /// The nftables mode: the `ip kube-proxy` table as `nft list ruleset` lists it.
    pub fn nft_ruleset(&self) -> String {
        let mut sets = self.nft_sets();
        let mut chains = String::new();
        for (s, p) in self.service_ports() {
            if s.endpoints.is_empty() {
                self.nft_no_endpoints(&mut sets, s, p);
            } else {
                self.nft_service(&mut sets, &mut chains, s, p);
            }
        }
        let mut out = String::from("table ip kube-proxy {\n\tcomment \"rules for kube-proxy\"\n");
        for set in &sets {
            set.write(&mut out);
        }
        self.nft_base_chains(&mut out);
        out.push_str(&chains);
        out.push_str("}\n");
        out
    }

    /// The sets and maps of every sync, with the elements every sync has.
    fn nft_sets(&self) -> Vec<NftSet> {
        let verdict_map = |name, ty, comment| NftSet {
            kind: "map",
            name,
            ty,
            comment,
            elements: Vec::new(),
        };
        let by_ip = "ipv4_addr . inet_proto . inet_service : verdict";
        let by_port = "inet_proto . inet_service : verdict";
        vec![
            NftSet {
                kind: "set",
                name: "cluster-ips",
                ty: "ipv4_addr",
                comment: "Active ClusterIPs",
                elements: Vec::new(),
            },
            NftSet {
                kind: "set",
                name: "nodeport-ips",
                ty: "ipv4_addr",
                comment: "IPs that accept NodePort traffic",
                elements: vec![self.node_ip.to_string()],
            },
            verdict_map(
                "firewall-ips",
                by_ip,
                "destinations that are subject to LoadBalancerSourceRanges",
            ),
            verdict_map(
                "no-endpoint-nodeports",
                by_port,
                "vmap to drop or reject packets to service nodeports with no endpoints",
            ),
            verdict_map(
                "no-endpoint-services",
                by_ip,
                "vmap to drop or reject packets to services with no endpoints",
            ),
            verdict_map(
                "service-ips",
                by_ip,
                "ClusterIP, ExternalIP and LoadBalancer IP traffic",
            ),
            verdict_map("service-nodeports", by_port, "NodePort traffic"),
        ]
    }

    fn nft_set<'a>(sets: &'a mut [NftSet], name: &str) -> &'a mut Vec<String> {
        let i = sets.iter().position(|s| s.name == name).unwrap_or(0);
        &mut sets[i].elements
    }

    fn add_cluster_ip(sets: &mut [NftSet], ip: Ipv4Addr) {
        let ips = Self::nft_set(sets, "cluster-ips");
        let ip = ip.to_string();
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }

    fn nft_no_endpoints(&self, sets: &mut [NftSet], s: &Service, p: &ServicePort) {
        let sp = s.port_name(p);
        let proto = p.proto.name();
        Self::add_cluster_ip(sets, s.cluster_ip);
        let reject = format!("comment \"{sp}\" : goto reject-chain");
        let by_ip = Self::nft_set(sets, "no-endpoint-services");
        for ip in std::iter::once(&s.cluster_ip).chain(&s.external_ips) {
            by_ip.push(format!("{ip} . {proto} . {} {reject}", p.port));
        }
        if let Some(np) = p.node_port {
            Self::nft_set(sets, "no-endpoint-nodeports").push(format!("{proto} . {np} {reject}"));
        }
    }

    fn nft_service(&self, sets: &mut [NftSet], chains: &mut String, s: &Service, p: &ServicePort) {
        let proto = p.proto.name();
        let names = nft_names(s, p);
        Self::add_cluster_ip(sets, s.cluster_ip);
        let endpoints: Vec<String> = s
            .endpoints
            .iter()
            .map(|ep| nft_endpoint(s, p, *ep))
            .collect();
        let vmap: Vec<String> = endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{i} : goto {e}"))
            .collect();
        nft_chain(
            chains,
            &names.service,
            &[],
            &[
                format!(
                    "ip daddr {} ip saddr != {} jump mark-for-masquerade",
                    s.cluster_ip,
                    self.pod_cidr_text()
                ),
                format!(
                    "numgen random mod {} vmap {{ {} }}",
                    endpoints.len(),
                    vmap.join(", ")
                ),
            ],
        );
        Self::nft_set(sets, "service-ips").push(format!(
            "{} . {proto} . {} : goto {}",
            s.cluster_ip, p.port, names.service
        ));
        if p.node_port.is_some() || !s.external_ips.is_empty() {
            nft_chain(
                chains,
                &names.external,
                &[],
                &[
                    "jump mark-for-masquerade".to_string(),
                    format!("goto {}", names.service),
                ],
            );
            for ip in &s.external_ips {
                Self::nft_set(sets, "service-ips").push(format!(
                    "{ip} . {proto} . {} : goto {}",
                    p.port, names.external
                ));
            }
            if let Some(np) = p.node_port {
                Self::nft_set(sets, "service-nodeports")
                    .push(format!("{proto} . {np} : goto {}", names.external));
            }
        }
        for (ep, chain) in s.endpoints.iter().zip(&endpoints) {
            nft_chain(
                chains,
                chain,
                &[],
                &[
                    format!("ip saddr {ep} jump mark-for-masquerade"),
                    format!("meta l4proto {proto} dnat to {ep}:{}", p.target_port),
                ],
            );
        }
    }

    /// The chains every sync writes (`setupNFTables`), in kube-proxy's order.
    fn nft_base_chains(&self, out: &mut String) {
        let new = "ct state new jump";
        let base: &[(&str, &[&str], Vec<String>)] = &[
            (
                "cluster-ips-check",
                &[],
                vec![
                    "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"".into(),
                    format!(
                        "ip daddr {}/{} drop comment \"Drop traffic to unallocated ClusterIPs\"",
                        self.service_cidr.0, self.service_cidr.1
                    ),
                ],
            ),
            (
                "filter-prerouting-pre-dnat",
                &["type filter hook prerouting priority dstnat - 10; policy accept;"],
                vec![format!("{new} firewall-check")],
            ),
            (
                "filter-output-pre-dnat",
                &["type filter hook output priority -110; policy accept;"],
                vec![format!("{new} firewall-check")],
            ),
            (
                "filter-forward",
                &["type filter hook forward priority filter; policy accept;"],
                vec![
                    format!("{new} service-endpoints-check"),
                    format!("{new} cluster-ips-check"),
                ],
            ),
            (
                "filter-input",
                &["type filter hook input priority filter; policy accept;"],
                vec![
                    format!("{new} nodeport-endpoints-check"),
                    format!("{new} service-endpoints-check"),
                ],
            ),
            (
                "filter-output",
                &["type filter hook output priority filter; policy accept;"],
                vec![
                    format!("{new} service-endpoints-check"),
                    format!("{new} cluster-ips-check"),
                ],
            ),
            (
                "firewall-check",
                &[],
                vec!["ip daddr . meta l4proto . th dport vmap @firewall-ips".into()],
            ),
            (
                "mark-for-masquerade",
                &[],
                vec!["meta mark set meta mark | 0x00004000".into()],
            ),
            (
                "masquerading",
                &[],
                vec![
                    "meta mark & 0x00004000 == 0x00000000 return".into(),
                    "meta mark set meta mark ^ 0x00004000".into(),
                    "masquerade fully-random".into(),
                ],
            ),
            (
                "nat-output",
                &["type nat hook output priority -100; policy accept;"],
                vec!["jump services".into()],
            ),
            (
                "nat-postrouting",
                &["type nat hook postrouting priority srcnat; policy accept;"],
                vec!["jump masquerading".into()],
            ),
            (
                "nat-prerouting",
                &["type nat hook prerouting priority dstnat; policy accept;"],
                vec!["jump services".into()],
            ),
            (
                "nodeport-endpoints-check",
                &[],
                vec!["ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports".into()],
            ),
            (
                "reject-chain",
                &["comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\""],
                vec!["reject".into()],
            ),
            (
                "services",
                &[],
                vec![
                    "ip daddr . meta l4proto . th dport vmap @service-ips".into(),
                    "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports".into(),
                ],
            ),
            (
                "service-endpoints-check",
                &[],
                vec!["ip daddr . meta l4proto . th dport vmap @no-endpoint-services".into()],
            ),
        ];
        for (i, (name, head, rules)) in base.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            nft_chain(out, name, head, rules);
        }
    }
}

/// A route of the main table as `ip route` lists a connected or default one.
fn route(dst: &str, gateway: Option<&str>, dev: &str, src: Option<&str>) -> Route {
    Route {
        table: 254,
        dst: dst
            .parse()
            .unwrap_or_else(|_| IpNet::V4(Ipv4Net::default())),
        route_type: RouteType::Unicast,
        gateway: gateway.and_then(|g| g.parse().ok()),
        dev: Some(dev.into()),
        prefsrc: src.and_then(|s| s.parse().ok()),
        metric: 0,
        scope: if gateway.is_some() {
            Scope::Universe
        } else {
            Scope::Link
        },
        protocol: gateway.is_none().then(|| "kernel".to_string()),
        nexthops: vec![],
        text: match gateway {
            Some(g) => format!("default via {g} dev {dev}"),
            None => format!("{dst} dev {dev} proto kernel scope link"),
        },
    }
}

impl Cluster {
    /// The node this cluster's rules are on: the pods on `cni0` (the pod network, the
    /// node's first address in it), the node's address on `eth0` (a /24), the default
    /// route out of `eth0` (a ClusterIP is routed like any address until DNAT), and
    /// forwarding on.
    pub fn node_host(&self) -> Host {
        let mut h = Host::default();
        let pod_gw = Ipv4Addr::from(u32::from(self.pod_cidr.0) + 1);
        let node_net = Ipv4Addr::from(u32::from(self.node_ip) & 0xffff_ff00);
        let gateway = Ipv4Addr::from(u32::from(node_net) + 1);
        for (name, addr, prefix_len, net) in [
            ("eth0", self.node_ip, 24, node_net),
            ("cni0", pod_gw, self.pod_cidr.1, self.pod_cidr.0),
        ] {
            h.interfaces.push(Interface {
                name: name.into(),
                up: true,
                addrs: vec![IfAddr {
                    addr: addr.into(),
                    prefix_len,
                    scope: Scope::Universe,
                    broadcast: None,
                    temporary: false,
                    secondary: false,
                    deprecated: false,
                    dad: model::host::DadState::Done,
                }],
                ..Interface::default()
            });
            let dst = format!("{net}/{prefix_len}");
            h.routes
                .push(route(&dst, None, name, Some(&addr.to_string())));
        }
        let gateway = gateway.to_string();
        h.routes
            .push(route("0.0.0.0/0", Some(&gateway), "eth0", None));
        h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
        h.known.addresses = true;
        h.known.routes = true;
        h.known.sysctls = true;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_text() {
        let a = Cluster::generate(7, 40);
        let b = Cluster::generate(7, 40);
        assert_eq!(a.iptables_save(), b.iptables_save());
        assert_eq!(a.nft_ruleset(), b.nft_ruleset());
        assert_ne!(a, Cluster::generate(8, 40));
    }

    #[test]
    fn probabilities_are_printed_as_iptables_save_prints_them() {
        // kube-proxy writes 0.5000000000 and 0.3333333333; iptables-save prints them
        // back from the kernel's fraction of 2^31 (seen in a namespace: 0.50000000000).
        assert_eq!(probability(2, 0), "0.50000000000");
        assert_eq!(probability(3, 0), "0.33333333349");
        assert_eq!(probability(3, 1), "0.50000000000");
    }

    #[test]
    fn chain_hashes_have_kube_proxy_shape_and_differ_per_port() {
        let a = chain_hash(&["ns1/svc1:p80", "tcp"]);
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_ne!(a, chain_hash(&["ns1/svc1:p80", "udp"]));
    }

    #[test]
    fn generated_clusters_have_services_with_and_without_endpoints() {
        let c = Cluster::generate(1, 200);
        assert_eq!(c.services.len(), 200);
        let empty = c.services.iter().filter(|s| s.endpoints.is_empty()).count();
        assert!(
            empty > 10 && empty < 100,
            "{empty} of 200 without endpoints"
        );
        let node_ports: Vec<u16> = c.service_ports().filter_map(|(_, p)| p.node_port).collect();
        let mut unique = node_ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), node_ports.len(), "NodePorts are unique");
    }
}
