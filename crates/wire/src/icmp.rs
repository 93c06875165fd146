//! ICMP (RFC 792) and ICMPv6 (RFC 4443) messages: both start with type, code, checksum
//! and four bytes whose meaning depends on the type (echo identifier and sequence; the
//! next-hop MTU; the pointer of a parameter problem).

use super::{checksum, get_u16, get_u32, set_u16, Error, Field, Result};
use std::net::IpAddr;

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
}

pub const HEADER_LEN: usize = 8;
/// The IPv4 protocol number of ICMP.
pub const PROTOCOL_V4: u8 = 1;
/// The IPv6 next header of ICMPv6.
pub const PROTOCOL_V6: u8 = 58;

/// ICMP types this crate tells apart.
pub mod types {
    pub const V4_ECHO_REPLY: u8 = 0;
    pub const V4_DST_UNREACHABLE: u8 = 3;
    pub const V4_REDIRECT: u8 = 5;
    pub const V4_ECHO_REQUEST: u8 = 8;
    pub const V4_TIME_EXCEEDED: u8 = 11;
    pub const V4_PARAM_PROBLEM: u8 = 12;
    pub const V6_DST_UNREACHABLE: u8 = 1;
    pub const V6_PKT_TOO_BIG: u8 = 2;
    pub const V6_TIME_EXCEEDED: u8 = 3;
    pub const V6_PARAM_PROBLEM: u8 = 4;
    pub const V6_ECHO_REQUEST: u8 = 128;
    pub const V6_ECHO_REPLY: u8 = 129;
}

/// Whether a message of this type quotes the datagram that caused it.
pub fn is_error(v6: bool, icmp_type: u8) -> bool {
    use types::*;
    if v6 {
        matches!(
            icmp_type,
            V6_DST_UNREACHABLE | V6_PKT_TOO_BIG | V6_TIME_EXCEEDED | V6_PARAM_PROBLEM
        )
    } else {
        matches!(
            icmp_type,
            V4_DST_UNREACHABLE | V4_REDIRECT | V4_TIME_EXCEEDED | V4_PARAM_PROBLEM
        )
    }
}

/// A view of an ICMP or ICMPv6 message.
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
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    /// The four type-specific bytes after the checksum.
    pub fn rest_of_header(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REST)
    }
    pub fn echo_ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }
    pub fn echo_seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ECHO_SEQNO)
    }
    /// ICMP: over the message; ICMPv6 (when `pseudo` gives the addresses): with the
    /// pseudo-header.
    pub fn verify_checksum(&self, pseudo: Option<(IpAddr, IpAddr)>) -> bool {
        match pseudo {
            None => checksum::data(self.buffer.as_ref()) == 0,
            Some((s, d)) => checksum::transport(s, d, PROTOCOL_V6, self.buffer.as_ref()) == 0,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The message body: for errors, the start of the datagram that caused it.
    pub fn data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }
    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }
    pub fn set_echo_ident(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::ECHO_IDENT, v);
    }
    pub fn set_echo_seq_no(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::ECHO_SEQNO, v);
    }
    /// Computes the checksum; `pseudo` as in [`Packet::verify_checksum`].
    pub fn fill_checksum(&mut self, pseudo: Option<(IpAddr, IpAddr)>) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, 0);
        let c = match pseudo {
            None => checksum::data(self.buffer.as_ref()),
            Some((s, d)) => checksum::transport(s, d, PROTOCOL_V6, self.buffer.as_ref()),
        };
        set_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
}

/// An ICMP message as a value: type, code, identifier and sequence (echo), zero payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub msg_type: u8,
    pub msg_code: u8,
    pub ident: u16,
    pub seq_no: u16,
    pub payload_len: usize,
}

impl Repr {
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }
    /// Writes the message and its checksum; `pseudo`: the addresses for ICMPv6, `None` for
    /// ICMP. The buffer must be exactly [`Repr::buffer_len`] long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        pseudo: Option<(IpAddr, IpAddr)>,
    ) -> Result<()> {
        if p.buffer.as_ref().len() != self.buffer_len() {
            return Err(Error);
        }
        p.buffer.as_mut().fill(0);
        p.set_msg_type(self.msg_type);
        p.set_msg_code(self.msg_code);
        p.set_echo_ident(self.ident);
        p.set_echo_seq_no(self.seq_no);
        p.fill_checksum(pseudo);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_echo() {
        let b = [8, 0, 0, 0, 0x12, 0x34, 0, 7, 0xde];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.msg_type(), types::V4_ECHO_REQUEST);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 7));
        assert_eq!(p.data(), &[0xde]);
        assert!(!is_error(false, 8));
        assert!(is_error(true, 1));
    }

    #[test]
    fn test_emit_echo_v4_known_bytes() {
        let mut buf = [0u8; 8];
        Repr {
            msg_type: 8,
            msg_code: 0,
            ident: 7,
            seq_no: 1,
            payload_len: 0,
        }
        .emit(&mut Packet::new_unchecked(&mut buf[..]), None)
        .unwrap();
        assert_eq!(buf, [8, 0, 0xf7, 0xf7, 0, 7, 0, 1]);
        assert!(Packet::new_checked(&buf[..]).unwrap().verify_checksum(None));
    }

    #[test]
    fn test_emit_echo_v6_known_bytes() {
        let (s, d): (IpAddr, IpAddr) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
        let mut buf = [0u8; 8];
        Repr {
            msg_type: 128,
            msg_code: 0,
            ident: 7,
            seq_no: 1,
            payload_len: 0,
        }
        .emit(&mut Packet::new_unchecked(&mut buf[..]), Some((s, d)))
        .unwrap();
        assert_eq!(buf, [128, 0, 0x85, 0xb0, 0, 7, 0, 1]);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&[3u8, 3, 0][..]).err(), Some(Error));
        assert_eq!(Packet::new_checked(&[0u8; 4][..]).unwrap_err(), Error);
    }
}
