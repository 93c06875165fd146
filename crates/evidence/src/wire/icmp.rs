//! ICMP (RFC 792) and ICMPv6 (RFC 4443) messages: both start with type, code, checksum
//! and four bytes whose meaning depends on the type (echo identifier and sequence; the
//! next-hop MTU; the pointer of a parameter problem).

use super::{get_u16, get_u32, Error, Field, Result};

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
}

pub const HEADER_LEN: usize = 8;

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
    /// The message body: for errors, the start of the datagram that caused it.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
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
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&[3u8, 3, 0][..]).err(), Some(Error));
    }
}
