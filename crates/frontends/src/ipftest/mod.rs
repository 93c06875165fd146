//! `ipftest`'s packet input: the text format (`in on ed0 tcp 1.1.1.1,1 2.1.2.2,23 S`) and
//! the hex format (`-x`: raw bytes, each packet's lines optionally led by `[in,ed0]`).
//!
//! Both become the same thing ipftest hands to IPFilter: the packet's bytes, the interface
//! and the direction. The bytes keep everything IPFilter filters on (IP options, fragment
//! offset and MF, short packets, TCP flags, ICMP type and code, lengths), which
//! `model::Packet` does not all carry; the engine decodes them itself.
//!
//! Facts from IPFilter's `lib/ipft_tx.c` (text), `lib/ipft_hx.c` (hex), `lib/buildopts.c`
//! and `lib/addipopt.c` (the `opt` word), `tools/ipftest.c` (`fixv4sums`: text packets get
//! their checksums filled in, hex packets are taken as written).

mod checksum;
mod hex;
mod options;
mod text;

pub use checksum::fill_checksums;

use model::diag::ParseError;
use std::net::IpAddr;

/// Which input format (`-F text`, `-F hex`, or `-x`'s hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One packet per line (`ipft_tx.c`).
    Text,
    /// Hexadecimal bytes, packets separated by an empty line (`ipft_hx.c`).
    Hex,
}

/// How the link layer classified a hex packet (`[in,ed0]+mcast`, `+bcast`, `+mbcast`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkCast {
    /// `+mcast`.
    pub multicast: bool,
    /// `+bcast`.
    pub broadcast: bool,
    /// `+mbcast`.
    pub mbcast: bool,
}

/// One packet of the input, as ipftest hands it to the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPacket {
    /// `out` (true) or `in`.
    pub out: bool,
    /// The interface named (`on IF`, `[in,IF]`); `None` means ipftest's default (`anon0`,
    /// or `-I`'s).
    pub interface: Option<String>,
    /// An address given to the interface (`[out,nic0=192.168.1.188]`): NAT rules mapping
    /// to the interface's own address (`0/32`) use it.
    pub interface_addr: Option<IpAddr>,
    /// Link-layer classification given in the hex form.
    pub cast: LinkCast,
    /// The packet: IPv4 or IPv6 header onwards.
    pub bytes: Vec<u8>,
    /// The 1-based line the packet starts on, for messages.
    pub line: u32,
}

/// The packets of an input file, and the lines ipftest would skip with a message on
/// standard error (it does not stop).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Input {
    /// The packets, in order.
    pub packets: Vec<InputPacket>,
    /// Lines not understood, each skipped.
    pub skipped: Vec<ParseError>,
}

/// Reads an input file in `format`. `name` names it in errors.
pub fn parse(name: &str, text: &str, format: Format) -> Input {
    match format {
        Format::Text => text::parse(name, text),
        Format::Hex => hex::parse(text),
    }
}

/// Splits `name=addr` (how ipftest's `get_unit` gives an interface an address).
fn split_interface(spec: &str) -> (String, Option<IpAddr>) {
    match spec.split_once('=') {
        Some((name, addr)) => (name.to_string(), addr.trim().parse().ok()),
        None => (spec.to_string(), None),
    }
}
