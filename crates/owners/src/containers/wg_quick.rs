//! wg-quick: for a tunnel that takes the default route it adds, per family, the table
//! `wg-quick-IFACE` (chains `preraw` at prerouting -300: drop packets to the tunnel's
//! address that did not come in by it; `premangle`/`postmangle` at ±-150: copy the
//! fwmark to and from conntrack), or with iptables the same rules commented `wg-quick(8)
//! rule for IFACE`; and the policy routing `not fwmark TABLE lookup TABLE` plus `lookup
//! main suppress_prefixlength 0` (wireguard-tools `src/wg-quick/linux.bash`,
//! `add_default`). [`policy`] reads that policy routing back from the host.

use super::{blocks, claim_table, owner};
use crate::claim::claim;
use model::host::{PolicyRule, RuleAction};
use model::owner::ContainerRole;
use model::{Evidence, Host, Ruleset, Tool};

/// The prefix of wg-quick's tables.
pub const TABLE_PREFIX: &str = "wg-quick-";

/// The id of the main routing table.
const MAIN: u32 = 254;

pub(super) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        if table.name.starts_with(TABLE_PREFIX) {
            claim_table(
                table,
                &Tool::WgQuick,
                |_| ContainerRole::Infrastructure,
                |c, r| {
                    if c.name == "preraw" && blocks(r) {
                        ContainerRole::SourceFilter
                    } else {
                        ContainerRole::Infrastructure
                    }
                },
            );
            continue;
        }
        for chain in &mut table.chains {
            for rule in &mut chain.rules {
                let Some(c) = rule.origin.comment.clone() else {
                    continue;
                };
                if c.starts_with("wg-quick(8) rule for ") {
                    let role = if blocks(rule) {
                        ContainerRole::SourceFilter
                    } else {
                        ContainerRole::Infrastructure
                    };
                    claim(
                        &mut rule.origin,
                        owner(&Tool::WgQuick, Evidence::Comment(c), role),
                    );
                }
            }
        }
    }
}

/// wg-quick's policy routing for one family, as the host's `ip rule` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgQuickPolicy {
    /// IPv6 (`ip -6 rule`) rather than IPv4.
    pub v6: bool,
    /// The fwmark and routing table wg-quick chose (51820 unless taken).
    pub table: u32,
    /// Priority of `not fwmark TABLE lookup TABLE`: every packet without the tunnel's own
    /// mark is routed by `table`.
    pub not_fwmark_priority: u32,
    /// Priority of `lookup main suppress_prefixlength 0`, when present: main's routes
    /// other than its default route still win.
    pub suppress_priority: Option<u32>,
    /// The interfaces `table`'s routes send to (`wg0`).
    pub devices: Vec<String>,
    /// The prefixes `table` routes (`0.0.0.0/0`, `::/0`).
    pub routed: Vec<ipnet::IpNet>,
}

/// wg-quick's policy routing on `host`, per family: empty when no `not fwmark N lookup N`
/// rule is there (or the policy rules were not given).
pub fn policy(host: &Host) -> Vec<WgQuickPolicy> {
    host.rules
        .iter()
        .filter_map(|r| {
            let table = not_fwmark_table(r)?;
            let suppress_priority = host
                .rules
                .iter()
                .find(|s| {
                    s.v6 == r.v6
                        && s.action == RuleAction::Lookup(MAIN)
                        && s.suppress_prefixlen == Some(0)
                })
                .map(|s| s.priority);
            let routes = host
                .routes
                .iter()
                .filter(|rt| rt.table == table && rt.dst.addr().is_ipv6() == r.v6);
            let mut devices: Vec<String> = Vec::new();
            let mut routed = Vec::new();
            for rt in routes {
                routed.push(rt.dst);
                if let Some(d) = &rt.dev {
                    if !devices.contains(d) {
                        devices.push(d.clone());
                    }
                }
            }
            Some(WgQuickPolicy {
                v6: r.v6,
                table,
                not_fwmark_priority: r.priority,
                suppress_priority,
                devices,
                routed,
            })
        })
        .collect()
}

/// `not fwmark N lookup N` (any mask wg-quick would leave: none, or all ones).
fn not_fwmark_table(rule: &PolicyRule) -> Option<u32> {
    let (mark, mask) = rule.fwmark?;
    match rule.action {
        RuleAction::Lookup(t) if rule.not && t == mark && mask == u32::MAX => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{nft, rule_owner};
    use model::owner::ContainerRole;
    use model::tool_config::ToolConfig;
    use model::{Role, Tool};

    #[test]
    fn wg_quick_table_preraw_drop_is_a_source_filter() {
        let mut rs = nft("table ip wg-quick-wg0 {
	chain preraw {
		type filter hook prerouting priority raw; policy accept;
		iifname != \"wg0\" ip daddr 10.0.0.2 fib saddr type != local drop
	}
	chain postmangle {
		type filter hook postrouting priority mangle; policy accept;
		meta l4proto udp meta mark 0x0000ca6c ct mark set meta mark
	}
}
");
        crate::recognise(&mut rs, &ToolConfig::default());
        let drop = rule_owner(&rs, "wg-quick-wg0", "preraw", 0);
        assert_eq!(drop.tool, Tool::WgQuick);
        assert_eq!(drop.role, Role::Container(ContainerRole::SourceFilter));
    }
}
