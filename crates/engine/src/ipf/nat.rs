//! IPFilter's NAT (`ip_nat.c`), the part offline answers need: `rdr` (and `bimap`) on
//! packets arriving, before the filter; `map` (and `bimap`) on packets leaving, after
//! the filter passed them (`ipf_check` in `fil.c`: `ipf_nat_checkin` first for `in`,
//! `ipf_nat_checkout` last for `out`). A translation creates a session: later packets of
//! the flow, and its replies the other way, are translated by the session before any
//! rule is read.
//!
//! Rules are tried in the kernel's order (`nat_order.rs`: by mask, longest first). New
//! sources come from `ipf_nat_newmap` (`nat_map.rs`: networks, ranges, `map-block`,
//! `portmap`, `ports auto`, host pairs keeping their address), new destinations from
//! `ipf_nat_newrdr` (`nat_rdr.rs`: split and sticky targets, port turns), whole new
//! flows from `ipf_nat_newrewrite` (`nat_rewrite.rs`). A translation whose flow another
//! session has is retried or fails, and a packet no rule could translate is dropped.
//! `portmap` without `sequential` takes a random port (`ipf_random`), which cannot be
//! known offline: the port is left as it was and the rewrite says it is not known
//! (`whyblocked ipftest` alone draws it from ipftest's fixed sequence, `ipftest_random.rs`).
//! `mssclamp` lowers a translated SYN's MSS (`nat_mss.rs`). `divert` wraps packets in
//! UDP and unwraps the replies (`nat_divert.rs`). An ICMP error quoting a translated
//! packet is translated back (`nat_icmp.rs`, `ipf_nat_icmperror`), and the `rcmd` and
//! `pptp` proxies open the connections their protocols announce (`proxy.rs`).
//!
//! A rule's `pool/N`/`hash/N` match reads the `nat` pools, a rewrite's `dstlist/NAME`
//! takes the list's pick (`ipf_dstlist_select_node`).
//!
//! Not modelled (the pass answers Undetermined): other proxies, pools as `map` targets,
//! hashed destination lists, host names, ICMP id mapping (`icmpidmap`), IPv6 `map-block`
//! and `ports auto`.

use std::collections::HashMap;
use std::net::IpAddr;

use model::expr::{Undecidable, Unmodelled};
use model::ipf::nat::{NatAddr, NatKind, NatMatch, NatProto, NatRule, NatRules, NatTarget};

use super::fin::Fin;

/// A translation session (`nat_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The rule that made it (index into the NAT rules).
    pub rule: usize,
    /// The rule's kind.
    pub kind: NatKind,
    /// Made by a packet going out (the source was translated), else in (the
    /// destination).
    pub outbound: bool,
    /// Protocol.
    pub p: u8,
    /// The interface.
    pub interface: String,
    /// Source, destination and ports as the packet that created it had them.
    pub osrc: IpAddr,
    /// See `osrc`.
    pub odst: IpAddr,
    /// See `osrc`.
    pub osport: u16,
    /// See `osrc`.
    pub odport: u16,
    /// The same after translation.
    pub nsrc: IpAddr,
    /// See `nsrc`.
    pub ndst: IpAddr,
    /// See `nsrc`.
    pub nsport: u16,
    /// See `nsrc`.
    pub ndport: u16,
}

/// A host pair's address under a `map` rule (`hostmap_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMap {
    /// The rule.
    pub rule: usize,
    /// Original source.
    pub osrc: IpAddr,
    /// Original destination.
    pub odst: IpAddr,
    /// The source it was given.
    pub nsrc: IpAddr,
    /// Sessions using it.
    pub uses: u32,
    /// The destination port a `sticky` rdr client's entry is for (`hm_port`); 0 for
    /// `map` entries.
    pub port: u16,
}

/// A rule's place in what it hands out (`in_snip`, `in_spnext`, `in_dnip`,
/// `in_dpnext` of `ipnat_t`), set up on first use as `ipf_nat_rule_init` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The values are set up.
    pub ready: bool,
    /// The next source address (`in_snip`).
    pub snip: u128,
    /// The next source port (`in_spnext`).
    pub spnext: u16,
    /// Which of a split `rdr`'s two targets is next (`in_dnip`).
    pub dnip: usize,
    /// The next destination port (`in_dpnext`).
    pub dpnext: u16,
    /// A rewrite's next destination address (`in_dnip` of a network).
    pub dnext: u128,
    /// Which of a rewrite's four values is stepped next (`in_stepnext`).
    pub step: u8,
}

/// The NAT tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NatState {
    /// Sessions, oldest first.
    pub sessions: Vec<Session>,
    /// Host maps, oldest first.
    pub hostmaps: Vec<HostMap>,
    /// Per rule: what it hands out next.
    next: HashMap<usize, Cursor>,
    /// Interfaces' own addresses, when given (`0/32`).
    pub interface_addrs: HashMap<String, IpAddr>,
    /// What the `nat` destination lists picked so far (`rewrite … dst dstlist/NAME`).
    pub(crate) dstlists: super::dstlist::DstListState,
    /// The two interfaces (`in_ifps`) of the rules naming two that made a session:
    /// `ipf_nat_inlookup` compares the first, `ipf_nat_outlookup` the second.
    pub(crate) two_sided: HashMap<usize, [String; 2]>,
    /// `rdr`-table rules moved to the end of their list (`round-robin`), in order.
    pub(crate) rdr_moved: Vec<usize>,
    /// The proxies' sessions and the connections they expect.
    pub proxy: super::proxy::ProxyTables,
    /// The same for the `map` table.
    pub(crate) map_moved: Vec<usize>,
    /// `ipftest`'s fixed `ipf_random` sequence, when emulating it: a `portmap` without
    /// `sequential` then takes its port from it. `None` (the kernel): the port is not
    /// known.
    pub ipftest_random: Option<super::ipftest_random::IpftestRandom>,
}

/// What translation did to a packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The rule (index into the NAT rules).
    pub rule: usize,
    /// Source (map) or destination (rdr) rewritten.
    pub source: bool,
    /// Address and port before.
    pub before: (IpAddr, Option<u16>),
    /// Address and port after; the port is `None` when the kernel picks it at random.
    pub after: (IpAddr, Option<u16>),
    /// A session was created by this packet.
    pub created: bool,
}

/// The port a translation gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PortChoice {
    /// The packet's own.
    Keep,
    /// This one.
    Set(u16),
    /// One the kernel picks at random: the packet keeps its own here.
    Random,
}

/// The outcome of NAT on one packet.
#[derive(Debug, Clone, PartialEq)]
pub enum NatOutcome {
    /// Nothing matched.
    None,
    /// Translated.
    Translated(Translation),
    /// A rule matched that cannot be applied offline.
    Undetermined(Undecidable),
    /// Rules matched but none could translate (every address and port the rule could
    /// give is taken by another session): the packet is dropped (`FRB_NATV4`).
    Failed,
}

pub(super) fn unknown(what: &str) -> NatOutcome {
    NatOutcome::Undetermined(Undecidable::Unsupported(Unmodelled {
        name: what.to_string(),
        needs_conntrack: false,
    }))
}

pub(super) fn ip_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

pub(super) fn from_u128(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((n as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(n.into()),
    }
}

/// The packet's ports (0 when it has none).
fn ports(fin: &Fin) -> (u16, u16) {
    (fin.sport, fin.dport)
}

fn tcp_udp(p: u8) -> bool {
    p == 6 || p == 17
}

/// Rewrites `bytes`: source (or destination) address and port, then the checksums.
pub fn rewrite(bytes: &mut [u8], source: bool, addr: IpAddr, port: Option<u16>) {
    let v = bytes.first().map_or(0, |b| b >> 4);
    let (hl, p) = match (v, addr) {
        (4, IpAddr::V4(a)) if bytes.len() >= 20 => {
            let at = if source { 12 } else { 16 };
            bytes[at..at + 4].copy_from_slice(&a.octets());
            (usize::from(bytes[0] & 0x0f) * 4, bytes[9])
        }
        (6, IpAddr::V6(a)) if bytes.len() >= 40 => {
            let at = if source { 8 } else { 24 };
            bytes[at..at + 16].copy_from_slice(&a.octets());
            (40, bytes[6])
        }
        _ => return,
    };
    if let Some(port) = port {
        let off = if source { hl } else { hl + 2 };
        if tcp_udp(p) && bytes.len() >= off + 2 {
            bytes[off..off + 2].copy_from_slice(&port.to_be_bytes());
        }
    }
    super::wire::refill_checksums(bytes);
}

impl NatState {
    /// The rule's cursor.
    pub(super) fn cursor(&mut self, rule: usize) -> &mut Cursor {
        self.next.entry(rule).or_default()
    }

    /// `ipf_nat_inlookup`: whether a session would take a packet arriving on
    /// `interface` from `src`,`sport` to `dst`,`dport` (ports only for TCP and UDP).
    pub(super) fn in_lookup(
        &self,
        p: u8,
        interface: &str,
        from: (IpAddr, u16),
        to: (IpAddr, u16),
    ) -> bool {
        self.lookup(p, interface, from, to, false).is_some()
    }

    /// `ipf_nat_outlookup`: the same for a packet leaving.
    pub(super) fn out_lookup(
        &self,
        p: u8,
        interface: &str,
        from: (IpAddr, u16),
        to: (IpAddr, u16),
    ) -> bool {
        self.lookup(p, interface, from, to, true).is_some()
    }

    /// The newest session of a flow going `out` or in: `(session, reverse)`. A session
    /// made going out takes its own packets out and their replies in; one made coming
    /// in, its own packets in and the replies out (`ipf_nat_outlookup`,
    /// `ipf_nat_inlookup`).
    fn lookup(
        &self,
        p: u8,
        interface: &str,
        (src, sport): (IpAddr, u16),
        (dst, dport): (IpAddr, u16),
        out: bool,
    ) -> Option<(usize, bool)> {
        self.sessions.iter().enumerate().rev().find_map(|(i, s)| {
            let reverse = s.outbound != out;
            let side = self
                .two_sided
                .get(&s.rule)
                .map_or(&s.interface, |two| &two[usize::from(out)]);
            if super::nat_divert::side_proto(s, reverse) != p || (side != "*" && side != interface)
            {
                return None;
            }
            // Ports are compared when the session's own packets have them (`nat_flags`).
            let tu = tcp_udp(s.p);
            let hit = if reverse {
                src == s.ndst && dst == s.nsrc && (!tu || (sport == s.ndport && dport == s.nsport))
            } else {
                src == s.osrc && dst == s.odst && (!tu || (sport == s.osport && dport == s.odport))
            };
            hit.then_some((i, reverse))
        })
    }

    /// Records the session `fin` starts: its flow after translation is `flow`
    /// (source, source port, destination, destination port).
    pub(super) fn record(
        &mut self,
        fin: &Fin,
        interface: &str,
        (rule, kind): (usize, NatKind),
        outbound: bool,
        (nsrc, nsport, ndst, ndport): super::nat_rewrite::Flow,
    ) {
        let (osport, odport) = ports(fin);
        self.sessions.push(Session {
            rule,
            kind,
            outbound,
            p: fin.p,
            interface: interface.to_string(),
            osrc: fin.src,
            odst: fin.dst,
            osport,
            odport,
            nsrc,
            ndst,
            nsport,
            ndport,
        });
    }

    /// The session of the packet going `out` or in.
    pub(super) fn find(&self, fin: &Fin, interface: &str, out: bool) -> Option<(usize, bool)> {
        let (sp, dp) = ports(fin);
        self.lookup(fin.p, interface, (fin.src, sp), (fin.dst, dp), out)
    }
}

/// A packet of a known session, going `out` or in: a mapped flow's packets leave with
/// the new source and its replies come back to the original one; a redirected flow's
/// packets go to the new destination and its replies leave from the original one.
fn by_session(
    fin: &Fin,
    bytes: &mut [u8],
    state: &NatState,
    (index, rev): (usize, bool),
    out: bool,
) -> NatOutcome {
    let s = &state.sessions[index];
    let tu = tcp_udp(fin.p);
    if s.kind == NatKind::Rewrite {
        let flow = if rev {
            (s.odst, s.odport, s.osrc, s.osport)
        } else {
            (s.nsrc, s.nsport, s.ndst, s.ndport)
        };
        return rewrite_flow(fin, bytes, s.rule, flow, false);
    }
    let (to, port) = match (s.outbound, rev, out) {
        (true, false, true) => (s.nsrc, s.nsport),
        (true, true, false) => (s.osrc, s.osport),
        (false, false, false) => (s.ndst, s.ndport),
        (false, true, true) => (s.odst, s.odport),
        _ => return NatOutcome::None,
    };
    // Going out the source is rewritten, coming in the destination.
    let before = if out {
        (fin.src, tu.then_some(fin.sport))
    } else {
        (fin.dst, tu.then_some(fin.dport))
    };
    rewrite(bytes, out, to, tu.then_some(port));
    NatOutcome::Translated(Translation {
        rule: s.rule,
        source: out,
        before,
        after: (to, tu.then_some(port)),
        created: false,
    })
}

/// Writes a whole new flow (a `rewrite`): source and destination with their ports.
/// The step reports the source side.
fn rewrite_flow(
    fin: &Fin,
    bytes: &mut [u8],
    rule: usize,
    (src, sport, dst, dport): super::nat_rewrite::Flow,
    created: bool,
) -> NatOutcome {
    let tu = tcp_udp(fin.p);
    rewrite(bytes, true, src, tu.then_some(sport));
    rewrite(bytes, false, dst, tu.then_some(dport));
    NatOutcome::Translated(Translation {
        rule,
        source: true,
        before: (fin.src, tu.then_some(fin.sport)),
        after: (src, tu.then_some(sport)),
        created,
    })
}

/// What one rule did with a packet no session knows.
pub(super) enum Tried {
    /// It does not apply.
    NoMatch,
    /// It applied but could not translate (every choice collides): the next rule is
    /// tried.
    Failed,
    /// The search ends with this outcome.
    Done(NatOutcome),
}

/// The NAT rules, ready for packets.
#[derive(Debug, Clone, Default)]
pub struct Nat {
    /// The rules as given.
    pub rules: Vec<NatRule>,
    /// The loaded pools: `from pool/N` tests, `dstlist/NAME` targets.
    pub(super) pools: super::pool::PoolTable,
}

impl Nat {
    /// Prepares `rules`.
    pub fn new(rules: &NatRules) -> Nat {
        Nat {
            rules: rules.rules.clone(),
            pools: super::pool::PoolTable::default(),
        }
    }

    fn interface_ok(rule: &NatRule, interface: &str, out: bool) -> bool {
        let name = match (rule.interfaces.len(), out) {
            (0, _) => return true,
            (1, _) => &rule.interfaces[0],
            (_, false) => &rule.interfaces[0],
            (_, true) => &rule.interfaces[1],
        };
        name == "*" || name == interface
    }

    fn proto_ok(rule: &NatRule, p: u8) -> bool {
        if let Some(pm) = rule.portmap {
            if !pm.proto.matches(p) {
                return false;
            }
        }
        match rule.proto {
            Some(NatProto::Proto(proto)) => proto.matches(p),
            _ => rule.match_proto.is_none_or(|m| m.matches(p)),
        }
    }

    /// Whether the packet is what the rule applies to: `Err` when that cannot be told.
    fn matches(&self, rule: &NatRule, fin: &Fin, source_side: bool) -> Result<bool, NatOutcome> {
        let addr_in = |a: &NatAddr, v: IpAddr| -> Result<bool, NatOutcome> {
            match a {
                NatAddr::Any => Ok(true),
                NatAddr::Net(m) => Ok(m.contains(v)),
                NatAddr::Host(h) => Err(unknown(&format!("host {h}"))),
                NatAddr::Pool { kind, name } => self.pool_test(*kind, name, v),
                NatAddr::Other(_) => Err(unknown("address form in a NAT rule")),
            }
        };
        match &rule.matcher {
            NatMatch::Simple { addr, ports } => {
                let value = if source_side { fin.src } else { fin.dst };
                if !addr_in(addr, value)? {
                    return Ok(false);
                }
                // `in_odport` 0 matches every port (`ipf_nat_checkin`).
                if let Some((low, high)) = ports.filter(|&(low, _)| low != 0) {
                    let port = if source_side { fin.sport } else { fin.dport };
                    if !tcp_udp(fin.p) || port < low || port > high {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            NatMatch::FromTo { from, to } => {
                for (end, value, port) in [(from, fin.src, fin.sport), (to, fin.dst, fin.dport)] {
                    let hit = match &end.addr {
                        model::ipf::Addr::Any => true,
                        model::ipf::Addr::Net(m) => m.contains(value),
                        model::ipf::Addr::Pool { kind, name } => {
                            self.pool_test(*kind, name, value)?
                        }
                        _ => return Err(unknown("address form in a NAT rule")),
                    };
                    if hit == end.negated {
                        return Ok(false);
                    }
                    if let Some(pm) = end.port {
                        if !tcp_udp(fin.p) || !pm.matches(port) {
                            return Ok(false);
                        }
                    }
                }
                Ok(true)
            }
        }
    }

    /// A NAT rule's `pool/N` or `hash/N` match of `addr` (`ipf_nat_rule` resolves it
    /// among the `nat` role's tables; the match is `ipf_lookup_*` as for filter rules).
    fn pool_test(
        &self,
        kind: model::ipf::PoolKind,
        name: &model::ipf::PoolName,
        addr: IpAddr,
    ) -> Result<bool, NatOutcome> {
        match self.pools.nat_lookup(kind, name, addr) {
            super::rules::Test::Yes => Ok(true),
            super::rules::Test::No => Ok(false),
            super::rules::Test::Unknown(u) => Err(NatOutcome::Undetermined(u)),
        }
    }

    /// `ipf_nat_checkin`: translation of a packet arriving on `interface`.
    pub fn inbound(
        &self,
        fin: &Fin,
        bytes: &mut Vec<u8>,
        interface: &str,
        state: &mut NatState,
    ) -> NatOutcome {
        let outcome = self.check_rules(fin, bytes, interface, state, false);
        self.note_two_sided(&outcome, state);
        self.clamp_mss(&outcome, fin, bytes);
        outcome
    }

    /// `ipf_nat_checkout`: translation of a packet the filter let out by `interface`.
    pub fn outbound(
        &self,
        fin: &Fin,
        bytes: &mut Vec<u8>,
        interface: &str,
        state: &mut NatState,
    ) -> NatOutcome {
        let outcome = self.check_rules(fin, bytes, interface, state, true);
        self.note_two_sided(&outcome, state);
        self.clamp_mss(&outcome, fin, bytes);
        outcome
    }

    /// A new session of a rule naming two interfaces takes both (`ipf_nat_add`:
    /// `nat_ifps` from `in_ifps`).
    fn note_two_sided(&self, outcome: &NatOutcome, state: &mut NatState) {
        if let NatOutcome::Translated(t) = outcome {
            if let [first, second] = &self.rules[t.rule].interfaces[..] {
                let sides = [first.clone(), second.clone()];
                state.two_sided.insert(t.rule, sides);
            }
        }
    }

    /// `ipf_nat_proto`: a translated TCP SYN's MSS is clamped by its rule's `mssclamp`.
    fn clamp_mss(&self, outcome: &NatOutcome, fin: &Fin, bytes: &mut [u8]) {
        let NatOutcome::Translated(t) = outcome else {
            return;
        };
        if let Some(max) = self.rules.get(t.rule).and_then(|r| r.mssclamp) {
            if fin.p == 6 && fin.off == 0 {
                super::nat_mss::clamp(bytes, fin.dp, max);
                super::wire::refill_checksums(bytes);
            }
        }
    }

    /// `ipf_nat_checkin` (`out` false) and `ipf_nat_checkout`: the packet's session,
    /// else the rules in the kernel's order until one translates, a `no` rule stops, or
    /// every rule that applied failed (the packet is dropped).
    fn check_rules(
        &self,
        fin: &Fin,
        bytes: &mut Vec<u8>,
        interface: &str,
        state: &mut NatState,
        out: bool,
    ) -> NatOutcome {
        if let Some(done) = super::nat_icmp::icmp_error(fin, bytes, interface, state, out) {
            return done;
        }
        if let Some(found) = state.find(fin, interface, out) {
            if state.sessions[found.0].kind == NatKind::Divert {
                return super::nat_divert::by_session(fin, bytes, state, found);
            }
            if let Err(u) = super::proxy::check(&self.rules, fin, bytes, state, found.0, out) {
                return u;
            }
            return by_session(fin, bytes, state, found, out);
        }
        if let Some(done) =
            super::proxy::expected_session(&self.rules, fin, bytes, interface, state, out)
        {
            return done;
        }
        // Only a packet's first fragment can start a translation.
        if fin.off != 0 {
            return NatOutcome::None;
        }
        let mut failed = false;
        for index in super::nat_order::rules_in_order(&self.rules, state, !out) {
            let rule = &self.rules[index];
            if !Nat::interface_ok(rule, interface, out)
                || !Nat::proto_ok(rule, fin.p)
                || !super::proxy::applies(rule, fin)
            {
                continue;
            }
            let tried = if rule.kind == NatKind::Bimap && !out {
                self.bimap_in(index, fin, bytes, interface, state)
            } else if let Err(t) = self.applies(rule, fin, out) {
                t
            } else if rule.kind == NatKind::Divert {
                super::nat_divert::new_divert(index, rule, fin, bytes, interface, state, out)
            } else if rule.kind == NatKind::Rewrite {
                self.rewrite_rule(index, fin, bytes, interface, state, out)
            } else {
                self.address_rule(index, fin, bytes, interface, state, out)
            };
            match tried {
                Tried::NoMatch => {}
                Tried::Failed => failed = true,
                Tried::Done(outcome) => return outcome,
            }
        }
        if failed {
            return NatOutcome::Failed;
        }
        NatOutcome::None
    }

    /// Whether the rule's match applies: `Err` with the outcome when it does not
    /// translate (no match, a `no` rule, or a match that cannot be told).
    fn applies(&self, rule: &NatRule, fin: &Fin, source_side: bool) -> Result<(), Tried> {
        match self.matches(rule, fin, source_side) {
            Ok(false) => Err(Tried::NoMatch),
            Err(u) => Err(Tried::Done(u)),
            Ok(true) if rule.no => Err(Tried::Done(NatOutcome::None)),
            Ok(true) => Ok(()),
        }
    }

    /// The `in` half of a bimap: the mapped network's addresses go back 1:1.
    fn bimap_in(
        &self,
        index: usize,
        fin: &Fin,
        bytes: &mut [u8],
        interface: &str,
        state: &mut NatState,
    ) -> Tried {
        let rule = &self.rules[index];
        let (
            NatMatch::Simple {
                addr: NatAddr::Net(inner),
                ..
            },
            NatTarget::Net(NatAddr::Net(outer)),
        ) = (&rule.matcher, &rule.target)
        else {
            return Tried::Done(unknown("bimap form"));
        };
        if !outer.contains(fin.dst) {
            return Tried::NoMatch;
        }
        if rule.no {
            return Tried::Done(NatOutcome::None);
        }
        let host = ip_u128(fin.dst) & !ip_u128(outer.mask);
        let to = from_u128(fin.dst, ip_u128(inner.addr) | host);
        Tried::Done(self.create(
            fin,
            bytes,
            interface,
            state,
            index,
            false,
            to,
            PortChoice::Keep,
        ))
    }

    /// An `rdr` rule that applies (`ipf_nat_newrdr`, `out` false), or a `map`,
    /// `map-block` or the `out` half of a `bimap` (`ipf_nat_newmap`).
    fn address_rule(
        &self,
        index: usize,
        fin: &Fin,
        bytes: &mut [u8],
        interface: &str,
        state: &mut NatState,
        out: bool,
    ) -> Tried {
        let rule = &self.rules[index];
        if !super::proxy::modelled(rule) {
            return Tried::Done(unknown(if out { "map proxy" } else { "rdr proxy" }));
        }
        let chosen = if out {
            super::nat_map::new_map(index, rule, fin, interface, state)
                .map(|c| c.map(|(to, port)| (index, to, port)))
        } else {
            super::nat_rdr::new_rdr(index, &self.rules, fin, interface, state).map(|c| {
                c.map(|c| {
                    if c.moves && self.rules[c.rule].round_robin {
                        state.move_to_end(c.rule, true);
                    }
                    (c.rule, c.to, c.port)
                })
            })
        };
        match chosen {
            Ok(Some((by, to, port))) => {
                Tried::Done(self.create(fin, bytes, interface, state, by, out, to, port))
            }
            Ok(None) => Tried::Failed,
            Err(u) => Tried::Done(u),
        }
    }

    /// A `rewrite` rule that applies (`ipf_nat_newrewrite`).
    fn rewrite_rule(
        &self,
        index: usize,
        fin: &Fin,
        bytes: &mut [u8],
        interface: &str,
        state: &mut NatState,
        out: bool,
    ) -> Tried {
        let rule = &self.rules[index];
        let lists = self.pools.dstlists();
        let flow = match super::nat_rewrite::new_rewrite(index, rule, fin, interface, state, lists)
        {
            Ok(Some(flow)) => flow,
            Ok(None) => return Tried::Failed,
            Err(u) => return Tried::Done(u),
        };
        state.record(fin, interface, (index, rule.kind), out, flow);
        Tried::Done(rewrite_flow(fin, bytes, index, flow, true))
    }

    /// Applies a new translation and records its session.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        fin: &Fin,
        bytes: &mut [u8],
        interface: &str,
        state: &mut NatState,
        rule: usize,
        source: bool,
        to: IpAddr,
        port: PortChoice,
    ) -> NatOutcome {
        let tu = tcp_udp(fin.p);
        let (sp, dp) = ports(fin);
        let before = if source {
            (fin.src, tu.then_some(sp))
        } else {
            (fin.dst, tu.then_some(dp))
        };
        let own = if source { sp } else { dp };
        let written = match port {
            PortChoice::Set(p) if tu => Some(p),
            _ if tu => Some(own),
            _ => None,
        };
        rewrite(bytes, source, to, written);
        let kind = self.rules[rule].kind;
        let flow = if source {
            (to, written.unwrap_or(sp), fin.dst, dp)
        } else {
            (fin.src, sp, to, written.unwrap_or(dp))
        };
        state.record(fin, interface, (rule, kind), source, flow);
        let made = state.sessions.len() - 1;
        if let Err(u) = super::proxy::check(&self.rules, fin, bytes, state, made, source) {
            return u;
        }
        NatOutcome::Translated(Translation {
            rule,
            source,
            before,
            after: (
                to,
                if port == PortChoice::Random {
                    None
                } else {
                    written
                },
            ),
            created: true,
        })
    }

    /// `ipf_nat_uncreate`: a packet blocked after its translation created a session
    /// leaves no session behind.
    pub fn uncreate(state: &mut NatState) {
        if let Some(s) = state.sessions.pop() {
            let port = if s.outbound { 0 } else { s.odport };
            if let Some(at) = state.hostmap_find(Some(s.rule), s.osrc, s.odst, port) {
                state.hostmap_del(at);
            }
        }
    }
}
