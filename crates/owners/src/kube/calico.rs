//! Calico's objects (Felix's iptables dataplane): `cali-*` chains, every rule commented
//! `cali:ID`. A policy's chains (`cali-pi-*` ingress, `cali-po-*` egress) carry a second
//! comment naming the policy: `"Policy ns/name ingress"`; profiles (`cali-pri-*`,
//! `cali-pro-*`) likewise `"Profile ..."`.

use super::target;
use crate::claim::claim;
use model::owner::KubeRole;
use model::{Evidence, Owner, Role, Rule, Ruleset, Tool};

const PREFIX: &str = "cali-";
const POLICY_CHAINS: &[&str] = &["cali-pi-", "cali-po-", "cali-pri-", "cali-pro-"];

/// Claims `cali-*` chains, their rules, and the `cali:` rules of other chains.
pub(crate) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        for chain in &mut table.chains {
            if chain.name.starts_with(PREFIX) {
                let role = if POLICY_CHAINS.iter().any(|p| chain.name.starts_with(p)) {
                    chain
                        .rules
                        .iter()
                        .find_map(policy_of)
                        .map_or(KubeRole::Infrastructure, KubeRole::NetworkPolicy)
                } else {
                    KubeRole::Infrastructure
                };
                let o = owner(Evidence::ChainName(chain.name.clone()), role);
                claim(&mut chain.origin, o.clone());
                for rule in &mut chain.rules {
                    let own = match policy_of(rule) {
                        Some(p) => owner(
                            Evidence::Comment(format!("Policy {p}")),
                            KubeRole::NetworkPolicy(p),
                        ),
                        None => o.clone(),
                    };
                    claim(&mut rule.origin, own);
                }
                continue;
            }
            for rule in &mut chain.rules {
                let marked = rule
                    .origin
                    .comment
                    .as_deref()
                    .is_some_and(|c| c.starts_with("cali:"));
                let evidence = match target(rule) {
                    Some(t) if t.starts_with(PREFIX) => Evidence::ChainName(t.to_string()),
                    _ if marked => {
                        Evidence::Comment(rule.origin.comment.clone().unwrap_or_default())
                    }
                    _ => continue,
                };
                claim(&mut rule.origin, owner(evidence, KubeRole::Infrastructure));
            }
        }
    }
}

fn owner(evidence: Evidence, role: KubeRole) -> Owner {
    Owner {
        tool: Tool::Calico,
        evidence,
        role: Role::Kube(role),
    }
}

/// The policy or profile a rule's comment names (`Policy ns/name ingress` → `ns/name`).
/// Felix writes two comments per rule (`cali:ID` first), so the rule's text is read.
fn policy_of(rule: &Rule) -> Option<String> {
    let text = &rule.origin.text;
    ["--comment \"Policy ", "--comment \"Profile "]
        .iter()
        .find_map(|key| {
            let at = text.find(key)? + key.len();
            let words: Vec<&str> = text[at..].split('"').next()?.split_whitespace().collect();
            match words.as_slice() {
                [name, "ingress" | "egress"] | [name] => Some((*name).to_string()),
                _ => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Family, SourceFile};

    #[test]
    fn a_policy_chain_is_the_policy_its_comments_name() {
        let text = "*filter\n:FORWARD ACCEPT [0:0]\n:cali-FORWARD - [0:0]\n:cali-pi-_sQdl6e7ekf9DS2UYNem - [0:0]\n\
-A FORWARD -m comment --comment \"cali:wUHhoiAYhphO9Mso\" -j cali-FORWARD\n\
-A cali-pi-_sQdl6e7ekf9DS2UYNem -p tcp -m comment --comment \"cali:fwIMoHrbCWNN0i6y\" -m comment --comment \"Policy hipstershop/app-hipstershop.checkoutservice ingress\" -m multiport --dports 5050 -j MARK --set-xmark 0x10000/0x10000\n\
COMMIT\n";
        let mut rs = frontends::iptables_save::parse(
            &SourceFile::new("calico.rules", text),
            Some(Family::Ip),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        crate::recognise(&mut rs, &model::tool_config::ToolConfig::default());
        let t = &rs.tables[0];
        let pi = &t.chains[t.chain("cali-pi-_sQdl6e7ekf9DS2UYNem").unwrap_or(0)];
        let policy = Role::Kube(KubeRole::NetworkPolicy(
            "hipstershop/app-hipstershop.checkoutservice".into(),
        ));
        assert_eq!(pi.origin.owner.as_ref().map(|o| &o.role), Some(&policy));
        assert_eq!(
            pi.rules[0].origin.owner.as_ref().map(|o| &o.role),
            Some(&policy)
        );
        let fwd = &t.chains[t.chain("FORWARD").unwrap_or(0)];
        assert_eq!(
            fwd.rules[0].origin.owner.as_ref().map(|o| o.tool.clone()),
            Some(Tool::Calico)
        );
    }
}
