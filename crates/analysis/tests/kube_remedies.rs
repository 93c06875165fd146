//! kube-proxy on generated rulesets in its real shape (both modes): owners and causes.
//! A packet to a service port with no endpoints is rejected by kube-proxy's no-endpoints
//! rule; the owner is kube-proxy's `NoEndpoints(ns/name:port)`, the remedy the cause in
//! the cluster (`kubectl` to see the EndpointSlices and the selector), never a rule in
//! kube-proxy's chains or table; the same for both modes. A packet to a service with
//! endpoints is DNATed to one of them and forwarded.

#![allow(clippy::print_stderr)]

use analysis::remedy::{remedies, Breadth, Language, Remedies, Step};
use engine::{Fate, Options};
use model::host::{IfAddr, Interface, Route, RouteType, Scope};
use model::owner::{KubeRole, KubeService};
use model::tool_config::ToolConfig;
use model::{Family, Host, Packet, Role, Ruleset, SourceFile, TcpFlags, Tool, L4};
use std::collections::BTreeSet;
use std::net::IpAddr;
use testgen::kube::{Cluster, Proto};

/// A node: pods on cni0 (10.0.0.0/8), the node on eth0 (192.168.0.2/24), default route
/// out of eth0, forwarding on.
fn node() -> Host {
    let mut h = Host::default();
    for (name, addr, prefix_len, net) in [
        ("eth0", "192.168.0.2", 24, "192.168.0.0/24"),
        ("cni0", "10.0.0.1", 8, "10.0.0.0/8"),
    ] {
        h.interfaces.push(Interface {
            name: name.into(),
            up: true,
            addrs: vec![IfAddr {
                addr: addr.parse().unwrap(),
                prefix_len,
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
            }],
            ..Interface::default()
        });
        h.routes.push(route(net, None, name, addr));
    }
    h.routes.push(route(
        "0.0.0.0/0",
        Some("192.168.0.1"),
        "eth0",
        "192.168.0.2",
    ));
    h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
    h.known.addresses = true;
    h.known.routes = true;
    h.known.sysctls = true;
    h
}

fn route(dst: &str, via: Option<&str>, dev: &str, src: &str) -> Route {
    Route {
        table: 254,
        dst: dst.parse().unwrap(),
        route_type: RouteType::Unicast,
        gateway: via.map(|v| v.parse().unwrap()),
        dev: Some(dev.into()),
        prefsrc: Some(src.parse().unwrap()),
        metric: 0,
        scope: if via.is_some() {
            Scope::Universe
        } else {
            Scope::Link
        },
        protocol: None,
        nexthops: vec![],
        text: format!("{dst} dev {dev}"),
    }
}

fn cluster() -> Cluster {
    Cluster::generate(11, 120)
}

fn iptables_mode(c: &Cluster) -> Ruleset {
    let src = SourceFile::new("kube.rules", c.iptables_save());
    let mut rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("parses");
    owners::recognise(&mut rs, &ToolConfig::default());
    rs
}

fn nft_mode(c: &Cluster) -> Ruleset {
    let src = SourceFile::new("kube.nft", c.nft_ruleset());
    let mut rs = frontends::nft::parse_text(&src).expect("parses");
    owners::recognise(&mut rs, &ToolConfig::default());
    rs
}

/// A first packet from a pod to `dst:port`.
fn from_pod(dst: IpAddr, port: u16, proto: Proto) -> Packet {
    let l4 = match proto {
        Proto::Tcp => L4::Tcp {
            sport: 40000,
            dport: port,
            flags: TcpFlags::from_letters("S").unwrap(),
        },
        Proto::Udp => L4::Udp {
            sport: 40000,
            dport: port,
        },
    };
    let mut p = Packet::new("10.0.0.2".parse().unwrap(), dst, l4);
    p.iif = Some("cni0".into());
    p
}

fn remedy_for(rs: &Ruleset, packet: &Packet) -> (Fate, Option<Remedies>) {
    let host = node();
    let options = Options::default();
    let outcome = engine::simulate(rs, &host, packet, &options);
    let fate = outcome.decided_fate().cloned().expect("decided");
    let r = remedies(
        rs,
        &host,
        packet,
        &outcome,
        &options,
        &ToolConfig::default(),
    );
    (fate, r)
}

fn kube_proxy_role(o: Option<&model::Owner>) -> Option<&KubeRole> {
    match o {
        Some(model::Owner {
            tool: Tool::KubeProxy,
            role: Role::Kube(r),
            ..
        }) => Some(r),
        _ => None,
    }
}

/// No step of the ladder writes into kube-proxy's chains or table.
fn assert_nothing_into_kube_proxy(r: &Remedies) {
    for remedy in &r.ladder {
        assert!(
            remedy.kernel_rules.is_empty(),
            "a kernel rule is offered: {remedy:?}"
        );
        for step in &remedy.steps {
            let text = format!("{step:?}");
            assert!(
                !text.contains("KUBE-") && !text.contains("kube-proxy"),
                "a step writes into kube-proxy's rules: {text}"
            );
        }
    }
}

#[test]
fn a_service_without_endpoints_is_its_cause_in_both_modes() {
    let c = cluster();
    let (ipt, nft) = (iptables_mode(&c), nft_mode(&c));
    let mut checked = 0;
    for s in c.services.iter().filter(|s| s.endpoints.is_empty()) {
        for p in &s.ports {
            let packet = from_pod(IpAddr::V4(s.cluster_ip), p.port, p.proto);
            let expected = KubeRole::NoEndpoints(KubeService {
                name: s.port_name(p),
            });
            for (mode, rs) in [("iptables", &ipt), ("nftables", &nft)] {
                let (fate, r) = remedy_for(rs, &packet);
                assert!(
                    matches!(fate, Fate::Rejected { .. }),
                    "{mode} {}: {fate:?}",
                    s.port_name(p)
                );
                let r = r.unwrap_or_else(|| panic!("{mode}: no remedies"));
                assert_eq!(kube_proxy_role(r.owner.as_ref()), Some(&expected), "{mode}");
                let primary = r.primary().expect("a primary remedy");
                assert_eq!(primary.breadth, Breadth::Cause, "{mode}");
                assert_eq!(primary.language, Language::Kubernetes, "{mode}");
                assert_eq!(
                    primary.steps,
                    vec![
                        Step::Run(format!(
                            "kubectl -n {} get endpointslices -l kubernetes.io/service-name={}",
                            s.ns, s.name
                        )),
                        Step::Run(format!("kubectl -n {} describe service {}", s.ns, s.name)),
                    ],
                    "{mode}"
                );
                assert_nothing_into_kube_proxy(&r);
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} cases");
}

#[test]
fn a_service_with_endpoints_is_dnated_and_forwarded() {
    let c = cluster();
    let ipt = iptables_mode(&c);
    let mut checked = 0;
    for s in c.services.iter().filter(|s| !s.endpoints.is_empty()) {
        let p = &s.ports[0];
        let packet = from_pod(IpAddr::V4(s.cluster_ip), p.port, p.proto);
        let outcome = engine::simulate(&ipt, &node(), &packet, &Options::default());
        let fate = outcome.decided_fate().cloned();
        assert!(
            matches!(&fate, Some(Fate::Forwarded { oif, .. }) if oif == "cni0"),
            "{}: {fate:?}",
            s.port_name(p)
        );
        let dst = outcome.primary().final_packet.dst;
        assert!(
            s.endpoints.iter().any(|e| IpAddr::V4(*e) == dst),
            "{}: DNATed to {dst}, not an endpoint",
            s.port_name(p)
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} services");
}

/// Every kube-proxy chain is owned by kube-proxy, and the service ports are named.
#[test]
fn every_kube_proxy_chain_is_owned_and_services_are_named() {
    let c = cluster();
    let names = |with_endpoints_only: bool| -> BTreeSet<String> {
        c.services
            .iter()
            .filter(|s| !with_endpoints_only || !s.endpoints.is_empty())
            .flat_map(|s| s.ports.iter().map(move |p| s.port_name(p)))
            .collect()
    };
    for (mode, rs) in [("iptables", iptables_mode(&c)), ("nftables", nft_mode(&c))] {
        let mut named = BTreeSet::new();
        let mut chain_named = BTreeSet::new();
        let mut chains = 0;
        for t in &rs.tables {
            for ch in &t.chains {
                if ch.name.starts_with("KUBE-") || t.name == "kube-proxy" {
                    chains += 1;
                    let o = ch.origin.owner.as_ref();
                    assert_eq!(
                        o.map(|o| &o.tool),
                        Some(&Tool::KubeProxy),
                        "{mode}: {}",
                        ch.name
                    );
                    if let Some(KubeRole::Service(s)) = kube_proxy_role(o) {
                        chain_named.insert(s.name.clone());
                    }
                }
                for r in &ch.rules {
                    if let Some(
                        KubeRole::Service(s)
                        | KubeRole::NoEndpoints(s)
                        | KubeRole::NoLocalEndpoints(s),
                    ) = kube_proxy_role(r.origin.owner.as_ref())
                    {
                        named.insert(s.name.clone());
                    }
                }
            }
        }
        eprintln!(
            "{mode}: {chains} kube-proxy chains owned, {} service ports named",
            named.len()
        );
        assert_eq!(
            named,
            names(false),
            "{mode}: every service port is named by a rule's owner"
        );
        assert_eq!(
            chain_named,
            names(true),
            "{mode}: service chains name their service port"
        );
    }
}
