//! The kernel side of a tool's own removal (`ufw delete N`, `fail2ban-client set JAIL
//! unbanip ADDR`): plain commands that take out exactly what the tool takes out, so that
//! `verify --fix` can apply the removal in a test host. A rule read from `iptables-save`
//! is deleted by its own specification (`iptables -D CHAIN <spec>`, as fail2ban's
//! `actionunban` does), which names it whatever its number; a rule from an nft listing by
//! its handle; a set element by its value (`nft delete element`, `ipset del`).

use crate::fix::{FixRule, Position};
use model::ruleset::NamedSet;
use model::{Dialect, Family, Ruleset};
use std::net::IpAddr;

/// The commands that delete rules `rules` (model indices) of chain `chain` of table
/// `table`, one per source rule; `None` when one of them cannot be named for the kernel
/// (no `-A` line, no nft handle): a partial removal would verify something else.
pub(crate) fn delete_rules(
    ruleset: &Ruleset,
    table: usize,
    chain: usize,
    rules: &[usize],
) -> Option<Vec<FixRule>> {
    let t = ruleset.tables.get(table)?;
    let c = t.chains.get(chain)?;
    let mut out: Vec<FixRule> = Vec::new();
    let mut last_span = None;
    for &i in rules {
        let origin = &c.rules.get(i)?.origin;
        // Several model rules can come from one source rule (`-s a,b`): delete it once.
        if !origin.span.is_empty() && last_span == Some(origin.span) {
            continue;
        }
        last_span = Some(origin.span);
        let command = match origin.dialect? {
            Dialect::Iptables => {
                let spec = origin.text.strip_prefix(&format!("-A {} ", c.name))?;
                let tool = if t.family == Family::Ip6 {
                    "ip6tables"
                } else {
                    "iptables"
                };
                let table_opt = if t.name == "filter" {
                    String::new()
                } else {
                    format!("-t {} ", t.name)
                };
                format!("{tool} {table_opt}-D {} {spec}", c.name)
            }
            Dialect::NftText | Dialect::NftJson => format!(
                "nft delete rule {} {} {} handle {}",
                t.family, t.name, c.name, origin.handle?
            ),
        };
        out.push(FixRule {
            command,
            body: origin.text.to_string(),
            family: t.family,
            table: t.name.clone(),
            chain: c.name.clone(),
            position: Position::Delete,
        });
    }
    Some(out)
}

/// `nft delete element` of `address` from set `set` of table `table`.
pub(crate) fn delete_nft_element(
    ruleset: &Ruleset,
    table: usize,
    set: &str,
    address: IpAddr,
) -> Option<FixRule> {
    let t = ruleset.tables.get(table)?;
    Some(FixRule {
        command: format!(
            "nft delete element {} {} {set} {{ {address} }}",
            t.family, t.name
        ),
        body: address.to_string(),
        family: t.family,
        table: t.name.clone(),
        chain: set.to_string(),
        position: Position::Delete,
    })
}

/// `ipset del` of `address` from the ipset `set` (`-exist`: already gone is not an
/// error, as fail2ban's `iptables-ipset` action runs it). An ipset has no table; its
/// family is the address'.
pub(crate) fn delete_ipset_element(set: &NamedSet, address: IpAddr) -> FixRule {
    FixRule {
        command: format!("ipset -exist del {} {address}", set.name),
        body: address.to_string(),
        family: if address.is_ipv6() {
            Family::Ip6
        } else {
            Family::Ip
        },
        table: String::new(),
        chain: set.name.clone(),
        position: Position::Delete,
    }
}

/// The commands and positions of `rules`, for tests to compare.
#[cfg(test)]
pub(crate) fn commands(rules: &[FixRule]) -> Vec<(&str, Position)> {
    rules
        .iter()
        .map(|k| (k.command.as_str(), k.position))
        .collect()
}
