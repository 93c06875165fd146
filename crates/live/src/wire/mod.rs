//! Packet formats, as typed views over bytes (after smoltcp's `wire`).
//!
//! Each header has a `Packet<T: AsRef<[u8]>>` view: `new_unchecked` wraps any buffer,
//! `new_checked` wraps it after [`check_len`](ipv4::Packet::check_len) passed, and after
//! that no getter panics. Setters need `AsMut<[u8]>`. A `Repr` is the compact value a
//! header is built from: `buffer_len` says how many bytes it needs and `emit` writes it.
//!
//! The views read what the kernel's trace events carry (network and transport headers,
//! possibly truncated: lengths in the header are not required to fit the buffer) and write
//! what the oracle injects ([`crate::frame`]).

pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

pub use ethernet::{Frame as EthernetFrame, Repr as EthernetRepr};
pub use icmp::Packet as IcmpPacket;
pub use ipv4::{Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use ipv6::{Packet as Ipv6Packet, Repr as Ipv6Repr};
pub use tcp::{Packet as TcpPacket, Repr as TcpRepr};
pub use udp::{Packet as UdpPacket, Repr as UdpRepr};

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

pub(crate) fn get_u16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([b[f.start], b[f.start + 1]])
}
pub(crate) fn get_u32(b: &[u8], f: Field) -> u32 {
    u32::from_be_bytes([b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3]])
}
pub(crate) fn set_u16(b: &mut [u8], f: Field, v: u16) {
    b[f].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn set_u32(b: &mut [u8], f: Field, v: u32) {
    b[f].copy_from_slice(&v.to_be_bytes());
}
