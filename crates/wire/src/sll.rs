//! Linux "cooked" capture headers: `LINKTYPE_LINUX_SLL` (v1, 16 bytes) and
//! `LINKTYPE_LINUX_SLL2` (v2, 20 bytes), written by `tcpdump -i any`. Both say whether the
//! packet was received or sent by the capturing host (`sll_pkttype`).

use super::{get_u16, get_u32, Error, Field, Result};

mod field {
    use super::Field;
    // v1
    pub const V1_PKTTYPE: Field = 0..2;
    pub const V1_PROTOCOL: Field = 14..16;
    // v2
    pub const V2_PROTOCOL: Field = 0..2;
    pub const V2_IFINDEX: Field = 4..8;
    pub const V2_PKTTYPE: usize = 10;
}

pub const V1_HEADER_LEN: usize = 16;
pub const V2_HEADER_LEN: usize = 20;

/// `sll_pkttype`: who the packet was for, as the kernel's `PACKET_*` constants say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `PACKET_HOST`: received, addressed to this host.
    Host,
    Broadcast,
    Multicast,
    /// `PACKET_OTHERHOST`: received, addressed to another host.
    OtherHost,
    /// `PACKET_OUTGOING`: sent by this host.
    Outgoing,
    Unknown(u16),
}

impl PacketType {
    fn from_raw(v: u16) -> PacketType {
        match v {
            0 => PacketType::Host,
            1 => PacketType::Broadcast,
            2 => PacketType::Multicast,
            3 => PacketType::OtherHost,
            4 => PacketType::Outgoing,
            n => PacketType::Unknown(n),
        }
    }
}

/// Which cooked header version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A view of a cooked header and its payload.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    version: Version,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T, version: Version) -> Packet<T> {
        Packet { buffer, version }
    }
    pub fn new_checked(buffer: T, version: Version) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer, version);
        p.check_len()?;
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < self.header_len() {
            return Err(Error);
        }
        Ok(())
    }
    pub fn header_len(&self) -> usize {
        match self.version {
            Version::V1 => V1_HEADER_LEN,
            Version::V2 => V2_HEADER_LEN,
        }
    }
    pub fn packet_type(&self) -> PacketType {
        let b = self.buffer.as_ref();
        match self.version {
            Version::V1 => PacketType::from_raw(get_u16(b, field::V1_PKTTYPE)),
            Version::V2 => PacketType::from_raw(u16::from(b[field::V2_PKTTYPE])),
        }
    }
    /// The payload's EtherType.
    pub fn protocol(&self) -> u16 {
        let b = self.buffer.as_ref();
        match self.version {
            Version::V1 => get_u16(b, field::V1_PROTOCOL),
            Version::V2 => get_u16(b, field::V2_PROTOCOL),
        }
    }
    /// The interface index (v2 only).
    pub fn ifindex(&self) -> Option<u32> {
        match self.version {
            Version::V1 => None,
            Version::V2 => Some(get_u32(self.buffer.as_ref(), field::V2_IFINDEX)),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the cooked header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_v1_outgoing() {
        let mut b = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        b.push(0x45);
        let p = Packet::new_checked(&b[..], Version::V1).unwrap();
        assert_eq!(p.packet_type(), PacketType::Outgoing);
        assert_eq!(p.protocol(), 0x0800);
        assert_eq!(p.payload(), &[0x45]);
    }

    #[test]
    fn test_v2_fields() {
        let b = [
            0x86, 0xdd, 0, 0, 0, 0, 0, 7, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let p = Packet::new_checked(&b[..], Version::V2).unwrap();
        assert_eq!(p.packet_type(), PacketType::Host);
        assert_eq!(p.ifindex(), Some(7));
        assert_eq!(p.protocol(), 0x86dd);
    }

    #[test]
    fn test_truncated() {
        assert!(Packet::new_checked(&[0u8; 19][..], Version::V2).is_err());
        assert!(Packet::new_checked(&[0u8; 15][..], Version::V1).is_err());
    }
}
