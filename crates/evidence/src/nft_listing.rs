//! `nft -a list ruleset` text: which rules each chain holds, in order, with their handles.
//!
//! A traced rule is named by its handle (`# handle 9`, xtables-monitor's `rule:0x9`) or by
//! its text; the listing turns either into the rule's position in its chain, and the Nth
//! rule of a chain in the listing is the Nth rule of that chain in the file it was loaded
//! from (for iptables-nft and nft alike). Only the lines that matter are read: `table`,
//! `chain`, `type ... hook ...` and rule lines; sets, maps and elements are skipped.

use crate::trace::{family_from_name, strip_counters};
use model::Family;

/// One chain of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedChain {
    pub family: Family,
    pub table: String,
    pub name: String,
    /// Whether it is a base chain (`type filter hook input ...`).
    pub base: bool,
    /// Rules in order: handle (if listed with `-a`) and text without counters and handle.
    pub rules: Vec<(Option<u64>, String)>,
}

/// The chains of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub chains: Vec<ListedChain>,
}

impl Listing {
    pub fn chain(&self, family: Family, table: &str, chain: &str) -> Option<&ListedChain> {
        self.chains
            .iter()
            .find(|c| c.family == family && c.table == table && c.name == chain)
    }
}

/// Reads `nft -a list ruleset` (or without `-a`: then rules have no handles).
pub fn parse(text: &str) -> Listing {
    let mut listing = Listing::default();
    let mut table: Option<(Family, String)> = None;
    let mut in_chain = false;
    let mut depth_in_block = 0usize;
    for raw in text.lines() {
        let line = raw.trim();
        let no_comment = line.split(" # handle ").next().unwrap_or(line).trim();
        if let Some(rest) = no_comment.strip_prefix("table ") {
            let mut w = rest.split_whitespace();
            let fam = w.next().and_then(family_from_name);
            let name = w.next().map(|n| n.trim_end_matches('{').to_string());
            table = fam.zip(name);
            in_chain = false;
            continue;
        }
        if let (Some(rest), Some((fam, t))) = (no_comment.strip_prefix("chain "), &table) {
            let name = rest.trim_end_matches('{').trim().to_string();
            listing.chains.push(ListedChain {
                family: *fam,
                table: t.clone(),
                name,
                base: false,
                rules: Vec::new(),
            });
            in_chain = true;
            continue;
        }
        if !in_chain {
            continue;
        }
        // Set/map blocks inside a table are not inside a chain; blocks inside a rule (an
        // anonymous set spread over lines) are not split by nft's listing.
        if line.ends_with('{') {
            depth_in_block += 1;
            continue;
        }
        if line == "}" {
            if depth_in_block > 0 {
                depth_in_block -= 1;
            } else {
                in_chain = false;
            }
            continue;
        }
        let Some(chain) = listing.chains.last_mut() else {
            continue;
        };
        if no_comment.starts_with("type ") && no_comment.contains(" hook ") {
            chain.base = true;
            continue;
        }
        if line.is_empty()
            || no_comment.starts_with("policy ")
            || no_comment.starts_with("comment ")
        {
            continue;
        }
        let handle = line
            .rsplit_once(" # handle ")
            .and_then(|(_, h)| h.trim().parse().ok());
        chain.rules.push((handle, strip_counters(no_comment)));
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: &str = "table ip filter { # handle 3
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy drop;
\t\tiifname \"lo\" counter packets 0 bytes 0 accept # handle 6
\t\ttcp dport 22 counter packets 4 bytes 240 accept # handle 8
\t}

\tchain fwd-user { # handle 4
\t\tmeta l4proto icmp icmp type echo-request counter packets 0 bytes 0 accept # handle 15
\t}
}
";

    #[test]
    fn chains_rules_and_handles() {
        let l = parse(L);
        let c = l.chain(Family::Ip, "filter", "INPUT").unwrap();
        assert!(c.base);
        assert_eq!(
            c.rules,
            vec![
                (Some(6), "iifname \"lo\" counter accept".to_string()),
                (Some(8), "tcp dport 22 counter accept".to_string())
            ]
        );
        let u = l.chain(Family::Ip, "filter", "fwd-user").unwrap();
        assert!(!u.base);
        assert_eq!(u.rules[0].0, Some(15));
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "chain x {",
            "table",
            "table ip",
            "}\n}\n}",
            "table ip t {\nchain c {\n}\n}\nrule",
        ] {
            let _ = parse(t);
        }
    }
}
