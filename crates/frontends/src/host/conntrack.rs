//! `conntrack -L` lines into [`CtEntry`]s.
//!
//! A line is `[ipv4 2 ] PROTO NUM [TIMEOUT] [STATE] ORIGINAL-TUPLE [FLAGS] REPLY-TUPLE [FLAGS]
//! key=value...`: the `ipv4     2 ` prefix comes with `-o extended`, an event tag (`[NEW]`,
//! `[UPDATE]`, `[DESTROY]`) with `conntrack -E`; both are accepted. A tuple is `src= dst=`
//! plus `sport= dport=` (TCP, UDP, SCTP, DCCP, UDP-Lite) or `type= code= id=` (ICMP); the
//! second `src=` starts the reply tuple. For ICMP the tuple keeps the echo id in `sport` and
//! `type << 8 | code` in `dport`. Counters (`packets=`, `bytes=`) and unknown `key=value`
//! fields are skipped; `mark=`, `zone=` and `use=` are read.
//!
//! `status` is rebuilt from what the line shows: every listed entry is confirmed;
//! `[UNREPLIED]` clears seen-reply; `[ASSURED]`, `[OFFLOAD]`, `[HW_OFFLOAD]` set their bits;
//! tuples that do not mirror each other mean source/destination NAT was done.

use crate::lines::{lines, words};
use model::diag::{ErrorKind, ParseError};
use model::host::{CtEntry, CtTuple};
use model::packet::IpProto;
use model::{SourceFile, Span};
use std::net::IpAddr;

/// `IPS_*` status bits (`include/uapi/linux/netfilter/nf_conntrack_common.h`).
pub mod status {
    pub const EXPECTED: u64 = 1 << 0;
    pub const SEEN_REPLY: u64 = 1 << 1;
    pub const ASSURED: u64 = 1 << 2;
    pub const CONFIRMED: u64 = 1 << 3;
    pub const SRC_NAT: u64 = 1 << 4;
    pub const DST_NAT: u64 = 1 << 5;
    pub const SRC_NAT_DONE: u64 = 1 << 7;
    pub const DST_NAT_DONE: u64 = 1 << 8;
    pub const OFFLOAD: u64 = 1 << 14;
    pub const HW_OFFLOAD: u64 = 1 << 15;
}

/// Parses `conntrack -L` (any of its output forms), one entry per non-empty line.
pub fn parse(source: &SourceFile) -> Result<Vec<CtEntry>, ParseError> {
    let mut out = Vec::new();
    for line in lines(&source.text) {
        // The summary conntrack writes to stderr, in case it was captured with 2>&1.
        if line.is_blank_or_comment() || line.trimmed().1.starts_with("conntrack v") {
            continue;
        }
        out.push(parse_line(source, line.text, line.start)?);
    }
    Ok(out)
}

#[derive(Default)]
struct TupleBuilder {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    icmp_id: Option<u16>,
}

impl TupleBuilder {
    fn build(&self) -> Option<CtTuple> {
        let (sport, dport) = match (self.icmp_type, self.icmp_code) {
            (Some(t), c) => (
                self.icmp_id.unwrap_or(0),
                u16::from(t) << 8 | u16::from(c.unwrap_or(0)),
            ),
            (None, _) => (self.sport.unwrap_or(0), self.dport.unwrap_or(0)),
        };
        Some(CtTuple {
            src: self.src?,
            dst: self.dst?,
            sport,
            dport,
        })
    }
}

fn parse_line(source: &SourceFile, line: &str, base: usize) -> Result<CtEntry, ParseError> {
    let words = words(line);
    let line_span = || {
        let first = words.first().map_or(0, |w| w.0);
        Span::new(base + first, base + line.len())
    };
    let word_span = |(at, w): (usize, &str)| Span::new(base + at, base + at + w.len());
    let mut i = 0;
    // Event tag of `conntrack -E`.
    if words
        .get(i)
        .is_some_and(|w| w.1.starts_with('[') && !w.1.contains('='))
    {
        i += 1;
    }
    // `-o extended`: layer-3 name and number.
    if words.get(i).is_some_and(|w| w.1 == "ipv4" || w.1 == "ipv6") {
        i += 2;
    }
    let Some(&(name_at, name)) = words.get(i) else {
        return Err(ParseError::expected(
            source,
            line_span(),
            "a protocol name (tcp, udp, icmp, ...)",
            line.trim(),
        ));
    };
    let Some(&(num_at, num)) = words.get(i + 1) else {
        let end = base + line.len();
        return Err(ParseError::expected(
            source,
            Span::new(end, end),
            "the protocol number",
            "",
        ));
    };
    let number: u8 = num.parse().map_err(|_| {
        ParseError::expected(source, word_span((num_at, num)), "the protocol number", num)
    })?;
    let proto = IpProto::from_number(number);
    if IpProto::from_name(name).is_some_and(|p| p != proto) && name != "unknown" {
        return Err(ParseError::new(
            source,
            word_span((name_at, name)),
            ErrorKind::InvalidValue {
                what: "protocol".into(),
                value: format!("{name} {num}"),
                reason: "name and number disagree".into(),
            },
        ));
    }
    i += 2;
    let mut timeout = None;
    if let Some(&(_, t)) = words.get(i) {
        if let Ok(t) = t.parse::<u32>() {
            timeout = Some(t);
            i += 1;
        }
    }
    let mut tcp_state = None;
    if let Some(&(_, s)) = words.get(i) {
        if !s.contains('=') && !s.starts_with('[') {
            tcp_state = Some(s.to_string());
            i += 1;
        }
    }

    let mut tuples = [TupleBuilder::default(), TupleBuilder::default()];
    let mut dir = 0usize;
    let mut status_bits = status::CONFIRMED | status::SEEN_REPLY;
    let (mut mark, mut zone) = (0u32, 0u16);
    for &(at, word) in &words[i..] {
        let span = word_span((at, word));
        if let Some(flag) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            match flag {
                "UNREPLIED" => status_bits &= !status::SEEN_REPLY,
                "ASSURED" => status_bits |= status::ASSURED,
                "OFFLOAD" => status_bits |= status::OFFLOAD,
                "HW_OFFLOAD" => status_bits |= status::HW_OFFLOAD,
                _ => {}
            }
            continue;
        }
        let Some((key, value)) = word.split_once('=') else {
            return Err(ParseError::expected(
                source,
                span,
                "`key=value` or a [FLAG]",
                word,
            ));
        };
        let vspan = Span::new(span.start as usize + key.len() + 1, span.end as usize);
        let bad = |what: &str, reason: &str| {
            ParseError::new(
                source,
                vspan,
                ErrorKind::InvalidValue {
                    what: what.into(),
                    value: value.into(),
                    reason: reason.into(),
                },
            )
        };
        let num = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| bad(what, "expected a number"))
        };
        match key {
            "src" | "dst" => {
                if key == "src" && tuples[dir].src.is_some() {
                    if dir == 1 {
                        return Err(bad(
                            "address",
                            "a third tuple: expected at most original and reply",
                        ));
                    }
                    dir = 1;
                }
                let addr: IpAddr = value
                    .parse()
                    .map_err(|_| bad("address", "not an IP address"))?;
                if key == "src" {
                    tuples[dir].src = Some(addr);
                } else {
                    tuples[dir].dst = Some(addr);
                }
            }
            "sport" | "dport" => {
                let port = u16::try_from(num("port")?).map_err(|_| bad("port", "above 65535"))?;
                if key == "sport" {
                    tuples[dir].sport = Some(port);
                } else {
                    tuples[dir].dport = Some(port);
                }
            }
            "type" => {
                tuples[dir].icmp_type = Some(
                    u8::try_from(num("ICMP type")?).map_err(|_| bad("ICMP type", "above 255"))?,
                )
            }
            "code" => {
                tuples[dir].icmp_code = Some(
                    u8::try_from(num("ICMP code")?).map_err(|_| bad("ICMP code", "above 255"))?,
                )
            }
            "id" if tuples[dir].icmp_type.is_some() && tuples[dir].icmp_id.is_none() => {
                tuples[dir].icmp_id = Some(
                    u16::try_from(num("ICMP id")?).map_err(|_| bad("ICMP id", "above 65535"))?,
                )
            }
            "mark" => {
                mark = u32::try_from(num("mark")?).map_err(|_| bad("mark", "above 32 bits"))?
            }
            "zone" => zone = u16::try_from(num("zone")?).map_err(|_| bad("zone", "above 65535"))?,
            _ => {}
        }
    }
    let missing = |what: &str| ParseError::expected(source, line_span(), what, line.trim());
    let orig = tuples[0]
        .build()
        .ok_or_else(|| missing("an original tuple with `src=` and `dst=`"))?;
    let reply = tuples[1]
        .build()
        .ok_or_else(|| missing("a reply tuple with `src=` and `dst=`"))?;
    if reply.src != orig.dst || (reply.sport != orig.dport && tuples[0].icmp_type.is_none()) {
        status_bits |= status::DST_NAT | status::DST_NAT_DONE;
    }
    if reply.dst != orig.src || (reply.dport != orig.sport && tuples[0].icmp_type.is_none()) {
        status_bits |= status::SRC_NAT | status::SRC_NAT_DONE;
    }
    Ok(CtEntry {
        proto,
        orig,
        reply,
        tcp_state,
        status: status_bits,
        mark,
        zone,
        timeout,
        text: line.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Vec<CtEntry> {
        let path = format!(
            "{}/tests/fixtures/host/router/conntrack.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        parse(&SourceFile::new(
            "conntrack.txt",
            std::fs::read_to_string(path).unwrap(),
        ))
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn router_forwarded_tcp_is_established_and_assured() {
        let ct = router();
        assert_eq!(ct.len(), 6);
        let e = &ct[0];
        assert_eq!(
            (e.proto, e.timeout, e.tcp_state.as_deref()),
            (IpProto::Tcp, Some(431998), Some("ESTABLISHED"))
        );
        assert_eq!(
            e.orig,
            CtTuple {
                src: ip("10.1.1.2"),
                dst: ip("10.1.0.2"),
                sport: 1050,
                dport: 2175
            }
        );
        assert_eq!(
            e.reply,
            CtTuple {
                src: ip("10.1.0.2"),
                dst: ip("10.1.1.2"),
                sport: 2175,
                dport: 1050
            }
        );
        assert_eq!(
            e.status,
            status::CONFIRMED | status::SEEN_REPLY | status::ASSURED
        );
        assert_eq!((e.mark, e.zone), (0, 0));
        assert!(e
            .text
            .starts_with("tcp      6 431998 ESTABLISHED src=10.1.1.2"));
    }

    #[test]
    fn router_unreplied_udp_with_mark_and_zone() {
        let ct = router();
        let dns = &ct[2];
        assert_eq!(
            (dns.proto, dns.tcp_state.as_deref(), dns.timeout),
            (IpProto::Udp, None, Some(28))
        );
        assert_eq!(dns.status & status::SEEN_REPLY, 0);
        assert_eq!(dns.mark, 42);
        assert_eq!(ct[3].zone, 7);
    }

    #[test]
    fn router_icmp_echo_keeps_id_and_type() {
        let e = &router()[4];
        assert_eq!(e.proto, IpProto::Icmp);
        assert_eq!((e.orig.sport, e.orig.dport), (4660, 8 << 8));
        assert_eq!((e.reply.sport, e.reply.dport), (4660, 0));
        assert_eq!(e.status & (status::SRC_NAT | status::DST_NAT), 0);
    }

    #[test]
    fn router_ipv6_entry() {
        let e = &router()[5];
        assert_eq!(e.orig.src, ip("fd00:1:1::2"));
        assert_eq!(e.reply.sport, 2175);
    }

    #[test]
    fn extended_output_prefix() {
        // `conntrack -L -o extended` in namespace wbhrouter.
        let text = "ipv4     2 tcp      6 431998 ESTABLISHED src=10.1.1.2 dst=10.1.0.2 sport=1050 dport=2175 src=10.1.0.2 dst=10.1.1.2 sport=2175 dport=1050 [ASSURED] mark=0 use=1\n\
ipv6     10 tcp      6 431998 ESTABLISHED src=fd00:1:1::2 dst=fd00:1::2 sport=1051 dport=2175 src=fd00:1::2 dst=fd00:1:1::2 sport=2175 dport=1051 [ASSURED] mark=0 use=1\n";
        let ct = parse(&SourceFile::new("ct", text)).unwrap();
        assert_eq!(ct.len(), 2);
        assert_eq!(ct[0].orig.dport, 2175);
        assert_eq!(ct[1].orig.src, ip("fd00:1:1::2"));
    }

    #[test]
    fn dnat_entry_from_kernel_facts_sets_nat_bits() {
        let text = "[NEW] ipv4 2 tcp 6 120 SYN_SENT src=192.168.60.2 dst=192.168.60.1 sport=57522 dport=1222 [UNREPLIED] src=192.168.70.10 dst=192.168.70.1 sport=22 dport=57522";
        let e = &parse(&SourceFile::new("ct", text)).unwrap()[0];
        assert_eq!(e.tcp_state.as_deref(), Some("SYN_SENT"));
        assert_ne!(e.status & status::DST_NAT, 0);
        assert_ne!(
            e.status & status::SRC_NAT,
            0,
            "the reply goes to the router's address: masquerade too"
        );
        assert_eq!(e.status & status::SEEN_REPLY, 0);
        assert_eq!(e.reply.sport, 22);
    }

    #[test]
    fn destroy_event_without_timeout_and_with_counters() {
        let text = "[DESTROY] udp      17 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=1 bytes=60 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 packets=1 bytes=90 zone=3";
        let e = &parse(&SourceFile::new("ct", text)).unwrap()[0];
        assert_eq!((e.timeout, e.zone, e.reply.sport), (None, 3, 53));
    }

    #[test]
    fn summary_line_is_skipped() {
        let text = "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n";
        assert!(parse(&SourceFile::new("ct", text)).unwrap().is_empty());
    }

    #[test]
    fn bad_address_spans_the_value() {
        let text = "tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1\nudp 17 10 src=10.0.0.1 dst=10.0.0.999 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1\n";
        let e = parse(&SourceFile::new("conntrack.txt", text)).unwrap_err();
        assert_eq!(e.line_col(), (2, 28));
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "10.0.0.999"
        );
    }

    #[test]
    fn port_out_of_range_is_an_error() {
        let text = "udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1";
        let e = parse(&SourceFile::new("ct", text)).unwrap_err();
        assert_eq!(&text[e.span.start as usize..e.span.end as usize], "70000");
    }

    #[test]
    fn missing_reply_tuple_is_an_error_over_the_line() {
        let text = "udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2";
        let e = parse(&SourceFile::new("ct", text)).unwrap_err();
        assert_eq!(
            (e.span.start as usize, e.span.end as usize),
            (0, text.len())
        );
    }

    #[test]
    fn protocol_number_is_required() {
        let e = parse(&SourceFile::new("ct", "tcp ESTABLISHED src=1.1.1.1")).unwrap_err();
        assert_eq!((e.span.start, e.span.end), (4, 15));
    }

    #[test]
    fn stray_word_is_an_error() {
        let text = "udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 junk src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1";
        let e = parse(&SourceFile::new("ct", text)).unwrap_err();
        assert_eq!(&text[e.span.start as usize..e.span.end as usize], "junk");
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "ipv4",
            "[NEW]",
            "tcp 6",
            "tcp 6 1 X src=",
            "icmp 1 1 type=999",
            "é 1",
            "tcp 300",
        ] {
            let _ = parse(&SourceFile::new("ct", t));
        }
    }
}
