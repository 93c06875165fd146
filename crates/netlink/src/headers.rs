//! The header summary of a trace event: the network header (IPv4 or IPv6) and the start of
//! the transport header the kernel copies into `NFTA_TRACE_NETWORK_HEADER` and
//! `NFTA_TRACE_TRANSPORT_HEADER`, read with the `wire` crate's checked views.

use model::kernel_walk::Headers;
use model::TcpFlags;
use std::net::IpAddr;
use wire::{icmp, ipv4, ipv6, tcp, udp};

/// The largest tag an IPv6 packet can carry (the flow label has 20 bits).
pub const MAX_TAG_V6: u32 = 0x000f_ffff;

/// Reads a network header (IPv4 or IPv6, as the version nibble says) and, if given, the
/// transport header that follows it.
pub fn parse(network: &[u8], transport: Option<&[u8]>) -> wire::Result<Headers> {
    let version = network.first().ok_or(wire::Error)? >> 4;
    let mut h = match version {
        4 => {
            let p = ipv4::Packet::new_checked(network)?;
            Headers {
                src: IpAddr::V4(p.src_addr()),
                dst: IpAddr::V4(p.dst_addr()),
                proto: p.protocol(),
                tag: p.ident() as u32,
                ttl: p.ttl(),
                ports: None,
                tcp_flags: None,
                icmp: None,
                quoted_tag: None,
                tos: p.tos(),
                len: p.total_len(),
                dont_fragment: p.dont_frag(),
                icmp_id: None,
            }
        }
        6 => {
            let p = ipv6::Packet::new_checked(network)?;
            Headers {
                src: IpAddr::V6(p.src_addr()),
                dst: IpAddr::V6(p.dst_addr()),
                proto: p.next_header(),
                tag: p.flow_label(),
                ttl: p.hop_limit(),
                ports: None,
                tcp_flags: None,
                icmp: None,
                quoted_tag: None,
                tos: p.traffic_class(),
                len: p.payload_len().saturating_add(ipv6::HEADER_LEN as u16),
                dont_fragment: false,
                icmp_id: None,
            }
        }
        _ => return Err(wire::Error),
    };
    let proto = h.proto;
    if let Some(t) = transport {
        match proto {
            tcp::PROTOCOL | udp::PROTOCOL | 132 | 136 if t.len() >= 4 => {
                h.ports = Some((wire::get_u16(t, 0..2), wire::get_u16(t, 2..4)));
                if proto == tcp::PROTOCOL && t.len() >= 14 {
                    h.tcp_flags = Some(TcpFlags(t[13]));
                }
            }
            icmp::PROTOCOL_V4 | icmp::PROTOCOL_V6 if t.len() >= 2 => {
                h.icmp = Some((t[0], t[1]));
                if t.len() >= 6 {
                    h.icmp_id = Some(wire::get_u16(t, 4..6));
                }
                let v4_error = proto == icmp::PROTOCOL_V4 && matches!(t[0], 3 | 4 | 5 | 11 | 12);
                let v6_error = proto == icmp::PROTOCOL_V6 && t[0] < 128;
                // The quoted header starts after the 8-byte ICMP header.
                if v4_error && t.len() >= 14 && t[8] >> 4 == 4 {
                    h.quoted_tag = Some(u32::from(wire::get_u16(t, 12..14)));
                } else if v6_error && t.len() >= 12 && t[8] >> 4 == 6 {
                    h.quoted_tag = Some(u32::from_be_bytes([0, t[9], t[10], t[11]]) & MAX_TAG_V6);
                }
            }
            _ => {}
        }
    }
    Ok(h)
}
