//! The kernel's netfilter trace events (`NFT_MSG_TRACE`) and conntrack events, read from a
//! `NETLINK_NETFILTER` socket and decoded by hand.
//!
//! Layers, each a typed view with `check_len` (after smoltcp): [`NlMsg`] (the 16-byte
//! netlink header), the 4-byte `nfgenmsg`, and [`Attrs`] (type-length-value attributes,
//! types masked with `0x3fff` to drop the nested/byte-order flags). After `check_len` no
//! getter panics; malformed input is a [`Malformed`] error, never a panic.
//!
//! Byte order: `NFTA_TRACE_ID` is in host order; every other integer is big-endian.
//!
//! The same reader serves the namespace oracle and the live `trace` feature on a real host:
//! [`TraceReader`] subscribes to `NFNLGRP_NFTRACE` (and optionally the conntrack groups),
//! reports overruns (`ENOBUFS`, the `Drops` column of `/proc/net/netlink`) as errors, and
//! [`Grouper`] groups events per packet by trace id and packet tag.

use model::kernel_walk::{
    CtEvent, CtEventKind, CtTuple, Headers, KernelVerdict, RuleName, StepKind, WalkEvent,
};
use model::Family;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

/// `NETLINK_NETFILTER`.
pub const NETLINK_NETFILTER: i32 = 12;
/// Multicast groups (`NFNLGRP_*`).
pub const NFNLGRP_CONNTRACK_NEW: u32 = 1;
pub const NFNLGRP_CONNTRACK_UPDATE: u32 = 2;
pub const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;
pub const NFNLGRP_NFTRACE: u32 = 9;
/// Subsystems (high byte of the message type).
pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
pub const NFNL_SUBSYS_NFTABLES: u8 = 10;
pub const NFT_MSG_TRACE: u8 = 17;

const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// `NFTA_TRACE_*` attribute types.
pub mod attr {
    pub const TABLE: u16 = 1;
    pub const CHAIN: u16 = 2;
    pub const RULE_HANDLE: u16 = 3;
    pub const TYPE: u16 = 4;
    pub const VERDICT: u16 = 5;
    pub const ID: u16 = 6;
    pub const LL_HEADER: u16 = 7;
    pub const NETWORK_HEADER: u16 = 8;
    pub const TRANSPORT_HEADER: u16 = 9;
    pub const IIF: u16 = 10;
    pub const IIFTYPE: u16 = 11;
    pub const OIF: u16 = 12;
    pub const OIFTYPE: u16 = 13;
    pub const MARK: u16 = 14;
    pub const NFPROTO: u16 = 15;
    pub const POLICY: u16 = 16;
    pub const CT_ID: u16 = 18;
    pub const CT_DIRECTION: u16 = 19;
    pub const CT_STATUS: u16 = 20;
    pub const CT_STATE: u16 = 21;
    /// Inside `VERDICT`.
    pub const VERDICT_CODE: u16 = 1;
    pub const VERDICT_CHAIN: u16 = 2;
}

/// A netlink message that does not have the shape its type promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Malformed {}

fn malformed(what: &str) -> Malformed {
    Malformed(what.to_string())
}

/// A view of one netlink message (header and payload).
#[derive(Debug, Clone)]
pub struct NlMsg<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NlMsg<T> {
    pub fn new_unchecked(buffer: T) -> NlMsg<T> {
        NlMsg { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<NlMsg<T>, Malformed> {
        let m = NlMsg::new_unchecked(buffer);
        m.check_len()?;
        Ok(m)
    }
    /// The header fits, and the length it announces is at least a header and fits too.
    pub fn check_len(&self) -> Result<(), Malformed> {
        let b = self.buffer.as_ref();
        if b.len() < NLMSG_HDRLEN {
            return Err(malformed("netlink header truncated"));
        }
        let len = self.total_len() as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(malformed("netlink message length out of bounds"));
        }
        Ok(())
    }
    pub fn total_len(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn msg_type(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_ne_bytes([b[4], b[5]])
    }
    pub fn flags(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_ne_bytes([b[6], b[7]])
    }
    pub fn seq(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_ne_bytes([b[8], b[9], b[10], b[11]])
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[NLMSG_HDRLEN..self.total_len() as usize]
    }
}

/// The messages of one datagram, each checked.
pub fn messages(buf: &[u8]) -> impl Iterator<Item = Result<NlMsg<&[u8]>, Malformed>> {
    let mut off = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || off + NLMSG_HDRLEN > buf.len() {
            return None;
        }
        match NlMsg::new_checked(&buf[off..]) {
            Ok(m) => {
                let len = m.total_len() as usize;
                off += len.div_ceil(4) * 4;
                Some(Ok(NlMsg::new_unchecked(
                    &buf[off - len.div_ceil(4) * 4..][..len],
                )))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// One attribute: its type (flags masked off) and payload.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn be_u32(&self) -> Result<u32, Malformed> {
        let d: [u8; 4] = self
            .data
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed("u32 attribute"))?;
        Ok(u32::from_be_bytes(d))
    }
    pub fn ne_u32(&self) -> Result<u32, Malformed> {
        let d: [u8; 4] = self
            .data
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed("u32 attribute"))?;
        Ok(u32::from_ne_bytes(d))
    }
    pub fn be_u64(&self) -> Result<u64, Malformed> {
        let d: [u8; 8] = self
            .data
            .get(..8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed("u64 attribute"))?;
        Ok(u64::from_be_bytes(d))
    }
    pub fn be_u16(&self) -> Result<u16, Malformed> {
        let d: [u8; 2] = self
            .data
            .get(..2)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed("u16 attribute"))?;
        Ok(u16::from_be_bytes(d))
    }
    pub fn u8(&self) -> Result<u8, Malformed> {
        self.data
            .first()
            .copied()
            .ok_or_else(|| malformed("u8 attribute"))
    }
    /// A NUL-terminated string.
    pub fn string(&self) -> String {
        let end = self
            .data
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.data.len());
        String::from_utf8_lossy(&self.data[..end]).into_owned()
    }
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.data)
    }
}

/// Iterator over the attributes in a buffer.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Attrs<'a> {
        Attrs { buf, failed: false }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Malformed>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([self.buf[0], self.buf[1]]) as usize;
        let kind = u16::from_ne_bytes([self.buf[2], self.buf[3]]) & 0x3fff;
        if len < 4 || len > self.buf.len() {
            self.failed = true;
            return Some(Err(malformed("attribute length out of bounds")));
        }
        let data = &self.buf[4..len];
        let advance = (len.div_ceil(4) * 4).min(self.buf.len());
        self.buf = &self.buf[advance..];
        Some(Ok(Attr { kind, data }))
    }
}

/// One `NFT_MSG_TRACE` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// The trace id: the same for every event of one packet's walk (a hash, so two packets
    /// may share it).
    pub id: u32,
    /// The table's family.
    pub family: Option<Family>,
    pub table: String,
    pub chain: String,
    pub handle: Option<u64>,
    pub kind: StepKind,
    pub verdict: Option<KernelVerdict>,
    /// `NFPROTO_IPV4` (2) / `NFPROTO_IPV6` (10) of the packet.
    pub nfproto: Option<u32>,
    pub policy: Option<u32>,
    pub iif: Option<u32>,
    pub oif: Option<u32>,
    pub mark: Option<u32>,
    pub ll_header: Option<Vec<u8>>,
    pub network_header: Option<Vec<u8>>,
    pub transport_header: Option<Vec<u8>>,
    /// `NF_CT_STATE_*_BIT` (1 invalid, 2 established, 4 related, 8 new, 64 untracked).
    pub ct_state: Option<u32>,
    pub ct_id: Option<u32>,
    pub ct_direction: Option<u8>,
    pub ct_status: Option<u32>,
}

impl TraceEvent {
    /// An event of trace id `id` in `table`/`chain` that carries nothing else (what
    /// [`TraceEvent::parse`] fills in, attribute by attribute).
    pub fn bare(
        id: u32,
        family: Option<Family>,
        table: &str,
        chain: &str,
        kind: StepKind,
    ) -> TraceEvent {
        TraceEvent {
            id,
            family,
            table: table.to_string(),
            chain: chain.to_string(),
            handle: None,
            kind,
            verdict: None,
            nfproto: None,
            policy: None,
            iif: None,
            oif: None,
            mark: None,
            ll_header: None,
            network_header: None,
            transport_header: None,
            ct_state: None,
            ct_id: None,
            ct_direction: None,
            ct_status: None,
        }
    }

    /// Decodes the payload of an `NFT_MSG_TRACE` message (after the netlink header).
    pub fn parse(payload: &[u8]) -> Result<TraceEvent, Malformed> {
        if payload.len() < NFGENMSG_LEN {
            return Err(malformed("nfgenmsg truncated"));
        }
        let mut ev = TraceEvent::bare(
            0,
            Family::from_nfproto(payload[0]),
            "",
            "",
            StepKind::Unknown(0),
        );
        let mut have_id = false;
        for a in Attrs::new(&payload[NFGENMSG_LEN..]) {
            let a = a?;
            match a.kind {
                attr::TABLE => ev.table = a.string(),
                attr::CHAIN => ev.chain = a.string(),
                attr::RULE_HANDLE => ev.handle = Some(a.be_u64()?),
                attr::TYPE => ev.kind = StepKind::from(a.be_u32()?),
                attr::VERDICT => {
                    let (mut code, mut chain) = (None, None);
                    for n in a.nested() {
                        let n = n?;
                        match n.kind {
                            attr::VERDICT_CODE => code = Some(n.be_u32()? as i32),
                            attr::VERDICT_CHAIN => chain = Some(n.string()),
                            _ => {}
                        }
                    }
                    let code = code.ok_or_else(|| malformed("verdict without code"))?;
                    ev.verdict = Some(KernelVerdict::decode(code, chain));
                }
                attr::ID => {
                    ev.id = a.ne_u32()?;
                    have_id = true;
                }
                attr::LL_HEADER => ev.ll_header = Some(a.data.to_vec()),
                attr::NETWORK_HEADER => ev.network_header = Some(a.data.to_vec()),
                attr::TRANSPORT_HEADER => ev.transport_header = Some(a.data.to_vec()),
                attr::IIF => ev.iif = Some(a.be_u32()?),
                attr::OIF => ev.oif = Some(a.be_u32()?),
                attr::MARK => ev.mark = Some(a.be_u32()?),
                attr::NFPROTO => ev.nfproto = Some(a.be_u32()?),
                attr::POLICY => ev.policy = Some(a.be_u32()?),
                attr::CT_ID => ev.ct_id = Some(a.be_u32()?),
                attr::CT_DIRECTION => ev.ct_direction = Some(a.u8()?),
                attr::CT_STATUS => ev.ct_status = Some(a.be_u32()?),
                attr::CT_STATE => ev.ct_state = Some(a.be_u32()?),
                _ => {}
            }
        }
        if !have_id {
            return Err(malformed("trace event without NFTA_TRACE_ID"));
        }
        Ok(ev)
    }

    /// The packet's headers, when this event carries them (the first event of a hook).
    pub fn headers(&self) -> Option<Headers> {
        crate::headers::parse(
            self.network_header.as_deref()?,
            self.transport_header.as_deref(),
        )
        .ok()
    }

    /// The event as the kernel walk models it (the headers decoded, raw bytes left out).
    pub fn to_walk_event(&self) -> WalkEvent {
        WalkEvent {
            id: Some(self.id),
            line: None,
            family: self.family,
            table: self.table.clone(),
            chain: self.chain.clone(),
            rule: RuleName {
                handle: self.handle,
                ..RuleName::default()
            },
            kind: self.kind,
            verdict: self.verdict.clone(),
            policy: self.policy,
            iif: self.iif,
            oif: self.oif,
            headers: self.headers(),
            packet: None,
            ct_state: self.ct_state,
            ct_id: self.ct_id,
        }
    }
}

/// `nft monitor trace`-like one-line rendering.
impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fam = self
            .family
            .map(|x| x.to_string())
            .unwrap_or_else(|| "?".into());
        write!(
            f,
            "trace id {:08x} {fam} {} {}",
            self.id, self.table, self.chain
        )?;
        match self.kind {
            StepKind::Rule => write!(f, " rule handle {}", self.handle.unwrap_or(0))?,
            StepKind::Policy => f.write_str(" policy")?,
            StepKind::Return => f.write_str(" return")?,
            StepKind::Unknown(t) => write!(f, " type {t}")?,
        }
        if let Some(v) = &self.verdict {
            write!(f, " (verdict {v})")?;
        }
        if let Some(h) = self.headers() {
            write!(f, " packet: {h} tag {}", h.tag)?;
        }
        Ok(())
    }
}

fn ct_tuple(a: Attr<'_>) -> Result<CtTuple, Malformed> {
    let (mut src, mut dst, mut proto, mut sport, mut dport) = (None, None, 0u8, 0u16, 0u16);
    let (mut icmp_type, mut icmp_code) = (0u8, 0u8);
    for n in a.nested() {
        let n = n?;
        match n.kind {
            1 => {
                for ip in n.nested() {
                    let ip = ip?;
                    let addr = match ip.data.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(ip.data).expect("4 bytes")),
                        16 => IpAddr::from(<[u8; 16]>::try_from(ip.data).expect("16 bytes")),
                        _ => return Err(malformed("conntrack address")),
                    };
                    match ip.kind {
                        1 | 3 => src = Some(addr),
                        2 | 4 => dst = Some(addr),
                        _ => {}
                    }
                }
            }
            2 => {
                for p in n.nested() {
                    let p = p?;
                    match p.kind {
                        1 => proto = p.u8()?,
                        2 => sport = p.be_u16()?,
                        3 => dport = p.be_u16()?,
                        4 | 7 => sport = p.be_u16()?,
                        5 | 8 => icmp_type = p.u8()?,
                        6 | 9 => icmp_code = p.u8()?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if proto == 1 || proto == 58 {
        dport = (icmp_type as u16) << 8 | icmp_code as u16;
    }
    Ok(CtTuple {
        src: src.ok_or_else(|| malformed("conntrack tuple without source"))?,
        dst: dst.ok_or_else(|| malformed("conntrack tuple without destination"))?,
        proto,
        sport,
        dport,
    })
}

/// Decodes a ctnetlink message payload; `msg` is the low byte of the type, `flags` the
/// netlink flags (`NLM_F_CREATE` marks a new entry).
pub fn parse_ct_event(msg: u8, flags: u16, payload: &[u8]) -> Result<CtEvent, Malformed> {
    if payload.len() < NFGENMSG_LEN {
        return Err(malformed("nfgenmsg truncated"));
    }
    let kind = match msg {
        0 if flags & 0x400 != 0 => CtEventKind::New,
        0 => CtEventKind::Update,
        2 => CtEventKind::Destroy,
        m => return Err(Malformed(format!("unexpected ctnetlink message {m}"))),
    };
    let mut ev = CtEvent {
        kind,
        orig: None,
        reply: None,
        status: None,
        id: None,
        mark: None,
    };
    for a in Attrs::new(&payload[NFGENMSG_LEN..]) {
        let a = a?;
        match a.kind {
            1 => ev.orig = Some(ct_tuple(a)?),
            2 => ev.reply = Some(ct_tuple(a)?),
            3 => ev.status = Some(a.be_u32()?),
            8 => ev.mark = Some(a.be_u32()?),
            12 => ev.id = Some(a.be_u32()?),
            _ => {}
        }
    }
    Ok(ev)
}

/// A decoded message of the netfilter netlink bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Trace(TraceEvent),
    Conntrack(CtEvent),
    /// Something else (type given), ignored.
    Other(u16),
}

/// Decodes one checked netlink message.
pub fn decode<T: AsRef<[u8]>>(m: &NlMsg<T>) -> Result<Message, Malformed> {
    let ty = m.msg_type();
    if ty == NLMSG_ERROR || ty == NLMSG_DONE {
        return Ok(Message::Other(ty));
    }
    let (subsys, msg) = ((ty >> 8) as u8, (ty & 0xff) as u8);
    match (subsys, msg) {
        (NFNL_SUBSYS_NFTABLES, NFT_MSG_TRACE) => TraceEvent::parse(m.payload()).map(Message::Trace),
        (NFNL_SUBSYS_CTNETLINK, 0 | 2) => {
            parse_ct_event(msg, m.flags(), m.payload()).map(Message::Conntrack)
        }
        _ => Ok(Message::Other(ty)),
    }
}

/// Groups trace events per injected packet.
///
/// Each event is attributed through its trace id: an event carrying headers sets the trace
/// id's packet (by tag, when `classify` recognises the headers as one of ours); events
/// without headers follow their trace id. Walks with headers that are not ours (a REJECT's
/// RST or ICMP error, kernel chatter) are kept apart, each noted with the tag of the packet
/// being processed when it appeared (what caused it, in the synchronous veth path).
#[derive(Debug, Default)]
pub struct Grouper {
    current: HashMap<u32, Option<u32>>,
    last_tag: Option<u32>,
    /// Events of our packets, by tag, in arrival order.
    pub by_tag: BTreeMap<u32, Vec<TraceEvent>>,
    /// Other walks: (trace id, tag active when it began, events).
    pub others: Vec<(u32, Option<u32>, Vec<TraceEvent>)>,
    /// Events whose trace id was never seen with headers.
    pub unattributed: Vec<TraceEvent>,
}

impl Grouper {
    pub fn new() -> Grouper {
        Grouper::default()
    }

    /// Adds one event. `classify` says whether headers belong to one of our packets (its tag).
    pub fn push(&mut self, ev: TraceEvent, classify: &dyn Fn(&Headers) -> Option<u32>) {
        if let Some(h) = ev.headers() {
            let tag = classify(&h);
            let known = self.current.get(&ev.id).copied().flatten();
            let tag = match (tag, known) {
                (Some(t), _) => Some(t),
                // Same walk, headers changed by NAT beyond recognition.
                (None, Some(k)) if h.tag == k => Some(k),
                _ => None,
            };
            let continuing = tag.is_none()
                && known.is_none()
                && self.current.contains_key(&ev.id)
                && self.others.last().is_some_and(|o| o.0 == ev.id);
            self.current.insert(ev.id, tag);
            match tag {
                Some(t) => self.last_tag = Some(t),
                // A new walk, unless it continues the latest one of this trace id.
                None if continuing => {}
                None => self.others.push((ev.id, self.last_tag, Vec::new())),
            }
        }
        match self.current.get(&ev.id) {
            Some(Some(t)) => self.by_tag.entry(*t).or_default().push(ev),
            Some(None) => match self.others.iter_mut().rev().find(|o| o.0 == ev.id) {
                Some(o) => o.2.push(ev),
                None => self.unattributed.push(ev),
            },
            None => self.unattributed.push(ev),
        }
    }
}

#[cfg(target_os = "linux")]
pub use reader::TraceReader;

#[cfg(target_os = "linux")]
mod reader {
    use super::*;
    use crate::error::LiveError;
    use crate::sys::NetlinkSocket;
    use std::time::{Duration, Instant};

    /// A subscription to the trace (and optionally conntrack) events of one network
    /// namespace. Lost events are errors: `ENOBUFS` on receive, or a non-zero `Drops`
    /// count for this socket in `/proc/net/netlink`.
    #[derive(Debug)]
    pub struct TraceReader {
        sock: NetlinkSocket,
        netns: Option<String>,
        inode: u64,
        buf: Vec<u8>,
    }

    /// Receive buffer asked for (the kernel doubles it): room for tens of thousands of events.
    const RCVBUF: usize = 32 << 20;

    impl TraceReader {
        fn open_socket(conntrack: bool, rcvbuf: usize) -> std::io::Result<NetlinkSocket> {
            let sock = NetlinkSocket::open(NETLINK_NETFILTER)?;
            sock.set_rcvbuf(rcvbuf)?;
            sock.add_membership(NFNLGRP_NFTRACE)?;
            if conntrack {
                for g in [
                    NFNLGRP_CONNTRACK_NEW,
                    NFNLGRP_CONNTRACK_UPDATE,
                    NFNLGRP_CONNTRACK_DESTROY,
                ] {
                    sock.add_membership(g)?;
                }
            }
            Ok(sock)
        }

        /// Subscribes inside the named namespace (`/run/netns/NAME`).
        pub fn open_in(netns: &str, conntrack: bool) -> Result<TraceReader, LiveError> {
            TraceReader::open_in_with_rcvbuf(netns, conntrack, RCVBUF)
        }

        /// Like [`TraceReader::open_in`] with a chosen receive buffer (small ones overflow:
        /// for testing loss detection).
        pub fn open_in_with_rcvbuf(
            netns: &str,
            conntrack: bool,
            rcvbuf: usize,
        ) -> Result<TraceReader, LiveError> {
            let sock =
                crate::sys::in_netns(netns, move || TraceReader::open_socket(conntrack, rcvbuf))
                    .map_err(|e| LiveError::io("opening the netfilter netlink socket", e))?;
            let inode = sock.inode().map_err(|e| LiveError::io("socket inode", e))?;
            Ok(TraceReader {
                sock,
                netns: Some(netns.to_string()),
                inode,
                buf: vec![0u8; 1 << 20],
            })
        }

        /// Subscribes in the caller's own namespace (the live `trace` feature). Subscribing
        /// changes nothing on the host; events flow only for packets with `nftrace` set.
        pub fn open_here(conntrack: bool) -> Result<TraceReader, LiveError> {
            let sock = TraceReader::open_socket(conntrack, RCVBUF)
                .map_err(|e| LiveError::io("opening the netfilter netlink socket", e))?;
            let inode = sock.inode().map_err(|e| LiveError::io("socket inode", e))?;
            Ok(TraceReader {
                sock,
                netns: None,
                inode,
                buf: vec![0u8; 1 << 20],
            })
        }

        /// Receives what arrives within `timeout` (one datagram at most): an empty vector when
        /// nothing came.
        pub fn recv(&mut self, timeout: Duration) -> Result<Vec<Message>, LiveError> {
            self.sock
                .set_recv_timeout(timeout.max(Duration::from_millis(1)))
                .map_err(|e| LiveError::io("SO_RCVTIMEO", e))?;
            let n = match self.sock.recv(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(LiveError::TraceLoss {
                        detail: "the netlink socket overflowed (ENOBUFS): events were dropped"
                            .into(),
                    })
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(Vec::new())
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(Vec::new()),
                Err(e) => return Err(LiveError::io("recv on netlink socket", e)),
            };
            let mut out = Vec::new();
            for m in messages(&self.buf[..n]) {
                let m = m.map_err(|e| LiveError::Malformed { what: e.0 })?;
                out.push(decode(&m).map_err(|e| LiveError::Malformed { what: e.0 })?);
            }
            Ok(out)
        }

        /// Reads until `done` says so for a message (that message included), or fails after
        /// `timeout`.
        pub fn read_until(
            &mut self,
            timeout: Duration,
            mut done: impl FnMut(&Message) -> bool,
        ) -> Result<Vec<Message>, LiveError> {
            let deadline = Instant::now() + timeout;
            let mut out = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(LiveError::Timeout {
                        what: "waiting for the sentinel's trace event".into(),
                        millis: timeout.as_millis() as u64,
                    });
                }
                let batch = self.recv(left.min(Duration::from_millis(200)))?;
                let mut finished = false;
                for m in batch {
                    finished |= done(&m);
                    out.push(m);
                }
                if finished {
                    return Ok(out);
                }
            }
        }

        /// Drains whatever is queued now (bounded by `max_wait` of silence).
        pub fn drain(&mut self, max_wait: Duration) -> Result<Vec<Message>, LiveError> {
            let mut out = Vec::new();
            for _ in 0..100_000 {
                let b = self.recv(max_wait)?;
                if b.is_empty() {
                    break;
                }
                out.extend(b);
            }
            Ok(out)
        }

        /// The `Drops` count of this socket in `/proc/net/netlink` (of its namespace).
        pub fn drops(&self) -> Result<u64, LiveError> {
            let text = match &self.netns {
                Some(ns) => crate::sys::in_netns(ns, || {
                    std::fs::read_to_string("/proc/thread-self/net/netlink")
                }),
                None => std::fs::read_to_string("/proc/self/net/netlink"),
            }
            .map_err(|e| LiveError::io("reading /proc/net/netlink", e))?;
            parse_netlink_drops(&text, self.inode).ok_or_else(|| LiveError::TraceLoss {
                detail: format!("socket inode {} not found in /proc/net/netlink", self.inode),
            })
        }

        /// Fails if the kernel counted dropped messages for this socket.
        pub fn check_no_loss(&self) -> Result<(), LiveError> {
            match self.drops()? {
                0 => Ok(()),
                n => Err(LiveError::TraceLoss {
                    detail: format!("{n} messages dropped (/proc/net/netlink)"),
                }),
            }
        }
    }
}

/// The `Drops` column of the row whose `Inode` is `inode`, in `/proc/net/netlink` text.
pub fn parse_netlink_drops(text: &str, inode: u64) -> Option<u64> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let drops_col = header.iter().position(|h| *h == "Drops")?;
    let inode_col = header.iter().position(|h| *h == "Inode")?;
    for l in lines {
        let cols: Vec<&str> = l.split_whitespace().collect();
        if cols.get(inode_col).and_then(|c| c.parse::<u64>().ok()) == Some(inode) {
            return cols.get(drops_col)?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::kernel::NfVerdict;

    fn nla(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(data);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn trace_msg(attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut payload = vec![2u8, 0, 0, 0];
        for a in attrs {
            payload.extend_from_slice(a);
        }
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(
            &(((NFNL_SUBSYS_NFTABLES as u16) << 8) | NFT_MSG_TRACE as u16).to_ne_bytes(),
        );
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&[0u8; 8]);
        m.extend_from_slice(&payload);
        m
    }

    #[test]
    fn decodes_a_rule_event_with_verdict() {
        let verdict = [nla(attr::VERDICT_CODE, &0u32.to_be_bytes())].concat();
        let msg = trace_msg(&[
            nla(attr::TABLE, b"filter\0"),
            nla(attr::CHAIN, b"INPUT\0"),
            nla(attr::RULE_HANDLE, &7u64.to_be_bytes()),
            nla(attr::TYPE, &3u32.to_be_bytes()),
            nla(attr::VERDICT | 0x8000, &verdict),
            nla(attr::ID, &0xdeadbeefu32.to_ne_bytes()),
            nla(attr::CT_STATE, &8u32.to_be_bytes()),
        ]);
        let mut it = messages(&msg);
        let m = it.next().unwrap().unwrap();
        assert!(it.next().is_none());
        let Message::Trace(ev) = decode(&m).unwrap() else {
            panic!("not a trace")
        };
        assert_eq!(ev.family, Some(Family::Ip));
        assert_eq!(
            (ev.table.as_str(), ev.chain.as_str(), ev.handle),
            ("filter", "INPUT", Some(7))
        );
        assert_eq!(ev.kind, StepKind::Rule);
        assert_eq!(ev.verdict, Some(KernelVerdict::of(NfVerdict::Drop)));
        assert_eq!(ev.id, 0xdeadbeef);
        assert_eq!(ev.ct_state, Some(8));
    }

    #[test]
    fn truncated_message_is_an_error_not_a_panic() {
        let msg = trace_msg(&[nla(attr::ID, &1u32.to_ne_bytes())]);
        for cut in 0..msg.len() {
            let _ = messages(&msg[..cut])
                .map(|m| m.and_then(|m| decode(&m)))
                .collect::<Vec<_>>();
        }
        let mut bad = msg.clone();
        bad[16 + 4] = 0xff; // attribute length beyond the buffer
        assert!(matches!(
            decode(&NlMsg::new_checked(&bad[..]).unwrap()),
            Err(Malformed(_))
        ));
    }

    #[test]
    fn event_without_id_is_malformed() {
        let msg = trace_msg(&[nla(attr::TABLE, b"t\0")]);
        assert!(decode(&NlMsg::new_checked(&msg[..]).unwrap()).is_err());
    }

    #[test]
    fn netlink_drops_column() {
        let text = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
                    0000000000000000 12  12345      00000100 0        0        0     2        17       998877\n";
        assert_eq!(parse_netlink_drops(text, 998877), Some(17));
        assert_eq!(parse_netlink_drops(text, 1), None);
    }
}
