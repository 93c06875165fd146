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
    let p = &an.packets;
    if p.malformed > 0 {
        out.push(format!(
            "{} malformed frame{} skipped",
            p.malformed,
            plural(p.malformed)
        ));
    }
    if p.unsupported_link > 0 {
        out.push(format!(
            "{} frame{} of an unsupported link type skipped",
            p.unsupported_link,
            plural(p.unsupported_link)
        ));
    }
    if an.read.skipped_packets > 0 {
        out.push(format!(
            "{} packet block{} skipped (too large, or an undescribed interface)",
            an.read.skipped_packets,
            plural(an.read.skipped_packets)
        ));
    }
    if an.table.evicted > 0 {
        out.push(format!(
            "{} flow{} classified early to keep memory bounded (idle the longest)",
            an.table.evicted,
            plural(an.table.evicted)
        ));
    }
    if an.evicted_open > 0 {
        out.push(format!(
            "{} TCP flow{} evicted before {} ended: {} fate is unknown",
            an.evicted_open,
            plural(an.evicted_open),
            if an.evicted_open == 1 { "it" } else { "they" },
            if an.evicted_open == 1 { "its" } else { "their" },
        ));
    }
    if an.table.resumed > 0 {
        out.push(format!(
            "{} flow{} seen again mid-stream after eviction (counted once; not called fine)",
            an.table.resumed,
            plural(an.table.resumed)
        ));
    }
    if an.table.evictions_not_remembered > 0 {
        out.push(format!(
            "{} evicted flow{} could not be remembered: the flow count is an upper bound",
            an.table.evictions_not_remembered,
            plural(an.table.evictions_not_remembered)
        ));
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
