//! A capture's diagnosis (`whyblocked pcap`): a table of the failed and suspicious flows,
//! then each one explained (what the capture proves, which hop answered, what it usually
//! means, the TLS handshake as far as it travelled in clear) and, when a ruleset was given,
//! the simulation of its first packet with the deciding rule.
//!
//! ```text
//! capture   story1.pcap (pcap, Ethernet): 4 frames, 1 flow
//! flows     1 failed, 0 suspicious, 0 fine
//!
//!  flow  what                               proto  client -> server                   answered by
//!     1  rejected: ICMP port unreachable    tcp    10.1.1.2:1050 -> 10.1.0.2:2175     10.1.1.1 (on the way)
//! ```
//!
//! [`json::render`] writes the same as [`json::CaptureJson`]: its own serialisable types, so the
//! evidence crate's internals can change without changing the schema.

pub mod json;
pub mod path;
pub mod text;

mod finding;
mod notes;
mod pmtu;
mod tls;

use crate::words;
use analysis::capture::CaptureSimulations;
use evidence::capture::CaptureAnalysis;
use evidence::classify::{Finding, FineFlow};
use evidence::flows::Endpoint;
use evidence::tls::Side;
use model::note::InputNote;
use model::{Host, Ruleset};

/// Everything a capture diagnosis is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct CaptureAnswer<'a> {
    /// The capture's name as given.
    pub file: &'a str,
    pub analysis: &'a CaptureAnalysis,
    /// The findings' and fine flows' simulations, when rules were given.
    pub simulations: &'a CaptureSimulations,
    pub ruleset: &'a Ruleset,
    pub host: &'a Host,
    /// Notes on how inputs were read.
    pub notes: &'a [InputNote],
    /// The failed flows walked across a topology, when one was given.
    pub paths: Option<&'a path::CapturePaths>,
}

/// "0 hops from the capture point (its sender is on the captured link)".
pub(super) fn distance(hops: u8) -> String {
    if hops == 0 {
        "0 hops from the capture point (sent from the captured link itself)".to_string()
    } else {
        format!(
            "{hops} hop{} from the capture point",
            plural(u64::from(hops))
        )
    }
}

pub(super) fn secs(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e9)
}

pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(super) fn side_name(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
    }
}

/// `tcp`, `udp`, `icmp`... or `proto N`.
pub(super) fn proto_name(p: u8) -> String {
    match model::packet::IpProto::from_number(p) {
        model::packet::IpProto::Other(n) => format!("proto {n}"),
        known => known.to_string(),
    }
}

/// An endpoint as the flow's protocol shows it (ports for TCP/UDP, the echo id for ICMP).
pub(super) fn endpoint(e: Endpoint, f: &Finding) -> String {
    match f.protocol {
        1 | 58 if e.1 != 0 => format!("{} (id {})", e.0, e.1),
        1 | 58 => e.0.to_string(),
        _ if f.from_quote && e.1 == 0 => e.0.to_string(),
        _ => words::addr_port(e.0, Some(e.1)),
    }
}

pub(super) fn fine_endpoint(e: Endpoint, f: &FineFlow) -> String {
    match f.protocol {
        1 | 58 if e.1 != 0 => format!("{} (id {})", e.0, e.1),
        1 | 58 => e.0.to_string(),
        _ => words::addr_port(e.0, Some(e.1)),
    }
}
