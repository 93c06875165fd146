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

#[cfg(test)]
mod tests {
    use frontends::ipf::{parse_ipf, parse_ippool, ParseOptions};
    use model::SourceFile;

    fn refused(rules: &str, pools: &str) -> Vec<u32> {
        let o = ParseOptions::default();
        let rules = parse_ipf(&SourceFile::new("ipf.conf", rules), &o).expect("rules");
        let pools = parse_ippool(&SourceFile::new("ippool.conf", pools), &o).expect("pools");
        let (kept, refused) = super::split(&rules, &pools);
        assert_eq!(kept.rules.len() + refused.len(), rules.rules.len());
        refused.iter().map(|r| r.origin.line).collect()
    }

    const RULES: &str = "call now srcgrpmap/1010 in all\npass in all\n\
                         call dstgrpmap/2010 out all\n";

    #[test]
    fn a_group_map_call_needs_its_map_in_its_direction() {
        assert_eq!(refused(RULES, ""), vec![1, 3]);
        let maps = "group-map in role = ipf number = 1010 { 1.1.1.1/32, group = 10; };\n\
                    group-map in role = ipf number = 2010 { 2.2.2.2/32, group = 20; };\n";
        // 2010 is an `in` map: the `out` rule calling it is refused.
        assert_eq!(refused(RULES, maps), vec![3]);
        let nat_role = "group-map in role = nat number = 1010 { 1.1.1.1/32, group = 10; };\n";
        assert_eq!(refused(RULES, nat_role), vec![1, 3]);
    }
}
