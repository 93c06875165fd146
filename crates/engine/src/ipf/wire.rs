//! `model::Packet` to the bytes IPFilter reads, and back: the host path hands the pass a
//! typed packet; IPFilter decides on headers, so the packet is built as the sender's
//! stack would send it (IPv4 header without options, TTL and length as given, valid
//! checksums), and what the pass rewrote (NAT) is read back from the bytes.

use std::net::IpAddr;

use model::packet::{Fragment, L4};
use model::Packet;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([
        b.get(at).copied().unwrap_or(0),
        b.get(at + 1).copied().unwrap_or(0),
    ])
}

/// The transport header of `l4` (TCP 20 bytes, UDP 8, ICMP 8, SCTP 12, others none).
fn transport(l4: &L4, payload: usize) -> Vec<u8> {
    match *l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => {
            let mut t = vec![0u8; 20];
            put16(&mut t, 0, sport);
            put16(&mut t, 2, dport);
            t[12] = 5 << 4;
            t[13] = flags.0;
            put16(&mut t, 14, 65535);
            if flags.0 & 0x20 != 0 {
                put16(&mut t, 18, 1);
            }
            t
        }
        L4::Udp { sport, dport } => {
            let mut t = vec![0u8; 8];
            put16(&mut t, 0, sport);
            put16(&mut t, 2, dport);
            put16(&mut t, 4, (8 + payload) as u16);
            t
        }
        L4::Sctp { sport, dport } => {
            let mut t = vec![0u8; 12];
            put16(&mut t, 0, sport);
            put16(&mut t, 2, dport);
            t
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        }
        | L4::Icmpv6 {
            icmp_type,
            code,
            id,
        } => {
            let mut t = vec![0u8; 8];
            t[0] = icmp_type;
            t[1] = code;
            put16(&mut t, 4, id);
            t
        }
        L4::Other(_) => Vec::new(),
    }
}

/// The bytes of `packet`.
pub fn encode(packet: &Packet) -> Vec<u8> {
    let proto = packet.l4.proto().number();
    let header = transport(&packet.l4, 0);
    let (ip_len, l4_len) = match packet.src {
        IpAddr::V4(_) => (20usize, header.len()),
        IpAddr::V6(_) => (40usize, header.len()),
    };
    let total = usize::from(packet.len).max(ip_len + l4_len);
    let payload = total - ip_len - l4_len;
    let mut l4 = transport(&packet.l4, payload);
    l4.resize(total - ip_len, 0);
    let mut b = vec![0u8; ip_len];
    match (packet.src, packet.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            b[0] = 0x45;
            b[1] = packet.tos;
            put16(&mut b, 2, total as u16);
            put16(&mut b, 4, packet.id as u16);
            let mut off: u16 = if packet.dont_fragment { 0x4000 } else { 0 };
            match packet.fragment {
                Fragment::None => {}
                Fragment::First => off |= 0x2000,
                Fragment::Later { offset } => off = (off & 0x4000) | (offset & 0x1fff),
            }
            put16(&mut b, 6, off);
            b[8] = packet.ttl;
            b[9] = proto;
            b[12..16].copy_from_slice(&s.octets());
            b[16..20].copy_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            b[0] = 0x60 | (packet.tos >> 4);
            b[1] = packet.tos << 4;
            put16(&mut b, 4, (total - 40) as u16);
            b[6] = proto;
            b[7] = packet.ttl;
            b[8..24].copy_from_slice(&s.octets());
            b[24..40].copy_from_slice(&d.octets());
        }
        _ => {}
    }
    if matches!(packet.fragment, Fragment::Later { .. }) {
        l4.iter_mut().for_each(|x| *x = 0);
    }
    b.extend_from_slice(&l4);
    fill_checksums(&mut b, ip_len, proto);
    b
}

/// IPv4 header and transport checksums.
fn fill_checksums(b: &mut [u8], hlen: usize, proto: u8) {
    if b[0] >> 4 == 4 {
        put16(b, 10, 0);
        let sum = super::fin::l4_checksum(b, 4, 1, 0, hlen as i64, usize::MAX);
        put16(b, 10, sum);
    }
    transport_checksum(b, hlen, proto);
}

/// The TCP, UDP or ICMP checksum over the whole of `b` after `hlen`.
fn transport_checksum(b: &mut [u8], hlen: usize, proto: u8) {
    let at = match proto {
        6 => 16,
        17 => 6,
        1 | 58 => 2,
        _ => return,
    };
    if b.len() < hlen + at + 2 {
        return;
    }
    put16(b, hlen + at, 0);
    let v = b[0] >> 4;
    let sum = super::fin::l4_checksum(b, v, proto, hlen, b.len() as i64, usize::MAX);
    put16(b, hlen + at, sum);
}

/// `original` with the addresses and ports the bytes now carry.
pub fn decode(bytes: &[u8], original: &Packet) -> Packet {
    let mut p = original.clone();
    match bytes.first().map(|b| b >> 4) {
        Some(4) if bytes.len() >= 20 => {
            p.src = IpAddr::from([bytes[12], bytes[13], bytes[14], bytes[15]]);
            p.dst = IpAddr::from([bytes[16], bytes[17], bytes[18], bytes[19]]);
            let hl = usize::from(bytes[0] & 0x0f) * 4;
            if let Some((_, _)) = p.l4.ports() {
                p.l4 = p.l4.with_ports(get16(bytes, hl), get16(bytes, hl + 2));
            }
        }
        Some(6) if bytes.len() >= 40 => {
            let mut s = [0u8; 16];
            s.copy_from_slice(&bytes[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&bytes[24..40]);
            p.src = IpAddr::from(s);
            p.dst = IpAddr::from(d);
            if let Some((_, _)) = p.l4.ports() {
                p.l4 = p.l4.with_ports(get16(bytes, 40), get16(bytes, 42));
            }
        }
        _ => {}
    }
    p
}

/// The IPv4 header checksum and the transport checksum of a packet NAT rewrote (not for
/// later fragments, which carry no transport header).
pub(super) fn refill_checksums(b: &mut [u8]) {
    match b.first().map(|x| x >> 4) {
        Some(4) if b.len() >= 20 => {
            let hlen = usize::from(b[0] & 0x0f) * 4;
            let total = usize::from(get16(b, 2)).min(b.len());
            if hlen > total {
                return;
            }
            put16(b, 10, 0);
            let sum = super::fin::l4_checksum(b, 4, 1, 0, hlen as i64, usize::MAX);
            put16(b, 10, sum);
            if get16(b, 6) & 0x1fff != 0 {
                return;
            }
            let proto = b[9];
            if proto == 17 && get16(b, hlen + 6) == 0 {
                return;
            }
            transport_checksum(&mut b[..total], hlen, proto);
        }
        Some(6) if b.len() >= 40 => {
            let total = (40 + usize::from(get16(b, 4))).min(b.len());
            let proto = b[6];
            transport_checksum(&mut b[..total], 40, proto);
        }
        _ => {}
    }
}
