//! Trace events grouped into packets: one walk per packet, from the event that starts it to
//! the event that ends it (or to silence).
//!
//! The kernel names a packet's events by a trace id that hashes the skb's address, its flow
//! hash and its input interface (`nft_trace_init` in net/netfilter/nf_tables_trace.c). The
//! flow hash is the same both ways of a connection and skbs are recycled, so two packets in
//! a row often share an id (a SYN and its SYN/ACK; a SYN and the ACK after it). The id is
//! therefore not a packet's identity: a walk ends at its closing event or when an event of
//! the same id starts over (an earlier hook of the trace table, with headers), and a walk
//! that ended waits to be emitted apart from any newer walk of its id. What cannot be placed
//! in a packet is counted, never dropped silently.

use model::kernel_walk::{Headers, KernelVerdict, StepKind, TRACE_TABLE};
use netlink::nftrace::TraceEvent;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The loopback device's index, the same in every network namespace.
pub const LOOPBACK_IFINDEX: u32 = 1;

/// A packet's events as they arrive.
struct Walk {
    events: Vec<TraceEvent>,
    last: Instant,
    done: bool,
    /// The packet left by `lo` with these headers: it comes back through prerouting under
    /// another trace id (the id hashes the input interface), still the same packet.
    looped: Option<Headers>,
    /// How far along the trace table's hooks the packet has come ([`hook_rank`]): an event
    /// of the same id at this hook or an earlier one is another packet.
    rank: Option<u8>,
}

/// Where a chain of the trace table stands on a packet's path: each packet passes them in
/// increasing order (prerouting or output, their ends, input or forward, postrouting).
fn hook_rank(chain: &str) -> Option<u8> {
    match chain {
        "pre" | "out" => Some(0),
        "pre_end" | "out_end" => Some(1),
        "in_end" | "fwd_end" => Some(2),
        "post_end" => Some(3),
        _ => None,
    }
}

/// The rank of an event that starts a base chain of the trace table (it carries headers).
fn start_rank(ev: &TraceEvent) -> Option<u8> {
    (ev.table == TRACE_TABLE && ev.network_header.is_some())
        .then(|| hook_rank(&ev.chain))
        .flatten()
}

/// Whether two header summaries are the same packet (the headers `lo` carries back).
fn same_packet(a: &Headers, b: &Headers) -> bool {
    a.src == b.src && a.dst == b.dst && a.proto == b.proto && a.tag == b.tag && a.ports == b.ports
}

/// Whether `ev` is a packet coming back from `lo` into prerouting.
fn back_from_lo(ev: &TraceEvent) -> bool {
    ev.table == TRACE_TABLE && ev.chain == "pre" && ev.iif == Some(LOOPBACK_IFINDEX)
}

/// Trace events grouped into packets' walks; a packet looped back through `lo` continues
/// the walk that sent it.
#[derive(Default)]
pub struct Walks {
    /// Every walk not yet emitted, by serial number (oldest first).
    walks: Vec<(u64, Walk)>,
    next_serial: u64,
    /// Trace id -> the serial of the walk under way with that id.
    under_way: HashMap<u32, u64>,
    /// Trace id of a looped-back packet -> the serial of the walk it continues.
    aliases: HashMap<u32, u64>,
    /// Events that belong to no packet: no walk of their id was under way and they carry no
    /// headers to start one (their packet began before the trace did).
    pub stray_events: usize,
}

impl Walks {
    fn get_mut(&mut self, serial: u64) -> Option<&mut Walk> {
        self.walks
            .iter_mut()
            .find(|(s, _)| *s == serial)
            .map(|(_, w)| w)
    }

    /// The walk under way that `ev` continues, if any.
    fn continued_by(&mut self, ev: &TraceEvent) -> Option<u64> {
        if let Some(&to) = self.aliases.get(&ev.id) {
            if self.get_mut(to).is_some_and(|w| !w.done) {
                return Some(to);
            }
            self.aliases.remove(&ev.id);
        }
        let serial = *self.under_way.get(&ev.id)?;
        let w = self.get_mut(serial)?;
        // An event that starts the trace table's hooks over is the next packet of this id:
        // the one under way ended without a closing event (lost in routing, or stolen).
        if start_rank(ev).is_some_and(|r| w.rank.is_some_and(|at| r <= at)) {
            w.done = true;
            self.under_way.remove(&ev.id);
            return None;
        }
        Some(serial)
    }

    /// Adds one event to the walk it belongs to, or starts a walk with it.
    pub fn push(&mut self, ev: TraceEvent, now: Instant) {
        let serial = match self.continued_by(&ev) {
            Some(s) => s,
            None => {
                let h = ev.headers();
                // Back from `lo`: the walk that left by it, if one waits for these headers.
                let sent = h.filter(|_| back_from_lo(&ev)).and_then(|h| {
                    self.walks.iter().find_map(|(s, w)| {
                        (!w.done && w.looped.is_some_and(|l| same_packet(&l, &h))).then_some(*s)
                    })
                });
                if let Some(to) = sent {
                    self.aliases.insert(ev.id, to);
                    if let Some(w) = self.get_mut(to) {
                        w.looped = None;
                        w.rank = None;
                    }
                    to
                } else if h.is_some() {
                    let s = self.next_serial;
                    self.next_serial += 1;
                    self.walks.push((
                        s,
                        Walk {
                            events: Vec::new(),
                            last: now,
                            done: false,
                            looped: None,
                            rank: None,
                        },
                    ));
                    self.under_way.insert(ev.id, s);
                    s
                } else {
                    self.stray_events += 1;
                    return;
                }
            }
        };
        let Some(w) = self.get_mut(serial) else {
            self.stray_events += 1;
            return;
        };
        w.last = now;
        if let Some(r) = start_rank(&ev) {
            w.rank = Some(w.rank.map_or(r, |at| at.max(r)));
        }
        let post_end = ev.table == TRACE_TABLE && ev.chain == "post_end";
        if post_end && ev.oif == Some(LOOPBACK_IFINDEX) {
            if let Some(h) = ev.headers() {
                w.looped = Some(h);
            }
        }
        // Leaving by `lo` is not the end: the packet comes back through prerouting, the
        // same packet to the simulation.
        let ends = ends_walk(&ev);
        let looped = post_end && w.looped.is_some();
        w.done = ends && !looped;
        w.events.push(ev);
        if w.done {
            self.release(serial);
        } else if ends && looped {
            // Its way out is over: the next packet of that id (often the answer) is
            // another walk; this one waits for its headers to come back (see above).
            self.under_way.retain(|_, s| *s != serial);
        }
    }

    /// The walk `serial` takes no more events: no trace id leads to it any longer.
    fn release(&mut self, serial: u64) {
        self.under_way.retain(|_, s| *s != serial);
        self.aliases.retain(|_, s| *s != serial);
    }

    /// The walks ready to be emitted, oldest first: finished ones 30 ms after their last
    /// event; unfinished ones (a packet lost in routing leaves no closing event) after
    /// `idle` without events *and* with the socket found empty since their last event
    /// (`drained_at`) — or after ten times `idle` regardless; everything under way when
    /// `stopping` (the caller drained the socket first).
    pub fn ready(
        &mut self,
        now: Instant,
        idle: Duration,
        drained_at: Option<Instant>,
        stopping: bool,
    ) -> Vec<Vec<TraceEvent>> {
        let is_ready = |w: &Walk| {
            let quiet = now.duration_since(w.last);
            stopping
                || w.done && quiet > Duration::from_millis(30)
                || quiet > idle && drained_at.is_some_and(|d| d > w.last)
                || quiet > idle * 10
        };
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.walks)
            .into_iter()
            .partition(|(_, w)| is_ready(w));
        self.walks = waiting;
        let mut out = Vec::with_capacity(ready.len());
        for (serial, w) in ready {
            self.release(serial);
            out.push(w.events);
        }
        out
    }
}

/// Whether `e` ends a packet's walk: the end of input or postrouting, or a drop, queue or
/// stolen verdict. (A packet that leaves by `lo` goes on: see [`Walks::push`].)
fn ends_walk(e: &TraceEvent) -> bool {
    let ours_end = e.table == TRACE_TABLE
        && e.kind == StepKind::Policy
        && matches!(e.chain.as_str(), "in_end" | "post_end");
    let verdict = e
        .verdict
        .clone()
        .or_else(|| e.policy.map(|p| KernelVerdict::decode(p as i32, None)));
    ours_end || verdict.is_some_and(|v| v.ends_walk())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use model::{Family, Packet, TcpFlags, L4};

    pub(crate) fn event(id: u32, chain: &str, kind: StepKind) -> TraceEvent {
        let mut e = TraceEvent::bare(id, Some(Family::Inet), TRACE_TABLE, chain, kind);
        e.nfproto = Some(2);
        e.policy = (kind == StepKind::Policy).then_some(1);
        e
    }

    /// The first event of a base chain: headers of `p` (tagged), devices.
    pub(crate) fn first(
        id: u32,
        chain: &str,
        p: &Packet,
        iif: Option<u32>,
        oif: Option<u32>,
    ) -> TraceEvent {
        let ip = oracle::frame::ip_packet(p, 0x4242).unwrap();
        let hl = if p.is_ipv6() { 40 } else { 20 };
        let mut e = event(id, chain, StepKind::Rule);
        e.network_header = Some(ip[..hl].to_vec());
        e.transport_header = Some(ip[hl..].to_vec());
        e.iif = iif;
        e.oif = oif;
        e
    }

    pub(crate) fn udp(src: &str, dst: &str) -> Packet {
        Packet::new(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            L4::Udp {
                sport: 1000,
                dport: 53,
            },
        )
    }

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: TcpFlags) -> Packet {
        Packet::new(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            L4::Tcp {
                sport,
                dport,
                flags,
            },
        )
    }

    /// A locally sent packet's whole walk over `lo`: output, postrouting by `lo`, then
    /// prerouting and input under the trace id of the way in.
    fn over_lo(out_id: u32, in_id: u32, p: &Packet) -> Vec<TraceEvent> {
        vec![
            first(out_id, "out", p, None, Some(LOOPBACK_IFINDEX)),
            event(out_id, "out", StepKind::Policy),
            first(out_id, "out_end", p, None, Some(LOOPBACK_IFINDEX)),
            event(out_id, "out_end", StepKind::Policy),
            first(out_id, "post_end", p, None, Some(LOOPBACK_IFINDEX)),
            event(out_id, "post_end", StepKind::Policy),
            first(in_id, "pre", p, Some(LOOPBACK_IFINDEX), None),
            event(in_id, "pre", StepKind::Policy),
            first(in_id, "pre_end", p, Some(LOOPBACK_IFINDEX), None),
            event(in_id, "pre_end", StepKind::Policy),
            first(in_id, "in_end", p, Some(LOOPBACK_IFINDEX), None),
            event(in_id, "in_end", StepKind::Policy),
        ]
    }

    #[test]
    fn a9_packets_that_reuse_a_trace_id_are_each_emitted() {
        // A TCP handshake over `lo`: the flow hash is the same both ways and the skb is
        // recycled, so the SYN, the SYN/ACK and the ACK share their trace ids. Each ended
        // before the next began, all within the 30 ms a finished walk waits.
        let syn = tcp("127.0.0.1", 40000, "127.0.0.1", 5000, TcpFlags::SYN);
        let synack = tcp("127.0.0.1", 5000, "127.0.0.1", 40000, TcpFlags(0x12));
        let ack = tcp("127.0.0.1", 40000, "127.0.0.1", 5000, TcpFlags::ACK);
        let now = Instant::now();
        let mut w = Walks::default();
        for p in [&syn, &synack, &ack] {
            for e in over_lo(7, 8, p) {
                w.push(e, now);
            }
        }
        let later = now + Duration::from_secs(1);
        let out = w.ready(later, Duration::from_millis(300), Some(later), false);
        let flags: Vec<_> = out
            .iter()
            .map(|events| {
                assert_eq!(events.len(), 12);
                events[0].headers().and_then(|h| h.tcp_flags)
            })
            .collect();
        assert_eq!(
            flags,
            vec![
                Some(TcpFlags::SYN),
                Some(TcpFlags(0x12)),
                Some(TcpFlags::ACK)
            ]
        );
        assert_eq!((w.walks.len(), w.stray_events), (0, 0));

        // A packet that never closes its walk (lost in routing), then the next one of its
        // id: two walks, not one of both packets' events.
        let p = udp("10.1.1.2", "10.1.0.2");
        let mut w = Walks::default();
        for e in [
            first(9, "pre", &p, Some(2), None),
            event(9, "pre", StepKind::Policy),
            first(9, "pre_end", &p, Some(2), None),
            event(9, "pre_end", StepKind::Policy),
            first(9, "pre", &p, Some(2), None),
            event(9, "pre", StepKind::Policy),
        ] {
            w.push(e, now);
        }
        let out = w.ready(later, Duration::from_millis(300), Some(later), false);
        assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 2]);

        // An event of no packet (its start came before the trace): counted.
        let mut w = Walks::default();
        w.push(event(3, "in_end", StepKind::Policy), now);
        assert_eq!((w.walks.len(), w.stray_events), (0, 1));
    }

    #[test]
    fn a_packet_looped_back_through_lo_is_one_walk() {
        // REDIRECT of a locally generated packet: out -> postrouting by `lo` -> prerouting
        // (another trace id: it hashes the input device) -> input.
        let sent = udp("10.1.1.1", "198.51.100.2");
        let back = udp("10.1.1.1", "127.0.0.1");
        let now = Instant::now();
        let mut w = Walks::default();
        for e in [
            first(1, "out", &sent, None, Some(3)),
            event(1, "out", StepKind::Policy),
            first(1, "post_end", &back, None, Some(LOOPBACK_IFINDEX)),
            event(1, "post_end", StepKind::Policy),
            first(2, "pre", &back, Some(LOOPBACK_IFINDEX), None),
            event(2, "pre", StepKind::Policy),
            first(2, "in_end", &back, Some(LOOPBACK_IFINDEX), None),
            event(2, "in_end", StepKind::Policy),
        ] {
            w.push(e, now);
        }
        let later = now + Duration::from_secs(1);
        let out = w.ready(later, Duration::from_millis(300), Some(later), false);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].len(), 8);
        assert_eq!(out[0].last().unwrap().chain, "in_end");

        // Leaving by a real device ends the walk: the next packet is its own.
        let mut w = Walks::default();
        for e in [
            first(1, "out", &sent, None, Some(3)),
            first(1, "post_end", &sent, None, Some(3)),
            event(1, "post_end", StepKind::Policy),
            first(2, "pre", &back, Some(LOOPBACK_IFINDEX), None),
            event(2, "pre", StepKind::Policy),
        ] {
            w.push(e, now);
        }
        let out = w.ready(later, Duration::from_millis(300), Some(later), false);
        assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 2]);
    }

    #[test]
    fn an_unfinished_walk_waits_until_nothing_of_it_can_be_queued() {
        // A packet lost in routing leaves no closing event: it is emitted after the idle
        // time, but only once the socket was found empty after its last event (the loop may
        // have been busy while the rest of its events sat in the socket).
        let p = udp("10.1.1.2", "10.1.0.2");
        let now = Instant::now();
        let idle = Duration::from_millis(300);
        let mut w = Walks::default();
        w.push(first(7, "pre", &p, Some(2), None), now);
        w.push(event(7, "pre", StepKind::Policy), now);
        let later = now + Duration::from_millis(500);
        assert!(w.ready(later, idle, None, false).is_empty());
        assert!(w
            .ready(later, idle, Some(now - Duration::from_millis(1)), false)
            .is_empty());
        // Its remaining events arrive; still under way.
        w.push(first(7, "pre_end", &p, Some(2), None), later);
        assert!(w.ready(later, idle, Some(later), false).is_empty());
        let quiet = later + Duration::from_millis(400);
        let out = w.ready(quiet, idle, Some(quiet), false);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), 3);
        // A stop request emits what is under way at once.
        let mut w = Walks::default();
        w.push(first(8, "pre", &p, Some(2), None), now);
        assert_eq!(w.ready(now, idle, None, true).len(), 1);
    }
}
