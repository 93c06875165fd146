//! nft's raw payload `@ll|@nh|@th,OFFSET,LENGTH`, read from the bytes the packet's headers
//! would have on the wire (issue 11 B3: miniupnpd writes every rule so).
//!
//! Each header is laid out as the kernel sees it, byte by byte, with a mask of the bits the
//! packet spec determines: addresses, ports, protocol, TTL, TOS, lengths, TCP flags, ICMP
//! type and code, MACs when given. The IP id, checksums, sequence numbers, window, TCP data
//! offset, IPv6 flow label and the payload are not given: a read touching them is Unknown.
//! A read past the end of the packet fails in the kernel (`nft_payload_eval` breaks): the
//! match does not apply (absent), as it does where the header is missing (no link-layer
//! header on a locally generated packet, no transport header in a later fragment).

use crate::linux::eval::{Ctx, Got, Val};
use model::expr::{RawBase, RawField, Undecidable};
use model::packet::Fragment;
use model::{Hook, L4};
use std::net::IpAddr;

/// A header's bytes: each with the mask of its bits that are known.
struct Image {
    bytes: Vec<(u8, u8)>,
}

impl Image {
    fn new() -> Image {
        Image {
            bytes: Vec::with_capacity(40),
        }
    }
    fn known(&mut self, b: &[u8]) {
        self.bytes.extend(b.iter().map(|&v| (v, 0xff)));
    }
    fn unknown(&mut self, n: usize) {
        self.bytes.extend(std::iter::repeat_n((0, 0), n));
    }
    fn partly(&mut self, value: u8, mask: u8) {
        self.bytes.push((value & mask, mask));
    }
}

/// The value of `f` for the packet at this hook.
pub(crate) fn read<'a>(ctx: &Ctx<'a>, f: RawField) -> Got<'a> {
    let p = ctx.packet;
    let (image, header_start) = match f.base {
        RawBase::Link => match link(ctx) {
            Ok(image) => (image, 0),
            Err(got) => return got,
        },
        RawBase::Network => (network(ctx), link_len(ctx)),
        RawBase::Transport => {
            if !p.has_transport_header() {
                return Got::Absent;
            }
            (transport(ctx), link_len(ctx) + ip_len(ctx))
        }
    };
    let (start, end) = (f.offset as usize, f.offset as usize + usize::from(f.len));
    // The packet's bytes from this header on: beyond them the kernel's read fails.
    let available = (link_len(ctx) + usize::from(p.len)).saturating_sub(header_start);
    if end > available * 8 {
        return Got::Absent;
    }
    let mut value: u64 = 0;
    for bit in start..end {
        let Some(&(byte, mask)) = image.bytes.get(bit / 8) else {
            return Got::Unknown(Undecidable::RawBytesUnknown);
        };
        let shift = 7 - (bit % 8);
        if mask >> shift & 1 == 0 {
            return Got::Unknown(Undecidable::RawBytesUnknown);
        }
        value = value << 1 | u64::from(byte >> shift & 1);
    }
    Got::Val(Val::Int(value))
}

/// A received frame keeps its Ethernet header up to forward; a locally generated packet
/// has none (the kernel's read breaks); after routing a forwarded packet's old header is not
/// modelled.
fn link<'a>(ctx: &Ctx<'a>) -> Result<Image, Got<'a>> {
    let p = ctx.packet;
    if ctx.locally_generated {
        return Err(Got::Absent);
    }
    if !matches!(
        ctx.hook,
        Hook::Ingress | Hook::Prerouting | Hook::Input | Hook::Forward
    ) {
        return Err(Got::Unknown(Undecidable::RawBytesUnknown));
    }
    let mut image = Image::new();
    for mac in [p.dst_mac, p.src_mac] {
        match mac {
            Some(m) => image.known(&m.0),
            None => image.unknown(6),
        }
    }
    image.known(&(if p.is_ipv6() { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
    Ok(image)
}

fn link_len(ctx: &Ctx<'_>) -> usize {
    if link(ctx).is_ok() {
        14
    } else {
        0
    }
}

fn ip_len(ctx: &Ctx<'_>) -> usize {
    if ctx.packet.is_ipv6() {
        40
    } else {
        20
    }
}

fn network(ctx: &Ctx<'_>) -> Image {
    let p = ctx.packet;
    let mut image = Image::new();
    match (p.src, p.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            image.known(&[0x45, p.tos]);
            image.known(&p.len.to_be_bytes());
            image.unknown(2); // identification
            match p.fragment {
                Fragment::None => {
                    image.known(&[if p.dont_fragment { 0x40 } else { 0 }, 0]);
                }
                Fragment::First => image.known(&[0x20, 0]),
                Fragment::Later { offset } => {
                    let off = offset & 0x1fff;
                    image.partly((off >> 8) as u8, 0x1f);
                    image.known(&[off as u8]);
                }
            }
            image.known(&[p.ttl, p.proto().number()]);
            image.unknown(2); // header checksum
            image.known(&src.octets());
            image.known(&dst.octets());
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            image.known(&[0x60 | p.tos >> 4]);
            image.partly(p.tos << 4, 0xf0); // then the flow label
            image.unknown(2);
            image.known(&p.len.saturating_sub(40).to_be_bytes());
            image.known(&[p.proto().number(), p.ttl]);
            image.known(&src.octets());
            image.known(&dst.octets());
        }
        _ => {}
    }
    image
}

fn transport(ctx: &Ctx<'_>) -> Image {
    let p = ctx.packet;
    let mut image = Image::new();
    match p.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => {
            image.known(&sport.to_be_bytes());
            image.known(&dport.to_be_bytes());
            image.unknown(9); // sequence, acknowledgment, data offset
            image.known(&[flags.0]);
        }
        L4::Udp { sport, dport } => {
            image.known(&sport.to_be_bytes());
            image.known(&dport.to_be_bytes());
            let udp_len = usize::from(p.len).saturating_sub(ip_len(ctx));
            image.known(&(udp_len as u16).to_be_bytes());
        }
        L4::Sctp { sport, dport } => {
            image.known(&sport.to_be_bytes());
            image.known(&dport.to_be_bytes());
        }
        L4::Icmp {
            icmp_type, code, ..
        }
        | L4::Icmpv6 {
            icmp_type, code, ..
        } => image.known(&[icmp_type, code]),
        L4::Other(_) => {}
    }
    image
}
