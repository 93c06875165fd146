//! Ethernet II frames.

use super::{get_u16, set_u16, Error, Field, Result};
use model::packet::Mac;

mod field {
    use super::Field;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
}

pub const HEADER_LEN: usize = 14;

/// EtherType values the oracle uses.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
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
    /// Ensures the buffer holds the whole header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error)
        } else {
            Ok(())
        }
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
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst_addr(&mut self, m: Mac) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&m.0);
    }
    pub fn set_src_addr(&mut self, m: Mac) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&m.0);
    }
    pub fn set_ethertype(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, v);
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// An Ethernet header as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Mac,
    pub dst: Mac,
    pub ethertype: u16,
}

impl Repr {
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
    fn test_truncated() {
        assert_eq!(Frame::new_checked(&[0u8; 13][..]).unwrap_err(), Error);
    }
}
