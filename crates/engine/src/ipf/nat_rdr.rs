//! How an `rdr` rule picks a new destination (`ipf_nat_newrdr` in `ip_nat.c`): one
//! target, or two used in turn (`IPN_SPLIT`, `in_dnip`), a client kept on its target
//! by `sticky` host maps; the port given, a range mapped port for port, or handed out
//! in turn (`in_dpnext`); and no translation when another session already has the
//! translated flow (the kernel fails the packet rather than break both connections).

use std::net::IpAddr;

use model::ipf::nat::{NatAddr, NatMatch, NatRule, NatTarget};

use super::fin::Fin;
use super::nat::{from_u128, ip_u128, unknown, NatOutcome, NatState, PortChoice};

/// What `ipf_nat_newrdr` chose: the rule (a sticky client may be sent back to the rule
/// that first took it), the new destination and its port.
pub(super) struct RdrChoice {
    /// The rule that translates.
    pub rule: usize,
    /// The new destination.
    pub to: IpAddr,
    /// Its port.
    pub port: PortChoice,
    /// A `round-robin` rule goes to the end of its list (`move` of `ipf_nat_add`).
    pub moves: bool,
}

/// `ipf_nat_newrdr`; `Ok(None)` when it fails (the kernel's -1).
pub(super) fn new_rdr(
    mut index: usize,
    rules: &[NatRule],
    fin: &Fin,
    interface: &str,
    state: &mut NatState,
) -> Result<Option<RdrChoice>, NatOutcome> {
    let tu = fin.p == 6 || fin.p == 17;
    let dport = if tu { fin.dport } else { 0 };
    let sticky_any = {
        let rule = &rules[index];
        let split = matches!(&rule.target, NatTarget::Redirect { addrs, .. } if addrs.len() == 2);
        (rule.round_robin || split) && rule.sticky
    };
    let mut moves = true;
    if sticky_any {
        if let Some(at) = state.hostmap_find(None, fin.src, fin.dst, dport) {
            index = state.hostmaps[at].rule;
            moves = false;
        }
    }
    let rule = &rules[index];
    let NatTarget::Redirect { addrs, port } = &rule.target else {
        return Err(unknown("rdr target"));
    };
    let nets = addrs
        .iter()
        .map(|a| match a {
            NatAddr::Net(m) => Ok(*m),
            _ => Err(unknown("rdr target address")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = nets.first() else {
        return Err(unknown("rdr target"));
    };
    {
        let cur = state.cursor(index);
        if !cur.ready {
            cur.ready = true;
            cur.dnip = 0;
            cur.dpnext = port.map_or(0, |p| p.low);
        }
    }
    // Zero stands for "not chosen": a sticky client's entry keeps no destination
    // (`hm_ndstip` is left 0 by `ipf_nat_hostmap`).
    let mut to: u128;
    if nets.len() == 2 {
        to = ip_u128(nets[state.cursor(index).dnip].addr);
        let found = if rule.sticky && !rule.round_robin {
            state.hostmap_find(None, fin.src, fin.dst, dport)
        } else {
            None
        };
        if found.is_some() {
            to = 0;
            moves = false;
        } else {
            // The first target used: the rule stays put for its second.
            let first_used = ip_u128(nets[0].addr) == to;
            moves &= !first_used;
            state.cursor(index).dnip = usize::from(first_used);
        }
    } else if ip_u128(first.addr) == 0 && ip_u128(first.mask) == ones(first.addr) {
        match state.interface_addrs.get(interface) {
            Some(a) => to = ip_u128(*a),
            None => {
                return Err(NatOutcome::Undetermined(
                    model::expr::Undecidable::AddressTypeUnknown,
                ))
            }
        }
    } else if ip_u128(first.addr) == 0 && ip_u128(first.mask) == 0 {
        to = ip_u128(fin.dst);
    } else {
        to = ip_u128(first.addr);
    }
    let nport = new_port(rule, *port, dport, state.cursor(index));
    if to == 0 {
        if nport == dport {
            return Ok(None);
        }
        to = ip_u128(fin.dst);
    }
    let to = from_u128(fin.dst, to);
    if state.out_lookup(fin.p, interface, (to, nport), (fin.src, fin.sport)) {
        return Ok(None);
    }
    if rule.sticky {
        state.hostmap_ref(index, fin.src, fin.dst, dport, to, ip_u128(to));
    }
    let port = if tu && port.is_some() {
        PortChoice::Set(nport)
    } else {
        PortChoice::Keep
    };
    Ok(Some(RdrChoice {
        rule: index,
        to,
        port,
        moves,
    }))
}

/// All ones of `like`'s family.
fn ones(like: IpAddr) -> u128 {
    if like.is_ipv4() {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    }
}

/// The new destination port: the packet's own without a target port (`in_dpnext` 0);
/// a matched range mapped port for port onto the target's last port
/// (`dport - in_odport + in_dpmax`); else the target ports in turn. A rule without a
/// port to match is taken as matching its target's first port (`in_odport` equal to
/// `in_dtop`), so the target's ports are handed out in turn.
fn new_port(
    rule: &NatRule,
    target: Option<model::ipf::nat::RedirectPort>,
    dport: u16,
    cur: &mut super::nat::Cursor,
) -> u16 {
    let Some(target) = target else { return dport };
    if cur.dpnext == 0 {
        return dport;
    }
    let (odport, dtop) = match &rule.matcher {
        NatMatch::Simple {
            ports: Some((low, high)),
            ..
        } => (*low, *high),
        _ => (0, 0),
    };
    if !target.fixed && odport != dtop {
        return dport.wrapping_sub(odport).wrapping_add(target.high);
    }
    let nport = cur.dpnext;
    cur.dpnext = cur.dpnext.wrapping_add(1);
    if cur.dpnext > target.high || cur.dpnext == 0 {
        cur.dpnext = target.low;
    }
    nport
}
