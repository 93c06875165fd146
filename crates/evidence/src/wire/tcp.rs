//! TCP headers (RFC 9293).

use super::{get_u16, get_u32, Error, Field, Result};

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Field = 14..16;
}

pub const HEADER_LEN: usize = 20;

/// A view of a TCP header and its payload.
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
    /// Ensures the fixed header and a data offset of at least 20 bytes. Options cut by the
    /// snap length are tolerated: [`Packet::payload`] is then empty.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || usize::from(b[field::DATA_OFF] >> 4) * 4 < HEADER_LEN {
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
    pub fn seq_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::SEQ_NUM)
    }
    pub fn ack_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::ACK_NUM)
    }
    /// Header length in bytes (data offset * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }
    /// The flag byte (FIN 0x01 ... CWR 0x80), as `model::TcpFlags` holds it.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }
    pub fn window_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::WINDOW)
    }
    /// The segment's data as captured (empty when the header itself was cut).
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(self.header_len()..).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SYN_ACK: [u8; 22] = [
        0x08, 0x7f, 0x04, 0x1a, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0, 0xaa,
        0xbb,
    ];

    #[test]
    fn test_deconstruct() {
        let p = Packet::new_checked(&SYN_ACK[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (2175, 1050));
        assert_eq!(p.seq_number(), 1);
        assert_eq!(p.ack_number(), 2);
        assert_eq!(p.flags(), 0x12);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn test_parse_bad_data_offset() {
        let mut b = SYN_ACK;
        b[12] = 0x40;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error));
    }

    #[test]
    fn test_options_cut_by_snaplen() {
        let mut b = SYN_ACK;
        b[12] = 0xf0;
        assert!(Packet::new_checked(&b[..]).unwrap().payload().is_empty());
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&SYN_ACK[..19]).err(), Some(Error));
    }
}
