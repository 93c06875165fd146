//! `ip -j addr`, `ip -j [-d] link`, `ip -j neigh`, `ip [-6] -j route show table all` and
//! `ip [-6] -j rule` into the model.
//!
//! The JSON is read into serde structs that ignore unknown fields and accept the spellings
//! different iproute2 versions use (tables as names or numbers, `fwmark` with or without a
//! `/mask`, `sport` or `sport_start`/`sport_end`, `"nop": null`). Each element of the top-level
//! array is located in the text first, so a serde error or a bad value (an address that does
//! not parse) is reported at its exact byte span.
//!
//! Details worth knowing:
//! - `ip -j route show table all` without `-4` also lists IPv6 routes; each route's family is
//!   taken from its own `dst` (or gateway, or source), `v6` only decides a bare `default`.
//! - A multipath route's `gateway`/`dev` repeat its first next hop, so a simulation that
//!   ignores ECMP still has somewhere to send the packet.
//! - A table named in `/etc/iproute2/rt_tables` (e.g. `vpn`) has no number in the JSON; it gets
//!   a stable id from its name ([`table_id_of_name`]), the same in routes and rules.
//! - `Interface::up` is the administrative `UP` flag (`ip link set up`), not the carrier;
//!   the carrier is `Interface::lower_up` (`LOWER_UP`), from `ip -j link` and `ip -j addr`
//!   alike (both print the same device fields).
//! - `ip -j neigh` leaves out `NOARP` and proxy entries; both families come in one listing.
//!
//! One reader per command: `addr`, `link`, `neigh`, `route`, `rule`, each with its tests; this file
//! locates the array's elements and holds the decoders they share.

use ipnet::IpNet;
use model::diag::{ErrorKind, ParseError};
use model::host::{table_id, Scope};
use model::{SourceFile, Span};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::net::IpAddr;

mod addr;
mod link;
mod neigh;
mod route;
mod rule;

pub use addr::parse_addrs;
pub use link::{merge_links, parse_links};
pub use neigh::parse_neighbours;
pub use route::parse_routes;
pub use rule::parse_rules;

/// The id a named routing table gets when the JSON names it without a number.
///
/// `main`, `local`, `default` and `unspec` are the kernel's; a decimal name is its number;
/// any other name (from `rt_tables`) hashes into the top half of the id space, where real
/// tables are very rarely numbered, so rules and routes naming it still meet.
pub fn table_id_of_name(name: &str) -> u32 {
    match name {
        "main" => table_id::MAIN,
        "local" => table_id::LOCAL,
        "default" => table_id::DEFAULT,
        "unspec" => 0,
        other => other.parse().unwrap_or_else(|_| {
            // FNV-1a: stable across runs and Rust versions, unlike `DefaultHasher`.
            let mut h: u32 = 0x811c_9dc5;
            for b in other.bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
            0x8000_0000 | h
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Locating array elements, and spans of values inside them.

/// One element of the top-level JSON array: its text and where it starts in the file.
struct Element<'a> {
    text: &'a str,
    start: usize,
}

impl Element<'_> {
    fn decode<T: DeserializeOwned>(&self, source: &SourceFile) -> Result<T, ParseError> {
        serde_json::from_str(self.text).map_err(|e| json_error(source, self.text, self.start, &e))
    }

    /// The span of the value of `"key"` (the first one after byte `from` of the element), or
    /// of the whole element when the key cannot be found.
    fn value_span(&self, key: &str, from: usize) -> Span {
        let whole = Span::new(self.start, self.start + self.text.len());
        let needle = format!("\"{key}\"");
        let mut search = from.min(self.text.len());
        while let Some(found) = self.text.get(search..).and_then(|t| t.find(&needle)) {
            let after_key = search + found + needle.len();
            let rest = &self.text[after_key..];
            let trimmed = rest.trim_start();
            if let Some(value) = trimmed.strip_prefix(':') {
                let value_trimmed = value.trim_start();
                let vstart = self.text.len() - value_trimmed.len();
                let vlen = json_token_len(value_trimmed);
                return Span::new(self.start + vstart, self.start + vstart + vlen);
            }
            search = after_key;
        }
        whole
    }

    /// Byte offset (within the element) of `"key"`, to search values after it.
    fn key_offset(&self, key: &str) -> usize {
        self.text.find(&format!("\"{key}\"")).unwrap_or(0)
    }
}

/// Length of the JSON value at the start of `s` (a string with its quotes, a bare word, or
/// a whole array or object).
fn json_token_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    if matches!(bytes.first(), Some(b'[' | b'{')) {
        scan_value(bytes, 0).unwrap_or(s.len())
    } else if bytes.first() == Some(&b'"') {
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return (i + 1).min(s.len()),
                _ => i += 1,
            }
        }
        s.len()
    } else {
        s.find(|c: char| c == ',' || c == '}' || c == ']' || c.is_whitespace())
            .unwrap_or(s.len())
    }
}

/// Which `ip -j` listing a file should hold: named in the error when it holds something
/// else (most often the same command's text output, saved without `-j`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    Addr,
    Link,
    Neigh,
    Route { v6: bool },
    Rule { v6: bool },
}

impl Listing {
    /// The command that prints this listing.
    fn command(self) -> &'static str {
        match self {
            Listing::Addr => "ip -j addr",
            Listing::Link => "ip -j -d link",
            Listing::Neigh => "ip -j neigh",
            Listing::Route { v6: false } => "ip -j route show table all",
            Listing::Route { v6: true } => "ip -6 -j route show table all",
            Listing::Rule { v6: false } => "ip -j rule",
            Listing::Rule { v6: true } => "ip -6 -j rule",
        }
    }

    /// Which `ip` command's text output `line` (a file's first line) looks like, if any:
    /// `1: lo: <LOOPBACK,UP,...> mtu ...` (addr, or link when a link listing was expected),
    /// `0:\tfrom all lookup local` (rule), `10.0.0.2 dev eth0 lladdr ... REACHABLE` (neigh),
    /// `default via ...` or `10.0.0.0/24 dev ...` (route).
    fn text_output(self, line: &str) -> Option<&'static str> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let numbered = words
            .first()
            .and_then(|w| w.strip_suffix(':'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let route_type = [
            "default",
            "unicast",
            "local",
            "broadcast",
            "multicast",
            "unreachable",
            "prohibit",
            "blackhole",
            "throw",
            "anycast",
        ];
        let nud_state = [
            "INCOMPLETE",
            "REACHABLE",
            "STALE",
            "DELAY",
            "PROBE",
            "FAILED",
            "NOARP",
            "PERMANENT",
            "NONE",
        ];
        if numbered && words.get(2).is_some_and(|w| w.starts_with('<')) {
            Some(if self == Listing::Link {
                "ip link"
            } else {
                "ip addr"
            })
        } else if words.first().is_some_and(|w| w.parse::<IpAddr>().is_ok())
            && words.get(1) == Some(&"dev")
            && (words.contains(&"lladdr") || words.last().is_some_and(|w| nud_state.contains(w)))
        {
            Some("ip neigh")
        } else if numbered && words.get(1).is_some_and(|w| *w == "from" || *w == "not") {
            Some("ip rule")
        } else if words.first().is_some_and(|w| {
            route_type.contains(w) || w.parse::<IpNet>().is_ok() || w.parse::<IpAddr>().is_ok()
        }) && words
            .iter()
            .any(|w| ["dev", "via", "proto", "table"].contains(w))
        {
            Some("ip route")
        } else {
            None
        }
    }
}

/// Every element of the listing decoded as `J`, then lowered by `lower` (which gets the
/// element, to place its errors).
fn lower_each<J: DeserializeOwned, T>(
    source: &SourceFile,
    listing: Listing,
    mut lower: impl FnMut(&Element<'_>, J) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    elements(source, listing)?
        .iter()
        .map(|elem| lower(elem, elem.decode(source)?))
        .collect()
}

/// Splits the top-level array into its elements without interpreting them.
///
/// An empty file is an empty list (`ip -j rule` of a family with no rules prints nothing on
/// some versions). A file that is not JSON at all is an error naming the command that makes
/// the right one and what was found instead; other JSON that is not an array is a JSON error
/// at the first bad byte.
fn elements(source: &SourceFile, listing: Listing) -> Result<Vec<Element<'_>>, ParseError> {
    let text: &str = &source.text;
    let bytes = text.as_bytes();
    let mut i = skip_ws(bytes, 0);
    if i == bytes.len() {
        return Ok(Vec::new());
    }
    if bytes[i] != b'[' && bytes[i] != b'{' {
        let first_line = text[i..].lines().next().unwrap_or("");
        let found = match listing.text_output(first_line) {
            Some(command) => format!("it looks like `{command}` text output"),
            None => "it is not JSON".to_string(),
        };
        return Err(ParseError::new(
            source,
            Span::new(i, i + first_line.len()),
            ErrorKind::Structure {
                message: format!(
                    "expected the JSON that `{}` prints; {found} (save `{0}` into this file)",
                    listing.command()
                ),
            },
        ));
    }
    if bytes[i] != b'[' {
        // Let serde word the error (and find its position).
        let e = serde_json::from_str::<Vec<Value>>(text)
            .err()
            .map(|e| json_error(source, text, 0, &e));
        return Err(e.unwrap_or_else(|| {
            ParseError::new(
                source,
                Span::new(i, i + 1),
                json_kind("expected a JSON array"),
            )
        }));
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        i = skip_ws(bytes, i);
        if i >= bytes.len() {
            return Err(ParseError::new(
                source,
                Span::new(i, i),
                json_kind("unterminated array"),
            ));
        }
        if bytes[i] == b']' && out.is_empty() {
            i += 1;
            break;
        }
        let start = i;
        let end = scan_value(bytes, i).ok_or_else(|| {
            ParseError::new(
                source,
                Span::new(start, bytes.len()),
                json_kind("unterminated value"),
            )
        })?;
        out.push(Element {
            text: &text[start..end],
            start,
        });
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b']') => {
                i += 1;
                break;
            }
            Some(_) => {
                return Err(ParseError::new(
                    source,
                    Span::new(i, i + 1),
                    json_kind("expected `,` or `]` after an array element"),
                ))
            }
            None => {
                return Err(ParseError::new(
                    source,
                    Span::new(i, i),
                    json_kind("unterminated array"),
                ))
            }
        }
    }
    let rest = skip_ws(bytes, i);
    if rest < bytes.len() {
        return Err(ParseError::new(
            source,
            Span::new(rest, bytes.len()),
            json_kind("trailing characters after the array"),
        ));
    }
    Ok(out)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON value starting at `i`: balanced brackets outside strings.
/// Validity is left to serde; this only has to find where the value stops.
fn scan_value(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Some(i),
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' if depth == 0 => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    (depth == 0 && !in_string).then_some(i)
}

fn json_kind(message: &str) -> ErrorKind {
    ErrorKind::Json {
        message: message.to_string(),
    }
}

/// A serde error in `text` (which starts at `base` in the file) as a span in the file.
fn json_error(source: &SourceFile, text: &str, base: usize, e: &serde_json::Error) -> ParseError {
    let offset = base + line_col_to_offset(text, e.line(), e.column());
    let end = (offset + 1).min(source.text.len()).max(offset);
    let message = e.to_string();
    // serde appends " at line L column C", which is relative to the element: drop it, the
    // renderer prints the file position.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    ParseError::new(
        source,
        Span::new(offset.min(end), end),
        ErrorKind::Json { message },
    )
}

/// serde_json reports 1-based lines and 1-based byte columns (0 when before the first byte).
fn line_col_to_offset(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let mut offset = (start + column.saturating_sub(1)).min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

// ---------------------------------------------------------------------------------------
// Tolerant field decoders.

/// Present means true (`"nop": null`, `"not": null`, `"secondary": true`), unless it is
/// literally `false`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(!matches!(Value::deserialize(d)?, Value::Bool(false)))
}

/// A JSON number or string as text (tables, protocols, scopes, marks vary by version).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_u32_any(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A scope by name or by its `RT_SCOPE_*` number (some versions print numbers).
fn scope_of(s: &str) -> Scope {
    match s {
        "0" => Scope::Universe,
        "200" => Scope::Site,
        "253" => Scope::Link,
        "254" => Scope::Host,
        "255" => Scope::Nowhere,
        name => Scope::from_name(name),
    }
}

fn invalid(source: &SourceFile, span: Span, what: &str, value: &str, reason: &str) -> ParseError {
    ParseError::invalid_value(source, span, what, value, reason)
}

fn parse_ip(source: &SourceFile, span: Span, what: &str, s: &str) -> Result<IpAddr, ParseError> {
    s.parse()
        .map_err(|_| invalid(source, span, what, s, "not an IP address"))
}

/// `default`, `10.0.0.0/24`, or a bare address (a host route).
fn parse_prefix(source: &SourceFile, span: Span, s: &str, v6: bool) -> Result<IpNet, ParseError> {
    if s == "default" || s == "all" {
        let any = if v6 {
            IpAddr::from([0u16; 8])
        } else {
            IpAddr::from([0u8; 4])
        };
        return Ok(IpNet::new(any, 0).unwrap_or_else(|_| IpNet::from(any)));
    }
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| invalid(source, span, "prefix", s, "not an address or prefix"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::host::RuleAction;

    pub(super) const ROUTER: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host/router/");
    pub(super) const POLICY: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host/policy/");
    pub(super) const LINKS: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host/links/");
    pub(super) const LINKS_VARIANTS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/host/links-variants/"
    );

    pub(super) fn fixture(dir: &str, name: &str) -> SourceFile {
        let path = format!("{dir}{name}");
        SourceFile::new(
            name,
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
        )
    }

    pub(super) fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    pub(super) fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn named_table_gets_the_same_id_in_routes_and_rules() {
        let routes = parse_routes(
            &SourceFile::new("r", r#"[{"dst":"default","dev":"wg0","table":"vpn"}]"#),
            false,
        )
        .unwrap();
        let rules = parse_rules(
            &SourceFile::new("u", r#"[{"priority":5,"src":"all","table":"vpn"}]"#),
            false,
        )
        .unwrap();
        assert_eq!(rules[0].action, RuleAction::Lookup(routes[0].table));
        assert_eq!(rules[0].text, "5: from all lookup vpn");
        assert_eq!(routes[0].text, "default dev wg0 table vpn");
    }

    #[test]
    fn empty_file_is_no_routes() {
        assert!(parse_routes(&SourceFile::new("r", "\n"), false)
            .unwrap()
            .is_empty());
        assert!(parse_rules(&SourceFile::new("r", "[]"), false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn syntax_error_points_at_line_and_column() {
        let text = "[{\"dst\": \"default\"},\n {\"dst\": \"10.0.0.0/8\" \"dev\": \"eth0\"}]";
        let e = parse_routes(&SourceFile::new("ip-route.json", text), false).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        assert_eq!(e.line_col(), (2, 23), "{e}");
        assert_eq!(&text[e.span.start as usize..e.span.end as usize], "\"");
    }

    #[test]
    fn wrong_type_points_into_the_element() {
        let text = "[\n  {\"ifname\": \"lo\", \"mtu\": \"big\"}\n]";
        let e = parse_addrs(&SourceFile::new("ip-addr.json", text)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }));
        assert_eq!(e.line_col().0, 2, "{e}");
        assert!(
            !e.to_string().contains("column"),
            "positions come from the span: {e}"
        );
    }

    #[test]
    fn not_an_array_is_an_error() {
        let e = parse_rules(&SourceFile::new("r", "{\"priority\": 1}"), false).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }));
        let e = parse_rules(
            &SourceFile::new("r", "[{\"priority\": 1, \"table\": \"main\"}"),
            false,
        )
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        let e = parse_rules(&SourceFile::new("r", "[] x"), false).unwrap_err();
        assert_eq!(e.span.start, 3);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "[",
            "]",
            "[,]",
            "[{]",
            "[\"",
            "[{\"dst\":}]",
            "[1,2]",
            "[{\"a\":\"\\",
            "\u{e9}[",
            "[{\"dst\":\"\u{e9}\"}]",
            "[null]",
        ] {
            let s = SourceFile::new("x", text);
            let _ = parse_routes(&s, false);
            let _ = parse_rules(&s, true);
            let _ = parse_addrs(&s);
            let _ = parse_links(&s);
            let _ = parse_neighbours(&s);
        }
    }
}
