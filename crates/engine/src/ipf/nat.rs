//! IPFilter's NAT (`ip_nat.c`), the part offline answers need: `rdr` (and `bimap`) on
//! packets arriving, before the filter; `map` (and `bimap`) on packets leaving, after
//! the filter passed them (`ipf_check` in `fil.c`: `ipf_nat_checkin` first for `in`,
//! `ipf_nat_checkout` last for `out`). A translation creates a session: later packets of
//! the flow, and its replies the other way, are translated by the session before any
//! rule is read.
//!
//! New source addresses are picked as `ipf_nat_newmap` picks them: a /32 target is that
//! address; `0/32` the interface's address; `0/0` the original one; a `bimap` between
//! equal masks maps 1:1; other networks hand out addresses in turn from the first host,
//! a host pair keeping its address (`ipf_nat_hostmap`). `portmap … sequential` hands out
//! ports in turn from the low port; without `sequential` the kernel picks a random port
//! (`ipf_random`), which cannot be known offline: the port is left as it was and the
//! rewrite says the new port is not known. `rdr` sends to its first target (in turn with
//! `round-robin`); a port range maps port for port, `port = P` sends all to P.
//!
//! Not modelled (the pass answers Undetermined): `map-block`, `rewrite`, `divert`,
//! proxies, address pools as NAT targets or matches, host names, ICMP id mapping.

use std::collections::HashMap;
use std::net::IpAddr;

use model::expr::{Undecidable, Unmodelled};
use model::ipf::nat::{NatAddr, NatKind, NatMatch, NatProto, NatRule, NatRules, NatTarget};
use model::ipf::Masked;

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
}

/// The NAT tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NatState {
    /// Sessions, oldest first.
    pub sessions: Vec<Session>,
    /// Host maps, oldest first.
    pub hostmaps: Vec<HostMap>,
    /// Per rule: the next address (`in_snip`) and port (`in_spnext`) to hand out, and
    /// the next `rdr` target.
    next: HashMap<usize, (u128, u16, usize)>,
    /// Interfaces' own addresses, when given (`0/32`).
    pub interface_addrs: HashMap<String, IpAddr>,
    /// The proxies' sessions and the connections they expect.
    pub proxy: super::proxy::ProxyTables,
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
enum PortChoice {
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

fn ip_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn from_u128(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((n as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(n.into()),
    }
}

fn mask_all_ones(m: &Masked) -> bool {
    match m.mask {
        IpAddr::V4(v) => u32::from(v) == u32::MAX,
        IpAddr::V6(v) => u128::from(v) == u128::MAX,
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
    /// A session of this flow: `(session, reverse)`.
    pub(super) fn find(&self, fin: &Fin, interface: &str) -> Option<(usize, bool)> {
        let (sp, dp) = ports(fin);
        let tu = tcp_udp(fin.p);
        self.sessions.iter().enumerate().rev().find_map(|(i, s)| {
            if s.p != fin.p || s.interface != interface {
                return None;
            }
            let fwd = fin.src == s.osrc
                && fin.dst == s.odst
                && (!tu || (sp == s.osport && dp == s.odport));
            let rev = fin.src == s.ndst
                && fin.dst == s.nsrc
                && (!tu || (sp == s.ndport && dp == s.nsport));
            if fwd {
                Some((i, false))
            } else if rev {
                Some((i, true))
            } else {
                None
            }
        })
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

/// The NAT rules, ready for packets.
#[derive(Debug, Clone, Default)]
pub struct Nat {
    /// The rules as given.
    pub rules: Vec<NatRule>,
}

impl Nat {
    /// Prepares `rules`.
    pub fn new(rules: &NatRules) -> Nat {
        Nat {
            rules: rules.rules.clone(),
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
    fn matches(rule: &NatRule, fin: &Fin, source_side: bool) -> Result<bool, NatOutcome> {
        let addr_in = |a: &NatAddr, v: IpAddr| -> Result<bool, NatOutcome> {
            match a {
                NatAddr::Any => Ok(true),
                NatAddr::Net(m) => Ok(m.contains(v)),
                NatAddr::Host(h) => Err(unknown(&format!("host {h}"))),
                NatAddr::Pool { .. } | NatAddr::Other(_) => Err(unknown("pool in a NAT rule")),
            }
        };
        match &rule.matcher {
            NatMatch::Simple { addr, ports } => {
                let value = if source_side { fin.src } else { fin.dst };
                if !addr_in(addr, value)? {
                    return Ok(false);
                }
                if let Some((low, high)) = ports {
                    let port = if source_side { fin.sport } else { fin.dport };
                    if !tcp_udp(fin.p) || port < *low || port > *high {
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

    /// `ipf_nat_checkin`: translation of a packet arriving on `interface`.
    pub fn inbound(
        &self,
        fin: &Fin,
        bytes: &mut [u8],
        interface: &str,
        state: &mut NatState,
    ) -> NatOutcome {
        if let Some(done) = super::nat_icmp::icmp_error(fin, bytes, interface, state, false) {
            return done;
        }
        if let Some(found) = state.find(fin, interface) {
            if let Err(u) = super::proxy::check(&self.rules, fin, bytes, state, found.0, false) {
                return u;
            }
            return by_session(fin, bytes, state, found, false);
        }
        if let Some(done) =
            super::proxy::expected_session(&self.rules, fin, bytes, interface, state, false)
        {
            return done;
        }
        for (index, rule) in self.rules.iter().enumerate() {
            if !matches!(rule.kind, NatKind::Rdr | NatKind::Bimap)
                || !Nat::interface_ok(rule, interface, false)
                || !Nat::proto_ok(rule, fin.p)
                || !super::proxy::applies(rule, fin)
            {
                continue;
            }
            if rule.kind == NatKind::Bimap {
                // The `in` half of a bimap: the mapped network's addresses go back 1:1.
                let (
                    NatMatch::Simple {
                        addr: NatAddr::Net(inner),
                        ..
                    },
                    NatTarget::Net(NatAddr::Net(outer)),
                ) = (&rule.matcher, &rule.target)
                else {
                    return unknown("bimap form");
                };
                if !outer.contains(fin.dst) {
                    continue;
                }
                if rule.no {
                    return NatOutcome::None;
                }
                let host = ip_u128(fin.dst) & !ip_u128(outer.mask);
                let to = from_u128(fin.dst, ip_u128(inner.addr) | host);
                return self.create(
                    fin,
                    bytes,
                    interface,
                    state,
                    index,
                    false,
                    to,
                    PortChoice::Keep,
                );
            }
            match Nat::matches(rule, fin, false) {
                Ok(false) => continue,
                Err(u) => return u,
                Ok(true) => {}
            }
            if rule.no {
                return NatOutcome::None;
            }
            if !super::proxy::modelled(rule) {
                return unknown("rdr proxy");
            }
            let NatTarget::Redirect { addrs, port } = &rule.target else {
                return unknown("rdr target");
            };
            let next = state.next.entry(index).or_insert((0, 0, 0));
            let pick = next.2 % addrs.len().max(1);
            next.2 += 1;
            let to = match addrs.get(pick) {
                // `ipf_nat_newrdr`: `0/0` keeps the destination, `0/32` is the interface's.
                Some(NatAddr::Net(m)) if m.addr.is_unspecified() && ip_u128(m.mask) == 0 => fin.dst,
                Some(NatAddr::Net(m)) if m.addr.is_unspecified() && mask_all_ones(m) => {
                    match state.interface_addrs.get(interface) {
                        Some(a) => *a,
                        None => return unknown("rdr to 0/32 without the interface's address"),
                    }
                }
                Some(NatAddr::Net(m)) => m.addr,
                _ => return unknown("rdr target address"),
            };
            let new_port = match (port, &rule.matcher) {
                (None, _) => PortChoice::Keep,
                (Some(p), _) if p.fixed => PortChoice::Set(p.low),
                (
                    Some(p),
                    NatMatch::Simple {
                        ports: Some((low, _)),
                        ..
                    },
                ) => PortChoice::Set(p.low.wrapping_add(fin.dport.wrapping_sub(*low))),
                (Some(p), _) => PortChoice::Set(p.low),
            };
            return self.create(fin, bytes, interface, state, index, false, to, new_port);
        }
        NatOutcome::None
    }

    /// `ipf_nat_checkout`: translation of a packet the filter let out by `interface`.
    pub fn outbound(
        &self,
        fin: &Fin,
        bytes: &mut [u8],
        interface: &str,
        state: &mut NatState,
    ) -> NatOutcome {
        if let Some(done) = super::nat_icmp::icmp_error(fin, bytes, interface, state, true) {
            return done;
        }
        if let Some(found) = state.find(fin, interface) {
            if let Err(u) = super::proxy::check(&self.rules, fin, bytes, state, found.0, true) {
                return u;
            }
            return by_session(fin, bytes, state, found, true);
        }
        if let Some(done) =
            super::proxy::expected_session(&self.rules, fin, bytes, interface, state, true)
        {
            return done;
        }
        let mut failed = false;
        for (index, rule) in self.rules.iter().enumerate() {
            if !matches!(rule.kind, NatKind::Map | NatKind::Bimap | NatKind::MapBlock)
                || !Nat::interface_ok(rule, interface, true)
                || !Nat::proto_ok(rule, fin.p)
                || !super::proxy::applies(rule, fin)
            {
                continue;
            }
            match Nat::matches(rule, fin, true) {
                Ok(false) => continue,
                Err(u) => return u,
                Ok(true) => {}
            }
            if rule.no {
                return NatOutcome::None;
            }
            if rule.kind == NatKind::MapBlock || !super::proxy::modelled(rule) {
                return unknown("map-block or proxy");
            }
            match self.new_map(index, rule, fin, interface, state) {
                Ok(Some((to, port))) => {
                    return self.create(fin, bytes, interface, state, index, true, to, port)
                }
                Ok(None) => failed = true,
                Err(u) => return u,
            }
        }
        if failed {
            return NatOutcome::Failed;
        }
        NatOutcome::None
    }

    /// `ipf_nat_newmap`: the new source address and port, tried until the flow's outside
    /// (new source, destination, ports) is no other session's; `None` when every try
    /// collides. A host pair keeps its address (`ipf_nat_hostmap`, which also creates
    /// the pair's entry on the first try, so new pairs share the current address until a
    /// collision moves it on).
    fn new_map(
        &self,
        index: usize,
        rule: &NatRule,
        fin: &Fin,
        interface: &str,
        state: &mut NatState,
    ) -> Result<Option<(IpAddr, PortChoice)>, NatOutcome> {
        let tu = tcp_udp(fin.p);
        let NatTarget::Net(NatAddr::Net(target)) = &rule.target else {
            if let NatTarget::Range { low, high } = &rule.target {
                return Ok(Some((
                    self.range_next(index, *low, *high, state),
                    PortChoice::Keep,
                )));
            }
            return Err(unknown("map target"));
        };
        let all_ones = mask_all_ones(target);
        let (low, high, sequential) = match rule.portmap {
            Some(pm) if tu => match pm.range {
                Some((l, h)) => (l, h, pm.sequential || rule.sequential),
                None => return Err(unknown("portmap auto")),
            },
            _ => (0, 0, false),
        };
        let mapping_ports = low != 0;
        let base = ip_u128(target.addr);
        let net_mask = ip_u128(target.mask);
        let width = if target.addr.is_ipv4() {
            0xffff_ffff
        } else {
            u128::MAX
        };
        let slot = state.next.entry(index).or_insert((0, low, 0));
        if slot.0 == 0 {
            slot.0 = if all_ones || base == 0 {
                base
            } else {
                base + 1
            };
        }
        let mut hm: Option<usize> = None;
        for l in 0..4096u32 {
            let (snip, spnext) = {
                let slot = state.next.get(&index).copied().unwrap_or((base, low, 0));
                (slot.0, slot.1)
            };
            let mut addr = from_u128(target.addr, snip);
            if l == 0 {
                let found = state
                    .hostmaps
                    .iter()
                    .position(|h| h.rule == index && h.osrc == fin.src && h.odst == fin.dst);
                let at = match found {
                    Some(i) => {
                        state.hostmaps[i].uses += 1;
                        i
                    }
                    None => {
                        state.hostmaps.push(HostMap {
                            rule: index,
                            osrc: fin.src,
                            odst: fin.dst,
                            nsrc: addr,
                            uses: 1,
                        });
                        state.hostmaps.len() - 1
                    }
                };
                addr = state.hostmaps[at].nsrc;
                hm = Some(at);
            } else if l == 1 {
                if let Some(at) = hm.take() {
                    state.hostmaps[at].uses -= 1;
                    if state.hostmaps[at].uses == 0 {
                        state.hostmaps.remove(at);
                    }
                }
            }
            if all_ones && !mapping_ports && l > 0 {
                return Ok(None);
            }
            let slot = state.next.entry(index).or_insert((base, low, 0));
            if rule.kind == NatKind::Bimap
                && matches!(&rule.matcher, NatMatch::Simple { addr: NatAddr::Net(inner), .. } if inner.mask == target.mask)
            {
                addr = from_u128(target.addr, base | (ip_u128(fin.src) & !net_mask & width));
            } else if base == 0 && all_ones {
                if l > 0 {
                    return Ok(None);
                }
                match state.interface_addrs.get(interface) {
                    Some(a) => addr = *a,
                    None => return Err(NatOutcome::Undetermined(Undecidable::AddressTypeUnknown)),
                }
            } else if base == 0 && net_mask == 0 {
                if l > 0 {
                    return Ok(None);
                }
                addr = fin.src;
            } else if !all_ones && !mapping_ports && (l > 0 || hm.is_none()) {
                slot.0 += 1;
            }
            let mut port = PortChoice::Keep;
            if mapping_ports {
                if sequential {
                    port = PortChoice::Set(spnext);
                } else {
                    port = PortChoice::Random;
                }
                slot.1 = slot.1.wrapping_add(1);
                if slot.1 > high || slot.1 < low {
                    slot.1 = low;
                    if !all_ones {
                        slot.0 += 1;
                    }
                }
            }
            if !all_ones && ((slot.0 + 1) & net_mask & width) > base {
                slot.0 = base + 1;
            }
            let new_port = match port {
                PortChoice::Set(p) => p,
                _ => fin.sport,
            };
            let taken = state.sessions.iter().any(|s| {
                s.p == fin.p
                    && s.nsrc == addr
                    && s.odst == fin.dst
                    && (!tu || (s.nsport == new_port && s.odport == fin.dport))
            });
            if !taken {
                if hm.is_none() {
                    state.hostmaps.push(HostMap {
                        rule: index,
                        osrc: fin.src,
                        odst: fin.dst,
                        nsrc: addr,
                        uses: 1,
                    });
                }
                return Ok(Some((addr, port)));
            }
            if port == PortChoice::Random {
                return Err(unknown("portmap: a random port collided"));
            }
        }
        Ok(None)
    }

    /// The next address of a `range` target.
    fn range_next(&self, index: usize, low: IpAddr, high: IpAddr, state: &mut NatState) -> IpAddr {
        let next = state.next.entry(index).or_insert((0, 0, 0));
        if next.0 < ip_u128(low) || next.0 > ip_u128(high) {
            next.0 = ip_u128(low);
        }
        let a = next.0;
        next.0 += 1;
        from_u128(low, a)
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
        let (nsrc, ndst, nsport, ndport) = if source {
            (to, fin.dst, written.unwrap_or(sp), dp)
        } else {
            (fin.src, to, sp, written.unwrap_or(dp))
        };
        state.sessions.push(Session {
            rule,
            kind,
            outbound: source,
            p: fin.p,
            interface: interface.to_string(),
            osrc: fin.src,
            odst: fin.dst,
            osport: sp,
            odport: dp,
            nsrc,
            ndst,
            nsport,
            ndport,
        });
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
            if s.outbound {
                if let Some(pos) = state
                    .hostmaps
                    .iter()
                    .position(|h| h.rule == s.rule && h.osrc == s.osrc && h.odst == s.odst)
                {
                    state.hostmaps[pos].uses -= 1;
                    if state.hostmaps[pos].uses == 0 {
                        state.hostmaps.remove(pos);
                    }
                }
            }
        }
    }
}
