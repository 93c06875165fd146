//! A whole capture analysed: frames read ([`crate::pcap`]), decoded ([`crate::wire`]),
//! gathered into flows ([`crate::flows`]) and each flow classified ([`crate::classify`]).
//!
//! Memory stays bounded whatever the capture's size: the reader's buffer is fixed, the
//! flow table holds at most [`Options::max_flows`] flows (the longest idle are classified
//! early and forgotten), and at most [`Options::max_findings`] findings are kept (the rest
//! are counted).
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), evidence::pcap::CaptureError> {
//! let analysis = evidence::capture::analyze(bytes, &Default::default(), &mut |_| {})?;
//! for f in &analysis.findings {
//!     let _ = (f.flow, f.symptom.kind());
//! }
//! # Ok(()) }
//! ```

use crate::classify::{classify, Finding};
use crate::flows::{Flow, FlowTable, TableStats};
use crate::pcap::{CaptureError, CaptureReader, Format, Interface, ReadStats};
use crate::wire::{decode, decode::NotDecoded};
use std::io::Read;

/// Limits of one analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Flows held at once.
    pub max_flows: usize,
    /// Findings kept; more are counted in [`CaptureAnalysis::findings_not_kept`].
    pub max_findings: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_flows: 65_536,
            max_findings: 10_000,
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
    /// Failed and suspicious flows, in order of their first packet.
    pub findings: Vec<Finding>,
    pub findings_not_kept: u64,
    /// Flows with nothing wrong.
    pub ok_flows: u64,
    /// Reading stopped early on a malformed record: what came before is analysed.
    pub stopped_by: Option<CaptureError>,
}

impl CaptureAnalysis {
    /// Whether any flow failed (rather than merely looking suspicious).
    pub fn has_failures(&self) -> bool {
        self.findings.iter().any(|f| f.symptom.is_failure())
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
    let mut table = FlowTable::new(options.max_flows);
    let mut packets = PacketStats::default();
    let mut findings: Vec<Finding> = Vec::new();
    let mut not_kept = 0u64;
    let mut ok = 0u64;
    let mut first_ts = None;
    let mut last_ts = None;
    let mut stopped_by = None;
    let mut next_progress = 0u64;
    let max_findings = options.max_findings;
    let mut sink = |mut flow: Flow, t: &FlowTable| match classify(&mut flow, &|a| t.ttl_of(a)) {
        Some(f) if findings.len() < max_findings => findings.push(f),
        Some(_) => not_kept += 1,
        None if flow.answers.is_none() => ok += 1,
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
        ok_flows: ok,
        stopped_by,
    })
}
