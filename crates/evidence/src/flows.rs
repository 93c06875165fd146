//! Captured datagrams reassembled into flows, in bounded memory.
//!
//! A flow is one TCP connection, one UDP exchange, or one ICMP echo conversation (keyed by
//! its identifier), found in either direction. The side that sent the first packet is the
//! client, unless that packet was an answer (a SYN/ACK, or a packet from a well-known port
//! to an ephemeral one). ICMP errors are not flows of their own: the header they quote
//! names the flow they answer, which is created from the quote when the original packet is
//! not in the capture.
//!
//! Memory is bounded by [`FlowTable::new`]'s `max_flows`: when the table is full, the
//! quarter of flows idle the longest is handed back for classification and forgotten.
//! Per-address TTL memory (to tell a firewall's RST from the server's) is bounded too.
//!
//! An evicted flow's key is remembered (as a 64-bit fingerprint, up to a bound), so that
//! its later packets are known as the same flow seen again mid-stream: counted once, never
//! taken for a new flow that went fine. Past the bound the count of flows is an upper
//! bound, and [`TableStats::evictions_not_remembered`] says by how many it may be off.

use crate::pmtu::{Segment, SegmentWatch, TooBig};
use crate::tls::{looks_like_tls, Side, TlsTracker};
use crate::wire::{Datagram, Direction, Quoted, Transport};
use model::packet::{Fragment, TcpFlags};
use model::{Packet, L4};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;

/// An address and port (the echo identifier for ICMP echo, 0 for the responder).
pub type Endpoint = (IpAddr, u16);

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

/// How many flows may hold a TLS tracker at once (each holds up to ~100 KiB of buffers).
pub const MAX_TLS_FLOWS: usize = 1024;
/// How long after its last SYN an unanswered connection is taken as given up when it is
/// evicted (Linux retransmits a SYN after 1 s, then 2 s later): evicted sooner, its
/// answer may still come, and its fate is unknown.
pub const SYN_GIVEN_UP_NS: u64 = 3_000_000_000;
/// How many addresses' TTLs are remembered.
const MAX_TTL_ADDRS: usize = 65_536;

/// The first sighting of an RST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstSeen {
    pub frame: u64,
    pub ts: u64,
    pub ttl: u8,
    /// The RST carried data (some stacks put a reason in it).
    pub with_data: bool,
}

/// An ICMP error that answered this flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpErrorSeen {
    pub frame: u64,
    pub ts: u64,
    /// Who sent the error.
    pub from: IpAddr,
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// The error's own TTL as captured.
    pub ttl: u8,
    /// The quoted datagram (None: the error quoted nothing usable).
    pub quoted: Option<Quoted>,
    /// The next link's MTU a too-big error announces.
    pub mtu: Option<u32>,
    /// How many errors of this kind answered the flow.
    pub count: u32,
}

/// A SYN/ACK from an endpoint the client never sent its SYN to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrayAnswer {
    pub from: Endpoint,
    pub frame: u64,
    pub ttl: u8,
    pub count: u32,
    /// RSTs the client sent back to that endpoint.
    pub client_rsts: u32,
}

/// Everything remembered about one flow.
#[derive(Debug)]
pub struct Flow {
    /// Sequential number of the flow in the capture (1-based).
    pub id: u64,
    pub protocol: u8,
    pub client: Endpoint,
    pub server: Endpoint,
    /// The first packet as the simulation needs it (with the capture's interface unset).
    pub first: Packet,
    pub first_frame: u64,
    pub first_ts: u64,
    pub last_ts: u64,
    /// Interface index of the first packet (pcapng), and its direction if the link said.
    pub interface: usize,
    pub direction: Option<Direction>,
    /// Packets per side: client, server.
    pub packets: [u32; 2],
    /// Transport payload bytes per side.
    pub payload: [u64; 2],
    /// The flow was created from an ICMP error's quote: its packets are not in the capture.
    pub from_quote: bool,
    /// The flow was evicted before and is seen again mid-stream: what came before is not
    /// in this record, so it cannot be called fine.
    pub resumed: bool,
    /// The flow was evicted while its TCP connection was still open (and not a SYN given up
    /// on): its fate is unknown.
    pub evicted_open: bool,
    // TCP.
    pub syns: u32,
    pub last_syn_ts: u64,
    pub synacks: u32,
    pub rst: [Option<RstSeen>; 2],
    pub fin: [bool; 2],
    /// TTL of the server's packets other than RSTs and errors, as captured.
    pub server_ttl: Option<u8>,
    pub stray: Option<StrayAnswer>,
    /// This flow is a stray SYN/ACK that answers the flow with this key.
    pub answers: Option<FlowKey>,
    // ICMP.
    pub icmp_error: Option<IcmpErrorSeen>,
    pub echo_requests: u32,
    pub echo_replies: u32,
    pub tls: Option<Box<TlsTracker>>,
    /// TCP: the segments followed for the path-MTU black hole signature.
    pub segments: Option<Box<SegmentWatch>>,
}

impl Flow {
    fn side_of(&self, src: Endpoint) -> Side {
        if src == self.client {
            Side::Client
        } else {
            Side::Server
        }
    }
    pub fn is_tcp(&self) -> bool {
        self.protocol == TCP
    }
    /// Only SYNs, the last one [`SYN_GIVEN_UP_NS`] or more before `now`: the client's
    /// first retransmission would have come by then, so the answer is not just late.
    fn syn_given_up(&self, now: u64) -> bool {
        self.syns > 0
            && self.synacks == 0
            && self.packets[1] == 0
            && now.saturating_sub(self.last_syn_ts) >= SYN_GIVEN_UP_NS
    }
    /// A TCP connection that was reset or closed both ways (other flows have no end).
    fn tcp_ended(&self) -> bool {
        self.rst.iter().any(Option::is_some) || self.fin == [true, true]
    }
}

/// What a TCP packet changes in the table besides its flow, applied once the flow is
/// released.
#[derive(Default)]
struct TcpEffects {
    /// The TTL of the server's ordinary packet, remembered for its address.
    server_ttl: Option<u8>,
    /// The client reset a stray SYN/ACK: counted on the flow that answer belongs to.
    stray_rst: Option<FlowKey>,
    /// `Some(true)`: the client sent a SYN and waits; `Some(false)`: the server answered.
    waiting: Option<bool>,
    tls: TlsFollow,
}

/// Whether a flow's TLS began to be followed with this packet.
#[derive(Default)]
enum TlsFollow {
    #[default]
    Unchanged,
    Started,
    /// It looks like TLS, but [`MAX_TLS_FLOWS`] are already followed.
    Refused,
}

impl Flow {
    /// A client packet: its SYNs are counted (the client now waits, unless already
    /// answered); its RST to a stray SYN/ACK is counted on the flow that stray answers.
    fn tcp_from_client(&mut self, flags: u8, ts: u64) -> TcpEffects {
        let mut e = TcpEffects::default();
        if flags & SYN != 0 && flags & ACK == 0 {
            self.syns += 1;
            self.last_syn_ts = ts;
            if self.synacks == 0 && self.rst[1].is_none() {
                e.waiting = Some(true);
            }
        }
        if flags & RST != 0 {
            e.stray_rst = self.answers;
        }
        e
    }

    /// A server packet: SYN/ACKs are counted, the TTL of other than RSTs kept; a SYN or an
    /// RST means the client waits no more.
    fn tcp_from_server(&mut self, flags: u8, ttl: u8) -> TcpEffects {
        let mut e = TcpEffects::default();
        if flags & (SYN | ACK) == SYN | ACK {
            self.synacks += 1;
        }
        if flags & RST == 0 {
            self.server_ttl = Some(ttl);
            e.server_ttl = Some(ttl);
        }
        if flags & (SYN | RST) != 0 {
            e.waiting = Some(false);
        }
        e
    }

    /// The first RST of each side, and whether each side sent a FIN.
    fn tcp_rst_fin(
        &mut self,
        side: Side,
        flags: u8,
        with_data: bool,
        frame: u64,
        ts: u64,
        ttl: u8,
    ) {
        let i = side_index(side);
        if flags & RST != 0 && self.rst[i].is_none() {
            self.rst[i] = Some(RstSeen {
                frame,
                ts,
                ttl,
                with_data,
            });
        }
        if flags & FIN != 0 {
            self.fin[i] = true;
        }
    }

    /// TLS: followed from the client's first payload when it looks like a handshake.
    fn follow_tls(
        &mut self,
        side: Side,
        seq: u32,
        payload: &[u8],
        frame: u64,
        room: bool,
    ) -> TlsFollow {
        if payload.is_empty() {
            return TlsFollow::Unchanged;
        }
        let mut follow = TlsFollow::Unchanged;
        if self.tls.is_none()
            && side == Side::Client
            && self.payload[0] == payload.len() as u64
            && looks_like_tls(payload)
        {
            if room {
                self.tls = Some(Box::default());
                follow = TlsFollow::Started;
            } else {
                follow = TlsFollow::Refused;
            }
        }
        if let Some(t) = self.tls.as_mut() {
            t.segment(side, seq, payload, frame);
        }
        follow
    }
}

/// A flow's key, the same in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    protocol: u8,
    low: Endpoint,
    high: Endpoint,
}

impl FlowKey {
    pub fn new(protocol: u8, a: Endpoint, b: Endpoint) -> FlowKey {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            protocol,
            low,
            high,
        }
    }
}

/// FNV-1a: keys are small and not attacker-chosen in a way that matters offline; SipHash
/// would cost a third of the time per packet.
#[derive(Default)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

/// Counts of what the table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub flows: u64,
    /// Flows forgotten early because the table was full.
    pub evicted: u64,
    /// ICMP errors whose quote named no flow and could not make one.
    pub unmatched_errors: u64,
    /// IP datagrams whose transport header was missing (later fragments, cut headers).
    pub no_transport: u64,
    /// TLS flows not followed because [`MAX_TLS_FLOWS`] were already followed.
    pub tls_not_followed: u64,
    /// Distinct flows seen again after they were evicted (each counted once).
    pub resumed: u64,
    /// Evictions whose key could not be remembered (the memory of evicted keys was
    /// full): [`TableStats::flows`] may count each of them twice.
    pub evictions_not_remembered: u64,
}

/// How many evicted flows' keys are remembered by default (8 bytes each, plus the map).
pub const MAX_EVICTED_REMEMBERED: usize = 1 << 22;

/// What is remembered of an evicted flow's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evicted {
    /// Not seen since.
    Gone,
    /// Seen again, and counted in [`TableStats::resumed`].
    CameBack,
}

/// The flow table.
pub struct FlowTable {
    map: FnvMap<FlowKey, Flow>,
    /// Client endpoints of TCP flows that sent a SYN and got nothing back yet.
    syn_sent: FnvMap<Endpoint, FlowKey>,
    ttl_by_addr: FnvMap<IpAddr, u8>,
    max_flows: usize,
    /// Fingerprints of evicted flows' keys, at most `max_evicted_remembered`.
    evicted_keys: FnvMap<u64, Evicted>,
    max_evicted_remembered: usize,
    tls_flows: usize,
    next_id: u64,
    pub stats: TableStats,
}

impl FlowTable {
    /// A table holding at most `max_flows` flows (at least 16).
    pub fn new(max_flows: usize) -> FlowTable {
        FlowTable::bounded(max_flows, MAX_EVICTED_REMEMBERED)
    }

    /// A table holding at most `max_flows` flows (at least 16) and remembering at most
    /// `max_evicted_remembered` evicted flows' keys.
    pub fn bounded(max_flows: usize, max_evicted_remembered: usize) -> FlowTable {
        FlowTable {
            map: FnvMap::default(),
            syn_sent: FnvMap::default(),
            ttl_by_addr: FnvMap::default(),
            max_flows: max_flows.max(16),
            evicted_keys: FnvMap::default(),
            max_evicted_remembered,
            tls_flows: 0,
            next_id: 0,
            stats: TableStats::default(),
        }
    }

    /// The TTL last seen on ordinary packets from `addr` (not RSTs or ICMP errors).
    pub fn ttl_of(&self, addr: IpAddr) -> Option<u8> {
        self.ttl_by_addr.get(&addr).copied()
    }

    /// Takes one datagram; flows pushed out by a full table go to `evicted`.
    pub fn add(
        &mut self,
        d: &Datagram<'_>,
        frame: u64,
        ts: u64,
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) {
        match &d.transport {
            Transport::Tcp {
                sport,
                dport,
                flags,
                seq,
                ack,
                payload,
                wire_len,
                mss,
            } => {
                let segment = Segment {
                    flags: *flags,
                    seq: *seq,
                    ack: *ack,
                    len: *wire_len,
                    ip_len: d.ip_len,
                    dont_fragment: d.dont_fragment || d.dst.is_ipv6(),
                    mss: *mss,
                    frame,
                    ts,
                };
                self.tcp(d, (*sport, *dport), &segment, payload, interface, evicted)
            }
            Transport::Udp {
                sport,
                dport,
                payload,
            } => {
                let (src, dst) = ((d.src, *sport), (d.dst, *dport));
                let l4 = L4::Udp {
                    sport: *sport,
                    dport: *dport,
                };
                let flow = self.flow(UDP, src, dst, false, d, l4, frame, ts, interface, evicted);
                let side = flow.side_of(src);
                count(flow, side, payload.len(), ts);
                if side == Side::Server {
                    self.remember_ttl(d.src, d.ttl);
                }
            }
            Transport::Icmp {
                v6,
                icmp_type,
                code,
                ident,
                quoted,
                mtu,
                ..
            } => self.icmp(
                d,
                (*v6, *icmp_type, *code),
                *ident,
                (quoted, *mtu),
                frame,
                ts,
                interface,
                evicted,
            ),
            Transport::Missing { .. } => self.stats.no_transport += 1,
            Transport::Other { .. } => {}
        }
    }

    fn tcp(
        &mut self,
        d: &Datagram<'_>,
        (sport, dport): (u16, u16),
        segment: &Segment,
        payload: &[u8],
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) {
        let Segment {
            flags,
            seq,
            frame,
            ts,
            ..
        } = *segment;
        let src = (d.src, sport);
        let dst = (d.dst, dport);
        let key = FlowKey::new(TCP, src, dst);
        let is_synack = flags & (SYN | ACK) == SYN | ACK;
        let l4 = L4::Tcp {
            sport,
            dport,
            flags: TcpFlags(flags),
        };
        if is_synack {
            self.count_repeated_stray(&key);
            // A SYN/ACK opening a flow, to a client waiting on another server: broken
            // reverse NAT.
            if !self.map.contains_key(&key) {
                if let Some(orig) = self.syn_sent.get(&dst).copied() {
                    self.stray_synack(
                        d,
                        (src, dst),
                        orig,
                        l4,
                        payload,
                        frame,
                        ts,
                        interface,
                        evicted,
                    );
                    return;
                }
            }
        }
        let answer = is_synack || (flags & SYN == 0 && dport > sport && sport < 1024);
        let tls_room = self.tls_flows < MAX_TLS_FLOWS;
        let flow = self.flow(TCP, src, dst, answer, d, l4, frame, ts, interface, evicted);
        let side = flow.side_of(src);
        count(flow, side, payload.len(), ts);
        let mut effects = match side {
            Side::Client => flow.tcp_from_client(flags, ts),
            Side::Server => flow.tcp_from_server(flags, d.ttl),
        };
        flow.tcp_rst_fin(side, flags, !payload.is_empty(), frame, ts, d.ttl);
        effects.tls = flow.follow_tls(side, seq, payload, frame, tls_room);
        if let Some(w) = flow.segments.as_mut() {
            w.seen_on(interface);
            // Each segment once: a capture of several interfaces may hold it on each.
            if interface == flow.interface {
                w.segment(side, segment);
            }
        }
        let client = flow.client;
        self.apply_tcp_effects(effects, key, client, d.src);
    }

    /// A repeated stray SYN/ACK counts on the flow it answers.
    fn count_repeated_stray(&mut self, key: &FlowKey) {
        if let Some(orig) = self.map.get(key).and_then(|f| f.answers) {
            if let Some(s) = self.map.get_mut(&orig).and_then(|o| o.stray.as_mut()) {
                s.count += 1;
            }
        }
    }

    /// A SYN/ACK from `src` to a client whose SYN went to another server (the flow `orig`):
    /// noted on `orig`, and a flow of its own that answers it.
    #[allow(clippy::too_many_arguments)]
    fn stray_synack(
        &mut self,
        d: &Datagram<'_>,
        (src, dst): (Endpoint, Endpoint),
        orig: FlowKey,
        l4: L4,
        payload: &[u8],
        frame: u64,
        ts: u64,
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) {
        if let Some(o) = self.map.get_mut(&orig) {
            let s = o.stray.get_or_insert(StrayAnswer {
                from: src,
                frame,
                ttl: d.ttl,
                count: 0,
                client_rsts: 0,
            });
            s.count += 1;
            o.last_ts = ts;
        }
        let f = self.flow(TCP, src, dst, true, d, l4, frame, ts, interface, evicted);
        f.answers = Some(orig);
        f.synacks += 1;
        count(f, Side::Server, payload.len(), ts);
    }

    /// What a TCP packet changed outside its flow (`key`, whose client is `client`), sent
    /// from `src`.
    fn apply_tcp_effects(&mut self, e: TcpEffects, key: FlowKey, client: Endpoint, src: IpAddr) {
        match e.tls {
            TlsFollow::Unchanged => {}
            TlsFollow::Started => self.tls_flows += 1,
            TlsFollow::Refused => self.stats.tls_not_followed += 1,
        }
        match e.waiting {
            Some(true) => {
                self.syn_sent.insert(client, key);
            }
            Some(false) => {
                self.syn_sent.remove(&client);
            }
            None => {}
        }
        if let Some(orig) = e.stray_rst {
            if let Some(s) = self.map.get_mut(&orig).and_then(|o| o.stray.as_mut()) {
                s.client_rsts += 1;
            }
        }
        if let Some(ttl) = e.server_ttl {
            self.remember_ttl(src, ttl);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn icmp(
        &mut self,
        d: &Datagram<'_>,
        (v6, icmp_type, code): (bool, u8, u8),
        ident: u16,
        (quoted, mtu): (&Option<Quoted>, Option<u32>),
        frame: u64,
        ts: u64,
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) {
        use wire::icmp::{is_error, types};
        let (request, reply) = echo_types(v6);
        if icmp_type == request || icmp_type == reply {
            let l4 = icmp_l4(v6, icmp_type, code, ident);
            self.echo(
                d,
                v6,
                icmp_type == reply,
                ident,
                l4,
                frame,
                ts,
                interface,
                evicted,
            );
            return;
        }
        if !is_error(v6, icmp_type) || icmp_type == types::V4_REDIRECT && !v6 {
            // Neighbour discovery, router advertisements, MLD, redirects: not failures.
            return;
        }
        let seen = IcmpErrorSeen {
            frame,
            ts,
            from: d.src,
            v6,
            icmp_type,
            code,
            ttl: d.ttl,
            quoted: *quoted,
            mtu,
            count: 1,
        };
        let (protocol, client, server, first) = answered_flow(d, v6, icmp_type, code, quoted);
        let key = FlowKey::new(protocol, client, server);
        if !self.error_on_known_flow(&key, seen, interface) {
            // The original is not in the capture: a flow made from the quote.
            let ends = (client, server);
            self.flow_from_quote(key, protocol, ends, first, seen, d, interface, evicted);
        }
    }

    /// Notes an ICMP error on the flow `key` if it is held (a TCP client waits no more; a
    /// too-big error goes to its segment watch too); false if it is not.
    fn error_on_known_flow(
        &mut self,
        key: &FlowKey,
        seen: IcmpErrorSeen,
        interface: usize,
    ) -> bool {
        let Some(f) = self.map.get_mut(key) else {
            return false;
        };
        f.last_ts = seen.ts;
        note_error(f, seen);
        if let (Some(mtu), Some(w)) = (seen.mtu, f.segments.as_mut()) {
            let error = TooBig {
                frame: seen.frame,
                ts: seen.ts,
                from: seen.from,
                v6: seen.v6,
                mtu,
                count: 1,
            };
            w.too_big(error, interface);
        }
        if f.is_tcp() {
            let client = f.client;
            self.syn_sent.remove(&client);
        }
        true
    }

    /// A flow known only from the datagram an ICMP error (`d`) quotes; none when the table
    /// stays full.
    #[allow(clippy::too_many_arguments)]
    fn flow_from_quote(
        &mut self,
        key: FlowKey,
        protocol: u8,
        (client, server): (Endpoint, Endpoint),
        first: Packet,
        seen: IcmpErrorSeen,
        d: &Datagram<'_>,
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) {
        if self.map.len() >= self.max_flows {
            self.evict(seen.ts, evicted);
        }
        if self.map.len() >= self.max_flows {
            self.stats.unmatched_errors += 1;
            return;
        }
        self.next_id += 1;
        let resumed = self.count_new(&key);
        let mut f = new_flow(
            self.next_id,
            protocol,
            client,
            server,
            first,
            seen.frame,
            seen.ts,
            interface,
            d.direction,
        );
        f.from_quote = true;
        f.resumed = resumed;
        f.packets = [0, 0];
        f.icmp_error = Some(seen);
        self.map.insert(key, f);
    }

    /// An echo request or reply, on the flow of its identifier; the replier's TTL is
    /// remembered.
    #[allow(clippy::too_many_arguments)]
    fn echo(
        &mut self,
        d: &Datagram<'_>,
        v6: bool,
        is_reply: bool,
        ident: u16,
        l4: L4,
        frame: u64,
        ts: u64,
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) {
        let protocol = if v6 { ICMPV6 } else { ICMP };
        let (src, dst) = if is_reply {
            ((d.src, 0), (d.dst, ident))
        } else {
            ((d.src, ident), (d.dst, 0))
        };
        let flow = self.flow(
            protocol, src, dst, is_reply, d, l4, frame, ts, interface, evicted,
        );
        let side = flow.side_of(src);
        count(flow, side, 0, ts);
        if is_reply {
            flow.echo_replies += 1;
            self.remember_ttl(d.src, d.ttl);
        } else {
            flow.echo_requests += 1;
        }
    }

    /// The flow of this packet, created if new. `answer`: the packet is a reply, so its
    /// destination is the client.
    #[allow(clippy::too_many_arguments)]
    fn flow(
        &mut self,
        protocol: u8,
        src: Endpoint,
        dst: Endpoint,
        answer: bool,
        d: &Datagram<'_>,
        l4: L4,
        frame: u64,
        ts: u64,
        interface: usize,
        evicted: &mut dyn FnMut(Flow, &FlowTable),
    ) -> &mut Flow {
        let key = FlowKey::new(protocol, src, dst);
        if !self.map.contains_key(&key) && self.map.len() >= self.max_flows {
            self.evict(ts, evicted);
        }
        if !self.map.contains_key(&key) {
            let resumed = self.count_new(&key);
            self.next_id += 1;
            let (client, server) = if answer { (dst, src) } else { (src, dst) };
            let mut first = Packet::new(d.src, d.dst, l4);
            first.ttl = d.ttl;
            first.tos = d.tos;
            first.len = d.ip_len;
            first.id = d.ident;
            first.dont_fragment = d.dont_fragment;
            first.fragment = Fragment::None;
            let mut f = new_flow(
                self.next_id,
                protocol,
                client,
                server,
                first,
                frame,
                ts,
                interface,
                d.direction,
            );
            f.resumed = resumed;
            self.map.insert(key, f);
        }
        self.map.get_mut(&key).expect("held or just inserted")
    }

    /// Counts a flow about to be created for `key`: a new one, or one seen again after its
    /// eviction (counted once in [`TableStats::resumed`]). True for the latter.
    fn count_new(&mut self, key: &FlowKey) -> bool {
        match self.evicted_keys.get_mut(&fingerprint(key)) {
            Some(seen) => {
                if *seen == Evicted::Gone {
                    *seen = Evicted::CameBack;
                    self.stats.resumed += 1;
                }
                true
            }
            None => {
                self.stats.flows += 1;
                false
            }
        }
    }

    /// Remembers an evicted flow's key, while there is room.
    fn remember_evicted(&mut self, key: &FlowKey) {
        let fp = fingerprint(key);
        if self.evicted_keys.contains_key(&fp) {
            return;
        }
        if self.evicted_keys.len() < self.max_evicted_remembered {
            self.evicted_keys.insert(fp, Evicted::Gone);
        } else {
            self.stats.evictions_not_remembered += 1;
        }
    }

    fn remember_ttl(&mut self, addr: IpAddr, ttl: u8) {
        if self.ttl_by_addr.len() < MAX_TTL_ADDRS || self.ttl_by_addr.contains_key(&addr) {
            self.ttl_by_addr.insert(addr, ttl);
        }
    }

    /// Hands the quarter of flows idle the longest at `now` to `evicted`.
    fn evict(&mut self, now: u64, evicted: &mut dyn FnMut(Flow, &FlowTable)) {
        let mut ages: Vec<u64> = self.map.values().map(|f| f.last_ts).collect();
        if ages.is_empty() {
            return;
        }
        let n = (ages.len() / 4).max(1);
        let (_, cut, _) = ages.select_nth_unstable(n - 1);
        let cut = *cut;
        let keys: Vec<FlowKey> = self
            .map
            .iter()
            .filter(|(_, f)| f.last_ts <= cut)
            .map(|(k, _)| *k)
            .take(n.max(1))
            .collect();
        for k in keys {
            if let Some(mut f) = self.map.remove(&k) {
                self.forget(&f);
                self.remember_evicted(&k);
                self.stats.evicted += 1;
                f.evicted_open = f.is_tcp() && !f.tcp_ended() && !f.syn_given_up(now);
                evicted(f, self);
            }
        }
    }

    fn forget(&mut self, f: &Flow) {
        if self
            .syn_sent
            .get(&f.client)
            .is_some_and(|k| *k == FlowKey::new(f.protocol, f.client, f.server))
        {
            self.syn_sent.remove(&f.client);
        }
        if f.tls.is_some() {
            self.tls_flows = self.tls_flows.saturating_sub(1);
        }
    }

    /// Every flow still held, in the order they began; the table is left empty.
    pub fn drain(&mut self) -> Vec<Flow> {
        let mut flows: Vec<Flow> = self.map.drain().map(|(_, f)| f).collect();
        self.syn_sent.clear();
        self.tls_flows = 0;
        flows.sort_by_key(|f| f.id);
        flows
    }

    /// The flow with this key, if held (to look up what a stray answer answers).
    pub fn get(&self, key: &FlowKey) -> Option<&Flow> {
        self.map.get(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A flow key's 64-bit fingerprint (collisions among a few million keys are negligible).
fn fingerprint(key: &FlowKey) -> u64 {
    let mut h = FnvHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// The echo request and reply types of ICMP (`v6`: ICMPv6).
fn echo_types(v6: bool) -> (u8, u8) {
    use wire::icmp::types;
    if v6 {
        (types::V6_ECHO_REQUEST, types::V6_ECHO_REPLY)
    } else {
        (types::V4_ECHO_REQUEST, types::V4_ECHO_REPLY)
    }
}

fn icmp_l4(v6: bool, icmp_type: u8, code: u8, id: u16) -> L4 {
    if v6 {
        L4::Icmpv6 {
            icmp_type,
            code,
            id,
        }
    } else {
        L4::Icmp {
            icmp_type,
            code,
            id,
        }
    }
}

/// The flow an ICMP error answers, as protocol, client, server and its first packet (for
/// a flow that is not in the capture): the quoted datagram, or (no quote) one of the
/// error's own, from the host it was sent to.
fn answered_flow(
    d: &Datagram<'_>,
    v6: bool,
    icmp_type: u8,
    code: u8,
    quoted: &Option<Quoted>,
) -> (u8, Endpoint, Endpoint, Packet) {
    let Some(q) = quoted else {
        let protocol = if v6 { ICMPV6 } else { ICMP };
        let (client, server) = ((d.dst, 0), (d.src, 0));
        let first = Packet::new(client.0, server.0, icmp_l4(v6, icmp_type, code, 0));
        return (protocol, client, server, first);
    };
    let other = |p: u8| L4::Other(model::packet::IpProto::from_number(p));
    let (client, server, first_l4) = match (q.protocol, q.ports, q.echo_ident) {
        (TCP, Some((s, dp)), _) => (
            (q.src, s),
            (q.dst, dp),
            L4::Tcp {
                sport: s,
                dport: dp,
                flags: TcpFlags(q.tcp_flags.unwrap_or(SYN)),
            },
        ),
        (UDP, Some((s, dp)), _) => (
            (q.src, s),
            (q.dst, dp),
            L4::Udp {
                sport: s,
                dport: dp,
            },
        ),
        (ICMP | ICMPV6, _, Some(id)) => (
            (q.src, id),
            (q.dst, 0),
            icmp_l4(v6, echo_types(v6).0, 0, id),
        ),
        (p, Some((s, dp)), _) => ((q.src, s), (q.dst, dp), other(p)),
        (p, None, _) => ((q.src, 0), (q.dst, 0), other(p)),
    };
    let mut first = Packet::new(client.0, server.0, first_l4);
    first.ttl = q.ttl;
    first.id = q.ident;
    (q.protocol, client, server, first)
}

/// The first error that answered a flow is kept; later ones of the same kind and sender
/// are counted on it.
fn note_error(f: &mut Flow, seen: IcmpErrorSeen) {
    match f.icmp_error.as_mut() {
        Some(e) if e.icmp_type == seen.icmp_type && e.code == seen.code && e.from == seen.from => {
            e.count += 1
        }
        Some(_) => {}
        None => f.icmp_error = Some(seen),
    }
}

fn side_index(s: Side) -> usize {
    match s {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn count(f: &mut Flow, side: Side, payload: usize, ts: u64) {
    let i = side_index(side);
    f.packets[i] = f.packets[i].saturating_add(1);
    f.payload[i] += payload as u64;
    f.last_ts = f.last_ts.max(ts);
}

#[allow(clippy::too_many_arguments)]
fn new_flow(
    id: u64,
    protocol: u8,
    client: Endpoint,
    server: Endpoint,
    first: Packet,
    frame: u64,
    ts: u64,
    interface: usize,
    direction: Option<Direction>,
) -> Flow {
    Flow {
        id,
        protocol,
        client,
        server,
        first,
        first_frame: frame,
        first_ts: ts,
        last_ts: ts,
        interface,
        direction,
        packets: [0, 0],
        payload: [0, 0],
        from_quote: false,
        resumed: false,
        evicted_open: false,
        syns: 0,
        last_syn_ts: 0,
        synacks: 0,
        rst: [None, None],
        fin: [false, false],
        server_ttl: None,
        stray: None,
        answers: None,
        icmp_error: None,
        echo_requests: 0,
        echo_replies: 0,
        tls: None,
        segments: (protocol == TCP).then(Box::default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn datagram<'a>(src: &str, dst: &str, ttl: u8, transport: Transport<'a>) -> Datagram<'a> {
        Datagram {
            src: ip(src),
            dst: ip(dst),
            ttl,
            tos: 0,
            ident: 7,
            dont_fragment: true,
            ip_len: 60,
            direction: None,
            transport,
        }
    }

    fn tcp<'a>(
        src: &str,
        dst: &str,
        ttl: u8,
        ports: (u16, u16),
        flags: u8,
        payload: &'a [u8],
    ) -> Datagram<'a> {
        let transport = Transport::Tcp {
            sport: ports.0,
            dport: ports.1,
            flags,
            seq: 1,
            ack: 0,
            payload,
            wire_len: payload.len() as u16,
            mss: None,
        };
        datagram(src, dst, ttl, transport)
    }

    fn icmp<'a>(
        src: &str,
        dst: &str,
        v6: bool,
        type_code: (u8, u8),
        ident: u16,
        quoted: Option<Quoted>,
    ) -> Datagram<'a> {
        let transport = Transport::Icmp {
            v6,
            icmp_type: type_code.0,
            code: type_code.1,
            ident,
            seq: 1,
            quoted,
            mtu: None,
        };
        datagram(src, dst, 61, transport)
    }

    fn quote(
        src: &str,
        dst: &str,
        protocol: u8,
        ports: Option<(u16, u16)>,
        echo_ident: Option<u16>,
    ) -> Quoted {
        Quoted {
            src: ip(src),
            dst: ip(dst),
            ttl: 1,
            protocol,
            ports,
            echo_ident,
            tcp_flags: None,
            ident: 99,
        }
    }

    /// Everything the classifier reads of a flow, on one line.
    fn summary(f: &Flow) -> String {
        format!(
            "#{} p{} {:?}->{:?} first={:?} ttl={} id={} frame={} pkts={:?} bytes={:?} quote={} syns={} synacks={} rst={:?} fin={:?} server_ttl={:?} stray={:?} answers={} err={:?} echo={}/{} tls={}",
            f.id,
            f.protocol,
            f.client,
            f.server,
            f.first.l4,
            f.first.ttl,
            f.first.id,
            f.first_frame,
            f.packets,
            f.payload,
            f.from_quote,
            f.syns,
            f.synacks,
            f.rst.map(|r| r.map(|r| (r.frame, r.ttl, r.with_data))),
            f.fin,
            f.server_ttl,
            f.stray.map(|s| (s.from, s.count, s.client_rsts)),
            f.answers.is_some(),
            f.icmp_error.map(|e| (e.from, e.icmp_type, e.code, e.count, e.quoted.is_some())),
            f.echo_requests,
            f.echo_replies,
            f.tls.is_some(),
        )
    }

    /// A scripted capture through every path of the table: TCP handshakes, a stray SYN/ACK
    /// (broken reverse NAT) and the client's RSTs to it, TLS, UDP, ICMP echo, ICMP errors
    /// that find their flow or make one from the quote, and ignored ICMP.
    #[test]
    fn every_kind_of_packet_lands_on_its_flow() {
        let hello = [0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0];
        let c = "10.0.0.1";
        let s = "10.0.0.2";
        let packets = vec![
            tcp(c, s, 64, (40000, 443), SYN, &[]),
            tcp(c, s, 64, (40000, 443), SYN, &[]),
            tcp(s, c, 60, (443, 40000), SYN | ACK, &[]),
            tcp(c, s, 64, (40000, 443), ACK, &[]),
            tcp(c, s, 64, (40000, 443), ACK, &hello),
            tcp(s, c, 60, (443, 40000), ACK | FIN, b"x"),
            tcp(s, c, 50, (443, 40000), RST, b"why"),
            // The client waits on 10.0.0.3; the answer comes from elsewhere.
            tcp(c, "10.0.0.3", 64, (40001, 22), SYN, &[]),
            tcp("10.0.0.9", c, 55, (22, 40001), SYN | ACK, &[]),
            tcp(c, "10.0.0.9", 64, (40001, 22), RST, &[]),
            tcp("10.0.0.9", c, 55, (22, 40001), SYN | ACK, &[]),
            // An answer from a well-known port to an ephemeral one: the server speaks.
            tcp(s, c, 60, (80, 50000), ACK, &[]),
            datagram(
                c,
                s,
                64,
                Transport::Udp {
                    sport: 5353,
                    dport: 53,
                    payload: b"q",
                },
            ),
            datagram(
                s,
                c,
                59,
                Transport::Udp {
                    sport: 53,
                    dport: 5353,
                    payload: b"ab",
                },
            ),
            icmp(c, s, false, (8, 0), 77, None),
            icmp(s, c, false, (0, 0), 77, None),
            icmp("fd00::1", "fd00::2", true, (128, 0), 5, None),
            icmp("fd00::2", "fd00::1", true, (129, 0), 5, None),
            // Errors about the flows above, twice the same and once another kind.
            icmp(
                "10.0.0.254",
                c,
                false,
                (3, 3),
                0,
                Some(quote(c, s, UDP, Some((5353, 53)), None)),
            ),
            icmp(
                "10.0.0.254",
                c,
                false,
                (3, 3),
                0,
                Some(quote(c, s, UDP, Some((5353, 53)), None)),
            ),
            icmp(
                "10.0.0.253",
                c,
                false,
                (11, 0),
                0,
                Some(quote(c, s, UDP, Some((5353, 53)), None)),
            ),
            icmp(
                "10.0.0.254",
                c,
                false,
                (3, 1),
                0,
                Some(quote(c, "10.0.0.3", TCP, Some((40001, 22)), None)),
            ),
            // Errors about packets not in the capture: flows made from the quote.
            icmp(
                "10.0.0.254",
                c,
                false,
                (3, 13),
                0,
                Some(quote(c, "10.9.9.9", TCP, Some((1, 2)), None)),
            ),
            icmp(
                "10.0.0.254",
                c,
                false,
                (11, 0),
                0,
                Some(quote(c, "10.9.9.9", ICMP, None, Some(4))),
            ),
            icmp(
                "10.0.0.254",
                c,
                false,
                (3, 2),
                0,
                Some(quote(c, "10.9.9.9", 47, None, None)),
            ),
            icmp(
                "10.0.0.254",
                c,
                false,
                (3, 3),
                0,
                Some(quote(c, "10.9.9.9", 132, Some((9, 10)), None)),
            ),
            icmp("fd00::fe", "fd00::1", true, (1, 4), 0, None),
            // Not failures: a redirect and a neighbour solicitation.
            icmp(
                "10.0.0.254",
                c,
                false,
                (5, 1),
                0,
                Some(quote(c, s, UDP, Some((5353, 53)), None)),
            ),
            icmp("fd00::2", "fd00::1", true, (135, 0), 0, None),
            datagram(c, s, 64, Transport::Missing { protocol: 17 }),
            datagram(c, s, 64, Transport::Other { protocol: 47 }),
        ];
        let mut table = FlowTable::new(64);
        for (frame, d) in packets.iter().enumerate() {
            let frame = frame as u64 + 1;
            table.add(d, frame, frame * 10, 0, &mut |_, _| {
                panic!("nothing is evicted")
            });
        }
        let ttls = [s, "10.0.0.9", "fd00::2", c].map(|a| table.ttl_of(ip(a)));
        let stats = table.stats;
        let flows: Vec<String> = table.drain().iter().map(summary).collect();
        let expected: &[&str] = &[
            "#1 p6 (10.0.0.1, 40000)->(10.0.0.2, 443) first=Tcp { sport: 40000, dport: 443, flags: TcpFlags(2) } ttl=64 id=7 frame=1 pkts=[4, 3] bytes=[10, 4] quote=false syns=2 synacks=1 rst=[None, Some((7, 50, true))] fin=[false, true] server_ttl=Some(60) stray=None answers=false err=None echo=0/0 tls=true",
            "#2 p6 (10.0.0.1, 40001)->(10.0.0.3, 22) first=Tcp { sport: 40001, dport: 22, flags: TcpFlags(2) } ttl=64 id=7 frame=8 pkts=[1, 0] bytes=[0, 0] quote=false syns=1 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=Some(((10.0.0.9, 22), 2, 1)) answers=false err=Some((10.0.0.254, 3, 1, 1, true)) echo=0/0 tls=false",
            "#3 p6 (10.0.0.1, 40001)->(10.0.0.9, 22) first=Tcp { sport: 22, dport: 40001, flags: TcpFlags(18) } ttl=55 id=7 frame=9 pkts=[1, 2] bytes=[0, 0] quote=false syns=0 synacks=2 rst=[Some((10, 64, false)), None] fin=[false, false] server_ttl=Some(55) stray=None answers=true err=None echo=0/0 tls=false",
            "#4 p6 (10.0.0.1, 50000)->(10.0.0.2, 80) first=Tcp { sport: 80, dport: 50000, flags: TcpFlags(16) } ttl=60 id=7 frame=12 pkts=[0, 1] bytes=[0, 0] quote=false syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=Some(60) stray=None answers=false err=None echo=0/0 tls=false",
            "#5 p17 (10.0.0.1, 5353)->(10.0.0.2, 53) first=Udp { sport: 5353, dport: 53 } ttl=64 id=7 frame=13 pkts=[1, 1] bytes=[1, 2] quote=false syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=Some((10.0.0.254, 3, 3, 2, true)) echo=0/0 tls=false",
            "#6 p1 (10.0.0.1, 77)->(10.0.0.2, 0) first=Icmp { icmp_type: 8, code: 0, id: 77 } ttl=61 id=7 frame=15 pkts=[1, 1] bytes=[0, 0] quote=false syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=None echo=1/1 tls=false",
            "#7 p58 (fd00::1, 5)->(fd00::2, 0) first=Icmpv6 { icmp_type: 128, code: 0, id: 5 } ttl=61 id=7 frame=17 pkts=[1, 1] bytes=[0, 0] quote=false syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=None echo=1/1 tls=false",
            "#8 p6 (10.0.0.1, 1)->(10.9.9.9, 2) first=Tcp { sport: 1, dport: 2, flags: TcpFlags(2) } ttl=1 id=99 frame=23 pkts=[0, 0] bytes=[0, 0] quote=true syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=Some((10.0.0.254, 3, 13, 1, true)) echo=0/0 tls=false",
            "#9 p1 (10.0.0.1, 4)->(10.9.9.9, 0) first=Icmp { icmp_type: 8, code: 0, id: 4 } ttl=1 id=99 frame=24 pkts=[0, 0] bytes=[0, 0] quote=true syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=Some((10.0.0.254, 11, 0, 1, true)) echo=0/0 tls=false",
            "#10 p47 (10.0.0.1, 0)->(10.9.9.9, 0) first=Other(Gre) ttl=1 id=99 frame=25 pkts=[0, 0] bytes=[0, 0] quote=true syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=Some((10.0.0.254, 3, 2, 1, true)) echo=0/0 tls=false",
            "#11 p132 (10.0.0.1, 9)->(10.9.9.9, 10) first=Other(Sctp) ttl=1 id=99 frame=26 pkts=[0, 0] bytes=[0, 0] quote=true syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=Some((10.0.0.254, 3, 3, 1, true)) echo=0/0 tls=false",
            "#12 p58 (fd00::1, 0)->(fd00::fe, 0) first=Icmpv6 { icmp_type: 1, code: 4, id: 0 } ttl=64 id=0 frame=27 pkts=[0, 0] bytes=[0, 0] quote=true syns=0 synacks=0 rst=[None, None] fin=[false, false] server_ttl=None stray=None answers=false err=Some((fd00::fe, 1, 4, 1, false)) echo=0/0 tls=false",
        ];
        assert_eq!(flows, expected, "{flows:#?}");
        assert_eq!(
            format!("{stats:?} {ttls:?}"),
            "TableStats { flows: 12, evicted: 0, unmatched_errors: 0, no_transport: 1, tls_not_followed: 0, resumed: 0, evictions_not_remembered: 0 } [Some(61), Some(55), Some(61), None]"
        );
    }

    #[test]
    fn a_full_table_hands_back_the_idlest_quarter() {
        let mut table = FlowTable::new(16);
        let mut evicted = Vec::new();
        let udp = |port: u16| Transport::Udp {
            sport: port,
            dport: 53,
            payload: &[],
        };
        for i in 0..16u16 {
            let d = datagram("10.0.0.1", "10.0.0.2", 64, udp(1000 + i));
            table.add(&d, u64::from(i), u64::from(i), 0, &mut |f, _| {
                evicted.push(f.client.1)
            });
        }
        // An error quoting a packet not in the capture needs room for its flow.
        let quote = quote("10.0.0.1", "10.9.9.9", UDP, Some((1, 2)), None);
        let error = icmp("10.0.0.254", "10.0.0.1", false, (3, 3), 0, Some(quote));
        table.add(&error, 99, 99, 0, &mut |f, _| evicted.push(f.client.1));
        for i in 16..20u16 {
            let d = datagram("10.0.0.1", "10.0.0.2", 64, udp(1000 + i));
            table.add(&d, u64::from(i), u64::from(i), 0, &mut |f, _| {
                evicted.push(f.client.1)
            });
        }
        evicted.sort_unstable();
        assert_eq!(evicted, (1000..1008).collect::<Vec<u16>>());
        assert_eq!(
            (table.len(), table.stats.flows, table.stats.evicted),
            (13, 21, 8)
        );
        assert!(table.drain().iter().any(|f| f.from_quote));
    }

    /// Issue 11 A7: a flow seen again after eviction is counted once; past the memory of
    /// evicted keys the count says it may be off, never silently.
    #[test]
    fn a7_flows_seen_again_after_eviction_are_counted_once_within_the_memory_bound() {
        let udp = |port: u16| Transport::Udp {
            sport: port,
            dport: 53,
            payload: b"q",
        };
        for (remembered, flows, resumed, not_remembered) in [(1000, 100, 100, 0), (10, 190, 10, 90)]
        {
            let mut table = FlowTable::bounded(16, remembered);
            // Two rounds over 100 flows: each is evicted in between.
            for round in 0..2u64 {
                for port in 0..100u16 {
                    let frame = round * 100 + u64::from(port) + 1;
                    let d = datagram("10.0.0.1", "10.0.0.2", 64, udp(1000 + port));
                    table.add(&d, frame, frame * 10, 0, &mut |_, _| {});
                }
            }
            let s = table.stats;
            assert_eq!(
                (s.flows, s.resumed, s.evictions_not_remembered > 0),
                (flows, resumed, not_remembered > 0),
                "remembered {remembered}: {s:?}"
            );
        }
    }
}
