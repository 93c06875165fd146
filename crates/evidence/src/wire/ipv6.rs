//! IPv6 headers (RFC 8200) and the walk over extension headers to the upper layer.

use super::{get_u16, get_u32, Error, Field, Result};
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
    /// Ensures version 6 and the 40-byte fixed header.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || b[0] >> 4 != 6 {
            return Err(Error);
        }
        Ok(())
    }
    pub fn traffic_class(&self) -> u8 {
        ((get_u32(self.buffer.as_ref(), field::VER_TC_FLOW) >> 20) & 0xff) as u8
    }
    pub fn flow_label(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VER_TC_FLOW) & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }
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
    }
}
