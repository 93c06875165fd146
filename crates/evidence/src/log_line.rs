//! A kernel LOG / nft `log` line into the packet it describes.
//!
//! The kernel writes `<prefix>IN=tap0 OUT=eno1 MAC=... SRC=... DST=... LEN=60 TOS=0x00
//! PREC=0x00 TTL=63 ID=1234 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0`
//! (`nf_log_syslog.c`). The prefix is whatever the rule set (`[UFW BLOCK] `,
//! `filter_IN_public_REJECT: `), kept exactly, trailing space included. Wrappers in front of
//! it are removed: a syslog or journal header up to `kernel: `, and a `dmesg` timestamp
//! (`[ 1234.5678] ` or `dmesg -T`'s `[Fri Nov 22 10:00:00 2024] `).
//!
//! Fields read: IN OUT MAC (MACSRC/MACDST) PHYSIN PHYSOUT SRC DST LEN TOS PREC TTL ID CE DF
//! MF FRAG PROTO SPT DPT, TCP SEQ ACK WINDOW URGP and the flag words, ICMP TYPE CODE ID SEQ
//! MTU GATEWAY, MARK UID GID, and for IPv6 TC HOPLIMIT FLOWLBL. The header an ICMP error
//! quotes (`[SRC=... DST=... ]`) is read into [`LogRecord::quoted`]: it names the packet
//! that was refused. `RES=` and the option dumps (`OPT (...)`) are skipped.
//! An empty `IN=` means the packet was locally generated (`iif` is `None`).
//!
//! [`parse`] reads one line of a file (wrappers removed by the private `wrapper`);
//! [`parse_message`] reads a message whose wrapper the caller already removed (streaming).

use crate::wrapper;
use model::diag::{ErrorKind, ParseError};
use model::packet::{Fragment, IpProto, Mac, TcpFlags};
use model::{Packet, SourceFile, Span, L4};
use std::net::IpAddr;

/// One parsed log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// The rule's log prefix exactly as printed, e.g. `[UFW BLOCK] ` (may be empty).
    pub prefix: String,
    pub packet: Packet,
    /// `IN=`; `None` when empty (a locally generated packet).
    pub iif: Option<String>,
    /// `OUT=`; `None` when empty (the packet was being received, not sent).
    pub oif: Option<String>,
    /// `MAC=` as printed (destination, source and EtherType when it is an Ethernet header).
    pub mac: Option<String>,
    /// `PHYSIN=` / `PHYSOUT=`: bridge ports, when the packet crossed a bridge.
    pub physin: Option<String>,
    pub physout: Option<String>,
    /// Byte span of the prefix in the source (empty when there is none).
    pub prefix_span: Span,
    /// TCP `SEQ=` and `ACK=` (printed with the LOG option `--log-tcp-sequence`).
    pub tcp_seq: Option<u32>,
    pub tcp_ack: Option<u32>,
    /// TCP `WINDOW=` and `URGP=`.
    pub tcp_window: Option<u16>,
    pub tcp_urgp: Option<u16>,
    /// ICMP echo `SEQ=`.
    pub icmp_seq: Option<u16>,
    /// ICMP fragmentation needed / packet too big: `MTU=`.
    pub mtu: Option<u32>,
    /// ICMP redirect: `GATEWAY=`.
    pub gateway: Option<IpAddr>,
    /// IPv4 congestion-experienced bit (`CE`).
    pub ce: bool,
    /// The header an ICMP error quotes: the packet that was refused or lost.
    pub quoted: Option<Quoted>,
}

/// The IP and transport header quoted inside an ICMP error (`[SRC=... DST=... ]`). The kernel
/// prints what the error carried: the ports may be missing (`INCOMPLETE [8 bytes]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: Option<IpProto>,
    pub ports: Option<(u16, u16)>,
    /// ICMP type and code, when the quoted packet was ICMP itself.
    pub icmp: Option<(u8, u8)>,
    pub ttl: Option<u8>,
    pub len: Option<u16>,
    pub id: Option<u32>,
}

/// Parses the first non-empty line of `source`.
pub fn parse(source: &SourceFile) -> Result<LogRecord, ParseError> {
    let text: &str = &source.text;
    let mut base = 0;
    let mut line = "";
    for raw in text.split_inclusive('\n') {
        let l = raw.trim_end_matches(['\n', '\r']);
        if !l.trim().is_empty() {
            line = l;
            break;
        }
        base += raw.len();
    }
    if line.is_empty() {
        let end = text.len();
        return Err(ParseError::expected(
            source,
            Span::new(end, end),
            "a kernel log line (`... IN=... SRC=...`)",
            "",
        ));
    }
    let unwrapped = wrapper::unwrap(line);
    match unwrapped.offset {
        Some(at) => parse_message(source, base + at, &line[at..]),
        // A journal JSON line: the message is unescaped, so spans point into it alone.
        None => {
            let inner = SourceFile::new(source.name.clone(), unwrapped.message.into_owned());
            let text = inner.text.clone();
            parse_message(&inner, 0, &text)
        }
    }
}

/// Parses `message`, a kernel LOG message without wrapper (`[UFW BLOCK] IN=...`), found at
/// byte `base` of `source` (spans and errors point there).
pub fn parse_message(
    source: &SourceFile,
    base: usize,
    message: &str,
) -> Result<LogRecord, ParseError> {
    Parser {
        source,
        line: message,
        base,
    }
    .record()
}

struct Parser<'a> {
    source: &'a SourceFile,
    line: &'a str,
    /// Offset of `line` in the source.
    base: usize,
}

/// Values gathered from the fields, before the packet is assembled.
#[derive(Default)]
struct Fields<'a> {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    len: Option<u16>,
    tos: u8,
    ttl: Option<u8>,
    ip_id: Option<u32>,
    df: bool,
    mf: bool,
    frag: Option<u16>,
    proto: Option<(IpProto, Span)>,
    sport: Option<u16>,
    dport: Option<u16>,
    flags: TcpFlags,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    echo_id: Option<u16>,
    mark: u32,
    uid: Option<u32>,
    gid: Option<u32>,
    iif: Option<&'a str>,
    oif: Option<&'a str>,
    mac: Option<&'a str>,
    macsrc: Option<&'a str>,
    macdst: Option<&'a str>,
    physin: Option<&'a str>,
    physout: Option<&'a str>,
    seq: Option<u32>,
    ack: Option<u32>,
    window: Option<u16>,
    urgp: Option<u16>,
    icmp_seq: Option<u16>,
    mtu: Option<u32>,
    gateway: Option<IpAddr>,
    ce: bool,
    quoted: Option<Box<Fields<'a>>>,
}

impl<'a> Parser<'a> {
    fn span(&self, from: usize, to: usize) -> Span {
        Span::new(self.base + from, self.base + to)
    }

    fn record(self) -> Result<LogRecord, ParseError> {
        let line = self.line;
        let Some(in_at) = find_field(line, "IN=") else {
            let start = line.len() - line.trim_start().len();
            return Err(ParseError::expected(
                self.source,
                self.span(start, line.len()),
                "a kernel log line with `IN=` (from a LOG rule or nft `log`)",
                line.trim(),
            ));
        };
        let prefix_start = 0;
        let prefix = &line[prefix_start..in_at];
        let mut fields = self.fields(in_at, line.len())?;
        let fields_span = self.span(in_at, line.len());
        let missing = |name: &str| {
            ParseError::expected(
                self.source,
                fields_span,
                &format!("`{name}` in the log line"),
                "",
            )
        };
        let src = fields.src.ok_or_else(|| missing("SRC="))?;
        let dst = fields.dst.ok_or_else(|| missing("DST="))?;
        if src.is_ipv6() != dst.is_ipv6() {
            return Err(ParseError::new(
                self.source,
                fields_span,
                ErrorKind::Structure {
                    message: "SRC= and DST= are of different address families".into(),
                },
            ));
        }
        let v6 = dst.is_ipv6();
        let (proto, proto_span) = fields.proto.ok_or_else(|| missing("PROTO="))?;
        let fragment = match (fields.frag, fields.mf) {
            (Some(off), _) if off > 0 => Fragment::Later { offset: off },
            (_, true) => Fragment::First,
            _ => Fragment::None,
        };
        let later = matches!(fragment, Fragment::Later { .. });
        let ports = |name: &str| -> Result<(u16, u16), ParseError> {
            match (fields.sport, fields.dport) {
                (Some(s), Some(d)) => Ok((s, d)),
                // A later fragment carries no transport header: no ports to read.
                _ if later => Ok((0, 0)),
                (None, _) => Err(ParseError::expected(
                    self.source,
                    proto_span,
                    &format!("`SPT=` after PROTO={name}"),
                    "",
                )),
                (_, None) => Err(ParseError::expected(
                    self.source,
                    proto_span,
                    &format!("`DPT=` after PROTO={name}"),
                    "",
                )),
            }
        };
        let l4 = match proto {
            IpProto::Tcp => {
                let (sport, dport) = ports("TCP")?;
                L4::Tcp {
                    sport,
                    dport,
                    flags: fields.flags,
                }
            }
            IpProto::Udp => {
                let (sport, dport) = ports("UDP")?;
                L4::Udp { sport, dport }
            }
            IpProto::Sctp => {
                let (sport, dport) = ports("SCTP")?;
                L4::Sctp { sport, dport }
            }
            IpProto::Icmp | IpProto::Icmpv6 => {
                let (icmp_type, code, id) = match (fields.icmp_type, later) {
                    (Some(t), _) => (
                        t,
                        fields.icmp_code.unwrap_or(0),
                        fields.echo_id.unwrap_or(0),
                    ),
                    (None, true) => (0, 0, 0),
                    (None, false) => {
                        return Err(ParseError::expected(
                            self.source,
                            proto_span,
                            "`TYPE=` after PROTO=ICMP",
                            "",
                        ))
                    }
                };
                if proto == IpProto::Icmp && !v6 {
                    L4::Icmp {
                        icmp_type,
                        code,
                        id,
                    }
                } else {
                    L4::Icmpv6 {
                        icmp_type,
                        code,
                        id,
                    }
                }
            }
            other => L4::Other(other),
        };
        let mut packet = Packet::new(src, dst, l4);
        if let Some(len) = fields.len {
            packet.len = len;
        }
        if let Some(ttl) = fields.ttl {
            packet.ttl = ttl;
        }
        packet.tos = fields.tos;
        packet.mark = fields.mark;
        packet.id = fields.ip_id.unwrap_or(0);
        packet.dont_fragment = fields.df;
        packet.fragment = fragment;
        packet.uid = fields.uid;
        packet.gid = fields.gid;
        let iif = fields.iif.filter(|s| !s.is_empty()).map(str::to_string);
        let oif = fields.oif.filter(|s| !s.is_empty()).map(str::to_string);
        packet.iif = iif.clone();
        packet.oif = oif.clone();
        if let Some((dmac, smac)) = fields.mac.and_then(split_mac) {
            packet.dst_mac = Some(dmac);
            packet.src_mac = Some(smac);
        }
        if let Some(m) = fields.macsrc.and_then(Mac::parse) {
            packet.src_mac = Some(m);
        }
        if let Some(m) = fields.macdst.and_then(Mac::parse) {
            packet.dst_mac = Some(m);
        }
        let quoted = fields.quoted.take().and_then(|q| {
            Some(Quoted {
                src: q.src?,
                dst: q.dst?,
                proto: q.proto.map(|p| p.0),
                ports: q.sport.zip(q.dport),
                icmp: q.icmp_type.map(|t| (t, q.icmp_code.unwrap_or(0))),
                ttl: q.ttl,
                len: q.len,
                id: q.ip_id,
            })
        });
        Ok(LogRecord {
            tcp_seq: fields.seq,
            tcp_ack: fields.ack,
            tcp_window: fields.window,
            tcp_urgp: fields.urgp,
            icmp_seq: fields.icmp_seq,
            mtu: fields.mtu,
            gateway: fields.gateway,
            ce: fields.ce,
            quoted,
            prefix: prefix.to_string(),
            packet,
            iif,
            oif,
            mac: fields.mac.filter(|m| !m.is_empty()).map(str::to_string),
            physin: fields.physin.map(str::to_string),
            physout: fields.physout.map(str::to_string),
            prefix_span: self.span(prefix_start, in_at),
        })
    }

    /// Reads the `KEY=value` and flag words of `line[from..to]` (from `IN=` to the end of the
    /// line, or inside a quoted header).
    fn fields(&self, from: usize, to: usize) -> Result<Fields<'a>, ParseError> {
        let line = self.line;
        let mut f = Fields::default();
        // Inside `OPT (...)`; the end of a quoted header already read.
        let mut in_opt = false;
        let mut skip_to = from;
        let mut at = from;
        for word in line[from..to].split(' ') {
            let start = at;
            at += word.len() + 1;
            if word.is_empty() || start < skip_to {
                continue;
            }
            if word.starts_with("[SRC=") && f.quoted.is_none() && to == line.len() {
                // The header quoted by an ICMP error runs to the next `]` that ends a word.
                let close = line[start..]
                    .match_indices(']')
                    .map(|(i, _)| start + i)
                    .find(|&i| matches!(line.as_bytes().get(i + 1), None | Some(b' ')))
                    .unwrap_or(line.len());
                f.quoted = Some(Box::new(self.fields(start + 1, close)?));
                skip_to = close + 1;
                continue;
            }
            if word.starts_with('[') || word.starts_with("INCOMPLETE") || word.ends_with(']') {
                continue;
            }
            if in_opt || word.starts_with('(') {
                in_opt = !word.ends_with(')');
                continue;
            }
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let vspan = self.span(start + word.len() - value.len(), start + word.len());
            let bad = |what: &str, reason: &str| {
                ParseError::new(
                    self.source,
                    vspan,
                    ErrorKind::InvalidValue {
                        what: what.into(),
                        value: value.into(),
                        reason: reason.into(),
                    },
                )
            };
            let dec = |what: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| bad(what, "expected a decimal number"))
            };
            let hex = |what: &str| {
                let digits = value
                    .strip_prefix("0x")
                    .or_else(|| value.strip_prefix("0X"))
                    .unwrap_or(value);
                u64::from_str_radix(digits, 16).map_err(|_| bad(what, "expected a hex number"))
            };
            let fit = |n: u64, max: u64, what: &str| {
                if n <= max {
                    Ok(n)
                } else {
                    Err(bad(what, "out of range"))
                }
            };
            match key {
                "IN" => f.iif = Some(value),
                "OUT" => f.oif = Some(value),
                "PHYSIN" => f.physin = Some(value),
                "PHYSOUT" => f.physout = Some(value),
                "MAC" => f.mac = Some(value),
                "MACSRC" => f.macsrc = Some(value),
                "MACDST" => f.macdst = Some(value),
                "SRC" | "DST" => {
                    let addr: IpAddr = value
                        .parse()
                        .map_err(|_| bad("address", "not an IP address"))?;
                    if key == "SRC" {
                        f.src = Some(addr);
                    } else {
                        f.dst = Some(addr);
                    }
                }
                "LEN" if f.proto.is_none() => {
                    f.len = Some(fit(dec("length")?, 65535, "length")? as u16)
                }
                "TOS" => f.tos |= fit(hex("TOS")?, 255, "TOS")? as u8,
                "PREC" => f.tos |= fit(hex("precedence")?, 255, "precedence")? as u8,
                "TC" => f.tos = fit(dec("traffic class")?, 255, "traffic class")? as u8,
                "TTL" | "HOPLIMIT" => f.ttl = Some(fit(dec("TTL")?, 255, "TTL")? as u8),
                "ID" if f.proto.is_none() => {
                    f.ip_id = Some(fit(dec("IP id")?, 65535, "IP id")? as u32)
                }
                "FLOWLBL" => {
                    f.ip_id = Some(fit(dec("flow label")?, 0xf_ffff, "flow label")? as u32)
                }
                "DF" => f.df = true,
                "CE" => f.ce = true,
                "MF" => f.mf = true,
                "FRAG" => {
                    f.frag = Some(fit(dec("fragment offset")?, 0x1fff, "fragment offset")? as u16)
                }
                "PROTO" => {
                    let span = self.span(start, start + word.len());
                    let proto = IpProto::from_name(value)
                        .ok_or_else(|| bad("protocol", "unknown protocol"))?;
                    f.proto = Some((proto, span));
                }
                "SPT" => f.sport = Some(fit(dec("port")?, 65535, "port")? as u16),
                "DPT" => f.dport = Some(fit(dec("port")?, 65535, "port")? as u16),
                "TYPE" => f.icmp_type = Some(fit(dec("ICMP type")?, 255, "ICMP type")? as u8),
                "CODE" => f.icmp_code = Some(fit(dec("ICMP code")?, 255, "ICMP code")? as u8),
                "ID" => f.echo_id = Some(fit(dec("ICMP id")?, 65535, "ICMP id")? as u16),
                "SEQ" if matches!(f.proto, Some((IpProto::Tcp, _))) => {
                    f.seq = Some(fit(
                        dec("sequence number")?,
                        u64::from(u32::MAX),
                        "sequence number",
                    )? as u32)
                }
                "SEQ" => {
                    f.icmp_seq = Some(fit(dec("ICMP sequence")?, 65535, "ICMP sequence")? as u16)
                }
                "ACK" if !value.is_empty() => {
                    f.ack = Some(fit(
                        dec("acknowledgement number")?,
                        u64::from(u32::MAX),
                        "acknowledgement number",
                    )? as u32)
                }
                "WINDOW" => f.window = Some(fit(dec("window")?, 65535, "window")? as u16),
                "URGP" => {
                    f.urgp = Some(fit(dec("urgent pointer")?, 65535, "urgent pointer")? as u16)
                }
                "MTU" => f.mtu = Some(fit(dec("MTU")?, u64::from(u32::MAX), "MTU")? as u32),
                "GATEWAY" => {
                    f.gateway = Some(
                        value
                            .parse()
                            .map_err(|_| bad("gateway", "not an IP address"))?,
                    )
                }
                "MARK" => f.mark = fit(hex("mark")?, u64::from(u32::MAX), "mark")? as u32,
                "UID" => f.uid = Some(fit(dec("uid")?, u64::from(u32::MAX), "uid")? as u32),
                "GID" => f.gid = Some(fit(dec("gid")?, u64::from(u32::MAX), "gid")? as u32),
                "OPT" => in_opt = false,
                flag if value.is_empty() && !word.contains('=') => {
                    if let Some((_, bit)) = TcpFlags::NAMES.iter().find(|(n, _)| *n == flag) {
                        f.flags = f.flags.union(*bit);
                    }
                }
                _ => {}
            }
        }
        Ok(f)
    }
}

/// Byte offset of `name` (e.g. `IN=`) where it starts a field: at the line start or after
/// a space or `]`/`:` (prefixes rarely end in a space when written by hand).
fn find_field(line: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line.get(from..).and_then(|l| l.find(name)) {
        let at = from + i;
        if matches!(
            line[..at].chars().next_back(),
            None | Some(' ' | ']' | ':' | '\t')
        ) {
            return Some(at);
        }
        from = at + name.len();
    }
    None
}

/// `MAC=dst:src:type` (14 bytes) into the two addresses; `None` for other link layers.
fn split_mac(mac: &str) -> Option<(Mac, Mac)> {
    let parts: Vec<&str> = mac.split(':').collect();
    if parts.len() != 14 {
        return None;
    }
    Some((
        Mac::parse(&parts[0..6].join(":"))?,
        Mac::parse(&parts[6..12].join(":"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UFW: &str = "[UFW BLOCK] IN=tap0 OUT=eno1 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1234 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0";

    fn rec(line: &str) -> LogRecord {
        parse(&SourceFile::new("log", line)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(line: &str) -> (String, ParseError) {
        let e = parse(&SourceFile::new("log", line)).unwrap_err();
        (
            line[e.span.start as usize..e.span.end as usize].to_string(),
            e,
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ufw_block_forwarded_syn() {
        let r = rec(UFW);
        assert_eq!(r.prefix, "[UFW BLOCK] ");
        assert_eq!(
            (r.iif.as_deref(), r.oif.as_deref()),
            (Some("tap0"), Some("eno1"))
        );
        let p = &r.packet;
        assert_eq!((p.src, p.dst), (ip("10.1.1.2"), ip("10.1.0.2")));
        assert_eq!(
            p.l4,
            L4::Tcp {
                sport: 1050,
                dport: 2175,
                flags: TcpFlags::SYN
            }
        );
        assert_eq!(
            (p.len, p.ttl, p.tos, p.id, p.dont_fragment),
            (60, 63, 0, 1234, true)
        );
        assert_eq!(
            (p.iif.as_deref(), p.oif.as_deref()),
            (Some("tap0"), Some("eno1"))
        );
        assert_eq!(p.dst_mac.unwrap().to_string(), "52:54:00:12:34:56");
        assert_eq!(p.src_mac.unwrap().to_string(), "52:54:00:65:43:21");
        assert_eq!(
            r.mac.as_deref(),
            Some("52:54:00:12:34:56:52:54:00:65:43:21:08:00")
        );
        assert_eq!((r.prefix_span.start, r.prefix_span.end), (0, 12));
    }

    #[test]
    fn syslog_wrapped_with_dmesg_timestamp() {
        let line = format!("Nov 22 10:00:00 router kernel: [12345.678901] {UFW}");
        let r = rec(&line);
        assert_eq!(r.prefix, "[UFW BLOCK] ");
        assert_eq!(
            &line[r.prefix_span.start as usize..r.prefix_span.end as usize],
            "[UFW BLOCK] "
        );
        assert_eq!(r.packet.l4.ports(), Some((1050, 2175)));
    }

    #[test]
    fn dmesg_forms_and_firewalld_prefix() {
        let r = rec("[ 1234.5678] filter_IN_public_REJECT: IN=eth0 OUT= MAC=52:54:00:00:00:10:52:54:00:00:00:01:08:00 SRC=198.51.100.7 DST=192.0.2.10 LEN=60 TOS=0x10 PREC=0x20 TTL=50 ID=7 PROTO=UDP SPT=40000 DPT=161 LEN=40");
        assert_eq!(r.prefix, "filter_IN_public_REJECT: ");
        assert_eq!(r.oif, None);
        assert_eq!(
            (r.packet.tos, r.packet.len, r.packet.dont_fragment),
            (0x30, 60, false),
            "the UDP LEN= is not the IP length"
        );
        assert_eq!(
            r.packet.l4,
            L4::Udp {
                sport: 40000,
                dport: 161
            }
        );
        let r = rec(&format!("[Fri Nov 22 10:00:00 2024] {UFW}"));
        assert_eq!(r.prefix, "[UFW BLOCK] ");
    }

    #[test]
    fn journal_iso_timestamp_and_no_prefix() {
        let r = rec("2024-11-22T10:00:00.123456+00:00 host kernel: IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.1 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=40000 DPT=5432 WINDOW=512 RES=0x00 ACK FIN URGP=0");
        assert_eq!(r.prefix, "");
        assert_eq!(
            r.packet.l4,
            L4::Tcp {
                sport: 40000,
                dport: 5432,
                flags: TcpFlags::ACK.union(TcpFlags::FIN)
            }
        );
    }

    #[test]
    fn locally_generated_has_no_iif_and_carries_uid() {
        let r = rec("OUTPUT DROP: IN= OUT=eth0 SRC=192.0.2.10 DST=203.0.113.5 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=999 DF PROTO=TCP SPT=50000 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 UID=1000 GID=1000 MARK=0x2a");
        assert_eq!((r.iif, r.packet.iif), (None, None));
        assert_eq!(r.oif.as_deref(), Some("eth0"));
        assert_eq!(
            (r.packet.uid, r.packet.gid, r.packet.mark),
            (Some(1000), Some(1000), 0x2a)
        );
        assert_eq!(r.prefix, "OUTPUT DROP: ");
    }

    #[test]
    fn icmp_echo_request_with_echo_id() {
        let r = rec("[UFW ALLOW] IN=tap0 OUT=eno1 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=10.1.1.2 DST=10.1.0.2 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=51000 DF PROTO=ICMP TYPE=8 CODE=0 ID=4660 SEQ=1");
        assert_eq!(
            r.packet.l4,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 4660
            }
        );
        assert_eq!(r.packet.id, 51000, "the IP id, not the echo id");
        assert_eq!(r.packet.len, 84);
    }

    #[test]
    fn icmp_error_quoting_a_header_is_not_confused_with_it() {
        let r = rec("IN=eno1 OUT=tap0 SRC=10.1.1.1 DST=10.1.1.2 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=33 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=62 ID=1234 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0 ] MARK=0x1");
        assert_eq!(
            (r.packet.src, r.packet.dst),
            (ip("10.1.1.1"), ip("10.1.1.2"))
        );
        assert_eq!(
            r.packet.l4,
            L4::Icmp {
                icmp_type: 3,
                code: 3,
                id: 0
            }
        );
        assert_eq!(
            (r.packet.ttl, r.packet.id, r.packet.tos, r.packet.mark),
            (64, 33, 0xc0, 1)
        );
        assert!(!r.packet.dont_fragment);
    }

    #[test]
    fn ipv6_tcp_line() {
        let r = rec("[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:00:00:10:52:54:00:00:00:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0005 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=123456 PROTO=TCP SPT=40000 DPT=22 WINDOW=64800 RES=0x00 SYN URGP=0");
        let p = &r.packet;
        assert_eq!((p.src, p.dst), (ip("2001:db8::5"), ip("2001:db8::1")));
        assert_eq!((p.ttl, p.len, p.id, p.tos), (64, 80, 123456, 0));
        assert_eq!(
            p.l4,
            L4::Tcp {
                sport: 40000,
                dport: 22,
                flags: TcpFlags::SYN
            }
        );
    }

    #[test]
    fn ipv6_icmpv6_echo() {
        let r = rec("IN=eth0 OUT= SRC=fe80::1 DST=ff02::1 LEN=104 TC=0 HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=77 SEQ=2");
        assert_eq!(
            r.packet.l4,
            L4::Icmpv6 {
                icmp_type: 128,
                code: 0,
                id: 77
            }
        );
        assert_eq!(r.packet.ttl, 1);
    }

    #[test]
    fn later_fragment_has_no_ports() {
        let r = rec("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=548 TOS=0x00 PREC=0x00 TTL=64 ID=5 FRAG=185 PROTO=UDP");
        assert_eq!(r.packet.fragment, Fragment::Later { offset: 185 });
        assert_eq!(r.packet.l4, L4::Udp { sport: 0, dport: 0 });
    }

    #[test]
    fn tcp_options_are_skipped() {
        let r = rec("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=5 DF PROTO=TCP SPT=1 DPT=2 SEQ=1 ACK=0 WINDOW=1 RES=0x00 SYN URGP=0 OPT (020405B40402080A) ");
        assert_eq!(
            r.packet.l4,
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::SYN
            }
        );
    }

    #[test]
    fn first_non_empty_line_is_read() {
        let text = format!("\n   \n{UFW}\nsecond line");
        let r = parse(&SourceFile::new("log", text.as_str())).unwrap();
        assert_eq!(r.prefix_span.start, 5);
    }

    #[test]
    fn gre_is_other() {
        let r = rec(
            "IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=5 PROTO=47",
        );
        assert_eq!(r.packet.l4, L4::Other(IpProto::Gre));
    }

    #[test]
    fn missing_src_is_an_error_over_the_fields() {
        let line = "[X] IN=eth0 OUT= DST=10.0.0.2 PROTO=TCP SPT=1 DPT=2";
        let (span, e) = err(line);
        assert_eq!(span, &line[4..]);
        assert!(e.to_string().contains("SRC="), "{e}");
    }

    #[test]
    fn missing_proto_is_an_error() {
        let (_, e) = err("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60");
        assert!(e.to_string().contains("PROTO="), "{e}");
    }

    #[test]
    fn missing_ports_point_at_proto() {
        let (span, e) = err("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP DPT=2");
        assert_eq!(span, "PROTO=TCP");
        assert!(e.to_string().contains("SPT="), "{e}");
    }

    #[test]
    fn bad_address_spans_the_value() {
        let line = "[UFW BLOCK] IN=tap0 OUT= SRC=10.1.1.999 DST=10.1.0.2 PROTO=UDP SPT=1 DPT=2";
        let (span, e) = err(line);
        assert_eq!(span, "10.1.1.999");
        assert_eq!(e.line_col(), (1, 30));
    }

    #[test]
    fn bad_value_on_second_line_has_its_line() {
        let text = "\nIN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 TTL=300 PROTO=UDP SPT=1 DPT=2";
        let e = parse(&SourceFile::new("log", text)).unwrap_err();
        assert_eq!(e.line_col(), (2, 44));
        assert_eq!(&text[e.span.start as usize..e.span.end as usize], "300");
    }

    #[test]
    fn not_a_log_line() {
        let (span, _) = err("  hello world");
        assert_eq!(span, "hello world");
        let e = parse(&SourceFile::new("log", "\n\n")).unwrap_err();
        assert_eq!(e.span.start, 2);
    }

    #[test]
    fn mixed_families_are_an_error() {
        let (_, e) = err("IN=a OUT= SRC=10.0.0.1 DST=::1 PROTO=UDP SPT=1 DPT=2");
        assert!(e.to_string().contains("families"), "{e}");
    }

    #[test]
    fn icmp_error_quoted_header_names_the_refused_packet() {
        let r = rec("IN=eno1 OUT=tap0 SRC=10.1.1.1 DST=10.1.1.2 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=33 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=62 ID=1234 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0 ] MARK=0x1");
        let q = r.quoted.expect("quoted header");
        assert_eq!((q.src, q.dst), (ip("10.1.1.2"), ip("10.1.0.2")));
        assert_eq!(q.proto, Some(IpProto::Tcp));
        assert_eq!(q.ports, Some((1050, 2175)));
        assert_eq!((q.ttl, q.len, q.id), (Some(62), Some(60), Some(1234)));
        assert_eq!(r.packet.mark, 1, "fields after the quoted header are read");
    }

    #[test]
    fn quoted_header_without_ports_is_incomplete() {
        let r = rec("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=56 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=4 MTU=1400 [SRC=10.0.0.2 DST=10.0.0.9 LEN=1500 TTL=63 ID=7 DF PROTO=UDP INCOMPLETE [4 bytes] ]");
        assert_eq!(r.mtu, Some(1400));
        let q = r.quoted.unwrap();
        assert_eq!((q.proto, q.ports), (Some(IpProto::Udp), None));
    }

    #[test]
    fn tcp_sequence_numbers_and_window() {
        let r = rec("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TTL=64 ID=5 DF PROTO=TCP SPT=1 DPT=2 SEQ=4000000000 ACK=17 WINDOW=501 RES=0x00 ACK PSH URGP=0");
        assert_eq!(
            (r.tcp_seq, r.tcp_ack, r.tcp_window, r.tcp_urgp),
            (Some(4_000_000_000), Some(17), Some(501), Some(0))
        );
        assert_eq!(
            r.packet.l4,
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::ACK.union(TcpFlags::PSH)
            }
        );
    }

    #[test]
    fn icmp_echo_sequence_and_redirect_gateway() {
        let r = rec("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=84 TTL=64 ID=5 CE PROTO=ICMP TYPE=8 CODE=0 ID=9 SEQ=3");
        assert_eq!((r.icmp_seq, r.tcp_seq, r.ce), (Some(3), None, true));
        let r = rec("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=56 TTL=64 ID=5 PROTO=ICMP TYPE=5 CODE=1 GATEWAY=10.0.0.254 [SRC=10.0.0.2 DST=10.9.9.9 LEN=84 TTL=63 ID=8 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1 ]");
        assert_eq!(r.gateway, Some(ip("10.0.0.254")));
        assert_eq!(r.quoted.unwrap().icmp, Some((8, 0)));
    }

    #[test]
    fn journal_json_line_is_unwrapped() {
        let r = rec(
            r#"{"MESSAGE":"[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2 DST=10.1.0.2 PROTO=UDP SPT=1 DPT=2"}"#,
        );
        assert_eq!(r.prefix, "[UFW BLOCK] ");
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "IN=",
            "IN= SRC=",
            "xIN=a",
            "IN=a [SRC=1",
            "IN=a (",
            "é IN=é SRC=é",
            "IN=a MAC=1:2 SRC=1.1.1.1 DST=1.1.1.2 PROTO=ICMP",
            "kernel: [",
            "kernel: [1.0",
            "IN=a SRC=1.1.1.1 DST=1.1.1.2 PROTO=ICMP TYPE=3 [SRC=",
            "IN=a SRC=1.1.1.1 DST=1.1.1.2 PROTO=ICMP TYPE=3 [SRC=1.2.3.4 ]]",
            "IN=a [SRC=x]",
            "IN=a ACK= SEQ= WINDOW=x",
        ] {
            let _ = parse(&SourceFile::new("log", t));
        }
    }
}
