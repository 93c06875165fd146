//! UDP headers (RFC 768).

use super::{checksum, get_u16, set_u16, Error, Field, Result};
use std::net::IpAddr;

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

pub const HEADER_LEN: usize = 8;
pub const PROTOCOL: u8 = 17;

/// A view of a UDP header and its payload.
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
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error);
        }
        Ok(())
    }
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::DST_PORT)
    }
    /// The length field: header and data.
    pub fn len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }
    /// Whether the length field announces no data.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    /// Whether the checksum is right for the whole datagram in the buffer (0: not computed).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        self.checksum() == 0 || checksum::transport(src, dst, PROTOCOL, self.buffer.as_ref()) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The datagram's data, up to the length field or the buffer's end.
    pub fn payload(&self) -> &'a [u8] {
        let b: &'a [u8] = self.buffer.as_ref();
        let end = usize::from(self.len()).clamp(HEADER_LEN, b.len());
        &b[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT, v);
    }
    pub fn set_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, v);
    }
    /// Computes the checksum over the whole buffer; 0 is sent as 0xffff.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, 0);
        let c = match checksum::transport(src, dst, PROTOCOL, self.buffer.as_ref()) {
            0 => 0xffff,
            c => c,
        };
        set_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
}

/// A UDP header as a value; the payload is `payload_len` zero bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl Repr {
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }
    /// Writes header and a zero payload, then the checksum for `src` -> `dst`. The buffer
    /// must be exactly [`Repr::buffer_len`] long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<()> {
        let len = self.buffer_len();
        if len > u16::MAX as usize || p.buffer.as_ref().len() != len {
            return Err(Error);
        }
        p.buffer.as_mut().fill(0);
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_len(len as u16);
        p.fill_checksum(src, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_deconstruct() {
        let b = [0x14, 0xe9, 0x00, 0x35, 0x00, 0x0a, 0, 0, 1, 2, 3];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (5353, 53));
        assert_eq!(p.payload(), &[1, 2]);
    }

    #[test]
    fn test_emit_known_bytes() {
        let (src, dst): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut buf = [0u8; 8];
        Repr {
            src_port: 1234,
            dst_port: 53,
            payload_len: 0,
        }
        .emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst)
        .unwrap();
        // Checksum computed independently (Python, RFC 1071 over the pseudo-header).
        assert_eq!(buf, [0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0xe6, 0xd4]);
        assert!(Packet::new_checked(&buf[..])
            .unwrap()
            .verify_checksum(src, dst));
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&[0u8; 7][..]).err(), Some(Error));
    }
}
