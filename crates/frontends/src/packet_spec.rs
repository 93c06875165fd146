//! The command-line packet grammar:
//!
//! ```text
//! PROTO SRC DST [in IFACE] [out IFACE] [flags S|SA|A|PA|R|F|FA...]
//!               [type ICMPTYPE [code N]] [mark N] [len N] [ttl N]
//! ```
//!
//! - `PROTO`: `tcp`, `udp`, `icmp`, `icmpv6`, `sctp` or a protocol number 0-255.
//! - `SRC`/`DST`: `ADDR:PORT`, `[V6ADDR]:PORT`, or a bare address (`10.0.0.1`, `2001:db8::1`,
//!   `[2001:db8::1]`). Ports are required for tcp, udp and sctp and refused for the others;
//!   both addresses must be of one family (`icmp` is IPv4: use `icmpv6` for IPv6).
//! - `flags` (tcp only): letters `S A P R F U E C`, or names joined by commas (`syn,ack`);
//!   a TCP packet is a SYN unless told otherwise.
//! - `type` (icmp/icmpv6): a number or a name (`echo-request`, `destination-unreachable`,
//!   `port-unreachable`, ...; a name that implies a code sets it); default echo-request.
//!   `code N` overrides the code.
//! - `mark` decimal or `0x` hex; `len` the IP total length (the `LEN=` of a log line), at
//!   least the IP and transport headers (IPv4 20 or IPv6 40, plus TCP 20, UDP and ICMP 8,
//!   SCTP 12): no shorter packet carries the ports and flags the rules match;
//!   `ttl` the TTL / hop limit on arrival.
//! - Port 0 is accepted: it is a legal port on the wire and the kernel's netfilter and
//!   routing pass it like any other (checked with `whyblocked verify`); no socket can
//!   listen on it. [`PacketSpec::zero_port`] says so, for the answer's notes.
//! - `in IFACE`: the packet arrives on IFACE; without `in` it is locally generated.
//!   `out IFACE`: where it is expected to leave (routing may disagree; the engine says so).
//!
//! Each keyword may appear once. Errors point at the offending word of the arguments joined
//! by single spaces, in a source named `<packet>`.

use crate::lines::words;
use model::diag::{ErrorKind, ParseError};
use model::packet::{IpProto, TcpFlags};
use model::{Packet, SourceFile, Span, L4};
use std::net::IpAddr;

/// A parsed packet spec: the packet, and the interfaces as the user gave them.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketSpec {
    pub packet: Packet,
    pub given_in: Option<String>,
    pub given_out: Option<String>,
    /// A port of the packet is 0: legal on the wire, worth a note.
    pub zero_port: bool,
}

impl PacketSpec {
    /// The packet, with the interfaces the words named (`in tap0`, `out eno1`) filled in
    /// where the packet itself has none: what every command simulates.
    pub fn into_packet(self) -> Packet {
        let mut packet = self.packet;
        packet.iif = packet.iif.or(self.given_in);
        packet.oif = packet.oif.or(self.given_out);
        packet
    }
}

/// A packet written as one line (`"tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0"`), as the
/// command line takes it word by word: for tests and examples.
pub fn packet(line: &str) -> Result<Packet, ParseError> {
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    Ok(parse(&args)?.into_packet())
}

const KEYWORDS: &str = "one of: in, out, flags, type, code, mark, len, ttl";

/// Parses the words after the options, e.g. `["tcp", "10.1.1.2:1050", "10.1.0.2:2175", "in", "tap0"]`.
pub fn parse(args: &[String]) -> Result<PacketSpec, ParseError> {
    let source = SourceFile::new("<packet>", args.join(" "));
    Parser {
        source: &source,
        words: words(&source.text),
        pos: 0,
    }
    .spec()
}

struct Parser<'a> {
    source: &'a SourceFile,
    words: Vec<(usize, &'a str)>,
    pos: usize,
}

/// An endpoint as written, before the protocol decides whether a port belongs there.
struct Endpoint {
    addr: IpAddr,
    port: Option<(u16, Span)>,
    span: Span,
}

/// The optional keywords, each with the span of its value (for later errors).
#[derive(Default)]
struct Options {
    iif: Option<String>,
    oif: Option<String>,
    flags: Option<(TcpFlags, Span)>,
    icmp_type: Option<(u8, Option<u8>, Span)>,
    code: Option<(u8, Span)>,
    mark: Option<u32>,
    len: Option<(u16, Span)>,
    ttl: Option<u8>,
}

impl<'a> Parser<'a> {
    fn end(&self) -> Span {
        let n = self.source.text.len();
        Span::new(n, n)
    }

    fn next(&mut self) -> Option<(Span, &'a str)> {
        let &(at, w) = self.words.get(self.pos)?;
        self.pos += 1;
        Some((Span::new(at, at + w.len()), w))
    }

    fn expected(&self, span: Span, expected: &str, found: &str) -> ParseError {
        ParseError::expected(self.source, span, expected, found)
    }

    fn invalid(&self, span: Span, what: &str, value: &str, reason: &str) -> ParseError {
        ParseError::invalid_value(self.source, span, what, value, reason)
    }

    fn spec(mut self) -> Result<PacketSpec, ParseError> {
        let (proto, proto_span, proto_word) = self.protocol()?;
        let src = self.endpoint("a source address (ADDR:PORT, [V6ADDR]:PORT or ADDR)")?;
        let dst = self.endpoint("a destination address (ADDR:PORT, [V6ADDR]:PORT or ADDR)")?;
        self.check_families(&src, &dst)?;
        let v6 = dst.addr.is_ipv6();
        self.check_icmp_family(proto, proto_span, proto_word, v6)?;
        let options = self.options(proto, v6)?;
        let ports = self.ports(proto, &src, &dst)?;
        self.check_options_apply(proto, &options)?;
        let l4 = l4(proto, v6, ports.unwrap_or((0, 0)), &options);
        let mut packet = Packet::new(src.addr, dst.addr, l4);
        if v6 {
            packet.dont_fragment = false;
        }
        if let Some((len, span)) = options.len {
            let headers = headers_len(&packet);
            if len < headers {
                return Err(self.invalid(
                    span,
                    "length",
                    &len.to_string(),
                    &format!(
                        "shorter than the headers: at least {headers} bytes for {} {proto}",
                        if v6 { "IPv6" } else { "IPv4" }
                    ),
                ));
            }
            packet.len = len;
        }
        if let Some(ttl) = options.ttl {
            packet.ttl = ttl;
        }
        if let Some(mark) = options.mark {
            packet.mark = mark;
        }
        packet.iif = options.iif.clone();
        packet.oif = options.oif.clone();
        Ok(PacketSpec {
            zero_port: ports.is_some_and(|(s, d)| s == 0 || d == 0),
            packet,
            given_in: options.iif,
            given_out: options.oif,
        })
    }

    /// `PROTO`: a name or a number 0-255, with its span and word (for later errors).
    fn protocol(&mut self) -> Result<(IpProto, Span, &'a str), ParseError> {
        let Some((span, word)) = self.next() else {
            return Err(self.expected(
                self.end(),
                "a protocol (tcp, udp, icmp, icmpv6, sctp or a number)",
                "",
            ));
        };
        let proto = match word.to_ascii_lowercase().as_str() {
            "tcp" | "udp" | "icmp" | "icmpv6" | "sctp" => IpProto::from_name(word),
            _ => word.parse::<u8>().ok().map(IpProto::from_number),
        }
        .ok_or_else(|| {
            self.expected(
                span,
                "a protocol (tcp, udp, icmp, icmpv6, sctp or a number 0-255)",
                word,
            )
        })?;
        Ok((proto, span, word))
    }

    /// Both addresses of one family; the error points at the destination.
    fn check_families(&self, src: &Endpoint, dst: &Endpoint) -> Result<(), ParseError> {
        if src.addr.is_ipv6() == dst.addr.is_ipv6() {
            return Ok(());
        }
        let fam = |a: IpAddr| if a.is_ipv6() { "IPv6" } else { "IPv4" };
        let reason = format!(
            "the source is {}, the destination {}",
            fam(src.addr),
            fam(dst.addr)
        );
        Err(self.invalid(
            dst.span,
            "destination address",
            &self.text(dst.span),
            &reason,
        ))
    }

    /// `icmp` is IPv4 and `icmpv6` IPv6: the other pairing is refused with a hint.
    fn check_icmp_family(
        &self,
        proto: IpProto,
        span: Span,
        word: &str,
        v6: bool,
    ) -> Result<(), ParseError> {
        let reason = match (proto, v6) {
            (IpProto::Icmp, true) => "ICMP for IPv6 addresses is `icmpv6`",
            (IpProto::Icmpv6, false) => "ICMPv6 needs IPv6 addresses; use `icmp`",
            _ => return Ok(()),
        };
        Err(self.invalid(span, "protocol", word, reason))
    }

    /// The ports: required for tcp, udp and sctp, refused for the others (`None`).
    fn ports(
        &self,
        proto: IpProto,
        src: &Endpoint,
        dst: &Endpoint,
    ) -> Result<Option<(u16, u16)>, ParseError> {
        if matches!(proto, IpProto::Tcp | IpProto::Udp | IpProto::Sctp) {
            let port = |e: &Endpoint| {
                e.port.map(|p| p.0).ok_or_else(|| {
                    self.expected(
                        e.span,
                        &format!("a port for {proto} (`ADDR:PORT` or `[V6ADDR]:PORT`)"),
                        &self.text(e.span),
                    )
                })
            };
            return Ok(Some((port(src)?, port(dst)?)));
        }
        for e in [src, dst] {
            if let Some((_, span)) = e.port {
                return Err(self.invalid(
                    span,
                    "port",
                    &self.text(span),
                    &format!("{proto} has no ports"),
                ));
            }
        }
        Ok(None)
    }

    /// `flags` only for tcp; `type` and `code` only for icmp and icmpv6.
    fn check_options_apply(&self, proto: IpProto, options: &Options) -> Result<(), ParseError> {
        if let Some((_, span)) = options.flags.filter(|_| proto != IpProto::Tcp) {
            return Err(self.invalid(
                span,
                "flags",
                &self.text(span),
                "TCP flags apply only to tcp",
            ));
        }
        if matches!(proto, IpProto::Icmp | IpProto::Icmpv6) {
            return Ok(());
        }
        match options.icmp_type.map(|t| t.2).or(options.code.map(|c| c.1)) {
            Some(span) => Err(self.invalid(
                span,
                "ICMP type/code",
                &self.text(span),
                "`type` and `code` apply only to icmp and icmpv6",
            )),
            None => Ok(()),
        }
    }

    fn text(&self, span: Span) -> String {
        self.source
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
            .to_string()
    }

    fn endpoint(&mut self, what: &str) -> Result<Endpoint, ParseError> {
        let Some((span, word)) = self.next() else {
            return Err(self.expected(self.end(), what, ""));
        };
        let at = span.start as usize;
        let sub = |from: usize, to: usize| Span::new(at + from, at + to);
        let bad_addr = |s: &str, from: usize| {
            self.invalid(
                sub(from, from + s.len()),
                "address",
                s,
                "not an IPv4 or IPv6 address",
            )
        };
        let parse_port = |text: &str, from: usize| -> Result<(u16, Span), ParseError> {
            let pspan = sub(from, from + text.len());
            if text.is_empty() {
                // Point at the colon.
                return Err(self.expected(sub(from - 1, from), "a port after `:`", ""));
            }
            text.parse::<u16>()
                .map(|p| (p, pspan))
                .map_err(|_| self.invalid(pspan, "port", text, "expected a number 0-65535"))
        };
        let (addr, port) = if let Some(rest) = word.strip_prefix('[') {
            let Some(close) = rest.find(']') else {
                return Err(self.expected(span, "`]` after an IPv6 address", word));
            };
            let inner = &rest[..close];
            let addr: IpAddr = inner
                .parse()
                .ok()
                .filter(IpAddr::is_ipv6)
                .ok_or_else(|| bad_addr(inner, 1))?;
            let after = &rest[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(parse_port(p, close + 3)?),
                None if after.is_empty() => None,
                None => {
                    return Err(self.expected(
                        sub(close + 2, word.len()),
                        "`:PORT` after `]`",
                        after,
                    ))
                }
            };
            (addr, port)
        } else if word.matches(':').count() > 1 {
            // A bare IPv6 address: no port possible without brackets.
            let addr: IpAddr = word.parse().map_err(|_| {
                self.invalid(
                    span,
                    "address",
                    word,
                    "not an IPv6 address (write `[V6ADDR]:PORT` for a port)",
                )
            })?;
            (addr, None)
        } else if let Some((a, p)) = word.split_once(':') {
            let addr: IpAddr = a.parse().map_err(|_| bad_addr(a, 0))?;
            (addr, Some(parse_port(p, a.len() + 1)?))
        } else {
            (word.parse().map_err(|_| bad_addr(word, 0))?, None)
        };
        Ok(Endpoint { addr, port, span })
    }

    fn options(&mut self, proto: IpProto, v6: bool) -> Result<Options, ParseError> {
        let mut o = Options::default();
        let mut seen: Vec<String> = Vec::new();
        while let Some((kspan, keyword)) = self.next() {
            let key = keyword.to_ascii_lowercase();
            if !["in", "out", "flags", "type", "code", "mark", "len", "ttl"].contains(&key.as_str())
            {
                return Err(self.expected(kspan, KEYWORDS, keyword));
            }
            if seen.contains(&key) {
                return Err(ParseError::new(
                    self.source,
                    kspan,
                    ErrorKind::Structure {
                        message: format!("`{key}` is given twice; each keyword may appear once"),
                    },
                ));
            }
            let Some((vspan, value)) = self.next() else {
                return Err(self.expected(
                    self.end(),
                    &format!("{} after `{key}`", value_name(&key)),
                    "",
                ));
            };
            self.option(&mut o, &key, (vspan, value), v6 || proto == IpProto::Icmpv6)?;
            seen.push(key);
        }
        Ok(o)
    }

    /// The value of keyword `key` into `o`; `icmpv6` says which ICMP type names apply.
    fn option(
        &self,
        o: &mut Options,
        key: &str,
        (vspan, value): (Span, &str),
        icmpv6: bool,
    ) -> Result<(), ParseError> {
        let invalid = |what: &str, reason: &str| self.invalid(vspan, what, value, reason);
        match key {
            "in" => o.iif = Some(value.to_string()),
            "out" => o.oif = Some(value.to_string()),
            "flags" => {
                let flags = tcp_flags(value).ok_or_else(|| {
                    self.expected(
                        vspan,
                        "TCP flags: letters S A P R F U E C (e.g. SA) or names (syn,ack)",
                        value,
                    )
                })?;
                o.flags = Some((flags, vspan));
            }
            "type" => {
                let (t, c) = icmp_type(value, icmpv6)
                    .ok_or_else(|| self.expected(vspan, icmp_type_names(icmpv6), value))?;
                o.icmp_type = Some((t, c, vspan));
            }
            "code" => {
                let c = value
                    .parse::<u8>()
                    .map_err(|_| invalid("ICMP code", "expected a number 0-255"))?;
                o.code = Some((c, vspan));
            }
            "mark" => {
                o.mark = Some(parse_u32(value).ok_or_else(|| {
                    invalid("mark", "expected a 32-bit number, decimal or 0x hex")
                })?)
            }
            "len" => {
                let len = value
                    .parse::<u16>()
                    .ok()
                    .filter(|&l| l > 0)
                    .ok_or_else(|| invalid("length", "expected a number 1-65535"))?;
                o.len = Some((len, vspan));
            }
            "ttl" => {
                o.ttl = Some(
                    value
                        .parse::<u8>()
                        .map_err(|_| invalid("ttl", "expected a number 0-255"))?,
                )
            }
            _ => {}
        }
        Ok(())
    }
}

/// The shortest IP total length that holds `packet`'s headers: the IP header and the
/// fixed part of the transport header (TCP without options).
fn headers_len(packet: &Packet) -> u16 {
    let ip = if packet.is_ipv6() { 40 } else { 20 };
    let transport = match packet.l4 {
        L4::Tcp { .. } => 20,
        L4::Sctp { .. } => 12,
        L4::Udp { .. } | L4::Icmp { .. } | L4::Icmpv6 { .. } => 8,
        L4::Other(_) => 0,
    };
    ip + transport
}

/// What `type` expects, for the error when its value is not an ICMP type.
fn icmp_type_names(v6: bool) -> &'static str {
    if v6 {
        "an ICMPv6 type: a number or echo-request, echo-reply, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, ..."
    } else {
        "an ICMP type: a number or echo-request, echo-reply, destination-unreachable, time-exceeded, redirect, parameter-problem, ..."
    }
}

/// The transport header: ports (0 when the protocol has none), TCP flags (a SYN unless
/// told otherwise), ICMP type and code (echo-request unless told otherwise).
fn l4(proto: IpProto, v6: bool, (sport, dport): (u16, u16), options: &Options) -> L4 {
    match proto {
        IpProto::Tcp => L4::Tcp {
            sport,
            dport,
            flags: options.flags.map_or(TcpFlags::SYN, |f| f.0),
        },
        IpProto::Udp => L4::Udp { sport, dport },
        IpProto::Sctp => L4::Sctp { sport, dport },
        IpProto::Icmp | IpProto::Icmpv6 => {
            let default_type = if v6 { 128 } else { 8 };
            let (icmp_type, implied_code) = options
                .icmp_type
                .map_or((default_type, None), |t| (t.0, t.1));
            let code = options.code.map(|c| c.0).or(implied_code).unwrap_or(0);
            if v6 {
                L4::Icmpv6 {
                    icmp_type,
                    code,
                    id: 0,
                }
            } else {
                L4::Icmp {
                    icmp_type,
                    code,
                    id: 0,
                }
            }
        }
        other => L4::Other(other),
    }
}

fn value_name(key: &str) -> &'static str {
    match key {
        "in" | "out" => "an interface name",
        "flags" => "TCP flags (e.g. S, SA, PA)",
        "type" => "an ICMP type",
        "code" => "an ICMP code",
        "mark" => "a mark",
        "len" => "a length",
        _ => "a TTL",
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `SA` style letters, or `syn,ack` style names.
fn tcp_flags(s: &str) -> Option<TcpFlags> {
    if s.contains(',')
        || TcpFlags::NAMES
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(s))
    {
        let mut flags = TcpFlags(0);
        for name in s.split(',') {
            let (_, f) = TcpFlags::NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
            flags = flags.union(*f);
        }
        return Some(flags);
    }
    TcpFlags::from_letters(s).filter(|f| f.0 != 0)
}

/// An ICMP type by number or name, in iptables' words (`port-unreachable`, which also
/// gives the code) or nft's (`echo-request`, and destination-unreachable codes such as
/// `admin-prohibited`).
fn icmp_type(s: &str, v6: bool) -> Option<(u8, Option<u8>)> {
    use model::kernel::icmp;
    if let Ok(n) = s.parse::<u8>() {
        return Some((n, None));
    }
    let by_iptables = icmp::iptables_names(v6)
        .iter()
        .find(|e| e.name != "any" && e.name.eq_ignore_ascii_case(s))
        .map(|e| {
            (
                e.icmp_type,
                (e.code_min == e.code_max).then_some(e.code_min),
            )
        });
    let name = s.to_ascii_lowercase();
    let unreachable = if v6 { 1 } else { 3 };
    by_iptables
        .or_else(|| icmp::nft_type_number(&name, v6).map(|t| (t, None)))
        .or_else(|| icmp::nft_code_number(&name, v6).map(|c| (unreachable, Some(c))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::packet::Fragment;

    fn spec(s: &str) -> Result<PacketSpec, ParseError> {
        parse(&s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
    }

    fn ok(s: &str) -> PacketSpec {
        spec(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// The error's span as text, and its message.
    fn err(s: &str) -> (String, String) {
        let e = spec(s).unwrap_err();
        let text = &e.source.text;
        (
            text[e.span.start as usize..e.span.end as usize].to_string(),
            e.kind.to_string(),
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn story1_tcp_syn_in_tap0() {
        let p = ok("tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");
        assert_eq!(p.packet.src, ip("10.1.1.2"));
        assert_eq!(
            p.packet.l4,
            L4::Tcp {
                sport: 1050,
                dport: 2175,
                flags: TcpFlags::SYN
            }
        );
        assert_eq!(
            (p.packet.iif.as_deref(), p.given_in.as_deref(), p.given_out),
            (Some("tap0"), Some("tap0"), None)
        );
        assert_eq!((p.packet.len, p.packet.ttl, p.packet.mark), (60, 64, 0));
        assert_eq!(p.packet.fragment, Fragment::None);
    }

    #[test]
    fn udp_v6_with_brackets() {
        let p = ok("udp [2001:db8::5]:5353 [2001:db8::1]:53 in eth0");
        assert_eq!(
            (p.packet.src, p.packet.dst),
            (ip("2001:db8::5"), ip("2001:db8::1"))
        );
        assert_eq!(
            p.packet.l4,
            L4::Udp {
                sport: 5353,
                dport: 53
            }
        );
        assert_eq!(p.packet.len, 48);
        assert!(!p.packet.dont_fragment);
    }

    #[test]
    fn icmp_echo_request_by_name() {
        let p = ok("icmp 10.0.0.1 10.0.0.2 type echo-request");
        assert_eq!(
            p.packet.l4,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 0
            }
        );
        assert_eq!(p.packet.iif, None, "locally generated");
    }

    #[test]
    fn tcp_push_ack_with_mark_and_ttl() {
        let p = ok("tcp 1.2.3.4:1 5.6.7.8:2 flags PA mark 0x10 ttl 1");
        assert_eq!(
            p.packet.l4,
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::PSH.union(TcpFlags::ACK)
            }
        );
        assert_eq!((p.packet.mark, p.packet.ttl, p.packet.len), (16, 1, 40));
    }

    #[test]
    fn icmp_defaults_to_echo_request() {
        assert_eq!(
            ok("icmp 10.0.0.1 10.0.0.2").packet.l4,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 0
            }
        );
        assert_eq!(
            ok("icmpv6 2001:db8::1 2001:db8::2").packet.l4,
            L4::Icmpv6 {
                icmp_type: 128,
                code: 0,
                id: 0
            }
        );
    }

    #[test]
    fn icmp_names_in_iptables_and_nft_words() {
        let l4 = |spec: &str| ok(spec).packet.l4;
        let v4 = |icmp_type, code| L4::Icmp {
            icmp_type,
            code,
            id: 0,
        };
        let v6 = |icmp_type, code| L4::Icmpv6 {
            icmp_type,
            code,
            id: 0,
        };
        assert_eq!(
            l4("icmp 10.0.0.1 10.0.0.2 type admin-prohibited"),
            v4(3, 13)
        );
        assert_eq!(l4("icmp 10.0.0.1 10.0.0.2 type Host-Prohibited"), v4(3, 10));
        assert_eq!(l4("icmp 10.0.0.1 10.0.0.2 type info-request"), v4(15, 0));
        assert_eq!(
            l4("icmpv6 [2001:db8::1] [2001:db8::2] type admin-prohibited"),
            v6(1, 1)
        );
        assert_eq!(
            l4("icmpv6 [2001:db8::1] [2001:db8::2] type nd-neighbor-solicit"),
            v6(135, 0)
        );
        assert_eq!(
            l4("icmpv6 [2001:db8::1] [2001:db8::2] type neighbour-solicitation"),
            v6(135, 0)
        );
    }

    #[test]
    fn icmp_type_number_and_code() {
        let p = ok("icmp 10.0.0.1 10.0.0.2 type 3 code 13");
        assert_eq!(
            p.packet.l4,
            L4::Icmp {
                icmp_type: 3,
                code: 13,
                id: 0
            }
        );
        let p = ok("icmp 10.0.0.1 10.0.0.2 type port-unreachable");
        assert_eq!(
            p.packet.l4,
            L4::Icmp {
                icmp_type: 3,
                code: 3,
                id: 0
            }
        );
        let p = ok("icmpv6 [2001:db8::1] [2001:db8::2] type destination-unreachable code 3");
        assert_eq!(
            p.packet.l4,
            L4::Icmpv6 {
                icmp_type: 1,
                code: 3,
                id: 0
            }
        );
        let p = ok("icmpv6 fe80::1 ff02::1 type nd-neighbor-solicit ttl 255");
        assert_eq!(
            (p.packet.l4, p.packet.ttl),
            (
                L4::Icmpv6 {
                    icmp_type: 135,
                    code: 0,
                    id: 0
                },
                255
            )
        );
    }

    #[test]
    fn every_keyword_once() {
        let p = ok("tcp 10.0.0.1:5 10.0.0.2:6 in eth0 out eth1 flags SA mark 42 len 1500 ttl 3");
        assert_eq!(
            (p.given_in.as_deref(), p.given_out.as_deref()),
            (Some("eth0"), Some("eth1"))
        );
        assert_eq!(p.packet.oif.as_deref(), Some("eth1"));
        assert_eq!((p.packet.mark, p.packet.len, p.packet.ttl), (42, 1500, 3));
        assert_eq!(
            p.packet.l4,
            L4::Tcp {
                sport: 5,
                dport: 6,
                flags: TcpFlags::SYN.union(TcpFlags::ACK)
            }
        );
    }

    #[test]
    fn flag_words_and_names() {
        for (word, flags) in [
            ("S", 0x02),
            ("SA", 0x12),
            ("A", 0x10),
            ("R", 0x04),
            ("F", 0x01),
            ("FA", 0x11),
            ("syn,ack", 0x12),
            ("RST", 0x04),
        ] {
            let p = ok(&format!("tcp 1.1.1.1:1 2.2.2.2:2 flags {word}"));
            assert!(
                matches!(p.packet.l4, L4::Tcp { flags: TcpFlags(f), .. } if f == flags),
                "{word}"
            );
        }
    }

    #[test]
    fn sctp_and_protocol_numbers() {
        assert_eq!(
            ok("sctp 10.0.0.1:1 10.0.0.2:2").packet.l4,
            L4::Sctp { sport: 1, dport: 2 }
        );
        assert_eq!(
            ok("47 10.0.0.1 10.0.0.2").packet.l4,
            L4::Other(IpProto::Gre)
        );
        assert_eq!(ok("6 10.0.0.1:1 10.0.0.2:2").packet.proto(), IpProto::Tcp);
        assert_eq!(
            ok("TCP 10.0.0.1:1 10.0.0.2:2 IN eth0").given_in.as_deref(),
            Some("eth0")
        );
    }

    #[test]
    fn one_argument_with_spaces_is_split() {
        let p = parse(&[
            "tcp 10.0.0.1:1  10.0.0.2:2".to_string(),
            "in".into(),
            "lo".into(),
        ])
        .unwrap();
        assert_eq!(p.given_in.as_deref(), Some("lo"));
    }

    #[test]
    fn empty_spec_asks_for_a_protocol() {
        let e = parse(&[]).unwrap_err();
        assert_eq!(e.source.name.as_ref(), "<packet>");
        assert!(e.to_string().contains("expected a protocol"), "{e}");
    }

    #[test]
    fn unknown_protocol_spans_the_word() {
        assert_eq!(err("tcpp 1.1.1.1:1 2.2.2.2:2").0, "tcpp");
        assert_eq!(err("256 1.1.1.1 2.2.2.2").0, "256");
    }

    #[test]
    fn missing_port_after_colon() {
        let (span, msg) = err("tcp 10.0.0.1: 10.0.0.2:2");
        assert_eq!(span, ":");
        assert!(msg.contains("expected a port after `:`"), "{msg}");
        let e = spec("tcp 10.0.0.1:1 [2001:db8::1]:").unwrap_err();
        assert!(e.to_string().contains("expected a port after `:`"), "{e}");
        assert_eq!(e.span.start, 28);
    }

    #[test]
    fn bad_port_spans_the_port() {
        assert_eq!(err("tcp 10.0.0.1:70000 10.0.0.2:2").0, "70000");
        assert_eq!(err("udp [2001:db8::1]:x [2001:db8::2]:53").0, "x");
    }

    #[test]
    fn ports_required_for_tcp() {
        let (span, msg) = err("tcp 10.0.0.1 10.0.0.2:22");
        assert_eq!(span, "10.0.0.1");
        assert!(msg.contains("a port for tcp"), "{msg}");
        assert_eq!(err("udp 2001:db8::1 [2001:db8::2]:53").0, "2001:db8::1");
    }

    #[test]
    fn ports_refused_for_icmp() {
        let (span, msg) = err("icmp 10.0.0.1:5 10.0.0.2");
        assert_eq!(span, "5");
        assert!(msg.contains("icmp has no ports"), "{msg}");
    }

    #[test]
    fn families_must_agree() {
        let (span, msg) = err("udp 10.0.0.1:1 [2001:db8::1]:53");
        assert_eq!(span, "[2001:db8::1]:53");
        assert!(msg.contains("IPv4") && msg.contains("IPv6"), "{msg}");
    }

    #[test]
    fn icmp_with_v6_suggests_icmpv6() {
        let (span, msg) = err("icmp 2001:db8::1 2001:db8::2");
        assert_eq!(span, "icmp");
        assert!(msg.contains("icmpv6"), "{msg}");
        assert_eq!(err("icmpv6 10.0.0.1 10.0.0.2").0, "icmpv6");
    }

    #[test]
    fn bad_address_spans_the_address_part() {
        assert_eq!(err("tcp 10.0.0.300:1 10.0.0.2:2").0, "10.0.0.300");
        assert_eq!(err("tcp [10.0.0.1]:1 10.0.0.2:2").0, "10.0.0.1");
        assert_eq!(err("tcp [2001:db8::1 10.0.0.2:2").0, "[2001:db8::1");
        assert_eq!(err("tcp host:1 10.0.0.2:2").0, "host");
        assert_eq!(
            err("udp 2001:db8::1:53:x 2001:db8::2").0,
            "2001:db8::1:53:x"
        );
    }

    #[test]
    fn missing_destination() {
        let e = spec("tcp 10.0.0.1:1").unwrap_err();
        assert_eq!((e.span.start, e.span.end), (14, 14));
        assert!(e.to_string().contains("a destination address"), "{e}");
    }

    #[test]
    fn unknown_keyword_lists_the_keywords() {
        let (span, msg) = err("tcp 1.1.1.1:1 2.2.2.2:2 on eth0");
        assert_eq!(span, "on");
        assert!(
            msg.contains("expected one of: in, out, flags, type, code, mark, len, ttl"),
            "{msg}"
        );
    }

    #[test]
    fn keyword_twice_is_an_error_at_the_second() {
        let e = spec("tcp 1.1.1.1:1 2.2.2.2:2 in a in b").unwrap_err();
        assert_eq!(e.span.start, 29);
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn keyword_without_value() {
        let e = spec("tcp 1.1.1.1:1 2.2.2.2:2 in").unwrap_err();
        assert!(
            e.to_string().contains("an interface name after `in`"),
            "{e}"
        );
        assert_eq!(e.span.start, 26);
    }

    #[test]
    fn bad_values() {
        assert_eq!(err("tcp 1.1.1.1:1 2.2.2.2:2 flags SX").0, "SX");
        assert_eq!(
            err("tcp 1.1.1.1:1 2.2.2.2:2 mark 0xfffffffff").0,
            "0xfffffffff"
        );
        assert_eq!(err("tcp 1.1.1.1:1 2.2.2.2:2 ttl 256").0, "256");
        assert_eq!(err("tcp 1.1.1.1:1 2.2.2.2:2 len 0").0, "0");
        assert_eq!(err("icmp 1.1.1.1 2.2.2.2 type echo").0, "echo");
        assert_eq!(err("icmp 1.1.1.1 2.2.2.2 code x").0, "x");
    }

    #[test]
    fn options_for_the_wrong_protocol() {
        assert_eq!(err("udp 1.1.1.1:1 2.2.2.2:2 flags S").0, "S");
        assert_eq!(err("tcp 1.1.1.1:1 2.2.2.2:2 type 8").0, "8");
        assert_eq!(err("udp 1.1.1.1:1 2.2.2.2:2 code 1").0, "1");
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "[",
            "tcp [",
            "tcp []:1",
            "tcp [::1]",
            "tcp :",
            "tcp ::",
            "icmp é é",
            "tcp 1.1.1.1:1 2.2.2.2:2 é",
        ] {
            let _ = spec(s);
        }
    }

    /// Every error of the grammar, as `<packet>:1:col: message` and the text it spans.
    #[test]
    fn errors_in_full() {
        let cases = [
            ("", "<packet>:1:1: expected a protocol (tcp, udp, icmp, icmpv6, sctp or a number), found end of line []"),
            ("tcpp 1.1.1.1:1 2.2.2.2:2", "<packet>:1:1: expected a protocol (tcp, udp, icmp, icmpv6, sctp or a number 0-255), found `tcpp` [tcpp]"),
            ("tcp 1.1.1.1:1", "<packet>:1:14: expected a destination address (ADDR:PORT, [V6ADDR]:PORT or ADDR), found end of line []"),
            ("udp 10.0.0.1:1 [2001:db8::1]:53", "<packet>:1:16: invalid destination address `[2001:db8::1]:53`: the source is IPv4, the destination IPv6 [[2001:db8::1]:53]"),
            ("icmp 2001:db8::1 2001:db8::2", "<packet>:1:1: invalid protocol `icmp`: ICMP for IPv6 addresses is `icmpv6` [icmp]"),
            ("icmpv6 10.0.0.1 10.0.0.2", "<packet>:1:1: invalid protocol `icmpv6`: ICMPv6 needs IPv6 addresses; use `icmp` [icmpv6]"),
            ("tcp 10.0.0.1 10.0.0.2:22", "<packet>:1:5: expected a port for tcp (`ADDR:PORT` or `[V6ADDR]:PORT`), found `10.0.0.1` [10.0.0.1]"),
            ("sctp 10.0.0.1:1 10.0.0.2", "<packet>:1:17: expected a port for sctp (`ADDR:PORT` or `[V6ADDR]:PORT`), found `10.0.0.2` [10.0.0.2]"),
            ("icmp 10.0.0.1 10.0.0.2:5", "<packet>:1:24: invalid port `5`: icmp has no ports [5]"),
            ("47 10.0.0.1:5 10.0.0.2", "<packet>:1:13: invalid port `5`: gre has no ports [5]"),
            ("udp 1.1.1.1:1 2.2.2.2:2 flags S", "<packet>:1:31: invalid flags `S`: TCP flags apply only to tcp [S]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 type 8", "<packet>:1:30: invalid ICMP type/code `8`: `type` and `code` apply only to icmp and icmpv6 [8]"),
            ("udp 1.1.1.1:1 2.2.2.2:2 code 1", "<packet>:1:30: invalid ICMP type/code `1`: `type` and `code` apply only to icmp and icmpv6 [1]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 on eth0", "<packet>:1:25: expected one of: in, out, flags, type, code, mark, len, ttl, found `on` [on]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 ttl 1 TTL 2", "<packet>:1:31: `ttl` is given twice; each keyword may appear once [TTL]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 flags", "<packet>:1:30: expected TCP flags (e.g. S, SA, PA) after `flags`, found end of line []"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 flags SX", "<packet>:1:31: expected TCP flags: letters S A P R F U E C (e.g. SA) or names (syn,ack), found `SX` [SX]"),
            ("icmp 1.1.1.1 2.2.2.2 type echo", "<packet>:1:27: expected an ICMP type: a number or echo-request, echo-reply, destination-unreachable, time-exceeded, redirect, parameter-problem, ..., found `echo` [echo]"),
            ("icmpv6 ::1 ::2 type echo", "<packet>:1:21: expected an ICMPv6 type: a number or echo-request, echo-reply, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, ..., found `echo` [echo]"),
            ("icmp 1.1.1.1 2.2.2.2 code 300", "<packet>:1:27: invalid ICMP code `300`: expected a number 0-255 [300]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 mark 0x1g", "<packet>:1:30: invalid mark `0x1g`: expected a 32-bit number, decimal or 0x hex [0x1g]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 len 0", "<packet>:1:29: invalid length `0`: expected a number 1-65535 [0]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 ttl x", "<packet>:1:29: invalid ttl `x`: expected a number 0-255 [x]"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 mark", "<packet>:1:29: expected a mark after `mark`, found end of line []"),
            ("tcp 1.1.1.1:1 2.2.2.2:2 in eth0 len", "<packet>:1:36: expected a length after `len`, found end of line []"),
        ];
        for (case, expected) in cases {
            let e = spec(case).unwrap_err();
            let spanned = &e.source.text[e.span.start as usize..e.span.end as usize];
            assert_eq!(format!("{e} [{spanned}]"), expected, "{case}");
        }
    }
}
