//! How a `map`, `bimap` or `map-block` rule picks a new source (`ipf_nat_newmap` in
//! `ip_nat.c`): the rule's numbers as `ipnat` and the kernel set them up
//! (`nat_setgroupmap` in `lib/nat_setgroupmap.c`, `ipf_nat_rule_init`,
//! `ipf_nat_nextaddrinit`), then the kernel's loop, which tries address and port in
//! turn until the flow seen from outside is no other session's.

use std::net::IpAddr;

use model::ipf::nat::{BlockPorts, NatAddr, NatKind, NatMatch, NatRule, NatTarget};
use model::ipf::Addr;

use super::fin::Fin;
use super::nat::{ip_u128, unknown, HostMap, NatOutcome, NatState, PortChoice};

/// `MAPBLK_MINPORT` (`ip_nat.h`): block and auto ports start above the reserved ones.
const MAPBLK_MINPORT: u32 = 1024;
/// `USABLE_PORTS` (`ip_nat.h`).
const USABLE_PORTS: u32 = 65536 - MAPBLK_MINPORT;

/// A map rule's numbers (`ipnat_t` fields), in host order.
#[derive(Debug, Clone, Copy)]
struct MapRule {
    /// `in_nsrcaddr`: the target network (a range's first address).
    nsrcaddr: u128,
    /// `in_nsrcmsk`: its mask (a range's last address).
    nsrcmsk: u128,
    /// `in_osrcmsk`: the mask of the sources the rule matches.
    osrcmsk: u128,
    /// All ones of the family.
    ones: u128,
    /// `IPN_SIPRANGE`: `-> range A-B`.
    range: bool,
    /// `NAT_MAPBLK`.
    block: bool,
    /// `IPN_AUTOPORTMAP` (`portmap … auto`, `ports auto`).
    auto: bool,
    /// `IPN_SEQUENTIAL`.
    sequential: bool,
    /// `in_spmin`, `in_spmax`.
    spmin: u16,
    /// See `spmin`.
    spmax: u16,
    /// `in_ppip`: ports per address.
    ppip: u32,
    /// `in_ippip`: addresses per address.
    ippip: u32,
    /// `NAT_BIMAP`.
    bimap: bool,
}

/// The masked network of a rule's source match (`in_osrcmsk`).
fn source_mask(rule: &NatRule) -> Option<IpAddr> {
    match &rule.matcher {
        NatMatch::Simple {
            addr: NatAddr::Net(m),
            ..
        } => Some(m.mask),
        NatMatch::FromTo { from, .. } => match &from.addr {
            Addr::Net(m) => Some(m.mask),
            _ => None,
        },
        _ => None,
    }
}

impl MapRule {
    /// The rule's numbers, `Err` for targets this does not model.
    fn of(rule: &NatRule, v4: bool, tcp_udp: bool) -> Result<MapRule, NatOutcome> {
        let ones = if v4 { u128::from(u32::MAX) } else { u128::MAX };
        let (nsrcaddr, nsrcmsk, range) = match &rule.target {
            NatTarget::Net(NatAddr::Net(m)) => (ip_u128(m.addr), ip_u128(m.mask), false),
            NatTarget::Range { low, high } => (ip_u128(*low), ip_u128(*high), true),
            _ => return Err(unknown("map target")),
        };
        let osrcmsk = source_mask(rule).map_or(0, ip_u128);
        let block = rule.kind == NatKind::MapBlock;
        let mut auto = false;
        let (mut spmin, mut spmax) = (0, 0);
        if let Some(pm) = rule.portmap.filter(|_| tcp_udp) {
            match pm.range {
                Some((l, h)) => (spmin, spmax) = (l, h),
                None => (auto, spmin, spmax) = (true, 1024, 65535),
            }
        }
        match rule.block_ports {
            Some(BlockPorts::Count(n)) => spmin = u16::try_from(n).unwrap_or(u16::MAX),
            Some(BlockPorts::Auto) => auto = true,
            None => {}
        }
        let mut m = MapRule {
            nsrcaddr,
            nsrcmsk,
            osrcmsk,
            ones,
            range,
            block,
            auto,
            sequential: rule.sequential || rule.portmap.is_some_and(|p| p.sequential),
            spmin,
            spmax,
            ppip: 0,
            ippip: 0,
            bimap: rule.kind == NatKind::Bimap,
        };
        if block || auto {
            if !v4 {
                return Err(unknown("IPv6 map-block or ports auto"));
            }
            m.set_group_map();
        }
        Ok(m)
    }

    /// `nat_setgroupmap`: how many ports each address gets and how many addresses share
    /// one new address (both `u_short` in `ipnat_t`).
    fn set_group_map(&mut self) {
        let not = |m: u128| (!m & self.ones) as u32;
        if self.nsrcmsk == self.osrcmsk {
            self.ippip = 1;
        } else if self.auto {
            let mut ippip = not(self.osrcmsk);
            if self.nsrcmsk != self.ones {
                ippip /= not(self.nsrcmsk).wrapping_add(1);
            }
            self.ippip = ippip.wrapping_add(1) & 0xffff;
            if self.ippip == 0 {
                self.ippip = 1;
            }
            self.ppip = (USABLE_PORTS / self.ippip) & 0xffff;
        } else {
            self.ppip = u32::from(self.spmin).max(1);
            self.ippip = (USABLE_PORTS / self.ppip) & 0xffff;
        }
    }

    /// `ipf_nat_nextaddrinit` for the target: the first address handed out.
    fn first_snip(&self) -> u128 {
        if self.range || self.nsrcmsk == self.ones || self.nsrcaddr == 0 {
            self.nsrcaddr
        } else {
            self.nsrcaddr + 1
        }
    }

    /// `in_spnext` as `ipf_nat_rule_init` sets it (map rules only; `map-block` is not
    /// `NAT_MAP`).
    fn first_spnext(&self) -> u16 {
        if self.block {
            0
        } else {
            self.spmin
        }
    }
}

/// `ipf_nat_newmap`: the new source address and port of a packet no session knows,
/// tried until the flow seen from outside is no other session's; `Ok(None)` when every
/// try collides (the kernel's -1). The host pair's entry (`ipf_nat_hostmap`) is made on
/// the first try, so new pairs share the current address until a collision moves it on.
pub(super) fn new_map(
    index: usize,
    rule: &NatRule,
    fin: &Fin,
    interface: &str,
    state: &mut NatState,
) -> Result<Option<(IpAddr, PortChoice)>, NatOutcome> {
    let tu = fin.p == 6 || fin.p == 17;
    if rule.icmpidmap.is_some() && (fin.p == 1 || fin.p == 58) {
        return Err(unknown("icmpidmap (ICMP query ids mapped)"));
    }
    let like = fin.src;
    let m = MapRule::of(rule, fin.src.is_ipv4(), tu)?;
    let all_ones = m.nsrcmsk == m.ones;
    {
        let cur = state.cursor(index);
        if !cur.ready {
            cur.ready = true;
            cur.snip = m.first_snip();
            cur.spnext = m.first_spnext();
        }
    }
    let (st_ip, st_port) = {
        let cur = state.cursor(index);
        (cur.snip, cur.spnext)
    };
    let src = ip_u128(fin.src);
    let sport = u32::from(fin.sport);
    let mut hm: Option<usize> = None;
    let mut l: u32 = 0;
    // Bounded as the kernel's loop is by the wrap check; the bound only guards
    // against rules whose numbers never wrap.
    while l <= 0x2_0000 {
        let mut port: Option<u32> = None;
        let mut random = false;
        let snip = state.cursor(index).snip;
        let mut addr = snip;
        if l == 0 {
            let at = state.hostmap_ref(index, fin.src, fin.dst, 0, like, snip);
            addr = ip_u128(state.hostmaps[at].nsrc);
            hm = Some(at);
        } else if l == 1 {
            if let Some(at) = hm.take() {
                state.hostmap_del(at);
            }
        }
        let spnext = state.cursor(index).spnext;
        if all_ones && spnext == 0 && l > 0 {
            return Ok(None);
        }
        if m.bimap && m.osrcmsk == m.nsrcmsk {
            addr = m.nsrcaddr | (src & !m.osrcmsk & m.ones);
        } else if m.block {
            if l >= m.ppip || (l > 0 && !tu) {
                return Ok(None);
            }
            if m.ippip == 0 {
                return Err(unknown("map-block with more ports than there are"));
            }
            let inb = (src & !m.osrcmsk & m.ones) as u32;
            addr = ((u128::from(inb / m.ippip)) & !m.nsrcmsk & m.ones) + m.nsrcaddr;
            if tu && m.ppip != 0 {
                port = Some(
                    ((sport + l) % m.ppip + m.ppip * (inb % m.ippip) + MAPBLK_MINPORT) & 0xffff,
                );
            }
        } else if m.nsrcaddr == 0 && all_ones {
            if l > 0 {
                return Ok(None);
            }
            match state.interface_addrs.get(interface) {
                Some(a) => addr = ip_u128(*a),
                None => {
                    return Err(NatOutcome::Undetermined(
                        model::expr::Undecidable::AddressTypeUnknown,
                    ))
                }
            }
        } else if m.nsrcaddr == 0 && m.nsrcmsk == 0 {
            if l > 0 {
                return Ok(None);
            }
            addr = src;
        } else if !all_ones && spnext == 0 && (l > 0 || hm.is_none()) {
            state.cursor(index).snip += 1;
        }
        let cur = state.cursor(index);
        if tu && !m.block && m.auto {
            if m.ppip == 0 || m.ippip == 0 {
                return Err(unknown("portmap auto over more addresses than ports"));
            }
            if l > 0 && l % m.ppip == 0 && l > m.ppip && !all_ones {
                cur.snip += 1;
            }
            {
                let low = (src & 0xffff_ffff) as u32;
                port = Some(
                    ((sport + l % m.ppip) % m.ppip + m.ppip * (low % m.ippip) + MAPBLK_MINPORT)
                        & 0xffff,
                );
            }
        } else if !m.block && cur.spnext != 0 && tu {
            if m.sequential {
                port = Some(u32::from(cur.spnext));
            } else {
                random = true;
            }
            cur.spnext = cur.spnext.wrapping_add(1);
            if cur.spnext > m.spmax || cur.spnext == 0 {
                cur.spnext = m.spmin;
                if !all_ones {
                    cur.snip += 1;
                }
            }
        }
        if m.range {
            if cur.snip > m.nsrcmsk {
                cur.snip = m.nsrcaddr;
            }
        } else if !all_ones && ((cur.snip + 1) & m.nsrcmsk) > m.nsrcaddr {
            cur.snip = m.nsrcaddr + 1;
        }
        if let Some(draw) = state
            .ipftest_random
            .as_mut()
            .filter(|_| random)
            .map(|r| r.draw())
        {
            // `ipf_nat_newmap`: `ipf_random() % (in_spmax - in_spmin + 1) + in_spmin`.
            let span = u32::from(m.spmax.saturating_sub(m.spmin)) + 1;
            port = Some((draw % span + u32::from(m.spmin)) & 0xffff);
            random = false;
        }
        let new_port = port.map_or(fin.sport, |p| p as u16);
        let new_addr = super::nat::from_u128(like, addr);
        let taken = state.in_lookup(fin.p, interface, (fin.dst, fin.dport), (new_addr, new_port));
        let cur = *state.cursor(index);
        if taken && cur.spnext != 0 && st_port == cur.spnext && cur.snip != 0 && st_ip == cur.snip {
            return Ok(None);
        }
        l += 1;
        if !taken {
            if hm.is_none() {
                state.hostmap_ref(index, fin.src, fin.dst, 0, like, addr);
            }
            let choice = if random {
                PortChoice::Random
            } else {
                port.map_or(PortChoice::Keep, |p| PortChoice::Set(p as u16))
            };
            return Ok(Some((new_addr, choice)));
        }
        if random {
            return Err(unknown("portmap: a random port collided"));
        }
    }
    Ok(None)
}

impl NatState {
    /// `ipf_nat_hostmap` with a rule: the pair's entry (its use counted), made with
    /// `nsrc` when there is none. Its index.
    pub(super) fn hostmap_ref(
        &mut self,
        rule: usize,
        osrc: IpAddr,
        odst: IpAddr,
        port: u16,
        like: IpAddr,
        nsrc: u128,
    ) -> usize {
        if let Some(i) = self.hostmap_find(Some(rule), osrc, odst, port) {
            self.hostmaps[i].uses += 1;
            return i;
        }
        self.hostmaps.push(HostMap {
            rule,
            osrc,
            odst,
            nsrc: super::nat::from_u128(like, nsrc),
            uses: 1,
            port,
        });
        self.hostmaps.len() - 1
    }

    /// The pair's entry (of `rule`, or of any rule), matching `port` unless it is 0.
    pub(super) fn hostmap_find(
        &self,
        rule: Option<usize>,
        osrc: IpAddr,
        odst: IpAddr,
        port: u16,
    ) -> Option<usize> {
        self.hostmaps.iter().position(|h| {
            h.osrc == osrc
                && h.odst == odst
                && rule.is_none_or(|r| r == h.rule)
                && (port == 0 || port == h.port)
        })
    }

    /// `ipf_nat_hostmapdel`: one use fewer; the entry goes with its last use.
    pub(super) fn hostmap_del(&mut self, at: usize) {
        if let Some(h) = self.hostmaps.get_mut(at) {
            h.uses = h.uses.saturating_sub(1);
            if h.uses == 0 {
                self.hostmaps.remove(at);
            }
        }
    }
}
