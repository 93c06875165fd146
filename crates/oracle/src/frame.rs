//! Frames built from a [`model::Packet`] (the header summary read back from a trace is
//! `netlink::headers`).
//!
//! Every injected packet carries a *tag*: the IPv4 identification or the IPv6 flow label.
//! The kernel leaves both alone through the whole path (NAT included), so the tag read from
//! a trace event's network header says which injected packet the event belongs to.

use model::packet::{Fragment, Mac};
use model::{Packet, TcpFlags, L4};
use std::fmt;
use std::net::IpAddr;
use wire::{ethernet, icmp, ipv4, ipv6, tcp, udp};

/// Why a packet cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// Source and destination of different families.
    MixedFamilies,
    /// The packet cannot be sent as given (the reason says why).
    Unsupported(String),
    Wire(wire::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MixedFamilies => {
                f.write_str("source and destination are of different IP families")
            }
            BuildError::Unsupported(why) => f.write_str(why),
            BuildError::Wire(e) => write!(f, "{e}"),
        }
    }
}

impl From<wire::Error> for BuildError {
    fn from(e: wire::Error) -> BuildError {
        BuildError::Wire(e)
    }
}

/// The largest tag an IPv6 packet can carry (20-bit flow label); IPv4 carries 16 bits.
pub use netlink::headers::MAX_TAG_V6;

fn transport(p: &Packet, l4_room: usize) -> Result<(u8, Vec<u8>), BuildError> {
    let (src, dst) = (p.src, p.dst);
    Ok(match p.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => {
            let options: &[u8] = if flags.contains(TcpFlags::SYN) && l4_room >= 40 {
                &tcp::LINUX_SYN_OPTIONS
            } else {
                &[]
            };
            let mut repr = tcp::Repr {
                src_port: sport,
                dst_port: dport,
                seq_number: 1,
                ack_number: if flags.contains(TcpFlags::ACK) { 1 } else { 0 },
                flags,
                window_len: 64240,
                options,
                payload_len: 0,
            };
            repr.payload_len = l4_room.saturating_sub(repr.header_len());
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut tcp::Packet::new_unchecked(&mut buf[..]), src, dst)?;
            (tcp::PROTOCOL, buf)
        }
        L4::Udp { sport, dport } => {
            let repr = udp::Repr {
                src_port: sport,
                dst_port: dport,
                payload_len: l4_room.saturating_sub(udp::HEADER_LEN),
            };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut udp::Packet::new_unchecked(&mut buf[..]), src, dst)?;
            (udp::PROTOCOL, buf)
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
            let v6 = matches!(p.l4, L4::Icmpv6 { .. });
            let repr = icmp::Repr {
                msg_type: icmp_type,
                msg_code: code,
                ident: id,
                seq_no: 1,
                payload_len: l4_room.saturating_sub(icmp::HEADER_LEN),
            };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(
                &mut icmp::Packet::new_unchecked(&mut buf[..]),
                v6.then_some((src, dst)),
            )?;
            (
                if v6 {
                    icmp::PROTOCOL_V6
                } else {
                    icmp::PROTOCOL_V4
                },
                buf,
            )
        }
        L4::Sctp { .. } => {
            return Err(BuildError::Unsupported(
                "SCTP packets cannot be injected yet (CRC32c not implemented)".into(),
            ))
        }
        L4::Other(proto) => (proto.number(), vec![0u8; l4_room]),
    })
}

/// The IP packet (header first) for `p`, tagged with `tag`. Its length is `p.len` (at least
/// the headers'); a SYN carries Linux's 20 bytes of options when the length allows.
pub fn ip_packet(p: &Packet, tag: u32) -> Result<Vec<u8>, BuildError> {
    if p.src.is_ipv4() != p.dst.is_ipv4() {
        return Err(BuildError::MixedFamilies);
    }
    if p.fragment != Fragment::None {
        return Err(BuildError::Unsupported(
            "fragments are held for reassembly (conntrack defrag, priority -400) before any chain \
             sees them: send the whole packet instead"
                .into(),
        ));
    }
    let ip_len = if p.is_ipv6() {
        ipv6::HEADER_LEN
    } else {
        ipv4::HEADER_LEN
    };
    let total = (p.len as usize).max(ip_len + min_l4(p));
    let (proto, l4) = transport(p, total - ip_len)?;
    let mut buf = vec![0u8; ip_len + l4.len()];
    match (p.src, p.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            ipv4::Repr {
                src,
                dst,
                protocol: proto,
                payload_len: l4.len(),
                ttl: p.ttl,
                tos: p.tos,
                ident: tag as u16,
                dont_frag: p.dont_fragment,
                more_frags: false,
                frag_offset: 0,
            }
            .emit(&mut ipv4::Packet::new_unchecked(&mut buf[..]))?;
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            ipv6::Repr {
                src,
                dst,
                next_header: proto,
                payload_len: l4.len(),
                hop_limit: p.ttl,
                traffic_class: p.tos,
                flow_label: tag & MAX_TAG_V6,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut buf[..]))?;
        }
        _ => return Err(BuildError::MixedFamilies),
    }
    buf[ip_len..].copy_from_slice(&l4);
    Ok(buf)
}

fn min_l4(p: &Packet) -> usize {
    match p.l4 {
        L4::Tcp { .. } => tcp::HEADER_LEN,
        L4::Udp { .. } => udp::HEADER_LEN,
        L4::Icmp { .. } | L4::Icmpv6 { .. } => icmp::HEADER_LEN,
        L4::Sctp { .. } => 12,
        L4::Other(_) => 0,
    }
}

/// The Ethernet frame for `p` from `src_mac` to `dst_mac`.
pub fn ethernet_frame(
    p: &Packet,
    tag: u32,
    src_mac: Mac,
    dst_mac: Mac,
) -> Result<Vec<u8>, BuildError> {
    let ip = ip_packet(p, tag)?;
    let repr = ethernet::Repr {
        src: src_mac,
        dst: dst_mac,
        ethertype: if p.is_ipv6() {
            ethernet::ethertype::IPV6
        } else {
            ethernet::ethertype::IPV4
        },
    };
    let mut buf = vec![0u8; repr.buffer_len() + ip.len()];
    let mut f = ethernet::Frame::new_unchecked(&mut buf[..]);
    repr.emit(&mut f);
    f.payload_mut().copy_from_slice(&ip);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn() -> Packet {
        let mut p = Packet::new(
            "10.1.1.2".parse().unwrap(),
            "10.1.0.2".parse().unwrap(),
            L4::Tcp {
                sport: 1050,
                dport: 2175,
                flags: TcpFlags::SYN,
            },
        );
        p.iif = Some("lan0".into());
        p
    }

    #[test]
    fn syn_is_60_bytes_with_valid_checksums_and_tag() {
        let ip = ip_packet(&syn(), 0x1234).unwrap();
        assert_eq!(ip.len(), 60);
        let v4 = ipv4::Packet::new_checked(&ip[..]).unwrap();
        assert!(v4.verify_checksum());
        assert_eq!(v4.ident(), 0x1234);
        let t = tcp::Packet::new_checked(v4.payload()).unwrap();
        assert!(t.verify_checksum("10.1.1.2".parse().unwrap(), "10.1.0.2".parse().unwrap()));
        let h = netlink::headers::parse(&ip[..20], Some(&ip[20..])).unwrap();
        assert_eq!(h.tag, 0x1234);
        assert_eq!(h.ports, Some((1050, 2175)));
        assert_eq!(h.to_string(), "tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN]");
    }

    #[test]
    fn ipv6_udp_carries_flow_label_and_checksum() {
        let p = Packet::new(
            "fd00::1".parse().unwrap(),
            "fd00::2".parse().unwrap(),
            L4::Udp {
                sport: 5,
                dport: 53,
            },
        );
        let ip = ip_packet(&p, 0xabcdef).unwrap();
        let v6 = ipv6::Packet::new_checked(&ip[..]).unwrap();
        assert_eq!(v6.flow_label(), 0xbcdef);
        let u = udp::Packet::new_checked(v6.payload()).unwrap();
        assert!(u.verify_checksum(p.src, p.dst));
        assert_ne!(u.checksum(), 0);
    }

    #[test]
    fn headers_carry_tos_length_df_and_icmp_id() {
        let mut p = Packet::new(
            "10.1.1.2".parse().unwrap(),
            "10.1.0.2".parse().unwrap(),
            L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 0x77,
            },
        );
        p.tos = 0x20;
        p.len = 120;
        let ip = ip_packet(&p, 9).unwrap();
        let h = netlink::headers::parse(&ip[..20], Some(&ip[20..])).unwrap();
        assert_eq!((h.tos, h.len, h.dont_fragment), (0x20, 120, true));
        assert_eq!(h.icmp_id, Some(0x77));
        let mut p6 = Packet::new(
            "fd00::1".parse().unwrap(),
            "fd00::2".parse().unwrap(),
            L4::Udp {
                sport: 5,
                dport: 53,
            },
        );
        p6.tos = 0xb8;
        p6.len = 100;
        let ip = ip_packet(&p6, 3).unwrap();
        let h = netlink::headers::parse(&ip[..40], Some(&ip[40..])).unwrap();
        assert_eq!((h.tos, h.len, h.dont_fragment), (0xb8, 100, false));
    }

    #[test]
    fn frame_has_ethertype_and_macs() {
        let f =
            ethernet_frame(&syn(), 1, Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2])).unwrap();
        let e = ethernet::Frame::new_checked(&f[..]).unwrap();
        assert_eq!(e.ethertype(), ethernet::ethertype::IPV4);
        assert_eq!(e.dst_addr(), Mac([2, 0, 0, 0, 0, 2]));
        assert_eq!(f.len(), 74);
    }

    #[test]
    fn fragments_are_refused_with_a_reason() {
        let mut p = syn();
        p.fragment = Fragment::First;
        assert!(matches!(ip_packet(&p, 1), Err(BuildError::Unsupported(_))));
    }
}
