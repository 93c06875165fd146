//! Counter diffs: which rules' packet/byte counters moved between two listings of the same
//! ruleset, in path order — the manual "list -v, retry, list -v again" method, automated.
//!
//! ## What it does
//! Reads both listings into [`Listing`]s (one [`Row`] per counted rule and one per built-in
//! chain policy), pairs each row of AFTER with the row of BEFORE at the same place (same
//! family, table, chain, same rule text, same occurrence of that text in the chain, so an
//! inserted rule does not shift the others), and reports the deltas in path order: base
//! chains in hook order (then priority), each followed by the regular chains it is the
//! first to jump to.
//!
//! ## Why it is not silently wrong
//! A rule only in AFTER (inserted meanwhile) is reported as new with its whole count; a rule
//! only in BEFORE as removed; a counter that went down (zeroed, or the rule re-created) as
//! reset. Rounded `-L` counts (`12K`) make "about" deltas. Two listings of different
//! formats (`iptables-save` and `iptables -L`, nft and iptables) write the same rule in
//! different words: the diff says so, and pairs their rules by chain and position instead.
//! Rules listed without counters (`iptables-save` without `-c`, nft rules without
//! `counter`) are counted, so that the report can say only the policies were compared.

use frontends::iptables_list::ListedChain;

use model::ruleset::Step;
use model::{Action, Dialect, Family, Hook, Ruleset, Verdict};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The kind of listing a row was read from: the same rule reads differently in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// `iptables-save -c` (also the iptables members of a snapshot).
    IptablesSave,
    /// `iptables -L -n -v [-x]`.
    IptablesList,
    /// `nft list ruleset`.
    NftText,
    /// `nft -j list ruleset`.
    NftJson,
}

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
    /// The listing's format.
    pub format: Format,
    /// Its chain's place on the path (see [`path_order`]).
    order: usize,
}

/// The counted rows of one listing, and what it listed without counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub rows: Vec<Row>,
    /// Rules listed without counters, by format: they cannot be compared.
    pub uncounted: BTreeMap<Format, usize>,
    /// Where rules (and policies: nft lists no policy counters) were listed without
    /// counters: (table, chain, rule number). A row of the other listing there is not
    /// "new" or "removed", only not comparable.
    pub uncounted_at: HashSet<Place>,
}

/// Table, chain and 0-based rule number (`None`: the policy).
pub type Place = (String, String, Option<usize>);

fn place_of(r: &Row) -> Place {
    (r.table.clone(), r.chain.clone(), r.index)
}

impl Listing {
    /// The formats the listing was read in.
    pub fn formats(&self) -> BTreeSet<Format> {
        self.rows
            .iter()
            .map(|r| r.format)
            .chain(self.uncounted.keys().copied())
            .collect()
    }
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

/// A chain as [`path_order`] needs it.
struct ChainNode<'a> {
    /// Which table (jumps stay inside one).
    scope: usize,
    name: &'a str,
    /// Hook rank and priority of a base chain.
    base: Option<(u8, i32)>,
    /// The chains its rules jump or go to, in rule order.
    targets: Vec<&'a str>,
}

/// Each chain's place on the path (indexed like `nodes`): base chains in hook order, then
/// priority, then order of appearance, each followed by the regular chains it reaches
/// (depth first, in rule order) that no earlier chain reached; regular chains that nothing
/// reaches come last, in order of appearance.
fn path_order(nodes: &[ChainNode]) -> Vec<usize> {
    let by_name: HashMap<(usize, &str), usize> = nodes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| ((n.scope, n.name), i))
        .collect();
    let mut bases: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].base.is_some())
        .collect();
    bases.sort_by_key(|&i| (nodes[i].base, i));
    let mut place = vec![usize::MAX; nodes.len()];
    let mut next = 0;
    let unplaced_regular = (0..nodes.len()).filter(|&i| nodes[i].base.is_none());
    for root in bases
        .into_iter()
        .chain(unplaced_regular.collect::<Vec<_>>())
    {
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if place[i] != usize::MAX {
                continue;
            }
            place[i] = next;
            next += 1;
            let n = &nodes[i];
            stack.extend(
                n.targets
                    .iter()
                    .rev()
                    .filter_map(|t| by_name.get(&(n.scope, *t)).copied())
                    .filter(|&j| nodes[j].base.is_none() && place[j] == usize::MAX),
            );
        }
    }
    place
}

/// The chains a model rule jumps or goes to.
fn jump_targets(body: &[Step]) -> impl Iterator<Item = &str> {
    body.iter().filter_map(|s| match s {
        Step::Action(Action::Verdict(Verdict::Jump(c) | Verdict::Goto(c))) => Some(c.as_str()),
        _ => None,
    })
}

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

fn format_of(dialect: Option<Dialect>) -> Format {
    match dialect {
        Some(Dialect::NftText) => Format::NftText,
        Some(Dialect::NftJson) => Format::NftJson,
        Some(Dialect::Iptables) | None => Format::IptablesSave,
    }
}

/// Rows of a parsed ruleset (iptables-save -c, nft listings with counters). Rules without
/// counters are counted in [`Listing::uncounted`]; one row per source rule even when it
/// lowered to several.
pub fn rows_of_ruleset(rs: &Ruleset) -> Listing {
    let chains: Vec<(usize, &model::Chain)> = rs
        .tables
        .iter()
        .enumerate()
        .flat_map(|(t, table)| table.chains.iter().map(move |c| (t, c)))
        .collect();
    let nodes: Vec<ChainNode> = chains
        .iter()
        .map(|&(scope, c)| ChainNode {
            scope,
            name: &c.name,
            base: c.base.as_ref().map(|b| (hook_rank(b.hook), b.priority)),
            targets: c.rules.iter().flat_map(|r| jump_targets(&r.body)).collect(),
        })
        .collect();
    let place = path_order(&nodes);
    let mut out = Listing::default();
    for (n, &(t, c)) in chains.iter().enumerate() {
        let t = &rs.tables[t];
        let order = place[n];
        if let (Some(_), None) = (&c.base, c.counters) {
            out.uncounted_at
                .insert((t.name.clone(), c.name.clone(), None));
        }
        if let (Some(b), Some(k)) = (&c.base, c.counters) {
            out.rows.push(Row {
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
                format: format_of(c.origin.dialect),
                order,
            });
        }
        let mut seen = HashSet::new();
        for r in &c.rules {
            let key = (r.origin.file.clone(), r.origin.span.start);
            if !seen.insert(key) {
                continue;
            }
            let format = format_of(r.origin.dialect);
            let Some(k) = r.origin.counters else {
                *out.uncounted.entry(format).or_default() += 1;
                out.uncounted_at
                    .insert((t.name.clone(), c.name.clone(), Some(seen.len() - 1)));
                continue;
            };
            out.rows.push(Row {
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
                format,
                order,
            });
        }
    }
    out
}

/// Rows of an `iptables -L -n -v` listing (`table`: as given with `-t`, usually `filter`).
pub fn rows_of_listing(chains: &[ListedChain], file: &str, table: &str) -> Listing {
    // A rule's text starts with its target: a chain of the listing is a jump.
    let nodes: Vec<ChainNode> = chains
        .iter()
        .map(|c| ChainNode {
            scope: 0,
            name: &c.name,
            // A `-L` listing names no table: a built-in chain's hook is known by its name.
            base: Hook::from_builtin_chain(&c.name).map(|h| (hook_rank(h), 0)),
            targets: c
                .rules
                .iter()
                .filter_map(|r| r.text.split_whitespace().next())
                .collect(),
        })
        .collect();
    let place = path_order(&nodes);
    let mut out = Listing::default();
    for (n, c) in chains.iter().enumerate() {
        let order = place[n];
        let row = |index, text: String, line, packets: u64, bytes: u64, approx| Row {
            family: None,
            table: table.to_string(),
            chain: c.name.clone(),
            index,
            text,
            file: file.to_string(),
            line,
            packets,
            bytes,
            approx,
            format: Format::IptablesList,
            order,
        };
        if let Some((target, p, b)) = &c.policy {
            out.rows.push(row(
                None,
                format!("policy {target}"),
                c.line,
                p.value,
                b.value,
                p.approx || b.approx,
            ));
        }
        for (i, r) in c.rules.iter().enumerate() {
            out.rows.push(row(
                Some(i),
                r.text.clone(),
                r.line,
                r.packets.value,
                r.bytes.value,
                r.packets.approx || r.bytes.approx,
            ));
        }
    }
    out
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
    /// Of which rules (the rest are policies).
    pub compared_rules: usize,
    /// Some counts were rounded: deltas are approximate.
    pub approx: bool,
    /// The formats BEFORE and AFTER were read in (see [`Diff::formats_differ`]).
    pub formats: (BTreeSet<Format>, BTreeSet<Format>),
    /// Rules of different formats paired by table, chain and position (not by text).
    pub paired_by_position: usize,
    /// Rules listed without counters in BEFORE and in AFTER, by format.
    pub uncounted: (BTreeMap<Format, usize>, BTreeMap<Format, usize>),
}

impl Diff {
    /// Whether BEFORE and AFTER are of different formats: their rule texts cannot match.
    pub fn formats_differ(&self) -> bool {
        self.formats.0 != self.formats.1
    }
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

/// Whether `a` and `b` are at the same place of listings of different formats: same table,
/// chain and position (the policy: same table and chain), families equal where both say.
fn same_place(a: &Row, b: &Row) -> bool {
    a.format != b.format
        && a.table == b.table
        && a.chain == b.chain
        && a.index == b.index
        && (a.family.is_none() || b.family.is_none() || a.family == b.family)
}

fn change_of(old: &Row, new: &Row) -> Option<Change> {
    if new.packets < old.packets || new.bytes < old.bytes {
        Some(Change::Reset)
    } else if new.packets == old.packets && new.bytes == old.bytes {
        None
    } else {
        Some(Change::Moved {
            packets: new.packets - old.packets,
            bytes: new.bytes - old.bytes,
        })
    }
}

/// Compares BEFORE and AFTER.
pub fn diff(before: &Listing, after: &Listing) -> Diff {
    let b = keyed(&before.rows);
    let b_at: HashMap<&Key, usize> = b.iter().enumerate().map(|(i, (k, _))| (k, i)).collect();
    let a = keyed(&after.rows);
    let mut b_used = vec![false; b.len()];
    // The row of BEFORE each row of AFTER pairs with: same text first.
    let mut pair: Vec<Option<usize>> = a
        .iter()
        .map(|(k, _)| {
            let i = b_at.get(k).copied()?;
            b_used[i] = true;
            Some(i)
        })
        .collect();
    // Then, across formats, the same place.
    let mut paired_by_position = 0;
    let mut free: HashMap<Place, Vec<usize>> = HashMap::new();
    for (i, (_, r)) in b.iter().enumerate() {
        if !b_used[i] {
            free.entry(place_of(r)).or_default().push(i);
        }
    }
    for (p, (_, r)) in pair.iter_mut().zip(&a) {
        if p.is_some() {
            continue;
        }
        let Some(cands) = free.get_mut(&place_of(r)) else {
            continue;
        };
        if let Some(at) = cands.iter().position(|&i| same_place(b[i].1, r)) {
            let i = cands.remove(at);
            b_used[i] = true;
            *p = Some(i);
            paired_by_position += usize::from(r.index.is_some());
        }
    }
    let mut deltas = Vec::new();
    let mut approx = false;
    for (p, (_, r)) in pair.iter().zip(&a) {
        approx |= r.approx;
        let change = match p {
            None if before.uncounted_at.contains(&place_of(r)) => continue,
            None if r.packets > 0 || r.bytes > 0 => Change::New,
            None => continue,
            Some(i) => match change_of(b[*i].1, r) {
                Some(c) => c,
                None => continue,
            },
        };
        deltas.push(Delta {
            row: (*r).clone(),
            change,
        });
    }
    for (i, (_, r)) in b.iter().enumerate() {
        if !b_used[i] && !after.uncounted_at.contains(&place_of(r)) {
            deltas.push(Delta {
                row: (*r).clone(),
                change: Change::Removed,
            });
        }
    }
    deltas.sort_by_key(|x| (x.row.order, x.row.index.unwrap_or(usize::MAX)));
    Diff {
        deltas,
        compared: a.len(),
        compared_rules: a.iter().filter(|(_, r)| r.index.is_some()).count(),
        approx,
        formats: (before.formats(), after.formats()),
        paired_by_position,
        uncounted: (before.uncounted.clone(), after.uncounted.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceFile;

    fn rows(text: &str) -> Listing {
        let rs =
            frontends::iptables_save::parse(&SourceFile::new("r", text), Some(Family::Ip)).unwrap();
        rows_of_ruleset(&rs)
    }

    fn listed(text: &str) -> Listing {
        let chains = frontends::iptables_list::parse(&SourceFile::new("l", text)).unwrap();
        rows_of_listing(&chains, "l", "filter")
    }

    /// (chain, rule number) of each delta, in the order shown.
    fn places(d: &Diff) -> Vec<(String, Option<usize>)> {
        d.deltas
            .iter()
            .map(|x| (x.row.chain.clone(), x.row.index))
            .collect()
    }

    /// (chain, rule number, change) of each delta, in the order shown.
    fn changes(d: &Diff) -> Vec<(String, Option<usize>, Change)> {
        d.deltas
            .iter()
            .map(|x| (x.row.chain.clone(), x.row.index, x.change.clone()))
            .collect()
    }

    /// What [`BEFORE`] to its INPUT rule 2 counting 2 packets more shows first.
    fn input_port_23_and_policy_moved() -> Vec<(String, Option<usize>, Change)> {
        vec![
            (
                "INPUT".into(),
                Some(1),
                Change::Moved {
                    packets: 2,
                    bytes: 120,
                },
            ),
            (
                "INPUT".into(),
                None,
                Change::Moved {
                    packets: 1,
                    bytes: 40,
                },
            ),
        ]
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
        let got = changes(&d);
        let mut expected = input_port_23_and_policy_moved();
        expected.extend([
            (
                "FORWARD".into(),
                Some(0),
                Change::Moved {
                    packets: 1,
                    bytes: 60,
                },
            ),
            (
                "sub".into(),
                Some(0),
                Change::Moved {
                    packets: 1,
                    bytes: 60,
                },
            ),
        ]);
        assert_eq!(got, expected);
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

    /// Chains declared out of path order: the FORWARD chain's target first, then OUTPUT
    /// before INPUT, the INPUT chain's target last.
    const JUMPS: &str =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        :aaa_fwd - [0:0]\n:zzz_in - [0:0]\n:zzz_deeper - [0:0]\n\
        [1:60] -A aaa_fwd -j ACCEPT\n[1:60] -A OUTPUT -j ACCEPT\n[1:60] -A zzz_deeper -j RETURN\n\
        [1:60] -A zzz_in -j zzz_deeper\n[1:60] -A INPUT -j zzz_in\n[1:60] -A FORWARD -j aaa_fwd\n\
        COMMIT\n";

    #[test]
    fn c2_user_chains_are_listed_where_the_path_reaches_them() {
        let zero = JUMPS.replace("[1:60]", "[0:0]");
        let d = diff(&rows(&zero), &rows(JUMPS));
        let expected = vec![
            ("INPUT".to_string(), Some(0)),
            ("zzz_in".to_string(), Some(0)),
            ("zzz_deeper".to_string(), Some(0)),
            ("FORWARD".to_string(), Some(0)),
            ("aaa_fwd".to_string(), Some(0)),
            ("OUTPUT".to_string(), Some(0)),
        ];
        assert_eq!(places(&d), expected);
        // The same order from `iptables -L` listings (a rule's target names the chain).
        let list = |n: u32| {
            format!(
                "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target prot opt in out source destination\n\
                 {n} 60 zzz_in all -- * * 0.0.0.0/0 0.0.0.0/0\n\n\
                 Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target prot opt in out source destination\n\
                 {n} 60 aaa_fwd all -- * * 0.0.0.0/0 0.0.0.0/0\n\n\
                 Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target prot opt in out source destination\n\
                 {n} 60 ACCEPT all -- * * 0.0.0.0/0 0.0.0.0/0\n\n\
                 Chain aaa_fwd (1 references)\n pkts bytes target prot opt in out source destination\n\
                 {n} 60 ACCEPT all -- * * 0.0.0.0/0 0.0.0.0/0\n\n\
                 Chain zzz_deeper (1 references)\n pkts bytes target prot opt in out source destination\n\
                 {n} 60 RETURN all -- * * 0.0.0.0/0 0.0.0.0/0\n\n\
                 Chain zzz_in (1 references)\n pkts bytes target prot opt in out source destination\n\
                 {n} 60 zzz_deeper all -- * * 0.0.0.0/0 0.0.0.0/0\n"
            )
        };
        let d = diff(&listed(&list(0)), &listed(&list(1)));
        assert_eq!(places(&d), expected);
    }

    #[test]
    fn c2_listings_of_different_formats_are_said_to_differ_and_paired_by_place() {
        let after = "Chain INPUT (policy ACCEPT 11 packets, 1040 bytes)\n\
            \x20pkts bytes target prot opt in out source destination\n\
            \x20   5   300 ACCEPT tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:22\n\
            \x20   2   120 DROP tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:23\n\n\
            Chain FORWARD (policy DROP 0 packets, 0 bytes)\n\
            \x20pkts bytes target prot opt in out source destination\n\
            \x20   0     0 sub all -- * * 0.0.0.0/0 0.0.0.0/0\n\n\
            Chain sub (1 references)\n\
            \x20pkts bytes target prot opt in out source destination\n\
            \x20   0     0 RETURN all -- * * 0.0.0.0/0 0.0.0.0/0\n";
        let d = diff(&rows(BEFORE), &listed(after));
        assert!(d.formats_differ());
        assert_eq!(
            d.formats,
            (
                BTreeSet::from([Format::IptablesSave]),
                BTreeSet::from([Format::IptablesList])
            )
        );
        assert_eq!(d.paired_by_position, 4);
        let got = changes(&d);
        // As between two iptables-save files (see `moved_rules_in_path_order`).
        assert_eq!(got, input_port_23_and_policy_moved());
        // The same format: rules are paired by text only, nothing said.
        let d = diff(&rows(BEFORE), &rows(BEFORE));
        assert_eq!((d.formats_differ(), d.paired_by_position), (false, 0));
    }

    #[test]
    fn c2_rules_saved_without_counters_are_counted() {
        let plain = "*filter\n:INPUT ACCEPT [10:1000]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n\
            -A INPUT -j DROP\nCOMMIT\n";
        let d = diff(
            &rows(plain),
            &rows(&plain.replace("[10:1000]", "[12:1100]")),
        );
        assert_eq!(
            d.uncounted,
            (
                BTreeMap::from([(Format::IptablesSave, 2)]),
                BTreeMap::from([(Format::IptablesSave, 2)])
            )
        );
        assert_eq!(d.compared, 1, "only the policy");
        // Against a listing with counters: its rules are not "new", only not comparable.
        let counted = plain.replace("-A INPUT", "[1:60] -A INPUT");
        let d = diff(&rows(plain), &rows(&counted));
        assert!(d.deltas.is_empty(), "{:#?}", d.deltas);
        let d = diff(&rows(&counted), &rows(plain));
        assert!(
            d.deltas.iter().all(|x| x.change != Change::Removed),
            "{:#?}",
            d.deltas
        );
    }

    #[test]
    fn c2_a_policy_listed_without_counters_is_not_removed() {
        let nft =
            "table ip filter {\n chain INPUT { type filter hook input priority 0; policy accept;\n\
            \x20 tcp dport 22 counter packets 6 bytes 360 accept\n }\n}\n";
        let rs = frontends::nft::parse_text(&SourceFile::new("n", nft)).unwrap();
        let after = rows_of_ruleset(&rs);
        let before = "Chain INPUT (policy ACCEPT 10 packets, 1000 bytes)\n\
            \x20pkts bytes target prot opt in out source destination\n\
            \x20   5   300 ACCEPT tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:22\n";
        let d = diff(&listed(before), &after);
        let got: Vec<(Option<usize>, Change)> = d
            .deltas
            .iter()
            .map(|x| (x.row.index, x.change.clone()))
            .collect();
        assert_eq!(
            got,
            vec![(
                Some(0),
                Change::Moved {
                    packets: 1,
                    bytes: 60
                }
            )]
        );
    }
}
