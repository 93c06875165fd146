//! pcapng (draft-ietf-opsawg-pcapng): blocks of `type, total length, body, total length`.
//! Read here: Section Header (byte order), Interface Description (link type, `if_name`,
//! `if_tsresol`), Enhanced Packet, Simple Packet and the obsolete Packet block. Other
//! blocks are skipped by length.

use super::Endian;
use wire::{Error, Result};

pub const SECTION_HEADER: u32 = 0x0a0d_0d0a;
pub const INTERFACE_DESCRIPTION: u32 = 0x0000_0001;
pub const PACKET_OBSOLETE: u32 = 0x0000_0002;
pub const SIMPLE_PACKET: u32 = 0x0000_0003;
pub const ENHANCED_PACKET: u32 = 0x0000_0006;

/// The byte-order magic inside the section header.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Type and leading length, and the trailing length.
pub const BLOCK_OVERHEAD: usize = 12;

/// The byte order a section header announces: its bytes 8..12 read as `1a2b3c4d`.
pub fn section_endian(b: &[u8]) -> Option<Endian> {
    let m = b.get(8..12)?;
    if Endian::Little.u32(m) == BYTE_ORDER_MAGIC {
        Some(Endian::Little)
    } else if Endian::Big.u32(m) == BYTE_ORDER_MAGIC {
        Some(Endian::Big)
    } else {
        None
    }
}

/// A view of one whole block (type .. trailing length).
#[derive(Debug, Clone)]
pub struct Block<T: AsRef<[u8]>> {
    buffer: T,
    endian: Endian,
}

impl<T: AsRef<[u8]>> Block<T> {
    pub fn new_unchecked(buffer: T, endian: Endian) -> Block<T> {
        Block { buffer, endian }
    }
    pub fn new_checked(buffer: T, endian: Endian) -> Result<Block<T>> {
        let b = Block::new_unchecked(buffer, endian);
        b.check_len()?;
        Ok(b)
    }
    /// Ensures the buffer is exactly one block: total length ≥ 12, a multiple of 4, equal to
    /// the buffer's length and to the trailing copy.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < BLOCK_OVERHEAD {
            return Err(Error);
        }
        let len = self.total_len() as usize;
        if len < BLOCK_OVERHEAD || len & 3 != 0 || len != b.len() {
            return Err(Error);
        }
        if self.endian.u32(&b[len - 4..]) as usize != len {
            return Err(Error);
        }
        Ok(())
    }
    pub fn block_type(&self) -> u32 {
        self.endian.u32(&self.buffer.as_ref()[0..4])
    }
    pub fn total_len(&self) -> u32 {
        self.endian.u32(&self.buffer.as_ref()[4..8])
    }
    /// The bytes between the leading and trailing lengths.
    pub fn body(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[8..b.len() - 4]
    }
}

/// Interface Description Block body: link type (u16), reserved, snap length, options.
#[derive(Debug, Clone)]
pub struct InterfaceDescription<T: AsRef<[u8]>> {
    body: T,
    endian: Endian,
}

/// `if_name`.
const OPT_IF_NAME: u16 = 2;
/// `if_tsresol`.
const OPT_IF_TSRESOL: u16 = 9;

impl<T: AsRef<[u8]>> InterfaceDescription<T> {
    pub fn new_checked(body: T, endian: Endian) -> Result<InterfaceDescription<T>> {
        if body.as_ref().len() < 8 {
            return Err(Error);
        }
        Ok(InterfaceDescription { body, endian })
    }
    pub fn link_type(&self) -> u16 {
        self.endian.u16(&self.body.as_ref()[0..2])
    }
    pub fn snaplen(&self) -> u32 {
        self.endian.u32(&self.body.as_ref()[4..8])
    }
    fn options(&self) -> Options<'_> {
        Options {
            rest: &self.body.as_ref()[8..],
            endian: self.endian,
        }
    }
    /// `if_name`, as written (lossy UTF-8).
    pub fn name(&self) -> Option<String> {
        self.options()
            .find(|(code, _)| *code == OPT_IF_NAME)
            .map(|(_, v)| {
                String::from_utf8_lossy(v)
                    .trim_end_matches('\0')
                    .to_string()
            })
    }
    /// Timestamp units per second (`if_tsresol`; 10^6 when absent).
    pub fn ticks_per_second(&self) -> Option<u64> {
        let Some((_, v)) = self.options().find(|(code, _)| *code == OPT_IF_TSRESOL) else {
            return Some(1_000_000);
        };
        let r = *v.first()?;
        let exp = u32::from(r & 0x7f);
        if r & 0x80 != 0 {
            2u64.checked_pow(exp)
        } else {
            10u64.checked_pow(exp)
        }
    }
}

/// Options: `code u16, length u16, value padded to 4`, until `opt_endofopt` or the end.
struct Options<'a> {
    rest: &'a [u8],
    endian: Endian,
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.rest.len() < 4 {
            return None;
        }
        let code = self.endian.u16(&self.rest[0..2]);
        let len = usize::from(self.endian.u16(&self.rest[2..4]));
        if code == 0 {
            return None;
        }
        let value = self.rest.get(4..4 + len)?;
        let padded = 4 + len.div_ceil(4) * 4;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some((code, value))
    }
}

/// The fields of a packet block, whichever kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketFields {
    pub interface: u32,
    /// Timestamp in the interface's units.
    pub ts: u64,
    pub orig_len: u32,
    /// Where the packet data lies in the body.
    pub data: (usize, usize),
}

/// Reads an Enhanced Packet (or obsolete Packet) block body: interface, timestamp (high,
/// low), captured and original lengths, data. The captured length must fit the body.
pub fn packet_block(body: &[u8], endian: Endian, obsolete: bool) -> Result<PacketFields> {
    if body.len() < 20 {
        return Err(Error);
    }
    let interface = if obsolete {
        u32::from(endian.u16(&body[0..2]))
    } else {
        endian.u32(&body[0..4])
    };
    let ts = (u64::from(endian.u32(&body[4..8])) << 32) | u64::from(endian.u32(&body[8..12]));
    let caplen = endian.u32(&body[12..16]) as usize;
    let orig_len = endian.u32(&body[16..20]);
    if caplen > body.len() - 20 {
        return Err(Error);
    }
    Ok(PacketFields {
        interface,
        ts,
        orig_len,
        data: (20, 20 + caplen),
    })
}

/// Reads a Simple Packet block body: original length, then data up to the block's end
/// (cut to the original length; the interface is always the first).
pub fn simple_packet_block(body: &[u8], endian: Endian) -> Result<PacketFields> {
    if body.len() < 4 {
        return Err(Error);
    }
    let orig_len = endian.u32(&body[0..4]);
    let caplen = (body.len() - 4).min(orig_len as usize);
    Ok(PacketFields {
        interface: 0,
        ts: 0,
        orig_len,
        data: (4, 4 + caplen),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_block_trailer_mismatch() {
        let mut b = vec![1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0];
        assert!(Block::new_checked(&b[..], Endian::Little).is_err());
        b[12] = 16;
        assert!(Block::new_checked(&b[..], Endian::Little).is_ok());
    }

    #[test]
    fn test_idb_options() {
        // link type 1, snaplen 0xffff, if_name "lan0", if_tsresol 9, end.
        let mut body = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        body.extend([2, 0, 4, 0, b'l', b'a', b'n', b'0']);
        body.extend([9, 0, 1, 0, 9, 0, 0, 0]);
        body.extend([0, 0, 0, 0]);
        let idb = InterfaceDescription::new_checked(&body[..], Endian::Little).unwrap();
        assert_eq!(idb.link_type(), 1);
        assert_eq!(idb.name().as_deref(), Some("lan0"));
        assert_eq!(idb.ticks_per_second(), Some(1_000_000_000));
    }

    #[test]
    fn test_option_longer_than_body() {
        let mut body = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        body.extend([2, 0, 0xff, 0, b'l']);
        let idb = InterfaceDescription::new_checked(&body[..], Endian::Little).unwrap();
        assert_eq!(idb.name(), None);
    }

    #[test]
    fn test_huge_tsresol() {
        let mut body = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        body.extend([9, 0, 1, 0, 0x7f, 0, 0, 0]);
        let idb = InterfaceDescription::new_checked(&body[..], Endian::Little).unwrap();
        assert_eq!(idb.ticks_per_second(), None);
    }

    #[test]
    fn test_caplen_beyond_block() {
        let mut body = vec![0u8; 20];
        body[12] = 200;
        assert!(packet_block(&body, Endian::Little, false).is_err());
    }
}
