//! Remedies for packets Kubernetes' node agents block: never a rule in kube-proxy's
//! chains or table (kube-proxy rewrites them at every sync), but the cause in the
//! cluster. A "no endpoints" reject (or, with `externalTrafficPolicy: Local`, a drop for
//! no endpoint on this node) → the service port, and how to see why it has none (its
//! EndpointSlices; the selector in `describe service`). A drop on a Calico policy's path →
//! the policies that judged the packet.

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix_facts::{FixCaveat, Opens};
use engine::{Decider, Event};
use model::owner::{KubeRole, KubeService};
use model::{Evidence, Owner, Role, RuleRef, Tool};

/// The changes in the cluster that address `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    if let Some(clash) = node_port_clash(blocked) {
        let steps = clash
            .services()
            .iter()
            .filter_map(|s| split_service(&s.name))
            .map(|(ns, name)| {
                Step::Run(format!(
                    "kubectl -n {ns} get service {name} -o jsonpath='{{.spec.ports[*].nodePort}}'"
                ))
            })
            .collect();
        let mut c = cause(blocked, steps);
        c.caveats.push(FixCaveat::NodePortClash(clash));
        return vec![c];
    }
    if let Some(owner) = packet_owner(blocked) {
        if let Role::Kube(KubeRole::NoEndpoints(s) | KubeRole::NoLocalEndpoints(s)) = &owner.role {
            return vec![cause(blocked, service_steps(s))];
        }
    }
    let policies = calico_policies(blocked);
    if policies.is_empty() {
        return Vec::new();
    }
    let steps = policies.iter().map(|(p, _)| policy_step(p)).collect();
    vec![cause(blocked, steps)]
}

/// The owner that decided this packet as the cluster sees it: the kube-proxy rule that
/// says "no endpoints" for this packet's service port — the deciding rule itself
/// (iptables mode), or the `no-endpoint-*` map element that sent it to kube-proxy's
/// shared `reject-chain` (nftables mode); for Calico's end-of-tier drop in an endpoint
/// chain, the one policy whose chain the packet went through without being accepted
/// (with several, no single one is to blame: the drop stays Calico's); else the
/// deciding rule's owner.
pub(crate) fn packet_owner(blocked: &Blocked<'_>) -> Option<Owner> {
    if let Some(o) = blocked
        .owner
        .filter(|o| o.tool == Tool::Calico && o.role == Role::Kube(KubeRole::Infrastructure))
    {
        let policies = calico_policies(blocked);
        return Some(match policies.as_slice() {
            [(policy, chain)] => Owner {
                tool: Tool::Calico,
                evidence: Evidence::ChainName(chain.clone()),
                role: Role::Kube(KubeRole::NetworkPolicy(policy.clone())),
            },
            _ => o.clone(),
        });
    }
    let owner_at = |at: RuleRef| {
        let table = blocked.ruleset.tables.get(at.table)?;
        let rule = table.chains.get(at.chain)?.rules.get(at.rule)?;
        rule.origin.owner.as_ref()
    };
    let no_endpoints = |o: &&Owner| {
        o.tool == Tool::KubeProxy
            && matches!(
                o.role,
                Role::Kube(KubeRole::NoEndpoints(_) | KubeRole::NoLocalEndpoints(_))
            )
    };
    let Decider::Rule(decider) = &blocked.trace.decider else {
        return blocked.owner.cloned();
    };
    if let Some(o) = owner_at(*decider).filter(no_endpoints) {
        return Some(o.clone());
    }
    // The rule that went (or jumped) to the deciding rule's chain, last on the path.
    let via = blocked.trace.events.iter().rev().find_map(|e| match e {
        Event::Rule {
            at,
            verdict: engine::TraceVerdict::Goto(c) | engine::TraceVerdict::Jump(c),
            ..
        } if c.table == decider.table && c.chain == decider.chain => Some(*at),
        _ => None,
    });
    via.and_then(owner_at)
        .filter(no_endpoints)
        .or(blocked.owner)
        .cloned()
}

fn cause(blocked: &Blocked<'_>, steps: Vec<Step>) -> Candidate {
    Candidate {
        breadth: Breadth::Cause,
        language: Language::Kubernetes,
        steps,
        durability: Durability::Durable,
        opens: Opens::Flow(crate::fix::flow_opening(
            &blocked.trace.packet,
            blocked.trace,
        )),
        caveats: Vec::new(),
        patched: None,
        kernel_rules: Vec::new(),
    }
}

/// The NodePort clash on the blocked packet's destination port, when its service is
/// kube-proxy's: the port is also a host socket's or another service's, so which one gets
/// the packet is not what either owner meant.
fn node_port_clash(blocked: &Blocked<'_>) -> Option<owners::kube::node_ports::NodePortClash> {
    let owned_by_kube = blocked.owner.is_some_and(|o| o.tool == Tool::KubeProxy);
    let (_, dport) = blocked.packet.l4.ports()?;
    let proto = blocked.packet.proto();
    if !owned_by_kube {
        return None;
    }
    owners::kube::node_ports::clashes(blocked.ruleset, blocked.host)
        .into_iter()
        .find(|c| c.port() == (proto, dport))
}

/// `ns/name:port` → the commands that show why the service has no ready endpoints.
fn service_steps(service: &KubeService) -> Vec<Step> {
    let Some((ns, name)) = split_service(&service.name) else {
        return Vec::new();
    };
    vec![
        Step::Run(format!(
            "kubectl -n {ns} get endpointslices -l kubernetes.io/service-name={name}"
        )),
        Step::Run(format!("kubectl -n {ns} describe service {name}")),
    ]
}

/// `ns/name:port` or `ns/name` → (`ns`, `name`).
fn split_service(service: &str) -> Option<(&str, &str)> {
    let (ns, rest) = service.split_once('/')?;
    Some((ns, rest.split_once(':').map_or(rest, |(n, _)| n)))
}

/// The Calico policies (or profiles) that judged the packet, each with its chain, when
/// Calico decided it: the policy whose own rule dropped it (a deny rule), else those the
/// deciding endpoint chain jumped to before its "End of tier" or "no profiles" drop
/// (policies judged on other chains of the path, e.g. the sender's egress profile that
/// accepted, are not the cause).
fn calico_policies(blocked: &Blocked<'_>) -> Vec<(String, String)> {
    if blocked.owner.is_none_or(|o| o.tool != Tool::Calico) {
        return Vec::new();
    }
    let Decider::Rule(decider) = &blocked.trace.decider else {
        return Vec::new();
    };
    let table = &blocked.ruleset.tables[decider.table];
    let policy_of = |chain: usize| {
        let c = table.chains.get(chain)?;
        match &c.origin.owner.as_ref()?.role {
            Role::Kube(KubeRole::NetworkPolicy(p)) => Some((p.clone(), c.name.clone())),
            _ => None,
        }
    };
    if let Some(Owner {
        role: Role::Kube(KubeRole::NetworkPolicy(_)),
        ..
    }) = blocked.owner
    {
        return policy_of(decider.chain).into_iter().collect();
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for e in &blocked.trace.events {
        let Event::Rule {
            at,
            verdict: engine::TraceVerdict::Goto(c) | engine::TraceVerdict::Jump(c),
            ..
        } = e
        else {
            continue;
        };
        if at.table != decider.table || at.chain != decider.chain || c.table != decider.table {
            continue;
        }
        if let Some(found) = policy_of(c.chain) {
            if !out.iter().any(|(p, _)| *p == found.0) {
                out.push(found);
            }
        }
    }
    out
}

/// How to read a Calico policy: a Kubernetes NetworkPolicy shows in Calico as
/// `knp.default.NAME`; Calico's own policies are read with `calicoctl`, and so are the
/// profiles Calico makes of a namespace (`kns.NS`) or service account (`ksa.NS.NAME`).
fn policy_step(policy: &str) -> Step {
    if policy.starts_with("kns.") || policy.starts_with("ksa.") {
        return Step::Run(format!("calicoctl get profile {policy} -o yaml"));
    }
    match policy.split_once('/') {
        Some((ns, name)) => match name.strip_prefix("knp.default.") {
            Some(k8s) => Step::Run(format!("kubectl -n {ns} describe networkpolicy {k8s}")),
            None => Step::Run(format!(
                "calicoctl -n {ns} get networkpolicy {name} -o yaml"
            )),
        },
        None => Step::Run(format!(
            "calicoctl get globalnetworkpolicy {policy} -o yaml"
        )),
    }
}
