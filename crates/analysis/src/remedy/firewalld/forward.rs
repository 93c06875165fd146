//! Forwarded traffic firewalld rejects: firewalld 2.x sends a forwarded packet through the
//! chain of its zone pair (`filter_FWD_internal_to_public`), which jumps to the policies
//! from the ingress to the egress zone, then to the ingress zone's forward chain, and
//! rejects. The change goes in a policy: the one the pair already jumps to, else a new
//! policy from the ingress to the egress zone (`--new-policy`, `--add-ingress-zone`,
//! `--add-egress-zone`: permanent only, then `--reload`).
//!
//! The patched ruleset holds what firewalld generates for the policy: its chain jumping to
//! `_pre`, `_log`, `_deny`, `_allow`, `_post` (`build_policy_chain_rules` in
//! `nftables.py`; a policy's default target `CONTINUE` adds no rule), the port or rich
//! rule in `_allow`, and the pair chain's jump to the policy ahead of the zone's chain (a
//! policy's default priority is -1; firewalld's test suite records this layout in
//! `features/policy_dispatch_zone_to_zone.at`).

use super::{
    append_fix_rule, candidate, changes, deciding_chain, zone_opening, Change, Flow, Scope, TABLE,
};
use crate::fix::{FixRule, Position, FIX_SOURCE};
use crate::remedy::{Blocked, Candidate, Durability, Language, Step};
use model::{Family, Ruleset, SourceFile, Verdict};
use owners::firewalld::chain_name::{self, ChainKind, Shortcut, SubChain};

/// The sub-chains of a policy, in the order its chain jumps to them.
const SUB_CHAINS: [&str; 5] = ["pre", "log", "deny", "allow", "post"];

/// The zone pair whose chain rejected a forwarded packet.
pub(super) struct ZonePair {
    ingress: String,
    egress: String,
    /// `filter_FWD_{ingress}_to_{egress}`.
    chain: String,
    /// The first policy the pair's chain already jumps to.
    policy: Option<String>,
}

impl ZonePair {
    /// The pair, when the deciding rule is the end of a forward zone-pair chain of
    /// `inet firewalld`.
    pub(super) fn of(blocked: &Blocked<'_>) -> Option<ZonePair> {
        let chain = deciding_chain(blocked)?;
        let name = chain_name::parse_nft(&chain.name)?;
        let ChainKind::ZonePair { ingress, egress } = name.kind else {
            return None;
        };
        if name.table != "filter"
            || name.shortcut != Some(Shortcut::Fwd)
            || ingress == "HOST"
            || egress == "HOST"
        {
            return None;
        }
        let policy = chain.rules.iter().find_map(|r| match r.verdict()? {
            Verdict::Jump(t) | Verdict::Goto(t) => match chain_name::parse_nft(t)?.kind {
                ChainKind::Policy {
                    policy,
                    sub: SubChain::Main,
                } => Some(policy),
                _ => None,
            },
            _ => None,
        });
        Some(ZonePair {
            ingress,
            egress,
            chain: chain.name.clone(),
            policy,
        })
    }
}

/// The remedies for a flow the pair rejects: in the policy the pair already applies
/// (runtime and permanent), else in a new policy for the pair.
pub(super) fn candidates(blocked: &Blocked<'_>, pair: &ZonePair, flow: &Flow) -> Vec<Candidate> {
    let changes = changes(blocked, flow, true);
    match &pair.policy {
        Some(policy) => {
            let scope = Scope::Policy(policy.clone(), Shortcut::Fwd);
            changes
                .iter()
                .filter_map(|c| candidate(blocked.ruleset, &scope, c, flow))
                .collect()
        }
        None => changes
            .iter()
            .filter_map(|c| new_policy(blocked.ruleset, pair, c, flow))
            .collect(),
    }
}

/// A new policy `{ingress}-to-{egress}` holding `change`.
fn new_policy(
    ruleset: &Ruleset,
    pair: &ZonePair,
    change: &Change,
    flow: &Flow,
) -> Option<Candidate> {
    let name = format!("{}-to-{}", pair.ingress, pair.egress);
    let main = format!("filter_FWD_policy_{name}");
    let t = ruleset.table(Family::Inet, TABLE)?;
    if ruleset.tables[t].chain(&main).is_some() {
        return None;
    }
    let patched = with_policy(ruleset, pair, &main, &change.matches)?;
    let policy = format!("--permanent --policy={name}");
    let scope = Scope::Policy(name.clone(), Shortcut::Fwd);
    Some(Candidate {
        breadth: change.breadth,
        language: Language::FirewallCmd,
        steps: vec![
            Step::Run(format!("firewall-cmd --permanent --new-policy={name}")),
            Step::Run(format!(
                "firewall-cmd {policy} --add-ingress-zone={}",
                pair.ingress
            )),
            Step::Run(format!(
                "firewall-cmd {policy} --add-egress-zone={}",
                pair.egress
            )),
            Step::Run(format!("firewall-cmd {policy} {}", change.option)),
            Step::Run("firewall-cmd --reload".to_string()),
        ],
        durability: Durability::Durable,
        opens: zone_opening(&scope, flow, change),
        caveats: Vec::new(),
        patched: Some(patched),
        kernel_rules: policy_kernel_rules(pair, &main, &change.matches),
    })
}

/// The policy's chains as firewalld declares them, `matches accept` in `_allow`, and the
/// pair chain's jump to the policy (a block of its own, inserted first by the caller).
fn policy_text(pair: &ZonePair, main: &str, matches: &str) -> String {
    let jumps: String = SUB_CHAINS
        .iter()
        .map(|s| format!("\t\tjump {main}_{s}\n"))
        .collect();
    let subs: String = SUB_CHAINS
        .iter()
        .map(|s| {
            let body = if *s == "allow" {
                format!("\t\t{matches} accept\n")
            } else {
                String::new()
            };
            format!("\tchain {main}_{s} {{\n{body}\t}}\n")
        })
        .collect();
    format!(
        "table inet {TABLE} {{\n\tchain {main} {{\n{jumps}\t}}\n{subs}\tchain {} {{\n\t\tjump {main}\n\t}}\n}}\n",
        pair.chain
    )
}

/// `ruleset` with the new policy's chains added to `inet firewalld` and its jump first in
/// the pair's chain.
fn with_policy(ruleset: &Ruleset, pair: &ZonePair, main: &str, matches: &str) -> Option<Ruleset> {
    let source = SourceFile::new(FIX_SOURCE, policy_text(pair, main, matches));
    let parsed = frontends::nft::parse_text(&source).ok()?;
    let mut new_chains = parsed.tables.into_iter().next()?.chains;
    let at = new_chains.iter().position(|c| c.name == pair.chain)?;
    let jump = new_chains.remove(at).rules.into_iter().next()?;
    let mut patched = ruleset.clone();
    let t = patched.table(Family::Inet, TABLE)?;
    let table = &mut patched.tables[t];
    let c = table.chain(&pair.chain)?;
    table.chains[c].rules.insert(0, jump);
    table.chains.extend(new_chains);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(source);
    }
    Some(patched)
}

/// The nft commands that leave the kernel's `inet firewalld` as firewalld leaves it after
/// the reload: the chains, the policy's jumps, the rule, the pair's jump to the policy.
fn policy_kernel_rules(pair: &ZonePair, main: &str, matches: &str) -> Vec<FixRule> {
    let rule = |chain: &str, command: String, body: String, position| FixRule {
        command,
        body,
        family: Family::Inet,
        table: TABLE.to_string(),
        chain: chain.to_string(),
        position,
    };
    let mut out = Vec::new();
    let chains =
        std::iter::once(main.to_string()).chain(SUB_CHAINS.iter().map(|s| format!("{main}_{s}")));
    for chain in chains {
        out.push(rule(
            &chain,
            format!("nft add chain inet {TABLE} {chain}"),
            format!("chain {chain} {{ }}"),
            Position::Append,
        ));
    }
    for s in SUB_CHAINS {
        out.push(rule(
            main,
            format!("nft add rule inet {TABLE} {main} jump {main}_{s}"),
            format!("jump {main}_{s}"),
            Position::Append,
        ));
    }
    out.push(append_fix_rule(&format!("{main}_allow"), matches));
    out.push(rule(
        &pair.chain,
        format!("nft insert rule inet {TABLE} {} jump {main}", pair.chain),
        format!("jump {main}"),
        Position::Insert(1),
    ));
    out
}
