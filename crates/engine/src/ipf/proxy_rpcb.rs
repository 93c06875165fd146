//! The rpcbind proxy over UDP (`rpcbu`, `ip_rpcb_pxy.c`): it reads a client's portmapper
//! request (`ipf_p_rpcb_decodereq`) and the server's reply (`ipf_p_rpcb_decoderep`);
//! a positive reply opens the way to the port it names (`ipf_p_rpcb_getnat`): a NAT
//! session made by the proxy's rule with the client's source port left open
//! (`SI_W_SPORT|SI_CLONE`) and a state entry the same way (`rpcbfr`: pass, quick, keep
//! state). The first packet of that connection clones both (`ipf_nat_clone`,
//! `ipf_state_clone`), the clones staying in their tables.
//!
//! Modelled: version 2 `GETPORT` for a UDP service, through a `rdr` rule to one address.
//! Version 3/4 `GETADDR`/`GETADDRLIST` (the universal address rewritten in the reply),
//! a TCP service's entry, `rpcbt` (which reads TCP data at UDP's offsets) and every
//! message IPFilter refuses (`APR_ERR(1)`) stay Undetermined.

use std::net::IpAddr;

use model::ipf::nat::{NatKind, NatRule, NatTarget};

use super::fin::{flx, Fin};
use super::flags as fr;
use super::nat::{rewrite, unknown, NatOutcome, NatState, Session, Translation};
use super::proxy::{flow, Flow, ProxyTables};
use super::state::{isf, StateTable};

/// The pass of the state entries the proxy adds (`rpcbfr.fr_flags`).
pub const RPCB_PASS: u32 = fr::PASS | fr::QUICK | fr::KEEPSTATE;

/// `RPCB_REQMIN`..`RPCB_REQMAX`: the request sizes read.
const REQUEST_LEN: std::ops::RangeInclusive<usize> = 40..=888;
/// `RPCB_REPMIN`..`RPCB_REPMAX`: the reply sizes read.
const REPLY_LEN: std::ops::RangeInclusive<usize> = 20..=604;
/// `RPCB_MAXREQS`: transactions tracked at once, over all sessions (`rpcbcnt`).
const MAX_REQUESTS: usize = 32;
/// `RPCB_PROG`: the portmapper's program number.
const PORTMAPPER: u32 = 100_000;
/// `RPCB_GETPORT`.
const GETPORT: u32 = 3;

/// A request waiting for its reply (`rpcb_xact_t`), version 2 `GETPORT` only.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transaction {
    session: Flow,
    xid: u32,
    /// The protocol of the service asked for.
    proto: u32,
    /// `rx_ref`: the request seen again adds one; its reply takes one.
    refs: u32,
}

/// A state entry the proxy adds (`ipf_state_add` of its made-up packet): from `src` to
/// `dst` port `dport`, any source port, seen coming in on `interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneEntry {
    /// The client.
    pub src: IpAddr,
    /// The server, as translated.
    pub dst: IpAddr,
    /// The service's port.
    pub dport: u16,
    /// The interface the reply left by (`fin_ifp`, the entry's inbound interface).
    pub interface: String,
}

/// The proxy's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcbTables {
    transactions: Vec<Transaction>,
    /// NAT sessions made with the source port open (`SI_CLONE`).
    clones: Vec<Flow>,
    /// State entries to add, taken by the state table.
    new_entries: Vec<CloneEntry>,
}

impl ProxyTables {
    /// Whether `s` is a NAT session a proxy made with its source port open, cloned for
    /// each connection (printed `CLONE`).
    pub fn clone_session(&self, s: &Session) -> bool {
        self.rpcb.clones.contains(&flow(s))
    }

    /// The state entries the rpcbind proxy made since the last call: each to be added
    /// with [`add_clone_entry`].
    pub fn take_clone_entries(&mut self) -> Vec<CloneEntry> {
        std::mem::take(&mut self.rpcb.new_entries)
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `XDRALIGN`.
fn xdr_align(n: u32) -> Option<usize> {
    usize::try_from(n.checked_add(3)? / 4 * 4).ok()
}

/// `ipf_p_rpcb_skipauth`: the offset after an auth (flavor, length, data).
fn skip_auth(msg: &[u8], at: usize) -> Option<usize> {
    let len = xdr_align(be32(msg, at + 4)?)?;
    let end = at.checked_add(8)?.checked_add(len)?;
    (end <= msg.len()).then_some(end)
}

/// What a request asks, as far as it is followed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// Version 2 `GETPORT`: the transaction id and the service's protocol.
    GetPort { xid: u32, proto: u32 },
    /// A request IPFilter refuses (`-1`).
    Refused,
    /// Version 3/4: not modelled.
    NotModelled,
}

/// `ipf_p_rpcb_decodereq`.
fn decode_request(msg: &[u8]) -> Request {
    let word = |i: usize| be32(msg, i * 4);
    let (Some(xid), Some(0), Some(2), Some(PORTMAPPER)) = (word(0), word(1), word(2), word(3))
    else {
        return Request::Refused;
    };
    let (Some(vers), Some(proc_)) = (word(4), word(5)) else {
        return Request::Refused;
    };
    let Some(args) = skip_auth(msg, 24).and_then(|at| skip_auth(msg, at)) else {
        return Request::Refused;
    };
    match vers {
        // Exactly four parameters: program, version, protocol, port.
        2 if proc_ == GETPORT && msg.len() - args == 16 => match be32(msg, args + 8) {
            Some(proto @ (6 | 17)) => Request::GetPort { xid, proto },
            _ => Request::Refused,
        },
        3 | 4 => Request::NotModelled,
        _ => Request::Refused,
    }
}

/// What a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// The service's port (`xid` answered).
    Port(u16),
    /// Denied, not accepted, or the service not registered (`0`).
    Negative,
    /// A reply IPFilter refuses (`-1`).
    Refused,
}

/// `ipf_p_rpcb_decoderep` for a version 2 request's reply.
fn decode_reply(msg: &[u8]) -> Reply {
    match (be32(msg, 4), be32(msg, 8)) {
        (Some(1), Some(1)) => return Reply::Negative,
        (Some(1), Some(0)) => {}
        _ => return Reply::Refused,
    }
    let Some(at) = skip_auth(msg, 12) else {
        return Reply::Refused;
    };
    match be32(msg, at) {
        None => Reply::Refused,
        Some(0) => match (msg.len() - at == 8).then(|| be32(msg, at + 4)).flatten() {
            None => Reply::Refused,
            Some(0) => Reply::Negative,
            Some(port) => u16::try_from(port).map_or(Reply::Refused, Reply::Port),
        },
        Some(_) => Reply::Negative,
    }
}

/// `ipf_p_rpcb_in` (a request, coming in) and `ipf_p_rpcb_out` (a reply, going out) for
/// a packet of session `s`.
pub(super) fn inout(
    rules: &[NatRule],
    fin: &Fin,
    bytes: &[u8],
    state: &mut NatState,
    s: &Session,
    out: bool,
) -> Result<(), NatOutcome> {
    if fin.v != 4 || fin.p != 17 {
        return Err(unknown("rpcbind proxy: only IPv4 UDP is modelled"));
    }
    if fin.flx & (flx::FRAG | flx::SHORT) != 0 {
        return Err(unknown("rpcbind proxy: a fragment or short packet"));
    }
    let start = fin.dp + 8;
    let end = fin.dp + usize::try_from(fin.dlen).unwrap_or(0);
    let msg = bytes.get(start..end).unwrap_or_default();
    let session = flow(s);
    let tables = &mut state.proxy.rpcb;
    if !out {
        if !REQUEST_LEN.contains(&msg.len()) {
            return Err(unknown("rpcbind proxy: a request of a size it refuses"));
        }
        let (xid, proto) = match decode_request(msg) {
            Request::GetPort { xid, proto } => (xid, proto),
            Request::Refused => return Err(unknown("rpcbind proxy: a request it refuses")),
            Request::NotModelled => {
                return Err(unknown("rpcbind proxy: version 3/4 requests"));
            }
        };
        // `ipf_p_rpcb_insert`: a known transaction is referenced again.
        if let Some(t) = tables
            .transactions
            .iter_mut()
            .find(|t| t.session == session && t.xid == xid)
        {
            t.refs += 1;
        } else if tables.transactions.len() >= MAX_REQUESTS {
            return Err(unknown("rpcbind proxy: too many requests waiting"));
        } else {
            tables.transactions.push(Transaction {
                session,
                xid,
                proto,
                refs: 1,
            });
        }
        return Ok(());
    }
    if !REPLY_LEN.contains(&msg.len()) {
        return Err(unknown("rpcbind proxy: a reply of a size it refuses"));
    }
    let Some(at) = be32(msg, 0).and_then(|xid| {
        tables
            .transactions
            .iter()
            .position(|t| t.session == session && t.xid == xid)
    }) else {
        return Err(unknown("rpcbind proxy: a reply to no request"));
    };
    let proto = tables.transactions[at].proto;
    let port = match decode_reply(msg) {
        Reply::Refused => return Err(unknown("rpcbind proxy: a reply it refuses")),
        Reply::Negative => None,
        Reply::Port(port) => Some(port),
    };
    // The reply is done with: `ipf_p_rpcb_deref` twice after the lookup's reference.
    let t = &mut tables.transactions[at];
    t.refs -= 1;
    if t.refs == 0 {
        tables.transactions.remove(at);
    }
    match port {
        Some(port) => getnat(rules, state, s, proto, port),
        None => Ok(()),
    }
}

/// `ipf_p_rpcb_getnat`: the NAT session (the proxy's rule for the service's port, made
/// as a packet coming in from the client to the address it asked) and the state entry
/// for the connection the reply announced.
fn getnat(
    rules: &[NatRule],
    state: &mut NatState,
    s: &Session,
    proto: u32,
    port: u16,
) -> Result<(), NatOutcome> {
    let one_target = rules.get(s.rule).is_some_and(
        |r| matches!(&r.target, NatTarget::Redirect { addrs, .. } if addrs.len() == 1),
    );
    if s.kind != NatKind::Rdr || s.outbound || !one_target {
        return Err(unknown(
            "rpcbind proxy: only a rdr rule to one address is modelled",
        ));
    }
    if proto != 17 {
        return Err(unknown("rpcbind proxy: a TCP service's entries"));
    }
    // `ipf_state_lookup` of the made-up packet (untranslated) finds an entry only when
    // translation left the destination as it was: not followed.
    if s.odst == s.ndst {
        return Err(unknown(
            "rpcbind proxy: a rdr to the same address (its state lookup)",
        ));
    }
    let p = 17;
    // `ipf_nat_inlookup` with the source port open: any session of that connection.
    let known = state.sessions.iter().any(|n| {
        !n.outbound && n.p == p && n.osrc == s.osrc && n.odst == s.odst && n.odport == port
    });
    if !known {
        let clone = Session {
            rule: s.rule,
            kind: NatKind::Rdr,
            outbound: false,
            p,
            interface: s.interface.clone(),
            osrc: s.osrc,
            odst: s.odst,
            osport: 0,
            odport: port,
            nsrc: s.osrc,
            ndst: s.ndst,
            nsport: 0,
            ndport: port,
        };
        state.proxy.rpcb.clones.push(flow(&clone));
        state.proxy.made.push(flow(&clone));
        state.sessions.push(clone);
    }
    state.proxy.rpcb.new_entries.push(CloneEntry {
        src: s.osrc,
        dst: s.ndst,
        dport: port,
        interface: s.interface.clone(),
    });
    Ok(())
}

/// The first packet of a connection to a NAT session the proxy made with the source
/// port open (`ipf_nat_inlookup` finding it, `ipf_nat_clone`): a session of its own for
/// the packet, which it translates.
pub(super) fn clone_session(
    fin: &Fin,
    bytes: &mut [u8],
    interface: &str,
    state: &mut NatState,
    out: bool,
) -> Option<NatOutcome> {
    if out || fin.flx & flx::TCPUDP == 0 {
        return None;
    }
    let parent = state.sessions.iter().find(|n| {
        state.proxy.rpcb.clones.contains(&flow(n))
            && n.p == fin.p
            && n.interface == interface
            && n.osrc == fin.src
            && n.odst == fin.dst
            && n.odport == fin.dport
    })?;
    let child = Session {
        osport: fin.sport,
        nsport: fin.sport,
        ..parent.clone()
    };
    rewrite(bytes, false, child.ndst, Some(child.ndport));
    let outcome = NatOutcome::Translated(Translation {
        rule: child.rule,
        source: false,
        before: (fin.dst, Some(fin.dport)),
        after: (child.ndst, Some(child.ndport)),
        created: true,
    });
    state.proxy.made.push(flow(&child));
    state.sessions.push(child);
    Some(outcome)
}

/// Adds a state entry the proxy made (`ipf_state_add` of its made-up UDP packet, coming
/// in, counted): the source port open, a clone.
pub fn add_clone_entry(
    table: &mut StateTable,
    entry: &CloneEntry,
    cast: u32,
    state_max: usize,
) -> bool {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (entry.src, entry.dst) else {
        return false;
    };
    let mut packet = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(&entry.dport.to_be_bytes());
    packet.extend_from_slice(&[0, 8, 0, 0]);
    super::wire::refill_checksums(&mut packet);
    let Ok(mut fin) = Fin::decode(&packet, cast) else {
        return false;
    };
    let added = table.add(
        &mut fin,
        &packet,
        false,
        &entry.interface,
        None,
        RPCB_PASS,
        state_max,
    );
    match (added, table.entries.last_mut()) {
        (Ok(()), Some(e)) => {
            e.flags |= isf::W_SPORT | isf::CLONE;
            true
        }
        _ => false,
    }
}

/// `ipf_state_lookup` finding an entry with the source port open (`ipf_state_clone`)
/// when no entry of the packet's own connection exists: a copy of it, counters and all,
/// with the port filled in, for the lookup to find.
pub fn clone_state(table: &mut StateTable, fin: &Fin, out: bool, interface: &str) {
    if fin.flx & flx::TCPUDP == 0 {
        return;
    }
    let own = |e: &super::state::Entry| {
        e.flags & isf::CLONE == 0
            && e.p == fin.p
            && ((e.src, e.dst, e.sport, e.dport) == (fin.src, fin.dst, fin.sport, fin.dport)
                || (e.src, e.dst, e.sport, e.dport) == (fin.dst, fin.src, fin.dport, fin.sport))
    };
    if table.entries.iter().any(own) {
        return;
    }
    let found = table.entries.iter().find_map(|e| {
        if e.flags & isf::CLONE == 0 || e.p != fin.p {
            return None;
        }
        let forward = e.src == fin.src && e.dst == fin.dst && e.dport == fin.dport;
        let reverse = e.src == fin.dst && e.dst == fin.src && e.dport == fin.sport;
        let rev = !forward && reverse;
        let idx = (usize::from(out) << 1) + usize::from(rev);
        let on = e.ifnames[idx].as_deref().is_none_or(|i| i == interface);
        ((forward || reverse) && on).then_some((e.clone(), rev))
    });
    if let Some((mut child, rev)) = found {
        child.sport = if rev { fin.dport } else { fin.sport };
        child.flags = (child.flags & !(isf::CLONE | isf::W_SPORT)) | isf::CLONED;
        table.entries.push(child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of an RPC message.
    fn message(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn a_getport_request_is_read_and_others_are_not() {
        // xid, CALL, RPC 2, portmapper, v2, GETPORT, cred, verf, prog, vers, proto, port.
        let getport = |vers: u32, proto: u32| {
            message(&[
                7, 0, 2, PORTMAPPER, vers, GETPORT, 0, 0, 0, 0, 100_003, 3, proto, 0,
            ])
        };
        assert_eq!(
            decode_request(&getport(2, 17)),
            Request::GetPort { xid: 7, proto: 17 }
        );
        assert_eq!(decode_request(&getport(2, 1)), Request::Refused, "ICMP");
        assert_eq!(decode_request(&getport(3, 17)), Request::NotModelled);
        let mut long = getport(2, 17);
        long.extend_from_slice(&[0; 4]);
        assert_eq!(decode_request(&long), Request::Refused, "five parameters");
        let mut not_portmap = getport(2, 17);
        not_portmap[15] = 1;
        assert_eq!(decode_request(&not_portmap), Request::Refused);
        // A credential whose length runs past the message.
        let bad_auth = message(&[7, 0, 2, PORTMAPPER, 2, GETPORT, 1, 400, 0, 0]);
        assert_eq!(decode_request(&bad_auth), Request::Refused);
    }

    /// A UDP packet's decoding.
    fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Fin {
        let mut b = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
        b.extend_from_slice(&src);
        b.extend_from_slice(&dst);
        b.extend_from_slice(&sport.to_be_bytes());
        b.extend_from_slice(&dport.to_be_bytes());
        b.extend_from_slice(&[0, 8, 0, 0]);
        super::super::wire::refill_checksums(&mut b);
        Fin::decode(&b, 0).expect("a UDP packet")
    }

    #[test]
    fn a_clone_entry_is_copied_for_each_connection_and_kept() {
        let mut table = StateTable::default();
        let made = CloneEntry {
            src: [10, 0, 0, 1].into(),
            dst: [10, 0, 1, 1].into(),
            dport: 2049,
            interface: "in0".into(),
        };
        assert!(add_clone_entry(&mut table, &made, 0, 100));
        let clone = &table.entries[0];
        assert_eq!(
            clone.flags & (isf::W_SPORT | isf::CLONE),
            isf::W_SPORT | isf::CLONE
        );
        assert_eq!(
            (clone.pkts[0], clone.bytes[0]),
            (1, 28),
            "its made-up packet"
        );

        let first = udp([10, 0, 0, 1], 1000, [10, 0, 1, 1], 2049);
        clone_state(&mut table, &first, false, "in0");
        clone_state(&mut table, &first, false, "in0");
        assert_eq!(table.entries.len(), 2, "one copy per connection");
        let child = &table.entries[1];
        assert_eq!((child.sport, child.flags & isf::CLONE), (1000, 0));
        assert_eq!(child.bytes[0], 28, "the clone's counters come along");

        // The reply of another connection, and a packet on another interface.
        clone_state(
            &mut table,
            &udp([10, 0, 1, 1], 2049, [10, 0, 0, 1], 1001),
            true,
            "x",
        );
        assert_eq!(table.entries[2].sport, 1001);
        clone_state(
            &mut table,
            &udp([10, 0, 0, 1], 1002, [10, 0, 1, 1], 2049),
            false,
            "x",
        );
        assert_eq!(table.entries.len(), 3, "the clone came in on in0");
    }

    #[test]
    fn a_reply_names_a_port_or_nothing() {
        // xid, REPLY, accepted, verf, accept status, port.
        let reply = |status: u32, port: u32| message(&[7, 1, 0, 0, 0, status, port]);
        assert_eq!(decode_reply(&reply(0, 2049)), Reply::Port(2049));
        assert_eq!(
            decode_reply(&reply(0, 0)),
            Reply::Negative,
            "not registered"
        );
        assert_eq!(
            decode_reply(&reply(1, 2049)),
            Reply::Negative,
            "not accepted"
        );
        assert_eq!(decode_reply(&reply(0, 70_000)), Reply::Refused);
        assert_eq!(decode_reply(&message(&[7, 1, 1, 0])), Reply::Negative);
        assert_eq!(
            decode_reply(&message(&[7, 0, 0, 0])),
            Reply::Refused,
            "a call"
        );
    }
}
