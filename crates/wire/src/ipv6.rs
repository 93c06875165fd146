//! IPv6 headers (RFC 8200) and the walk over extension headers to the upper layer.

use super::{get_u16, get_u32, set_u16, set_u32, Error, Field, Result};
use std::net::Ipv6Addr;

mod field {
    use super::Field;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

pub const HEADER_LEN: usize = 40;
/// More extension headers than this is not a real packet; stop walking.
const MAX_EXTENSIONS: usize = 8;

/// A view of an IPv6 header and what follows it.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// Where the upper-layer header starts, past the extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer<'a> {
    /// The upper-layer protocol (6 TCP, 17 UDP, 58 ICMPv6...).
    pub protocol: u8,
    pub payload: &'a [u8],
    /// A fragment other than the first: no upper-layer header here.
    pub later_fragment: bool,
    /// A fragment header was crossed.
    pub fragmented: bool,
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
    /// Ensures version 6 and that the buffer holds the 40-byte fixed header.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || b[0] >> 4 != 6 {
            return Err(Error);
        }
        Ok(())
    }
    fn word0(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VER_TC_FLOW)
    }
    pub fn version(&self) -> u8 {
        (self.word0() >> 28) as u8
    }
    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }
    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }
    /// The header after this one: an extension header or the upper layer.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }
    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the fixed header, up to the payload length or the buffer's end.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(b.len());
        &b[HEADER_LEN..end]
    }
    /// Walks hop-by-hop, routing, fragment, destination-options and AH headers to the
    /// upper layer. `None` when the chain is cut short by the end of the buffer.
    pub fn upper_layer(&self) -> Option<UpperLayer<'a>> {
        walk(self.next_header(), self.payload())
    }
    /// [`Packet::upper_layer`] for the datagram quoted by an ICMP error: the quote is cut, so
    /// the walk goes over every byte that is there, whatever the payload length promises.
    pub fn upper_layer_of_quote(&self) -> Option<UpperLayer<'a>> {
        let b: &'a [u8] = self.buffer.as_ref();
        walk(self.next_header(), &b[HEADER_LEN..])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 6, the traffic class and the (20-bit) flow label.
    pub fn set_version_tc_flow(&mut self, tc: u8, flow: u32) {
        set_u32(
            self.buffer.as_mut(),
            field::VER_TC_FLOW,
            6 << 28 | (tc as u32) << 20 | (flow & 0x000f_ffff),
        );
    }
    pub fn set_payload_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, v);
    }
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = v;
    }
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
}

/// An IPv6 header (without extension headers) as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: usize,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr> {
        p.check_len()?;
        Ok(Repr {
            src: p.src_addr(),
            dst: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: usize::from(p.payload_len()),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the fixed header; the buffer must hold [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) -> Result<()> {
        if self.payload_len > u16::MAX as usize || p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error);
        }
        p.set_version_tc_flow(self.traffic_class, self.flow_label);
        p.set_payload_len(self.payload_len as u16);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        Ok(())
    }
}

fn walk(mut next: u8, mut rest: &[u8]) -> Option<UpperLayer<'_>> {
    let mut later_fragment = false;
    let mut fragmented = false;
    for _ in 0..MAX_EXTENSIONS {
        let len = match next {
            // Hop-by-hop, routing, destination options: (len + 1) * 8.
            0 | 43 | 60 => (usize::from(*rest.get(1)?) + 1) * 8,
            // Fragment: 8 bytes; offset in the upper 13 bits of bytes 2..4.
            44 => {
                let off = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]) & 0xfff8;
                later_fragment |= off != 0;
                fragmented = true;
                8
            }
            // Authentication header: (len + 2) * 4.
            51 => (usize::from(*rest.get(1)?) + 2) * 4,
            _ => {
                return Some(UpperLayer {
                    protocol: next,
                    payload: rest,
                    later_fragment,
                    fragmented,
                })
            }
        };
        let header_next = *rest.first()?;
        rest = rest.get(len..)?;
        next = header_next;
    }
    None
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ipv6Addr::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0];
        b.extend((payload.len() as u16).to_be_bytes());
        b.extend([next, 64]);
        b.extend(
            [0xfd, 0, 0, 1]
                .iter()
                .chain([0u8; 11].iter())
                .chain([2].iter()),
        );
        b.extend(
            [0xfd, 0, 0, 2]
                .iter()
                .chain([0u8; 11].iter())
                .chain([2].iter()),
        );
        b.extend(payload);
        b
    }

    #[test]
    fn test_deconstruct() {
        let b = header(58, &[1, 3, 0, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.src_addr(), "fd00:1::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.hop_limit(), 64);
        let u = p.upper_layer().unwrap();
        assert_eq!(u.protocol, 58);
        assert_eq!(u.payload, &[1, 3, 0, 0]);
    }

    #[test]
    fn test_construct_and_parse() {
        let repr = Repr {
            src: "fd00::1".parse().unwrap(),
            dst: "fd00::2".parse().unwrap(),
            next_header: 17,
            payload_len: 8,
            hop_limit: 64,
            traffic_class: 0x10,
            flow_label: 0xabcde,
        };
        let mut buf = [0u8; 40];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[..8], &[0x61, 0x0a, 0xbc, 0xde, 0x00, 0x08, 17, 64]);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&buf[..]).unwrap()).unwrap(),
            repr
        );
    }

    #[test]
    fn test_extension_chain() {
        // Destination options (8 bytes) then UDP.
        let mut ext = vec![17, 0, 1, 4, 0, 0, 0, 0];
        ext.extend([0, 53, 0, 53, 0, 8, 0, 0]);
        let b = header(60, &ext);
        let u = Packet::new_checked(&b[..]).unwrap().upper_layer().unwrap();
        assert_eq!(u.protocol, 17);
        assert_eq!(u.payload.len(), 8);
    }

    #[test]
    fn test_truncated_extension() {
        let b = header(0, &[17, 4]);
        assert_eq!(Packet::new_checked(&b[..]).unwrap().upper_layer(), None);
    }

    #[test]
    fn test_extension_loop_is_bounded() {
        let ext: Vec<u8> = (0..16).flat_map(|_| [0u8, 0, 0, 0, 0, 0, 0, 0]).collect();
        let b = header(0, &ext);
        assert_eq!(Packet::new_checked(&b[..]).unwrap().upper_layer(), None);
    }

    #[test]
    fn test_parse_bad_version() {
        let mut b = header(58, &[]);
        b[0] = 0x40;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
        let buf = [0x45u8; 40];
        assert_eq!(Packet::new_checked(&buf[..]).unwrap_err(), Error);
    }
}
