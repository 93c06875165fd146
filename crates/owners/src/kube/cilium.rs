//! Cilium's objects: its iptables chains are `CILIUM_*` (`CILIUM_INPUT`,
//! `CILIUM_FORWARD`, `CILIUM_PRE_nat`, ...), fed from the built-in chains by rules
//! commented `cilium-feeder: ...`. Cilium enforces network policy in eBPF, not in these
//! chains, so they are infrastructure: a policy drop does not show up as a rule here.

use super::target;
use crate::claim::claim;
use model::owner::KubeRole;
use model::{Evidence, Owner, Role, Ruleset, Tool};

const PREFIX: &str = "CILIUM_";

/// Claims `CILIUM_*` chains, their rules, and the rules that jump to them.
pub(crate) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        for chain in &mut table.chains {
            if chain.name.starts_with(PREFIX) {
                let o = owner(Evidence::ChainName(chain.name.clone()));
                claim(&mut chain.origin, o.clone());
                for rule in &mut chain.rules {
                    claim(&mut rule.origin, o.clone());
                }
                continue;
            }
            for rule in &mut chain.rules {
                if let Some(t) = target(rule).filter(|t| t.starts_with(PREFIX)) {
                    let o = owner(Evidence::ChainName(t.to_string()));
                    claim(&mut rule.origin, o);
                }
            }
        }
    }
}

fn owner(evidence: Evidence) -> Owner {
    Owner {
        tool: Tool::Cilium,
        evidence,
        role: Role::Kube(KubeRole::Infrastructure),
    }
}
