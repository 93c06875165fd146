//! Ethernet II frames (IEEE 802.3). Reading skips 802.1Q / 802.1ad VLAN tags; building
//! writes untagged frames.

use super::{get_u16, set_u16, Error, Field, Result};
use model::packet::Mac;

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

/// EtherType values this crate tells apart.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    /// An 802.1Q VLAN tag follows.
    pub const VLAN: u16 = 0x8100;
    /// An 802.1ad (QinQ) service tag follows.
    pub const QINQ: u16 = 0x88a8;
}

fn is_tag(t: u16) -> bool {
    t == ethertype::VLAN || t == ethertype::QINQ
}

/// A view of an Ethernet II frame.
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
            if !is_tag(get_u16(b, at..at + 2)) {
                return Ok(());
            }
            at += 4;
            if b.len() < at + 2 {
                return Err(Error);
            }
        }
        Err(Error)
    }
    fn mac(&self, f: Field) -> Mac {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buffer.as_ref()[f]);
        Mac(m)
    }
    pub fn dst_addr(&self) -> Mac {
        self.mac(field::DESTINATION)
    }
    pub fn src_addr(&self) -> Mac {
        self.mac(field::SOURCE)
    }
    /// Offset of the inner EtherType (after any VLAN tags).
    fn type_offset(&self) -> usize {
        let b = self.buffer.as_ref();
        let mut at = field::ETHERTYPE.start;
        for _ in 0..MAX_TAGS {
            if !is_tag(get_u16(b, at..at + 2)) {
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
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// The bytes after the header and its VLAN tags.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.type_offset() + 2..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst_addr(&mut self, m: Mac) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&m.0);
    }
    pub fn set_src_addr(&mut self, m: Mac) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&m.0);
    }
    /// Sets the EtherType field right after the addresses (a tag's, on a tagged frame).
    pub fn set_ethertype(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, v);
    }
    /// The bytes after the untagged header, to write the payload into.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// An untagged Ethernet header as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Mac,
    pub dst: Mac,
    pub ethertype: u16,
}

impl Repr {
    /// Reads the addresses and the EtherType (past any VLAN tags).
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src: frame.src_addr(),
            dst: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the header; `frame` must hold at least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst);
        frame.set_src_addr(self.src);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_deconstruct() {
        let bytes = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0xaa];
        let f = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(f.dst_addr(), Mac([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.src_addr(), Mac([2, 0, 0, 0, 0, 2]));
        assert_eq!(f.ethertype(), ethertype::IPV4);
        assert_eq!(f.payload(), &[0xaa]);
    }

    #[test]
    fn test_deconstruct_tagged() {
        let mut b = vec![0u8; 12];
        b.extend([0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x45]);
        let f = Frame::new_checked(&b[..]).unwrap();
        assert_eq!(f.ethertype(), ethertype::IPV4);
        assert_eq!(f.payload(), &[0x45]);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Frame::new_checked(&[0u8; 13][..]).unwrap_err(), Error);
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
