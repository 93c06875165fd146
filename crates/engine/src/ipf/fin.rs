//! What IPFilter knows about a packet before it reads a rule (its `fr_info_t`), decoded
//! from the bytes as `ipf_makefrip` and the `ipf_pr_*` functions of `fil.c` do: the
//! addresses, protocol, ports, TCP flags, ICMP type and code, fragment offset, IP options
//! and the packet's flags (`short`, `frag`, `bad`, …).
//!
//! A packet too short for a header IPFilter must read is a "bad packet": `ipf_pullup`
//! fails and the packet is dropped before any rule (ipftest prints `bad-packet`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Packet flags (`fi_flx`), with IPFilter's bit values (`ip_fil.h`).
pub mod flx {
    /// TCP or UDP (`proto tcp/udp` tests it).
    pub const TCPUDP: u32 = 0x0001;
    /// The IPv4 header has options.
    pub const OPTIONS: u32 = 0x0002;
    /// A fragment.
    pub const FRAG: u32 = 0x0004;
    /// Too short for its transport header.
    pub const SHORT: u32 = 0x0008;
    /// Translated by NAT.
    pub const NATED: u32 = 0x0010;
    /// Link-layer multicast.
    pub const MULTICAST: u32 = 0x0020;
    /// Link-layer broadcast.
    pub const BROADCAST: u32 = 0x0040;
    /// Broadcast or multicast.
    pub const MBCAST: u32 = 0x0080;
    /// Matched a state entry.
    pub const STATE: u32 = 0x0100;
    /// NAT failed.
    pub const BADNAT: u32 = 0x0200;
    /// Failed a sanity check (flags, checksum, fragment length).
    pub const BAD: u32 = 0x0400;
    /// Outside its state entry's TCP window.
    pub const OOW: u32 = 0x0800;
    /// An ICMP error.
    pub const ICMPERR: u32 = 0x1000;
    /// A fragment other than the first.
    pub const FRAGBODY: u32 = 0x2000;
    /// Source fails the reverse-path check.
    pub const BADSRC: u32 = 0x4000;
    /// TTL below the minimum.
    pub const LOWTTL: u32 = 0x8000;
    /// IPv6 extension headers.
    pub const V6EXTHDR: u32 = 0x10000;
    /// An ICMP query (echo, timestamp, mask…).
    pub const ICMPQUERY: u32 = 0x80000;
    /// An AH header.
    pub const AH: u32 = 0x200000;
    /// The flags a state entry compares (`FI_CMP`).
    pub const CMP: u32 = 0x5cfe3;
}

/// The decoded packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Fin {
    /// 4 or 6.
    pub v: u8,
    /// TOS (IPv4).
    pub tos: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// The protocol (after IPv6 extension headers).
    pub p: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// [`flx`] bits.
    pub flx: u32,
    /// IP options present (IPv4) or extension headers (IPv6), IPFilter's bits.
    pub optmsk: u32,
    /// IPSO classification bits.
    pub secmsk: u16,
    /// IPSO authority bytes.
    pub auth: u16,
    /// Fragment offset in bytes (IPv4) or 8-byte units (IPv6), as `fin_off`.
    pub off: u32,
    /// IP header length.
    pub hlen: usize,
    /// Length as the IP header gives it (`fin_plen`).
    pub plen: i64,
    /// Length after the headers read so far (`fin_dlen`).
    pub dlen: i64,
    /// Where the transport header starts.
    pub dp: usize,
    /// Source port, when read.
    pub sport: u16,
    /// Destination port, when read.
    pub dport: u16,
    /// TCP flags.
    pub tcpf: u8,
    /// `fin_data[0]`: for ICMP, type << 8 | code.
    pub data0: u16,
    /// `fin_data[1]`: for ICMP echo, the identifier.
    pub data1: u16,
    /// IP identification (IPv4) or fragment identification (IPv6).
    pub id: u32,
}

/// The IPv4 options IPFilter flags, in its table's order (`ipopts[]` of `fil.c`).
const IPOPTS: [(u8, u32); 19] = [
    (1, 0x000001),
    (7, 0x000002),
    (10, 0x000004),
    (11, 0x000008),
    (12, 0x000010),
    (15, 0x000020),
    (68, 0x000040),
    (82, 0x000080),
    (130, 0x000100),
    (131, 0x000200),
    (133, 0x000400),
    (134, 0x000800),
    (136, 0x001000),
    (137, 0x002000),
    (147, 0x004000),
    (142, 0x008000),
    (144, 0x010000),
    (145, 0x020000),
    (205, 0x040000),
];

/// IPSO classifications and their bits (`secopt[]`).
const SECOPT: [(u8, u16); 8] = [
    (0x01, 0x01),
    (0x3d, 0x02),
    (0x5a, 0x04),
    (0x66, 0x08),
    (0x96, 0x10),
    (0xab, 0x20),
    (0xcc, 0x40),
    (0xf1, 0x80),
];

/// IPv6 extension headers and their bits (`ip6exthdr[]`).
pub const IP6EXTHDR: [(u8, u32); 9] = [
    (0, 0x000001),
    (41, 0x000002),
    (43, 0x000004),
    (44, 0x000008),
    (50, 0x000010),
    (51, 0x000020),
    (59, 0x000040),
    (60, 0x000080),
    (135, 0x000100),
];

/// Why a packet is dropped before the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadPacket {
    /// Fewer bytes than a header IPFilter must read (`ipf_pullup` fails).
    Truncated,
    /// Not IPv4 or IPv6.
    Version,
}

/// A byte of the packet, 0 past the end (ipftest's buffer is zeroed beyond the packet).
fn byte(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([byte(bytes, at), byte(bytes, at + 1)])
}

impl Fin {
    /// Decodes `bytes` (`ipf_makefrip`). `cast` carries the link-layer flags given with
    /// the packet ([`flx::MULTICAST`], [`flx::BROADCAST`], [`flx::MBCAST`]).
    pub fn decode(bytes: &[u8], cast: u32) -> Result<Fin, BadPacket> {
        let v = byte(bytes, 0) >> 4;
        let mut fin = Fin {
            v,
            tos: 0,
            ttl: 0,
            p: 0,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            flx: cast,
            optmsk: 0,
            secmsk: 0,
            auth: 0,
            off: 0,
            hlen: 0,
            plen: 0,
            dlen: 0,
            dp: 0,
            sport: 0,
            dport: 0,
            tcpf: 0,
            data0: 0,
            data1: 0,
            id: 0,
        };
        match v {
            4 => fin.ipv4(bytes)?,
            6 => fin.ipv6(bytes)?,
            _ => return Err(BadPacket::Version),
        }
        Ok(fin)
    }

    /// `ipf_pr_pullup`: the bytes up to `dp + len` must be there.
    fn pullup(&self, bytes: &[u8], len: i64) -> Result<(), BadPacket> {
        let need = self.dp as i64 + len;
        if (bytes.len() as i64) < need {
            return Err(BadPacket::Truncated);
        }
        Ok(())
    }

    /// `ipf_pr_short`.
    fn short(&mut self, min: i64) {
        if self.off == 0 {
            if self.dlen < min {
                self.flx |= flx::SHORT;
            }
        } else if i64::from(self.off) < min {
            self.flx |= flx::SHORT;
        }
    }

    fn ipv4(&mut self, bytes: &[u8]) -> Result<(), BadPacket> {
        if bytes.len() < 20 {
            return Err(BadPacket::Truncated);
        }
        let hlen = usize::from(bytes[0] & 0x0f) * 4;
        self.hlen = hlen;
        self.dp = hlen;
        self.plen = i64::from(be16(bytes, 2));
        self.dlen = self.plen - hlen as i64;
        self.tos = bytes[1];
        self.ttl = bytes[8];
        self.p = bytes[9];
        self.id = u32::from(be16(bytes, 4));
        let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
        let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
        self.src = IpAddr::V4(src);
        self.dst = IpAddr::V4(dst);
        if dst.is_multicast() {
            self.flx |= flx::MULTICAST | flx::MBCAST;
        }
        let mut off = u32::from(be16(bytes, 6)) & 0x3fff;
        if off != 0 {
            let more = off & 0x2000 != 0;
            self.flx |= flx::FRAG;
            off &= 0x1fff;
            if off != 0 {
                self.flx |= flx::FRAGBODY;
                off <<= 3;
                if i64::from(off) + self.dlen > 65535
                    || self.dlen == 0
                    || (more && self.dlen & 7 != 0)
                {
                    self.flx |= flx::BAD;
                }
            }
        }
        self.off = off;
        let mut p = self.p;
        if p == 51 {
            p = self.ah(bytes)?;
        }
        match p {
            17 => {
                self.short(8);
                if self.udp_common(bytes)? {
                    self.check_sum(bytes);
                }
            }
            6 => {
                self.short(20);
                if self.tcp_common(bytes)? {
                    self.check_sum(bytes);
                }
            }
            1 => self.icmp(bytes)?,
            50 if self.off == 0 => {
                self.short(8);
                self.pullup(bytes, 8)?;
            }
            47 => {
                self.short(4);
                if self.off == 0 {
                    self.pullup(bytes, 4)?;
                }
            }
            _ => {}
        }
        if hlen > 20 {
            self.ipv4_options(&bytes[20..hlen.min(bytes.len())]);
        }
        Ok(())
    }

    /// `ipf_pr_ah`: skips an AH header; returns the protocol after it (59, none, when
    /// it cannot be read).
    fn ah(&mut self, bytes: &[u8]) -> Result<u8, BadPacket> {
        self.flx |= flx::AH;
        self.short(12);
        if self.flx & flx::SHORT != 0 || self.off != 0 {
            return Ok(59);
        }
        self.pullup(bytes, 12)?;
        let len = (i64::from(byte(bytes, self.dp + 1)) + 2) << 2;
        self.short(len);
        self.pullup(bytes, len)?;
        let next = byte(bytes, self.dp);
        self.dp += len as usize;
        self.dlen -= len;
        Ok(next)
    }

    /// `ipf_pr_tcpcommon`; `Ok(true)` when the header is sane (then the checksum is
    /// checked).
    fn tcp_common(&mut self, bytes: &[u8]) -> Result<bool, BadPacket> {
        self.flx |= flx::TCPUDP;
        if self.off != 0 {
            return Ok(false);
        }
        self.pullup(bytes, self.dlen.clamp(0, 20))?;
        let t = self.dp;
        if self.dlen > 3 {
            self.sport = be16(bytes, t);
            self.dport = be16(bytes, t + 2);
        }
        if self.flx & flx::SHORT != 0 {
            return Ok(false);
        }
        let tlen = i64::from(byte(bytes, t + 12) >> 4) << 2;
        if tlen < 20 {
            self.flx |= flx::BAD;
            return Ok(false);
        }
        let flags = byte(bytes, t + 13);
        self.tcpf = flags;
        let (fin, syn, rst, psh, ack, urg) = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20);
        let urp = be16(bytes, t + 18);
        let ack_no = u32::from_be_bytes([
            byte(bytes, t + 8),
            byte(bytes, t + 9),
            byte(bytes, t + 10),
            byte(bytes, t + 11),
        ]);
        // URG without a pointer; SYN or FIN with RST but no ACK; SYN with URG or PSH;
        // without ACK, neither SYN nor RST, or with URG, PSH or FIN. A SYN with a
        // non-zero ACK field is not bad: Cisco PIX sends them.
        let bad = (flags & urg != 0 && urp == 0)
            || (flags & (syn | fin) != 0 && flags & (rst | ack) == rst)
            || (flags & syn != 0 && flags & (urg | psh) != 0)
            || (flags & ack == 0
                && !(flags == syn && ack_no != 0)
                && (flags & (rst | syn) == 0 || flags & (urg | psh | fin) != 0));
        if bad {
            self.flx |= flx::BAD;
        }
        if self.flx & flx::BAD != 0 {
            return Ok(false);
        }
        if tlen > 20 {
            self.pullup(bytes, tlen)?;
        }
        Ok(true)
    }

    /// `ipf_pr_udpcommon`.
    fn udp_common(&mut self, bytes: &[u8]) -> Result<bool, BadPacket> {
        self.flx |= flx::TCPUDP;
        if self.off == 0 && self.dlen > 3 {
            self.pullup(bytes, 8)?;
            self.sport = be16(bytes, self.dp);
            self.dport = be16(bytes, self.dp + 2);
        }
        Ok(true)
    }

    /// `ipf_pr_icmp`.
    fn icmp(&mut self, bytes: &[u8]) -> Result<(), BadPacket> {
        self.short(8);
        if self.off != 0 {
            return Ok(());
        }
        self.pullup(bytes, 8)?;
        let t = self.dp;
        let icmp_type = byte(bytes, t);
        self.data0 = be16(bytes, t);
        self.data1 = be16(bytes, t + 4);
        let mut min = 8;
        match icmp_type {
            0 | 8 | 9 | 10 => {
                self.flx |= flx::ICMPQUERY;
            }
            13 | 14 => {
                self.flx |= flx::ICMPQUERY;
                min = 20;
            }
            17 | 18 => {
                self.flx |= flx::ICMPQUERY;
                min = 12;
            }
            3 | 4 | 5 | 11 | 12 => {
                self.flx |= flx::ICMPERR;
                // `ipf_coalesce` then the quoted header: the whole packet must be here.
                if (bytes.len() as i64) < self.plen {
                    return Err(BadPacket::Truncated);
                }
                let inner = t + 8;
                if be16(bytes, inner + 6) & 0x1fff != 0 {
                    self.flx |= flx::BAD;
                }
                let quoted_src = Ipv4Addr::new(
                    byte(bytes, inner + 12),
                    byte(bytes, inner + 13),
                    byte(bytes, inner + 14),
                    byte(bytes, inner + 15),
                );
                if IpAddr::V4(quoted_src) != self.dst {
                    self.flx |= flx::BAD;
                }
            }
            _ => {}
        }
        self.short(min);
        self.check_sum(bytes);
        Ok(())
    }

    /// `ipf_checkv4sum`/`ipf_checkl4sum`: a wrong transport checksum makes the packet bad.
    fn check_sum(&mut self, bytes: &[u8]) {
        if self.flx & (flx::FRAG | flx::SHORT | flx::BAD) != 0 {
            return;
        }
        let at = match self.p {
            6 => 16,
            17 => {
                if be16(bytes, self.dp + 6) == 0 {
                    return;
                }
                6
            }
            1 | 58 => 2,
            _ => return,
        };
        let written = be16(bytes, self.dp + at);
        if l4_checksum(bytes, self.v, self.p, self.dp, self.plen, at) != written {
            self.flx |= flx::BAD;
        }
    }

    /// The IPv4 options walk of `ipf_pr_ipv4hdr`, with its table search as written (an
    /// option is only flagged when longer than 4 bytes).
    fn ipv4_options(&mut self, opts: &[u8]) {
        self.flx |= flx::OPTIONS;
        let mut optmsk = 0u32;
        let (mut secmsk, mut auth) = (0u16, 0u16);
        let mut s = 0usize;
        let mut left = opts.len() as i64;
        while left > 0 {
            let opt = opts[s];
            let ol: i64 = if opt == 0 {
                break;
            } else if opt == 1 {
                1
            } else {
                if left < 2 {
                    break;
                }
                let ol = i64::from(*opts.get(s + 1).unwrap_or(&0));
                if ol < 2 || ol > left {
                    break;
                }
                ol
            };
            let (mut i, mut mv) = (9i64, 4i64);
            while mv >= 0 {
                let (val, bit) = IPOPTS[i.clamp(0, 18) as usize];
                if opt == val && ol > 4 {
                    if opt == 130 {
                        if optmsk & bit != 0 {
                            self.flx |= flx::BAD;
                        } else {
                            let (sec, a) = ripso(&opts[s..]);
                            secmsk = sec;
                            auth = a;
                        }
                    } else if opt == 134 && optmsk & bit != 0 {
                        self.flx |= flx::BAD;
                    }
                    optmsk |= bit;
                }
                if opt < val {
                    i -= mv;
                } else {
                    i += mv;
                }
                mv -= 1;
            }
            left -= ol;
            s += ol as usize;
            if s >= opts.len() {
                break;
            }
        }
        if auth != 0 && auth & 0x0100 == 0 {
            auth &= 0xff00;
        }
        self.optmsk = optmsk;
        self.secmsk = secmsk;
        self.auth = auth;
    }

    fn ipv6(&mut self, bytes: &[u8]) -> Result<(), BadPacket> {
        if bytes.len() < 40 {
            return Err(BadPacket::Truncated);
        }
        self.hlen = 40;
        self.dp = 40;
        self.dlen = i64::from(be16(bytes, 4));
        self.plen = self.dlen + 40;
        self.ttl = bytes[7];
        let mut src = [0u8; 16];
        src.copy_from_slice(&bytes[8..24]);
        let mut dst = [0u8; 16];
        dst.copy_from_slice(&bytes[24..40]);
        self.src = IpAddr::V6(Ipv6Addr::from(src));
        self.dst = IpAddr::V6(Ipv6Addr::from(dst));
        let mut p = bytes[6];
        let mut go = true;
        while go && self.flx & flx::SHORT == 0 {
            match p {
                17 => {
                    if self.dlen < 8 {
                        self.flx |= flx::SHORT;
                    }
                    self.udp_common(bytes)?;
                    self.p = 17;
                    self.check_sum6(bytes);
                    go = false;
                }
                6 => {
                    if self.dlen < 20 {
                        self.flx |= flx::SHORT;
                    }
                    self.p = 6;
                    if self.tcp_common(bytes)? {
                        self.check_sum6(bytes);
                    }
                    go = false;
                }
                58 => {
                    self.icmp6(bytes)?;
                    go = false;
                }
                47 => {
                    if self.dlen < 4 {
                        self.flx |= flx::SHORT;
                    }
                    go = false;
                }
                0 | 135 | 60 | 43 => p = self.ext_header(bytes, p)?,
                51 => p = self.ext_header(bytes, 51)?,
                50 => {
                    if self.dlen < 8 {
                        self.flx |= flx::SHORT;
                    }
                    go = false;
                }
                41 => {
                    self.flx |= 0x000002;
                    go = false;
                }
                44 => {
                    self.flx |= flx::FRAG;
                    p = self.fragment6(bytes)?;
                    if self.off != 0 {
                        go = false;
                    }
                }
                _ => go = false,
            }
            if go && p != 59 {
                self.pullup(bytes, 0)?;
            }
        }
        self.p = p;
        if go && self.flx & flx::FRAG != 0 && self.off == 0 {
            self.flx |= flx::BAD;
        }
        Ok(())
    }

    /// `ipf_pr_ipv6exthdr` and the per-header functions: the next header, or 59 (none).
    fn ext_header(&mut self, bytes: &[u8], proto: u8) -> Result<u8, BadPacket> {
        self.flx |= flx::V6EXTHDR;
        if self.dlen - 8 < 0 {
            self.flx |= flx::SHORT;
            return Ok(59);
        }
        self.pullup(bytes, 8)?;
        let h = self.dp;
        let shift = if proto == 44 {
            8
        } else {
            8 + (i64::from(byte(bytes, h + 1)) << 3)
        };
        if shift > self.dlen {
            self.flx |= flx::BAD;
            return Ok(59);
        }
        self.dp += shift as usize;
        self.dlen -= shift;
        if self.flx & flx::FRAG == 0 {
            if let Some((_, bit)) = IP6EXTHDR.iter().find(|(v, _)| *v == proto) {
                if self.optmsk & bit != 0 {
                    self.flx |= flx::BAD;
                } else {
                    self.optmsk |= bit;
                }
            }
        }
        if proto == 43 && byte(bytes, h + 2) == 0 {
            let (len, segleft) = (byte(bytes, h + 1), byte(bytes, h + 3));
            if (len >> 1) < segleft || (segleft != 0 && len & 1 != 0) {
                self.flx |= flx::BAD;
                return Ok(59);
            }
        }
        Ok(byte(bytes, h))
    }

    /// `ipf_pr_fragment6`.
    fn fragment6(&mut self, bytes: &[u8]) -> Result<u8, BadPacket> {
        let h = self.dp;
        let next = self.ext_header(bytes, 44)?;
        if self.dp == h {
            return Ok(59);
        }
        let offlg = be16(bytes, h + 2);
        if offlg & 1 != 0 && self.plen & 7 != 0 {
            self.flx |= flx::BAD;
        }
        self.id = u32::from_be_bytes([
            byte(bytes, h + 4),
            byte(bytes, h + 5),
            byte(bytes, h + 6),
            byte(bytes, h + 7),
        ]);
        self.off = u32::from(offlg & 0xfff8);
        if self.off != 0 {
            self.flx |= flx::FRAGBODY;
        }
        if (i64::from(self.off) << 3) + self.dlen > 65535 {
            self.flx |= flx::BAD;
        }
        Ok(next)
    }

    /// `ipf_pr_icmp6`.
    fn icmp6(&mut self, bytes: &[u8]) -> Result<(), BadPacket> {
        self.p = 58;
        self.pullup(bytes, 8)?;
        let mut min = 4;
        if self.dlen > 1 {
            let t = self.dp;
            let icmp_type = byte(bytes, t);
            self.data0 = be16(bytes, t);
            if icmp_type & 0x80 != 0 {
                self.flx |= flx::ICMPQUERY;
            }
            match icmp_type {
                128 | 129 => {
                    if self.dlen >= 6 {
                        self.data1 = be16(bytes, t + 4);
                    }
                    min = 8;
                }
                1..=4 => {
                    self.flx |= flx::ICMPERR;
                    min = 48;
                    if self.plen >= 88 {
                        if (bytes.len() as i64) < self.plen {
                            return Err(BadPacket::Truncated);
                        }
                        let inner = t + 8 + 8;
                        let mut quoted = [0u8; 16];
                        for (k, q) in quoted.iter_mut().enumerate() {
                            *q = byte(bytes, inner + k);
                        }
                        if IpAddr::V6(Ipv6Addr::from(quoted)) != self.dst {
                            self.flx |= flx::BAD;
                        }
                    }
                }
                _ => {}
            }
        }
        if self.dlen < min {
            self.flx |= flx::SHORT;
        }
        if self.flx & (flx::SHORT | flx::BAD) == 0 {
            self.check_sum6(bytes);
        }
        Ok(())
    }

    /// `ipf_checkv6sum`.
    fn check_sum6(&mut self, bytes: &[u8]) {
        if self.flx & flx::SHORT != 0 {
            return;
        }
        self.check_sum(bytes);
    }

    /// The ICMP type, when the packet is ICMP or ICMPv6 with its header read.
    pub fn icmp_type(&self) -> u8 {
        (self.data0 >> 8) as u8
    }
}

/// `ipf_checkripso`: the classification's bit and the authority bytes.
fn ripso(opt: &[u8]) -> (u16, u16) {
    let sec = *opt.get(2).unwrap_or(&0);
    let (mut j, mut m) = (3i64, 2i64);
    while m >= 0 {
        let (val, bit) = SECOPT[j.clamp(0, 7) as usize];
        if sec == val {
            let auth =
                u16::from(*opt.get(3).unwrap_or(&0)) * 256 + u16::from(*opt.get(4).unwrap_or(&0));
            return (bit, auth);
        }
        if sec < val {
            j -= m;
        } else {
            j += m;
        }
        m -= 1;
    }
    (0, 0)
}

/// `fr_cksum`: the transport checksum over `plen` bytes (zeros past the end), with the
/// checksum field at `dp + at` counted as 0.
pub fn l4_checksum(bytes: &[u8], v: u8, p: u8, dp: usize, plen: i64, at: usize) -> u16 {
    let len = (plen - dp as i64).max(0) as usize;
    let mut sum: u32 = 0;
    if p != 1 {
        sum += u32::from(p);
        sum += (len & 0xffff) as u32;
        let addrs = if v == 4 { 12..20 } else { 8..40 };
        for k in addrs.step_by(2) {
            sum += u32::from(be16(bytes, k));
        }
    }
    let mut k = 0;
    while k + 1 < len {
        if k != at {
            sum += u32::from(be16(bytes, dp + k));
        }
        k += 2;
    }
    if k < len {
        sum += u32::from(byte(bytes, dp + k)) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
