//! Kernel rule handles back to the user's rules.
//!
//! The kernel's trace names a rule by table, chain and handle. `nft -a -j list ruleset`
//! (inside the router namespace) lists every chain's rules in order with their handles; the
//! Nth rule of a chain in that listing is the Nth rule of the same chain in the user's file,
//! for iptables-nft (an iptables table `filter` is nft table `ip filter` / `ip6 filter`,
//! chains named as in iptables) and for nft text alike. So a handle maps to its position,
//! and the position to the [`RuleRef`] of the model ruleset the user gave.

use model::{ChainRef, Family, Hook, RuleRef, Ruleset};
use std::collections::HashMap;

/// One chain of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedChain {
    /// For base chains: the hook and priority.
    pub hook: Option<(Hook, i32)>,
    /// Rule handles in rule order.
    pub handles: Vec<u64>,
}

/// The kernel's view of the loaded ruleset.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub chains: HashMap<(Family, String, String), ListedChain>,
}

fn family(s: &str) -> Option<Family> {
    Some(match s {
        "ip" => Family::Ip,
        "ip6" => Family::Ip6,
        "inet" => Family::Inet,
        "arp" => Family::Arp,
        "bridge" => Family::Bridge,
        "netdev" => Family::Netdev,
        _ => return None,
    })
}

fn hook(s: &str) -> Option<Hook> {
    Some(match s {
        "ingress" => Hook::Ingress,
        "prerouting" => Hook::Prerouting,
        "input" => Hook::Input,
        "forward" => Hook::Forward,
        "output" => Hook::Output,
        "postrouting" => Hook::Postrouting,
        "egress" => Hook::Egress,
        _ => return None,
    })
}

impl Listing {
    /// Reads `nft -a -j list ruleset` output.
    pub fn parse(json: &str) -> Result<Listing, String> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("nft -j list ruleset: {e}"))?;
        let items = v["nftables"]
            .as_array()
            .ok_or("nft -j list ruleset: no `nftables` array")?;
        let mut l = Listing::default();
        for item in items {
            if let Some(c) = item.get("chain") {
                let (Some(f), Some(t), Some(n)) = (
                    c["family"].as_str().and_then(family),
                    c["table"].as_str(),
                    c["name"].as_str(),
                ) else {
                    continue;
                };
                let h = c["hook"]
                    .as_str()
                    .and_then(hook)
                    .map(|h| (h, c["prio"].as_i64().unwrap_or(0) as i32));
                l.chains.insert(
                    (f, t.to_string(), n.to_string()),
                    ListedChain {
                        hook: h,
                        handles: Vec::new(),
                    },
                );
            } else if let Some(r) = item.get("rule") {
                let (Some(f), Some(t), Some(c), Some(h)) = (
                    r["family"].as_str().and_then(family),
                    r["table"].as_str(),
                    r["chain"].as_str(),
                    r["handle"].as_u64(),
                ) else {
                    continue;
                };
                if let Some(ch) = l.chains.get_mut(&(f, t.to_string(), c.to_string())) {
                    ch.handles.push(h);
                }
            }
        }
        Ok(l)
    }

    pub fn chain(&self, family: Family, table: &str, chain: &str) -> Option<&ListedChain> {
        self.chains
            .get(&(family, table.to_string(), chain.to_string()))
    }

    /// The hook of a base chain.
    pub fn hook_of(&self, family: Family, table: &str, chain: &str) -> Option<Hook> {
        self.chain(family, table, chain)
            .and_then(|c| c.hook)
            .map(|h| h.0)
    }

    /// The 0-based position of rule `handle` in its chain.
    pub fn position(&self, family: Family, table: &str, chain: &str, handle: u64) -> Option<usize> {
        self.chain(family, table, chain)?
            .handles
            .iter()
            .position(|&h| h == handle)
    }

    /// The user's rule for a kernel rule.
    pub fn rule_ref(
        &self,
        ruleset: &Ruleset,
        family: Family,
        table: &str,
        chain: &str,
        handle: u64,
    ) -> Option<RuleRef> {
        let pos = self.position(family, table, chain, handle)?;
        let c = chain_ref(ruleset, family, table, chain)?;
        (pos < ruleset.chain_at(c).rules.len()).then_some(RuleRef {
            table: c.table,
            chain: c.chain,
            rule: pos,
        })
    }
}

/// The model chain with this family, table and name.
pub fn chain_ref(ruleset: &Ruleset, family: Family, table: &str, chain: &str) -> Option<ChainRef> {
    let t = ruleset.table(family, table)?;
    let c = ruleset.tables[t].chain(chain)?;
    Some(ChainRef { table: t, chain: c })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
      {"table": {"family": "ip", "name": "filter", "handle": 1}},
      {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
      {"chain": {"family": "ip", "table": "filter", "name": "sub", "handle": 3}},
      {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 4, "expr": []}},
      {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 6, "expr": []}},
      {"rule": {"family": "ip", "table": "filter", "chain": "sub", "handle": 5, "expr": []}}]}"#;

    #[test]
    fn positions_follow_listing_order() {
        let l = Listing::parse(LISTING).unwrap();
        assert_eq!(l.position(Family::Ip, "filter", "INPUT", 6), Some(1));
        assert_eq!(l.position(Family::Ip, "filter", "sub", 5), Some(0));
        assert_eq!(l.position(Family::Ip6, "filter", "INPUT", 6), None);
        assert_eq!(l.hook_of(Family::Ip, "filter", "INPUT"), Some(Hook::Input));
        assert_eq!(l.hook_of(Family::Ip, "filter", "sub"), None);
    }
}
