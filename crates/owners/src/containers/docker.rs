//! Docker's rules, from either firewall backend.
//!
//! - iptables (moby `iptabler`): the chains `DOCKER`, `DOCKER-USER` (left to the admin and
//!   never flushed by Docker), `DOCKER-FORWARD`, `DOCKER-BRIDGE`, `DOCKER-CT`,
//!   `DOCKER-INTERNAL`, `DOCKER-INGRESS` and the older `DOCKER-ISOLATION-STAGE-1/2`; the
//!   jumps to them from the built-in chains; and in the built-in chains the masquerade or
//!   SNAT of a bridge's subnet (`-s SUBNET ! -o BRIDGE`) and the raw direct-access drop
//!   (`-d CONTAINER ! -i BRIDGE -j DROP`).
//! - nftables (Docker 29, moby `nftabler`): the tables `ip docker-bridges` and `ip6
//!   docker-bridges`, whose rules carry comments (`DNAT`, `UNPUBLISHED PORT DROP`,
//!   `DROP DIRECT ACCESS`, `INTERNAL NETWORK INGRESS`, ...).
//!
//! A published port is read from its DNAT rule; the forward accept for the same container
//! address and port is the same published port.

use super::{
    accepts_published, blocks, claim_named_chains, claim_table, comment, interfaces, owner,
    published_port, source_nat,
};
use crate::claim::claim;
use model::expr::{Key, Verdict};
use model::owner::{ContainerRole, PublishedPort};
use model::{Chain, Evidence, Rule, Ruleset, Tool};

/// The name of Docker 29's nftables tables (family `ip` and `ip6`).
pub const NFT_TABLE: &str = "docker-bridges";

/// The chain Docker leaves to the admin (iptables backend).
pub const USER_CHAIN: &str = "DOCKER-USER";

/// Whether `name` is one of Docker's iptables chains.
pub fn is_docker_chain(name: &str) -> bool {
    name == "DOCKER" || name.starts_with("DOCKER-")
}

pub(super) fn recognise(ruleset: &mut Ruleset) {
    let published = published_ports(ruleset);
    let bridges = bridges(ruleset);
    for table in &mut ruleset.tables {
        if table.name == NFT_TABLE {
            claim_table(
                table,
                &Tool::Docker,
                |_| ContainerRole::Infrastructure,
                |_, r| nft_rule_role(r, &published),
            );
            continue;
        }
        claim_named_chains(table, &Tool::Docker, is_docker_chain, chain_role, |c, r| {
            iptables_rule_role(c, r, &published)
        });
        for chain in table.chains.iter_mut().filter(|c| c.base.is_some()) {
            for rule in &mut chain.rules {
                if let Some((bridge, role)) = builtin_rule(rule, &bridges, &published) {
                    claim(
                        &mut rule.origin,
                        owner(&Tool::Docker, Evidence::Interface(bridge), role),
                    );
                }
            }
        }
    }
}

/// Every port Docker publishes in `ruleset`: the DNAT rules of its `DOCKER` nat chain and
/// of its nftables tables, in ruleset order.
pub fn published_ports(ruleset: &Ruleset) -> Vec<PublishedPort> {
    let mut ports = Vec::new();
    for table in &ruleset.tables {
        for chain in &table.chains {
            let docker = table.name == NFT_TABLE || is_docker_chain(&chain.name);
            if !docker {
                continue;
            }
            for p in chain.rules.iter().filter_map(published_port) {
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
        }
    }
    ports
}

/// Docker's bridges: the interfaces its own chains send traffic out of (`-o br-x` in
/// `DOCKER-CT`, `DOCKER-BRIDGE`, `DOCKER`; the per-bridge chains of the nft backend).
pub fn bridges(ruleset: &Ruleset) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for table in &ruleset.tables {
        for chain in &table.chains {
            if table.name == NFT_TABLE {
                if let Some((_, bridge)) = chain.name.split_once("__") {
                    push_unique(&mut names, bridge);
                }
            } else if is_docker_chain(&chain.name) && chain.name != USER_CHAIN {
                for rule in &chain.rules {
                    for (key, negated, name) in interfaces(rule) {
                        if key == Key::OifName && !negated {
                            push_unique(&mut names, name);
                        }
                    }
                }
            }
        }
    }
    names
}

fn push_unique(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

fn chain_role(name: &str) -> ContainerRole {
    if name == USER_CHAIN {
        ContainerRole::UserChain
    } else if name.starts_with("DOCKER-ISOLATION") || name == "DOCKER-INTERNAL" {
        ContainerRole::Isolation
    } else {
        ContainerRole::Infrastructure
    }
}

/// A rule of one of Docker's iptables chains; the admin's rules in `DOCKER-USER` are left
/// unclaimed (hand-written), except the bare `-j RETURN` Docker itself put there.
fn iptables_rule_role(
    chain: &Chain,
    rule: &Rule,
    published: &[PublishedPort],
) -> Option<ContainerRole> {
    if chain.name == USER_CHAIN {
        let placeholder =
            rule.matches().next().is_none() && matches!(rule.verdict(), Some(Verdict::Return));
        return placeholder.then_some(ContainerRole::Infrastructure);
    }
    Some(
        published_role(rule, published).unwrap_or_else(|| match chain_role(&chain.name) {
            ContainerRole::Isolation => ContainerRole::Isolation,
            _ => ContainerRole::Infrastructure,
        }),
    )
}

fn nft_rule_role(rule: &Rule, published: &[PublishedPort]) -> ContainerRole {
    if let Some(role) = published_role(rule, published) {
        return role;
    }
    match comment(rule) {
        Some(c) if c.starts_with("INTERNAL NETWORK") => ContainerRole::Isolation,
        Some("DROP DIRECT ACCESS") => ContainerRole::SourceFilter,
        _ => ContainerRole::Infrastructure,
    }
}

/// The published port a DNAT rule sets up, or whose forward accept this is.
fn published_role(rule: &Rule, published: &[PublishedPort]) -> Option<ContainerRole> {
    published_port(rule)
        .or_else(|| {
            published
                .iter()
                .find(|p| {
                    matches!(rule.verdict(), Some(Verdict::Accept)) && accepts_published(rule, p)
                })
                .cloned()
        })
        .map(ContainerRole::Published)
}

/// A rule Docker put in a built-in chain, with the bridge it names: the source NAT of a
/// bridge's traffic leaving by another interface (`-s SUBNET ! -o BRIDGE -j MASQUERADE`),
/// the hairpin masquerade of a published port, or the direct-access drop (`-d CONTAINER
/// ! -i BRIDGE -j DROP`).
fn builtin_rule(
    rule: &Rule,
    bridges: &[String],
    published: &[PublishedPort],
) -> Option<(String, ContainerRole)> {
    let negated_bridge = |want: Key| {
        interfaces(rule)
            .find(|(k, negated, name)| *k == want && *negated && bridges.iter().any(|b| b == name))
            .map(|(_, _, name)| name.to_string())
    };
    if source_nat(rule) {
        if let Some(bridge) = negated_bridge(Key::OifName) {
            return Some((bridge, ContainerRole::Infrastructure));
        }
        let hairpin = published.iter().find(|p| {
            super::exact_addr(rule, Key::SrcAddr) == Some(p.container) && accepts_published(rule, p)
        });
        if let Some(p) = hairpin {
            let bridge = bridges.first()?.clone();
            return Some((bridge, ContainerRole::Published(p.clone())));
        }
    }
    if blocks(rule) && super::exact_addr(rule, Key::DstAddr).is_some() {
        if let Some(bridge) = negated_bridge(Key::IifName) {
            return Some((bridge, ContainerRole::SourceFilter));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{chain_owner, iptables, nft, rule_owner};
    use model::owner::{ContainerRole, PublishedPort};
    use model::tool_config::ToolConfig;
    use model::{Evidence, Family, Role, Tool};

    // The usernet-portmap scenario of moby's integration/network/bridge/iptablesdoc.
    const IPTABLES: &str = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A FORWARD -i eth0 -j DROP
-A DOCKER -d 192.0.2.2/32 ! -i bridge1 -o bridge1 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i bridge1 -o bridge1 -j DROP
-A DOCKER-FORWARD -i bridge1 -j ACCEPT
-A DOCKER-USER -s 10.0.0.0/8 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 192.0.2.0/24 ! -o bridge1 -j MASQUERADE
-A DOCKER ! -i bridge1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
COMMIT
";

    fn port() -> PublishedPort {
        PublishedPort {
            proto: "tcp".into(),
            host_port: 8080,
            container: "192.0.2.2".parse().unwrap(),
            container_port: 80,
        }
    }

    #[test]
    fn iptables_backend_chains_jumps_masquerade_and_published_port() {
        let mut rs = iptables(IPTABLES, Family::Ip);
        crate::recognise(&mut rs, &ToolConfig::default());
        let user = chain_owner(&rs, "filter", "DOCKER-USER");
        assert_eq!(user.tool, Tool::Docker);
        assert_eq!(user.role, Role::Container(ContainerRole::UserChain));
        // The admin's rule in DOCKER-USER is the admin's.
        assert_eq!(
            rule_owner(&rs, "filter", "DOCKER-USER", 0).tool,
            Tool::Unmanaged
        );
        let jump = rule_owner(&rs, "filter", "FORWARD", 0);
        assert_eq!(jump.tool, Tool::Docker);
        assert_eq!(jump.evidence, Evidence::ChainName("DOCKER-USER".into()));
        assert_eq!(
            rule_owner(&rs, "filter", "FORWARD", 2).tool,
            Tool::Unmanaged
        );
        let published = Role::Container(ContainerRole::Published(port()));
        assert_eq!(rule_owner(&rs, "nat", "DOCKER", 0).role, published);
        assert_eq!(rule_owner(&rs, "filter", "DOCKER", 0).role, published);
        let masq = rule_owner(&rs, "nat", "POSTROUTING", 0);
        assert_eq!(masq.tool, Tool::Docker);
        assert_eq!(masq.evidence, Evidence::Interface("bridge1".into()));
        let direct = rule_owner(&rs, "raw", "PREROUTING", 0);
        assert_eq!(direct.role, Role::Container(ContainerRole::SourceFilter));
        assert_eq!(super::published_ports(&rs), vec![port()]);
    }

    #[test]
    fn nftables_backend_table_and_published_port() {
        let mut rs = nft("table ip docker-bridges {
	chain nat-prerouting-and-output {
		iifname != \"bridge1\" tcp dport 8080 counter dnat to 192.0.2.2:80 comment \"DNAT\"
	}
	chain filter-forward-in__bridge1 {
		ct state established,related counter accept
		ip daddr 192.0.2.2 tcp dport 80 counter accept
		counter drop comment \"UNPUBLISHED PORT DROP\"
	}
}
");
        crate::recognise(&mut rs, &ToolConfig::default());
        let published = Role::Container(ContainerRole::Published(port()));
        let dnat = rule_owner(&rs, "docker-bridges", "nat-prerouting-and-output", 0);
        assert_eq!(dnat.tool, Tool::Docker);
        assert_eq!(dnat.evidence, Evidence::TableName("docker-bridges".into()));
        assert_eq!(dnat.role, published);
        let fwd = rule_owner(&rs, "docker-bridges", "filter-forward-in__bridge1", 1);
        assert_eq!(fwd.role, published);
        let drop = rule_owner(&rs, "docker-bridges", "filter-forward-in__bridge1", 2);
        assert_eq!(drop.role, Role::Container(ContainerRole::Infrastructure));
        assert_eq!(super::bridges(&rs), vec!["bridge1".to_string()]);
    }
}
