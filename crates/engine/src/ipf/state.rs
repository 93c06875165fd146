//! The state table (`ip_state.c`): `keep state` entries, matched before the rules.
//!
//! An entry remembers the flow (addresses, ports or ICMP identifier), the interfaces it
//! was seen on in each direction (`is_ifp[(out << 1) + rev]`), the IP options and packet
//! flags of each direction, and for TCP both ends' sequence windows and connection
//! states. A packet matches an entry when all of these agree (`ipf_matchsrcdst`) and, for
//! TCP, when it falls inside the window and its flags are a valid step of the
//! connection (`ipf_state_tcpinwindow`, `ipf_tcp_age`). ICMP errors quoting a packet of a
//! flow match that flow's entry (`ipf_checkicmpmatchingstate`).

use std::net::IpAddr;

use super::fin::{flx, Fin};
use super::flags as fr;

/// TCP connection states (`IPF_TCPS_*`).
pub mod tcps {
    /// `LISTEN`.
    pub const LISTEN: u8 = 0;
    /// `SYN_SENT`.
    pub const SYN_SENT: u8 = 1;
    /// `SYN_RECEIVED`.
    pub const SYN_RECEIVED: u8 = 2;
    /// `HALF_ESTAB`.
    pub const HALF_ESTAB: u8 = 3;
    /// `ESTABLISHED`.
    pub const ESTABLISHED: u8 = 4;
    /// `CLOSE_WAIT`.
    pub const CLOSE_WAIT: u8 = 5;
    /// `FIN_WAIT_1`.
    pub const FIN_WAIT_1: u8 = 6;
    /// `CLOSING`.
    pub const CLOSING: u8 = 7;
    /// `LAST_ACK`.
    pub const LAST_ACK: u8 = 8;
    /// `TIME_WAIT`.
    pub const TIME_WAIT: u8 = 10;
    /// `CLOSED`.
    pub const CLOSED: u8 = 11;
}

/// `is_flags` bits used here.
pub mod isf {
    /// `SI_W_SPORT`: any source port.
    pub const W_SPORT: u32 = 0x0_0100;
    /// `SI_CLONE`: cloned for each connection that matches it.
    pub const CLONE: u32 = 0x0_2000;
    /// `SI_CLONED`: made from a clone.
    pub const CLONED: u32 = 0x0_4000;
    /// `IS_TCPFSM`.
    pub const TCPFSM: u32 = 0x1_0000;
    /// `IS_STRICT`.
    pub const STRICT: u32 = 0x2_0000;
    /// `IS_LOOSE`.
    pub const LOOSE: u32 = 0x8_0000;
    /// Any destination address.
    pub const W_DADDR: u32 = 0x0000_0020;
}

const TH_FIN: u8 = 0x01;
const TH_SYN: u8 = 0x02;
const TH_RST: u8 = 0x04;
const TH_PUSH: u8 = 0x08;
const TH_ACK: u8 = 0x10;
const TH_ECN: u8 = 0x40;
const TH_CWR: u8 = 0x80;
const TH_OPENING: u8 = TH_SYN | TH_ACK;
const TH_ACKMASK: u8 = TH_FIN | TH_SYN | TH_RST | TH_ACK;

const WSCALE_SEEN: u8 = 0x01;
const WSCALE_FIRST: u8 = 0x02;
const SACK_PERMIT: u8 = 0x04;

/// One end of a TCP connection (`tcpdata_t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpData {
    /// `td_end`: the highest sequence number sent.
    pub end: u32,
    /// `td_maxend`: the right edge of the window the other end allows.
    pub maxend: u32,
    /// `td_maxwin`: the largest window seen.
    pub maxwin: u32,
    /// `td_winscale`.
    pub winscale: u8,
    /// `td_winflags`.
    pub winflags: u8,
}

/// A state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// 4 or 6.
    pub v: u8,
    /// Protocol.
    pub p: u8,
    /// Source of the packet that created it.
    pub src: IpAddr,
    /// Its destination.
    pub dst: IpAddr,
    /// Its source port.
    pub sport: u16,
    /// Its destination port.
    pub dport: u16,
    /// ICMP: the query's type.
    pub icmp_type: u8,
    /// ICMP: the query's identifier.
    pub icmp_id: u16,
    /// The creating rule's flags.
    pub pass: u32,
    /// The creating rule (index into the rules), when a rule created it.
    pub rule: Option<usize>,
    /// The rule's number in its list.
    pub rulen: u32,
    /// Interfaces by `(out << 1) + rev`; `None` not yet seen (matches any).
    pub ifnames: [Option<String>; 4],
    /// IP options per direction and the masks they are compared under.
    pub opt: [u32; 2],
    /// See `opt`.
    pub optmsk: [u32; 2],
    /// IPSO classification.
    pub sec: u16,
    /// IPSO authority.
    pub auth: u16,
    /// Packet flags per `[out][rev]`, 0 until seen.
    pub flx: [[u32; 2]; 2],
    /// `is_flags`.
    pub flags: u32,
    /// TCP: both ends (0: the end that created the entry).
    pub tcp: [TcpData; 2],
    /// TCP: both ends' states.
    pub tcp_state: [u8; 2],
    /// TCP: the initial sequence numbers seen (`is_s0`).
    pub s0: [u32; 2],
    /// Packets per `(rev << 1) + out`.
    pub pkts: [u64; 4],
    /// Bytes per `(rev << 1) + out`.
    pub bytes: [u64; 4],
    /// ICMP errors let through per `(rev << 1) + out`.
    pub icmp_pkts: [u64; 4],
    /// On its way out: no packet matches it.
    pub deleting: bool,
    /// Where a rule's `to` (0) and `reply-to` (1) send what the entry passes
    /// (`is_tifs`): named by the rule, or picked from its destination list when the
    /// entry was made.
    pub to: [Option<String>; 2],
}

/// The table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateTable {
    /// Entries, oldest first.
    pub entries: Vec<Entry>,
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The entry's index.
    pub index: usize,
    /// The packet goes the other way from the one that created it.
    pub rev: bool,
}

/// Why a state entry was not added (`ipf_state_add`'s non-zero returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddRefused {
    /// Short, fragment body, bad, or already matched a state.
    Unfit,
    /// The table is full (`state_max`).
    TableFull,
    /// The rule's `limit` is reached.
    RuleLimit,
    /// Not a query that can have state (an ICMP reply or error, ICMPv6 other than
    /// echo and solicitations).
    NotQuery,
    /// A TCP RST.
    Reset,
    /// An identical entry exists.
    Exists,
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([
        bytes.get(at).copied().unwrap_or(0),
        bytes.get(at + 1).copied().unwrap_or(0),
    ])
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from(be16(bytes, at)) << 16 | u32::from(be16(bytes, at + 2))
}

/// `icmpreplytype4`/`icmpreplytype6`: the reply to a query type.
fn reply_type(v: u8, query: u8) -> Option<u8> {
    match (v, query) {
        (4, 8) => Some(0),
        (4, 13) => Some(14),
        (4, 15) => Some(16),
        (4, 17) => Some(18),
        (6, 128) => Some(129),
        (6, 130) => Some(131),
        (6, 133) => Some(134),
        (6, 135) => Some(136),
        (6, 139) => Some(140),
        _ => None,
    }
}

/// What the TCP header says, read once.
struct Tcp {
    flags: u8,
    seq: u32,
    ack: u32,
    win: u32,
    off: i64,
}

impl Tcp {
    fn read(fin: &Fin, bytes: &[u8]) -> Tcp {
        let t = fin.dp;
        Tcp {
            flags: bytes.get(t + 13).copied().unwrap_or(0),
            seq: be32(bytes, t + 4),
            ack: be32(bytes, t + 8),
            win: u32::from(be16(bytes, t + 14)),
            off: i64::from(bytes.get(t + 12).copied().unwrap_or(0) >> 4) << 2,
        }
    }
    /// The sequence space the segment takes.
    fn dsize(&self, fin: &Fin) -> u32 {
        (fin.dlen - self.off) as u32
            + u32::from(self.flags & TH_SYN != 0)
            + u32::from(self.flags & TH_FIN != 0)
    }
}

impl StateTable {
    /// Number of live entries.
    pub fn active(&self) -> usize {
        self.entries.len()
    }

    /// `ipf_matchsrcdst`: whether `fin` belongs to `entry` and which way; fills in the
    /// interface and flags of a direction seen for the first time.
    fn match_src_dst(
        entry: &mut Entry,
        fin: &Fin,
        out: bool,
        interface: &str,
        ports: Option<(u16, u16)>,
        cmask: u32,
    ) -> Option<bool> {
        if entry.deleting {
            return None;
        }
        let mut rev = entry.dst != fin.dst;
        if !rev {
            if let Some((sp, dp)) = ports {
                if sp != entry.sport || dp != entry.dport {
                    rev = true;
                }
            }
        }
        let idx = (usize::from(out) << 1) + usize::from(rev);
        match &entry.ifnames[idx] {
            None => {}
            Some(name) if name.is_empty() || name == "-" || name == "*" => {}
            Some(name) if name == interface => {}
            Some(_) => return None,
        }
        let w_daddr = entry.flags & isf::W_DADDR != 0;
        let addrs_ok = if !rev {
            (entry.dst == fin.dst || w_daddr) && entry.src == fin.src
        } else {
            (entry.dst == fin.src || w_daddr) && entry.src == fin.dst
        };
        if !addrs_ok {
            return None;
        }
        if let Some((sp, dp)) = ports {
            let ok = if !rev {
                sp == entry.sport && dp == entry.dport
            } else {
                dp == entry.sport && sp == entry.dport
            };
            if !ok {
                return None;
            }
        }
        if w_daddr {
            if !rev {
                entry.dst = fin.dst;
            } else {
                entry.dst = fin.src;
            }
            entry.flags &= !isf::W_DADDR;
        }
        let flags = fin.flx & cmask;
        let seen = entry.flx[usize::from(out)][usize::from(rev)];
        let r = usize::from(rev);
        if (seen != 0 && flags != seen & cmask)
            || fin.optmsk & entry.optmsk[r] != entry.opt[r]
            || fin.secmsk != entry.sec
            || fin.auth != entry.auth
        {
            return None;
        }
        if seen == 0 {
            entry.flx[usize::from(out)][r] = flags;
            if rev && entry.optmsk[1] == 0 {
                entry.opt[1] = fin.optmsk;
                entry.optmsk[1] = 0xffff_ffff;
                if entry.v == 6 {
                    entry.opt[1] &= !0x8;
                    entry.optmsk[1] &= !0x8;
                }
            }
        }
        if entry.ifnames[idx].is_none() {
            entry.ifnames[idx] = Some(interface.to_string());
        }
        Some(rev)
    }

    /// `ipf_state_lookup` (and for ICMP errors, `ipf_checkicmpmatchingstate`).
    ///
    /// `icmp_blocked(rule)`: whether the `icmp-head` group of the rule that created an
    /// entry blocks the ICMP error being looked up (`ipf_allowstateicmp`).
    pub fn lookup(
        &mut self,
        fin: &mut Fin,
        bytes: &[u8],
        out: bool,
        interface: &str,
        icmp_blocked: &mut dyn FnMut(usize) -> bool,
    ) -> Option<Hit> {
        if fin.flx & (flx::SHORT | flx::FRAGBODY | flx::BAD) != 0 {
            return None;
        }
        let tcpudp = fin.flx & flx::TCPUDP != 0;
        let icmp = fin.p == 1 || fin.p == 58;
        let mut oow = 0;
        for index in 0..self.entries.len() {
            let entry = &mut self.entries[index];
            if entry.p != fin.p || entry.v != fin.v || entry.flags & isf::CLONE != 0 {
                continue;
            }
            let ports = tcpudp.then_some((fin.sport, fin.dport));
            fin.flx &= !flx::OOW;
            let Some(rev) = StateTable::match_src_dst(entry, fin, out, interface, ports, flx::CMP)
            else {
                continue;
            };
            if icmp {
                let icmp_type = fin.icmp_type();
                let id = fin.data1;
                if fin.v == 4 && id != entry.icmp_id {
                    continue;
                }
                let ok = (!rev && icmp_type == entry.icmp_type)
                    || (rev && reply_type(entry.v, entry.icmp_type) == Some(icmp_type));
                let echo_reply = if fin.v == 4 { 0 } else { 129 };
                if !ok || (icmp_type == echo_reply && id != entry.icmp_id) {
                    continue;
                }
            }
            if fin.p == 6 && !tcp_step(entry, fin, bytes, rev) {
                oow |= fin.flx & flx::OOW;
                continue;
            }
            return Some(Hit { index, rev });
        }
        fin.flx |= oow;
        match fin.p {
            1 => self.icmp_error_lookup(fin, bytes, out, interface, icmp_blocked),
            58 => self.icmp6_error_lookup(fin, bytes, out, interface, icmp_blocked),
            _ => None,
        }
    }

    /// `ipf_checkicmpmatchingstate`: an ICMP error quoting a packet of a known flow.
    fn icmp_error_lookup(
        &mut self,
        fin: &Fin,
        bytes: &[u8],
        out: bool,
        interface: &str,
        icmp_blocked: &mut dyn FnMut(usize) -> bool,
    ) -> Option<Hit> {
        if fin.v != 4 || fin.hlen != 20 || fin.plen < 48 || fin.flx & flx::ICMPERR == 0 {
            return None;
        }
        let oip = fin.dp + 8;
        let ohl = usize::from(bytes.get(oip).copied().unwrap_or(0) & 0x0f) * 4;
        if fin.plen < 56 + (ohl as i64 - 20) {
            return None;
        }
        let len = fin.dlen - 8;
        if len <= 0 || ohl as i64 > len {
            return None;
        }
        // The quoted packet, its length taken as what is there.
        let mut quoted = bytes.get(oip..).unwrap_or(&[]).to_vec();
        let qlen = (len as u16).to_be_bytes();
        if quoted.len() >= 4 {
            quoted[2] = qlen[0];
            quoted[3] = qlen[1];
        }
        let mut ofin = Fin::decode(&quoted, 0).ok()?;
        ofin.flx &= !(flx::BAD | flx::SHORT);
        let ports = match ofin.p {
            1 => {
                if ofin.flx & flx::ICMPERR != 0 {
                    return None;
                }
                None
            }
            6 | 17 => Some((be16(&quoted, ohl), be16(&quoted, ohl + 2))),
            _ => return None,
        };
        self.quoted_flow_lookup(&ofin, ports, out, interface, icmp_blocked)
    }

    /// `ipf_checkicmp6matchingstate`: an ICMPv6 error quoting a TCP or UDP packet of a
    /// known flow (ICMPv6 queries quoted in errors match only as the source's odd test
    /// allows: never, in practice).
    fn icmp6_error_lookup(
        &mut self,
        fin: &Fin,
        bytes: &[u8],
        out: bool,
        interface: &str,
        icmp_blocked: &mut dyn FnMut(usize) -> bool,
    ) -> Option<Hit> {
        if fin.v != 6 || fin.plen < 48 || fin.flx & flx::ICMPERR == 0 {
            return None;
        }
        let oip = fin.dp + 8;
        let mut quoted = bytes.get(oip..).unwrap_or(&[]).to_vec();
        let plen = ((fin.dlen - 8).max(0) as u16).to_be_bytes();
        if quoted.len() >= 6 {
            quoted[4] = plen[0];
            quoted[5] = plen[1];
        }
        let mut ofin = Fin::decode(&quoted, 0).ok()?;
        ofin.flx &= !(flx::BAD | flx::SHORT);
        if ofin.flx & flx::ICMPERR != 0 {
            return None;
        }
        let ports = match quoted.get(6).copied() {
            Some(6 | 17) => Some((be16(&quoted, 40), be16(&quoted, 42))),
            _ => return None,
        };
        self.quoted_flow_lookup(&ofin, ports, out, interface, icmp_blocked)
    }

    /// The entry of the flow an ICMP error quotes (`ofin`, seen the other way), if the
    /// entry lets errors through (`ipf_allowstateicmp`).
    fn quoted_flow_lookup(
        &mut self,
        ofin: &Fin,
        ports: Option<(u16, u16)>,
        out: bool,
        interface: &str,
        icmp_blocked: &mut dyn FnMut(usize) -> bool,
    ) -> Option<Hit> {
        let (src, pr) = (ofin.src, ofin.p);
        for index in 0..self.entries.len() {
            let entry = &mut self.entries[index];
            if entry.p != pr || entry.v != ofin.v {
                continue;
            }
            if pr == 1 && entry.pass & fr::NOICMPERR != 0 {
                continue;
            }
            if StateTable::match_src_dst(entry, ofin, !out, interface, ports, 0x0003).is_none() {
                continue;
            }
            if entry.rule.is_some_and(&mut *icmp_blocked) {
                continue;
            }
            let entry = &mut self.entries[index];
            let backward = entry.src != src;
            let i = (usize::from(!backward) << 1) + usize::from(out);
            let oi = (usize::from(backward) << 1) + usize::from(!out);
            if entry.pass & fr::NOICMPERR != 0 || entry.icmp_pkts[i] > entry.pkts[oi] {
                continue;
            }
            entry.icmp_pkts[i] += 1;
            return Some(Hit {
                index,
                rev: !backward,
            });
        }
        None
    }

    /// Counts a packet that matched (`ipf_state_check`).
    pub fn count(&mut self, hit: Hit, fin: &Fin, out: bool) {
        let entry = &mut self.entries[hit.index];
        let inout = (usize::from(hit.rev) << 1) + usize::from(out);
        entry.pkts[inout] += 1;
        entry.bytes[inout] += fin.plen.max(0) as u64;
    }

    /// `ipf_state_add`: a new entry for the packet a `keep state` rule passed.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        fin: &mut Fin,
        bytes: &[u8],
        out: bool,
        interface: &str,
        rule: Option<(usize, u32, &super::RuleState)>,
        pass: u32,
        state_max: usize,
    ) -> Result<(), AddRefused> {
        if fin.flx & (flx::SHORT | flx::STATE | flx::FRAGBODY | flx::BAD) != 0 {
            return Err(AddRefused::Unfit);
        }
        if fin.flx & flx::OOW != 0 && fin.tcpf & TH_SYN == 0 {
            return Err(AddRefused::Unfit);
        }
        if let Some((index, _, limits)) = rule {
            let from_rule = self
                .entries
                .iter()
                .filter(|e| e.rule == Some(index))
                .count();
            if self.active() >= state_max && limits.limit.is_none() {
                return Err(AddRefused::TableFull);
            }
            if limits.limit.is_some_and(|l| from_rule >= l as usize) {
                return Err(AddRefused::RuleLimit);
            }
            if let Some(max) = limits.max_srcs {
                let mut sources: Vec<IpAddr> = self
                    .entries
                    .iter()
                    .filter(|e| e.rule == Some(index))
                    .map(|e| masked(e.src, limits.src_mask))
                    .collect();
                sources.sort();
                sources.dedup();
                let this = masked(fin.src, limits.src_mask);
                if !sources.contains(&this) && sources.len() >= max as usize {
                    return Err(AddRefused::RuleLimit);
                }
            }
            if let Some(per) = limits.max_per_src {
                let this = masked(fin.src, limits.src_mask);
                let same = self
                    .entries
                    .iter()
                    .filter(|e| e.rule == Some(index) && masked(e.src, limits.src_mask) == this)
                    .count();
                if same >= per as usize {
                    return Err(AddRefused::RuleLimit);
                }
            }
        }
        let mut entry = Entry {
            v: fin.v,
            p: fin.p,
            src: fin.src,
            dst: fin.dst,
            sport: 0,
            dport: 0,
            icmp_type: 0,
            icmp_id: 0,
            pass,
            rule: rule.map(|(i, _, _)| i),
            rulen: rule.map_or(0, |(_, n, _)| n),
            ifnames: [None, None, None, None],
            opt: [fin.optmsk, 0],
            optmsk: [0xffff_ffff, 0],
            sec: fin.secmsk,
            auth: fin.auth,
            flx: [[0; 2]; 2],
            flags: 0,
            tcp: [TcpData::default(); 2],
            tcp_state: [tcps::LISTEN; 2],
            s0: [0; 2],
            pkts: [0; 4],
            bytes: [0; 4],
            icmp_pkts: [0; 4],
            deleting: false,
            to: [None, None],
        };
        if fin.v == 6 {
            entry.opt[0] &= !0x8;
            entry.optmsk[0] &= !0x8;
        }
        let mut flags = 0u32;
        if fin.v == 4 && fin.flx & (flx::MULTICAST | flx::BROADCAST | flx::MBCAST) != 0 {
            flags |= isf::W_DADDR;
        }
        match fin.p {
            58 => {
                let t = fin.icmp_type();
                if fin.dst.is_multicast() {
                    flags |= isf::W_DADDR;
                }
                match t {
                    128 => {
                        entry.icmp_id = fin.data1;
                        entry.icmp_type = t;
                    }
                    130 | 133 | 135 | 139 => entry.icmp_type = t,
                    _ => return Err(AddRefused::NotQuery),
                }
            }
            1 => {
                let t = fin.icmp_type();
                match t {
                    8 | 13 | 15 | 17 => {
                        entry.icmp_type = t;
                        entry.icmp_id = fin.data1;
                    }
                    _ => return Err(AddRefused::NotQuery),
                }
            }
            6 => {
                let tcp = Tcp::read(fin, bytes);
                if tcp.flags & TH_RST != 0 {
                    return Err(AddRefused::Reset);
                }
                entry.sport = fin.sport;
                entry.dport = fin.dport;
                entry.tcp[1].maxwin = 1;
                entry.tcp[0].maxwin = tcp.win.max(1);
                entry.tcp[0].end = tcp.seq.wrapping_add(tcp.dsize(fin));
                entry.tcp[0].maxend = entry.tcp[0].end;
                if tcp.flags & !(TH_FIN | TH_ACK | TH_ECN | TH_CWR) == TH_SYN && tcp.off > 20 {
                    tcp_options(fin, bytes, &mut entry.tcp[0]);
                }
                if tcp.flags & TH_OPENING == TH_SYN {
                    flags |= isf::TCPFSM;
                } else {
                    entry.tcp[1].maxwin = entry.tcp[0].maxwin * 4;
                    entry.tcp[1].end = tcp.ack;
                    entry.tcp[1].maxend = tcp.ack;
                }
            }
            17 => {
                entry.sport = fin.sport;
                entry.dport = fin.dport;
            }
            _ => {}
        }
        if self.entries.iter().any(|e| same_flow(e, &entry)) {
            return Err(AddRefused::Exists);
        }
        entry.flags = flags;
        entry.ifnames[usize::from(out) << 1] = Some(interface.to_string());
        if let Some((_, _, limits)) = rule {
            let o = usize::from(out) << 1;
            let other = usize::from(!out) << 1;
            entry.ifnames[o + 1] = limits.interfaces[1].clone();
            entry.ifnames[other] = limits.interfaces[2].clone();
            entry.ifnames[other + 1] = limits.interfaces[3].clone();
            if limits.interfaces[0].as_deref() == Some("-") {
                entry.ifnames[o] = Some("-".to_string());
            }
        }
        entry.pkts[usize::from(out)] = 1;
        entry.bytes[usize::from(out)] = fin.plen.max(0) as u64;
        entry.flx[usize::from(out)][0] = fin.flx & flx::CMP & !flx::OOW;
        if pass & fr::STLOOSE != 0 {
            entry.flags |= isf::LOOSE;
        }
        if pass & fr::STSTRICT != 0 {
            entry.flags |= isf::STRICT;
        }
        if pass & fr::LOGFIRST != 0 {
            entry.pass &= !(fr::LOGFIRST | fr::LOG);
        }
        if fin.p == 6 {
            let tcp = Tcp::read(fin, bytes);
            tcp_age(&mut entry, fin, &tcp, false);
        }
        self.entries.push(entry);
        fin.flx |= flx::STATE;
        Ok(())
    }
}

/// `addr` under a prefix of `mask_len` bits (`max-per-src N/MASK`).
fn masked(addr: IpAddr, mask_len: Option<u8>) -> IpAddr {
    match (addr, mask_len) {
        (IpAddr::V4(a), Some(len)) if len < 32 => IpAddr::V4(
            (u32::from(a) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)).into(),
        ),
        (IpAddr::V6(a), Some(len)) if len < 128 => IpAddr::V6(
            (u128::from(a) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)).into(),
        ),
        _ => addr,
    }
}

/// `ipf_state_match`: an entry for the same flow exists already. Its `bcmp` from
/// `is_pass` to `is_auth` also compares the options and their masks, which the first
/// packet seen the other way sets (`ipf_matchsrcdst`): an entry that has seen a reply
/// does not stop a new one for the same flow.
fn same_flow(a: &Entry, b: &Entry) -> bool {
    if a.pass != b.pass
        || a.v != b.v
        || a.p != b.p
        || a.icmp_type != b.icmp_type
        || a.opt != b.opt
        || a.optmsk != b.optmsk
        || a.sec != b.sec
        || a.auth != b.auth
    {
        return false;
    }
    let forward = a.src == b.src && a.dst == b.dst;
    let reverse = a.src == b.dst && a.dst == b.src;
    let strong = forward || (reverse && (a.p == 1 || a.p == 58));
    let ports_forward = a.sport == b.sport && a.dport == b.dport;
    let ports_reverse = a.sport == b.dport && a.dport == b.sport;
    if strong {
        ports_forward || (a.p != 6 && a.p != 17)
    } else if reverse {
        ports_reverse || (a.p != 6 && a.p != 17)
    } else {
        false
    }
}

/// `ipf_tcpoptions`: window scale, MSS and SACK permitted.
fn tcp_options(fin: &Fin, bytes: &[u8], td: &mut TcpData) {
    let off = i64::from(bytes.get(fin.dp + 12).copied().unwrap_or(0) >> 4) << 2;
    if fin.dlen < off {
        return;
    }
    let start = fin.dp + 20;
    let end = (fin.dp + off as usize).min(bytes.len());
    let opts = bytes.get(start..end).unwrap_or(&[]);
    let mut s = 0;
    while s < opts.len() {
        let opt = opts[s];
        let ol = match opt {
            0 => break,
            1 => 1,
            _ => {
                let Some(&ol) = opts.get(s + 1) else { break };
                let ol = usize::from(ol);
                if ol < 2 || ol > opts.len() - s {
                    break;
                }
                match (opt, ol) {
                    (3, 3) => {
                        td.winscale = opts[s + 2].min(14);
                        td.winflags |= WSCALE_SEEN | WSCALE_FIRST;
                    }
                    (4, 2) => td.winflags |= SACK_PERMIT,
                    _ => {}
                }
                ol
            }
        };
        s += ol;
    }
}

fn seq_ge(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) as i32 >= 0
}

fn seq_gt(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) as i32 > 0
}

/// `ipf_state_tcp`: the window check, then the connection state step.
fn tcp_step(entry: &mut Entry, fin: &mut Fin, bytes: &[u8], rev: bool) -> bool {
    let tcp = Tcp::read(fin, bytes);
    let mut source = !rev;
    if entry.flags & isf::TCPFSM != 0 && source && entry.sport != fin.sport {
        source = false;
    }
    let (f, t) = (usize::from(!source), usize::from(source));
    if tcp.flags & TH_OPENING == TH_SYN
        && entry.tcp_state[0] > tcps::ESTABLISHED
        && entry.tcp_state[1] > tcps::ESTABLISHED
    {
        entry.tcp_state[f] = tcps::CLOSED;
        entry.deleting = true;
        return false;
    }
    let ok = entry.flags & isf::LOOSE != 0 || in_window(entry, fin, &tcp, f, t);
    if !ok {
        return false;
    }
    if !tcp_age(entry, fin, &tcp, rev) {
        return false;
    }
    let flags = tcp.flags & !(TH_FIN | TH_ECN | TH_CWR);
    if flags == TH_SYN | TH_ACK {
        entry.s0[t] = tcp.ack;
        entry.s0[f] = tcp.seq.wrapping_add(1);
        if tcp.off > 20 {
            let mut td = entry.tcp[f];
            tcp_options(fin, bytes, &mut td);
            entry.tcp[f] = td;
        }
    } else if flags == TH_SYN {
        entry.s0[t] = tcp.seq.wrapping_add(1);
        if tcp.off > 20 {
            let mut td = entry.tcp[f];
            tcp_options(fin, bytes, &mut td);
            entry.tcp[f] = td;
        }
    }
    true
}

/// `ipf_state_tcpinwindow`.
fn in_window(entry: &mut Entry, fin: &mut Fin, tcp: &Tcp, f: usize, t: usize) -> bool {
    let flags = entry.flags;
    let (mut fdata, mut tdata) = (entry.tcp[f], entry.tcp[t]);
    let seq = tcp.seq;
    let mut ack = tcp.ack;
    let mut win = if tcp.flags & TH_SYN != 0 {
        tcp.win
    } else {
        tcp.win << fdata.winscale
    };
    if win == 0 {
        win = 1;
    }
    let dsize = tcp.dsize(fin);
    if tcp.flags & TH_SYN == 0 && fdata.winflags & WSCALE_FIRST != 0 {
        fdata.winflags &= !WSCALE_FIRST;
        fdata.maxwin = win;
    }
    let end = seq.wrapping_add(dsize);
    if fdata.end == 0 && (flags & isf::TCPFSM == 0 || tcp.flags & TH_OPENING == TH_OPENING) {
        fdata.end = end.wrapping_sub(1);
        fdata.maxwin = 1;
        fdata.maxend = end.wrapping_add(win);
    }
    if tcp.flags & TH_ACK == 0 || (tcp.flags & (TH_ACK | TH_RST) == TH_ACK | TH_RST && ack == 0) {
        ack = tdata.end;
    }
    let maxwin = tdata.maxwin;
    let ackskew = tdata.end.wrapping_sub(ack) as i32;
    if flags & isf::STRICT != 0 && seq != fdata.end {
        fin.flx |= flx::OOW;
        entry.tcp[f] = fdata;
        return false;
    }
    const MAXACKWINDOW: i64 = 66000;
    // In the window; or, with SACK, just right of it (Windows); or a RST with only
    // the ACK set; or, without the state machine and window scaling, some guesses.
    let inseq = (seq_ge(fdata.maxend, end)
        && seq_ge(seq, fdata.end.wrapping_sub(maxwin))
        && -i64::from(ackskew) <= MAXACKWINDOW
        && i64::from(ackskew) <= MAXACKWINDOW << fdata.winscale)
        || (seq == fdata.maxend
            && ackskew == 0
            && fdata.winflags & SACK_PERMIT != 0
            && tdata.winflags & SACK_PERMIT != 0)
        || (seq == 0 && tcp.flags == TH_RST | TH_ACK && (-1..=1).contains(&ackskew))
        || (flags & isf::TCPFSM == 0
            && fdata.winflags & (WSCALE_SEEN | WSCALE_FIRST) == 0
            && ((seq == fdata.maxend && ackskew == 0)
                || seq_ge(seq.wrapping_add(maxwin), fdata.end.wrapping_sub(maxwin))));
    if inseq {
        if ackskew < 0 {
            tdata.end = ack;
        }
        if fdata.maxwin < win {
            fdata.maxwin = win;
        }
        if seq_gt(end, fdata.end) {
            fdata.end = end;
        }
        if seq_ge(ack.wrapping_add(win), tdata.maxend) {
            tdata.maxend = ack.wrapping_add(win);
        }
    } else {
        fin.flx |= flx::OOW;
    }
    entry.tcp[f] = fdata;
    entry.tcp[t] = tdata;
    inseq
}

/// `ipf_tcp_age`: the connection state step for a packet going `rev`; false when its
/// flags are not a valid step.
fn tcp_age(entry: &mut Entry, fin: &Fin, tcp: &Tcp, rev: bool) -> bool {
    use tcps::*;
    let dir = usize::from(rev);
    let flags = tcp.flags;
    let dlen = fin.dlen - tcp.off;
    let ostate = entry.tcp_state[1 - dir];
    let mut nstate = entry.tcp_state[dir];
    let fsm = entry.flags & isf::TCPFSM != 0;
    let mut ok = false;
    if flags & TH_RST != 0 {
        nstate = if flags & TH_PUSH == 0 && dlen == 0 {
            CLOSED
        } else {
            CLOSE_WAIT
        };
        if ostate <= ESTABLISHED {
            entry.tcp_state[1 - dir] = CLOSE_WAIT;
        }
        ok = true;
    } else {
        match nstate {
            LISTEN => {
                if flags & TH_OPENING == TH_OPENING {
                    nstate = SYN_RECEIVED;
                    ok = true;
                } else if flags & TH_OPENING == TH_SYN {
                    nstate = SYN_SENT;
                    ok = true;
                }
                if !fsm && flags & TH_ACKMASK == TH_ACK {
                    match ostate {
                        LISTEN | SYN_RECEIVED => {
                            nstate = HALF_ESTAB;
                            ok = true;
                        }
                        HALF_ESTAB | ESTABLISHED => {
                            nstate = ESTABLISHED;
                            ok = true;
                        }
                        _ => {}
                    }
                }
            }
            SYN_SENT => {
                if flags & !(TH_ECN | TH_CWR) == TH_SYN {
                    ok = true;
                } else if flags & (TH_SYN | TH_FIN | TH_ACK) == TH_ACK {
                    nstate = ESTABLISHED;
                    ok = true;
                } else if flags & TH_FIN != 0 {
                    nstate = FIN_WAIT_1;
                    ok = true;
                } else if flags & TH_OPENING == TH_OPENING {
                    nstate = SYN_RECEIVED;
                    ok = true;
                }
            }
            SYN_RECEIVED => {
                if flags & (TH_SYN | TH_FIN | TH_ACK) == TH_ACK {
                    nstate = ESTABLISHED;
                    ok = true;
                } else if flags & !(TH_ECN | TH_CWR) == TH_OPENING {
                    ok = true;
                } else if flags & TH_FIN != 0 {
                    nstate = FIN_WAIT_1;
                    ok = true;
                }
            }
            HALF_ESTAB => {
                if flags & TH_FIN != 0 {
                    nstate = FIN_WAIT_1;
                    ok = true;
                } else if flags & TH_ACKMASK == TH_ACK {
                    match ostate {
                        LISTEN | SYN_SENT | SYN_RECEIVED => ok = true,
                        HALF_ESTAB | ESTABLISHED => {
                            nstate = ESTABLISHED;
                            ok = true;
                        }
                        _ => {}
                    }
                }
            }
            ESTABLISHED => {
                ok = true;
                if flags & TH_FIN != 0 {
                    nstate = if ostate == FIN_WAIT_1 {
                        CLOSING
                    } else {
                        FIN_WAIT_1
                    };
                } else if flags & TH_ACK != 0 {
                    if ostate == FIN_WAIT_1 {
                        nstate = CLOSE_WAIT;
                    } else if ostate < CLOSE_WAIT {
                        nstate = ESTABLISHED;
                    }
                }
            }
            CLOSE_WAIT => {
                ok = true;
                nstate = if flags & TH_FIN != 0 {
                    LAST_ACK
                } else {
                    CLOSE_WAIT
                };
            }
            FIN_WAIT_1 => {
                ok = true;
                if flags & TH_ACK != 0 && ostate > CLOSE_WAIT {
                    nstate = LAST_ACK;
                }
            }
            CLOSING => {
                if flags & (TH_FIN | TH_ACK) == TH_ACK {
                    nstate = TIME_WAIT;
                }
                ok = true;
            }
            LAST_ACK => ok = flags & TH_ACK != 0,
            TIME_WAIT => {
                if ostate == LAST_ACK {
                    nstate = CLOSED;
                }
                ok = true;
            }
            _ => ok = true,
        }
    }
    if ok {
        entry.tcp_state[dir] = nstate;
    }
    ok
}
