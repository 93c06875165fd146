//! The text format (`ipft_tx.c`), one packet per line:
//!
//! ```text
//! in|out [on IF] [tcp|udp|icmp|NUMBER] SRC[,PORT] DST[,PORT] [FLAGS] [seq=N] [ack=N]
//!     [ICMPTYPE[,CODE]] [opt OPTIONS]
//! in6|out6 [on IF] [tcp|udp|icmpv6|NUMBER] SRC6[,PORT] DST6[,PORT] ...
//! ```
//!
//! The packet is built as ipftest builds it: IPv4 with TTL 63 and no DF, a TCP header of
//! 20 bytes with window 4096, a UDP header whose length field is left 0, an ICMP message
//! of 8 bytes plus 20 zero bytes (`ICMPERR_IPICMPHLEN`); IPv6 with hop limit 0 and an
//! ICMPv6 message of 8 bytes plus 80 zero bytes (`ICMP6ERR_IPICMPHLEN`). Echo
//! requests and replies carry an identifier ipftest takes from its process id; here it is
//! the fixed [`ECHO_ID`], so runs repeat. Checksums are filled in (`fixv4sums`).

use super::options::build_options;
use super::{checksum, split_interface, Input, InputPacket, LinkCast};
use model::diag::ParseError;
use model::ipf::IpFamily;
use model::{SourceFile, Span};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The echo identifier of `echo`/`echorep` packets (ipftest uses its process id).
pub const ECHO_ID: u16 = 0x4242;

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// A word of a line and where it starts in the file.
struct Word<'a> {
    text: &'a str,
    at: usize,
}

pub(super) fn parse(name: &str, text: &str) -> Input {
    let source = SourceFile::new(name, text);
    let mut input = Input::default();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<Word> = split_words(line, line_start);
        if words.is_empty() {
            continue;
        }
        let mut line_parser = LineParser {
            source: &source,
            words,
            next: 0,
            line_end: line_start + line.len(),
            errors: &mut input.skipped,
        };
        match line_parser.packet(index as u32 + 1) {
            Ok(Some(packet)) => input.packets.push(packet),
            Ok(None) => {}
            Err(error) => input.skipped.push(*error),
        }
    }
    input
}

fn split_words(line: &str, base: usize) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        let separator = matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{8}');
        match (separator, start) {
            (true, Some(s)) => {
                words.push(Word {
                    text: &line[s..i],
                    at: base + s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: &line[s..],
            at: base + s,
        });
    }
    words
}

struct LineParser<'a, 'e> {
    source: &'a SourceFile,
    words: Vec<Word<'a>>,
    next: usize,
    line_end: usize,
    /// Complaints that do not drop the line (an unknown service reads as port 0).
    errors: &'e mut Vec<ParseError>,
}

type Parsed<T> = Result<T, Box<ParseError>>;

impl<'a> LineParser<'a, '_> {
    fn peek(&self) -> Option<&Word<'a>> {
        self.words.get(self.next)
    }
    fn take(&mut self, expected: &str) -> Parsed<&'a str> {
        match self.words.get(self.next) {
            Some(w) => {
                self.next += 1;
                Ok(w.text)
            }
            None => Err(Box::new(ParseError::expected(
                self.source,
                Span::new(self.line_end, self.line_end),
                expected,
                "",
            ))),
        }
    }
    fn span_of_last(&self) -> Span {
        let w = &self.words[self.next.saturating_sub(1)];
        Span::new(w.at, w.at + w.text.len())
    }
    fn invalid(&self, what: &str, value: &str, reason: &str) -> Box<ParseError> {
        Box::new(ParseError::invalid_value(
            self.source,
            self.span_of_last(),
            what,
            value,
            reason,
        ))
    }

    fn packet(&mut self, line: u32) -> Parsed<Option<InputPacket>> {
        let first = self.take("a direction")?;
        if first == "nic" {
            return Ok(None);
        }
        let lower = first.to_ascii_lowercase();
        let out = match lower.as_bytes().first() {
            Some(b'o') => true,
            Some(b'i') => false,
            _ => {
                return Err(Box::new(ParseError::expected(
                    self.source,
                    self.span_of_last(),
                    "`in` or `out`",
                    first,
                )))
            }
        };
        let v6 = lower == "in6" || lower == "out6";
        let mut interface = None;
        if self
            .peek()
            .is_some_and(|w| w.text.eq_ignore_ascii_case("on"))
        {
            self.next += 1;
            interface = Some(self.take("an interface name")?.to_string());
        }
        let bytes = if v6 { self.ipv6()? } else { self.ipv4()? };
        let (interface, interface_addr) = match interface {
            Some(spec) => {
                let (name, addr) = split_interface(&spec);
                (Some(name), addr)
            }
            None => (None, None),
        };
        Ok(Some(InputPacket {
            out,
            interface,
            interface_addr,
            cast: LinkCast::default(),
            bytes,
            line,
        }))
    }

    /// The protocol word, if there is one: `tcp`, `udp`, the ICMP name, or a number.
    fn protocol(&mut self, icmp_name: &str, icmp: u8, none: u8) -> Parsed<u8> {
        let word = self.peek().map(|w| w.text).unwrap_or("");
        let proto = if word.eq_ignore_ascii_case("tcp") {
            TCP
        } else if word.eq_ignore_ascii_case("udp") {
            UDP
        } else if word.eq_ignore_ascii_case(icmp_name) {
            icmp
        } else if word.starts_with(|c: char| c.is_ascii_digit()) && !word.contains(['.', ':']) {
            leading_number(word) as u8
        } else {
            return Ok(none);
        };
        self.next += 1;
        Ok(proto)
    }

    /// `ADDR,PORT` for TCP and UDP, `ADDR` otherwise.
    fn endpoint(&mut self, proto: u8, what: &str) -> Parsed<(&'a str, u16)> {
        let word = self.take(what)?;
        if proto != TCP && proto != UDP {
            return Ok((word, 0));
        }
        let Some((addr, port)) = word.split_once(',') else {
            return Err(self.invalid(what, word, "tcp/udp needs `ADDRESS,PORT`"));
        };
        let port = if port.starts_with(|c: char| c.is_ascii_digit()) {
            leading_number(port) as u16
        } else if let Some(number) = service_port(port, proto) {
            number
        } else {
            self.errors
                .push(*self.invalid("service", port, "unknown service: read as port 0"));
            0
        };
        Ok((addr, port))
    }

    fn ipv4_address(&mut self, word: &str) -> Parsed<Ipv4Addr> {
        if word.eq_ignore_ascii_case("any") {
            return Ok(Ipv4Addr::UNSPECIFIED);
        }
        word.parse()
            .map_err(|_| self.invalid("address", word, "not an IPv4 address"))
    }

    /// TCP flags, `seq=`, `ack=` into `l4`; or the ICMP type and code.
    fn transport(&mut self, proto: u8, icmp_proto: u8, v6: bool, l4: &mut [u8]) -> Parsed<()> {
        if proto == TCP {
            if let Some(word) = self.peek().map(|w| w.text) {
                let flags = tcp_flag_letters(word);
                if flags != 0 {
                    self.next += 1;
                }
                l4[13] = flags;
                if flags & 0x20 != 0 {
                    l4[18..20].copy_from_slice(&1u16.to_be_bytes());
                }
            }
            for (key, at) in [("seq=", 4), ("ack=", 8)] {
                if let Some(word) = self.peek().map(|w| w.text) {
                    if word.len() >= 4 && word[..4].eq_ignore_ascii_case(key) {
                        self.next += 1;
                        let n = leading_number(&word[4..]) as u32;
                        l4[at..at + 4].copy_from_slice(&n.to_be_bytes());
                    }
                }
            }
        } else if proto == icmp_proto {
            if let Some(word) = self.peek().map(|w| w.text) {
                self.next += 1;
                let (name, code) = match word.split_once(',') {
                    Some((n, c)) => (n, Some(leading_number(c) as u8)),
                    None => (word, None),
                };
                let family = if v6 { IpFamily::Inet6 } else { IpFamily::Inet };
                // `lib/icmptypes.c`: the names ipf.conf takes are the ones ipftest's input takes.
                let icmp_type = crate::ipf::names::icmp_type(family, name).unwrap_or(255);
                l4[0] = icmp_type;
                l4[1] = code.unwrap_or(0);
                let echo = if v6 {
                    matches!(icmp_type, 128 | 129)
                } else {
                    matches!(icmp_type, 0 | 8)
                };
                if echo {
                    l4[4..6].copy_from_slice(&ECHO_ID.to_be_bytes());
                }
            }
        }
        Ok(())
    }

    fn ipv4(&mut self) -> Parsed<Vec<u8>> {
        let proto = self.protocol("icmp", ICMP, 0)?;
        let (src_word, sport) = self.endpoint(proto, "a source address")?;
        let src = self.ipv4_address(src_word)?;
        let (dst_word, dport) = self.endpoint(proto, "a destination address")?;
        let dst = self.ipv4_address(dst_word)?;
        let l4_len = match proto {
            TCP => 20,
            UDP => 8,
            ICMP => 28,
            _ => 0,
        };
        let mut l4 = vec![0u8; 28];
        l4[0..2].copy_from_slice(&sport.to_be_bytes());
        l4[2..4].copy_from_slice(&dport.to_be_bytes());
        if proto == TCP {
            l4[12] = 5 << 4;
            l4[14..16].copy_from_slice(&4096u16.to_be_bytes());
        }
        self.transport(proto, ICMP, false, &mut l4)?;
        let mut options = Vec::new();
        if self
            .peek()
            .is_some_and(|w| w.text.eq_ignore_ascii_case("opt"))
        {
            self.next += 1;
            let spec = self.take("IP options")?;
            options = build_options(spec)
                .map_err(|bad| self.invalid("IP option", &bad, "not an option ipftest knows"))?;
        }
        let header_len = 20 + options.len();
        let total = header_len + l4_len;
        let mut bytes = vec![0u8; header_len];
        bytes[0] = 0x40 | (header_len / 4) as u8;
        bytes[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        bytes[8] = 63;
        bytes[9] = proto;
        bytes[12..16].copy_from_slice(&src.octets());
        bytes[16..20].copy_from_slice(&dst.octets());
        bytes[20..].copy_from_slice(&options);
        bytes.extend_from_slice(&l4[..l4_len]);
        checksum::fill_checksums(&mut bytes);
        Ok(bytes)
    }

    fn ipv6(&mut self) -> Parsed<Vec<u8>> {
        let proto = self.protocol("icmpv6", ICMPV6, 41)?;
        let (src_word, sport) = self.endpoint(proto, "a source address")?;
        let src: Ipv6Addr = src_word
            .parse()
            .map_err(|_| self.invalid("address", src_word, "not an IPv6 address"))?;
        let (dst_word, dport) = self.endpoint(proto, "a destination address")?;
        let dst: Ipv6Addr = dst_word
            .parse()
            .map_err(|_| self.invalid("address", dst_word, "not an IPv6 address"))?;
        let l4_len: usize = match proto {
            TCP => 20,
            UDP => 8,
            ICMPV6 => 88,
            _ => 0,
        };
        let mut l4 = vec![0u8; 88];
        if proto == TCP || proto == UDP {
            l4[0..2].copy_from_slice(&sport.to_be_bytes());
            l4[2..4].copy_from_slice(&dport.to_be_bytes());
        }
        if proto == TCP {
            l4[12] = 5 << 4;
            l4[14..16].copy_from_slice(&4096u16.to_be_bytes());
        }
        self.transport(proto, ICMPV6, true, &mut l4)?;
        // A payload length of 0 would mean a jumbogram: ipftest makes it 1.
        let payload = l4_len.max(1);
        let mut bytes = vec![0u8; 40];
        bytes[0] = 0x60;
        bytes[4..6].copy_from_slice(&(payload as u16).to_be_bytes());
        bytes[6] = proto;
        bytes[8..24].copy_from_slice(&src.octets());
        bytes[24..40].copy_from_slice(&dst.octets());
        bytes.extend_from_slice(&l4[..payload]);
        checksum::fill_checksums(&mut bytes);
        Ok(bytes)
    }
}

/// `atoi`: the leading decimal digits, 0 when there are none.
fn leading_number(s: &str) -> u64 {
    s.bytes().take_while(u8::is_ascii_digit).fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

/// The letters `FSRPAUEC` anywhere in the word (upper case only, as `strchr` finds them).
fn tcp_flag_letters(word: &str) -> u8 {
    const LETTERS: [(char, u8); 8] = [
        ('F', 0x01),
        ('S', 0x02),
        ('R', 0x04),
        ('P', 0x08),
        ('A', 0x10),
        ('U', 0x20),
        ('E', 0x40),
        ('C', 0x80),
    ];
    word.chars()
        .filter_map(|c| LETTERS.iter().find(|(l, _)| *l == c).map(|(_, b)| *b))
        .fold(0, |a, b| a | b)
}

/// The services the regression suite's inputs name (`/etc/services`).
fn service_port(name: &str, proto: u8) -> Option<u16> {
    let port = match name {
        "echo" => 7,
        "discard" => 9,
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" => 53,
        "tftp" if proto == UDP => 69,
        "www" | "http" => 80,
        "pop3" => 110,
        "sunrpc" => 111,
        "ntp" => 123,
        "imap" => 143,
        "snmp" => 161,
        "https" => 443,
        "shell" | "cmd" if proto == TCP => 514,
        "syslog" if proto == UDP => 514,
        "login" if proto == TCP => 513,
        _ => return None,
    };
    Some(port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::diag::ErrorKind;

    #[test]
    fn a_tcp_line_becomes_ipftests_bytes() {
        let input = parse("t", "in on ed0 tcp 1.1.1.1,1 2.1.2.2,23 S seq=1 ack=0\n");
        assert!(input.skipped.is_empty(), "{:?}", input.skipped);
        let p = &input.packets[0];
        assert!(!p.out);
        assert_eq!(p.interface.as_deref(), Some("ed0"));
        assert_eq!(p.bytes.len(), 40);
        assert_eq!(&p.bytes[..4], &[0x45, 0, 0, 40]);
        assert_eq!(p.bytes[8], 63);
        assert_eq!(p.bytes[33], 0x02);
        assert_eq!(&p.bytes[24..28], &[0, 0, 0, 1]);
    }

    #[test]
    fn a_bad_direction_is_skipped_with_an_error() {
        let input = parse("t", "sideways 1.1.1.1 2.2.2.2\nout 1.1.1.1 2.2.2.2\n");
        assert_eq!(input.packets.len(), 1);
        assert_eq!(input.skipped.len(), 1);
        assert!(matches!(input.skipped[0].kind, ErrorKind::Expected { .. }));
    }
}
