//! `rewrite in|out … -> src A[,P] dst B[,Q]` (`ipf_nat_newrewrite` and
//! `ipf_nat_nextaddr` in `ip_nat.c`): source and destination are replaced together.
//! Each side takes its network's next address (`in_snip`, `in_dnip`) and its next port
//! (`in_spnext`, `in_dpnext`); when the flow seen from the other side is already some
//! session's, the kernel steps one of the four on (`in_stepnext` says which) and tries
//! again, at most nine times.

use std::net::IpAddr;

use model::ipf::nat::{NatAddr, NatDir, NatRule, NatTarget, RedirectPort};

use model::ipf::pool::PoolRole;
use model::ipf::{PoolKind, PoolName};

use super::dstlist::{DstListState, DstLists};
use super::fin::Fin;
use super::nat::{from_u128, ip_u128, unknown, NatOutcome, NatState};

/// The new flow a rewrite chose: source, source port, destination, destination port.
pub(super) type Flow = (IpAddr, u16, IpAddr, u16);

/// One side (`in_nsrc` or `in_ndst`) of a rewrite target.
struct Side {
    /// The network's address.
    addr: u128,
    /// Its mask.
    mask: u128,
    /// All ones of the family.
    ones: u128,
    /// Its ports, when written.
    port: Option<RedirectPort>,
    /// `dstlist/NAME`: each address is the list's pick.
    list: Option<String>,
}

impl Side {
    fn of(addr: &NatAddr, port: Option<RedirectPort>, ones: u128) -> Result<Side, NatOutcome> {
        match addr {
            NatAddr::Net(m) => Ok(Side {
                addr: ip_u128(m.addr),
                mask: ip_u128(m.mask),
                ones,
                port,
                list: None,
            }),
            NatAddr::Any => Ok(Side {
                addr: 0,
                mask: 0,
                ones,
                port,
                list: None,
            }),
            // A list is one address per pick: never searched (`in_ndstmsk` all ones).
            NatAddr::Pool {
                kind: PoolKind::DstList,
                name,
            } => Ok(Side {
                addr: 0,
                mask: ones,
                ones,
                port,
                list: Some(match name {
                    PoolName::Number(n) => n.to_string(),
                    PoolName::Name(n) => n.clone(),
                }),
            }),
            _ => Err(unknown("rewrite target address")),
        }
    }

    /// The first port (`in_spmin`, `in_dpmin`), 0 when none is written.
    fn low(&self) -> u16 {
        self.port.map_or(0, |p| p.low)
    }

    /// The last port (`in_spmax`, `in_dpmax`), 0 when none is written.
    fn high(&self) -> u16 {
        self.port.map_or(0, |p| p.high)
    }

    /// The port half of this side's turn: the side's next port (when it has ports),
    /// stepped on when `step` is `turn` and `may`; a fixed port (`port = P`) hands the
    /// turn to `fixed_next`. True when it stepped.
    fn step_port(
        &self,
        next: &mut u16,
        port: &mut u16,
        step: &mut u8,
        (turn, fixed_next): (u8, u8),
        may: bool,
    ) -> bool {
        if *next != 0 {
            *port = *next;
        }
        if self.port.is_some_and(|p| p.fixed) {
            *step = fixed_next;
            return false;
        }
        if *step != turn || !may {
            return false;
        }
        *next = next.wrapping_add(1);
        *step += 1;
        if *next > self.high() {
            *next = self.low();
        }
        true
    }

    /// `ipf_nat_nextaddrinit`: the first address handed out.
    fn first(&self) -> u128 {
        if self.addr == 0 && (self.mask == self.ones || self.mask == 0) {
            0
        } else if self.mask == self.ones {
            self.addr
        } else {
            self.addr + 1
        }
    }

    /// 0/0 and 0/32 (the packet's own address, the interface's) and single addresses
    /// are not searched (`src_search`/`dst_search` 0).
    fn searched(&self) -> bool {
        self.mask != self.ones && !(self.addr == 0 && self.mask == 0)
    }

    /// `ipf_nat_nextaddr`: a destination list's pick (`ipf_dstlist_select_node`; no
    /// pick, or one of the other family, fails it: Unknown here), 0/0 leaves the address
    /// as it is, 0/32 is the interface's, else the network's next one.
    fn next(
        &self,
        old: IpAddr,
        nextip: u128,
        interface: Option<&IpAddr>,
        lists: (&DstLists, &mut DstListState, (IpAddr, IpAddr)),
    ) -> Result<IpAddr, NatOutcome> {
        if let Some(name) = &self.list {
            let (lists, picks, packet) = lists;
            return match lists.select(PoolRole::Nat, name, packet, picks) {
                Ok(Some(d)) => Ok(d.addr),
                Ok(None) => Err(unknown("an empty destination list")),
                Err(u) => Err(NatOutcome::Undetermined(u)),
            };
        }
        if self.addr == 0 && self.mask == 0 {
            Ok(old)
        } else if self.addr == 0 && self.mask == self.ones {
            interface.copied().ok_or(NatOutcome::Undetermined(
                model::expr::Undecidable::AddressTypeUnknown,
            ))
        } else {
            Ok(from_u128(old, nextip))
        }
    }
}

/// `ipf_nat_newrewrite`: the new flow, `Ok(None)` when every try collides.
pub(super) fn new_rewrite(
    index: usize,
    rule: &NatRule,
    fin: &Fin,
    interface: &str,
    state: &mut NatState,
    lists: &DstLists,
) -> Result<Option<Flow>, NatOutcome> {
    let NatTarget::Rewrite {
        src,
        src_port,
        dst,
        dst_port,
    } = &rule.target
    else {
        return Err(unknown("rewrite target"));
    };
    let ones = if fin.src.is_ipv4() {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    let s = Side::of(src, *src_port, ones)?;
    let d = Side::of(dst, *dst_port, ones)?;
    let tu = fin.p == 6 || fin.p == 17;
    if !tu && (fin.p == 1 || fin.p == 58) && (s.port.is_some() || d.port.is_some()) {
        return Err(unknown("rewrite of ICMP query ids"));
    }
    let out = rule.direction != Some(NatDir::In);
    let own = state.interface_addrs.get(interface).copied();
    {
        let cur = state.cursor(index);
        if !cur.ready {
            cur.ready = true;
            cur.snip = s.first();
            cur.dnip = 0;
            cur.dnext = d.first();
            cur.spnext = s.low();
            cur.dpnext = d.low();
        }
    }
    let (mut nsrc, mut nsport, mut ndst, mut ndport) = (fin.src, fin.sport, fin.dst, fin.dport);
    let (mut src_search, mut dst_search) = (true, true);
    let mut taken = false;
    let mut l = 0;
    loop {
        // Which of the four `changed` says was stepped this round.
        let mut changed = false;
        let cur = *state.cursor(index);
        if !src_search && cur.spnext == 0 && !dst_search && cur.dpnext == 0 && l > 0 {
            return Ok(None);
        }
        nsrc = s.next(
            nsrc,
            cur.snip,
            own.as_ref(),
            (lists, &mut state.dstlists, (fin.src, fin.dst)),
        )?;
        let cur = state.cursor(index);
        if s.searched() {
            if cur.step == 0 {
                cur.snip += 1;
                cur.step += 1;
                changed = true;
            }
        } else {
            src_search = false;
            if cur.step == 0 {
                cur.step = 1;
            }
        }
        if tu {
            let may = !changed && taken;
            changed |= s.step_port(&mut cur.spnext, &mut nsport, &mut cur.step, (1, 2), may);
        } else {
            cur.step = 2;
        }
        cur.step &= 3;
        let dnext = cur.dnext;
        ndst = d.next(
            ndst,
            dnext,
            own.as_ref(),
            (lists, &mut state.dstlists, (fin.src, fin.dst)),
        )?;
        let cur = state.cursor(index);
        if d.searched() {
            if cur.step == 2 && !changed && taken {
                changed = true;
                cur.step += 1;
                cur.dnext += 1;
            }
        } else {
            dst_search = false;
            if cur.step == 2 {
                cur.step = 3;
            }
        }
        if tu {
            d.step_port(
                &mut cur.dpnext,
                &mut ndport,
                &mut cur.step,
                (3, 0),
                !changed,
            );
        } else if cur.step == 3 {
            cur.step = 0;
        }
        // The flow as its replies would show it, looked up the other way.
        taken = if out {
            state.in_lookup(fin.p, interface, (ndst, ndport), (nsrc, nsport))
        } else {
            state.out_lookup(fin.p, interface, (ndst, ndport), (nsrc, nsport))
        };
        if taken && l > 8 {
            return Ok(None);
        }
        // Whether a retry picks from the list again is not followed here.
        if taken && (s.list.is_some() || d.list.is_some()) {
            return Err(unknown("a destination list's pick after a collision"));
        }
        let cur = state.cursor(index);
        cur.step &= 3;
        l += 1;
        if !taken {
            return Ok(Some((nsrc, nsport, ndst, ndport)));
        }
    }
}
