//! Packet formats as typed views over bytes (after smoltcp's `wire`): Ethernet II (with
//! VLAN tags), Linux cooked captures (SLL, SLL2), IPv4, IPv6, TCP, UDP, ICMP and ICMPv6.
//!
//! # Reading: `Packet`
//!
//! Each header has a view `Packet<T: AsRef<[u8]>>` over a byte buffer ([`ethernet::Frame`]
//! for Ethernet): `new_unchecked` wraps any buffer, `new_checked` wraps it after
//! `check_len` passed. There is one getter per field, named as in the RFCs and the kernel
//! (IPv4 [`ttl`](ipv4::Packet::ttl) and [`protocol`](ipv4::Packet::protocol), IPv6
//! [`hop_limit`](ipv6::Packet::hop_limit) and [`next_header`](ipv6::Packet::next_header)).
//! Over a borrowed buffer (`Packet<&'a [u8]>`), `payload` (ICMP: `data`) returns
//! `&'a [u8]`, so a decoder can hand out slices of the frame it was given.
//!
//! **Panic contract:** once `check_len` has passed, no getter of that view panics, whatever
//! the bytes say. Lengths read from a header (IHL, data offset, total length, payload
//! length, UDP length, VLAN tags) are checked by `check_len` or clamped by the getter that
//! uses them: captures are cut by the snap length, ICMP errors quote only the start of a
//! datagram and trace events carry the headers alone, so a payload is what the buffer holds
//! up to what the header announces, never more. Without `check_len`, getters may panic on a
//! short buffer: code reading untrusted bytes goes through `new_checked`.
//!
//! # Building: setters and `Repr`
//!
//! Setters are in an `impl` that needs `AsMut<[u8]>`; they expect a buffer long enough for
//! the header (and panic otherwise). A `Repr` is the compact value a header is built from:
//! `parse` reads it from a checked view, `buffer_len` says how many bytes it needs and
//! `emit` writes it, with the header's Internet checksum where it has one.
//!
//! # Public surface
//!
//! One public module per header (`wire::ipv4::Packet`, `wire::tcp::Repr`, as in smoltcp),
//! because its users name the header they read or build; the views and `Repr`s are also
//! re-exported at the root (`Ipv4Packet`, `TcpRepr`, ...), with [`Error`], [`Field`] and
//! the field readers [`get_u16`] and [`get_u32`] for code that reads a header this crate
//! has no view for. The checksum arithmetic is private: a view verifies its checksum and a
//! `Repr` emits it.
//!
//! # Users
//!
//! `evidence` decodes captured frames with the read side; `oracle` builds the frames it
//! injects with `Repr`/`emit`; `netlink` reads the network headers of kernel trace events.

mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod sll;
pub mod tcp;
pub mod udp;

pub use ethernet::{Frame as EthernetFrame, Repr as EthernetRepr};
pub use icmp::{Packet as IcmpPacket, Repr as IcmpRepr};
pub use ipv4::{Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use ipv6::{Packet as Ipv6Packet, Repr as Ipv6Repr};
pub use sll::Packet as SllPacket;
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

/// The byte range of a field in a header (`LENGTH: Field = 2..4`).
pub type Field = std::ops::Range<usize>;

/// The big-endian `u16` at `f.start`. Panics unless `b` holds it: call it on ranges that a
/// `check_len` (or an explicit length test) has covered.
pub fn get_u16(b: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([b[f.start], b[f.start + 1]])
}

/// The big-endian `u32` at `f.start`. Panics unless `b` holds it, as [`get_u16`].
pub fn get_u32(b: &[u8], f: Field) -> u32 {
    u32::from_be_bytes([b[f.start], b[f.start + 1], b[f.start + 2], b[f.start + 3]])
}

pub(crate) fn set_u16(b: &mut [u8], f: Field, v: u16) {
    b[f].copy_from_slice(&v.to_be_bytes());
}

pub(crate) fn set_u32(b: &mut [u8], f: Field, v: u32) {
    b[f].copy_from_slice(&v.to_be_bytes());
}
