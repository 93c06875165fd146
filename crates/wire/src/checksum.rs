//! The Internet checksum (RFC 1071) and the pseudo-headers of TCP, UDP and ICMPv6.

use std::net::IpAddr;

/// The one's complement sum of `data` as 16-bit big-endian words, not yet folded.
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add((*last as u32) << 8);
    }
    acc
}

/// Folds a sum into 16 bits and complements it: the value to store in a checksum field.
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The checksum of `data` alone (IPv4 header, ICMP).
pub fn data(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// The pseudo-header sum for `proto` carrying `len` bytes from `src` to `dst`.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> u32 {
    let mut acc = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc += sum(&s.octets()) + sum(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            acc += sum(&s.octets()) + sum(&d.octets());
        }
        // Mixed families never occur in one packet; sum what there is.
        (s, d) => {
            acc += sum(&octets(s)) + sum(&octets(d));
        }
    }
    acc + (len >> 16) + (len & 0xffff) + proto as u32
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The checksum of a transport segment `segment` (checksum field zeroed) under its
/// pseudo-header. For UDP, a result of 0 is sent as 0xffff.
pub fn transport(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> u16 {
    finish(pseudo_header(src, dst, proto, segment.len() as u32) + sum(segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 folds to 0xddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&d), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x01]), data(&[0x01, 0x00]));
    }
}
