//! Evidence in, packets and symptoms out: kernel log lines, TRACE lines, `xtables-monitor`
//! and `nft monitor trace` text, and conntrack events.
//!
//! - [`wrapper`]: what dmesg, syslog and the journal put in front of a kernel message;
//! - [`log_line`]: a kernel LOG / nft `log` line (`[UFW BLOCK] IN=tap0 OUT=eno1 ... SRC=...`)
//!   into the packet it describes;
//! - [`log_file`]: a whole log, streamed, grouped into flows;
//! - [`trace`]: what the three kernel tracers say, as one shape ([`trace::TracedPacket`]);
//! - [`trace_legacy`]: iptables-legacy `TRACE:` kernel log lines;
//! - [`xtables_monitor`]: `xtables-monitor --trace` output;
//! - [`nft_monitor`]: `nft monitor trace` output;
//! - [`nft_listing`]: `nft -a list ruleset`, to place traced rules by handle or text;
//! - [`conntrack_events`]: `conntrack -E` / `-L` lines, grouped per flow;
//! - [`pcap`]: pcap and pcapng captures, streamed through a fixed buffer;
//! - [`wire`]: a captured frame decoded into the datagram it carries, over the header
//!   views of the `wire` crate;
//! - [`flows`]: captured packets reassembled into flows, in bounded memory;
//! - [`tls`]: TLS handshake records and alerts seen in clear;
//! - [`classify`]: each failed or suspicious flow named (timed out, refused, ICMP error...);
//! - [`capture`]: a whole capture analysed: reader, flows and classification together.
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
pub mod nft_monitor;
pub mod pcap;
pub mod tls;
pub mod trace;
pub mod trace_legacy;
pub mod wire {
    //! Captured frames into datagrams: [`decode()`] reads a frame of any supported link type
    //! with the header views of the `wire` crate and returns a [`Datagram`]: addresses, TTL,
    //! transport fields and, for ICMP errors, the quoted original header.

    pub mod decode;

    pub use decode::{decode, Datagram, Direction, Quoted, Transport};
}
pub mod wrapper;
pub mod xtables_monitor;
