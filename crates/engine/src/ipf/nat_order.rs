//! The order the kernel tries NAT rules in (`ipf_nat_checkin`, `ipf_nat_checkout`):
//! rules sit in hash lists by the network they match (`ipf_nat_addrdr` by destination,
//! `ipf_nat_addmap` by source), and the lists are searched from the longest mask to the
//! shortest (`ipf_inet_mask_add` keeps the masks in that order). Within one mask, rules
//! keep the order they were loaded in, except that a `round-robin` `rdr` rule that
//! translated moves to the end of its list (`ipf_nat_add`). Two networks of one mask
//! sharing a hash bucket are not modelled: the kernel reads such a list whole, which
//! only matters when both rules match, and they cannot (their networks differ).

use model::ipf::nat::{NatAddr, NatDir, NatKind, NatMatch, NatRule, NatTarget};
use model::ipf::Addr;

use super::nat::{ip_u128, NatState};

/// The rules of the `rdr` table (inbound) or the `map` table (outbound), in the order
/// the kernel tries them.
pub(super) fn rules_in_order(rules: &[NatRule], state: &NatState, inbound: bool) -> Vec<usize> {
    let seq = if inbound {
        &state.rdr_moved
    } else {
        &state.map_moved
    };
    let mut order: Vec<usize> = (0..rules.len())
        .filter(|&i| in_table(&rules[i], inbound))
        .collect();
    // Moved rules go after the others, in the order they moved.
    order.sort_by_key(|i| {
        let moved = seq.iter().position(|m| m == i);
        (
            std::cmp::Reverse(mask_bits(&rules[*i], inbound)),
            moved.is_some(),
            moved.unwrap_or(0),
            *i,
        )
    });
    order
}

/// Whether the rule is in the `rdr` (`NAT_REDIRECT`) or the `map` table (`NAT_MAP`,
/// `NAT_MAPBLK`); a `bimap` is in both.
fn in_table(rule: &NatRule, inbound: bool) -> bool {
    match rule.kind {
        NatKind::Bimap => true,
        NatKind::Rdr => inbound,
        NatKind::Map | NatKind::MapBlock => !inbound,
        NatKind::Rewrite | NatKind::Divert => (rule.direction == Some(NatDir::In)) == inbound,
    }
}

/// The length of the mask the rule is filed under: the destination's for the `rdr`
/// table (a `bimap`'s mapped network), the source's for the `map` table; 0 for
/// anything but a plain network.
fn mask_bits(rule: &NatRule, inbound: bool) -> u32 {
    let net = match (&rule.matcher, inbound) {
        _ if inbound && rule.kind == NatKind::Bimap => match &rule.target {
            NatTarget::Net(NatAddr::Net(m)) => Some(m.mask),
            _ => None,
        },
        (
            NatMatch::Simple {
                addr: NatAddr::Net(m),
                ..
            },
            _,
        ) => Some(m.mask),
        (NatMatch::FromTo { from, to }, _) => {
            let end = if inbound { to } else { from };
            match &end.addr {
                Addr::Net(m) => Some(m.mask),
                _ => None,
            }
        }
        _ => None,
    };
    net.map_or(0, |m| ip_u128(m).count_ones())
}

impl NatState {
    /// `ipf_nat_delrdr` then `ipf_nat_addrdr`: the rule goes to the end of its list.
    pub(super) fn move_to_end(&mut self, rule: usize, inbound: bool) {
        let seq = if inbound {
            &mut self.rdr_moved
        } else {
            &mut self.map_moved
        };
        seq.retain(|&r| r != rule);
        seq.push(rule);
    }
}
