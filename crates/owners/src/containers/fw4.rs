//! OpenWrt's firewall4: the table `inet fw4`. Its per-zone chains are named after the
//! zone (`input_lan`, `forward_wan`, `output_lan`, `helper_lan`, `dstnat_wan`,
//! `srcnat_wan`, `accept_from_lan`, `reject_to_wan`, ...; firewall4
//! `root/usr/share/firewall4/templates/ruleset.uc`); everything else in the table
//! (`input`, `forward`, `handle_reject`, `syn_flood`, `raw_*`, `mangle_*`) is its
//! dispatch.

use super::claim_table;
use model::owner::ContainerRole;
use model::{Family, Ruleset, Tool};

/// fw4's table (family `inet`).
pub const TABLE: &str = "fw4";

/// The prefixes of the per-zone chains, longest first so `accept_from_` wins over none.
const ZONE_PREFIXES: &[&str] = &[
    "accept_from_",
    "accept_to_",
    "reject_from_",
    "reject_to_",
    "drop_from_",
    "drop_to_",
    "forward_",
    "output_",
    "input_",
    "helper_",
    "dstnat_",
    "srcnat_",
];

pub(super) fn recognise(ruleset: &mut Ruleset) {
    for table in &mut ruleset.tables {
        if table.family == Family::Inet && table.name == TABLE {
            claim_table(table, &Tool::Fw4, |c| role(&c.name), |c, _| role(&c.name));
        }
    }
}

/// The zone a chain belongs to (`reject_from_wan` → `wan`).
pub fn zone_of(chain: &str) -> Option<&str> {
    ZONE_PREFIXES
        .iter()
        .find_map(|p| chain.strip_prefix(p))
        .filter(|z| !z.is_empty())
}

fn role(chain: &str) -> ContainerRole {
    zone_of(chain).map_or(ContainerRole::Infrastructure, |z| {
        ContainerRole::Zone(z.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn zone_chains_name_their_zone() {
        assert_eq!(super::zone_of("reject_from_wan"), Some("wan"));
        assert_eq!(super::zone_of("input_lan"), Some("lan"));
        assert_eq!(super::zone_of("handle_reject"), None);
        assert_eq!(super::zone_of("input"), None);
    }
}
