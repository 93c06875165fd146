//! libvirt's virtual networks: with nftables the tables `ip libvirt_network` / `ip6
//! libvirt_network` (chains `forward`, `guest_output`, `guest_input`, `guest_cross`,
//! `guest_nat`; libvirt `src/network/network_nftables.c`); with iptables the chains
//! `LIBVIRT_INP`, `LIBVIRT_OUT`, `LIBVIRT_FWO`, `LIBVIRT_FWI`, `LIBVIRT_FWX`,
//! `LIBVIRT_PRT` (`network_iptables.c`).

use super::{claim_named_chains, claim_table, published_port};
use model::owner::ContainerRole;
use model::{Rule, Ruleset, Tool};

/// libvirt's nftables table.
pub const NFT_TABLE: &str = "libvirt_network";

pub(super) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        if table.name == NFT_TABLE {
            claim_table(
                table,
                &Tool::Libvirt,
                |_| ContainerRole::Infrastructure,
                |_, r| rule_role(r),
            );
        } else {
            claim_named_chains(
                table,
                &Tool::Libvirt,
                |n| n.starts_with("LIBVIRT_"),
                |_| ContainerRole::Infrastructure,
                |_, r| Some(rule_role(r)),
            );
        }
    }
}

fn rule_role(rule: &Rule) -> ContainerRole {
    published_port(rule).map_or(ContainerRole::Infrastructure, ContainerRole::Published)
}
