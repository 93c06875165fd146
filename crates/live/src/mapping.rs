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
        let rule = *kernel_positions(ruleset, c).get(pos)?;
        Some(RuleRef {
            table: c.table,
            chain: c.chain,
            rule,
        })
    }
}

/// How many kernel rules `iptables-restore` makes of one source rule: one per pair of
/// `-s`/`-d` list elements (`-s a,b -d c` is two rules).
pub fn kernel_rules_of(text: &str) -> usize {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| {
            matches!(
                w[0],
                "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst"
            )
        })
        .map(|w| w[1].split(',').filter(|x| !x.is_empty()).count().max(1))
        .product::<usize>()
        .max(1)
}

/// For each kernel rule of chain `c` (by position), the model rule it stands for.
///
/// Source rules and kernel rules line up through the rule text: `iptables-restore` splits
/// a rule into one kernel rule per `-s`/`-d` element pair, and the front end does the same;
/// where the front end splits a rule the kernel keeps whole (`--ports` as two exclusive
/// alternatives, a negated ICMP type/code pair), every kernel rule of that source rule
/// maps to the first model rule of it (the comparison treats rules of one source rule as
/// the same rule).
pub fn kernel_positions(ruleset: &Ruleset, c: ChainRef) -> Vec<usize> {
    let chain = ruleset.chain_at(c);
    let mut out = Vec::with_capacity(chain.rules.len());
    let mut i = 0;
    while i < chain.rules.len() {
        let span = chain.rules[i].origin.span;
        let mut j = i + 1;
        while j < chain.rules.len() && chain.rules[j].origin.span == span && !span.is_empty() {
            j += 1;
        }
        let group = j - i;
        let o = &chain.rules[i].origin;
        let kernel = ruleset
            .source(&o.file)
            .and_then(|src| src.text.get(o.span.start as usize..o.span.end as usize))
            .map_or(group, kernel_rules_of);
        if kernel == group {
            out.extend(i..j);
        } else {
            out.extend(std::iter::repeat_n(i, kernel));
        }
        i = j;
    }
    out
}

/// The model rule of a rule of a chain binding (`jump { ... }`), which `nft list` never
/// shows. `nft -f` creates the binding chain and its rules just before the rule that jumps
/// there, from one handle counter per table: the binding's N kernel rules have handles
/// `outer - N .. outer` (for a binding without nested bindings; otherwise `None` and the
/// step stays unmapped, never silently misplaced).
pub fn binding_rule_ref(
    ruleset: &Ruleset,
    chain: ChainRef,
    outer_handle: u64,
    handle: u64,
) -> Option<RuleRef> {
    let positions = kernel_positions(ruleset, chain);
    let c = ruleset.chain_at(chain);
    let nested = c.rules.iter().any(|r| {
        matches!(r.verdict(), Some(model::Verdict::Jump(n) | model::Verdict::Goto(n)) if n.starts_with("__chain"))
    });
    let n = positions.len() as u64;
    if nested || handle >= outer_handle || outer_handle - handle > n {
        return None;
    }
    let pos = (n - (outer_handle - handle)) as usize;
    Some(RuleRef {
        table: chain.table,
        chain: chain.chain,
        rule: *positions.get(pos)?,
    })
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
    fn kernel_rule_counts_follow_address_lists() {
        assert_eq!(
            kernel_rules_of("-A INPUT -s 1.2.3.4,5.6.7.8 -d 9.9.9.9 -j DROP"),
            2
        );
        assert_eq!(kernel_rules_of("-A INPUT -s a,b -d c,d -j DROP"), 4);
        assert_eq!(
            kernel_rules_of("-A INPUT -p icmp -m icmp ! --icmp-type 3/3 -j DROP"),
            1
        );
    }

    #[test]
    fn binding_rules_take_the_handles_before_the_jumping_rule() {
        let src = model::SourceFile::new(
            "b.nft",
            "table inet t {\n chain c {\n  type filter hook forward priority 0;\n  tcp dport 22 jump {\n   ip saddr 10.0.0.1 accept\n   ip saddr 10.0.0.2 drop\n  }\n }\n}\n",
        );
        let rs = frontends::nft::parse_text(&src).unwrap();
        let c = chain_ref(&rs, Family::Inet, "t", "__chain0").unwrap();
        // Observed with nft 1.0.6: chain 1, binding chain 2, inner rules 3 and 4, outer 5.
        assert_eq!(binding_rule_ref(&rs, c, 5, 3).map(|r| r.rule), Some(0));
        assert_eq!(binding_rule_ref(&rs, c, 5, 4).map(|r| r.rule), Some(1));
        assert_eq!(binding_rule_ref(&rs, c, 5, 2), None);
        assert_eq!(binding_rule_ref(&rs, c, 5, 5), None);
    }

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
