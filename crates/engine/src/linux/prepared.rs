//! A ruleset made ready for many simulations: the base chains of every hook in the order
//! the kernel runs them, conntrack and the NAT core placed among them, and every
//! `jump`/`goto` resolved to its chain ([`Ruleset::link`]).
//!
//! Built once ([`Prepared::new`]) and shared by every packet simulated against the same
//! ruleset (the benchmark, the fix search): the packet path then neither sorts nor
//! searches chains by name.
//!
//! Where the kernel places things on a hook (`nf_hook_entries_grow` keeps entries sorted by
//! priority and inserts a new one *before* existing ones of equal priority, so among base
//! chains of one priority the one registered last runs first: measured with two nft
//! tables at `priority mangle`, the second table's chain ran first):
//! - conntrack (`nf_conntrack_in`) at -200 on prerouting and output, after chains of a
//!   lower priority and before those of priority -200 and above;
//! - the NAT core (`nf_nat_inet_fn`) at `NF_IP_PRI_NAT_DST` (-100) on prerouting/output and
//!   `NF_IP_PRI_NAT_SRC` (100) on input/postrouting; every `type nat` chain of the hook
//!   runs *inside* it, in the chains' own priority order (`nf_nat_register_fn` adds them to
//!   the NAT core's private list), so a nat chain's priority orders it only against other
//!   nat chains.

use crate::linux::nesting::{self, Nesting};
use model::expr::{Effect, Key, Pattern, Test, Value};
use model::ruleset::{priority, ChainType, Links, Step};
use model::{ChainRef, Family, Hook, Packet, Rule, RuleRef, Ruleset};
use std::net::IpAddr;

/// Which address the NAT core of a hook rewrites (`enum nf_nat_manip_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Manip {
    /// Source NAT: postrouting and input.
    Src,
    /// Destination NAT: prerouting and output.
    Dst,
}

impl Manip {
    /// The manipulation the NAT core performs on `hook` (`HOOK2MANIP`).
    pub fn of_hook(hook: Hook) -> Option<Manip> {
        match hook {
            Hook::Prerouting | Hook::Output => Some(Manip::Dst),
            Hook::Input | Hook::Postrouting => Some(Manip::Src),
            _ => None,
        }
    }
}

/// One thing registered on a hook, in run order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A base chain (not `type nat`).
    Chain(ChainRef),
    /// `nf_conntrack_in` (prerouting and output, priority -200).
    Conntrack,
    /// The NAT core with the `type nat` chains of this hook, in priority order.
    Nat { manip: Manip, chains: Vec<ChainRef> },
}

/// A ruleset indexed for simulation.
#[derive(Debug, Clone)]
pub struct Prepared<'r> {
    /// The ruleset indexed.
    pub ruleset: &'r Ruleset,
    /// Entries per hook and address family: index `hook_slot(hook) * 2 + v6`.
    hooks: Vec<Vec<Entry>>,
    /// Every `jump`/`goto` resolved to its chain.
    links: Links,
    /// Per table, chain and rule: a compact form of the rule's first match, checked before
    /// the rule itself is read (most rules of a large ruleset fail on their first match).
    quick: Vec<Vec<Vec<Quick>>>,
    /// Per table: whether the kernel loads its chain nesting.
    nesting: Vec<Nesting>,
}

/// A rule's first match when it is a plain address or protocol comparison, packed so
/// that the traversal can skip a rule without touching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// No quick check: evaluate the rule.
    None,
    /// `ip saddr`/`daddr` (`-s`/`-d`) in an IPv4 prefix: `(addr & mask) == net`.
    V4 { dst: bool, net: u32, mask: u32 },
    /// The same for IPv6.
    V6 { dst: bool, net: u128, mask: u128 },
    /// `meta l4proto` (`-p`) equal to a protocol number.
    Proto(u8),
}

impl Quick {
    /// The quick form of `rule`'s first step, if it has one.
    pub fn of(rule: &Rule) -> Quick {
        let Some(Step::Match(m)) = rule.body.first() else {
            return Quick::None;
        };
        if m.negated {
            return Quick::None;
        }
        let Test::Cmp { key, pattern } = &m.test else {
            return Quick::None;
        };
        let dst = match key {
            Key::SrcAddr => false,
            Key::DstAddr => true,
            Key::L4Proto => {
                return match pattern {
                    Pattern::Value(Value::Int(n)) if *n <= 255 => Quick::Proto(*n as u8),
                    _ => Quick::None,
                }
            }
            _ => return Quick::None,
        };
        let (addr, len) = match pattern {
            Pattern::Prefix(net) => (net.addr(), net.prefix_len()),
            Pattern::Value(Value::Addr(a)) => (*a, if a.is_ipv4() { 32 } else { 128 }),
            _ => return Quick::None,
        };
        match addr {
            IpAddr::V4(a) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len.min(32)))
                };
                Quick::V4 {
                    dst,
                    net: u32::from(a) & mask,
                    mask,
                }
            }
            IpAddr::V6(a) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len.min(128)))
                };
                Quick::V6 {
                    dst,
                    net: u128::from(a) & mask,
                    mask,
                }
            }
        }
    }

    /// `false` when the first match certainly fails for `packet` (the rule can be
    /// skipped); `true` when the rule must be evaluated.
    #[inline]
    pub fn may_match(self, packet: &Packet) -> bool {
        match self {
            Quick::None => true,
            Quick::Proto(p) => packet.proto().number() == p,
            Quick::V4 { dst, net, mask } => match if dst { packet.dst } else { packet.src } {
                IpAddr::V4(a) => u32::from(a) & mask == net,
                IpAddr::V6(_) => false,
            },
            Quick::V6 { dst, net, mask } => match if dst { packet.dst } else { packet.src } {
                IpAddr::V6(a) => u128::from(a) & mask == net,
                IpAddr::V4(_) => false,
            },
        }
    }
}

const HOOKS: [Hook; 7] = [
    Hook::Ingress,
    Hook::Prerouting,
    Hook::Input,
    Hook::Forward,
    Hook::Output,
    Hook::Postrouting,
    Hook::Egress,
];

fn hook_slot(hook: Hook) -> usize {
    match hook {
        Hook::Ingress => 0,
        Hook::Prerouting => 1,
        Hook::Input => 2,
        Hook::Forward => 3,
        Hook::Output => 4,
        Hook::Postrouting => 5,
        Hook::Egress => 6,
    }
}

/// Whether base chains of `family` on `hook` see routed IPv4 (`v6 == false`) or IPv6
/// packets. Bridge and arp chains never see routed IP packets; netdev chains only on
/// ingress/egress.
fn family_sees(family: Family, hook: Hook, v6: bool) -> bool {
    match family {
        Family::Ip | Family::Ip6 | Family::Inet => family.sees(v6),
        Family::Netdev => matches!(hook, Hook::Ingress | Hook::Egress),
        Family::Bridge | Family::Arp => false,
    }
}

/// Sort key of an entry: (priority, tie-breaker). Ties run in reverse ruleset (registration)
/// order; conntrack and the NAT core sit before chains of their own priority.
type SortKey = (i64, u8, usize);

impl<'r> Prepared<'r> {
    /// Indexes `ruleset`: hook entries in run order, first-match quick checks.
    pub fn new(ruleset: &'r Ruleset) -> Prepared<'r> {
        let mut hooks = Vec::with_capacity(HOOKS.len() * 2);
        let tracked = [
            conntrack_used(ruleset, false),
            conntrack_used(ruleset, true),
        ];
        for hook in HOOKS {
            for v6 in [false, true] {
                hooks.push(entries_for(ruleset, hook, v6, tracked[usize::from(v6)]));
            }
        }
        let quick = ruleset
            .tables
            .iter()
            .map(|t| {
                t.chains
                    .iter()
                    .map(|c| c.rules.iter().map(Quick::of).collect())
                    .collect()
            })
            .collect();
        let mut prepared = Prepared {
            ruleset,
            hooks,
            links: ruleset.link(),
            quick,
            nesting: Vec::new(),
        };
        prepared.nesting = nesting::of_ruleset(&prepared);
        prepared
    }

    /// What the kernel makes of table `table`'s chain nesting.
    pub fn nesting(&self, table: usize) -> &Nesting {
        &self.nesting[table]
    }

    /// The chains that chain `at`'s rules jump or go to.
    pub fn chain_targets(&self, at: ChainRef) -> impl Iterator<Item = usize> + '_ {
        self.links.chain_targets(at)
    }

    /// The quick checks of the rules of chain `at`.
    #[inline]
    pub fn quick(&self, at: ChainRef) -> &[Quick] {
        &self.quick[at.table][at.chain]
    }

    /// What runs on `hook` for an IPv4 or IPv6 packet, in order.
    pub fn entries(&self, hook: Hook, v6: bool) -> &[Entry] {
        &self.hooks[hook_slot(hook) * 2 + usize::from(v6)]
    }

    /// The chain that step `step` of rule `at` (a `jump`/`goto`) leads to; `None` when
    /// the table has no chain of that name.
    #[inline]
    pub fn jump_target(&self, at: RuleRef, step: usize) -> Option<usize> {
        self.links.target(at, step).map(|c| c.chain)
    }
}

/// Whether the kernel runs conntrack (and with it the NAT core) for IPv4 (`v6 == false`) or
/// IPv6 packets with this ruleset loaded.
///
/// Conntrack's hooks are registered per network namespace and family only while something
/// holds a reference (`nf_ct_netns_get`): the nft `ct` expression (iptables `-m conntrack`,
/// `-m state`, `-m connmark`, `-m helper`, `ct state` ...), the NAT expressions and targets
/// (`nft_nat`, `masquerade`, `redirect`, `SNAT`/`DNAT`/...), `CONNMARK`, `CT --helper/--zone`,
/// connlimit, and unmodelled extensions their front end marks
/// ([`model::expr::Unmodelled::needs_conntrack`]). A `type nat` chain by itself takes none,
/// nor does `NOTRACK`/`CT --notrack`: a ruleset with only those sees no conntrack state and
/// its nat chains never run
/// (`nf_nat_inet_fn` returns at once without a connection). Measured on 6.18 in a fresh
/// namespace; an `ip6` table's reference does not enable IPv4 tracking, an `inet` one
/// enables both.
pub fn conntrack_used(ruleset: &Ruleset, v6: bool) -> bool {
    use model::expr::{Action, Undecidable};
    let ct_key = |k: &Key| {
        matches!(
            k,
            Key::CtState
                | Key::CtStatus
                | Key::CtMark
                | Key::CtDirection
                | Key::CtOrigSrc
                | Key::CtOrigDst
                | Key::CtReplSrc
                | Key::CtReplDst
                | Key::CtOrigSrcPort
                | Key::CtOrigDstPort
                | Key::CtReplSrcPort
                | Key::CtReplDstPort
                | Key::CtProto
                | Key::CtZone
                | Key::CtHelper
        )
    };
    let uses = |step: &Step| match step {
        Step::Match(m) => match &m.test {
            Test::Cmp { key, .. } => ct_key(key),
            Test::InSet { keys, .. } => keys.iter().any(ct_key),
            Test::Undecidable { kind, .. } => match kind {
                Undecidable::Connlimit | Undecidable::CtCount => true,
                Undecidable::Unsupported(u) => u.needs_conntrack,
                _ => false,
            },
            _ => false,
        },
        Step::Action(a) => match a {
            // A NAT statement with an address registers conntrack for the address's family
            // only (`nft_nat_init`: `nf_ct_netns_get(net, NFTA_NAT_FAMILY)`): `snat ip6 to`
            // in an inet table leaves IPv4 untracked, and its nat chains never run for it.
            Action::Nat(n) => n.addr.is_none_or(|(a, _)| a.is_ipv6() == v6),
            Action::CtMark(_) | Action::CtSet { .. } => true,
            Action::Effect(e) => {
                matches!(e, Effect::FlowOffload { .. } | Effect::CtAttribute { .. })
            }
            // The front end that read an unmodelled target knows whether it takes a
            // reference (`SYNPROXY`, an unmodelled `ct` statement).
            Action::Undecidable(u) => u.needs_conntrack,
            _ => false,
        },
    };
    ruleset
        .tables
        .iter()
        .filter(|t| {
            matches!(t.family, Family::Ip | Family::Ip6 | Family::Inet) && t.family.sees(v6)
        })
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .any(|r| r.body.iter().any(uses))
}

fn entries_for(ruleset: &Ruleset, hook: Hook, v6: bool, tracked: bool) -> Vec<Entry> {
    let mut keyed: Vec<(SortKey, Entry)> = Vec::new();
    let mut nat: Vec<(i64, usize, ChainRef)> = Vec::new();
    let mut order = 0usize;
    for (ti, table) in ruleset.tables.iter().enumerate() {
        if !family_sees(table.family, hook, v6) {
            continue;
        }
        for (ci, chain) in table.chains.iter().enumerate() {
            let Some(base) = &chain.base else { continue };
            if base.hook != hook {
                continue;
            }
            let at = ChainRef {
                table: ti,
                chain: ci,
            };
            order += 1;
            if base.chain_type == ChainType::Nat && Manip::of_hook(hook).is_some() {
                nat.push((i64::from(base.priority), usize::MAX - order, at));
            } else {
                keyed.push((
                    (i64::from(base.priority), 1, usize::MAX - order),
                    Entry::Chain(at),
                ));
            }
        }
    }
    if tracked && matches!(hook, Hook::Prerouting | Hook::Output) {
        keyed.push(((i64::from(priority::CONNTRACK), 0, 0), Entry::Conntrack));
    }
    if let Some(manip) = Manip::of_hook(hook).filter(|_| tracked) {
        nat.sort();
        let at = match manip {
            Manip::Dst => priority::NAT_DST,
            Manip::Src => priority::NAT_SRC,
        };
        keyed.push((
            (i64::from(at), 0, 1),
            Entry::Nat {
                manip,
                chains: nat.into_iter().map(|(_, _, c)| c).collect(),
            },
        ));
    }
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceFile;

    /// Found by the nft kernel-differential test: of two base chains on one hook at one
    /// priority, the kernel runs the one registered last first (`nf_hook_entries_grow`).
    #[test]
    fn equal_priorities_run_in_reverse_registration_order() {
        let text = "table inet a {\n chain f { type filter hook forward priority mangle; policy drop; }\n}\n\
                    table inet b {\n chain f { type filter hook forward priority mangle; policy accept; }\n\
                    chain g { type filter hook forward priority -150; policy accept; }\n}\n";
        let rs = frontends::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        let chains: Vec<(usize, usize)> = entries_for(&rs, Hook::Forward, false, false)
            .into_iter()
            .filter_map(|e| match e {
                Entry::Chain(c) => Some((c.table, c.chain)),
                _ => None,
            })
            .collect();
        assert_eq!(chains, vec![(1, 1), (1, 0), (0, 0)]);
    }

    /// Found by the nft kernel-differential test: `snat ip6 to` in an inet table turns
    /// conntrack on for IPv6 only; IPv4 packets meet no nat chain.
    #[test]
    fn nat_with_an_address_tracks_only_its_family() {
        let text = "table inet t {\n chain post {\n  type nat hook postrouting priority 100; policy accept;\n  snat ip6 to fd00::1\n }\n}\n";
        let rs = frontends::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        assert!(!conntrack_used(&rs, false));
        assert!(conntrack_used(&rs, true));
        let text = "table inet t {\n chain post {\n  type nat hook postrouting priority 100; policy accept;\n  masquerade\n }\n}\n";
        let rs = frontends::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        assert!(conntrack_used(&rs, false) && conntrack_used(&rs, true));
    }

    fn parse(text: &str, family: Family) -> Ruleset {
        let src = SourceFile::new("t.rules", text);
        frontends::iptables_save::parse(&src, Some(family)).unwrap()
    }

    const NAT_ONLY: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 9 -j ACCEPT\nCOMMIT\n";

    /// Found by the differential tester (issue 3 part 8): nat chains and NOTRACK alone do
    /// not register conntrack; a conntrack match or a NAT target does, per family.
    #[test]
    fn conntrack_runs_only_when_a_rule_needs_it() {
        let rs = parse(NAT_ONLY, Family::Ip);
        assert!(!conntrack_used(&rs, false));
        let p = Prepared::new(&rs);
        assert!(p.entries(Hook::Prerouting, false).is_empty());
        assert!(p.entries(Hook::Input, false).is_empty());

        let notrack = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j CT --notrack\nCOMMIT\n";
        assert!(!conntrack_used(&parse(notrack, Family::Ip), false));

        let state = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
        let mut rs = parse(NAT_ONLY, Family::Ip);
        rs.merge(parse(state, Family::Ip6));
        assert!(
            !conntrack_used(&rs, false),
            "an ip6 table does not track IPv4"
        );
        assert!(conntrack_used(&rs, true));
        rs.merge(parse(state, Family::Ip));
        assert!(conntrack_used(&rs, false));
        let p = Prepared::new(&rs);
        assert!(p
            .entries(Hook::Prerouting, false)
            .contains(&Entry::Conntrack));

        let dnat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n";
        assert!(conntrack_used(&parse(dnat, Family::Ip), false));
    }

    /// Unmodelled extensions turn conntrack on when their front end says they need it
    /// (`connbytes`, `SYNPROXY`, an unmodelled `ct` expression), never from their name here.
    #[test]
    fn unmodelled_extensions_track_when_their_front_end_says_so() {
        let filter = |rule: &str| {
            let text = format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rule}\nCOMMIT\n");
            conntrack_used(&parse(&text, Family::Ip), false)
        };
        assert!(filter("-A INPUT -m connbytes --connbytes 10 --connbytes-dir original --connbytes-mode packets -j DROP"));
        assert!(filter("-A INPUT -p tcp -j SYNPROXY --mss 1460"));
        assert!(!filter("-A INPUT -m cgroup --path user.slice -j DROP"));
        assert!(!filter("-A INPUT -p tcp -j TARPIT"));
        let nft = "table ip t {\n chain c {\n  type filter hook input priority 0; policy accept;\n  ct frobnicate 1 drop\n }\n}\n";
        let rs = frontends::nft::parse_text(&SourceFile::new("t.nft", nft)).unwrap();
        assert!(conntrack_used(&rs, false));
    }
}
