//! `ipset save` output: named sets that iptables rules look up with `-m set --match-set`.
//!
//! ```text
//! create allow hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 300
//! add allow 192.168.70.10,tcp:22 timeout 120
//! add allow 10.0.0.0/8,udp:53 nomatch
//! ```
//!
//! Each set becomes a [`NamedSet`] whose `ipset_dims` follow its type (`hash:ip,port` is
//! `[Ip, Port]`); an element has one pattern per key component, a `Port` dimension taking
//! two: the protocol number, then the port. A set created with `timeout` is `dynamic`: the
//! packet path may add to it, so its contents are those at snapshot time.

use crate::iptables_save::lexer::{tokenize, Token};
use crate::lines::lines;
use crate::{ErrorKind, ParseError};
use ipnet::IpNet;
use model::expr::{Pattern, Value};
use model::packet::Mac;
use model::ruleset::{IpsetDim, NamedSet, SetElement};
use model::{Origin, SourceFile, Span};
use std::collections::HashMap;
use std::net::IpAddr;

/// Parses `ipset save` output into named sets (ruleset.ipsets), with ipset_dims filled from
/// the type (hash:ip,port -> [Ip, Port]; Port components are two key patterns: protocol
/// number then port; `nomatch` elements flagged; `timeout` => dynamic).
pub fn parse(source: &SourceFile) -> Result<Vec<NamedSet>, ParseError> {
    let mut sets = Sets::default();
    let text: &str = &source.text;
    for raw in lines(text) {
        if raw.is_blank_or_comment() {
            continue;
        }
        let (start, line) = raw.trimmed();
        let toks = tokenize(line, start).map_err(|q| {
            ParseError::new(
                source,
                q.0,
                ErrorKind::Structure {
                    message: "unterminated quote".into(),
                },
            )
        })?;
        let (Some(cmd), name) = (toks.first(), toks.get(1)) else {
            continue;
        };
        let Some(name) = name else {
            return Err(expected_after(source, cmd, "a set name"));
        };
        match &*cmd.text {
            "create" | "-N" => {
                let origin = Origin {
                    file: source.name.clone(),
                    span: Span::new(start, start + line.len()),
                    line: raw.index as u32 + 1,
                    text: line.into(),
                    ..Origin::default()
                };
                sets.create(source, &toks, name, origin)?;
            }
            "add" | "-A" => sets.add(source, &toks, name)?,
            _ => {
                return Err(ParseError::expected(
                    source,
                    cmd.span,
                    "`create` or `add`",
                    &cmd.text,
                ));
            }
        }
    }
    Ok(sets.sets)
}

/// The sets read so far, and by name: where each is and whether it is IPv6.
#[derive(Default)]
struct Sets {
    sets: Vec<NamedSet>,
    by_name: HashMap<String, (usize, bool)>,
}

impl Sets {
    /// `create NAME TYPE [OPTION...]`.
    fn create(
        &mut self,
        source: &SourceFile,
        toks: &[Token<'_>],
        name: &Token<'_>,
        origin: Origin,
    ) -> Result<(), ParseError> {
        let ty = toks
            .get(2)
            .ok_or_else(|| expected_after(source, name, "a set type"))?;
        let dims = dims_of(&ty.text).ok_or_else(|| {
            ParseError::new(
                source,
                ty.span,
                ErrorKind::Unsupported {
                    construct: format!("ipset type `{}`", ty.text),
                },
            )
        })?;
        let CreateOptions { v6, dynamic } = create_options(source, toks)?;
        if self.by_name.contains_key(&*name.text) {
            return Err(ParseError::new(
                source,
                name.span,
                ErrorKind::Structure {
                    message: format!("set `{}` is created twice", name.text),
                },
            ));
        }
        let key_width = dims
            .iter()
            .map(|d| if *d == IpsetDim::Port { 2 } else { 1 })
            .sum::<usize>()
            .max(1);
        self.by_name
            .insert(name.text.to_string(), (self.sets.len(), v6));
        self.sets.push(NamedSet {
            name: name.text.to_string(),
            key_width,
            elements: Vec::new(),
            declared_type: ty.text.to_string(),
            dynamic,
            ipset_dims: dims,
            origin,
        });
        Ok(())
    }

    /// `add NAME ELEMENT [OPTION...]`, to a set created before.
    fn add(
        &mut self,
        source: &SourceFile,
        toks: &[Token<'_>],
        name: &Token<'_>,
    ) -> Result<(), ParseError> {
        let &(at, v6) = self.by_name.get(&*name.text).ok_or_else(|| {
            ParseError::new(
                source,
                name.span,
                ErrorKind::Undefined {
                    what: "ipset".into(),
                    name: name.text.to_string(),
                },
            )
        })?;
        let elem = toks
            .get(2)
            .ok_or_else(|| expected_after(source, name, "an element"))?;
        let set = &mut self.sets[at];
        let key = if set.declared_type == "list:set" {
            vec![Pattern::Value(Value::Str(elem.text.to_string()))]
        } else {
            element(&elem.text, &set.ipset_dims, &set.declared_type, v6).map_err(|reason| {
                ParseError::new(
                    source,
                    elem.span,
                    ErrorKind::InvalidValue {
                        what: "ipset element".into(),
                        value: elem.text.to_string(),
                        reason,
                    },
                )
            })?
        };
        let nomatch = element_options(source, toks)?;
        set.elements.push(SetElement {
            key,
            data: None,
            nomatch,
            comment: None,
        });
        Ok(())
    }
}

/// What the options of `create` (after the type) say about the set.
struct CreateOptions {
    v6: bool,
    /// `timeout`: the packet path may add to the set.
    dynamic: bool,
}

fn create_options(source: &SourceFile, toks: &[Token<'_>]) -> Result<CreateOptions, ParseError> {
    let mut options = CreateOptions {
        v6: false,
        dynamic: false,
    };
    let mut i = 3;
    while let Some(opt) = toks.get(i) {
        match &*opt.text {
            "family" => {
                let f = value_after(source, toks, i)?;
                options.v6 = match &*f.text {
                    "inet" => false,
                    "inet6" => true,
                    _ => {
                        return Err(ParseError::expected(
                            source,
                            f.span,
                            "inet or inet6",
                            &f.text,
                        ))
                    }
                };
                i += 1;
            }
            "timeout" => {
                value_after(source, toks, i)?;
                options.dynamic = true;
                i += 1;
            }
            "hashsize" | "maxelem" | "netmask" | "range" | "size" | "markmask" | "bucketsize"
            | "initval" => {
                value_after(source, toks, i)?;
                i += 1;
            }
            "counters" | "comment" | "skbinfo" | "forceadd" => {}
            _ => return Err(unsupported_option(source, opt, "ipset create option")),
        }
        i += 1;
    }
    Ok(options)
}

/// The options of `add` after the element; whether the element is a `nomatch` one.
fn element_options(source: &SourceFile, toks: &[Token<'_>]) -> Result<bool, ParseError> {
    let mut nomatch = false;
    let mut i = 3;
    while let Some(opt) = toks.get(i) {
        match &*opt.text {
            "nomatch" => nomatch = true,
            "timeout" | "packets" | "bytes" | "comment" | "skbmark" | "skbprio" | "skbqueue"
            | "before" | "after" => {
                value_after(source, toks, i)?;
                i += 1;
            }
            _ => return Err(unsupported_option(source, opt, "ipset element option")),
        }
        i += 1;
    }
    Ok(nomatch)
}

fn unsupported_option(source: &SourceFile, opt: &Token<'_>, what: &str) -> ParseError {
    ParseError::new(
        source,
        opt.span,
        ErrorKind::Unsupported {
            construct: format!("{what} `{}`", opt.text),
        },
    )
}

/// `expected` is missing after `tok`, at the end of the line.
fn expected_after(source: &SourceFile, tok: &Token<'_>, expected: &str) -> ParseError {
    let end = tok.span.end as usize;
    ParseError::expected(source, Span::new(end, end), expected, "")
}

fn value_after<'t, 'a>(
    source: &SourceFile,
    toks: &'t [Token<'a>],
    i: usize,
) -> Result<&'t Token<'a>, ParseError> {
    let opt = &toks[i];
    toks.get(i + 1)
        .ok_or_else(|| expected_after(source, opt, &format!("a value for {}", opt.text)))
}

/// The dimensions of `hash:ip,port` and friends; `list:set` has none (its elements are
/// other sets' names).
fn dims_of(ty: &str) -> Option<Vec<IpsetDim>> {
    let (method, parts) = ty.split_once(':')?;
    if !matches!(method, "hash" | "bitmap" | "list") {
        return None;
    }
    if ty == "list:set" {
        return Some(Vec::new());
    }
    parts
        .split(',')
        .map(|p| match p {
            "ip" | "net" => Some(IpsetDim::Ip),
            "port" => Some(IpsetDim::Port),
            "mac" => Some(IpsetDim::Mac),
            "iface" => Some(IpsetDim::Iface),
            "mark" => Some(IpsetDim::Mark),
            _ => None,
        })
        .collect()
}

/// One element: components separated by `,`, one per dimension.
fn element(s: &str, dims: &[IpsetDim], ty: &str, v6: bool) -> Result<Vec<Pattern>, String> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != dims.len() {
        return Err(format!(
            "`{ty}` elements have {} parts separated by `,`",
            dims.len()
        ));
    }
    let mut key = Vec::with_capacity(dims.len() + 1);
    for (part, dim) in parts.iter().zip(dims) {
        match dim {
            IpsetDim::Ip => key.push(ip_part(part, v6)?),
            IpsetDim::Port => {
                let (proto, port) = port_part(part, ty.starts_with("bitmap"))?;
                key.push(proto);
                key.push(port);
            }
            IpsetDim::Mac => {
                let mac =
                    Mac::parse(part).ok_or_else(|| format!("`{part}` is not a MAC address"))?;
                key.push(Pattern::Value(Value::Mac(mac)));
            }
            IpsetDim::Iface => {
                let name = part.strip_prefix("physdev:").unwrap_or(part);
                key.push(Pattern::Iface(name.to_string()));
            }
            IpsetDim::Mark => {
                let n = parse_number(part).ok_or_else(|| format!("`{part}` is not a mark"))?;
                key.push(Pattern::Value(Value::Int(n)));
            }
        }
    }
    Ok(key)
}

fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// An address, `addr/len`, or `a-b`, of the set's family.
fn ip_part(s: &str, v6: bool) -> Result<Pattern, String> {
    let addr = |a: &str| -> Result<IpAddr, String> {
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("`{a}` is not an address (host names are not resolved)"))?;
        if ip.is_ipv6() != v6 {
            return Err(format!(
                "`{a}` is not of the set's family ({})",
                if v6 { "inet6" } else { "inet" }
            ));
        }
        Ok(ip)
    };
    if s.contains('/') {
        let net: IpNet = s.parse().map_err(|_| format!("`{s}` is not a prefix"))?;
        addr(&net.addr().to_string())?;
        return Ok(Pattern::Prefix(net.trunc()));
    }
    if let Some((a, b)) = s.split_once('-') {
        return Ok(Pattern::Range(Value::Addr(addr(a)?), Value::Addr(addr(b)?)));
    }
    Ok(Pattern::Value(Value::Addr(addr(s)?)))
}

/// `[proto:]port[-port]` as the protocol number and the port (range); ICMP "ports" are
/// `type/code` (or a name) stored as `type << 8 | code`, as ipset does.
fn port_part(s: &str, bitmap: bool) -> Result<(Pattern, Pattern), String> {
    let (proto, port) = match s.split_once(':') {
        Some((p, port)) => (Some(p), port),
        None => (None, s),
    };
    let number = |p: &str| -> Result<u16, String> {
        if let Some(n) = parse_number(p).filter(|&n| n <= 65535) {
            return Ok(n as u16);
        }
        Err(format!("`{p}` is not a port number"))
    };
    let proto = proto.map(str::to_ascii_lowercase);
    let proto_pattern = match proto.as_deref() {
        None if bitmap => Pattern::OneOf(
            [6, 17, 132, 136]
                .iter()
                .map(|&n| Pattern::Value(Value::Int(n)))
                .collect(),
        ),
        None | Some("tcp") => Pattern::Value(Value::Int(6)),
        Some("udp") => Pattern::Value(Value::Int(17)),
        Some("sctp") => Pattern::Value(Value::Int(132)),
        Some("udplite") => Pattern::Value(Value::Int(136)),
        Some("icmp" | "icmpv6") => {
            let n = if proto.as_deref() == Some("icmp") {
                1
            } else {
                58
            };
            let (t, c) = port
                .split_once('/')
                .ok_or_else(|| format!("`{port}`: ICMP entries are type/code"))?;
            let (t, c) = (number(t)?, number(c)?);
            if t > 255 || c > 255 {
                return Err(format!("`{port}`: ICMP type and code are 0-255"));
            }
            return Ok((
                Pattern::Value(Value::Int(n)),
                Pattern::Value(Value::Int(u64::from(t) << 8 | u64::from(c))),
            ));
        }
        Some(other) => match parse_number(other).filter(|&n| n <= 255) {
            Some(n) => Pattern::Value(Value::Int(n)),
            None => return Err(format!("`{other}` is not a protocol")),
        },
    };
    let port_pattern = match port.split_once('-') {
        Some((a, b)) => {
            Pattern::Range(Value::Int(number(a)?.into()), Value::Int(number(b)?.into()))
        }
        None => Pattern::Value(Value::Int(number(port)?.into())),
    };
    Ok((proto_pattern, port_pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(text: &str) -> Vec<NamedSet> {
        parse(&SourceFile::new("ipset.txt", text)).unwrap()
    }

    fn int(n: u64) -> Pattern {
        Pattern::Value(Value::Int(n))
    }

    #[test]
    fn hash_ip_port_has_two_components_per_port() {
        let s = sets("create allow hash:ip,port family inet hashsize 1024 maxelem 65536\nadd allow 192.168.70.10,tcp:22\n");
        assert_eq!(s[0].ipset_dims, vec![IpsetDim::Ip, IpsetDim::Port]);
        assert_eq!(s[0].key_width, 3);
        assert_eq!(
            s[0].elements[0].key,
            vec![
                Pattern::Value(Value::Addr("192.168.70.10".parse().unwrap())),
                int(6),
                int(22)
            ]
        );
        assert!(!s[0].dynamic);
    }

    #[test]
    fn timeout_makes_a_set_dynamic() {
        let s = sets("create bl hash:ip family inet timeout 300\nadd bl 10.0.0.1 timeout 120\n");
        assert!(s[0].dynamic);
        assert_eq!(s[0].elements.len(), 1);
    }

    #[test]
    fn nomatch_elements_are_flagged() {
        let s = sets(
            "create n hash:net family inet6\nadd n 2001:db8::/32\nadd n 2001:db8:1::/48 nomatch\n",
        );
        assert!(!s[0].elements[0].nomatch);
        assert!(s[0].elements[1].nomatch);
        assert_eq!(
            s[0].elements[1].key,
            vec![Pattern::Prefix("2001:db8:1::/48".parse().unwrap())]
        );
    }

    #[test]
    fn udp_and_icmp_ports() {
        let s = sets("create p hash:ip,port\nadd p 10.0.0.1,udp:53\nadd p 10.0.0.1,icmp:8/0\nadd p 10.0.0.1,80-90\n");
        assert_eq!(s[0].elements[0].key[1..], [int(17), int(53)]);
        assert_eq!(s[0].elements[1].key[1..], [int(1), int(8 << 8)]);
        assert_eq!(
            s[0].elements[2].key[1..],
            [int(6), Pattern::Range(Value::Int(80), Value::Int(90))]
        );
    }

    #[test]
    fn mac_iface_and_mark_dimensions() {
        let s = sets("create m hash:mac\nadd m 00:11:22:33:44:55\ncreate i hash:net,iface\nadd i 10.0.0.0/8,eth0\ncreate k hash:ip,mark\nadd k 10.0.0.1,0x10\n");
        assert_eq!(
            s[0].elements[0].key,
            vec![Pattern::Value(Value::Mac(Mac([
                0, 0x11, 0x22, 0x33, 0x44, 0x55
            ])))]
        );
        assert_eq!(s[1].elements[0].key[1], Pattern::Iface("eth0".into()));
        assert_eq!(s[2].elements[0].key[1], int(16));
    }

    #[test]
    fn add_to_an_unknown_set_is_an_error() {
        let e = parse(&SourceFile::new("x", "add nope 10.0.0.1\n")).unwrap_err();
        assert_eq!(e.span, Span::new(4, 8));
        assert!(matches!(e.kind, ErrorKind::Undefined { .. }));
    }

    #[test]
    fn element_of_the_wrong_family_is_an_error() {
        let e = parse(&SourceFile::new(
            "x",
            "create s hash:ip family inet\nadd s ::1\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (2, 7));
        assert!(matches!(e.kind, ErrorKind::InvalidValue { .. }));
    }

    #[test]
    fn unknown_type_is_unsupported() {
        let e = parse(&SourceFile::new("x", "create s hash:foo\n")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported { .. }));
        assert_eq!(e.span, Span::new(9, 17));
    }

    #[test]
    fn list_set_members_are_set_names() {
        let s = sets("create a hash:ip\ncreate l list:set size 8\nadd l a\n");
        assert!(s[1].ipset_dims.is_empty());
        assert_eq!(
            s[1].elements[0].key,
            vec![Pattern::Value(Value::Str("a".into()))]
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for text in [
            "create",
            "add",
            "create s",
            "create s hash:ip family",
            "add s",
            "\"",
            "create s hash:ip,port\nadd s 1.2.3.4,icmp:",
            "create s bitmap:port range 0-100\nadd s 80",
        ] {
            let _ = parse(&SourceFile::new("x", text));
        }
    }

    /// Malformed input, its error as `line:col: message` and the text it spans.
    #[test]
    fn malformed_lines_and_their_errors() {
        let cases = [
            ("create", "x:1:7: expected a set name, found end of line []"),
            ("create s", "x:1:9: expected a set type, found end of line []"),
            ("create s hash:ip family inet7", "x:1:25: expected inet or inet6, found `inet7` [inet7]"),
            ("create s hash:ip family", "x:1:24: expected a value for family, found end of line []"),
            ("create s hash:ip frob", "x:1:18: unsupported: ipset create option `frob` is not modelled by whyblocked [frob]"),
            ("create s hash:ip\ncreate s hash:net", "x:2:8: set `s` is created twice [s]"),
            ("create s hash:ip\nadd s", "x:2:6: expected an element, found end of line []"),
            ("create s hash:ip\nadd s 1.2.3.4 frob", "x:2:15: unsupported: ipset element option `frob` is not modelled by whyblocked [frob]"),
            ("create s hash:ip\nadd s 1.2.3.4 timeout", "x:2:22: expected a value for timeout, found end of line []"),
            ("create s hash:ip,port\nadd s 1.2.3.4", "x:2:7: invalid ipset element `1.2.3.4`: `hash:ip,port` elements have 2 parts separated by `,` [1.2.3.4]"),
            ("create s hash:ip,port\nadd s 1.2.3.4,icmp:8", "x:2:7: invalid ipset element `1.2.3.4,icmp:8`: `8`: ICMP entries are type/code [1.2.3.4,icmp:8]"),
            ("create s hash:ip,port\nadd s 1.2.3.4,frob:8", "x:2:7: invalid ipset element `1.2.3.4,frob:8`: `frob` is not a protocol [1.2.3.4,frob:8]"),
            ("create s hash:ip family inet6\nadd s 10.0.0.1", "x:2:7: invalid ipset element `10.0.0.1`: `10.0.0.1` is not of the set's family (inet6) [10.0.0.1]"),
            ("create s hash:mac\nadd s 00:11", "x:2:7: invalid ipset element `00:11`: `00:11` is not a MAC address [00:11]"),
            ("del s 1.2.3.4", "x:1:1: expected `create` or `add`, found `del` [del]"),
            ("create \"s", "x:1:8: unterminated quote [\"]"),
        ];
        for (case, expected) in cases {
            let e = parse(&SourceFile::new("x", case)).unwrap_err();
            let spanned = &case[e.span.start as usize..e.span.end as usize];
            assert_eq!(format!("{e} [{spanned}]"), expected, "{case}");
        }
    }
}
