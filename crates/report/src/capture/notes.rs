//! How the capture and the other inputs were read, in notes; where a captured packet was
//! placed on the host.

use super::{plural, secs, CaptureAnswer};
use crate::words;
use analysis::capture::Placement;
use evidence::capture::CaptureAnalysis;

pub(super) fn reading_notes(an: &CaptureAnalysis) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &an.stopped_by {
        out.push(format!("reading stopped {e}; what came before is analysed"));
    }
    if let Some(at) = an.read.truncated_at {
        out.push(format!(
            "the file ends inside a record at byte {at} (cut short)"
        ));
    }
    if an.shows_no_traffic() {
        out.push(
            "the capture holds no IP packet: check the interface and filter it was taken \
             with (`tcpdump -i IF`), and that it was not cut before its first packet"
                .to_string(),
        );
    }
    let p = &an.packets;
    let evicted_open = if an.evicted_open == 1 {
        "evicted before it ended: its fate is unknown"
    } else {
        "evicted before they ended: their fate is unknown"
    };
    let counts = [
        (p.malformed, "malformed frame", "skipped"),
        (
            p.unsupported_link,
            "frame",
            "of an unsupported link type skipped",
        ),
        (
            an.read.skipped_packets,
            "packet block",
            "skipped (too large, or an undescribed interface)",
        ),
        (
            an.table.evicted,
            "flow",
            "classified early to keep memory bounded (idle the longest)",
        ),
        (an.evicted_open, "TCP flow", evicted_open),
        (
            an.table.resumed,
            "flow",
            "seen again mid-stream after eviction (counted once; not called fine)",
        ),
        (
            an.table.evictions_not_remembered,
            "evicted flow",
            "could not be remembered: the flow count is an upper bound",
        ),
    ];
    for (n, noun, rest) in counts {
        if n > 0 {
            out.push(format!("{n} {noun}{} {rest}", plural(n)));
        }
    }
    out
}

/// The notes on how the inputs were read, then whether some flows could not be placed.
pub(super) fn input_notes(a: &CaptureAnswer<'_>) -> Vec<String> {
    let mut notes: Vec<String> = a.notes.iter().map(words::input_note).collect();
    if a.simulations.unplaced {
        notes.push(
            "some flows were not simulated: give --at IFACE, the interface the capture was taken on"
                .to_string(),
        );
    }
    notes
}

/// How a captured packet was placed on the host, in words.
pub(super) fn placement(p: &Placement) -> String {
    match p {
        Placement::SentByHost { iface: Some(i) } => {
            format!("sent by this host out of {i}: the source is its own address")
        }
        Placement::SentByHost { iface: None } => {
            "sent by this host: the source is its own address".to_string()
        }
        Placement::LeftArrivalUnknown { iface } => format!(
            "captured leaving {iface}; its arrival interface is unknown, simulated as arriving on {iface}"
        ),
        Placement::Arrived { iface } => format!("seen arriving on {iface}, the capture point"),
    }
}

pub(super) fn format_name(an: &CaptureAnalysis) -> &'static str {
    match an.format {
        evidence::pcap::Format::Pcap => "pcap",
        evidence::pcap::Format::Pcapng => "pcapng",
    }
}

pub(super) fn duration(an: &CaptureAnalysis) -> String {
    match (an.first_ts, an.last_ts) {
        (Some(a), Some(b)) if b > a => format!(" over {} s", secs(b - a)),
        _ => String::new(),
    }
}
