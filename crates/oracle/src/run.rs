//! The kernel oracle: a [`TestHost`] with the user's ruleset loaded, a trace table of our own,
//! an injector and a trace reader. [`Oracle::run`] sends packets in batches of at most
//! [`BATCH`], each closed by sentinels, and returns one [`KernelWalk`] per packet.

use crate::inject::{Injector, Via, SENTINEL_LOCAL_DST, SENTINEL_MAC};
use crate::load;
use crate::netns::{Netns, TestHost};
use analysis::agree::{walk, Listing};
use model::kernel::NfVerdict;
use model::kernel_walk::{Headers, KernelWalk, StepKind};
use model::Dialect;
use model::{Family, Packet, Ruleset, SourceFile, L4};
use netlink::nftrace::{Grouper, Message, TraceEvent, TraceReader};
use netlink::LiveError;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Packets per batch before a sentinel (the socket holds ~30k events; a packet makes < 30).
pub const BATCH: usize = 500;

pub use model::kernel_walk::TRACE_TABLE;

/// Waiting for a batch's sentinels.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(10);

/// The table that switches tracing on for every packet (prerouting and output at -350, before
/// raw and conntrack), drops sentinels, and observes the end of each hook at priority 1000
/// (an accepted packet leaves no other event; these show it got through, after NAT).
pub fn trace_table() -> String {
    format!(
        "table inet {TRACE_TABLE} {{\n\
         \tchain pre {{ type filter hook prerouting priority -350; policy accept; meta nftrace set 1; ether saddr {SENTINEL_MAC} drop; }}\n\
         \tchain out {{ type filter hook output priority -350; policy accept; meta nftrace set 1; ip daddr {SENTINEL_LOCAL_DST} drop; }}\n\
         \tchain pre_end {{ type filter hook prerouting priority 1000; policy accept; }}\n\
         \tchain in_end {{ type filter hook input priority 1000; policy accept; }}\n\
         \tchain fwd_end {{ type filter hook forward priority 1000; policy accept; }}\n\
         \tchain out_end {{ type filter hook output priority 1000; policy accept; }}\n\
         \tchain post_end {{ type filter hook postrouting priority 1000; policy accept; }}\n\
         }}\n"
    )
}

/// Replaces the ruleset of namespace `ns` with `rules`, then adds [`trace_table`]; returns the
/// files' dialects and the kernel's listing with handles (to place trace events).
pub fn load_traced(
    ns: &Netns,
    rules: &[(SourceFile, Family)],
) -> Result<(Vec<Dialect>, Listing), LiveError> {
    ns.exec("nft", &["flush", "ruleset"], None)?;
    let mut dialects = Vec::new();
    for (src, fam) in rules {
        dialects.push(load::load(ns.name(), src, *fam)?);
    }
    ns.exec("nft", &["-f", "-"], Some(trace_table().as_bytes()))?;
    let json = ns.exec("nft", &["-a", "-j", "list", "ruleset"], None)?;
    let listing = Listing::parse(&json).map_err(LiveError::Setup)?;
    Ok((dialects, listing))
}

/// A test host with a ruleset loaded and tracing on.
#[derive(Debug)]
pub struct Oracle {
    pub host: TestHost,
    reader: TraceReader,
    injector: Injector,
    pub listing: Listing,
    next_tag: u32,
    /// Packets sent and traced since creation, and the time spent (for throughput figures).
    pub stats: Stats,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub packets: usize,
    pub events: usize,
    pub batches: usize,
    pub inject_time: Duration,
    pub total_time: Duration,
}

impl Oracle {
    /// Opens the trace reader and injector on `host`. No ruleset yet: call [`Oracle::load`].
    pub fn new(host: TestHost) -> Result<Oracle, LiveError> {
        let reader = TraceReader::open_in(host.router.name(), false)?;
        Oracle::with_reader(host, reader)
    }

    /// Like [`Oracle::new`] with a chosen netlink receive buffer (to test loss detection).
    pub fn with_rcvbuf(host: TestHost, bytes: usize) -> Result<Oracle, LiveError> {
        let reader = TraceReader::open_in_with_rcvbuf(host.router.name(), false, bytes)?;
        Oracle::with_reader(host, reader)
    }

    fn with_reader(host: TestHost, reader: TraceReader) -> Result<Oracle, LiveError> {
        let injector = Injector::new(&host)?;
        Ok(Oracle {
            host,
            reader,
            injector,
            listing: Listing::default(),
            next_tag: 0x5700,
            stats: Stats::default(),
        })
    }

    /// Replaces the router's ruleset with `rules` (then the trace table).
    pub fn load(&mut self, rules: &[(SourceFile, Family)]) -> Result<Vec<Dialect>, LiveError> {
        let (dialects, listing) = load_traced(&self.host.router, rules)?;
        self.listing = listing;
        Ok(dialects)
    }

    /// Sends `packets` and reads their walks through the kernel. A lost event fails the run.
    pub fn run(
        &mut self,
        ruleset: &Ruleset,
        packets: &[Packet],
    ) -> Result<Vec<KernelWalk>, LiveError> {
        let start = Instant::now();
        let mut out = Vec::with_capacity(packets.len());
        // Stale events from earlier runs (or from setup) must not leak into this one.
        self.reader.drain(Duration::from_millis(5))?;
        for batch in packets.chunks(BATCH) {
            out.extend(self.run_batch(ruleset, batch)?);
        }
        self.stats.total_time += start.elapsed();
        Ok(out)
    }

    fn run_batch(
        &mut self,
        ruleset: &Ruleset,
        batch: &[Packet],
    ) -> Result<Vec<KernelWalk>, LiveError> {
        // Tags fit IPv4's 16 bits and are never 0 (the sentinels' tag).
        if self.next_tag as usize + batch.len() > 0xffff {
            self.next_tag = 1;
        }
        let tags: Vec<u32> = (self.next_tag..self.next_tag + batch.len() as u32).collect();
        self.next_tag += batch.len() as u32;
        let t0 = Instant::now();
        let mut paths = BTreeSet::new();
        for (p, &tag) in batch.iter().zip(&tags) {
            self.injector.send(p, tag)?;
            paths.insert(Via::of(p));
        }
        for via in &paths {
            self.injector.send_sentinel(via)?;
        }
        self.stats.inject_time += t0.elapsed();
        let mut pending = paths.len();
        let msgs = self.reader.read_until(SENTINEL_TIMEOUT, |m| {
            if let Message::Trace(ev) = m {
                if ev.table == TRACE_TABLE
                    && ev
                        .verdict
                        .as_ref()
                        .is_some_and(|v| v.code == NfVerdict::Drop)
                {
                    pending -= 1;
                }
            }
            pending == 0
        })?;
        self.reader.check_no_loss()?;
        self.stats.batches += 1;
        self.stats.packets += batch.len();

        let classify = |h: &Headers| -> Option<u32> {
            let i = tags.iter().position(|&t| t == h.tag)?;
            let p = &batch[i];
            // An answer goes the other way; with source and destination equal (a packet
            // to itself), the swapped ports tell it apart.
            let reversed = h.src == p.dst
                && h.dst == p.src
                && (p.src != p.dst
                    || p.l4
                        .ports()
                        .is_some_and(|(s, d)| s != d && h.ports == Some((d, s))));
            (h.proto == p.proto().number() && !reversed).then_some(h.tag)
        };
        let mut g = Grouper::new();
        for m in msgs {
            if let Message::Trace(ev) = m {
                self.stats.events += 1;
                g.push(ev, &classify);
            }
        }
        Ok(batch
            .iter()
            .zip(&tags)
            .map(|(p, &tag)| {
                let events = g.by_tag.remove(&tag).unwrap_or_default();
                let answers_traced: Vec<(Headers, Option<bool>)> = g
                    .others
                    .iter()
                    // Answers made by the router itself begin in the output hook.
                    .filter(|o| {
                        o.1 == Some(tag)
                            && o.2
                                .first()
                                .is_some_and(|e| e.table == TRACE_TABLE && e.chain == "out")
                    })
                    .filter_map(|o| {
                        let h = o.2.iter().find_map(|e| e.headers())?;
                        Some((h, walk_dropped(&o.2)))
                    })
                    .filter(|(h, _)| h.dst != std::net::IpAddr::V4(SENTINEL_LOCAL_DST))
                    .filter(|(h, _)| answers(h, p, tag))
                    .collect();
                // The answer the engine predicts; an ICMP redirect the router adds when it
                // forwards back out the interface a packet came in by is not it.
                let answer_stopped = answers_traced
                    .iter()
                    .find(|(h, _)| !h.is_redirect())
                    .and_then(|(_, dropped)| *dropped);
                let responses = answers_traced.into_iter().map(|(h, _)| h).collect();
                let host = &self.host;
                let names = |i: u32| host.iface_by_index(i).map(|x| x.name.clone());
                let events = events.iter().map(TraceEvent::to_walk_event).collect();
                let mut trace =
                    walk::analyse(ruleset, &self.listing, &names, p, tag, events, responses);
                // The answer's walk may share the packet's trace id (then `analyse` saw its
                // drop among the packet's events) or have its own group.
                trace.answer_stopped = match trace.answer_stopped {
                    Some(true) => Some(true),
                    _ => answer_stopped,
                };
                trace
            })
            .collect())
    }

    /// Empties the conntrack table (fresh flows for the next run).
    pub fn flush_conntrack(&self) -> Result<(), LiveError> {
        self.host.flush_conntrack()
    }

    /// The reader, for tests of loss detection.
    pub fn reader_mut(&mut self) -> &mut TraceReader {
        &mut self.reader
    }

    pub fn injector(&self) -> &Injector {
        &self.injector
    }
}

/// What a packet's own walk shows of its end, on positive evidence only: `Some(true)` for a
/// drop (a rule's drop verdict or a drop policy), `Some(false)` for reaching the end of
/// POSTROUTING (our priority-1000 chain's policy), `None` when neither is in these events
/// (trace ids can collide within a batch and split one walk over groups).
fn walk_dropped(events: &[TraceEvent]) -> Option<bool> {
    let dropped = events.iter().any(|e| {
        e.verdict
            .as_ref()
            .is_some_and(|v| v.code == NfVerdict::Drop)
            || e.policy == Some(0)
    });
    let got_out = events
        .iter()
        .any(|e| e.table == TRACE_TABLE && e.chain == "post_end" && e.kind == StepKind::Policy);
    match (dropped, got_out) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

/// Whether `h`, a packet the router sent, answers `p` (sent with `tag`): it goes back to
/// `p`'s source and positively carries `p`'s identity — an ICMP error quotes `p`'s tag, a
/// TCP/UDP segment has `p`'s ports reversed, an echo reply has `p`'s echo id. Anything else
/// adjacent in time is unrelated: a neighbour-resolution failure of an earlier packet
/// reported seconds later, or an ICMP error whose own IP id happens to equal `tag`.
fn answers(h: &Headers, p: &Packet, tag: u32) -> bool {
    if h.dst != p.src {
        return false;
    }
    if let Some(quoted) = h.quoted_tag {
        return quoted == tag;
    }
    match (h.ports, p.l4.ports(), h.icmp_id, p.l4) {
        (Some(ports), Some((sport, dport)), _, _) => ports == (dport, sport),
        (None, None, Some(id), L4::Icmp { id: sent, .. } | L4::Icmpv6 { id: sent, .. }) => {
            id == sent
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::TcpFlags;

    fn syn() -> Packet {
        Packet::new(
            "10.1.1.2".parse().unwrap(),
            "10.1.0.2".parse().unwrap(),
            L4::Tcp {
                sport: 1050,
                dport: 2175,
                flags: TcpFlags::SYN,
            },
        )
    }

    fn sent_back(tag: u32) -> Headers {
        Headers {
            src: "10.1.1.1".parse().unwrap(),
            dst: "10.1.1.2".parse().unwrap(),
            proto: 1,
            tag,
            ttl: 64,
            ports: None,
            tcp_flags: None,
            icmp: Some((3, 3)),
            icmp_id: Some(0),
            quoted_tag: None,
            tos: 0,
            len: 56,
            dont_fragment: false,
        }
    }

    #[test]
    fn an_icmp_error_answers_only_the_packet_it_quotes() {
        let quoting = |q| Headers {
            quoted_tag: Some(q),
            ..sent_back(0x5701)
        };
        assert!(answers(&quoting(0x5701), &syn(), 0x5701));
        assert!(!answers(&quoting(0x5702), &syn(), 0x5701));
    }

    #[test]
    fn an_icmp_error_whose_own_id_equals_the_tag_is_not_an_answer_without_a_quote() {
        assert!(!answers(&sent_back(0x5701), &syn(), 0x5701));
    }

    #[test]
    fn a_reset_answers_when_its_ports_are_reversed() {
        let rst = |ports| Headers {
            proto: 6,
            icmp: None,
            icmp_id: None,
            ports: Some(ports),
            ..sent_back(0)
        };
        assert!(answers(&rst((2175, 1050)), &syn(), 0x5701));
        assert!(!answers(&rst((2175, 1051)), &syn(), 0x5701));
    }
}
