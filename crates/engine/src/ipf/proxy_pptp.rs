//! The pptp proxy (`ip_pptp_pxy.c`): it follows the PPTP control connection's messages
//! in each direction (`ipf_p_pptp_nextmessage`) and, when a call is answered
//! (`Outgoing-Call-Reply` after a request, or `Incoming-Call-Reply`), opens the way for
//! the call's GRE packets (`ipf_p_pptp_donatstate`): a NAT session translating GRE
//! between the control connection's addresses as the control session does, and a
//! state entry passing it (`pptpfr`: pass, quick, keep state, on any interface).
//!
//! IPFilter matches GRE sessions and state entries by addresses only (its call id
//! checks are compiled out), so the call ids are not kept. Where IPFilter would go on
//! with data it does not follow (a message out of sequence, a bad cookie, a message
//! that is not a control message), the packet is Undetermined.

use super::nat::{unknown, NatOutcome, NatState, Session};
use super::proxy::{flow, Flow};

/// `pptps_buffer`'s size: longer messages are skipped.
const BUFFER: usize = 512;
/// `PPTP_MSGTYPE_CTL`.
const MSGTYPE_CTL: u16 = 1;
/// `PPTP_MTCTL_OUTREP` and `PPTP_MTCTL_INREP`: the replies that open a call.
const CALL_REPLIES: [u16; 2] = [8, 10];
/// PPTP's magic cookie.
const COOKIE: u32 = 0x1a2b_3c4d;

/// One direction of the control connection (`pptp_side_t`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Side {
    next: u32,
    nexthdr: u32,
    state: u16,
    buffer: Vec<u8>,
    gothdr: bool,
    len: usize,
}

impl Side {
    fn reset(&mut self) {
        self.buffer.clear();
        self.gothdr = false;
        self.len = 0;
    }
}

/// A control connection's proxy session (`pptp_pxy_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pptp {
    session: Flow,
    side: [Side; 2],
    /// The GRE session and state entry were made.
    gre: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `ipf_p_pptp_inout`: a packet of control session `s` going `out` or in.
pub(super) fn inout(
    fin: &super::fin::Fin,
    bytes: &[u8],
    state: &mut NatState,
    s: &Session,
    out: bool,
) -> Result<(), NatOutcome> {
    let lost = || unknown("pptp proxy: a control message it cannot follow");
    if fin.v != 4 {
        return Err(unknown("pptp proxy over IPv6"));
    }
    let at = match state.proxy.pptp.iter().position(|p| p.session == flow(s)) {
        Some(at) => at,
        None => {
            // `ipf_p_pptp_new` refuses when a GRE session already joins the hosts.
            if state
                .sessions
                .iter()
                .any(|g| g.p == 47 && g.outbound && g.osrc == s.osrc && g.odst == fin.dst)
            {
                return Err(unknown("pptp proxy: a GRE session already exists"));
            }
            state.proxy.pptp.push(Pptp {
                session: flow(s),
                side: [Side::default(), Side::default()],
                gre: false,
            });
            state.proxy.pptp.len() - 1
        }
    };
    let rev = usize::from(out != s.outbound);
    let tcp = fin.dp;
    let flags = *bytes.get(tcp + 13).ok_or_else(lost)?;
    let seq = be32(bytes, tcp + 4).ok_or_else(lost)?;
    let pptp = &mut state.proxy.pptp[at];
    // TH_OPENING: a SYN-ACK sets where each direction's messages start.
    if flags & 0x12 == 0x12 {
        let ack = be32(bytes, tcp + 8).ok_or_else(lost)?;
        pptp.side[1 - rev].next = ack;
        pptp.side[1 - rev].nexthdr = ack;
        pptp.side[rev].next = seq.wrapping_add(1);
        pptp.side[rev].nexthdr = seq.wrapping_add(1);
    }
    let answered = next_message(fin, bytes, pptp, rev, seq).ok_or_else(lost)?;
    if answered && !pptp.gre {
        pptp.gre = true;
        donatstate(state, s, out);
    }
    Ok(())
}

/// `ipf_p_pptp_nextmessage`: the segment's data added to its direction's message, each
/// complete message read. `Some(true)` when a call was answered; `None` where IPFilter
/// goes on in a way not followed here.
fn next_message(
    fin: &super::fin::Fin,
    bytes: &[u8],
    pptp: &mut Pptp,
    rev: usize,
    start: u32,
) -> Option<bool> {
    let tcp = fin.dp;
    let tcpsz = usize::from(bytes.get(tcp + 12)? >> 4) * 4;
    let mut dlen = fin.dlen - tcpsz as i64;
    if dlen <= 0 {
        return Some(false);
    }
    let end = start.wrapping_add(dlen as u32);
    let other_state = pptp.side[1 - rev].state;
    let side = &mut pptp.side[rev];
    if side.next > end && side.next > start {
        return Some(false);
    }
    if side.next != start {
        return None;
    }
    // `off` moves as IPFilter's does: by the bytes held at the top of each turn.
    let mut off = tcp + tcpsz;
    let mut answered = false;
    while dlen > 0 {
        off += side.buffer.len();
        if !side.gothdr {
            let len = (8 - side.buffer.len()).min(dlen as usize);
            side.buffer.extend_from_slice(bytes.get(off..off + len)?);
            if side.buffer.len() == 8 {
                side.next = side.next.wrapping_add(8);
                if be32(&side.buffer, 4)? != COOKIE {
                    return None;
                }
            }
            dlen -= len as i64;
            off += len;
            side.gothdr = true;
            let len = usize::from(be16(&side.buffer, 0)?);
            side.len = len;
            side.nexthdr = side.nexthdr.wrapping_add(len as u32);
            if len > BUFFER {
                side.next = side.nexthdr;
                side.reset();
                break;
            }
        }
        let len = side.len.checked_sub(side.buffer.len())?.min(dlen as usize);
        side.buffer.extend_from_slice(bytes.get(off..off + len)?);
        side.next = side.next.wrapping_add(len as u32);
        if side.len > side.buffer.len() {
            break;
        }
        // `ipf_p_pptp_message`: only control messages are read (and then cleared).
        if be16(&side.buffer, 2)? != MSGTYPE_CTL {
            return None;
        }
        answered |= control(side, other_state)?;
        side.reset();
        dlen -= len as i64;
    }
    Some(answered)
}

/// `ipf_p_pptp_mctl`: the direction's state after a control message; true when it is a
/// call reply to the other direction's request.
fn control(side: &mut Side, other_state: u16) -> Option<bool> {
    let kind = be16(&side.buffer, 8)?;
    match kind {
        // Replies count only after the other side's request.
        2 | 4 | 6 | 8 | 10 if other_state == kind - 1 => {
            side.state = kind;
            return Some(CALL_REPLIES.contains(&kind));
        }
        1 | 3 | 5 | 7 | 9 | 11..=15 => side.state = kind,
        _ => {}
    }
    Some(false)
}

/// `ipf_p_pptp_donatstate`: the GRE NAT session (made by the proxy's rule: the control
/// session's addresses, protocol GRE) and the GRE state entry, made from a packet going
/// the way the control packet went.
fn donatstate(state: &mut NatState, s: &Session, out: bool) {
    let gre = Session {
        rule: s.rule,
        kind: s.kind,
        outbound: s.outbound,
        p: 47,
        interface: s.interface.clone(),
        osrc: s.osrc,
        odst: s.odst,
        osport: 0,
        odport: 0,
        nsrc: s.nsrc,
        ndst: s.ndst,
        nsport: 0,
        ndport: 0,
    };
    let (src, dst) = if s.outbound {
        (gre.osrc, s.odst)
    } else {
        (s.osrc, gre.ndst)
    };
    state.proxy.made.push(flow(&gre));
    state.sessions.push(gre);
    if let (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) = (src, dst) {
        // A GRE header with the key bit (`gr_flags = 1 << 13`).
        let mut packet = vec![
            0x45, 0, 0, 24, 0, 0, 0, 0, 64, 47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0,
        ];
        packet[12..16].copy_from_slice(&src.octets());
        packet[16..20].copy_from_slice(&dst.octets());
        super::wire::refill_checksums(&mut packet);
        state.proxy.new_entries.push((packet, out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side holding a control message of `kind`.
    fn holding(kind: u16) -> Side {
        let mut buffer = vec![0, 16, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d];
        buffer.extend_from_slice(&kind.to_be_bytes());
        buffer.extend_from_slice(&[0; 6]);
        Side {
            buffer,
            ..Side::default()
        }
    }

    #[test]
    fn a_call_is_answered_by_a_reply_to_the_other_sides_request() {
        // (message, the other side's state, a call answered, this side's state after)
        let cases = [
            (7, 0, false, 7),  // an outgoing call request opens nothing yet
            (8, 7, true, 8),   // its reply does
            (10, 7, false, 0), // an incoming call reply to no incoming request: nothing
            (10, 9, true, 10), // to one: a call
            (2, 1, false, 2),  // a start reply opens no call
            (16, 0, false, 0), // not a control message type PPTP has
        ];
        for (kind, other, answered, after) in cases {
            let mut side = holding(kind);
            assert_eq!(control(&mut side, other), Some(answered), "message {kind}");
            assert_eq!(side.state, after, "message {kind}");
        }
    }
}
