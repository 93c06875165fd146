//! IPv4 headers (RFC 791).
//!
//! [`Packet::check_len`] checks the header (20 bytes and the options the IHL announces),
//! not the total length: captures are cut by the snap length and ICMP errors quote only the
//! start of a datagram, so [`Packet::payload`] is clamped to what the buffer holds.

use super::{get_u16, Error, Field, Result};
use std::net::Ipv4Addr;

mod field {
    use super::Field;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

pub const HEADER_LEN: usize = 20;

/// A view of an IPv4 header and what follows it.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    /// Ensures version 4, and that the buffer holds the fixed header and the options.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || b[field::VER_IHL] >> 4 != 4 {
            return Err(Error);
        }
        let hl = usize::from(self.header_len());
        if hl < HEADER_LEN || b.len() < hl {
            return Err(Error);
        }
        Ok(())
    }
    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }
    /// The whole TOS byte (DSCP << 2 | ECN).
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }
    pub fn total_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT)
    }
    pub fn dont_frag(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLG_OFF) & 0x4000 != 0
    }
    pub fn more_frags(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLG_OFF) & 0x2000 != 0
    }
    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (get_u16(self.buffer.as_ref(), field::FLG_OFF) & 0x1fff).wrapping_mul(8)
    }
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header, up to the total length or the end of the buffer,
    /// whichever comes first.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let hl = usize::from(self.header_len());
        let end = usize::from(self.total_len()).clamp(hl, b.len());
        &b[hl..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SYN: [u8; 24] = [
        0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 1, 1, 2, 10, 1,
        0, 2, 0x04, 0x1a, 0x08, 0x7f,
    ];

    #[test]
    fn test_deconstruct() {
        let p = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 1, 1, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 1, 0, 2));
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.next_header(), 6);
        assert!(p.dont_frag());
        assert_eq!(p.ident(), 0x1234);
        // Total length 60 but only 24 bytes captured: the payload is what is there.
        assert_eq!(p.payload(), &SYN[20..]);
    }

    #[test]
    fn test_parse_bad_version() {
        let mut b = SYN;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
    }

    #[test]
    fn test_parse_ihl_beyond_buffer() {
        let mut b = SYN;
        b[0] = 0x4f;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
    }

    #[test]
    fn test_parse_ihl_too_small() {
        let mut b = SYN;
        b[0] = 0x44;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
    }

    #[test]
    fn test_total_len_below_header() {
        let mut b = SYN;
        b[2] = 0;
        b[3] = 4;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.payload().is_empty());
    }
}
