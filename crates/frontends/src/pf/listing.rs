//! `pfctl -sr` listings (`-v`, `-vv`): one rule per line as `print_rule` writes it,
//! `@N ` before each with `-vv`, and with `-v` the counter lines after it:
//!
//! ```text
//! @0 block drop all
//!   [ Evaluations: 12        Packets: 3         Bytes: 180         States: 0     ]
//!   [ Inserted: uid 0 pid 1234 State Creations: 0     ]
//! @1 anchor "relayd/*" all {
//!   @0 pass in quick on em0 inet proto tcp from any to 10.0.0.1 port = 80 flags S/SA
//! }
//! ```
//!
//! Each rule line is read by the pf.conf parser (the listing is pf.conf syntax); the
//! number and counters are kept on the rule, an anchor's `{ … }` body (listed with
//! `-a 'x/*'` or a recursive listing) becomes the anchor's body. `-vv` counts after
//! tables and interface addresses (`<t:3>`, `(em0:1)`) are not part of their names.

use model::diag::{ErrorKind, ParseError};
use model::pf::{Action, Item, Rule, Ruleset};
use model::source::Counters;
use model::{SourceFile, Span};

use super::env::Env;
use super::parse::Parser;

/// What FreeBSD's pfctl prints before the rules when the kernel has no ALTQ.
const FREEBSD_NOTICES: &[&str] = &[
    "No ALTQ support in kernel",
    "ALTQ related functions disabled",
];

/// An anchor whose body the listing is in (`anchor "x" all {` … `}`).
struct Open {
    call: Rule,
    body: Vec<Item>,
}

/// Reads a `pfctl -sr [-v[v]]` listing called `name`.
pub fn parse_listing(name: &str, text: &str, env: &Env) -> Result<Ruleset, ParseError> {
    let src = SourceFile::new(name, text);
    let mut items: Vec<Item> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let lead = body.len() - trimmed.len();
        let current = match open.last_mut() {
            Some(o) => &mut o.body,
            None => &mut items,
        };
        if trimmed.is_empty() || FREEBSD_NOTICES.contains(&trimmed) {
            continue;
        }
        if let Some(stats) = trimmed.strip_prefix('[') {
            if let Some(counters) = evaluation_counters(stats) {
                if let Some(Item::Rule(rule)) = current.last_mut() {
                    rule.origin.counters = Some(counters);
                }
            }
            continue;
        }
        if trimmed == "}" {
            let Some(Open { mut call, body }) = open.pop() else {
                let span = Span::new(start + lead, start + lead + 1);
                return Err(ParseError::new(
                    &src,
                    span,
                    ErrorKind::Structure {
                        message: "`}` closes no anchor".into(),
                    },
                ));
            };
            if let Action::Anchor(anchor) = &mut call.action {
                anchor.body = Some(Box::new(Ruleset { items: body }));
            }
            let parent = match open.last_mut() {
                Some(o) => &mut o.body,
                None => &mut items,
            };
            parent.push(Item::Rule(call));
            continue;
        }
        let (number, rule_text, rule_offset) = numbered(&src, trimmed, start + lead)?;
        let (rule_text, opens) = match rule_text.strip_suffix('{') {
            Some(head) => (head.trim_end(), true),
            None => (rule_text, false),
        };
        let anchor_path = open.last().and_then(|o| match &o.call.action {
            Action::Anchor(call) => path_of(o.call.anchor_path.as_deref(), call.name.as_deref()),
            _ => None,
        });
        // The line alone is parsed; its spans and line number are then moved to where
        // the line is in the listing, for the rule's origin and for errors.
        let mut parser = Parser::new(SourceFile::new(name, rule_text), rule_text, env);
        parser.listing = true;
        let mut parsed = Vec::new();
        if let Err(e) = parser.statements(&mut parsed) {
            return Err(ParseError::new(&src, e.span.offset(rule_offset), e.kind));
        }
        let (line_number, _) = src.line_col(rule_offset as u32);
        for mut item in parsed {
            if let Item::Rule(rule) = &mut item {
                rule.number = number;
                rule.origin.span = rule.origin.span.offset(rule_offset);
                rule.origin.line = line_number;
                rule.anchor_path = anchor_path.clone();
            }
            match item {
                Item::Rule(call) if opens && matches!(call.action, Action::Anchor(_)) => {
                    open.push(Open {
                        call,
                        body: Vec::new(),
                    });
                }
                item => {
                    let current = match open.last_mut() {
                        Some(o) => &mut o.body,
                        None => &mut items,
                    };
                    current.push(item);
                }
            }
        }
    }
    if let Some(o) = open.last() {
        return Err(ParseError::new(
            &src,
            o.call.origin.span,
            ErrorKind::Structure {
                message: "this anchor's `{` is not closed".into(),
            },
        ));
    }
    Ok(Ruleset { items })
}

/// The path of an anchor called `name` inside the anchor `parent`.
fn path_of(parent: Option<&str>, name: Option<&str>) -> Option<String> {
    match (parent, name) {
        (Some(p), Some(n)) => Some(format!("{p}/{n}")),
        (None, Some(n)) => Some(n.to_string()),
        (p, None) => p.map(str::to_string),
    }
}

/// `@12 pass …` → (12, `pass …`, where `pass` starts); a line without `@N` as it is.
fn numbered<'t>(
    src: &SourceFile,
    line: &'t str,
    at: usize,
) -> Result<(Option<u32>, &'t str, usize), ParseError> {
    let Some(rest) = line.strip_prefix('@') else {
        return Ok((None, line, at));
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(n) = rest[..digits].parse::<u32>() else {
        return Err(ParseError::new(
            src,
            Span::new(at, at + 1 + digits),
            ErrorKind::Expected {
                expected: "a rule number after `@`".into(),
                found: line.into(),
            },
        ));
    };
    let after = &rest[digits..];
    let skip = after.len() - after.trim_start().len();
    Ok((Some(n), after.trim_start(), at + 1 + digits + skip))
}

/// `Evaluations: 12 Packets: 3 Bytes: 180 States: 0 ]` → packets and bytes.
fn evaluation_counters(stats: &str) -> Option<Counters> {
    let words: Vec<&str> = stats.split_whitespace().collect();
    if words.first() != Some(&"Evaluations:") {
        return None;
    }
    let value = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Counters {
        packets: value("Packets:")?,
        bytes: value("Bytes:")?,
    })
}
