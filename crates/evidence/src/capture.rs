//! A whole capture analysed: frames read ([`crate::pcap`]), decoded ([`crate::wire`]),
//! gathered into flows ([`crate::flows`]) and each flow classified ([`crate::classify`]).
//!
//! Memory stays bounded whatever the capture's size: the reader's buffer is fixed, the
//! flow table holds at most [`Options::max_flows`] flows (the longest idle are classified
//! early and forgotten), and at most [`Options::max_findings`] findings are kept (the rest
//! are counted). What the bounds cost is counted too, so that every count stays true: all
//! failed and suspicious flows (kept or not), the TCP flows evicted while still open
//! (their fate unknown, never "fine"), and the flows seen again mid-stream after eviction
//! (counted once).
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), evidence::pcap::CaptureError> {
//! let analysis = evidence::capture::analyze(bytes, &Default::default(), &mut |_| {})?;
//! for f in &analysis.findings {
//!     let _ = (f.flow, f.symptom.kind());
//! }
//! # Ok(()) }
//! ```

use crate::classify::{classify, fine, Finding, FineFlow, Symptom};
use crate::flows::{Flow, FlowTable, TableStats};
use crate::pcap::{CaptureError, CaptureReader, Format, Interface, ReadStats};
use crate::wire::{decode, NotDecoded};
use std::io::Read;

/// Limits of one analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Flows held at once.
    pub max_flows: usize,
    /// Findings kept; more are counted in [`CaptureAnalysis::findings_not_kept`].
    pub max_findings: usize,
    /// Evicted flows' keys remembered, to know their later packets as the same flow.
    pub max_evicted_remembered: usize,
}

/// Fine flows kept (the lowest-numbered), to show what worked beside what failed; all are
/// counted in [`CaptureAnalysis::ok_flows`].
pub const FINE_KEPT: usize = 20;

impl Default for Options {
    fn default() -> Options {
        Options {
            max_flows: 65_536,
            max_findings: 10_000,
            max_evicted_remembered: crate::flows::MAX_EVICTED_REMEMBERED,
        }
    }
}

/// How the frames decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketStats {
    /// IP datagrams.
    pub ip: u64,
    /// Frames that are not IP (ARP, LLDP...).
    pub not_ip: u64,
    /// Frames whose headers do not hold together.
    pub malformed: u64,
    /// Frames of a link type this reader does not decode.
    pub unsupported_link: u64,
}

/// What a capture shows.
#[derive(Debug)]
pub struct CaptureAnalysis {
    pub format: Format,
    pub interfaces: Vec<Interface>,
    pub read: ReadStats,
    pub packets: PacketStats,
    pub table: TableStats,
    /// Input bytes read.
    pub bytes: u64,
    pub first_ts: Option<u64>,
    pub last_ts: Option<u64>,
    /// Failed and suspicious flows, in order of their first packet (at most
    /// [`CaptureAnalysis::findings_limit`]).
    pub findings: Vec<Finding>,
    pub findings_not_kept: u64,
    /// How many findings are kept at most ([`Options::max_findings`]).
    pub findings_limit: usize,
    /// All failed flows, kept or not.
    pub failed: u64,
    /// All suspicious flows, kept or not.
    pub suspicious: u64,
    /// Flows with nothing wrong, seen whole.
    pub ok_flows: u64,
    /// TCP flows evicted while still open, with nothing wrong so far (a SYN whose answer
    /// may still have come, a connection not closed): their fate is unknown.
    pub evicted_open: u64,
    /// The first [`FINE_KEPT`] of them (by flow number), with what they show working.
    pub fine: Vec<FineFlow>,
    /// Reading stopped early on a malformed record: what came before is analysed.
    pub stopped_by: Option<CaptureError>,
}

impl CaptureAnalysis {
    /// Whether any flow failed (rather than merely looking suspicious).
    pub fn has_failures(&self) -> bool {
        self.failed > 0
    }

    /// Whether the capture holds no IP packet at all: "no flow failed" would then be an
    /// all-clear without ground (an empty file, a wrong interface or capture filter, a
    /// file cut inside its first record).
    pub fn shows_no_traffic(&self) -> bool {
        self.packets.ip == 0
    }
}

/// Reads and analyses a capture. `progress` is called now and then with the bytes read.
/// Fails only when the input is not a capture at all; a malformed record later ends the
/// reading with [`CaptureAnalysis::stopped_by`] set.
pub fn analyze<R: Read>(
    input: R,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<CaptureAnalysis, CaptureError> {
    let mut reader = CaptureReader::new(input)?;
    let mut table = FlowTable::bounded(options.max_flows, options.max_evicted_remembered);
    let mut packets = PacketStats::default();
    let mut findings: Vec<Finding> = Vec::new();
    let mut not_kept = 0u64;
    let mut failed = 0u64;
    let mut suspicious = 0u64;
    let mut ok = 0u64;
    let mut evicted_open = 0u64;
    let mut first_ts = None;
    let mut last_ts = None;
    let mut stopped_by = None;
    let mut next_progress = 0u64;
    let mut fine_flows: Vec<FineFlow> = Vec::new();
    let max_findings = options.max_findings;
    let mut sink = |mut flow: Flow, t: &FlowTable| match classify(&mut flow, &|a| t.ttl_of(a)) {
        // Evicted open before its answer was due: not (yet) a timeout.
        Some(f) if flow.evicted_open && matches!(f.symptom, Symptom::SynUnanswered { .. }) => {
            evicted_open += 1;
        }
        Some(f) => {
            if f.symptom.is_failure() {
                failed += 1;
            } else {
                suspicious += 1;
            }
            if findings.len() < max_findings {
                findings.push(f);
            } else {
                not_kept += 1;
            }
        }
        // Seen again after eviction: counted in `TableStats::resumed`, never as fine.
        None if flow.resumed => {}
        None if flow.evicted_open => evicted_open += 1,
        None if flow.answers.is_none() => {
            ok += 1;
            // Flows end in no particular order (eviction, then the drain): keep the
            // lowest-numbered ones.
            if fine_flows.len() < FINE_KEPT {
                fine_flows.push(fine(&flow));
            } else if let Some((i, _)) = fine_flows.iter().enumerate().max_by_key(|(_, f)| f.flow) {
                if fine_flows[i].flow > flow.id {
                    fine_flows[i] = fine(&flow);
                }
            }
        }
        None => {}
    };
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                stopped_by = Some(e);
                break;
            }
        };
        first_ts.get_or_insert(frame.timestamp_ns);
        last_ts = Some(frame.timestamp_ns);
        match decode(frame.link, frame.data) {
            Ok(d) => {
                packets.ip += 1;
                table.add(
                    &d,
                    frame.number,
                    frame.timestamp_ns,
                    frame.interface,
                    &mut sink,
                );
            }
            Err(NotDecoded::NotIp) => packets.not_ip += 1,
            Err(NotDecoded::Malformed) => packets.malformed += 1,
            Err(NotDecoded::UnsupportedLink) => packets.unsupported_link += 1,
        }
        let pos = frame.offset;
        if pos >= next_progress {
            progress(pos);
            next_progress = pos + (8 << 20);
        }
    }
    for flow in table.drain() {
        sink(flow, &table);
    }
    findings.sort_by_key(|f| f.flow);
    fine_flows.sort_by_key(|f| f.flow);
    progress(reader.position());
    Ok(CaptureAnalysis {
        format: reader.format(),
        interfaces: reader.interfaces().to_vec(),
        read: reader.stats(),
        packets,
        table: table.stats,
        bytes: reader.position(),
        first_ts,
        last_ts,
        findings,
        findings_not_kept: not_kept,
        findings_limit: max_findings,
        failed,
        suspicious,
        ok_flows: ok,
        evicted_open,
        fine: fine_flows,
        stopped_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Working;

    /// A classic pcap (Ethernet) of the given IPv4 datagrams.
    fn pcap(datagrams: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        out.extend([0u8; 8]);
        out.extend(65535u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        for (i, d) in datagrams.iter().enumerate() {
            let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
            frame.extend(d);
            out.extend(1_700_000_000u32.to_le_bytes());
            out.extend((i as u32 * 1000).to_le_bytes());
            out.extend((frame.len() as u32).to_le_bytes());
            out.extend((frame.len() as u32).to_le_bytes());
            out.extend(frame);
        }
        out
    }

    fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
        let total = (20 + l4.len()) as u16;
        let mut d = vec![0x45, 0];
        d.extend(total.to_be_bytes());
        d.extend([0, 1, 0x40, 0, 64, proto, 0, 0]);
        d.extend(src);
        d.extend(dst);
        d.extend(l4);
        d
    }

    fn echo(icmp_type: u8, id: u16) -> Vec<u8> {
        let mut m = vec![icmp_type, 0, 0, 0];
        m.extend(id.to_be_bytes());
        m.extend([0, 1]);
        m.extend([0x42; 8]);
        m
    }

    const C: [u8; 4] = [10, 1, 1, 2];
    const S: [u8; 4] = [10, 1, 0, 2];

    /// A ping that passed is kept as a fine flow, with its first packet to simulate (user
    /// story 1: it shows what the firewall let through beside what it refused).
    #[test]
    fn an_answered_ping_is_kept_as_a_fine_flow() {
        let bytes = pcap(&[ipv4(C, S, 1, &echo(8, 7)), ipv4(S, C, 1, &echo(0, 7))]);
        let a = analyze(&bytes[..], &Options::default(), &mut |_| {}).unwrap();
        assert!(a.findings.is_empty(), "{:?}", a.findings);
        assert_eq!(a.ok_flows, 1);
        assert_eq!(a.fine.len(), 1);
        let f = &a.fine[0];
        assert_eq!(
            f.working,
            Working::EchoAnswered {
                requests: 1,
                replies: 1
            }
        );
        assert_eq!(f.packets, [1, 1]);
        assert_eq!(f.first_packet.src, std::net::IpAddr::from(C));
        assert_eq!(f.first_frame, 1);
    }

    /// Only the first [`FINE_KEPT`] fine flows are kept, the lowest-numbered; all are counted.
    #[test]
    fn fine_flows_are_bounded_and_the_first_kept() {
        let n = FINE_KEPT as u16 + 10;
        let pings: Vec<Vec<u8>> = (0..n)
            .flat_map(|id| [ipv4(C, S, 1, &echo(8, id)), ipv4(S, C, 1, &echo(0, id))])
            .collect();
        let bytes = pcap(&pings);
        for max_flows in [65_536, 3] {
            // With a small table, flows are evicted early and finish out of order.
            let options = Options {
                max_flows,
                ..Options::default()
            };
            let a = analyze(&bytes[..], &options, &mut |_| {}).unwrap();
            assert_eq!(a.ok_flows, u64::from(n));
            let kept: Vec<u64> = a.fine.iter().map(|f| f.flow).collect();
            let first: Vec<u64> = (1..=FINE_KEPT as u64).collect();
            assert_eq!(kept, first, "max_flows {max_flows}");
        }
    }
}
