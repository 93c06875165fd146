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
    /// Whether the line shows `TTL=`/`HOPLIMIT=` (else the packet's TTL is the default,
    /// and nothing about the hook it was logged at changes it).
    pub ttl_logged: bool,
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
        let mut fields = self.fields(in_at, line.len())?;
        let (src, dst, proto) = self.required(&fields, self.span(in_at, line.len()))?;
        let fragment = fields.fragment();
        let l4 = self.transport(&fields, proto, dst.is_ipv6(), fragment)?;
        let packet = fields.packet(src, dst, l4, fragment);
        let quoted = fields.quoted.take().and_then(|q| q.quoted());
        Ok(LogRecord {
            tcp_seq: fields.seq,
            tcp_ack: fields.ack,
            tcp_window: fields.window,
            tcp_urgp: fields.urgp,
            icmp_seq: fields.icmp_seq,
            mtu: fields.mtu,
            gateway: fields.gateway,
            ce: fields.ce,
            ttl_logged: fields.ttl.is_some(),
            quoted,
            prefix: line[..in_at].to_string(),
            iif: packet.iif.clone(),
            oif: packet.oif.clone(),
            packet,
            mac: fields.mac.filter(|m| !m.is_empty()).map(str::to_string),
            physin: fields.physin.map(str::to_string),
            physout: fields.physout.map(str::to_string),
            prefix_span: self.span(0, in_at),
        })
    }

    /// `SRC=`, `DST=` (of one family) and `PROTO=` with its span; an error over the fields
    /// (`fields_span`) names the one missing.
    fn required(
        &self,
        fields: &Fields<'a>,
        fields_span: Span,
    ) -> Result<(IpAddr, IpAddr, (IpProto, Span)), ParseError> {
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
        let proto = fields.proto.ok_or_else(|| missing("PROTO="))?;
        Ok((src, dst, proto))
    }

    /// The transport header `PROTO=` announces; a later fragment has none, so its ports
    /// and ICMP type read as 0.
    fn transport(
        &self,
        fields: &Fields<'a>,
        (proto, proto_span): (IpProto, Span),
        v6: bool,
        fragment: Fragment,
    ) -> Result<L4, ParseError> {
        let later = matches!(fragment, Fragment::Later { .. });
        let ports = |name: &str| -> Result<(u16, u16), ParseError> {
            match (fields.sport, fields.dport) {
                (Some(s), Some(d)) => Ok((s, d)),
                _ if later => Ok((0, 0)),
                (None, _) => Err(self.expected_after_proto(proto_span, "SPT=", name)),
                (_, None) => Err(self.expected_after_proto(proto_span, "DPT=", name)),
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
                        return Err(self.expected_after_proto(proto_span, "TYPE=", "ICMP"))
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
        Ok(l4)
    }

    /// `field` should follow `PROTO=proto`: the error points at `PROTO=`.
    fn expected_after_proto(&self, proto_span: Span, field: &str, proto: &str) -> ParseError {
        ParseError::expected(
            self.source,
            proto_span,
            &format!("`{field}` after PROTO={proto}"),
            "",
        )
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
                let close = self.quoted_end(start);
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
            self.field(&mut f, word, start)?;
        }
        Ok(f)
    }

    /// Where the header quoted by an ICMP error, starting at `start`, ends: the next `]`
    /// that ends a word (or the end of the line).
    fn quoted_end(&self, start: usize) -> usize {
        let line = self.line;
        line[start..]
            .match_indices(']')
            .map(|(i, _)| start + i)
            .find(|&i| matches!(line.as_bytes().get(i + 1), None | Some(b' ')))
            .unwrap_or(line.len())
    }

    /// One `KEY=value` or flag word, found at byte `start` of the line, into `f`.
    fn field(&self, f: &mut Fields<'a>, word: &'a str, start: usize) -> Result<(), ParseError> {
        const U32: u64 = u32::MAX as u64;
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        let v = FieldValue {
            source: self.source,
            span: self.span(start + word.len() - value.len(), start + word.len()),
            text: value,
        };
        match key {
            "IN" => f.iif = Some(value),
            "OUT" => f.oif = Some(value),
            "PHYSIN" => f.physin = Some(value),
            "PHYSOUT" => f.physout = Some(value),
            "MAC" => f.mac = Some(value),
            "MACSRC" => f.macsrc = Some(value),
            "MACDST" => f.macdst = Some(value),
            "SRC" => f.src = Some(v.address("address")?),
            "DST" => f.dst = Some(v.address("address")?),
            // After `PROTO=`, `LEN=` and `ID=` are the transport's (UDP length, echo id).
            "LEN" if f.proto.is_none() => f.len = Some(v.dec("length", 65535)?),
            "TOS" => f.tos |= v.hex::<u8>("TOS", 255)?,
            "PREC" => f.tos |= v.hex::<u8>("precedence", 255)?,
            "TC" => f.tos = v.dec("traffic class", 255)?,
            "TTL" | "HOPLIMIT" => f.ttl = Some(v.dec("TTL", 255)?),
            "ID" if f.proto.is_none() => f.ip_id = Some(v.dec("IP id", 65535)?),
            "FLOWLBL" => f.ip_id = Some(v.dec("flow label", 0xf_ffff)?),
            "DF" => f.df = true,
            "CE" => f.ce = true,
            "MF" => f.mf = true,
            "FRAG" => f.frag = Some(v.dec("fragment offset", 0x1fff)?),
            "PROTO" => {
                let proto = IpProto::from_name(value)
                    .ok_or_else(|| v.bad("protocol", "unknown protocol"))?;
                f.proto = Some((proto, self.span(start, start + word.len())));
            }
            "SPT" => f.sport = Some(v.dec("port", 65535)?),
            "DPT" => f.dport = Some(v.dec("port", 65535)?),
            "TYPE" => f.icmp_type = Some(v.dec("ICMP type", 255)?),
            "CODE" => f.icmp_code = Some(v.dec("ICMP code", 255)?),
            "ID" => f.echo_id = Some(v.dec("ICMP id", 65535)?),
            "SEQ" if matches!(f.proto, Some((IpProto::Tcp, _))) => {
                f.seq = Some(v.dec("sequence number", U32)?)
            }
            "SEQ" => f.icmp_seq = Some(v.dec("ICMP sequence", 65535)?),
            // `ACK` alone is the flag.
            "ACK" if !value.is_empty() => f.ack = Some(v.dec("acknowledgement number", U32)?),
            "WINDOW" => f.window = Some(v.dec("window", 65535)?),
            "URGP" => f.urgp = Some(v.dec("urgent pointer", 65535)?),
            "MTU" => f.mtu = Some(v.dec("MTU", U32)?),
            "GATEWAY" => f.gateway = Some(v.address("gateway")?),
            "MARK" => f.mark = v.hex("mark", U32)?,
            "UID" => f.uid = Some(v.dec("uid", U32)?),
            "GID" => f.gid = Some(v.dec("gid", U32)?),
            // The option dump that follows is skipped by the caller.
            "OPT" => {}
            flag if value.is_empty() && !word.contains('=') => {
                if let Some((_, bit)) = TcpFlags::NAMES.iter().find(|(n, _)| *n == flag) {
                    f.flags = f.flags.union(*bit);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Fields<'_> {
    /// `FRAG=` above 0 is a later fragment; `MF` without it the first.
    fn fragment(&self) -> Fragment {
        match (self.frag, self.mf) {
            (Some(off), _) if off > 0 => Fragment::Later { offset: off },
            (_, true) => Fragment::First,
            _ => Fragment::None,
        }
    }

    /// The packet the fields describe; an empty `IN=`/`OUT=` is no interface.
    fn packet(&self, src: IpAddr, dst: IpAddr, l4: L4, fragment: Fragment) -> Packet {
        let mut packet = Packet::new(src, dst, l4);
        if let Some(len) = self.len {
            packet.len = len;
        }
        if let Some(ttl) = self.ttl {
            packet.ttl = ttl;
        }
        packet.tos = self.tos;
        packet.mark = self.mark;
        packet.id = self.ip_id.unwrap_or(0);
        packet.dont_fragment = self.df;
        packet.fragment = fragment;
        packet.uid = self.uid;
        packet.gid = self.gid;
        packet.iif = self.iif.filter(|s| !s.is_empty()).map(str::to_string);
        packet.oif = self.oif.filter(|s| !s.is_empty()).map(str::to_string);
        if let Some((dmac, smac)) = self.mac.and_then(split_mac) {
            packet.dst_mac = Some(dmac);
            packet.src_mac = Some(smac);
        }
        if let Some(m) = self.macsrc.and_then(Mac::parse) {
            packet.src_mac = Some(m);
        }
        if let Some(m) = self.macdst.and_then(Mac::parse) {
            packet.dst_mac = Some(m);
        }
        packet
    }

    /// The fields of a quoted header as the packet it names (`None` without both addresses).
    fn quoted(&self) -> Option<Quoted> {
        Some(Quoted {
            src: self.src?,
            dst: self.dst?,
            proto: self.proto.map(|p| p.0),
            ports: self.sport.zip(self.dport),
            icmp: self.icmp_type.map(|t| (t, self.icmp_code.unwrap_or(0))),
            ttl: self.ttl,
            len: self.len,
            id: self.ip_id,
        })
    }
}

/// The value of a `KEY=value` word, with its span (for errors).
struct FieldValue<'a> {
    source: &'a SourceFile,
    span: Span,
    text: &'a str,
}

impl FieldValue<'_> {
    fn bad(&self, what: &str, reason: &str) -> ParseError {
        ParseError::invalid_value(self.source, self.span, what, self.text, reason)
    }

    fn address(&self, what: &str) -> Result<IpAddr, ParseError> {
        self.text
            .parse()
            .map_err(|_| self.bad(what, "not an IP address"))
    }

    /// A decimal number at most `max` (which fits `T`).
    fn dec<T: TryFrom<u64>>(&self, what: &str, max: u64) -> Result<T, ParseError> {
        let n = self
            .text
            .parse::<u64>()
            .map_err(|_| self.bad(what, "expected a decimal number"))?;
        self.at_most(n, max, what)
    }

    /// A hex number, `0x` optional, at most `max` (which fits `T`).
    fn hex<T: TryFrom<u64>>(&self, what: &str, max: u64) -> Result<T, ParseError> {
        let digits = self
            .text
            .strip_prefix("0x")
            .or_else(|| self.text.strip_prefix("0X"))
            .unwrap_or(self.text);
        let n =
            u64::from_str_radix(digits, 16).map_err(|_| self.bad(what, "expected a hex number"))?;
        self.at_most(n, max, what)
    }

    fn at_most<T: TryFrom<u64>>(&self, n: u64, max: u64, what: &str) -> Result<T, ParseError> {
        (n <= max)
            .then(|| T::try_from(n).ok())
            .flatten()
            .ok_or_else(|| self.bad(what, "out of range"))
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

    /// Malformed lines, their error as `log:1:col: message` and the text it spans.
    #[test]
    fn errors_in_full() {
        let cases = [
            ("  hello world", "log:1:3: expected a kernel log line with `IN=` (from a LOG rule or nft `log`), found `hello world` [hello world]"),
            ("[X] IN=eth0 OUT= DST=10.0.0.2 PROTO=TCP", "log:1:5: expected `SRC=` in the log line, found end of line [IN=eth0 OUT= DST=10.0.0.2 PROTO=TCP]"),
            ("IN=eth0 OUT= SRC=10.0.0.1 PROTO=TCP", "log:1:1: expected `DST=` in the log line, found end of line [IN=eth0 OUT= SRC=10.0.0.1 PROTO=TCP]"),
            ("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60", "log:1:1: expected `PROTO=` in the log line, found end of line [IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60]"),
            ("IN=a OUT= SRC=10.0.0.1 DST=::1 PROTO=UDP SPT=1 DPT=2", "log:1:1: SRC= and DST= are of different address families [IN=a OUT= SRC=10.0.0.1 DST=::1 PROTO=UDP SPT=1 DPT=2]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP DPT=2", "log:1:32: expected `SPT=` after PROTO=TCP, found end of line [PROTO=TCP]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP SPT=1", "log:1:32: expected `DPT=` after PROTO=UDP, found end of line [PROTO=UDP]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=SCTP", "log:1:32: expected `SPT=` after PROTO=SCTP, found end of line [PROTO=SCTP]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP CODE=0", "log:1:32: expected `TYPE=` after PROTO=ICMP, found end of line [PROTO=ICMP]"),
            ("IN=a SRC=::1 DST=::2 PROTO=ICMPv6", "log:1:22: expected `TYPE=` after PROTO=ICMP, found end of line [PROTO=ICMPv6]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 LEN=x PROTO=UDP", "log:1:36: invalid length `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 LEN=70000 PROTO=UDP", "log:1:36: invalid length `70000`: out of range [70000]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 TOS=0xzz PROTO=UDP", "log:1:36: invalid TOS `0xzz`: expected a hex number [0xzz]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PREC=0x100 PROTO=UDP", "log:1:37: invalid precedence `0x100`: out of range [0x100]"),
            ("IN=a SRC=::1 DST=::2 TC=256 PROTO=UDP", "log:1:25: invalid traffic class `256`: out of range [256]"),
            ("IN=a SRC=::1 DST=::2 HOPLIMIT=x PROTO=UDP", "log:1:31: invalid TTL `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 ID=65536 PROTO=UDP", "log:1:35: invalid IP id `65536`: out of range [65536]"),
            ("IN=a SRC=::1 DST=::2 FLOWLBL=1048576 PROTO=UDP", "log:1:30: invalid flow label `1048576`: out of range [1048576]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 FRAG=8192 PROTO=UDP", "log:1:37: invalid fragment offset `8192`: out of range [8192]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=FOO", "log:1:38: invalid protocol `FOO`: unknown protocol [FOO]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP SPT=65536 DPT=1", "log:1:46: invalid port `65536`: out of range [65536]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP SPT=1 DPT=-1", "log:1:52: invalid port `-1`: expected a decimal number [-1]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP TYPE=256", "log:1:48: invalid ICMP type `256`: out of range [256]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP TYPE=3 CODE=x", "log:1:55: invalid ICMP code `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP TYPE=8 CODE=0 ID=x", "log:1:60: invalid ICMP id `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=2 SEQ=4294967296", "log:1:58: invalid sequence number `4294967296`: out of range [4294967296]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP TYPE=8 SEQ=65536", "log:1:54: invalid ICMP sequence `65536`: out of range [65536]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=2 ACK=x", "log:1:58: invalid acknowledgement number `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=2 WINDOW=65536", "log:1:61: invalid window `65536`: out of range [65536]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=2 URGP=x", "log:1:59: invalid urgent pointer `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP TYPE=3 MTU=4294967296", "log:1:54: invalid MTU `4294967296`: out of range [4294967296]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=ICMP TYPE=5 GATEWAY=x", "log:1:58: invalid gateway `x`: not an IP address [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP MARK=0x100000000", "log:1:47: invalid mark `0x100000000`: out of range [0x100000000]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP UID=x", "log:1:46: invalid uid `x`: expected a decimal number [x]"),
            ("IN=a SRC=10.0.0.1 DST=10.0.0.2 PROTO=UDP GID=4294967296", "log:1:46: invalid gid `4294967296`: out of range [4294967296]"),
            ("IN=a SRC=1.1.1.1 DST=1.1.1.2 PROTO=ICMP TYPE=3 [SRC=x DST=1.1.1.1 ]", "log:1:53: invalid address `x`: not an IP address [x]"),
        ];
        for (case, expected) in cases {
            let e = parse(&SourceFile::new("log", case)).unwrap_err();
            let spanned = &case[e.span.start as usize..e.span.end as usize];
            assert_eq!(format!("{e} [{spanned}]"), expected, "{case}");
        }
    }
}
