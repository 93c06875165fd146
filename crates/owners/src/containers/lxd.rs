//! LXD and Incus: with nftables the table `inet lxd` / `inet incus` (chains `fwd.NET`,
//! `pstrt.NET`, `in.NET`, `out.NET`, the network ACL chains `acl.NET`, `aclin.NET`,
//! `aclout.NET`, `aclfwd.NET`, per-instance `in.INST.DEV`, `fwd.INST.DEV`,
//! `prert.INST.DEV`; LXD `lxd/firewall/drivers/drivers_nftables_templates.go`); with
//! xtables, rules commented `generated for LXD network NET` / `... for Incus ...`
//! (`drivers_xtables.go`).

use super::{claim_table, owner, published_port};
use crate::claim::claim;
use model::owner::ContainerRole;
use model::{Evidence, Family, Rule, Ruleset, Tool};

/// The table names of LXD and its fork Incus.
const TABLES: &[&str] = &["lxd", "incus"];

pub(super) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        if table.family == Family::Inet && TABLES.contains(&table.name.as_str()) {
            claim_table(
                table,
                &Tool::Lxd,
                |c| chain_role(&c.name),
                |c, r| match published_port(r) {
                    Some(p) => ContainerRole::Published(p),
                    None => chain_role(&c.name),
                },
            );
            continue;
        }
        for chain in &mut table.chains {
            for rule in &mut chain.rules {
                if let Some(c) = generated_comment(rule) {
                    let role = match published_port(rule) {
                        Some(p) => ContainerRole::Published(p),
                        None => ContainerRole::Infrastructure,
                    };
                    claim(
                        &mut rule.origin,
                        owner(&Tool::Lxd, Evidence::Comment(c), role),
                    );
                }
            }
        }
    }
}

fn generated_comment(rule: &Rule) -> Option<String> {
    let c = rule.origin.comment.as_deref()?;
    (c.starts_with("generated for LXD") || c.starts_with("generated for Incus"))
        .then(|| c.to_string())
}

/// `acl.lxdbr0` → the ACL of `lxdbr0`; an instance's filter chain (`in.c1.eth0`,
/// `fwd.c1.eth0`, `prert.c1.eth0`: three dot-separated parts) → its source filter.
fn chain_role(name: &str) -> ContainerRole {
    let mut parts = name.split('.');
    let kind = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    match (kind, rest.as_slice()) {
        ("acl" | "aclin" | "aclout" | "aclfwd", [net]) => ContainerRole::Acl(net.to_string()),
        ("in" | "fwd" | "prert", [_, _]) => ContainerRole::SourceFilter,
        _ => ContainerRole::Infrastructure,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{iptables, nft, rule_owner};
    use model::owner::ContainerRole;
    use model::tool_config::ToolConfig;
    use model::{Family, Role, Tool};

    #[test]
    fn lxd_table_acl_chain_and_xtables_comment() {
        let mut rs = nft("table inet lxd {
	chain acl.lxdbr0 {
		ct state established,related accept
		reject
	}
}
");
        crate::recognise(&mut rs, &ToolConfig::default());
        let acl = rule_owner(&rs, "lxd", "acl.lxdbr0", 1);
        assert_eq!(acl.tool, Tool::Lxd);
        assert_eq!(
            acl.role,
            Role::Container(ContainerRole::Acl("lxdbr0".into()))
        );

        let mut x = iptables(
            "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -o lxdbr0 -m comment --comment \"generated for LXD network lxdbr0\" -j ACCEPT\nCOMMIT\n",
            Family::Ip,
        );
        crate::recognise(&mut x, &ToolConfig::default());
        assert_eq!(rule_owner(&x, "filter", "FORWARD", 0).tool, Tool::Lxd);
    }
}
