//! Counter diffs: which rules' packet/byte counters moved between two listings of the same
//! ruleset, in path order — the manual "list -v, retry, list -v again" method, automated.
//!
//! ## What it does
//! Reads both listings into [`Row`]s (one per rule and one per built-in chain policy), pairs
//! each row of AFTER with the row of BEFORE at the same place (same family, table, chain,
//! same rule text, same occurrence of that text in the chain, so an inserted rule does not
//! shift the others), and reports the deltas.
//!
//! ## Why it is not silently wrong
//! A rule only in AFTER (inserted meanwhile) is reported as new with its whole count; a rule
//! only in BEFORE as removed; a counter that went down (zeroed, or the rule re-created) as
//! reset. Rounded `-L` counts (`12K`) make "about" deltas.

use frontends::iptables_list::ListedChain;
use model::{Family, Hook, Ruleset};
use std::collections::HashMap;

/// One counted thing: a rule, or a chain's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub family: Option<Family>,
    pub table: String,
    pub chain: String,
    /// 0-based rule number in its chain; `None` for the chain's policy.
    pub index: Option<usize>,
    /// The rule as written (counters stripped); `policy ACCEPT` for a policy.
    pub text: String,
    pub file: String,
    pub line: u32,
    pub packets: u64,
    pub bytes: u64,
    /// Rounded counts (`iptables -L` without `-x`).
    pub approx: bool,
    /// Sort key: hook rank, priority, order of appearance.
    order: (u8, i32, usize),
}

fn hook_rank(h: Hook) -> u8 {
    match h {
        Hook::Ingress => 0,
        Hook::Prerouting => 1,
        Hook::Input => 2,
        Hook::Forward => 3,
        Hook::Output => 4,
        Hook::Postrouting => 5,
        Hook::Egress => 6,
        #[allow(unreachable_patterns)]
        _ => 7,
    }
}

/// Regular chains come after every base chain, in order of appearance.
const REGULAR: u8 = 9;

/// `[12:345] -A INPUT ...` -> `-A INPUT ...`; `... counter packets 1 bytes 2 ...` -> `... counter ...`.
fn strip_counters(text: &str) -> String {
    let t = text.trim();
    let t = match t.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((inner, rest))
            if inner
                .split(':')
                .all(|x| x.bytes().all(|b| b.is_ascii_digit())) =>
        {
            rest.trim_start()
        }
        _ => t,
    };
    let w: Vec<&str> = t.split_whitespace().collect();
    let mut out = Vec::with_capacity(w.len());
    let mut i = 0;
    while i < w.len() {
        if (w[i] == "packets" || w[i] == "bytes")
            && w.get(i + 1)
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            && i > 0
        {
            i += 2;
            continue;
        }
        out.push(w[i]);
        i += 1;
    }
    out.join(" ")
}

/// Rows of a parsed ruleset (iptables-save -c, nft listings with counters). Rules without
/// counters are skipped; one row per source rule even when it lowered to several.
pub fn rows_of_ruleset(rs: &Ruleset) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut appearance = 0usize;
    for t in &rs.tables {
        for c in &t.chains {
            appearance += 1;
            let order = match &c.base {
                Some(b) => (hook_rank(b.hook), b.priority, appearance),
                None => (REGULAR, 0, appearance),
            };
            if let (Some(b), Some(k)) = (&c.base, c.counters) {
                rows.push(Row {
                    family: Some(t.family),
                    table: t.name.clone(),
                    chain: c.name.clone(),
                    index: None,
                    text: format!("policy {}", b.policy),
                    file: c.origin.file.to_string(),
                    line: c.origin.line,
                    packets: k.packets,
                    bytes: k.bytes,
                    approx: false,
                    order,
                });
            }
            let mut seen = Vec::new();
            for r in &c.rules {
                let key = (r.origin.file.clone(), r.origin.span.start);
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                let Some(k) = r.origin.counters else { continue };
                rows.push(Row {
                    family: Some(t.family),
                    table: t.name.clone(),
                    chain: c.name.clone(),
                    index: Some(seen.len() - 1),
                    text: strip_counters(&r.origin.text),
                    file: r.origin.file.to_string(),
                    line: r.origin.line,
                    packets: k.packets,
                    bytes: k.bytes,
                    approx: false,
                    order,
                });
            }
        }
    }
    rows
}

/// Rows of an `iptables -L -n -v` listing (`table`: as given with `-t`, usually `filter`).
pub fn rows_of_listing(chains: &[ListedChain], file: &str, table: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (n, c) in chains.iter().enumerate() {
        // A `-L` listing names no table: a built-in chain's hook is known by its name.
        let order = match Hook::from_builtin_chain(&c.name) {
            Some(h) => (hook_rank(h), 0, n),
            None => (REGULAR, 0, n),
        };
        if let Some((target, p, b)) = &c.policy {
            rows.push(Row {
                family: None,
                table: table.to_string(),
                chain: c.name.clone(),
                index: None,
                text: format!("policy {target}"),
                file: file.to_string(),
                line: c.line,
                packets: p.value,
                bytes: b.value,
                approx: p.approx || b.approx,
                order,
            });
        }
        for (i, r) in c.rules.iter().enumerate() {
            rows.push(Row {
                family: None,
                table: table.to_string(),
                chain: c.name.clone(),
                index: Some(i),
                text: r.text.clone(),
                file: file.to_string(),
                line: r.line,
                packets: r.packets.value,
                bytes: r.bytes.value,
                approx: r.packets.approx || r.bytes.approx,
                order,
            });
        }
    }
    rows
}

/// How a row changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Counted more packets (or bytes).
    Moved { packets: u64, bytes: u64 },
    /// Only in AFTER: inserted between the listings (its whole count is shown).
    New,
    /// Only in BEFORE: deleted between the listings.
    Removed,
    /// A counter went down: zeroed (`-Z`) or the rule re-created.
    Reset,
}

/// One line of the diff: the row (as in AFTER; as in BEFORE for `Removed`) and its change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub row: Row,
    pub change: Change,
}

/// The rows whose counters moved, in path order; unchanged rows are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub deltas: Vec<Delta>,
    /// Rows compared.
    pub compared: usize,
    /// Some counts were rounded: deltas are approximate.
    pub approx: bool,
}

type Key = (Option<Family>, String, String, String, usize);

fn keyed(rows: &[Row]) -> Vec<(Key, &Row)> {
    let mut nth: HashMap<(Option<Family>, String, String, String), usize> = HashMap::new();
    rows.iter()
        .map(|r| {
            let base = (r.family, r.table.clone(), r.chain.clone(), r.text.clone());
            let n = nth.entry(base.clone()).or_default();
            *n += 1;
            ((base.0, base.1, base.2, base.3, *n), r)
        })
        .collect()
}

/// Compares BEFORE and AFTER.
pub fn diff(before: &[Row], after: &[Row]) -> Diff {
    let b: HashMap<Key, &Row> = keyed(before).into_iter().collect();
    let a = keyed(after);
    let mut deltas = Vec::new();
    let mut approx = false;
    for (k, r) in &a {
        approx |= r.approx;
        let change = match b.get(k) {
            None if r.packets > 0 || r.bytes > 0 => Change::New,
            None => continue,
            Some(old) if r.packets < old.packets || r.bytes < old.bytes => Change::Reset,
            Some(old) if r.packets == old.packets && r.bytes == old.bytes => continue,
            Some(old) => Change::Moved {
                packets: r.packets - old.packets,
                bytes: r.bytes - old.bytes,
            },
        };
        deltas.push(Delta {
            row: (*r).clone(),
            change,
        });
    }
    let a_keys: std::collections::HashSet<&Key> = a.iter().map(|(k, _)| k).collect();
    for (k, r) in keyed(before) {
        if !a_keys.contains(&k) {
            deltas.push(Delta {
                row: r.clone(),
                change: Change::Removed,
            });
        }
    }
    deltas.sort_by(|x, y| {
        (x.row.order, x.row.index.map_or(usize::MAX, |i| i))
            .cmp(&(y.row.order, y.row.index.map_or(usize::MAX, |i| i)))
    });
    Diff {
        deltas,
        compared: a.len(),
        approx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceFile;

    fn rows(text: &str) -> Vec<Row> {
        let rs =
            frontends::iptables_save::parse(&SourceFile::new("r", text), Some(Family::Ip)).unwrap();
        rows_of_ruleset(&rs)
    }

    const BEFORE: &str = "*filter\n:INPUT ACCEPT [10:1000]\n:FORWARD DROP [0:0]\n:sub - [0:0]\n\
        [5:300] -A INPUT -p tcp --dport 22 -j ACCEPT\n[0:0] -A INPUT -p tcp --dport 23 -j DROP\n\
        [0:0] -A FORWARD -j sub\n[0:0] -A sub -j RETURN\nCOMMIT\n";

    #[test]
    fn moved_rules_in_path_order() {
        let after = BEFORE
            .replace(
                "[0:0] -A INPUT -p tcp --dport 23",
                "[2:120] -A INPUT -p tcp --dport 23",
            )
            .replace("[0:0] -A FORWARD -j sub", "[1:60] -A FORWARD -j sub")
            .replace("[0:0] -A sub", "[1:60] -A sub")
            .replace(":INPUT ACCEPT [10:1000]", ":INPUT ACCEPT [11:1040]");
        let d = diff(&rows(BEFORE), &rows(&after));
        let got: Vec<(String, Option<usize>, Change)> = d
            .deltas
            .iter()
            .map(|x| (x.row.chain.clone(), x.row.index, x.change.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "INPUT".into(),
                    Some(1),
                    Change::Moved {
                        packets: 2,
                        bytes: 120
                    }
                ),
                (
                    "INPUT".into(),
                    None,
                    Change::Moved {
                        packets: 1,
                        bytes: 40
                    }
                ),
                (
                    "FORWARD".into(),
                    Some(0),
                    Change::Moved {
                        packets: 1,
                        bytes: 60
                    }
                ),
                (
                    "sub".into(),
                    Some(0),
                    Change::Moved {
                        packets: 1,
                        bytes: 60
                    }
                ),
            ]
        );
        assert_eq!(d.deltas[0].row.text, "-A INPUT -p tcp --dport 23 -j DROP");
        assert_eq!(d.deltas[0].row.line, 6);
    }

    #[test]
    fn inserted_removed_and_reset_rules_are_named() {
        let after = BEFORE.replace(
            "[5:300] -A INPUT -p tcp --dport 22 -j ACCEPT\n",
            "[1:60] -A INPUT -p udp -j DROP\n[1:60] -A INPUT -p tcp --dport 22 -j ACCEPT\n",
        );
        let d = diff(&rows(BEFORE), &rows(&after));
        let kinds: Vec<&Change> = d.deltas.iter().map(|x| &x.change).collect();
        assert!(kinds.contains(&&Change::New), "{kinds:?}");
        assert!(kinds.contains(&&Change::Reset), "{kinds:?}");
        let removed = BEFORE.replace("[0:0] -A INPUT -p tcp --dport 23 -j DROP\n", "");
        let d = diff(&rows(BEFORE), &rows(&removed));
        assert_eq!(d.deltas.len(), 1);
        assert_eq!(d.deltas[0].change, Change::Removed);
    }

    #[test]
    fn nft_counter_text_is_not_part_of_the_identity() {
        assert_eq!(
            strip_counters("tcp dport 22 counter packets 5 bytes 300 accept"),
            "tcp dport 22 counter accept"
        );
        assert_eq!(
            strip_counters("[1:2] -A INPUT -j ACCEPT"),
            "-A INPUT -j ACCEPT"
        );
    }
}
