//! Tables, chains and rules, shaped like nftables.
//!
//! iptables lowers into this: `*filter` of `iptables-save` becomes table `filter` of family
//! [`Family::Ip`], its `INPUT` a base chain on [`Hook::Input`] at priority 0; user chains are
//! regular chains. Every object keeps its [`Origin`].

use crate::expr::{Action, Match, Pattern, Verdict};
use crate::owner::Dialect;
use crate::source::{Counters, Origin, SourceFile};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

pub use crate::kernel::{Family, Hook};

/// Base chain types (`type filter|nat|route`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainType {
    /// Sees every packet of its hook (iptables `raw`, `filter`, `security`, and `mangle`
    /// but for its OUTPUT chain).
    Filter,
    /// Sees only the first packet of a connection; later packets follow conntrack's binding.
    Nat,
    /// Output chains whose mark/address changes trigger a re-route (iptables `mangle`
    /// OUTPUT).
    Route,
}

impl fmt::Display for ChainType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        })
    }
}

/// Standard hook priorities (`NF_IP_PRI_*`), also what nft's named priorities mean.
///
/// Base chains on one hook run in ascending priority; where conntrack and the NAT core sit
/// among them decides what a chain sees (a `raw` chain runs before conntrack, so it can
/// `notrack`; `mangle` after, so it sees `ct state`).
pub mod priority {
    /// Defragmentation (`NF_IP_PRI_CONNTRACK_DEFRAG`): before anything else, conntrack needs
    /// whole packets.
    pub const CONNTRACK_DEFRAG: i32 = -400;
    /// iptables `raw`, nft `raw`: before conntrack (`NOTRACK`, `CT` templates).
    pub const RAW: i32 = -300;
    /// SELinux's first hook.
    pub const SELINUX_FIRST: i32 = -225;
    /// Conntrack looks the packet up (prerouting, output).
    pub const CONNTRACK: i32 = -200;
    /// iptables `mangle`, nft `mangle`.
    pub const MANGLE: i32 = -150;
    /// Destination NAT (`dstnat`): prerouting and output nat chains.
    pub const NAT_DST: i32 = -100;
    /// iptables `filter`, nft `filter`.
    pub const FILTER: i32 = 0;
    /// iptables `security`, nft `security`.
    pub const SECURITY: i32 = 50;
    /// Source NAT (`srcnat`): postrouting and input nat chains.
    pub const NAT_SRC: i32 = 100;
    /// SELinux's last hook.
    pub const SELINUX_LAST: i32 = 225;
    /// Conntrack helpers run (postrouting, input).
    pub const CONNTRACK_HELPER: i32 = 300;
    /// Conntrack confirms a new connection: after every chain, so a drop anywhere leaves no
    /// entry.
    pub const CONNTRACK_CONFIRM: i32 = i32::MAX;
}

/// What makes a chain a base chain: where it is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    /// The netfilter hook the chain is registered on.
    pub hook: Hook,
    /// What the chain may do and which packets it sees.
    pub chain_type: ChainType,
    /// Order among the hook's chains, lower first (see [`priority`]); equal priorities run
    /// in reverse registration order.
    pub priority: i32,
    /// Verdict when the end of the chain is reached: [`Verdict::Accept`] or [`Verdict::Drop`].
    pub policy: Verdict,
    /// Device of a netdev ingress/egress chain.
    pub device: Option<String>,
}

/// A chain: base (attached to a hook) or regular (reached by jump/goto).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The chain's name, unique in its table; jumps name it.
    pub name: String,
    /// Where it is attached; `None` for a regular chain, reached only by `jump`/`goto`.
    pub base: Option<BaseChain>,
    /// The rules in evaluation order.
    pub rules: Vec<Rule>,
    /// Policy counters (`:INPUT DROP [12:720]`).
    pub counters: Option<Counters>,
    /// Where the chain was declared and who wrote it.
    pub origin: Origin,
    /// The source rule numbers, counted once when first asked (`RuleNumbers::default()`).
    pub numbers: RuleNumbers,
}

/// A chain's source rule numbers ([`Chain::source_rule_number`]), counted on first use so
/// that numbering every rule of a path is linear, not quadratic. Not part of the chain's
/// value: equal for every chain, empty in a clone (a clone is what the fix search changes),
/// and used only while the chain has as many rules as when it was counted.
#[derive(Default)]
pub struct RuleNumbers(OnceLock<Vec<usize>>);

impl Clone for RuleNumbers {
    fn clone(&self) -> RuleNumbers {
        RuleNumbers::default()
    }
}

impl PartialEq for RuleNumbers {
    fn eq(&self, _: &RuleNumbers) -> bool {
        true
    }
}

impl fmt::Debug for RuleNumbers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RuleNumbers")
    }
}

impl Chain {
    /// The 1-based number of the *source* rule that model rule `index` came from, as
    /// `iptables -L --line-numbers` and the kernel's trace count them. A front end may lower
    /// one source rule into several model rules (iptables-restore splits `-s a,b` the same
    /// way; `--ports` becomes two exclusive alternatives); those share one origin span and
    /// so one number.
    pub fn source_rule_number(&self, index: usize) -> usize {
        let upto = index.min(self.rules.len().saturating_sub(1));
        let numbers = self.numbers.0.get_or_init(|| self.source_rule_numbers());
        if numbers.len() == self.rules.len() {
            return numbers.get(upto).copied().unwrap_or(1);
        }
        // Rules were added or removed since the count: count again, this once.
        1 + (1..=upto).filter(|&i| self.starts_source_rule(i)).count()
    }

    /// The source rule number of every model rule, in one pass: what a loop over the chain
    /// uses instead of calling [`Chain::source_rule_number`] (which counts from the start)
    /// per rule.
    pub fn source_rule_numbers(&self) -> Vec<usize> {
        let mut numbers = Vec::with_capacity(self.rules.len());
        let mut number = 0;
        for i in 0..self.rules.len() {
            if i == 0 || self.starts_source_rule(i) {
                number += 1;
            }
            numbers.push(number);
        }
        numbers
    }

    /// Whether model rule `i` (> 0) begins a new source rule rather than continuing the
    /// previous one.
    fn starts_source_rule(&self, i: usize) -> bool {
        let span = self.rules[i].origin.span;
        // Rules without a source span (built by hand or generated) are each their own.
        span.is_empty() || span != self.rules[i - 1].origin.span
    }

    /// The model rules that came from source rule `number` (1-based), the inverse of
    /// [`Chain::source_rule_number`]; one pass over the chain.
    pub fn rules_of_source_number(&self, number: usize) -> std::ops::Range<usize> {
        let mut start = None;
        let mut n = 0;
        for i in 0..self.rules.len() {
            if i == 0 || self.starts_source_rule(i) {
                n += 1;
            }
            if n == number && start.is_none() {
                start = Some(i);
            }
            if n > number {
                return start.unwrap_or(i)..i;
            }
        }
        start.unwrap_or(self.rules.len())..self.rules.len()
    }
}

/// One rule: a sequence of matches and actions evaluated left to right, as nftables does.
///
/// A [`Match`] that fails ends the rule (no match); an [`Action`] runs when reached; a
/// verdict action ends evaluation. iptables rules are matches followed by one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Matches and actions in the order they are evaluated.
    pub body: Vec<Step>,
    /// The source rule it came from (file, span, line, handle, text) and who wrote it;
    /// several model rules can share one (see [`Chain::source_rule_number`]).
    pub origin: Origin,
}

/// One element of a rule's body, evaluated in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A condition: a no ends the rule.
    Match(Match),
    /// Something done when reached.
    Action(Action),
}

impl Rule {
    /// The rule's matches, in order (its actions left out).
    pub fn matches(&self) -> impl Iterator<Item = &Match> {
        self.body.iter().filter_map(|s| match s {
            Step::Match(m) => Some(m),
            Step::Action(_) => None,
        })
    }
    /// The rule's actions, in order (its matches left out).
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.body.iter().filter_map(|s| match s {
            Step::Action(a) => Some(a),
            Step::Match(_) => None,
        })
    }
    /// The verdict this rule ends with, if any (a rule with only LOG/MARK continues).
    pub fn verdict(&self) -> Option<&Verdict> {
        self.actions().find_map(|a| match a {
            Action::Verdict(v) => Some(v),
            _ => None,
        })
    }
}

/// A named set or map (nft `set`/`map`, or an ipset from `ipset save`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSet {
    /// The set's name (without nft's `@`); lookups name it.
    pub name: String,
    /// How many key components an element has (concatenation width).
    pub key_width: usize,
    /// The elements at snapshot time.
    pub elements: Vec<SetElement>,
    /// Type as declared, for display (`hash:ip,port`, `ipv4_addr . inet_service`).
    pub declared_type: String,
    /// Whether the set is updated from the packet path (`add @s`, ipset timeouts): its
    /// contents are those at snapshot time.
    pub dynamic: bool,
    /// For ipsets: the dimensions of the type (`hash:ip,port` is `[Ip, Port]`); empty for nft
    /// sets. A `Port` dimension takes two key components: protocol number, then port.
    pub ipset_dims: Vec<IpsetDim>,
    /// Where the set was declared.
    pub origin: Origin,
}

/// One dimension of an ipset type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpsetDim {
    /// An address (`ip`) or prefix (`net`): one component, a [`Pattern::Value`] or
    /// [`Pattern::Prefix`].
    Ip,
    /// `port`: two components, the protocol number then the port (`tcp:80`).
    Port,
    /// `mac`: one component, the source or destination MAC address.
    Mac,
    /// `iface`: one component, the interface name.
    Iface,
    /// `mark`: one component, the packet's mark.
    Mark,
}

/// One element of a [`NamedSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct SetElement {
    /// One pattern per key component (a value, prefix or range).
    pub key: Vec<Pattern>,
    /// For maps: what the key maps to.
    pub data: Option<MapData>,
    /// ipset `nomatch`: a matching packet is treated as not in the set.
    pub nomatch: bool,
    /// nft's `comment "..."` on the element: the only place some tools name what the
    /// element stands for (kube-proxy's `no-endpoint-services` elements carry the service).
    pub comment: Option<String>,
}

/// What a map element maps its key to.
#[derive(Debug, Clone, PartialEq)]
pub enum MapData {
    /// A verdict map (`vmap`): the verdict taken when the key is found.
    Verdict(Verdict),
    /// A data map: the value a statement uses (`dnat to ip daddr map { .. }`,
    /// `meta mark set .. map { .. }`).
    Value(crate::expr::Value),
}

/// A table: chains and the sets they refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Which packets its base chains see (`ip` IPv4 only, `inet` both, ...).
    pub family: Family,
    /// The table's name, unique per family (`filter`, `nat`, or any nft name).
    pub name: String,
    /// Base and regular chains, in declaration order (the order base chains of equal
    /// priority register in).
    pub chains: Vec<Chain>,
    /// nft sets and maps of this table; lookups name them.
    pub sets: Vec<NamedSet>,
    /// Where the table was declared, which language it was read from and who wrote it.
    pub origin: Origin,
}

impl Table {
    /// The index of the chain named `name` (the first, should the name repeat).
    pub fn chain(&self, name: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.name == name)
    }
    /// The set named `name` (without the `@`).
    pub fn set(&self, name: &str) -> Option<&NamedSet> {
        self.sets.iter().find(|s| s.name == name)
    }
}

/// Everything loaded from the host's rule sources.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ruleset {
    /// Every table of every family, in load order.
    pub tables: Vec<Table>,
    /// ipsets (`ipset save`): global, referenced by `-m set --match-set NAME`.
    pub ipsets: Vec<NamedSet>,
    /// The files the rules came from, for showing lines and carets.
    pub sources: Vec<SourceFile>,
}

impl Ruleset {
    /// Adds another source's tables (e.g. `rules.v4` then `rules.v6`).
    pub fn merge(&mut self, other: Ruleset) {
        self.tables.extend(other.tables);
        self.ipsets.extend(other.ipsets);
        self.sources.extend(other.sources);
    }
    /// The index of the table `name` of `family`.
    pub fn table(&self, family: Family, name: &str) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| t.family == family && t.name == name)
    }
    /// The ipset named `name` (`--match-set NAME`).
    pub fn ipset(&self, name: &str) -> Option<&NamedSet> {
        self.ipsets.iter().find(|s| s.name == name)
    }
    /// The chain at `at`; panics when `at` was not taken from this ruleset.
    pub fn chain_at(&self, at: ChainRef) -> &Chain {
        &self.tables[at.table].chains[at.chain]
    }
    /// The rule at `at`; panics when `at` was not taken from this ruleset.
    pub fn rule_at(&self, at: RuleRef) -> &Rule {
        &self.tables[at.table].chains[at.chain].rules[at.rule]
    }
    /// The rule's number as iptables and the kernel count it (see
    /// [`Chain::source_rule_number`]).
    pub fn source_rule_number(&self, at: RuleRef) -> usize {
        self.chain_at(at.chain_ref()).source_rule_number(at.rule)
    }
    /// The source file named `name` (as [`Origin`]s name it), for showing a rule's line.
    pub fn source(&self, name: &str) -> Option<&SourceFile> {
        self.sources.iter().find(|s| &*s.name == name)
    }
    /// Resolves every `jump`/`goto` to the chain it names, once (after lowering and
    /// merging): a walk then indexes instead of looking a name up; the verdict keeps the
    /// name for display. Within a table the first chain of a name wins, as
    /// [`Table::chain`] finds it.
    pub fn link(&self) -> Links {
        let rules = self
            .tables
            .iter()
            .map(|table| {
                let mut index: HashMap<&str, usize> = HashMap::with_capacity(table.chains.len());
                for (i, c) in table.chains.iter().enumerate() {
                    index.entry(c.name.as_str()).or_insert(i);
                }
                table
                    .chains
                    .iter()
                    .map(|c| c.rules.iter().map(|r| Rule::jumps(r, &index)).collect())
                    .collect()
            })
            .collect();
        Links { rules }
    }
    /// The kernel side that loads table `table`, as far as the input tells it: nft text and
    /// JSON are nf_tables; an iptables-save listing names its backend in its header line
    /// ([`Backend::of_iptables_save`]). `None` when the input does not say.
    pub fn backend(&self, table: usize) -> Option<Backend> {
        let table = self.tables.get(table)?;
        match table.origin.dialect? {
            Dialect::NftText | Dialect::NftJson => Some(Backend::Nftables),
            Dialect::Iptables => Backend::of_iptables_save(&self.source(&table.origin.file)?.text),
        }
    }
    /// The total number of rules in all tables.
    pub fn rule_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum()
    }
}

/// Where the `jump`s and `goto`s of a ruleset lead, resolved once by [`Ruleset::link`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// Per table and chain, per rule: each jump or goto whose chain exists in the rule's
    /// table (most rules have none).
    rules: Vec<Vec<ChainJumps>>,
}

/// The resolved jumps of one chain, per rule.
type ChainJumps = Vec<Box<[Jump]>>;

/// One resolved jump or goto: the step of the rule holding it and the chain (its index in
/// the table) it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Jump {
    step: usize,
    chain: usize,
}

impl Links {
    /// The chains (indexes in the table) that the rules of chain `at` jump or go to, in
    /// rule order, repeats included.
    pub fn chain_targets(&self, at: ChainRef) -> impl Iterator<Item = usize> + '_ {
        self.rules
            .get(at.table)
            .and_then(|t| t.get(at.chain))
            .into_iter()
            .flatten()
            .flat_map(|jumps| jumps.iter().map(|j| j.chain))
    }
    /// The chain step `step` of rule `at` jumps or goes to; `None` when that step is not a
    /// `jump`/`goto` or its chain does not exist in the table (the kernel refuses to load
    /// such a ruleset).
    #[inline]
    pub fn target(&self, at: RuleRef, step: usize) -> Option<ChainRef> {
        let jumps = self.rules.get(at.table)?.get(at.chain)?.get(at.rule)?;
        let jump = jumps.iter().find(|j| j.step == step)?;
        Some(ChainRef {
            table: at.table,
            chain: jump.chain,
        })
    }
}

impl Rule {
    /// The resolved jumps and gotos of this rule.
    fn jumps(&self, index: &HashMap<&str, usize>) -> Box<[Jump]> {
        self.body
            .iter()
            .enumerate()
            .filter_map(|(step, s)| match s {
                Step::Action(Action::Verdict(Verdict::Jump(name) | Verdict::Goto(name))) => {
                    index.get(name.as_str()).map(|&chain| Jump { step, chain })
                }
                _ => None,
            })
            .collect()
    }
}

/// The kernel side that loads a table: what it refuses at load time differs (nf_tables
/// refuses jumps nested 16 deep, `NFT_JUMP_STACK_SIZE`; xtables sizes its jump stack by
/// the table's chain count and refuses only loops).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Native nftables (`nft -f`).
    Nftables,
    /// iptables over nf_tables (`iptables-nft-restore`, "iptables v1.8 (nf_tables)").
    IptablesNft,
    /// The x_tables backend (`iptables-legacy-restore`, iptables before 1.8).
    IptablesLegacy,
}

impl Backend {
    /// The backend an iptables-save listing names in its first `# Generated by` line:
    /// iptables 1.8's nf_tables variant marks it (`iptables-nft-save v1.8.9 (nf_tables)`,
    /// `iptables-save v1.8.7 (nf_tables)`); the legacy variant and every iptables before
    /// 1.8 print the bare `iptables-save v1.8.9`. `None` without such a line before the
    /// first rule. Reads only the header, not the whole text.
    pub fn of_iptables_save(text: &str) -> Option<Backend> {
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('-') || line.starts_with(':') {
                return None;
            }
            let Some(rest) = line.strip_prefix("# Generated by ") else {
                continue;
            };
            let program = rest.split_whitespace().next().unwrap_or("");
            let saver = program.starts_with("iptables") || program.starts_with("ip6tables");
            if !saver {
                return None;
            }
            return Some(
                if rest.contains("(nf_tables)") || program.contains("-nft-") {
                    Backend::IptablesNft
                } else {
                    Backend::IptablesLegacy
                },
            );
        }
        None
    }

    /// Whether the backend is nf_tables (native or under iptables).
    pub fn is_nf_tables(self) -> bool {
        matches!(self, Backend::Nftables | Backend::IptablesNft)
    }
}

/// A chain by position: `ruleset.tables[table].chains[chain]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainRef {
    /// Index into [`Ruleset::tables`].
    pub table: usize,
    /// Index into the table's [`Table::chains`].
    pub chain: usize,
}

/// A rule by position; `rule` is 0-based (iptables numbers it `rule + 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    /// Index into [`Ruleset::tables`].
    pub table: usize,
    /// Index into the table's [`Table::chains`].
    pub chain: usize,
    /// Index into the chain's [`Chain::rules`].
    pub rule: usize,
}

impl RuleRef {
    /// The chain holding the rule.
    pub fn chain_ref(self) -> ChainRef {
        ChainRef {
            table: self.table,
            chain: self.chain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn rule_at(start: usize) -> Rule {
        Rule {
            body: vec![],
            origin: Origin {
                span: Span::new(start, start + 5),
                ..Origin::default()
            },
        }
    }

    fn jump_rule(verdict: Verdict) -> Rule {
        Rule {
            body: vec![Step::Action(Action::Verdict(verdict))],
            origin: Origin::default(),
        }
    }

    fn chain(name: &str, rules: Vec<Rule>) -> Chain {
        Chain {
            name: name.into(),
            base: None,
            rules,
            counters: None,
            origin: Origin::default(),
            numbers: Default::default(),
        }
    }

    #[test]
    fn jumps_are_resolved_once_to_the_first_chain_of_the_name() {
        let rules = vec![
            jump_rule(Verdict::Accept),
            jump_rule(Verdict::Jump("b".into())),
            jump_rule(Verdict::Goto("missing".into())),
        ];
        let table = Table {
            family: Family::Ip,
            name: "filter".into(),
            chains: vec![chain("a", rules), chain("b", vec![]), chain("b", vec![])],
            sets: vec![],
            origin: Origin::default(),
        };
        let rs = Ruleset {
            tables: vec![table],
            ..Ruleset::default()
        };
        let links = rs.link();
        let at = |rule| RuleRef {
            table: 0,
            chain: 0,
            rule,
        };
        assert_eq!(links.target(at(0), 0), None);
        assert_eq!(
            links.target(at(1), 0),
            Some(ChainRef { table: 0, chain: 1 })
        );
        assert_eq!(links.target(at(1), 1), None);
        assert_eq!(
            links.target(at(2), 0),
            None,
            "a missing chain resolves to none"
        );
        assert_eq!(links.target(at(9), 0), None);
    }

    #[test]
    fn split_source_rules_share_one_number() {
        let chain = Chain {
            name: "INPUT".into(),
            base: None,
            rules: vec![rule_at(0), rule_at(10), rule_at(10), rule_at(20)],
            counters: None,
            origin: Origin::default(),
            numbers: Default::default(),
        };
        let numbers: Vec<usize> = (0..4).map(|i| chain.source_rule_number(i)).collect();
        assert_eq!(numbers, vec![1, 2, 2, 3]);
        assert_eq!(chain.source_rule_numbers(), numbers);
        assert_eq!(chain.rules_of_source_number(1), 0..1);
        assert_eq!(chain.rules_of_source_number(2), 1..3);
        assert_eq!(chain.rules_of_source_number(3), 3..4);
        assert_eq!(chain.rules_of_source_number(9), 4..4);

        // The numbers are counted once; a clone changed afterwards (what the fix search
        // does) and the original after a change are counted again, never read stale.
        let mut patched = chain.clone();
        patched.rules.insert(1, rule_at(5));
        let numbers: Vec<usize> = (0..5).map(|i| patched.source_rule_number(i)).collect();
        assert_eq!(numbers, vec![1, 2, 3, 3, 4]);
        let mut changed = chain;
        changed.rules.remove(0);
        let numbers: Vec<usize> = (0..3).map(|i| changed.source_rule_number(i)).collect();
        assert_eq!(numbers, vec![1, 1, 2]);
    }

    #[test]
    fn rules_without_a_source_span_are_numbered_one_by_one() {
        let unspanned = Rule {
            body: vec![],
            origin: Origin::default(),
        };
        let chain = Chain {
            name: "INPUT".into(),
            base: None,
            rules: vec![unspanned.clone(), unspanned.clone(), unspanned],
            counters: None,
            origin: Origin::default(),
            numbers: Default::default(),
        };
        assert_eq!(
            (0..3)
                .map(|i| chain.source_rule_number(i))
                .collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(chain.source_rule_numbers(), vec![1, 2, 3]);
        assert_eq!(chain.rules_of_source_number(2), 1..2);
    }

    #[test]
    fn backend_is_read_from_the_iptables_save_header() {
        let of = Backend::of_iptables_save;
        let nft =
            "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Mon Dec  7 2026\n*filter\n";
        assert_eq!(of(nft), Some(Backend::IptablesNft));
        let nft_old =
            "# Generated by iptables-save v1.8.7 (nf_tables) on Mon Dec  7 2026\n*filter\n";
        assert_eq!(of(nft_old), Some(Backend::IptablesNft));
        let legacy = "# Generated by iptables-save v1.8.9 on Mon Dec  7 13:08:23 2026\n*filter\n";
        assert_eq!(of(legacy), Some(Backend::IptablesLegacy));
        let v6_old = "# Generated by ip6tables-save v1.6.1 on Mon Dec  7 2026\n*filter\n";
        assert_eq!(of(v6_old), Some(Backend::IptablesLegacy));
        assert_eq!(of("*filter\n:INPUT ACCEPT [0:0]\n"), None);
        // A comment after the rules began is not the header.
        let late = "*filter\n-A INPUT -j ACCEPT\n# Generated by iptables-save v1.8.9\n";
        assert_eq!(of(late), None);
    }
}
