//! Ethernet II frames (IEEE 802.3), with 802.1Q / 802.1ad tags skipped.

use super::{get_u16, Error, Field, Result};

mod field {
    use super::Field;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
}

/// Length of the untagged header.
pub const HEADER_LEN: usize = 14;
/// Tagged frames carry at most this many VLAN tags before we give up (QinQ is two).
const MAX_TAGS: usize = 4;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;

/// A view of an Ethernet frame.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    pub fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let f = Frame::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }
    /// Ensures the buffer holds the header and every VLAN tag it announces.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error);
        }
        let mut at = field::ETHERTYPE.start;
        for _ in 0..=MAX_TAGS {
            let t = get_u16(b, at..at + 2);
            if t != ETHERTYPE_VLAN && t != ETHERTYPE_QINQ {
                return Ok(());
            }
            at += 4;
            if b.len() < at + 2 {
                return Err(Error);
            }
        }
        Err(Error)
    }
    pub fn dst_addr(&self) -> [u8; 6] {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        a
    }
    pub fn src_addr(&self) -> [u8; 6] {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        a
    }
    /// Offset of the inner EtherType (after any VLAN tags).
    fn type_offset(&self) -> usize {
        let b = self.buffer.as_ref();
        let mut at = field::ETHERTYPE.start;
        for _ in 0..MAX_TAGS {
            let t = get_u16(b, at..at + 2);
            if t != ETHERTYPE_VLAN && t != ETHERTYPE_QINQ {
                break;
            }
            at += 4;
        }
        at
    }
    /// The EtherType of the payload, past any VLAN tags.
    pub fn ethertype(&self) -> u16 {
        let at = self.type_offset();
        get_u16(self.buffer.as_ref(), at..at + 2)
    }
    /// Bytes after the header (and tags).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.type_offset() + 2..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_deconstruct_tagged() {
        let mut b = vec![0u8; 12];
        b.extend([0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x45]);
        let f = Frame::new_checked(&b[..]).unwrap();
        assert_eq!(f.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(f.payload(), &[0x45]);
    }

    #[test]
    fn test_truncated_tag() {
        let mut b = vec![0u8; 12];
        b.extend([0x81, 0x00, 0x00]);
        assert_eq!(Frame::new_checked(&b[..]).err(), Some(Error));
    }

    #[test]
    fn test_too_many_tags() {
        let mut b = vec![0u8; 12];
        for _ in 0..8 {
            b.extend([0x81, 0x00, 0x00, 0x05]);
        }
        b.extend([0x08, 0x00]);
        assert_eq!(Frame::new_checked(&b[..]).err(), Some(Error));
    }
}
