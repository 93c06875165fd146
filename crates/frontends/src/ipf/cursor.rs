//! Reading tokens one at a time, with the errors every IPFilter reader gives, and the
//! values the three languages share (numbers, addresses, masks, ports, protocols).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use model::diag::{ErrorKind, ParseError};
use model::ipf::{IpFamily, Masked, PoolKind, PoolName, PortMatch, PortOp, Proto, RangeOp};
use model::{Origin, SourceFile, Span};

use super::lexer::{Kind, Token};
use super::{names, ParseOptions};

pub(crate) struct Cursor<'a> {
    pub src: &'a SourceFile,
    pub toks: Vec<Token>,
    pub pos: usize,
    pub opts: &'a ParseOptions,
}

pub(crate) type Res<T> = Result<T, ParseError>;

impl<'a> Cursor<'a> {
    pub fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }
    pub fn peek_at(&self, n: usize) -> Option<&Token> {
        self.toks.get(self.pos + n)
    }
    pub fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
    /// The next token is the word `w`.
    pub fn at(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.is(w))
    }
    pub fn at_punct(&self, p: &str) -> bool {
        self.peek().is_some_and(|t| t.is_punct(p))
    }
    pub fn eat(&mut self, w: &str) -> bool {
        let yes = self.at(w);
        if yes {
            self.pos += 1;
        }
        yes
    }
    pub fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.at_punct(p);
        if yes {
            self.pos += 1;
        }
        yes
    }
    pub fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// The span of the next token, or an empty span at the end of the input.
    pub fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span,
            None => {
                let end = self.src.text.trim_end().len();
                Span::new(end, end)
            }
        }
    }

    /// "expected `what`" at the next token.
    pub fn expected(&self, what: &str) -> ParseError {
        let found = self.peek().map(|t| t.text.clone()).unwrap_or_default();
        ParseError::expected(self.src, self.here(), what, &found)
    }

    pub fn invalid(&self, span: Span, what: &str, value: &str, reason: &str) -> ParseError {
        ParseError::invalid_value(self.src, span, what, value, reason)
    }

    pub fn unsupported(&self, span: Span, construct: &str) -> ParseError {
        ParseError::new(
            self.src,
            span,
            ErrorKind::Unsupported {
                construct: construct.to_string(),
            },
        )
    }

    pub fn expect(&mut self, w: &str) -> Res<()> {
        if self.eat(w) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{w}`")))
        }
    }
    pub fn expect_punct(&mut self, p: &str) -> Res<()> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{p}`")))
        }
    }

    /// A word (or quoted string), described as `what` when missing.
    pub fn word(&mut self, what: &str) -> Res<Token> {
        match self.peek() {
            Some(t) if t.kind != Kind::Punct => Ok(self.bump().expect("peeked")),
            _ => Err(self.expected(what)),
        }
    }

    /// A quoted string.
    pub fn string(&mut self, what: &str) -> Res<Token> {
        match self.peek() {
            Some(t) if t.kind == Kind::Str => Ok(self.bump().expect("peeked")),
            _ => Err(self.expected(what)),
        }
    }

    /// A decimal or `0x` number that fits `u32`.
    pub fn number(&mut self, what: &str) -> Res<u32> {
        let t = self.word(what)?;
        parse_number(&t.text).ok_or_else(|| self.invalid(t.span, what, &t.text, "not a number"))
    }

    /// A number that fits `T`.
    pub fn small<T: TryFrom<u32>>(&mut self, what: &str) -> Res<T> {
        let t = self.word(what)?;
        parse_number(&t.text)
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| self.invalid(t.span, what, &t.text, "not a number in range"))
    }

    /// The next token is a number.
    pub fn at_number(&self) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Kind::Word && parse_number(&t.text).is_some())
    }

    /// The provenance of the tokens `first..self.pos`.
    pub fn origin(&self, first: usize) -> Origin {
        let start = self.toks.get(first).map_or(0, |t| t.span.start as usize);
        let end = self
            .toks
            .get(self.pos.saturating_sub(1).max(first))
            .map_or(start, |t| t.span.end as usize)
            .max(start);
        let raw = self.src.text.get(start..end).unwrap_or("");
        let text: String = raw
            .replace("\\\r\n", " ")
            .replace("\\\n", " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let (line, _) = self.src.line_col(start as u32);
        Origin {
            file: self.src.name.clone(),
            span: Span::new(start, end),
            line,
            text: Arc::from(text),
            ..Origin::default()
        }
    }

    /// A port: a number or a service name.
    pub fn port(&mut self) -> Res<u16> {
        let t = self.word("a port number or service name")?;
        port_value(&t.text).ok_or_else(|| {
            self.invalid(
                t.span,
                "port",
                &t.text,
                "not a port number or known service name",
            )
        })
    }

    /// A pool reference `KIND/N` or `KIND/NAME`, when one of `kinds` is next.
    pub fn pool_ref(&mut self, kinds: &[(&str, PoolKind)]) -> Res<Option<(PoolKind, PoolName)>> {
        let Some(&(_, kind)) = kinds
            .iter()
            .find(|(word, _)| self.at(word) && self.peek_at(1).is_some_and(|t| t.is_punct("/")))
        else {
            return Ok(None);
        };
        self.pos += 2;
        let t = self.word("a pool number or name")?;
        let name = match parse_number(&t.text) {
            Some(n) => PoolName::Number(n),
            None => PoolName::Name(t.text),
        };
        Ok(Some((kind, name)))
    }

    /// A comparison operator (`= != < > <= >=` or `eq ne lt gt le ge`), when one is next.
    pub fn port_op(&mut self) -> Option<PortOp> {
        let t = self.peek()?;
        let op = match (t.kind == Kind::Punct, t.keyword().as_str()) {
            (true, "=") | (false, "eq") => PortOp::Eq,
            (true, "!=") | (false, "ne") => PortOp::Ne,
            (true, "<") | (false, "lt") => PortOp::Lt,
            (true, ">") | (false, "gt") => PortOp::Gt,
            (true, "<=") | (false, "le") => PortOp::Le,
            (true, ">=") | (false, "ge") => PortOp::Ge,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    /// A port compared with `op`, or `N:M` (an inclusive range).
    pub fn port_or_range(&mut self, op: PortOp) -> Res<PortMatch> {
        let t = self.word("a port number or service name")?;
        if let Some((low, high)) = t.text.split_once(':') {
            return match port_value(low).zip(port_value(high)) {
                Some((low, high)) => Ok(PortMatch::Range {
                    op: RangeOp::Inclusive,
                    low,
                    high,
                }),
                None => Err(self.invalid(t.span, "port range", &t.text, "not two ports")),
            };
        }
        let port = port_value(&t.text).ok_or_else(|| {
            self.invalid(
                t.span,
                "port",
                &t.text,
                "not a port number or known service name",
            )
        })?;
        Ok(PortMatch::Cmp { op, port })
    }

    /// What follows `port`: `OP N`, `N:M`, `N <> M` or `N >< M`.
    pub fn port_match(&mut self) -> Res<PortMatch> {
        if let Some(op) = self.port_op() {
            return self.port_or_range(op);
        }
        let first = self.port_or_range(PortOp::Eq)?;
        let PortMatch::Cmp { port: low, .. } = first else {
            return Ok(first);
        };
        let op = if self.eat_punct("<>") {
            RangeOp::Outside
        } else if self.eat_punct("><") {
            RangeOp::Inside
        } else {
            return Err(self.expected("`<>`, `><` or `:` after the port"));
        };
        let high = self.port()?;
        Ok(PortMatch::Range { op, low, high })
    }

    /// `{ ITEM; ITEM; … }` (empty items allowed, the last `;` optional).
    pub fn braced<T>(&mut self, mut item: impl FnMut(&mut Self) -> Res<T>) -> Res<Vec<T>> {
        self.expect_punct("{")?;
        let mut out = Vec::new();
        loop {
            if self.eat_punct("}") {
                return Ok(out);
            }
            if self.eat_punct(";") {
                continue;
            }
            out.push(item(self)?);
            if !self.at_punct("}") {
                self.expect_punct(";")?;
            }
        }
    }

    /// A protocol: `tcp/udp`, `tcp-udp`, a name or a number.
    pub fn proto(&mut self) -> Res<Proto> {
        let t = self.word("a protocol")?;
        if (t.is("tcp") && self.at_punct("/") && self.peek_at(1).is_some_and(|u| u.is("udp")))
            || t.is("tcp-udp")
            || t.is("tcpudp")
        {
            if t.is("tcp") {
                self.pos += 2;
            }
            return Ok(Proto::TcpUdp);
        }
        proto_value(&t.text).map(Proto::Number).ok_or_else(|| {
            self.invalid(t.span, "protocol", &t.text, "not a protocol name or number")
        })
    }

    /// A host: an address, or a name from [`ParseOptions::hosts`]; `Err(name)` for a name
    /// that is not known offline.
    pub fn host_value(&self, text: &str) -> Result<IpAddr, String> {
        if let Some(addr) = ip_value(text) {
            return Ok(addr);
        }
        self.opts
            .hosts
            .iter()
            .find(|(n, _)| n == text)
            .map(|&(_, a)| a)
            .ok_or_else(|| text.to_string())
    }

    /// A host as [`Cursor::host_value`], preferring an address of `family` when the
    /// name has one of each (`gethost` asks for the rule's family).
    pub fn host_value_in(&self, text: &str, family: Option<IpFamily>) -> Result<IpAddr, String> {
        let wanted = family.and_then(|f| {
            self.opts
                .hosts
                .iter()
                .find(|(n, a)| n == text && model::ipf::family_of(*a) == f)
        });
        match wanted {
            Some(&(_, a)) => Ok(a),
            None => self.host_value(text),
        }
    }

    /// A mask after `/` or `mask` for an address of `family`: a prefix length, a hex
    /// number, a dotted mask or an IPv6 mask.
    pub fn mask(&mut self, family: IpFamily) -> Res<IpAddr> {
        let t = self.word("a mask")?;
        mask_value(&t.text, family)
            .ok_or_else(|| self.invalid(t.span, "mask", &t.text, "not a mask for this address"))
    }
}

/// A decimal or `0x` number.
pub(crate) fn parse_number(text: &str) -> Option<u32> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

pub(crate) fn port_value(text: &str) -> Option<u16> {
    match parse_number(text) {
        Some(n) => u16::try_from(n).ok(),
        None => names::service(text),
    }
}

pub(crate) fn proto_value(text: &str) -> Option<u8> {
    match parse_number(text) {
        Some(n) => u8::try_from(n).ok(),
        None => names::protocol(text),
    }
}

/// An address as IPFilter reads one: IPv6 when it has a `:`; otherwise 1 to 4 dotted
/// parts filled from the left (`128.16` is `128.16.0.0`), or one number (or hex) for the
/// whole 32 bits (`1` is `0.0.0.1`).
pub(crate) fn ip_value(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        return text.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if !text.contains('.') {
        return parse_number(text).map(|n| IpAddr::V4(Ipv4Addr::from(n)));
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

fn mask_value(text: &str, family: IpFamily) -> Option<IpAddr> {
    let probe = match family {
        IpFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    if !text.starts_with("0x") && text.bytes().all(|b| b.is_ascii_digit()) {
        let len = u8::try_from(text.parse::<u32>().ok()?).ok()?;
        return model::ipf::prefix_mask(probe, len);
    }
    match (family, parse_number(text)) {
        (IpFamily::Inet, Some(n)) => return Some(IpAddr::V4(Ipv4Addr::from(n))),
        (IpFamily::Inet6, Some(_)) => return None,
        _ => {}
    }
    let mask = if text.contains(':') {
        IpAddr::V6(text.parse().ok()?)
    } else {
        IpAddr::V4(text.parse().ok()?)
    };
    (model::ipf::family_of(mask) == family).then_some(mask)
}

/// `addr` under `mask`, both of one family.
pub(crate) fn masked(addr: IpAddr, mask: IpAddr) -> Option<Masked> {
    Masked::new(addr, mask)
}

/// The one-address mask of `addr`'s family.
pub(crate) fn host_mask(addr: IpAddr) -> IpAddr {
    let len = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    model::ipf::prefix_mask(addr, len).expect("full length is valid")
}
