//! Read-side views of the headers found in captures (after smoltcp's `wire`).
//!
//! Each header is a typed view `Packet<T: AsRef<[u8]>>` over a byte buffer:
//! `new_unchecked` wraps any buffer, `new_checked` wraps it after `check_len` passed.
//! **Panic contract:** once `check_len` has passed, no getter of that view panics, whatever
//! the bytes say; lengths read from a header (IHL, data offset, payload length) are checked
//! by `check_len` or clamped by the getter that uses them. Without `check_len`, getters may
//! panic on a short buffer, so everything in this crate goes through `new_checked`.
//!
//! [`decode`] turns one captured frame (any supported link type) into a [`decode::Datagram`]:
//! addresses, TTL, transport fields and, for ICMP errors, the quoted original header.
//!
//! These views only read: frames for injection are built by the `live` crate.

pub mod decode;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod sll;
pub mod tcp;
pub mod udp;

pub use decode::{decode, Datagram, Direction, Quoted, Transport};
pub use ethernet::Frame as EthernetFrame;
pub use icmp::Packet as IcmpPacket;
pub use ipv4::Packet as Ipv4Packet;
pub use ipv6::Packet as Ipv6Packet;
pub use tcp::Packet as TcpPacket;
pub use udp::Packet as UdpPacket;

use std::fmt;

/// A buffer too short for the header it should hold, or a field with an impossible value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("truncated or malformed header")
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) type Field = std::ops::Range<usize>;

/// Big-endian u16 at `f` (the caller guarantees `f` is inside `b`: after `check_len`).
pub(crate) fn get_u16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([b[f.start], b[f.start + 1]])
}

/// Big-endian u32 at `f` (the caller guarantees `f` is inside `b`: after `check_len`).
pub(crate) fn get_u32(b: &[u8], f: Field) -> u32 {
    u32::from_be_bytes([b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3]])
}
