//! podman's netavark: with its nftables driver the table `inet netavark` (chains `INPUT`,
//! `FORWARD`, `POSTROUTING`, `PREROUTING`, `OUTPUT`, `NETAVARK-HOSTPORT-DNAT`,
//! `NETAVARK-HOSTPORT-SETMARK`, `NETAVARK-ISOLATION-1/2/3`, `nv_<id>_<subnet>[_dnat]`;
//! netavark `src/firewall/nft.rs`); with its iptables driver the `NETAVARK*` chains
//! (`NETAVARK_FORWARD`, `NETAVARK_ISOLATION_2`, `NETAVARK-HOSTPORT-DNAT`, `NETAVARK-<id>`,
//! `NETAVARK-DN-<id>`; `src/firewall/varktables/types.rs`).

use super::{claim_named_chains, claim_table, published_port};
use model::owner::ContainerRole;
use model::{Family, Rule, Ruleset, Tool};

/// netavark's nftables table (family `inet`).
pub const NFT_TABLE: &str = "netavark";

pub(super) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        if table.family == Family::Inet && table.name == NFT_TABLE {
            claim_table(
                table,
                &Tool::Netavark,
                |c| chain_role(&c.name),
                |c, r| rule_role(&c.name, r),
            );
        } else {
            claim_named_chains(
                table,
                &Tool::Netavark,
                |n| n.starts_with("NETAVARK"),
                chain_role,
                |c, r| Some(rule_role(&c.name, r)),
            );
        }
    }
}

fn chain_role(name: &str) -> ContainerRole {
    if name.contains("ISOLATION") {
        ContainerRole::Isolation
    } else {
        ContainerRole::Infrastructure
    }
}

fn rule_role(chain: &str, rule: &Rule) -> ContainerRole {
    match published_port(rule) {
        Some(p) => ContainerRole::Published(p),
        None => chain_role(chain),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{nft, rule_owner};
    use model::owner::ContainerRole;
    use model::tool_config::ToolConfig;
    use model::{Role, Tool};

    #[test]
    fn netavark_table_isolation_and_published_port() {
        let mut rs = nft("table inet netavark {
	chain FORWARD {
		type filter hook forward priority filter; policy accept;
		ct state invalid drop
		jump NETAVARK-ISOLATION-1
	}
	chain NETAVARK-ISOLATION-1 {
		iifname \"podman1\" oifname != \"podman1\" jump NETAVARK-ISOLATION-2
	}
	chain NETAVARK-ISOLATION-2 {
		oifname \"podman0\" drop
	}
	chain nv_2f259bab_10_88_0_0_nm16_dnat {
		tcp dport 8080 dnat ip to 10.88.0.2:80
	}
}
");
        crate::recognise(&mut rs, &ToolConfig::default());
        let iso = rule_owner(&rs, "netavark", "NETAVARK-ISOLATION-2", 0);
        assert_eq!(iso.tool, Tool::Netavark);
        assert_eq!(iso.role, Role::Container(ContainerRole::Isolation));
        let dnat = rule_owner(&rs, "netavark", "nv_2f259bab_10_88_0_0_nm16_dnat", 0);
        assert!(matches!(
            &dnat.role,
            Role::Container(ContainerRole::Published(p)) if p.host_port == 8080 && p.container_port == 80
        ));
    }
}
