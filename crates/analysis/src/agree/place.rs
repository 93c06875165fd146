//! The placer: what a tracer names (a kernel rule handle, a trace's chain and rule number,
//! the rule's text) back to the user's rules.
//!
//! From the netlink trace (the oracle, the live tracer; [`Listing`]): the kernel's trace
//! names a rule by table, chain and handle. `nft -a -j list ruleset`
//! (inside the router namespace) lists every chain's rules in order with their handles; the
//! Nth rule of a chain in that listing is the Nth rule of the same chain in the user's file,
//! for iptables-nft (an iptables table `filter` is nft table `ip filter` / `ip6 filter`,
//! chains named as in iptables) and for nft text alike. So a handle maps to its position,
//! and the position to the [`RuleRef`] of the model ruleset the user gave.
//!
//! From a tracer's text (`explain-trace`; [`place_steps`]): by the iptables rule number, the
//! nft handle through an `nft -a list ruleset` listing, the rule's text, and last the
//! verdict, in that order of trust ([`PlacedBy`]).

use super::walk::text_verdict;
use engine::{Event, Outcome};
use evidence::nft_listing::Listing as TextListing;
use evidence::trace::{KernelVerdict, StepKind, TracedPacket, WalkEvent};
use model::expr::{Action, Verdict};
use model::kernel::NfVerdict;
use model::kernel_walk::{KernelStep, PlacedBy, Placement, Unplaceable};
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
                    c["family"].as_str().and_then(Family::from_name),
                    c["table"].as_str(),
                    c["name"].as_str(),
                ) else {
                    continue;
                };
                let h = c["hook"]
                    .as_str()
                    .and_then(Hook::from_name)
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
                    r["family"].as_str().and_then(Family::from_name),
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

impl Listing {
    /// The user's rule for a kernel rule of a ruleset read back from the same kernel (a
    /// live host's `nft -a list ruleset`): by the nft handle the rule carries first, then by
    /// position (iptables-nft, whose listing has no handles).
    pub fn rule_ref_by_handle(
        &self,
        ruleset: &Ruleset,
        family: Family,
        table: &str,
        chain: &str,
        handle: u64,
    ) -> Option<RuleRef> {
        let c = chain_ref(ruleset, family, table, chain)?;
        let ch = ruleset.chain_at(c);
        if let Some(i) = ch
            .rules
            .iter()
            .position(|r| r.origin.handle == Some(handle))
        {
            return Some(RuleRef {
                table: c.table,
                chain: c.chain,
                rule: i,
            });
        }
        self.rule_ref(ruleset, family, table, chain, handle)
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

/// The hook a built-in chain's name says (`INPUT`, `prerouting`, ...).
fn hook_of_name(name: &str) -> Option<Hook> {
    Hook::from_name(&name.to_ascii_lowercase())
        .filter(|h| !matches!(h, Hook::Ingress | Hook::Egress))
}

fn table_of(ruleset: &Ruleset, family: Option<Family>, name: &str) -> Option<usize> {
    ruleset.table(family?, name)
}

/// Whether a model rule's verdict is what the tracer printed.
fn verdict_fits(ruleset: &Ruleset, at: RuleRef, traced: Option<&KernelVerdict>) -> bool {
    let rule = ruleset.rule_at(at);
    let nat = rule.actions().any(|a| matches!(a, Action::Nat(_)));
    // Legacy lines carry no verdict.
    let Some(traced) = traced else { return true };
    match (rule.verdict(), traced.code) {
        (Some(v), _) if !matches!(v, Verdict::Continue) => KernelVerdict::of_rule(v) == *traced,
        (Some(Verdict::Continue) | None, NfVerdict::Continue) => !nat,
        (None, NfVerdict::Accept) => nat,
        _ => false,
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Places every step of a trace read from a tracer's text in the ruleset, in this order of
/// trust ([`PlacedBy`]): the iptables rule number (legacy `rule:3`, through
/// [`model::Chain::rules_of_source_number`]); the nft handle, through an `nft -a list
/// ruleset` listing; the rule's text (iptables-save form against each rule's original text,
/// or nft form against the listing); and last the verdict, when exactly one rule of the
/// chain has it (or the simulation took one of those that do). A step that cannot be placed
/// says why; nothing is placed by a guess.
pub fn place_steps(
    ruleset: &Ruleset,
    listing: Option<&TextListing>,
    tp: &TracedPacket,
    simulated: Option<&Outcome>,
) -> Vec<KernelStep> {
    let sim_rules: Vec<RuleRef> = simulated
        .map(|o| {
            o.primary()
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Rule { at, .. } => Some(*at),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut last_hook = None;
    tp.steps
        .iter()
        .map(|s| {
            let fam = s.family;
            let text_tracing = s.rule.starts_trace;
            let table = table_of(ruleset, fam, &s.table);
            let chain = table.and_then(|t| {
                ruleset.tables[t]
                    .chain(&s.chain)
                    .map(|c| ChainRef { table: t, chain: c })
            });
            let (at, by) = match chain {
                _ if text_tracing => (Placement::TracingRule, None),
                None => (Placement::NotInRuleset, None),
                Some(c) => match s.kind {
                    StepKind::Policy => (Placement::Policy(c), None),
                    StepKind::Return => (Placement::ChainEnd(c), None),
                    StepKind::Rule => place_rule(ruleset, listing, s, c, &sim_rules),
                    StepKind::Unknown(_) => {
                        (Placement::Unplaced(Unplaceable::UnknownEventKind), None)
                    }
                },
            };
            let hook = chain
                .and_then(|c| ruleset.chain_at(c).base.as_ref().map(|b| b.hook))
                .or_else(|| hook_of_name(&s.chain))
                .or(if chain.is_some() { last_hook } else { None });
            if chain.is_some_and(|c| ruleset.chain_at(c).base.is_some())
                || hook_of_name(&s.chain).is_some()
            {
                last_hook = hook;
            }
            let rejects = match &at {
                Placement::Rule(r) => match ruleset.rule_at(*r).verdict() {
                    Some(Verdict::Reject(x)) => Some(*x),
                    _ => None,
                },
                _ => None,
            };
            KernelStep {
                verdict: text_verdict(ruleset, s, &at),
                event: s.clone(),
                hook,
                at,
                by,
                rejects,
            }
        })
        .collect()
}

fn place_rule(
    ruleset: &Ruleset,
    listing: Option<&TextListing>,
    s: &WalkEvent,
    c: ChainRef,
    sim_rules: &[RuleRef],
) -> (Placement, Option<PlacedBy>) {
    let chain = ruleset.chain_at(c);
    let rule_ref = |i: usize| RuleRef {
        table: c.table,
        chain: c.chain,
        rule: i,
    };
    let by_number = |n: usize| {
        let r = chain.rules_of_source_number(n);
        (r.start < chain.rules.len() && !r.is_empty()).then(|| rule_ref(r.start))
    };
    if let Some(n) = s.rule.number {
        return match by_number(n as usize) {
            Some(r) => (Placement::Rule(r), Some(PlacedBy::RuleNumber)),
            None => (Placement::Unplaced(Unplaceable::BeyondLastRule), None),
        };
    }
    let listed = listing
        .zip(s.family)
        .and_then(|(l, f)| l.chain(f, &s.table, &s.chain));
    if let (Some(h), Some(lc)) = (s.rule.handle, listed) {
        if let Some(pos) = lc.rules.iter().position(|(lh, _)| *lh == Some(h)) {
            if let Some(r) = by_number(pos + 1) {
                return (Placement::Rule(r), Some(PlacedBy::Handle));
            }
        }
    }
    if let Some(text) = &s.rule.text {
        let want = normalize(text);
        // iptables-save form against the rules' own text.
        let same: Vec<RuleRef> = (0..chain.rules.len())
            .filter(|&i| normalize(&chain.rules[i].origin.text) == want)
            .map(rule_ref)
            .collect();
        if let Some(r) = pick(&same, sim_rules) {
            return (Placement::Rule(r), Some(PlacedBy::Text));
        }
        // nft form against the listing.
        if let Some(lc) = listed {
            let positions: Vec<RuleRef> = lc
                .rules
                .iter()
                .enumerate()
                .filter(|(_, (_, t))| normalize(t) == want)
                .filter_map(|(i, _)| by_number(i + 1))
                .collect();
            if let Some(r) = pick(&positions, sim_rules) {
                return (Placement::Rule(r), Some(PlacedBy::Text));
            }
        }
    }
    let numbers = chain.source_rule_numbers();
    let fitting: Vec<RuleRef> = (0..chain.rules.len())
        .filter(|&i| i == 0 || numbers[i] != numbers[i - 1])
        .map(rule_ref)
        .filter(|&r| verdict_fits(ruleset, r, s.verdict.as_ref()))
        .collect();
    match fitting.len() {
        0 => (Placement::Unplaced(Unplaceable::NoRuleWithVerdict), None),
        1 => (Placement::Rule(fitting[0]), Some(PlacedBy::Verdict)),
        _ => match fitting.iter().find(|r| sim_rules.contains(r)) {
            Some(r) => (Placement::Rule(*r), Some(PlacedBy::Simulation)),
            None => (
                Placement::Unplaced(Unplaceable::SeveralRulesWithVerdict),
                None,
            ),
        },
    }
}

/// One of several equal candidates: the simulation's if it took one, else the first.
fn pick(candidates: &[RuleRef], sim: &[RuleRef]) -> Option<RuleRef> {
    candidates
        .iter()
        .find(|r| sim.contains(r))
        .or(candidates.first())
        .copied()
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
