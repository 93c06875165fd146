//! Evidence in, packets and symptoms out: kernel log lines, TRACE lines, `xtables-monitor`
//! and `nft monitor trace` text, conntrack events and packet captures.
//!
//! # Public surface
//!
//! One public module per kind of evidence, because `analysis`, `report` and `cli` name
//! the reader and the types of the evidence they were given:
//! - [`log_line`]: a kernel LOG / nft `log` line (`[UFW BLOCK] IN=tap0 OUT=eno1 ... SRC=...`)
//!   into the packet it describes;
//! - [`log_file`]: a whole log, streamed, grouped into flows;
//! - [`trace`]: what the three kernel tracers say, as one shape ([`trace::TracedPacket`]),
//!   with [`trace::parse`] telling the tracer from the text and [`trace::parse_as`] taking it;
//! - [`nft_listing`]: `nft -a list ruleset`, to place traced rules by handle or text;
//! - [`conntrack_events`]: `conntrack -E` / `-L` lines, grouped per flow;
//! - [`pcap`]: pcap and pcapng captures, streamed through a fixed buffer;
//! - [`wire`]: a captured frame decoded into the datagram it carries, over the header
//!   views of the `wire` crate;
//! - [`flows`]: captured packets reassembled into flows, in bounded memory;
//! - [`tls`]: TLS handshake records and alerts seen in clear;
//! - [`pmtu`]: a TCP connection's segments followed for the path-MTU black hole;
//! - [`classify`]: each failed or suspicious flow named (timed out, refused, ICMP error...);
//! - [`capture`]: a whole capture analysed: reader, flows and classification together.
//!
//! At the crate root: [`Stamp`], the timestamp a log or event line carried.
//!
//! Private: what dmesg, syslog and the journal put in front of a kernel message (removed
//! by the line readers), and the three tracers' own parsers (iptables-legacy `TRACE:`
//! lines, `xtables-monitor --trace`, `nft monitor trace`), reached through [`trace`].
//!
//! Every parser takes any input without panicking: a line it cannot read is counted and
//! returned as a [`frontends::ParseError`] with its line, never fatal to the rest.

pub mod capture;
pub mod classify;
pub mod conntrack_events;
pub mod flows;
pub mod log_file;
pub mod log_line;
pub mod nft_listing;
pub mod pcap;
pub mod pmtu;
pub mod tls;
pub mod trace;
pub mod wire {
    //! Captured frames into datagrams: [`decode()`] reads a frame of any supported link type
    //! with the header views of the `wire` crate and returns a [`Datagram`]: addresses, TTL,
    //! transport fields and, for ICMP errors, the quoted original header.

    mod decode;

    pub use decode::{decode, Datagram, Direction, NotDecoded, Quoted, Transport};
}

mod nft_monitor;
mod trace_legacy;
mod wrapper;
mod xtables_monitor;

pub use wrapper::Stamp;
