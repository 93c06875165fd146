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
    let line = Line {
        source,
        text: line,
        base,
        words: words(line),
    };
    let (proto, mut i) = line.protocol()?;
    let mut timeout = None;
    if let Some(t) = line.words.get(i).and_then(|w| w.1.parse::<u32>().ok()) {
        timeout = Some(t);
        i += 1;
    }
    let mut tcp_state = None;
    if let Some(&(_, s)) = line.words.get(i) {
        if !s.contains('=') && !s.starts_with('[') {
            tcp_state = Some(s.to_string());
            i += 1;
        }
    }
    let mut fields = Fields::default();
    for &word in &line.words[i..] {
        fields.read(&line, word)?;
    }
    let missing = |what: &str| ParseError::expected(source, line.span(), what, line.text.trim());
    let orig = fields.tuples[0]
        .build()
        .ok_or_else(|| missing("an original tuple with `src=` and `dst=`"))?;
    let reply = fields.tuples[1]
        .build()
        .ok_or_else(|| missing("a reply tuple with `src=` and `dst=`"))?;
    let icmp = fields.tuples[0].icmp_type.is_some();
    Ok(CtEntry {
        proto,
        status: fields.status | nat_status(&orig, &reply, icmp),
        orig,
        reply,
        tcp_state,
        mark: fields.mark,
        zone: fields.zone,
        timeout,
        text: line.text.trim().to_string(),
    })
}

/// One line and its words, with the offset of the line in the file (for spans).
struct Line<'a> {
    source: &'a SourceFile,
    text: &'a str,
    base: usize,
    words: Vec<(usize, &'a str)>,
}

impl Line<'_> {
    /// From the first word to the end of the line.
    fn span(&self) -> Span {
        let first = self.words.first().map_or(0, |w| w.0);
        Span::new(self.base + first, self.base + self.text.len())
    }

    fn word_span(&self, (at, w): (usize, &str)) -> Span {
        Span::new(self.base + at, self.base + at + w.len())
    }

    /// The protocol name and number, after an event tag (`conntrack -E`) and the layer-3
    /// name and number (`-o extended`); returns the index of the word after them.
    fn protocol(&self) -> Result<(IpProto, usize), ParseError> {
        let words = &self.words;
        let mut i = 0;
        if words
            .get(i)
            .is_some_and(|w| w.1.starts_with('[') && !w.1.contains('='))
        {
            i += 1;
        }
        if words.get(i).is_some_and(|w| w.1 == "ipv4" || w.1 == "ipv6") {
            i += 2;
        }
        let Some(&(name_at, name)) = words.get(i) else {
            return Err(ParseError::expected(
                self.source,
                self.span(),
                "a protocol name (tcp, udp, icmp, ...)",
                self.text.trim(),
            ));
        };
        let Some(&(num_at, num)) = words.get(i + 1) else {
            let end = self.base + self.text.len();
            return Err(ParseError::expected(
                self.source,
                Span::new(end, end),
                "the protocol number",
                "",
            ));
        };
        let number: u8 = num.parse().map_err(|_| {
            ParseError::expected(
                self.source,
                self.word_span((num_at, num)),
                "the protocol number",
                num,
            )
        })?;
        let proto = IpProto::from_number(number);
        if IpProto::from_name(name).is_some_and(|p| p != proto) && name != "unknown" {
            return Err(ParseError::new(
                self.source,
                self.word_span((name_at, name)),
                ErrorKind::InvalidValue {
                    what: "protocol".into(),
                    value: format!("{name} {num}"),
                    reason: "name and number disagree".into(),
                },
            ));
        }
        Ok((proto, i + 2))
    }
}

/// What the tuples, flags and `key=value` words of a line say.
struct Fields {
    /// Original, then reply.
    tuples: [TupleBuilder; 2],
    /// The tuple being read: the second `src=` starts the reply.
    dir: usize,
    status: u64,
    mark: u32,
    zone: u16,
}

impl Default for Fields {
    fn default() -> Fields {
        Fields {
            tuples: [TupleBuilder::default(), TupleBuilder::default()],
            dir: 0,
            // Every listed entry is confirmed; `[UNREPLIED]` clears seen-reply.
            status: status::CONFIRMED | status::SEEN_REPLY,
            mark: 0,
            zone: 0,
        }
    }
}

impl Fields {
    /// One word after the header: a `[FLAG]` or a `key=value`.
    fn read(&mut self, line: &Line<'_>, (at, word): (usize, &str)) -> Result<(), ParseError> {
        let span = line.word_span((at, word));
        if let Some(flag) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            self.flag(flag);
            return Ok(());
        }
        let Some((key, value)) = word.split_once('=') else {
            return Err(ParseError::expected(
                line.source,
                span,
                "`key=value` or a [FLAG]",
                word,
            ));
        };
        let value = FieldValue {
            source: line.source,
            span: Span::new(span.start as usize + key.len() + 1, span.end as usize),
            text: value,
        };
        self.field(key, &value)
    }

    fn flag(&mut self, flag: &str) {
        match flag {
            "UNREPLIED" => self.status &= !status::SEEN_REPLY,
            "ASSURED" => self.status |= status::ASSURED,
            "OFFLOAD" => self.status |= status::OFFLOAD,
            "HW_OFFLOAD" => self.status |= status::HW_OFFLOAD,
            _ => {}
        }
    }

    /// A `key=value` word; counters and unknown keys are skipped.
    fn field(&mut self, key: &str, value: &FieldValue<'_>) -> Result<(), ParseError> {
        let tuple = &mut self.tuples[self.dir];
        match key {
            "src" | "dst" => self.address(key, value)?,
            "sport" => tuple.sport = Some(value.number("port", "above 65535")?),
            "dport" => tuple.dport = Some(value.number("port", "above 65535")?),
            "type" => tuple.icmp_type = Some(value.number("ICMP type", "above 255")?),
            "code" => tuple.icmp_code = Some(value.number("ICMP code", "above 255")?),
            "id" if tuple.icmp_type.is_some() && tuple.icmp_id.is_none() => {
                tuple.icmp_id = Some(value.number("ICMP id", "above 65535")?)
            }
            "mark" => self.mark = value.number("mark", "above 32 bits")?,
            "zone" => self.zone = value.number("zone", "above 65535")?,
            _ => {}
        }
        Ok(())
    }

    /// `src=` or `dst=`; a second `src=` starts the reply tuple.
    fn address(&mut self, key: &str, value: &FieldValue<'_>) -> Result<(), ParseError> {
        if key == "src" && self.tuples[self.dir].src.is_some() {
            if self.dir == 1 {
                return Err(value.bad(
                    "address",
                    "a third tuple: expected at most original and reply",
                ));
            }
            self.dir = 1;
        }
        let addr: IpAddr = value
            .text
            .parse()
            .map_err(|_| value.bad("address", "not an IP address"))?;
        let tuple = &mut self.tuples[self.dir];
        if key == "src" {
            tuple.src = Some(addr);
        } else {
            tuple.dst = Some(addr);
        }
        Ok(())
    }
}

/// The value of a `key=value` word, with its span (for errors).
struct FieldValue<'a> {
    source: &'a SourceFile,
    span: Span,
    text: &'a str,
}

impl FieldValue<'_> {
    fn bad(&self, what: &str, reason: &str) -> ParseError {
        ParseError::invalid_value(self.source, self.span, what, self.text, reason)
    }

    /// A decimal number that fits `T`; `too_big` says why when it does not.
    fn number<T: TryFrom<u64>>(&self, what: &str, too_big: &str) -> Result<T, ParseError> {
        let n = self
            .text
            .parse::<u64>()
            .map_err(|_| self.bad(what, "expected a number"))?;
        T::try_from(n).map_err(|_| self.bad(what, too_big))
    }
}

/// NAT status bits from tuples that do not mirror each other (ports are not compared for
/// ICMP, whose tuple holds the id and type).
fn nat_status(orig: &CtTuple, reply: &CtTuple, icmp: bool) -> u64 {
    let mut bits = 0;
    if reply.src != orig.dst || (reply.sport != orig.dport && !icmp) {
        bits |= status::DST_NAT | status::DST_NAT_DONE;
    }
    if reply.dst != orig.src || (reply.dport != orig.sport && !icmp) {
        bits |= status::SRC_NAT | status::SRC_NAT_DONE;
    }
    bits
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

    /// Malformed lines, their error as `line:col: message` and the text it spans.
    #[test]
    fn malformed_lines_and_their_errors() {
        const REPLY: &str = "src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1";
        let cases = [
            ("[NEW]", "ct:1:1: expected a protocol name (tcp, udp, icmp, ...), found `[NEW]` [[NEW]]"),
            ("  tcp", "ct:1:6: expected the protocol number, found end of line []"),
            ("tcp x 10", "ct:1:5: expected the protocol number, found `x` [x]"),
            ("tcp 17 10 src=10.0.0.1", "ct:1:1: invalid protocol `tcp 17`: name and number disagree [tcp]"),
            ("udp 17 10 src=10.0.0.1 dst=10.0.0.2 stray", "ct:1:37: expected `key=value` or a [FLAG], found `stray` [stray]"),
            ("udp 17 10 src=10.0.0.1 dst=10.0.0.x", "ct:1:28: invalid address `10.0.0.x`: not an IP address [10.0.0.x]"),
            ("udp 17 10 src=1.1.1.1 dst=1.1.1.2 src=1.1.1.2 dst=1.1.1.1 src=1.1.1.3", "ct:1:63: invalid address `1.1.1.3`: a third tuple: expected at most original and reply [1.1.1.3]"),
            ("udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=x", "ct:1:43: invalid port `x`: expected a number [x]"),
            ("udp 17 10 src=10.0.0.1 dst=10.0.0.2 dport=65536", "ct:1:43: invalid port `65536`: above 65535 [65536]"),
            ("icmp 1 10 src=10.0.0.1 dst=10.0.0.2 type=256", "ct:1:42: invalid ICMP type `256`: above 255 [256]"),
            ("icmp 1 10 src=10.0.0.1 dst=10.0.0.2 type=8 code=x", "ct:1:49: invalid ICMP code `x`: expected a number [x]"),
            ("icmp 1 10 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=65536", "ct:1:54: invalid ICMP id `65536`: above 65535 [65536]"),
            ("udp 17 10 mark=4294967296", "ct:1:16: invalid mark `4294967296`: above 32 bits [4294967296]"),
            ("udp 17 10 zone=65536", "ct:1:16: invalid zone `65536`: above 65535 [65536]"),
            ("udp 17 10 [ASSURED] use=1", "ct:1:1: expected an original tuple with `src=` and `dst=`, found `udp 17 10 [ASSURED] use=1` [udp 17 10 [ASSURED] use=1]"),
            ("udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2", "ct:1:1: expected a reply tuple with `src=` and `dst=`, found `udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2` [udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2]"),
        ];
        for (case, expected) in cases {
            let e = parse(&SourceFile::new("ct", case)).unwrap_err();
            let spanned = &case[e.span.start as usize..e.span.end as usize];
            assert_eq!(format!("{e} [{spanned}]"), expected, "{case}");
        }
        let ok = format!("udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 {REPLY} mark=7");
        assert_eq!(parse(&SourceFile::new("ct", ok)).unwrap()[0].mark, 7);
    }
}
