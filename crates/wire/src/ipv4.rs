//! IPv4 headers (RFC 791).
//!
//! [`Packet::check_len`] checks the header (20 bytes and the options the IHL announces),
//! not the total length: captures are cut by the snap length, ICMP errors quote only the
//! start of a datagram and trace events carry the header alone, so [`Packet::payload`] is
//! clamped to what the buffer holds (and to the total length, so Ethernet padding is not
//! read as payload).

use super::{checksum, get_u16, set_u16, Error, Field, Result};
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
    pub const CHECKSUM: Field = 10..12;
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
    /// Ensures version 4, and that the buffer holds the fixed header and the options the
    /// IHL announces.
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
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
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
        (get_u16(self.buffer.as_ref(), field::FLG_OFF) & 0x1fff) * 8
    }
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    /// The protocol of the payload (6 TCP, 17 UDP, 1 ICMP...).
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..usize::from(self.header_len())]) == 0
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

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_and_header_len(&mut self, len: u8) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | (len / 4);
    }
    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::TOS] = v;
    }
    pub fn set_total_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, v);
    }
    pub fn set_ident(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::IDENT, v);
    }
    /// Sets DF, MF and the offset (in bytes, a multiple of 8).
    pub fn set_flags_and_offset(&mut self, df: bool, mf: bool, offset: u16) {
        let v = (df as u16) << 14 | (mf as u16) << 13 | ((offset / 8) & 0x1fff);
        set_u16(self.buffer.as_mut(), field::FLG_OFF, v);
    }
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }
    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = v;
    }
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, 0);
        let hl = usize::from(self.header_len());
        let c = checksum::data(&self.buffer.as_ref()[..hl]);
        set_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
    /// Everything after the header (whatever the total length says).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = usize::from(self.header_len());
        &mut self.buffer.as_mut()[hl..]
    }
}

/// An IPv4 header (without options) as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub payload_len: usize,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    /// In bytes, a multiple of 8.
    pub frag_offset: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        p.check_len()?;
        Ok(Repr {
            src: p.src_addr(),
            dst: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: usize::from(p.total_len()).saturating_sub(usize::from(p.header_len())),
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the header with its checksum; the buffer must hold [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) -> Result<()> {
        let total = HEADER_LEN + self.payload_len;
        if total > u16::MAX as usize || p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error);
        }
        p.set_version_and_header_len(HEADER_LEN as u8);
        p.set_tos(self.tos);
        p.set_total_len(total as u16);
        p.set_ident(self.ident);
        p.set_flags_and_offset(self.dont_frag, self.more_frags, self.frag_offset);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real SYN from Linux (10.99.0.1 -> 10.99.0.2, id 2388, TTL 64, DF), header only.
    const HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x3c, 0x09, 0x54, 0x40, 0x00, 0x40, 0x06, 0x1c, 0xa0, 0x0a, 0x63, 0x00,
        0x01, 0x0a, 0x63, 0x00, 0x02,
    ];

    // A SYN header and the first 4 bytes of its TCP header, as a short snap length keeps it.
    static SYN: [u8; 24] = [
        0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 1, 1, 2, 10, 1,
        0, 2, 0x04, 0x1a, 0x08, 0x7f,
    ];

    #[test]
    fn test_deconstruct() {
        let p = Packet::new_checked(&HEADER[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.ident(), 2388);
        assert!(p.dont_frag());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), 6);
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 99, 0, 1));
        assert!(p.verify_checksum());
    }

    #[test]
    fn test_deconstruct_snapped() {
        let p = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 1, 1, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 1, 0, 2));
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), 6);
        assert!(p.dont_frag());
        assert_eq!(p.ident(), 0x1234);
        // Total length 60 but only 24 bytes captured: the payload is what is there.
        assert_eq!(p.payload(), &SYN[20..]);
    }

    #[test]
    fn test_emit_matches_known_bytes() {
        let repr = Repr {
            src: Ipv4Addr::new(10, 99, 0, 1),
            dst: Ipv4Addr::new(10, 99, 0, 2),
            protocol: 6,
            payload_len: 40,
            ttl: 64,
            tos: 0,
            ident: 2388,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let mut buf = [0u8; 20];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(buf, HEADER);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&buf[..]).unwrap()).unwrap(),
            repr
        );
    }

    #[test]
    fn test_parse_bad_version() {
        let mut b = HEADER;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error);
        let mut b = SYN;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
    }

    #[test]
    fn test_parse_ihl_beyond_buffer() {
        let mut b = SYN;
        b[0] = 0x4f;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
        let mut b = HEADER;
        b[0] = 0x46; // 24-byte header in a 20-byte buffer
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error);
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
