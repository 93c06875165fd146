//! The line a LOG rule writes, in the kernel's `nf_log_syslog` format.
//!
//! Field by field as net/netfilter/nf_log_syslog.c prints them (`nf_log_dump_packet_common`,
//! `dump_mac_header`, `dump_ipv4_packet` / `dump_ipv6_packet`, `nf_log_dump_tcp_header`,
//! `nf_log_dump_udp_header`), including the trailing space every field leaves behind
//! (dmesg keeps it: `... SYN URGP=0 `).
//!
//! What the packet model does not hold is rendered as follows (documented, never silent):
//! - `MAC=`: printed only when the packet came in on an interface (`in` set), as the 14
//!   header bytes dst:src:ethertype. The destination MAC is `packet.dst_mac`, else the
//!   inbound interface's own MAC from the host; the source is `packet.src_mac`. A byte
//!   nobody told us is printed as `??` (the kernel always prints real bytes; we will not
//!   invent them). Loopback prints zero MACs (as `lo` frames carry), devices without a
//!   link-layer header (tun, wireguard, ppp: `LinkType::None`) print `MAC=` and nothing.
//! - TCP `WINDOW=`: the segment's window is not in the model. Linux sends 64240 in a SYN
//!   (MSS 1460 × 44), 65160 in a SYN/ACK, 0 in a reset without ACK; for other segments
//!   502 is printed (a typical early window with scale 7): see [`assumed_window`].
//! - `--log-tcp-sequence`: `SEQ=?` (unknown), `ACK=0` for a SYN, else `ACK=?`.
//! - ICMP echo `SEQ=`: 1 (ping's first request); the echo id is `packet.l4`'s `id`.
//! - ICMP errors: the kernel prints the quoted inner packet in `[...]`; the model has no
//!   inner packet, so it is left out. AH/ESP: the SPI is not known and is left out.
//! - IPv4 `FRAG:` prints `Fragment::Later { offset }` as the raw 13-bit field (8-byte units).
//! - IPv6 `FLOWLBL=` is `packet.id` (the model keeps the flow label there), `TC=` the
//!   traffic class `packet.tos`.
//!
//! The TTL printed is `packet.ttl` as given: the caller passes the packet as the LOG's hook
//! sees it. A forwarded packet's TTL is already decremented in FORWARD and POSTROUTING
//! (`ip_forward` calls `ip_decrease_ttl` before `NF_HOOK(NF_INET_FORWARD)`, `ip6_forward`
//! decrements `hop_limit` before its hook), so a packet sent with 64 logs `TTL=63` there.

use model::expr::Log;
use model::host::LinkType;
use model::packet::{Fragment, Mac, TcpFlags, L4};
use model::{Host, Packet};
use std::fmt::Write;
use std::net::{IpAddr, Ipv6Addr};

/// `<prefix>IN=tap0 OUT=eno1 MAC=... SRC=... DST=... LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0`
/// for `packet` as the rule's hook sees it; `iif`/`oif` as that hook knows them.
pub fn format(
    log: &Log,
    packet: &Packet,
    iif: Option<&str>,
    oif: Option<&str>,
    host: &Host,
) -> String {
    let mut m = String::with_capacity(256);
    let _ = write!(
        m,
        "{}IN={} OUT={} ",
        log.prefix,
        iif.unwrap_or(""),
        oif.unwrap_or("")
    );
    if let Some(iif) = iif {
        mac_header(&mut m, log, packet, iif, host);
    }
    match (packet.src, packet.dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6(&mut m, log, packet, s, d),
        _ => ipv4(&mut m, log, packet),
    }
    m
}

/// The TCP window printed for a segment with these flags (see the module doc).
pub fn assumed_window(flags: TcpFlags) -> u16 {
    let syn = flags.contains(TcpFlags::SYN);
    let ack = flags.contains(TcpFlags::ACK);
    match (syn, ack) {
        (true, false) => 64240,
        (true, true) => 65160,
        _ if flags.contains(TcpFlags::RST) && !ack => 0,
        _ => 502,
    }
}

/// `dump_mac_header` (fallback form) or, with `--log-macdecode` / `flags ether`,
/// `MACSRC= MACDST= MACPROTO=`.
fn mac_header(m: &mut String, log: &Log, packet: &Packet, iif: &str, host: &Host) {
    let iface = host.interface(iif);
    let link = match iface {
        Some(i) => i.link,
        None if iif == "lo" => LinkType::Loopback,
        None => LinkType::Ether,
    };
    let ethertype: [u8; 2] = if packet.is_ipv6() {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    };
    let (dst, src) = match link {
        LinkType::None => {
            m.push_str("MAC= ");
            return;
        }
        LinkType::Loopback => (Some(Mac([0; 6])), Some(Mac([0; 6]))),
        _ => (
            packet.dst_mac.or_else(|| iface.and_then(|i| i.mac)),
            packet.src_mac,
        ),
    };
    if log.macdecode && matches!(link, LinkType::Ether | LinkType::Loopback) {
        let _ = write!(
            m,
            "MACSRC={} MACDST={} MACPROTO={:02x}{:02x} ",
            mac_or_unknown(src),
            mac_or_unknown(dst),
            ethertype[0],
            ethertype[1]
        );
        return;
    }
    m.push_str("MAC=");
    let bytes = mac_bytes(dst)
        .into_iter()
        .chain(mac_bytes(src))
        .chain(ethertype.map(Some));
    let text: Vec<String> = bytes
        .map(|b| b.map_or_else(|| "??".to_string(), |b| format!("{b:02x}")))
        .collect();
    m.push_str(&text.join(":"));
    m.push(' ');
}

fn mac_bytes(mac: Option<Mac>) -> [Option<u8>; 6] {
    match mac {
        Some(Mac(b)) => b.map(Some),
        None => [None; 6],
    }
}

fn mac_or_unknown(mac: Option<Mac>) -> String {
    mac.map_or_else(|| "??:??:??:??:??:??".to_string(), |m| m.to_string())
}

/// `dump_ipv4_packet`.
fn ipv4(m: &mut String, log: &Log, packet: &Packet) {
    let _ = write!(m, "SRC={} DST={} ", packet.src, packet.dst);
    let _ = write!(
        m,
        "LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        packet.len,
        packet.tos & 0x1e,
        packet.tos & 0xe0,
        packet.ttl,
        packet.id & 0xffff
    );
    if packet.dont_fragment {
        m.push_str("DF ");
    }
    let later = match packet.fragment {
        Fragment::None => false,
        Fragment::First => {
            m.push_str("MF ");
            false
        }
        Fragment::Later { offset } => {
            let _ = write!(m, "FRAG:{} ", offset & 0x1fff);
            true
        }
    };
    match packet.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => tcp_header(m, log, later, sport, dport, flags),
        L4::Udp { sport, dport } => {
            udp_header(m, "UDP", later, sport, dport, packet.len.saturating_sub(20))
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        } => {
            m.push_str("PROTO=ICMP ");
            if !later {
                let _ = write!(m, "TYPE={icmp_type} CODE={code} ");
                if matches!(icmp_type, 0 | 8) {
                    let _ = write!(m, "ID={id} SEQ=1 ");
                }
            }
        }
        L4::Other(model::packet::IpProto::Ah) => {
            if !later {
                m.push_str("PROTO=AH ");
            }
        }
        L4::Other(model::packet::IpProto::Esp) => m.push_str("PROTO=ESP "),
        L4::Other(model::packet::IpProto::UdpLite) => m.push_str("PROTO=UDPLITE "),
        other => {
            let _ = write!(m, "PROTO={} ", other.proto().number());
        }
    }
    trailer(m, log, packet);
}

/// `dump_ipv6_packet` (no extension headers: the model has none).
fn ipv6(m: &mut String, log: &Log, packet: &Packet, src: Ipv6Addr, dst: Ipv6Addr) {
    let _ = write!(m, "SRC={} DST={} ", full_v6(src), full_v6(dst));
    let _ = write!(
        m,
        "LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
        packet.len,
        packet.tos,
        packet.ttl,
        packet.id & 0x000f_ffff
    );
    match packet.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => tcp_header(m, log, false, sport, dport, flags),
        L4::Udp { sport, dport } => {
            udp_header(m, "UDP", false, sport, dport, packet.len.saturating_sub(40))
        }
        L4::Icmpv6 {
            icmp_type,
            code,
            id,
        } => {
            let _ = write!(m, "PROTO=ICMPv6 TYPE={icmp_type} CODE={code} ");
            if matches!(icmp_type, 128 | 129) {
                let _ = write!(m, "ID={id} SEQ=1 ");
            }
        }
        L4::Other(model::packet::IpProto::UdpLite) => m.push_str("PROTO=UDPLITE "),
        other => {
            let _ = write!(m, "PROTO={} ", other.proto().number());
        }
    }
    trailer(m, log, packet);
}

/// `UID= GID=` (`--log-uid`, only for a packet that has a local socket) and `MARK=`.
fn trailer(m: &mut String, log: &Log, packet: &Packet) {
    if log.uid {
        if let Some(uid) = packet.uid {
            let _ = write!(m, "UID={} GID={} ", uid, packet.gid.unwrap_or(uid));
        }
    }
    if packet.mark != 0 {
        let _ = write!(m, "MARK=0x{:x} ", packet.mark);
    }
}

/// `nf_log_dump_tcp_header`.
fn tcp_header(
    m: &mut String,
    log: &Log,
    later_fragment: bool,
    sport: u16,
    dport: u16,
    flags: TcpFlags,
) {
    m.push_str("PROTO=TCP ");
    if later_fragment {
        return;
    }
    let _ = write!(m, "SPT={sport} DPT={dport} ");
    if log.tcp_sequence {
        // The model keeps no sequence numbers: printed as `?`, except a SYN's ACK field,
        // which Linux leaves 0.
        let syn_only = flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK);
        m.push_str(if syn_only {
            "SEQ=? ACK=0 "
        } else {
            "SEQ=? ACK=? "
        });
    }
    let _ = write!(m, "WINDOW={} RES=0x00 ", assumed_window(flags));
    if flags.0 != 0 {
        let _ = write!(m, "{flags} ");
    }
    m.push_str("URGP=0 ");
}

/// `nf_log_dump_udp_header`.
fn udp_header(m: &mut String, name: &str, later_fragment: bool, sport: u16, dport: u16, len: u16) {
    let _ = write!(m, "PROTO={name} ");
    if !later_fragment {
        let _ = write!(m, "SPT={sport} DPT={dport} LEN={len} ");
    }
}

/// `%pI6`: eight groups of four hex digits, never compressed.
fn full_v6(a: Ipv6Addr) -> String {
    let s = a.segments();
    format!(
        "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::hostkit::*;
    use model::expr::LogKind;

    fn log(prefix: &str) -> Log {
        Log {
            kind: LogKind::Kernel,
            prefix: prefix.into(),
            level: Some(4),
            tcp_sequence: false,
            tcp_options: false,
            ip_options: false,
            uid: false,
            macdecode: false,
        }
    }

    fn story1_host() -> Host {
        host()
            .iface("tap0", &["10.1.1.1/24"])
            .mac("tap0", "52:54:00:12:34:56")
            .iface("eno1", &["10.1.0.1/24"])
            .build()
    }

    /// Story 1's SYN as FORWARD sees it: sent with TTL 64, decremented before the hook.
    fn story1_packet() -> Packet {
        let mut p = tcp_syn("10.1.1.2", "10.1.0.2", 2175)
            .sport(1050)
            .iif("tap0")
            .ttl(63)
            .build();
        p.id = 4711;
        p.src_mac = Mac::parse("02:00:00:00:00:02");
        p
    }

    #[test]
    fn ufw_block_line_of_story_1() {
        let line = format(
            &log("[UFW BLOCK] "),
            &story1_packet(),
            Some("tap0"),
            Some("eno1"),
            &story1_host(),
        );
        assert_eq!(
            line,
            "[UFW BLOCK] IN=tap0 OUT=eno1 MAC=52:54:00:12:34:56:02:00:00:00:00:02:08:00 \
             SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=4711 DF \
             PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0 "
        );
    }

    #[test]
    fn unknown_mac_bytes_are_not_invented() {
        let mut p = story1_packet();
        p.src_mac = None;
        let line = format(&log(""), &p, Some("tap0"), Some("eno1"), &Host::default());
        assert!(
            line.contains(" MAC=??:??:??:??:??:??:??:??:??:??:??:??:08:00 SRC="),
            "{line}"
        );
    }

    #[test]
    fn output_path_has_no_mac_and_empty_in() {
        let p = tcp_syn("10.1.0.1", "10.1.0.2", 22).build();
        let line = format(&log("X "), &p, None, Some("eno1"), &Host::default());
        assert!(
            line.starts_with("X IN= OUT=eno1 SRC=10.1.0.1 DST=10.1.0.2 LEN=60 "),
            "{line}"
        );
    }

    #[test]
    fn input_path_has_empty_out() {
        let h = story1_host();
        let line = format(&log(""), &story1_packet(), Some("tap0"), None, &h);
        assert!(line.starts_with("IN=tap0 OUT= MAC="), "{line}");
    }

    #[test]
    fn tunnel_device_prints_an_empty_mac() {
        let mut h = host().iface("wg0", &["10.9.0.1/24"]).build();
        h.interfaces[0].link = LinkType::None;
        let p = tcp_syn("10.9.0.2", "10.9.0.1", 22).iif("wg0").build();
        assert!(format(&log(""), &p, Some("wg0"), None, &h).starts_with("IN=wg0 OUT= MAC= SRC="));
    }

    #[test]
    fn loopback_prints_zero_macs() {
        let p = tcp_syn("127.0.0.1", "127.0.0.1", 22).iif("lo").build();
        let line = format(&log(""), &p, Some("lo"), None, &Host::default());
        assert!(
            line.contains("MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 "),
            "{line}"
        );
    }

    #[test]
    fn macdecode_prints_macsrc_macdst() {
        let mut l = log("");
        l.macdecode = true;
        let line = format(
            &l,
            &story1_packet(),
            Some("tap0"),
            Some("eno1"),
            &story1_host(),
        );
        assert!(
            line.contains("MACSRC=02:00:00:00:00:02 MACDST=52:54:00:12:34:56 MACPROTO=0800 SRC="),
            "{line}"
        );
    }

    #[test]
    fn udp_line_has_udp_length() {
        let p = udp("10.1.1.2", "10.1.0.2", 53).build();
        let line = format(&log(""), &p, None, None, &Host::default());
        assert!(
            line.ends_with("PROTO=UDP SPT=40000 DPT=53 LEN=8 "),
            "{line}"
        );
    }

    #[test]
    fn icmp_echo_line() {
        let p = icmp_echo("10.1.1.2", "10.1.0.2").build();
        let line = format(&log(""), &p, None, None, &Host::default());
        assert!(
            line.ends_with(
                "LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1 "
            ),
            "{line}"
        );
    }

    #[test]
    fn mark_tos_and_fragments() {
        let mut p = story1_packet();
        p.mark = 0x2a;
        p.tos = 0x28; // DSCP AF11 (0x0a << 2): precedence bits 0x20, TOS bits 0x08
        p.dont_fragment = false;
        p.fragment = Fragment::Later { offset: 185 };
        let line = format(&log(""), &p, None, Some("eno1"), &Host::default());
        assert!(
            line.contains("TOS=0x08 PREC=0x20 TTL=63 ID=4711 FRAG:185 PROTO=TCP MARK=0x2a "),
            "{line}"
        );
    }

    #[test]
    fn log_uid_and_tcp_sequence() {
        let mut l = log("");
        l.uid = true;
        l.tcp_sequence = true;
        let mut p = tcp_syn("10.1.0.1", "10.1.0.2", 22).build();
        p.uid = Some(1000);
        p.gid = Some(100);
        let line = format(&l, &p, None, Some("eno1"), &Host::default());
        assert!(
            line.contains(
                "SPT=40000 DPT=22 SEQ=? ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 UID=1000 GID=100 "
            ),
            "{line}"
        );
    }

    #[test]
    fn ipv6_line_prints_full_addresses() {
        let mut p = tcp_syn("fd01::2", "fd00::2", 2175)
            .sport(1050)
            .iif("tap0")
            .ttl(63)
            .build();
        p.id = 0x12345;
        p.src_mac = Mac::parse("02:00:00:00:00:02");
        let line = format(
            &log("[UFW BLOCK] "),
            &p,
            Some("tap0"),
            Some("eno1"),
            &story1_host(),
        );
        assert_eq!(
            line,
            "[UFW BLOCK] IN=tap0 OUT=eno1 MAC=52:54:00:12:34:56:02:00:00:00:00:02:86:dd \
             SRC=fd01:0000:0000:0000:0000:0000:0000:0002 DST=fd00:0000:0000:0000:0000:0000:0000:0002 \
             LEN=80 TC=0 HOPLIMIT=63 FLOWLBL=74565 PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0 "
        );
    }

    #[test]
    fn ipv6_icmp_echo() {
        let p = icmp_echo("fd01::2", "fd00::2").build();
        let line = format(&log(""), &p, None, None, &Host::default());
        assert!(
            line.ends_with("PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=1 "),
            "{line}"
        );
    }

    #[test]
    fn windows_by_flags() {
        assert_eq!(assumed_window(TcpFlags::SYN), 64240);
        assert_eq!(assumed_window(TcpFlags::SYN.union(TcpFlags::ACK)), 65160);
        assert_eq!(assumed_window(TcpFlags::RST), 0);
        assert_eq!(assumed_window(TcpFlags::ACK), 502);
    }
}
