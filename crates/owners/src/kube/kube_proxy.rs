//! kube-proxy's objects. The iptables mode names every service port in its rule comments
//! (`"ns/name:port cluster IP"`, `"ns/name:port has no endpoints"`) and writes its own
//! `KUBE-*` chains; the nftables mode owns the whole `ip kube-proxy` / `ip6 kube-proxy`
//! table and names the service port in its chain names
//! (`service-HASH-ns/name/tcp/port`, `endpoint-HASH-ns/name/tcp/port__10.0.0.1/80`) and in
//! the comments of its `no-endpoint-*` map elements.

use super::target;
use crate::claim::claim;
use model::owner::{KubeRole, KubeService};
use model::{Evidence, Owner, Role, Ruleset, Table, Tool};

/// The nftables mode's table.
const TABLE: &str = "kube-proxy";

/// Claims the `kube-proxy` nft tables and the `KUBE-*` chains of iptables tables.
pub(crate) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        let nft = table.origin.dialect.is_some_and(|d| d.is_nft());
        if nft && table.name == TABLE {
            nft_table(table);
        } else if !nft {
            iptables_table(table);
        }
    }
}

fn owner(evidence: Evidence, role: KubeRole) -> Owner {
    Owner {
        tool: Tool::KubeProxy,
        evidence,
        role: Role::Kube(role),
    }
}

/// The service port a comment names, with what the comment says about it: the first
/// word shaped `ns/name` or `ns/name:port` (kube-proxy leaves `:port` out for an unnamed
/// port).
pub fn role_in_comment(comment: &str) -> Option<KubeRole> {
    let name = comment.split_whitespace().find(|w| is_service_port(w))?;
    let service = KubeService {
        name: name.to_string(),
    };
    Some(if comment.ends_with("has no local endpoints") {
        KubeRole::NoLocalEndpoints(service)
    } else if comment.ends_with("has no endpoints") {
        KubeRole::NoEndpoints(service)
    } else {
        KubeRole::Service(service)
    })
}

fn is_service_port(word: &str) -> bool {
    let Some((ns, rest)) = word.split_once('/') else {
        return false;
    };
    let name = rest.split_once(':').map_or(rest, |(n, _)| n);
    let label = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    label(ns) && label(name) && !rest.contains('/')
}

/// The service port an nft chain of the nftables mode stands for:
/// `service-HASH-ns/name/proto/port` (also `external-`, `firewall-`, `endpoint-` with
/// `__address/port` after it) → `ns/name:port`.
pub fn service_of_nft_chain(chain: &str) -> Option<KubeService> {
    let rest = ["service-", "external-", "firewall-", "endpoint-"]
        .iter()
        .find_map(|p| chain.strip_prefix(p))?;
    let (_hash, base) = rest.split_once('-')?;
    let base = base.split_once("__").map_or(base, |(b, _)| b);
    let parts: Vec<&str> = base.split('/').collect();
    let [ns, name, _proto, port] = parts.as_slice() else {
        return None;
    };
    Some(KubeService {
        name: format!("{ns}/{name}:{port}"),
    })
}

fn nft_table(table: &mut Table) {
    claim(
        &mut table.origin,
        owner(
            Evidence::TableName(table.name.clone()),
            KubeRole::Infrastructure,
        ),
    );
    let element_owners: Vec<Vec<Option<Owner>>> = table
        .chains
        .iter()
        .map(|c| vmap_element_owners(table, &c.rules))
        .collect();
    for (chain, elements) in table.chains.iter_mut().zip(element_owners) {
        let role =
            service_of_nft_chain(&chain.name).map_or(KubeRole::Infrastructure, KubeRole::Service);
        let o = owner(Evidence::ChainName(chain.name.clone()), role);
        claim(&mut chain.origin, o.clone());
        for (rule, element) in chain.rules.iter_mut().zip(elements) {
            claim(&mut rule.origin, element.unwrap_or_else(|| o.clone()));
        }
    }
}

/// For each rule of a chain: when it is one element of a `vmap @map` lookup (the front
/// end writes one model rule per element, in the map's order), the owner that element
/// shows — its comment (`"ns/name:port"` on the `no-endpoint-*` maps: a reject or
/// `goto reject-chain` is "no endpoints", a drop "no local endpoints") or the service
/// chain it goes to.
fn vmap_element_owners(table: &Table, rules: &[model::Rule]) -> Vec<Option<Owner>> {
    let mut out = vec![None; rules.len()];
    let mut start = 0;
    while start < rules.len() {
        let span = rules[start].origin.span;
        let end = start
            + rules[start..]
                .iter()
                .take_while(|r| r.origin.span == span)
                .count();
        let map = rules[start]
            .origin
            .text
            .split_once("vmap @")
            .map(|(_, m)| m.split_whitespace().next().unwrap_or(""));
        let elements = map.and_then(|m| table.sets.iter().find(|s| s.name == m));
        if let Some(set) = elements.filter(|s| s.elements.len() == end - start) {
            for (slot, (rule, element)) in out[start..end]
                .iter_mut()
                .zip(rules[start..end].iter().zip(&set.elements))
            {
                *slot = element_owner(rule, element);
            }
        }
        start = end;
    }
    out
}

fn element_owner(rule: &model::Rule, element: &model::ruleset::SetElement) -> Option<Owner> {
    use model::Verdict;
    let verdict = rule.verdict();
    if let Some(comment) = &element.comment {
        let service = KubeService {
            name: comment.clone(),
        };
        let role = match verdict {
            Some(Verdict::Drop) => KubeRole::NoLocalEndpoints(service),
            Some(Verdict::Reject(_)) => KubeRole::NoEndpoints(service),
            Some(Verdict::Goto(c) | Verdict::Jump(c)) if c == "reject-chain" => {
                KubeRole::NoEndpoints(service)
            }
            _ => KubeRole::Service(service),
        };
        return Some(owner(Evidence::Comment(comment.clone()), role));
    }
    match verdict {
        Some(Verdict::Goto(c) | Verdict::Jump(c)) => service_of_nft_chain(c)
            .map(|s| owner(Evidence::ChainName(c.clone()), KubeRole::Service(s))),
        _ => None,
    }
}

/// The per-service chains of the iptables mode, named by a hash: their service comes
/// from their comments, or from the comment of a rule that jumps to them.
const SERVICE_CHAINS: &[&str] = &[
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-SEP-",
    "KUBE-EXT-",
    "KUBE-FW-",
];

fn iptables_table(table: &mut Table) {
    let roles: Vec<Option<KubeRole>> = table
        .chains
        .iter()
        .map(|c| chain_role(table, &c.name))
        .collect();
    for (chain, role) in table.chains.iter_mut().zip(roles) {
        if let Some(role) = role {
            let o = owner(Evidence::ChainName(chain.name.clone()), role);
            claim(&mut chain.origin, o.clone());
            for rule in &mut chain.rules {
                let own = match rule.origin.comment.as_deref().and_then(role_in_comment) {
                    Some(r) => owner(
                        Evidence::Comment(rule.origin.comment.clone().unwrap_or_default()),
                        r,
                    ),
                    None => o.clone(),
                };
                claim(&mut rule.origin, own);
            }
            continue;
        }
        // kube-proxy's (and kubelet's) jumps from the built-in chains into its own.
        for rule in &mut chain.rules {
            if let Some(t) = target(rule).filter(|t| t.starts_with("KUBE-")) {
                let t = t.to_string();
                claim(
                    &mut rule.origin,
                    owner(Evidence::ChainName(t), KubeRole::Infrastructure),
                );
            }
        }
    }
}

/// The role of an iptables chain named `name` if it is kube-proxy's.
fn chain_role(table: &Table, name: &str) -> Option<KubeRole> {
    if !name.starts_with("KUBE-") {
        return None;
    }
    if !SERVICE_CHAINS.iter().any(|p| name.starts_with(p)) {
        return Some(KubeRole::Infrastructure);
    }
    let service = |comment: Option<&str>| match comment.and_then(role_in_comment)? {
        KubeRole::Service(s) | KubeRole::NoEndpoints(s) | KubeRole::NoLocalEndpoints(s) => Some(s),
        _ => None,
    };
    let own = table.chain(name).and_then(|i| {
        table.chains[i]
            .rules
            .iter()
            .find_map(|r| service(r.origin.comment.as_deref()))
    });
    let callers = || {
        table
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .filter(|r| target(r) == Some(name))
            .find_map(|r| service(r.origin.comment.as_deref()))
    };
    Some(
        own.or_else(callers)
            .map_or(KubeRole::Infrastructure, KubeRole::Service),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_name_the_service_port_and_its_state() {
        let s = |n: &str| KubeService { name: n.into() };
        assert_eq!(
            role_in_comment("ns6/svc6:p80 has no endpoints"),
            Some(KubeRole::NoEndpoints(s("ns6/svc6:p80")))
        );
        assert_eq!(
            role_in_comment("ns2/svc2:p80 has no local endpoints"),
            Some(KubeRole::NoLocalEndpoints(s("ns2/svc2:p80")))
        );
        assert_eq!(
            role_in_comment("masquerade traffic for ns4/svc4:p80 external destinations"),
            Some(KubeRole::Service(s("ns4/svc4:p80")))
        );
        assert_eq!(
            role_in_comment("ns4/svc4:p80 -> 10.180.0.4:80"),
            Some(KubeRole::Service(s("ns4/svc4:p80")))
        );
        assert_eq!(
            role_in_comment("default/kubernetes"),
            Some(KubeRole::Service(s("default/kubernetes")))
        );
        assert_eq!(role_in_comment("kubernetes service portals"), None);
        assert_eq!(
            role_in_comment("helper for @no-endpoint-services / @no-endpoint-nodeports"),
            None
        );
    }

    #[test]
    fn nft_chain_names_name_the_service_port() {
        let s = |n: &str| Some(KubeService { name: n.into() });
        assert_eq!(
            service_of_nft_chain("service-ULMVA6XW-ns1/svc1/tcp/p80"),
            s("ns1/svc1:p80")
        );
        assert_eq!(
            service_of_nft_chain("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"),
            s("ns1/svc1:p80")
        );
        assert_eq!(
            service_of_nft_chain("external-42NFTM6N-my-ns/svc-2/udp/dns"),
            s("my-ns/svc-2:dns")
        );
        assert_eq!(service_of_nft_chain("services"), None);
        assert_eq!(service_of_nft_chain("service-endpoints-check"), None);
    }
}
