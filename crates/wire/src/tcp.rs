//! TCP headers (RFC 9293).

use super::{checksum, get_u16, get_u32, set_u16, set_u32, Error, Field, Result};
use model::TcpFlags;
use std::net::IpAddr;

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

pub const HEADER_LEN: usize = 20;
pub const PROTOCOL: u8 = 6;

/// The options Linux puts in a SYN (MSS 1460, SACK permitted, timestamps, window scale 7):
/// 20 bytes, so a SYN is 60 bytes long on IPv4 as Linux sends it.
pub const LINUX_SYN_OPTIONS: [u8; 20] = [
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
];

/// A view of a TCP header and its payload. The first 8 bytes (ports and sequence number)
/// are all a trace event or an ICMP quote is guaranteed to carry; [`Packet::check_len`]
/// wants the fixed header.
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
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }
    /// The flag byte (FIN 0x01 ... CWR 0x80).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }
    pub fn window_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::WIN_SIZE)
    }
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
    /// Whether the checksum is right for the whole segment in the buffer.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        checksum::transport(src, dst, PROTOCOL, self.buffer.as_ref()) == 0
    }
    /// The maximum segment size option (kind 2), when the header carries one and the
    /// capture kept it. A SYN announces the largest segment its sender takes (RFC 9293
    /// 3.7.1): with it, a segment can be told full-size.
    pub fn mss_option(&self) -> Option<u16> {
        let b = self.buffer.as_ref();
        let end = usize::from(self.header_len()).min(b.len());
        let mut opts = b.get(HEADER_LEN..end)?;
        // Kind 0 ends the list, kind 1 is one byte of padding, others are kind, length, data.
        while let [kind, rest @ ..] = opts {
            match (*kind, rest) {
                (0, _) => return None,
                (1, _) => opts = rest,
                (2, [4, hi, lo, ..]) => return Some(u16::from_be_bytes([*hi, *lo])),
                (_, [len, ..]) if *len >= 2 => opts = rest.get(usize::from(*len) - 1..)?,
                _ => return None,
            }
        }
        None
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The segment's data as captured (empty when the header itself was cut).
    pub fn payload(&self) -> &'a [u8] {
        let b: &'a [u8] = self.buffer.as_ref();
        b.get(usize::from(self.header_len())..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT, v);
    }
    pub fn set_seq_number(&mut self, v: u32) {
        set_u32(self.buffer.as_mut(), field::SEQ_NUM, v);
    }
    pub fn set_ack_number(&mut self, v: u32) {
        set_u32(self.buffer.as_mut(), field::ACK_NUM, v);
    }
    pub fn set_header_len(&mut self, len: u8) {
        self.buffer.as_mut()[field::DATA_OFF] = (len / 4) << 4;
    }
    pub fn set_flags(&mut self, f: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = f.0;
    }
    pub fn set_window_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::WIN_SIZE, v);
    }
    pub fn set_urgent_at(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::URGENT, v);
    }
    /// Computes the checksum over the whole buffer (header, options, payload).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, 0);
        let c = checksum::transport(src, dst, PROTOCOL, self.buffer.as_ref());
        set_u16(self.buffer.as_mut(), field::CHECKSUM, c);
    }
}

/// A TCP header as a value; the payload is `payload_len` zero bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub flags: TcpFlags,
    pub window_len: u16,
    /// Raw options, padded to a multiple of 4 by `emit`.
    pub options: &'a [u8],
    pub payload_len: usize,
}

impl Repr<'_> {
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len().div_ceil(4) * 4
    }
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }
    /// Writes header, options and a zero payload, then the checksum for `src` -> `dst`.
    /// The buffer must be exactly [`Repr::buffer_len`] long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<()> {
        let hl = self.header_len();
        if hl > 60 || p.buffer.as_ref().len() != self.buffer_len() {
            return Err(Error);
        }
        p.buffer.as_mut().fill(0);
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_seq_number(self.seq_number);
        p.set_ack_number(self.ack_number);
        p.set_header_len(hl as u8);
        p.set_flags(self.flags);
        p.set_window_len(self.window_len);
        p.set_urgent_at(0);
        p.buffer.as_mut()[HEADER_LEN..HEADER_LEN + self.options.len()]
            .copy_from_slice(self.options);
        p.fill_checksum(src, dst);
        Ok(())
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
        assert_eq!(p.flags(), TcpFlags(0x12));
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
        assert_eq!(p.mss_option(), None);
    }

    #[test]
    fn mss_option_read_behind_other_options_and_cut_ones_are_none() {
        let mut syn = SYN_ACK[..20].to_vec();
        syn[12] = 0x80; // 32 bytes of header: 12 of options.
        syn.extend([1, 1, 4, 2, 3, 3, 7, 1]);
        let with_mss = [syn.clone(), vec![2, 4, 0x05, 0x48]].concat();
        assert_eq!(
            Packet::new_checked(&with_mss[..]).unwrap().mss_option(),
            Some(1352)
        );
        // Cut by the snap length inside the MSS option, or a zero option length.
        let cut = [syn.clone(), vec![2, 4, 0x05]].concat();
        assert_eq!(Packet::new_checked(&cut[..]).unwrap().mss_option(), None);
        let zero = [syn, vec![5, 0, 2, 4]].concat();
        assert_eq!(Packet::new_checked(&zero[..]).unwrap().mss_option(), None);
        let linux = [&SYN_ACK[..12], &[0xa0, 0x02, 0xff, 0xff, 0, 0, 0, 0]].concat();
        let linux = [linux, LINUX_SYN_OPTIONS.to_vec()].concat();
        assert_eq!(
            Packet::new_checked(&linux[..]).unwrap().mss_option(),
            Some(1460)
        );
    }

    #[test]
    fn test_emit_syn_checksum() {
        let (src, dst): (IpAddr, IpAddr) =
            ("10.1.1.2".parse().unwrap(), "10.1.0.2".parse().unwrap());
        let repr = Repr {
            src_port: 1050,
            dst_port: 2175,
            seq_number: 1,
            ack_number: 0,
            flags: TcpFlags::SYN,
            window_len: 64240,
            options: &LINUX_SYN_OPTIONS,
            payload_len: 0,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst)
            .unwrap();
        assert_eq!(buf.len(), 40);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            (p.src_port(), p.dst_port(), p.header_len()),
            (1050, 2175, 40)
        );
        assert_eq!(p.flags(), TcpFlags::SYN);
        assert!(p.verify_checksum(src, dst));
        // Known-good value, computed independently (Python, RFC 1071 over pseudo-header).
        assert_eq!(p.checksum(), 0x2b6f);
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
        assert_eq!(Packet::new_checked(&[0u8; 19][..]).unwrap_err(), Error);
    }
}
