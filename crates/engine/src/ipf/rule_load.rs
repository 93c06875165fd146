//! The rules the kernel refuses as `ipf` (or `ipftest`) loads them: `frrequest` in
//! `fil.c` calls a `call` rule's init function, and `ipf_grpmapinit` fails (`ESRCH`) for
//! `call srcgrpmap/N` and `call dstgrpmap/N` when no group map of role `ipf` is named
//! N, or when the map's direction (`group-map in|out`) is not the rule's. `ipf` reports
//! the failed ioctl and goes on with the next rule: the refused rule is not in any list.

use model::ipf::filter::{Action, Dir};
use model::ipf::pool::{PoolDef, PoolRole};
use model::ipf::{FilterRule, IpfRules, PoolName, Pools};

/// Whether the kernel accepts `rule` with `pools` loaded.
fn accepted(rule: &FilterRule, pools: &Pools) -> bool {
    let Action::Call { function, arg, .. } = &rule.action else {
        return true;
    };
    if !matches!(function.as_str(), "srcgrpmap" | "dstgrpmap") {
        return true;
    }
    // `ipf_grpmapinit`: the table is looked up by the name `"%d"` of the argument.
    let name = arg.to_string();
    pools.defs.iter().any(|def| {
        matches!(def, PoolDef::GroupMap(map)
            if map.role == PoolRole::Ipf
                && match &map.name {
                    PoolName::Number(n) => *n == *arg,
                    PoolName::Name(s) => *s == name,
                }
                && map.incoming == (rule.direction == Dir::In))
    })
}

/// `rules` without the ones the kernel refuses, and the refused ones.
pub(super) fn split(rules: &IpfRules, pools: &Pools) -> (IpfRules, Vec<FilterRule>) {
    let (kept, refused) = rules
        .rules
        .iter()
        .cloned()
        .partition(|rule| accepted(rule, pools));
    (
        IpfRules {
            rules: kept,
            tunables: rules.tunables.clone(),
        },
        refused,
    )
}
