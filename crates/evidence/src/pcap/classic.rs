//! The classic libpcap format: a 24-byte file header, then records of a 16-byte header
//! and the captured bytes. Both byte orders, microsecond (`a1b2c3d4`) and nanosecond
//! (`a1b23c4d`) timestamps.

use super::{Endian, LinkType};
use wire::{Error, Result};

mod field {
    use wire::Field;
    pub const MAGIC: Field = 0..4;
    pub const VERSION_MAJOR: Field = 4..6;
    pub const SNAPLEN: Field = 16..20;
    pub const LINKTYPE: Field = 20..24;
    // Record header.
    pub const TS_SEC: Field = 0..4;
    pub const TS_FRAC: Field = 4..8;
    pub const INCL_LEN: Field = 8..12;
    pub const ORIG_LEN: Field = 12..16;
}

pub const HEADER_LEN: usize = 24;
pub const RECORD_HEADER_LEN: usize = 16;

/// A view of the file header.
#[derive(Debug, Clone)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

/// What the magic number says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Magic {
    pub endian: Endian,
    /// Timestamps in nanoseconds (else microseconds).
    pub nanos: bool,
}

/// Reads a classic pcap magic from the first four bytes, if it is one.
pub fn magic(b: &[u8]) -> Option<Magic> {
    let m = b.get(..4)?;
    let (endian, nanos) = match m {
        [0xd4, 0xc3, 0xb2, 0xa1] => (Endian::Little, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (Endian::Big, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (Endian::Little, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (Endian::Big, true),
        _ => return None,
    };
    Some(Magic { endian, nanos })
}

impl<T: AsRef<[u8]>> Header<T> {
    pub fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Header<T>> {
        let h = Header::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }
    /// Ensures 24 bytes and a known magic.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || magic(b).is_none() {
            return Err(Error);
        }
        Ok(())
    }
    pub fn magic(&self) -> Magic {
        magic(&self.buffer.as_ref()[field::MAGIC]).unwrap_or(Magic {
            endian: Endian::Little,
            nanos: false,
        })
    }
    pub fn version_major(&self) -> u16 {
        self.magic()
            .endian
            .u16(&self.buffer.as_ref()[field::VERSION_MAJOR])
    }
    pub fn snaplen(&self) -> u32 {
        self.magic()
            .endian
            .u32(&self.buffer.as_ref()[field::SNAPLEN])
    }
    /// The link type (the low 16 bits; the upper bits carry FCS information).
    pub fn link_type(&self) -> LinkType {
        let raw = self
            .magic()
            .endian
            .u32(&self.buffer.as_ref()[field::LINKTYPE]);
        LinkType::from_raw(raw & 0xffff)
    }
}

/// A view of a record header (and what follows it).
#[derive(Debug, Clone)]
pub struct Record<T: AsRef<[u8]>> {
    buffer: T,
    endian: Endian,
}

impl<T: AsRef<[u8]>> Record<T> {
    pub fn new_unchecked(buffer: T, endian: Endian) -> Record<T> {
        Record { buffer, endian }
    }
    pub fn new_checked(buffer: T, endian: Endian) -> Result<Record<T>> {
        let r = Record::new_unchecked(buffer, endian);
        r.check_len()?;
        Ok(r)
    }
    /// Ensures the 16-byte record header (the data is checked by the reader, which knows
    /// how much it buffered).
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < RECORD_HEADER_LEN {
            return Err(Error);
        }
        Ok(())
    }
    pub fn ts_sec(&self) -> u32 {
        self.endian.u32(&self.buffer.as_ref()[field::TS_SEC])
    }
    /// Microseconds or nanoseconds, per the file's magic.
    pub fn ts_frac(&self) -> u32 {
        self.endian.u32(&self.buffer.as_ref()[field::TS_FRAC])
    }
    pub fn incl_len(&self) -> u32 {
        self.endian.u32(&self.buffer.as_ref()[field::INCL_LEN])
    }
    pub fn orig_len(&self) -> u32 {
        self.endian.u32(&self.buffer.as_ref()[field::ORIG_LEN])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_big_endian_nanos() {
        let mut b = vec![0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4];
        b.extend([0; 8]);
        b.extend([0, 0, 0xff, 0xff, 0, 0, 0, 113]);
        let h = Header::new_checked(&b[..]).unwrap();
        assert_eq!(
            h.magic(),
            Magic {
                endian: Endian::Big,
                nanos: true
            }
        );
        assert_eq!(h.version_major(), 2);
        assert_eq!(h.snaplen(), 65535);
        assert_eq!(h.link_type(), LinkType::LinuxSll);
    }

    #[test]
    fn test_bad_magic() {
        assert!(Header::new_checked(&[0u8; 24][..]).is_err());
    }

    #[test]
    fn test_truncated_header() {
        assert!(Header::new_checked(&[0xd4, 0xc3, 0xb2, 0xa1][..]).is_err());
        assert!(Record::new_checked(&[0u8; 15][..], Endian::Little).is_err());
    }
}
