//! Recognising fail2ban's objects, in the shapes its actions write them
//! (`config/action.d` of fail2ban 1.0):
//! - `iptables-multiport` / `iptables-allports` / `iptables`: a chain `f2b-JAIL` reached
//!   from `INPUT` (`-p tcp -m multiport --dports 22 -j f2b-sshd`), one ban per address
//!   (`-I f2b-sshd 1 -s 1.2.3.4 -j REJECT --reject-with icmp-port-unreachable`) and a final
//!   `-j RETURN`;
//! - `iptables-ipset*`: an ipset `f2b-JAIL` and a rule `-m set --match-set f2b-JAIL src -j
//!   REJECT`;
//! - `nftables`: `table inet f2b-table` with a set `addr-set-JAIL` (`addr6-set-JAIL`) looked up by
//!   `f2b-chain`'s rules.
//!
//! A ban in a chain is its own rule ([`Fail2banRole::Ban`]); a ban that is a set element is
//! found by the remedy from the set the deciding rule looked up ([`Fail2banRole::Jail`]).

use crate::claim::claim;
use model::expr::SetRef;
use model::owner::Fail2banRole;
use model::tool_config::ToolConfig;
use model::{
    Evidence, Key, Match, Owner, Pattern, Role, Rule, Ruleset, Test, Tool, Value, Verdict,
};
use std::net::IpAddr;

/// The table fail2ban's `nftables` action creates (`table_family = inet`, `table = f2b-table`).
const NFT_TABLE: &str = "f2b-table";
/// The prefixes of its sets there: `addr-set-JAIL` (IPv4) and `addr6-set-JAIL` (IPv6, as
/// fail2ban's `action.d/nftables.conf` names them).
const NFT_SET_PREFIXES: [&str; 2] = ["addr-set-", "addr6-set-"];

/// The jail of an nft set of fail2ban's table.
fn nft_jail(set: &str) -> Option<&str> {
    NFT_SET_PREFIXES.iter().find_map(|p| set.strip_prefix(p))
}
/// The prefix of its iptables chains and ipsets: `f2b-JAIL`.
const CHAIN_PREFIX: &str = "f2b-";

/// Claims fail2ban's tables, chains, sets and rules.
pub(crate) fn recognise(ruleset: &mut Ruleset, _config: &ToolConfig) {
    for set in &mut ruleset.ipsets {
        if let Some(jail) = set.name.strip_prefix(CHAIN_PREFIX) {
            let owner = jail_owner(jail, Evidence::ChainName(set.name.clone()));
            claim(&mut set.origin, owner);
        }
    }
    for table in &mut ruleset.tables {
        let nft_table = table.name == NFT_TABLE;
        if nft_table {
            let owner = Owner::new(Tool::Fail2ban, Evidence::TableName(table.name.clone()));
            claim(&mut table.origin, owner);
            for set in &mut table.sets {
                if let Some(jail) = nft_jail(&set.name) {
                    let owner = jail_owner(jail, Evidence::TableName(NFT_TABLE.into()));
                    claim(&mut set.origin, owner);
                }
            }
        }
        for chain in &mut table.chains {
            let jail = chain.name.strip_prefix(CHAIN_PREFIX).map(str::to_string);
            if let Some(jail) = &jail {
                if !nft_table {
                    let owner = jail_owner(jail, Evidence::ChainName(chain.name.clone()));
                    claim(&mut chain.origin, owner);
                }
            }
            if nft_table {
                let owner = Owner::new(Tool::Fail2ban, Evidence::TableName(NFT_TABLE.into()));
                claim(&mut chain.origin, owner);
            }
            for rule in &mut chain.rules {
                if let Some(owner) =
                    rule_owner(rule, jail.as_deref().filter(|_| !nft_table), nft_table)
                {
                    claim(&mut rule.origin, owner);
                }
            }
        }
    }
}

fn jail_owner(jail: &str, evidence: Evidence) -> Owner {
    Owner {
        tool: Tool::Fail2ban,
        evidence,
        role: Role::Fail2ban(Fail2banRole::Jail(jail.to_string())),
    }
}

/// What a rule is to fail2ban: a ban in jail chain `jail`, a jump into a jail chain, a
/// lookup of a jail's set; `None` for a rule that is not fail2ban's.
fn rule_owner(rule: &Rule, jail: Option<&str>, nft_table: bool) -> Option<Owner> {
    if let Some(jail) = jail {
        let evidence = Evidence::ChainName(format!("{CHAIN_PREFIX}{jail}"));
        let role = match (banned_source(rule), rule.verdict()) {
            (Some(address), Some(Verdict::Drop | Verdict::Reject(_))) => Fail2banRole::Ban {
                jail: jail.to_string(),
                address,
            },
            _ => Fail2banRole::Jail(jail.to_string()),
        };
        return Some(Owner {
            tool: Tool::Fail2ban,
            evidence,
            role: Role::Fail2ban(role),
        });
    }
    if let Some(Verdict::Jump(target) | Verdict::Goto(target)) = rule.verdict() {
        if let Some(jail) = target.strip_prefix(CHAIN_PREFIX) {
            return Some(jail_owner(jail, Evidence::ChainName(target.clone())));
        }
    }
    let looked_up = rule.matches().find_map(|m| match &m.test {
        Test::InSet {
            set: SetRef::Ipset { name, .. },
            ..
        } => name.strip_prefix(CHAIN_PREFIX).map(|j| (j, name.clone())),
        Test::InSet {
            set: SetRef::Table(name),
            ..
        } if nft_table => nft_jail(name).map(|j| (j, NFT_TABLE.to_string())),
        _ => None,
    });
    match looked_up {
        Some((jail, evidence)) if nft_table => {
            Some(jail_owner(jail, Evidence::TableName(evidence)))
        }
        Some((jail, evidence)) => Some(jail_owner(jail, Evidence::ChainName(evidence))),
        None if nft_table => Some(Owner::new(
            Tool::Fail2ban,
            Evidence::TableName(NFT_TABLE.into()),
        )),
        None => None,
    }
}

/// The one source address a ban rule matches (`-s 1.2.3.4/32`).
fn banned_source(rule: &Rule) -> Option<IpAddr> {
    let mut sources = rule.matches().filter_map(|m: &Match| match &m.test {
        Test::Cmp {
            key: Key::SrcAddr,
            pattern,
        } if !m.negated => match pattern {
            Pattern::Value(Value::Addr(a)) => Some(*a),
            Pattern::Prefix(net) if net.prefix_len() == net.max_prefix_len() => Some(net.addr()),
            _ => None,
        },
        _ => None,
    });
    let first = sources.next()?;
    sources.next().is_none().then_some(first)
}

#[cfg(test)]
#[path = "fail2ban_tests.rs"]
mod tests;
