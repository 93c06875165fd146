//! tailscale: the chains `ts-input`, `ts-forward` (filter) and `ts-postrouting` (nat),
//! in the conventional `filter`/`nat` tables with both its iptables and its nftables
//! runner, jumped to from `INPUT`, `FORWARD` and `POSTROUTING` (tailscale
//! `util/linuxfw/iptables_runner.go`, `nftables_runner.go`). Its drop of the CGNAT range
//! arriving by another interface is a source filter.

use super::{blocks, claim_named_chains, interfaces};
use model::expr::Key;
use model::owner::ContainerRole;
use model::{Rule, Ruleset, Tool};

pub(super) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        claim_named_chains(
            table,
            &Tool::Tailscale,
            |n| n.starts_with("ts-"),
            |_| ContainerRole::Infrastructure,
            |_, r| Some(rule_role(r)),
        );
    }
}

/// `! -i tailscale0 -s 100.64.0.0/10 -j DROP`: a source filter.
fn rule_role(rule: &Rule) -> ContainerRole {
    let not_from_tun = interfaces(rule).any(|(k, negated, _)| k == Key::IifName && negated);
    if blocks(rule) && not_from_tun {
        ContainerRole::SourceFilter
    } else {
        ContainerRole::Infrastructure
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{iptables, rule_owner};
    use model::owner::ContainerRole;
    use model::tool_config::ToolConfig;
    use model::{Evidence, Family, Role, Tool};

    #[test]
    fn tailscale_chains_and_hooks() {
        let mut rs = iptables(
            "*filter\n:INPUT ACCEPT [0:0]\n:ts-input - [0:0]\n-A INPUT -j ts-input\n-A ts-input -s 100.101.102.103/32 -i lo -j ACCEPT\n-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN\n-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP\n-A ts-input -i tailscale0 -j ACCEPT\nCOMMIT\n",
            Family::Ip,
        );
        crate::recognise(&mut rs, &ToolConfig::default());
        let hook = rule_owner(&rs, "filter", "INPUT", 0);
        assert_eq!(hook.tool, Tool::Tailscale);
        assert_eq!(hook.evidence, Evidence::ChainName("ts-input".into()));
        let drop = rule_owner(&rs, "filter", "ts-input", 2);
        assert_eq!(drop.role, Role::Container(ContainerRole::SourceFilter));
        let acc = rule_owner(&rs, "filter", "ts-input", 3);
        assert_eq!(acc.role, Role::Container(ContainerRole::Infrastructure));
    }
}
