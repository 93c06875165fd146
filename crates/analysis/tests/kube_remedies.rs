//! kube-proxy on generated rulesets in its real shape (both modes): owners and causes.
//! A packet to a service port with no endpoints is rejected by kube-proxy's no-endpoints
//! rule; the owner is kube-proxy's `NoEndpoints(ns/name:port)`, the remedy the cause in
//! the cluster (`kubectl` to see the EndpointSlices and the selector), never a rule in
//! kube-proxy's chains or table; the same for both modes. A packet to a service with
//! endpoints is DNATed to one of them and forwarded.

#![allow(clippy::print_stderr)]

use analysis::remedy::{remedies, Breadth, Language, Remedies, Step};
use engine::{Fate, Options};
use model::host::{Interface, Route, RouteType, Scope, Socket};
use model::owner::{KubeRole, KubeService};
use model::packet::IpProto;
use model::tool_config::ToolConfig;
use model::{Family, Host, Packet, Role, Ruleset, SourceFile, TcpFlags, Tool, L4};
use owners::kube::node_ports::{self, NodePortClash};
use std::collections::BTreeSet;
use std::net::IpAddr;
use testgen::kube::{Cluster, Proto};

/// The node the generated rules are on (pods on cni0, eth0, default route).
fn node() -> Host {
    cluster().node_host()
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

/// A Calico node's filter table as Felix writes it, by hand from Calico's sources
/// (projectcalico/calico `felix/rules/`): `static.go` (`cali-FORWARD`: clear the policy
/// marks, `-i cali+` → `cali-from-wl-dispatch`, `-o cali+` → `cali-to-wl-dispatch`, then
/// the host-endpoint and `cali-cidr-block` jumps; the rules appended to `FORWARD`: "Policy
/// explicitly accepted packet."), `dispatch.go` (a `-g` per workload interface, then
/// "Unknown interface" DROP), `endpoints.go` (`cali-tw-*` / `cali-fw-*`: conntrack,
/// clear the accept and pass marks, "Start of tier default", a jump to each policy's
/// `cali-pi-*` while the pass mark is clear, "Return if policy accepted", "End of tier
/// default. Drop if no policies passed packet", then the profiles with "Return if profile
/// accepted" and "Drop if no profiles matched") and `policy.go` (a policy chain's first
/// rule carries the comment "Policy NS/NAME ingress"; allow sets the accept mark
/// 0x10000 and returns, deny is DROP). Every rule has its `cali:` hash comment first. The
/// marks are Felix's defaults (accept 0x10000, pass 0x20000 of `IptablesMarkMask`).
const CALICO: &str = r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:cali-FORWARD - [0:0]
:cali-cidr-block - [0:0]
:cali-from-hep-forward - [0:0]
:cali-from-wl-dispatch - [0:0]
:cali-fw-cali9f8e7d6c5b4 - [0:0]
:cali-pi-_4U8pcs6B6KD6BqBmFcMV - [0:0]
:cali-pi-_Kx2yQvGZ0ohM0iNSw8rT - [0:0]
:cali-pri-kns.shop - [0:0]
:cali-pro-kns.shop - [0:0]
:cali-to-hep-forward - [0:0]
:cali-to-wl-dispatch - [0:0]
:cali-tw-cali1a2b3c4d5e6 - [0:0]
:cali-tw-cali7c6d5e4f3a2 - [0:0]
-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT
-A FORWARD -m comment --comment "cali:mp77cMpurHhyjLrM" -j MARK --set-xmark 0x10000/0x10000
-A cali-FORWARD -m comment --comment "cali:vjrMJCRpqwy5oRoX" -j MARK --set-xmark 0x0/0xe0000
-A cali-FORWARD -m comment --comment "cali:A_sPAO0mcxbT9mOV" -m mark --mark 0x0/0x10000 -j cali-from-hep-forward
-A cali-FORWARD -i cali+ -m comment --comment "cali:8ZoYfO5HKXWbB3pk" -j cali-from-wl-dispatch
-A cali-FORWARD -o cali+ -m comment --comment "cali:jdEuaPBe14V2hutn" -j cali-to-wl-dispatch
-A cali-FORWARD -m comment --comment "cali:12bc6HljsMKsmfr-" -j cali-to-hep-forward
-A cali-FORWARD -m comment --comment "cali:NOSxoaGx8OIstr1z" -j cali-cidr-block
-A cali-from-wl-dispatch -i cali9f8e7d6c5b4 -m comment --comment "cali:Ug5hg9Bb1_ZwM7Ay" -g cali-fw-cali9f8e7d6c5b4
-A cali-from-wl-dispatch -m comment --comment "cali:kh7c2W9f3LkJ8ReV" -m comment --comment "Unknown interface" -j DROP
-A cali-fw-cali9f8e7d6c5b4 -m comment --comment "cali:Dxy6TPRsYl7kH0hV" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A cali-fw-cali9f8e7d6c5b4 -m comment --comment "cali:3s9ZmbJkS3Lh8ySn" -m conntrack --ctstate INVALID -j DROP
-A cali-fw-cali9f8e7d6c5b4 -m comment --comment "cali:mDe8-cbQY0kLUTcN" -j MARK --set-xmark 0x0/0x30000
-A cali-fw-cali9f8e7d6c5b4 -m comment --comment "cali:W3JhePpsEf7bdsqZ" -j cali-pro-kns.shop
-A cali-fw-cali9f8e7d6c5b4 -m comment --comment "cali:aoLN5d1Qp_7YGTLO" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-fw-cali9f8e7d6c5b4 -m comment --comment "cali:Kb1aWCoqsZqM-tGm" -m comment --comment "Drop if no profiles matched" -j DROP
-A cali-pi-_4U8pcs6B6KD6BqBmFcMV -p tcp -m comment --comment "cali:1Z4lDpzKZLy6f6xv" -m comment --comment "Policy shop/knp.default.allow-frontend ingress" -s 10.65.1.0/24 -m multiport --dports 8080 -j MARK --set-xmark 0x10000/0x10000
-A cali-pi-_4U8pcs6B6KD6BqBmFcMV -m comment --comment "cali:G8rRmzQ9Z8V0w3Fh" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-pi-_Kx2yQvGZ0ohM0iNSw8rT -p tcp -m comment --comment "cali:pR6p0PZ3ZcW1Xq1Y" -m comment --comment "Policy shop/default.deny-db ingress" -m multiport --dports 5432 -j DROP
-A cali-pi-_Kx2yQvGZ0ohM0iNSw8rT -p tcp -m comment --comment "cali:Zb8Nq3kq2pV9dR0e" -m multiport --dports 5432,6432 -j MARK --set-xmark 0x10000/0x10000
-A cali-pi-_Kx2yQvGZ0ohM0iNSw8rT -m comment --comment "cali:nC3rTq1y0dWmXoY7" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-pri-kns.shop -m comment --comment "cali:7T5JmZyKIhYjbnnC" -m comment --comment "Profile kns.shop ingress" -j MARK --set-xmark 0x10000/0x10000
-A cali-pri-kns.shop -m comment --comment "cali:fBs2RZV0z8lXvt0G" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-pro-kns.shop -m comment --comment "cali:vIgpW4t4xkR3WHkY" -m comment --comment "Profile kns.shop egress" -j MARK --set-xmark 0x10000/0x10000
-A cali-pro-kns.shop -m comment --comment "cali:-v-Ma-XoMKg_pdtI" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-to-wl-dispatch -o cali1a2b3c4d5e6 -m comment --comment "cali:hxw4QnXo8m5bqQXd" -g cali-tw-cali1a2b3c4d5e6
-A cali-to-wl-dispatch -o cali7c6d5e4f3a2 -m comment --comment "cali:Rr6mgbX1JkgLq7Tz" -g cali-tw-cali7c6d5e4f3a2
-A cali-to-wl-dispatch -m comment --comment "cali:ZrDRt6tFqC7j4cnp" -m comment --comment "Unknown interface" -j DROP
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:sTn1Zr0e2gGRUx0J" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:bD6cQvHzzH2gFs8o" -m conntrack --ctstate INVALID -j DROP
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:q0rQ2xJ9k3eTrq8L" -j MARK --set-xmark 0x0/0x30000
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:4qD3aVj1Lr1Ib2pQ" -m comment --comment "Start of tier default" -j MARK --set-xmark 0x0/0x20000
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:fRk0xP9hXyM5c3qW" -m mark --mark 0x0/0x20000 -j cali-pi-_4U8pcs6B6KD6BqBmFcMV
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:Tf2s8Y4gZ0nQk7vM" -m comment --comment "Return if policy accepted" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:8iW0nXv3kQ9pL6eD" -m comment --comment "End of tier default. Drop if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:yG1p2Y7jD0rVk4aF" -j cali-pri-kns.shop
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:Ox7vLfzKq2m3Rr5H" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-tw-cali1a2b3c4d5e6 -m comment --comment "cali:k3Ne7q0Vb1JpYw9S" -m comment --comment "Drop if no profiles matched" -j DROP
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:dA7jL0x4P2mHq8Wn" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:Yp1Q8cV0zX3nRk6B" -m conntrack --ctstate INVALID -j DROP
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:Wm5r0Hq2Lk8Jc4Pz" -j MARK --set-xmark 0x0/0x30000
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:Nq9z3Xb6Vt1Ye0Ks" -m comment --comment "Start of tier default" -j MARK --set-xmark 0x0/0x20000
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:Gh4k8Ue2Rr7Pm1Zt" -m mark --mark 0x0/0x20000 -j cali-pi-_Kx2yQvGZ0ohM0iNSw8rT
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:Jc0v6Np3Qw9Lx2Sd" -m comment --comment "Return if policy accepted" -m mark --mark 0x10000/0x10000 -j RETURN
-A cali-tw-cali7c6d5e4f3a2 -m comment --comment "cali:Bx2m7Tk5Hy0Fq8Wr" -m comment --comment "End of tier default. Drop if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP
COMMIT
"#;

/// A Calico node: two workload interfaces, each pod routed by a /32 onto its veth
/// (Felix's routes), the node on eth0, forwarding on.
fn calico_node() -> Host {
    let mut h = node();
    for (dev, pod) in [
        ("cali9f8e7d6c5b4", "10.65.2.5"),
        ("cali1a2b3c4d5e6", "10.65.0.7"),
        ("cali7c6d5e4f3a2", "10.65.0.9"),
    ] {
        h.interfaces.push(Interface {
            name: dev.into(),
            up: true,
            ..Interface::default()
        });
        h.routes.push(Route {
            table: 254,
            dst: format!("{pod}/32").parse().unwrap(),
            route_type: RouteType::Unicast,
            gateway: None,
            dev: Some(dev.into()),
            prefsrc: None,
            metric: 0,
            scope: Scope::Link,
            protocol: None,
            nexthops: vec![],
            text: format!("{pod} dev {dev} scope link"),
        });
    }
    h
}

/// A first TCP packet from the pod on cali9f8e7d6c5b4 to `dst:dport`.
fn pod_to_pod(dst: &str, dport: u16) -> Packet {
    let mut p = Packet::new(
        "10.65.2.5".parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport: 40000,
            dport,
            flags: TcpFlags::from_letters("S").unwrap(),
        },
    );
    p.iif = Some("cali9f8e7d6c5b4".into());
    p
}

/// Calico decides: the owner is the policy that judged the packet, the remedy that
/// policy in the cluster (`kubectl` for a Kubernetes NetworkPolicy, `calicoctl` for
/// Calico's own), never a rule into Felix's `cali-*` chains.
#[test]
fn a_calico_policy_drop_names_the_policy_and_its_cause() {
    let src = SourceFile::new("calico.rules", CALICO);
    let mut rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("parses");
    owners::recognise(&mut rs, &ToolConfig::default());
    let host = calico_node();
    let options = Options::default();
    let cases = [
        // The end-of-tier drop: allow-frontend admits only 10.65.1.0/24.
        (
            pod_to_pod("10.65.0.7", 8080),
            "shop/knp.default.allow-frontend",
            "kubectl -n shop describe networkpolicy allow-frontend",
        ),
        // An explicit deny rule of a Calico NetworkPolicy.
        (
            pod_to_pod("10.65.0.9", 5432),
            "shop/default.deny-db",
            "calicoctl -n shop get networkpolicy default.deny-db -o yaml",
        ),
    ];
    for (packet, policy, step) in cases {
        let outcome = engine::simulate(&rs, &host, &packet, &options);
        assert_eq!(outcome.decided_fate(), Some(&Fate::Dropped), "{policy}");
        let r = remedies(
            &rs,
            &host,
            &packet,
            &outcome,
            &options,
            &ToolConfig::default(),
        )
        .unwrap_or_else(|| panic!("{policy}: no remedies"));
        let owner = r.owner.as_ref().expect("an owner");
        assert_eq!(owner.tool, Tool::Calico, "{policy}");
        assert_eq!(
            owner.role,
            Role::Kube(KubeRole::NetworkPolicy(policy.into())),
            "{policy}"
        );
        let primary = r.primary().expect("a primary remedy");
        assert_eq!(primary.breadth, Breadth::Cause, "{policy}");
        assert_eq!(primary.language, Language::Kubernetes, "{policy}");
        assert_eq!(primary.steps, vec![Step::Run(step.into())], "{policy}");
        for remedy in &r.ladder {
            for rule in &remedy.kernel_rules {
                let text = format!("{rule:?}");
                assert!(
                    !text.contains("cali-"),
                    "{policy}: a rule into Calico's chains: {text}"
                );
            }
            for s in &remedy.steps {
                let text = format!("{s:?}");
                assert!(
                    !text.contains("cali-"),
                    "{policy}: a step into Calico's chains: {text}"
                );
            }
        }
    }
}

/// Every NodePort of the generated cluster, as (protocol, port, `ns/name:port`).
fn cluster_node_ports(c: &Cluster) -> BTreeSet<(IpProto, u16, String)> {
    c.services
        .iter()
        .flat_map(|s| {
            s.ports.iter().filter_map(move |p| {
                let proto = match p.proto {
                    Proto::Tcp => IpProto::Tcp,
                    Proto::Udp => IpProto::Udp,
                };
                Some((proto, p.node_port?, s.port_name(p)))
            })
        })
        .collect()
}

fn found_node_ports(rs: &Ruleset) -> BTreeSet<(IpProto, u16, String)> {
    node_ports::node_ports(rs)
        .into_iter()
        .map(|np| (np.proto, np.port, np.service.name))
        .collect()
}

/// A host that listed its sockets: one TCP listener on `port`.
fn listening_on(port: u16) -> Host {
    let mut h = node();
    h.sockets.push(Socket {
        proto: IpProto::Tcp,
        addr: "0.0.0.0".parse().unwrap(),
        port,
        device: None,
        process: Some("users:((\"nginx\",pid=812,fd=6))".into()),
        dual_stack: false,
    });
    h.known.sockets = true;
    h
}

/// The NodePorts read back from kube-proxy's rules are the cluster's, in both modes; a
/// clean cluster has no clash, and the two kinds of clash are found with the service
/// port names: a host socket on a NodePort, and a NodePort that a service with
/// endpoints and one without both claim.
#[test]
fn node_port_clashes_name_the_services_in_both_modes() {
    let mut c = cluster();
    let expected = cluster_node_ports(&c);
    assert!(expected.len() >= 20, "only {} NodePorts", expected.len());
    for (mode, rs) in [("iptables", iptables_mode(&c)), ("nftables", nft_mode(&c))] {
        assert_eq!(found_node_ports(&rs), expected, "{mode}");
        assert_eq!(node_ports::clashes(&rs, &node()), vec![], "{mode}");
    }

    // A host socket on a TCP NodePort: found only when the sockets were listed.
    let (_, port, name) = expected
        .iter()
        .find(|(proto, ..)| *proto == IpProto::Tcp)
        .cloned()
        .expect("a TCP NodePort");
    let host = listening_on(port);
    for (mode, rs) in [("iptables", iptables_mode(&c)), ("nftables", nft_mode(&c))] {
        let clashes = node_ports::clashes(&rs, &host);
        assert_eq!(clashes.len(), 1, "{mode}: {clashes:?}");
        assert!(
            matches!(&clashes[0], NodePortClash::HostSocket { socket, .. } if socket == &host.sockets[0]),
            "{mode}: {clashes:?}"
        );
        assert_eq!(clashes[0].port(), (IpProto::Tcp, port), "{mode}");
        assert_eq!(
            clashes[0].services(),
            [KubeService { name: name.clone() }],
            "{mode}"
        );
        let mut unlisted = host.clone();
        unlisted.known.sockets = false;
        assert_eq!(
            node_ports::clashes(&rs, &unlisted),
            vec![],
            "{mode}: sockets not given"
        );
    }

    // A service without endpoints given the NodePort of a TCP service with endpoints.
    let served = |s: &&testgen::kube::Service| {
        s.ports[0].proto == Proto::Tcp && s.ports[0].node_port.is_some()
    };
    let a = c
        .services
        .iter()
        .position(|s| served(&s) && !s.endpoints.is_empty())
        .expect("a served NodePort");
    let b = c
        .services
        .iter()
        .position(|s| s.ports[0].proto == Proto::Tcp && s.endpoints.is_empty())
        .expect("a service without endpoints");
    c.services[b].ports[0].node_port = c.services[a].ports[0].node_port;
    let port = c.services[a].ports[0].node_port.unwrap_or(0);
    let mut names = vec![
        c.services[a].port_name(&c.services[a].ports[0]),
        c.services[b].port_name(&c.services[b].ports[0]),
    ];
    names.sort();
    for (mode, rs) in [("iptables", iptables_mode(&c)), ("nftables", nft_mode(&c))] {
        let clashes = node_ports::clashes(&rs, &node());
        assert_eq!(clashes.len(), 1, "{mode}: {clashes:?}");
        assert!(
            matches!(clashes[0], NodePortClash::Services { .. }),
            "{mode}"
        );
        assert_eq!(clashes[0].port(), (IpProto::Tcp, port), "{mode}");
        let mut got: Vec<String> = clashes[0]
            .services()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        got.sort();
        assert_eq!(got, names, "{mode}");
    }
}

#[test]
fn a_node_port_a_host_socket_also_listens_on_is_named_as_the_cause() {
    let c = cluster();
    let (service, port) = c
        .services
        .iter()
        .find_map(|s| {
            let p = &s.ports[0];
            (p.proto == Proto::Tcp && s.endpoints.is_empty()).then_some((s, p.node_port?))
        })
        .expect("a TCP NodePort without endpoints");
    let name = service.port_name(&service.ports[0]);
    let host = listening_on(port);
    for (mode, rs) in [("iptables", iptables_mode(&c)), ("nftables", nft_mode(&c))] {
        let mut p = Packet::new(
            "198.51.100.7".parse().unwrap(),
            IpAddr::V4(c.node_ip),
            L4::Tcp {
                sport: 40000,
                dport: port,
                flags: model::packet::TcpFlags::SYN,
            },
        );
        p.iif = Some("eth0".into());
        let options = Options::default();
        let outcome = engine::simulate(&rs, &host, &p, &options);
        let r = remedies(&rs, &host, &p, &outcome, &options, &ToolConfig::default())
            .unwrap_or_else(|| panic!("{mode}: no remedies for {:?}", outcome.decided_fate()));
        let primary = r.primary().expect("a primary");
        assert_eq!(primary.breadth, Breadth::Cause, "{mode}: {r:?}");
        assert!(
            primary.caveats.iter().any(|c| matches!(
                c,
                analysis::FixCaveat::NodePortClash(NodePortClash::HostSocket { services, .. })
                    if services.iter().any(|s| s.name == name)
            )),
            "{mode}: {r:?}"
        );
        assert_nothing_into_kube_proxy(&r);
    }
}
