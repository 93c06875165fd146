//! IPFilter's packet pass: what `ipf_check` (`fil.c`) does with one packet going `in` or
//! `out` on an interface, offline.
//!
//! The order is IPFilter's: the packet is decoded ([`fin`]); for `in`, translation
//! (`rdr`, `bimap`) comes first; then the fragment cache, the state table, and only if
//! neither knows the packet, the rules ([`rules`]): every rule of the list is read top
//! to bottom and the last that matches decides, unless a `quick` rule matches first; a
//! rule with `head G` sends the packet through group G's rules, whose answer stands for
//! it. A `keep state` rule that passes the packet creates a state entry ([`state`]), a
//! `keep frags` rule a fragment entry ([`frag`]). For `out`, accounting and translation
//! (`map`) come after the rules, and only for a packet that passes. When no rule
//! matches, IPFilter passes (unless built with `IPFILTER_DEFAULT_BLOCK`): ipftest prints
//! `nomatch`, the answer's decider is [`Decider::Default`].
//!
//! [`Ipf::check`] is the rich answer ipftest prints; [`FilterPass`] the contract the
//! host path uses.

pub mod dstlist;
mod fastroute;
pub mod fin;
pub mod flags;
pub mod frag;
pub mod grpmap;
pub mod ipftest_random;
mod log;
pub mod nat;
mod nat_divert;
mod nat_icmp;
mod nat_map;
mod nat_mss;
mod nat_order;
#[cfg(test)]
mod nat_pool_tests;
mod nat_rdr;
mod nat_rewrite;
#[cfg(test)]
mod nat_tests;
pub mod pool;
pub mod proxy;
mod proxy_ftp;
mod proxy_pptp;
pub mod proxy_rpcb;
mod rule_load;
pub mod rules;
pub mod state;
mod wire;

use std::sync::Arc;

use model::expr::Undecidable;
use model::ipf::filter::{Action, BlockReturn};
use model::ipf::{IpFamily, IpfRules, NatRules, Pools};
use model::Packet;

use crate::bsd::{
    BlockAnswer, Decider, Direction, Filter, FilterLog, FilterPass, PassResult, PassVerdict,
    Rewrite, RuleId, Step,
};
use fin::{flx, BadPacket, Fin};
use flags as fr;
use frag::FragTable;
use pool::PoolTable;
use rules::{interface_matches, rule_matches, ListKey, Lists, Test};
use state::StateTable;

/// Tunables (`ipf -T`, ipftest `-T name=value`) that change answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// `state_max`: the most state entries (IPFilter's default is 4013).
    pub state_max: usize,
    /// `update_ipid`: NAT rewrites the IP id of packets it translates.
    pub update_ipid: bool,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            state_max: 4013,
            update_ipid: false,
        }
    }
}

/// The limits and interfaces of a `keep state` rule its entries need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleState {
    /// `limit N`.
    pub limit: Option<u32>,
    /// `max-srcs N`.
    pub max_srcs: Option<u32>,
    /// `max-per-src N`.
    pub max_per_src: Option<u32>,
    /// The source mask of `max-per-src N/M`.
    pub src_mask: Option<u8>,
    /// `on IF1,IF2` and the `via` interfaces: `fr_ifnames[0..4]`.
    pub interfaces: [Option<String>; 4],
}

/// IPFilter's rules, prepared for packets.
#[derive(Debug, Clone)]
pub struct Ipf {
    lists: Lists,
    nat: nat::Nat,
    pools: PoolTable,
    flags: Vec<u32>,
    rule_state: Vec<RuleState>,
    tuning: Tuning,
    refused: Vec<model::ipf::FilterRule>,
}

/// The state, fragment and NAT tables, and the rules' hit counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpfState {
    /// `keep state` entries.
    pub state: StateTable,
    /// `keep frags` entries.
    pub frags: FragTable,
    /// Hits per rule (index into the rules).
    pub hits: Vec<u64>,
    /// NAT sessions and host maps.
    pub nat: nat::NatState,
    /// The next IP id `update_ipid` gives (`ipf_nextipid`: a counter from 0).
    pub next_ipid: u16,
    /// The destination lists' picks.
    pub dstlists: dstlist::DstListState,
}

/// What decided the packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// A rule (index into the rules, number in its list).
    Rule {
        /// Index into the rules as given.
        index: usize,
        /// `fin_rule`: its position in the list it was read in (0-based).
        number: u32,
    },
    /// A state entry.
    State {
        /// The rule that created it.
        created_by: Option<usize>,
    },
    /// The fragment cache.
    Fragment {
        /// The rule that passed the first fragment.
        created_by: Option<usize>,
    },
    /// No rule matched.
    Default,
    /// Dropped before the rules: too short for its headers.
    BadPacket(BadPacket),
}

/// The answer for one packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The final flags (`pass` of `ipf_check`): what ipftest's answer is read from.
    pub pass: u32,
    /// What decided.
    pub decided: Decided,
    /// The packet was dropped (blocked, or bad).
    pub freed: bool,
    /// A rule on the way could not be decided offline.
    pub undetermined: Option<Undecidable>,
    /// The packet as it leaves (after NAT).
    pub bytes: Vec<u8>,
    /// Rules read, in order.
    pub steps: Vec<Step>,
    /// A state entry was created.
    pub keeps_state: bool,
    /// The `ipmon` lines written, with the rule that logged (index, number).
    pub logs: Vec<(Option<(usize, u32)>, String)>,
    /// Why a dropped packet was dropped (`fin_reason`, `FRB_*` of `ip_fil.h`): 0 a
    /// rule, 5 its state entry could not be added, 12 too short (`ipf_pullup`), 15/16
    /// NAT could not translate it (IPv4/IPv6).
    pub reason: u8,
    /// NAT matched but could not translate: the packet is dropped.
    pub nat_failed: bool,
    /// A rule's `to` sent the packet out (`ipf_fastroute`).
    pub forwarded: Option<dstlist::Forwarded>,
}

/// The packet being checked and where it is.
struct Pkt<'a> {
    fin: Fin,
    /// The last rule the packet matched (`fin_rule`/`fin_group`): what a log names.
    last: Option<(usize, u32)>,
    /// The packet as it is now (NAT rewrites it).
    bytes: Vec<u8>,
    out: bool,
    interface: &'a str,
    /// The state entry the packet matched, if one did.
    state_hit: Option<state::Hit>,
}

impl Check {
    /// A check whose steps and logs are thrown away (accounting, `icmp-head` groups).
    fn scratch() -> Check {
        Check {
            pass: 0,
            decided: Decided::Default,
            freed: false,
            undetermined: None,
            bytes: Vec::new(),
            steps: Vec::new(),
            keeps_state: false,
            logs: Vec::new(),
            reason: 0,
            nat_failed: false,
            forwarded: None,
        }
    }
}

/// A rule walk's outcome (`ipf_scanlist`'s `pass` and `fin_fr`).
struct Scan {
    pass: u32,
    rule: Option<(usize, u32)>,
    unknown: Option<Undecidable>,
}

impl Ipf {
    /// Prepares `rules` and `pools`. `default_family`: what rules without a family are
    /// (`Some(Inet6)` for ipftest `-6`).
    pub fn new(
        rules: &IpfRules,
        pools: &Pools,
        default_family: Option<IpFamily>,
        tuning: Tuning,
    ) -> Ipf {
        let (rules, refused) = rule_load::split(rules, pools);
        let lists = Lists::build(&rules, default_family);
        let flags = lists.rules.iter().map(fr::of_rule).collect();
        let rule_state = lists
            .rules
            .iter()
            .map(|r| {
                let ks = r.keep_state.clone().unwrap_or_default();
                RuleState {
                    limit: ks.limit,
                    max_srcs: ks.max_srcs,
                    max_per_src: ks.max_per_src.map(|(n, _)| n),
                    src_mask: ks.max_per_src.and_then(|(_, m)| m),
                    interfaces: [
                        r.on.first().cloned(),
                        r.on.get(1).cloned(),
                        r.via.first().cloned(),
                        r.via.get(1).cloned(),
                    ],
                }
            })
            .collect();
        Ipf {
            lists,
            nat: nat::Nat::default(),
            pools: PoolTable::new(pools),
            flags,
            rule_state,
            tuning,
            refused,
        }
    }

    /// The rules the kernel refuses to load (`rule_load.rs`): in no list.
    pub fn refused(&self) -> &[model::ipf::FilterRule] {
        &self.refused
    }

    /// The rules, in the order given (with defaults filled in).
    pub fn rules(&self) -> &[model::ipf::FilterRule] {
        &self.lists.rules
    }

    /// The lists the rules were sorted into.
    pub fn lists(&self) -> &Lists {
        &self.lists
    }

    /// A rule's loaded flags.
    pub fn rule_flags(&self, index: usize) -> u32 {
        self.flags[index]
    }

    /// `ipf_check`: one packet, `out` or in, on `interface`. `cast` carries link-layer
    /// broadcast/multicast flags ([`fin::flx`]).
    pub fn check(
        &self,
        bytes: &[u8],
        out: bool,
        interface: &str,
        cast: u32,
        tables: &mut IpfState,
    ) -> Check {
        if tables.hits.len() < self.lists.rules.len() {
            tables.hits.resize(self.lists.rules.len(), 0);
        }
        let mut check = Check {
            pass: fr::PASS | fr::NOMATCH,
            decided: Decided::Default,
            freed: false,
            undetermined: None,
            bytes: bytes.to_vec(),
            steps: Vec::new(),
            keeps_state: false,
            logs: Vec::new(),
            reason: 0,
            nat_failed: false,
            forwarded: None,
        };
        let fin = match Fin::decode(bytes, cast) {
            Ok(fin) => fin,
            Err(bad) => {
                check.pass = fr::BLOCK | fr::NOMATCH;
                check.decided = Decided::BadPacket(bad);
                check.freed = true;
                check.reason = 12;
                return check;
            }
        };
        let mut pkt = Pkt {
            fin,
            last: None,
            bytes: bytes.to_vec(),
            out,
            interface,
            state_hit: None,
        };
        let mut pass = fr::PASS | fr::NOMATCH;
        let mut rule: Option<(usize, u32)> = None;
        let mut created_session = false;
        if !out {
            // `ipf_nat_checkin`: rdr and bimap before anything else reads the packet.
            created_session = self.translate(&mut pkt, cast, tables, &mut check);
            if check.nat_failed {
                // `ipf_nat_checkin` returned -1: blocked (`FRB_NATV4`), no rule read.
                check.pass = fr::BLOCK;
                check.reason = if pkt.fin.v == 6 { 16 } else { 15 };
                check.freed = true;
                check.bytes = pkt.bytes;
                return check;
            }
            self.accounting(&mut pkt, tables);
        }
        let mut known = false;
        if pkt.fin.flx & flx::FRAG != 0 {
            if let Some(entry) = tables.frags.lookup(&mut pkt.fin, interface) {
                if let Some(index) = entry.rule {
                    let mut p = self.flags[index];
                    if p & fr::KEEPSTATE != 0 {
                        pkt.fin.flx |= flx::STATE;
                        p &= !fr::KEEPSTATE;
                    }
                    if p & fr::LOGFIRST != 0 {
                        p &= !(fr::LOGFIRST | fr::LOG);
                    }
                    pass = p;
                    rule = Some((index, entry.rulen));
                    check.decided = Decided::Fragment {
                        created_by: Some(index),
                    };
                    known = true;
                }
            }
        }
        if !known {
            // A back connection a NAT proxy announced gets its state entry now
            // (`ipf_p_rcmd_portmsg`'s `ipf_state_add`, filled in by this packet).
            proxy_rpcb::clone_state(&mut tables.state, &pkt.fin, out, interface);
            if tables.nat.proxy.claim_state(&pkt.fin, out) {
                let mut first = pkt.fin.clone();
                let added = tables.state.add(
                    &mut first,
                    &pkt.bytes,
                    out,
                    interface,
                    None,
                    proxy::RCMD_PASS,
                    self.tuning.state_max,
                );
                // IPFilter's entry came from the proxy's made-up packet, not counted:
                // this packet is counted once, by the lookup below.
                if let (Ok(()), Some(entry)) = (added, tables.state.entries.last_mut()) {
                    entry.pkts[usize::from(out)] = 0;
                    entry.bytes[usize::from(out)] = 0;
                }
            }
            let outer = pkt.fin.clone();
            let mut scratch_tables = IpfState {
                hits: vec![0; self.lists.rules.len()],
                ..IpfState::default()
            };
            let now = pkt.bytes.clone();
            let mut icmp_blocked = |index: usize| {
                self.icmp_group_blocks(index, &outer, &now, out, interface, &mut scratch_tables)
            };
            if let Some(hit) =
                tables
                    .state
                    .lookup(&mut pkt.fin, &now, out, interface, &mut icmp_blocked)
            {
                tables.state.count(hit, &pkt.fin, out);
                pkt.state_hit = Some(hit);
                let entry = &tables.state.entries[hit.index];
                let (is_pass, created_by, rulen) = (entry.pass, entry.rule, entry.rulen);
                pkt.fin.flx |= flx::STATE;
                if pkt.fin.flx & flx::FRAG != 0 && fr::is_pass(is_pass) {
                    tables
                        .frags
                        .add(&pkt.fin, interface, is_pass, created_by.map(|i| (i, rulen)));
                }
                check.steps.push(Step::State {
                    created_by: created_by.map(|i| self.rule_id(i, rulen)),
                });
                if let Some(index) = created_by {
                    pass = is_pass;
                    rule = Some((index, rulen));
                    check.decided = Decided::State {
                        created_by: Some(index),
                    };
                    known = true;
                } else if fr::is_pass(is_pass) {
                    // An entry a NAT proxy added passes by its own flags.
                    pass = is_pass;
                    check.decided = Decided::State { created_by: None };
                    known = true;
                }
            }
        }
        if !known || pass & fr::NOMATCH != 0 {
            let key = ListKey {
                out,
                accounting: false,
                group: None,
            };
            let scan = self.scan(
                &key,
                &mut pkt,
                fr::PASS | fr::NOMATCH,
                0,
                tables,
                &mut check,
            );
            pass = scan.pass;
            rule = scan.rule;
            // An undecided translation before the rules stays undecided.
            check.undetermined = check.undetermined.take().or(scan.unknown);
            check.decided = match rule {
                Some((index, number)) if pass & fr::NOMATCH == 0 => Decided::Rule { index, number },
                _ => Decided::Default,
            };
            if pass & (fr::KEEPFRAG | fr::KEEPSTATE) == fr::KEEPFRAG && pkt.fin.flx & flx::FRAG != 0
            {
                tables.frags.add(&pkt.fin, interface, pass, rule);
            }
        }
        if pass & fr::KEEPSTATE != 0
            && pkt.fin.flx & flx::STATE == 0
            && check.undetermined.is_none()
        {
            match self.add_state(&mut pkt, pass, rule, tables) {
                Ok(()) => check.keeps_state = true,
                Err(_) if fr::is_pass(pass) => {
                    pass = (pass & !fr::CMDMASK) | fr::BLOCK;
                    check.reason = 5;
                }
                Err(_) => {}
            }
        }
        if out && fr::is_pass(pass) {
            self.accounting(&mut pkt, tables);
            // `ipf_nat_checkout`: map and bimap on what the rules let out; a packet no
            // rule could translate is dropped.
            self.translate(&mut pkt, cast, tables, &mut check);
            if check.nat_failed {
                pass = fr::BLOCK;
                check.reason = if pkt.fin.v == 6 { 16 } else { 15 };
            } else if self.tuning.update_ipid && pkt.fin.v == 4 && pkt.fin.off == 0 {
                update_ipid(&mut pkt.bytes, tables);
            }
        }
        if created_session && fr::is_block(pass) {
            nat::Nat::uncreate(&mut tables.nat);
        }
        // `ipf_dolog`: a pass or block by a rule with `log`.
        if matches!(pass & fr::LOGMASK, x if x == fr::LOG | fr::PASS || x == fr::LOG | fr::BLOCK) {
            let last = if known { rule } else { pkt.last };
            check.logs.push((rule, self.log_line(&pkt, pass, last)));
        }
        if !fr::is_pass(pass) {
            check.freed = true;
        }
        self.fastroute(&pkt, pass, &mut check, tables);
        check.pass = pass;
        check.bytes = pkt.bytes;
        check
    }

    /// NAT for the packet's direction; true when it created a session. The packet is
    /// decoded again after a rewrite, marked translated (`FI_NATED`).
    fn translate(
        &self,
        pkt: &mut Pkt<'_>,
        cast: u32,
        tables: &mut IpfState,
        check: &mut Check,
    ) -> bool {
        let outcome = if pkt.out {
            let interface = self.nat_out_interface(pkt, check);
            let interface = interface.as_deref().unwrap_or(pkt.interface);
            self.nat
                .outbound(&pkt.fin, &mut pkt.bytes, interface, &mut tables.nat)
        } else {
            self.nat
                .inbound(&pkt.fin, &mut pkt.bytes, pkt.interface, &mut tables.nat)
        };
        self.add_proxy_entries(cast, tables);
        match outcome {
            nat::NatOutcome::None => false,
            nat::NatOutcome::Failed => {
                pkt.fin.flx |= flx::BADNAT;
                check.nat_failed = true;
                false
            }
            nat::NatOutcome::Undetermined(on) => {
                check.undetermined = check.undetermined.take().or(Some(on));
                false
            }
            nat::NatOutcome::Translated(t) => {
                if self.nat.rules[t.rule].kind == model::ipf::nat::NatKind::Divert
                    && t.source == pkt.out
                {
                    // The divert header just put in front takes `ipf_nextipid`.
                    update_ipid(&mut pkt.bytes, tables);
                }
                if let Ok(mut fin) = Fin::decode(&pkt.bytes, cast) {
                    // The checksums were judged once, before NAT (`ipf_makefrip`): NAT's
                    // own arithmetic does not make a packet bad or good.
                    fin.flx = (fin.flx & !flx::BAD) | (pkt.fin.flx & flx::BAD);
                    fin.flx |= flx::NATED | (pkt.fin.flx & flx::STATE);
                    pkt.fin = fin;
                }
                let rule = &self.nat.rules[t.rule];
                check.steps.push(Step::Nat(Rewrite {
                    by: RuleId {
                        origin: rule.origin.clone(),
                        number: Some(t.rule as u32 + 1),
                        group: None,
                    },
                    source: t.source,
                    before: t.before,
                    after: t.after,
                }));
                t.created
            }
        }
    }

    /// The state entries NAT proxies made (`ipf_state_add` of their made-up packets): on
    /// any interface, their made-up packet not counted.
    fn add_proxy_entries(&self, cast: u32, tables: &mut IpfState) {
        for entry in tables.nat.proxy.take_clone_entries() {
            proxy_rpcb::add_clone_entry(&mut tables.state, &entry, cast, self.tuning.state_max);
        }
        for (packet, out) in tables.nat.proxy.take_new_entries() {
            let Ok(mut fin) = Fin::decode(&packet, cast) else {
                continue;
            };
            let added = tables.state.add(
                &mut fin,
                &packet,
                out,
                "",
                None,
                proxy::PPTP_PASS,
                self.tuning.state_max,
            );
            if let (Ok(()), Some(entry)) = (added, tables.state.entries.last_mut()) {
                entry.ifnames = [None, None, None, None];
                entry.pkts = [0; 4];
                entry.bytes = [0; 4];
            }
        }
    }

    /// The rules with `ipnat.conf`'s translations added.
    pub fn with_nat(mut self, rules: &NatRules) -> Ipf {
        self.nat = nat::Nat::new(rules);
        self.nat.pools = self.pools.clone();
        self
    }

    /// The translation rules.
    pub fn nat_rules(&self) -> &[model::ipf::NatRule] {
        &self.nat.rules
    }

    /// `ipf_allowstateicmp`: whether rule `index`'s `icmp-head` group blocks the ICMP
    /// error `fin`.
    fn icmp_group_blocks(
        &self,
        index: usize,
        fin: &Fin,
        bytes: &[u8],
        out: bool,
        interface: &str,
        tables: &mut IpfState,
    ) -> bool {
        let Some(group) = self.lists.rules[index]
            .keep_state
            .as_ref()
            .and_then(|k| k.icmp_head.clone())
        else {
            return false;
        };
        let key = ListKey {
            out,
            accounting: false,
            group: Some(group),
        };
        let mut pkt = Pkt {
            fin: fin.clone(),
            last: None,
            bytes: bytes.to_vec(),
            out,
            interface,
            state_hit: None,
        };
        let mut scratch = Check::scratch();
        let scan = self.scan(
            &key,
            &mut pkt,
            fr::PASS | fr::NOMATCH,
            0,
            tables,
            &mut scratch,
        );
        fr::is_block(scan.pass)
    }

    /// `ipf_acctpkt`: the accounting rules only count.
    fn accounting(&self, pkt: &mut Pkt<'_>, tables: &mut IpfState) {
        let key = ListKey {
            out: pkt.out,
            accounting: true,
            group: None,
        };
        if self.lists.list(&key).is_empty() {
            return;
        }
        let mut scratch = Check::scratch();
        let _ = self.scan(&key, pkt, fr::NOMATCH, 0, tables, &mut scratch);
    }

    /// `ipf_state_add` for the packet, then the fragment entry a fragment gets with it.
    fn add_state(
        &self,
        pkt: &mut Pkt<'_>,
        pass: u32,
        rule: Option<(usize, u32)>,
        tables: &mut IpfState,
    ) -> Result<(), state::AddRefused> {
        let limits = rule.map(|(i, n)| (i, n, &self.rule_state[i]));
        tables.state.add(
            &mut pkt.fin,
            &pkt.bytes,
            pkt.out,
            pkt.interface,
            limits,
            pass,
            self.tuning.state_max,
        )?;
        if pkt.fin.flx & flx::FRAG != 0 {
            tables.frags.add(&pkt.fin, pkt.interface, pass, rule);
        }
        Ok(())
    }

    /// `ipf_scanlist`: reads the list `key` with the verdict so far `pass`.
    fn scan(
        &self,
        key: &ListKey,
        pkt: &mut Pkt<'_>,
        mut pass: u32,
        depth: u32,
        tables: &mut IpfState,
        check: &mut Check,
    ) -> Scan {
        let list = self.lists.list(key);
        let mut found: Option<(usize, u32)> = None;
        let mut unknown: Option<Undecidable> = None;
        if depth >= 16 || list.is_empty() {
            return Scan {
                pass,
                rule: None,
                unknown,
            };
        }
        let portcmp = pkt.fin.flx & flx::TCPUDP != 0 && pkt.fin.dlen > 3 && pkt.fin.off == 0;
        let mut skip = 0u32;
        for (rulen, &index) in list.iter().enumerate() {
            let rule = &self.lists.rules[index];
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if !interface_matches(rule, pkt.interface) {
                continue;
            }
            let id = self.rule_id(index, rulen as u32);
            match rule_matches(rule, &pkt.fin, portcmp, &self.pools) {
                Test::No => {
                    check.steps.push(Step::Rule {
                        rule: id,
                        matched: Some(false),
                        remembered: false,
                    });
                    continue;
                }
                Test::Unknown(u) => {
                    check.steps.push(Step::Rule {
                        rule: id,
                        matched: None,
                        remembered: false,
                    });
                    if rule.quick || rule.head.is_some() {
                        return Scan {
                            pass,
                            rule: found,
                            unknown: Some(u),
                        };
                    }
                    unknown = unknown.or(Some(u));
                    continue;
                }
                Test::Yes => {}
            }
            let (index, rule) = match self.call_now(index, pkt, depth, tables, check) {
                grpmap::Called::Itself => (index, rule),
                grpmap::Called::Rule(found) => (found, &self.lists.rules[found]),
                grpmap::Called::PassedOver => continue,
                grpmap::Called::Unknown(u) => {
                    return Scan {
                        pass,
                        rule: found,
                        unknown: Some(u),
                    }
                }
            };
            let passt = self.flags[index];
            let (passo, found_before) = (pass, found);
            tables.hits[index] += 1;
            found = Some((index, rulen as u32));
            check.steps.push(Step::Rule {
                rule: id,
                matched: Some(true),
                remembered: !rule.quick,
            });
            if let Action::Skip(n) = rule.action {
                skip = n;
                continue;
            }
            if matches!(rule.action, Action::Call { .. }) {
                unknown = Some(Undecidable::Unsupported(model::expr::Unmodelled {
                    name: rule.origin.text.to_string(),
                    needs_conntrack: false,
                }));
            }
            if passt & fr::LOGMASK == fr::LOG {
                let line = self.log_line(pkt, passt, pkt.last);
                check.logs.push((Some((index, rulen as u32)), line));
            }
            pkt.last = Some((index, rulen as u32));
            if passt & fr::LOGMASK != fr::LOG {
                pass = passt;
                if passt & fr::NOMATCH == 0 {
                    unknown = unknown.filter(|_| matches!(rule.action, Action::Call { .. }));
                }
            }
            if let Some(head) = &rule.head {
                let group_key = ListKey {
                    group: Some(head.clone()),
                    ..key.clone()
                };
                check.steps.push(Step::EnterGroup {
                    group: Arc::from(head.as_str()),
                });
                let inner = self.scan(&group_key, pkt, pass, depth + 1, tables, check);
                unknown = unknown.or(inner.unknown);
                match inner.rule {
                    Some(r) => {
                        found = Some(r);
                        pass = inner.pass;
                    }
                    None => found = Some((index, rulen as u32)),
                }
            }
            if pass & fr::QUICK != 0 {
                // A quick `keep state` rule adds its entry here; if that fails, the rule
                // counts as not matching and the list is read on (`ipf_scanlist`).
                if pass & fr::KEEPSTATE != 0
                    && pass & fr::CMDMASK != fr::AUTH
                    && pkt.fin.flx & flx::STATE == 0
                    && unknown.is_none()
                {
                    let (index, number) = found.unwrap_or((index, rulen as u32));
                    if self
                        .add_state(pkt, pass, Some((index, number)), tables)
                        .is_err()
                    {
                        pass = passo;
                        found = found_before;
                        continue;
                    }
                    check.keeps_state = true;
                }
                break;
            }
        }
        Scan {
            pass,
            rule: found,
            unknown,
        }
    }

    /// The `ipmon` line for the packet, logged with `pass` by `rule`.
    fn log_line(&self, pkt: &Pkt<'_>, pass: u32, rule: Option<(usize, u32)>) -> String {
        let named = rule.map(|(i, n)| (n, self.lists.rules[i].group.as_deref()));
        log::line(&pkt.fin, &pkt.bytes, pkt.out, pkt.interface, pass, named)
    }

    /// The report's name for rule `index`, numbered as `ipfstat -n` numbers it.
    pub fn rule_id(&self, index: usize, number: u32) -> RuleId {
        let rule = &self.lists.rules[index];
        RuleId {
            origin: rule.origin.clone(),
            number: Some(number + 1),
            group: rule.group.as_deref().map(Arc::from),
        }
    }
}

/// `ipf_updateipid` for a first fragment or whole packet: the next id, the header
/// checksum adjusted for it (RFC 1624, as `CALC_SUMD` does). Later fragments, which
/// take their first fragment's id from a table, keep theirs.
fn update_ipid(bytes: &mut [u8], tables: &mut IpfState) {
    if bytes.len() < 20 {
        return;
    }
    let id = tables.next_ipid;
    tables.next_ipid = tables.next_ipid.wrapping_add(1);
    let old = u16::from_be_bytes([bytes[4], bytes[5]]);
    if old == id {
        return;
    }
    bytes[4..6].copy_from_slice(&id.to_be_bytes());
    let sum = u16::from_be_bytes([bytes[10], bytes[11]]);
    let mut acc = u32::from(!sum) + u32::from(!old) + u32::from(id);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    bytes[10..12].copy_from_slice(&(!(acc as u16)).to_be_bytes());
}

/// What a blocking rule's flags ask to send back. The ICMP code is the rule's, 0 (net
/// unreachable) when none was written: `ipf_y.y` leaves `fr_icode` 0 and
/// `ipf_send_icmp_err` sends `fin_icode`. For IPv6 the code goes through
/// `icmptoicmp6unreach` (`fil.c`) into a destination unreachable; a code past that table
/// sends nothing, and one it maps to -1 goes out as 255.
fn block_answer(pass: u32, rule: Option<&model::ipf::FilterRule>, v6: bool) -> Option<BlockAnswer> {
    const ICMP6_UNREACH: [i16; 14] = [3, 3, -1, 4, -1, 2, 3, 3, -1, 1, 1, -1, -1, 1];
    match pass & fr::RETMASK {
        fr::RETRST => Some(BlockAnswer::Rst),
        r @ (fr::RETICMP | fr::FAKEICMP) => {
            let code = rule
                .and_then(|r| match r.action {
                    Action::Block(Some(BlockReturn::Icmp { code, .. })) => code,
                    _ => None,
                })
                .unwrap_or(0);
            let (icmp_type, code) = if v6 {
                match code {
                    0..=13 => (1, ICMP6_UNREACH[usize::from(code)] as u8),
                    _ => return None,
                }
            } else {
                (3, code)
            };
            Some(BlockAnswer::Icmp {
                icmp_type,
                code,
                as_dest: r == fr::FAKEICMP,
            })
        }
        _ => None,
    }
}

impl FilterPass for Ipf {
    type State = IpfState;

    fn filter(&self) -> Filter {
        Filter::Ipf
    }

    fn pass(
        &self,
        packet: &Packet,
        direction: Direction,
        interface: &str,
        state: &mut IpfState,
    ) -> PassResult {
        let bytes = wire::encode(packet);
        let out = direction == Direction::Out;
        let check = self.check(&bytes, out, interface, 0, state);
        let rule_of = |index: usize, number: u32| self.rule_id(index, number);
        let decider = match &check.decided {
            Decided::Rule { index, number } => Decider::Rule(rule_of(*index, *number)),
            Decided::State { created_by } | Decided::Fragment { created_by } => Decider::State {
                created_by: created_by.map(|i| rule_of(i, 0)),
            },
            Decided::Default | Decided::BadPacket(_) => Decider::Default,
        };
        let rule = match &check.decided {
            Decided::Rule { index, .. } => Some(&self.lists.rules[*index]),
            _ => None,
        };
        let verdict = if let Some(on) = check.undetermined.clone() {
            PassVerdict::Undetermined { on }
        } else if fr::is_pass(check.pass) {
            PassVerdict::Pass
        } else if check.pass & fr::CMDMASK == fr::AUTH || check.pass & fr::CMDMASK == fr::PREAUTH {
            PassVerdict::Undetermined {
                on: Undecidable::Unsupported(model::expr::Unmodelled {
                    name: "auth".to_string(),
                    needs_conntrack: false,
                }),
            }
        } else {
            PassVerdict::Block {
                answer: block_answer(check.pass, rule, packet.is_ipv6()),
            }
        };
        PassResult {
            verdict,
            decider,
            packet: wire::decode(&check.bytes, packet),
            steps: check.steps,
            logs: check
                .logs
                .into_iter()
                .filter_map(|(rule, text)| {
                    rule.map(|(i, n)| FilterLog {
                        by: rule_of(i, n),
                        text,
                    })
                })
                .collect(),
            keeps_state: check.keeps_state,
        }
    }
}
#[cfg(test)]
mod tests;
