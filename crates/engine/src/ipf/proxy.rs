//! NAT proxies (`ip_proxy.c`): a `map … proxy port P NAME/tcp` or `rdr … proxy NAME`
//! rule translates its connection as usual and hands each packet of it to the proxy,
//! which may open the way for a connection the protocol announces.
//!
//! `rcmd` (`ip_rcmd_pxy.c`), `pptp` (`proxy_pptp.rs`), `rpcbu` (`proxy_rpcb.rs`) and, in
//! part, `ftp` (`proxy_ftp.rs`) are modelled. With `rcmd` the client names, in its first
//! data, the port the server must connect back to
//! (`ipf_p_rcmd_portmsg`); IPFilter then adds a NAT session for that back connection,
//! made by the control session's rule reversed (`ipf_proxy_rule_rev`), and a state
//! entry that passes it (`rcmdfr`: pass, quick, keep state), both with the server's
//! source port left open (`SI_W_SPORT`) until the first packet fills it in. Here both
//! wait as expected connections and become a session and an entry at that first packet,
//! built from it: the entry's TCP window starts from that packet rather than from the
//! proxy's made-up SYN, and it is bound to the interface the packet used where
//! IPFilter's is on any. Rules naming any other proxy stay Undetermined.

use std::net::IpAddr;

use model::ipf::nat::{NatKind, NatRule};

use super::fin::Fin;
use super::flags as fr;
use super::nat::{rewrite, unknown, HostMap, NatOutcome, NatState, Session, Translation};

/// The pass of the state entry the rcmd proxy adds (`rcmdfr.fr_flags`).
pub const RCMD_PASS: u32 = fr::INQUE | fr::PASS | fr::QUICK | fr::KEEPSTATE;

/// The pass of the GRE state entry the pptp proxy adds (`pptpfr.fr_flags`).
pub const PPTP_PASS: u32 = fr::OUTQUE | fr::PASS | fr::QUICK | fr::KEEPSTATE;

/// A connection a proxy expects: a TCP packet going `out` (or in) from `src` to
/// `dst`, port `dport`, from any source port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    out: bool,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
}

impl Expected {
    fn matches(&self, fin: &Fin, out: bool) -> bool {
        fin.p == 6
            && out == self.out
            && fin.src == self.src
            && fin.dst == self.dst
            && fin.dport == self.dport
    }
}

/// A back connection's NAT session to be: the packet's source (or destination) becomes
/// `to`; made by `rule` on `interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpectedSession {
    packet: Expected,
    to: IpAddr,
    rule: usize,
    interface: String,
}

/// A NAT session's flow as it was made (a session removed and another made at the same
/// place is not taken for it).
pub(super) type Flow = (bool, IpAddr, IpAddr, u16, u16);

pub(super) fn flow(s: &Session) -> Flow {
    (s.outbound, s.osrc, s.odst, s.osport, s.odport)
}

/// `rcmdinfo_t`: the port the client named and the sequence number it was sent at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rcmd {
    /// The control session.
    session: Flow,
    port: u16,
    portseq: u32,
}

/// The proxies' tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyTables {
    rcmd: Vec<Rcmd>,
    sessions: Vec<ExpectedSession>,
    entries: Vec<Expected>,
    /// Sessions a proxy made: their rule is the reversed one, which has no proxy.
    pub(super) made: Vec<Flow>,
    /// The pptp proxy's sessions.
    pub(super) pptp: Vec<super::proxy_pptp::Pptp>,
    /// The ftp proxy's sessions.
    pub(super) ftp: Vec<super::proxy_ftp::Ftp>,
    /// State entries a proxy made, for the state table: the packet they are made from
    /// (`ipf_state_add` of a made-up packet) and its direction.
    pub(super) new_entries: Vec<(Vec<u8>, bool)>,
    /// The rpcbind proxy's transactions and what it made.
    pub(super) rpcb: super::proxy_rpcb::RpcbTables,
}

impl ProxyTables {
    /// The state entries proxies made since the last call: made-up packets (IPv4) and
    /// their directions, each to be added with [`PPTP_PASS`], on no interface and not
    /// counted.
    pub fn take_new_entries(&mut self) -> Vec<(Vec<u8>, bool)> {
        std::mem::take(&mut self.new_entries)
    }

    /// Whether session `s` has a proxy session (`nat_aps`, printed `proxy active`): its
    /// rule names a proxy and no proxy made it.
    pub fn active(&self, rules: &[NatRule], s: &Session) -> bool {
        rules.get(s.rule).is_some_and(|r| r.proxy.is_some()) && !self.made.contains(&flow(s))
    }

    /// Whether `fin` is the first packet of a back connection the state table expects
    /// (the expectation is used up): the caller adds its entry with [`RCMD_PASS`].
    pub fn claim_state(&mut self, fin: &Fin, out: bool) -> bool {
        match self.entries.iter().position(|e| e.matches(fin, out)) {
            Some(at) => {
                self.entries.remove(at);
                true
            }
            None => false,
        }
    }
}

/// Whether `rule`'s proxy is one modelled here (a rule without a proxy is).
pub(super) fn modelled(rule: &NatRule) -> bool {
    rule.proxy.as_ref().is_none_or(|p| match p.name.as_str() {
        "rcmd" | "pptp" | "ftp" => p.proto.is_none_or(|pr| pr.matches(6)),
        "rpcbu" => p.proto.is_none_or(|pr| pr.matches(17)),
        _ => false,
    })
}

/// `ips_proxies` (`ip_proxy.c`): each proxy's protocol.
fn protocol(name: &str) -> Option<u8> {
    match name {
        "ftp" | "irc" | "rcmd" | "raudio" | "msnrpc" | "pptp" | "h323" | "h245" | "rpcbt" => {
            Some(6)
        }
        "tftp" | "netbios" | "ipsec" | "dns" | "rpcbu" => Some(17),
        _ => None,
    }
}

/// `ipf_proxy_ok`, with the port a `map … proxy port P` rule applies to: the packet is
/// the proxy's protocol and, for a map, goes to port `P`. A proxy of no known protocol
/// is taken to apply (its rule is Undetermined).
pub(super) fn applies(rule: &NatRule, fin: &Fin) -> bool {
    let Some(proxy) = &rule.proxy else {
        return true;
    };
    if protocol(&proxy.name).is_some_and(|p| p != fin.p) {
        return false;
    }
    rule.kind == NatKind::Rdr || proxy.port.is_none_or(|p| p == fin.dport)
}

/// `ipf_proxy_check` for a packet of session `index` going `out` or in: the session's
/// proxy reads it. `Err` when what IPFilter does next cannot be followed here.
pub(super) fn check(
    rules: &[NatRule],
    fin: &Fin,
    bytes: &[u8],
    state: &mut NatState,
    index: usize,
    out: bool,
) -> Result<(), NatOutcome> {
    let s = &state.sessions[index];
    let Some(proxy) = rules.get(s.rule).and_then(|r| r.proxy.as_ref()) else {
        return Ok(());
    };
    if state.proxy.made.contains(&flow(s)) {
        return Ok(());
    }
    if fin.flx & super::fin::flx::BAD != 0 {
        return Err(unknown("a bad packet of a proxied connection"));
    }
    let s = s.clone();
    match proxy.name.as_str() {
        "rcmd" => {
            rcmd(fin, bytes, state, &s, out);
            Ok(())
        }
        "pptp" => super::proxy_pptp::inout(fin, bytes, state, &s, out),
        "ftp" => super::proxy_ftp::inout(fin, bytes, state, &s, out),
        "rpcbu" => super::proxy_rpcb::inout(rules, fin, bytes, state, &s, out),
        _ => Ok(()),
    }
}

/// `ipf_p_rcmd_out` (map) and `ipf_p_rcmd_in` (rdr): the client's data, read for the
/// port it names.
fn rcmd(fin: &Fin, bytes: &[u8], state: &mut NatState, s: &Session, out: bool) {
    if s.outbound != out {
        return;
    }
    let at = match state.proxy.rcmd.iter().position(|r| r.session == flow(s)) {
        Some(at) => at,
        None => {
            state.proxy.rcmd.push(Rcmd {
                session: flow(s),
                port: 0,
                portseq: 0,
            });
            state.proxy.rcmd.len() - 1
        }
    };
    let Some(sp) = port_message(fin, bytes, &mut state.proxy.rcmd[at]) else {
        return;
    };
    // `ipf_proxy_rule_rev`: a map's back connection comes in to the mapped address and
    // is redirected to the client; a rdr's goes out from the server and is mapped to
    // the address the client used.
    let (session, entry) = if s.outbound {
        (
            ExpectedSession {
                packet: Expected {
                    out: false,
                    src: s.ndst,
                    dst: s.nsrc,
                    dport: sp,
                },
                to: s.osrc,
                rule: s.rule,
                interface: s.interface.clone(),
            },
            Expected {
                out: false,
                src: s.ndst,
                dst: s.osrc,
                dport: sp,
            },
        )
    } else {
        let packet = Expected {
            out: true,
            src: s.ndst,
            dst: s.nsrc,
            dport: sp,
        };
        (
            ExpectedSession {
                packet: packet.clone(),
                to: s.odst,
                rule: s.rule,
                interface: s.interface.clone(),
            },
            packet,
        )
    };
    if !state.proxy.sessions.contains(&session) {
        state.proxy.sessions.push(session);
    }
    if !state.proxy.entries.contains(&entry) {
        state.proxy.entries.push(entry);
    }
}

/// `ipf_p_rcmd_portmsg`'s reading: the port named in the data (digits up to the first
/// other byte, within 8 bytes), only from the first message that named one.
fn port_message(fin: &Fin, bytes: &[u8], rc: &mut Rcmd) -> Option<u16> {
    let tcp = fin.dp;
    let tcpsz = usize::from(bytes.get(tcp + 12)? >> 4) * 4;
    let dlen = fin.dlen - tcpsz as i64;
    if dlen <= 0 {
        return None;
    }
    let seq = u32::from_be_bytes(bytes.get(tcp + 4..tcp + 8)?.try_into().ok()?);
    if rc.portseq != 0 && seq != rc.portseq {
        return None;
    }
    let start = tcp + tcpsz;
    let take = (dlen as usize).min(7);
    let data = bytes.get(start..(start + take).min(bytes.len()))?;
    let mut sp: u16 = 0;
    for &c in data.iter().take_while(|c| c.is_ascii_digit()) {
        sp = sp.wrapping_mul(10).wrapping_add(u16::from(c - b'0'));
    }
    if sp == 0 || (rc.port != 0 && sp != rc.port) {
        return None;
    }
    rc.port = sp;
    rc.portseq = seq;
    Some(sp)
}

/// The first packet of a back connection a proxy expects (`ipf_nat_inlookup`/
/// `ipf_nat_outlookup` finding the wildcard session): its session, and the packet
/// translated by it.
pub(super) fn expected_session(
    rules: &[NatRule],
    fin: &Fin,
    bytes: &mut [u8],
    interface: &str,
    state: &mut NatState,
    out: bool,
) -> Option<NatOutcome> {
    if let Some(done) = super::proxy_rpcb::clone_session(fin, bytes, interface, state, out) {
        return Some(done);
    }
    let at = state
        .proxy
        .sessions
        .iter()
        .position(|e| e.interface == interface && e.packet.matches(fin, out))?;
    let e = state.proxy.sessions.remove(at);
    let kind = if out { NatKind::Map } else { NatKind::Rdr };
    let (nsrc, ndst) = if out {
        (e.to, fin.dst)
    } else {
        (fin.src, e.to)
    };
    rewrite(
        bytes,
        out,
        e.to,
        Some(if out { fin.sport } else { fin.dport }),
    );
    let session = Session {
        rule: e.rule.min(rules.len().saturating_sub(1)),
        kind,
        outbound: out,
        p: fin.p,
        interface: interface.to_string(),
        osrc: fin.src,
        odst: fin.dst,
        osport: fin.sport,
        odport: fin.dport,
        nsrc,
        ndst,
        nsport: fin.sport,
        ndport: fin.dport,
    };
    if out {
        // `ipf_nat_newmap` for the reversed rule records the host pair (`ipf_nat_hostmap`).
        state.hostmaps.push(HostMap {
            rule: session.rule,
            osrc: session.osrc,
            odst: session.odst,
            nsrc: session.nsrc,
            uses: 1,
            port: 0,
        });
    }
    state.proxy.made.push(flow(&session));
    state.sessions.push(session);
    let before = if out { fin.src } else { fin.dst };
    let port = if out { fin.sport } else { fin.dport };
    Some(NatOutcome::Translated(Translation {
        rule: e.rule,
        source: out,
        before: (before, Some(port)),
        after: (e.to, Some(port)),
        created: true,
    }))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A TCP segment (20-byte headers) carrying `data` at sequence `seq`.
    pub(in crate::ipf) fn segment(seq: u32, data: &[u8]) -> (Fin, Vec<u8>) {
        let len = 40 + data.len() as u16;
        let mut b = vec![
            0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 5, 192, 0, 2, 1,
        ];
        b[2..4].copy_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&[3, 0xf1, 2, 2]);
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 1, 0x50, 0x18, 0x80, 0, 0, 0, 0, 0]);
        b.extend_from_slice(data);
        super::super::wire::refill_checksums(&mut b);
        (Fin::decode(&b, 0).expect("a TCP segment"), b)
    }

    fn fresh() -> Rcmd {
        Rcmd {
            session: (true, [0, 0, 0, 0].into(), [0, 0, 0, 0].into(), 0, 0),
            port: 0,
            portseq: 0,
        }
    }

    #[test]
    fn rcmd_reads_the_port_from_the_first_message_only() {
        let mut rc = fresh();
        let (fin, b) = segment(100, b"1008\0");
        assert_eq!(port_message(&fin, &b, &mut rc), Some(1008));
        let (fin, b) = segment(105, b"2000\0");
        assert_eq!(port_message(&fin, &b, &mut rc), None, "a later message");
        let (fin, b) = segment(100, b"1008\0");
        assert_eq!(port_message(&fin, &b, &mut rc), Some(1008), "sent again");
    }

    #[test]
    fn rcmd_needs_digits_within_seven_bytes() {
        let (fin, b) = segment(1, b"darren\0");
        assert_eq!(port_message(&fin, &b, &mut fresh()), None);
        let (fin, b) = segment(1, b"12345678");
        // `ipf_rcmd_atoi` reads "1234567" into a u_short: 1234567 mod 65536.
        assert_eq!(port_message(&fin, &b, &mut fresh()), Some(54_919));
        let (fin, b) = segment(1, b"");
        assert_eq!(port_message(&fin, &b, &mut fresh()), None, "no data");
    }
}
