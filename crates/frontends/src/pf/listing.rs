//! `pfctl -sr` listings (`-v`, `-vv`): one rule per line as `print_rule` writes it,
//! `@N ` before each with `-vv`, and with `-v` the counter lines after it:
//!
//! ```text
//! @0 block drop all
//!   [ Evaluations: 12        Packets: 3         Bytes: 180         States: 0     ]
//!   [ Queue: qname=none pqname=none ]
//!   [ Inserted: uid 0 pid 1234 State Creations: 0     ]
//! ```
//!
//! Each rule line is read by the pf.conf parser (the listing is pf.conf syntax), the
//! number and counters are kept on the rule; anchors' bodies are listed by
//! `pfctl -a 'x/*' -sr`, not inline, so an anchor call is kept as a call.

use model::diag::{ErrorKind, ParseError};
use model::pf::{Item, Ruleset};
use model::source::Counters;
use model::{SourceFile, Span};

use super::env::Env;
use super::parse::Parser;

/// What FreeBSD's pfctl prints before the rules when the kernel has no ALTQ.
const FREEBSD_NOTICES: &[&str] = &[
    "No ALTQ support in kernel",
    "ALTQ related functions disabled",
];

/// Reads a `pfctl -sr [-v[v]]` listing called `name`.
pub fn parse_listing(name: &str, text: &str, env: &Env) -> Result<Ruleset, ParseError> {
    let src = SourceFile::new(name, text);
    let mut items: Vec<Item> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.is_empty() || FREEBSD_NOTICES.contains(&trimmed) {
            continue;
        }
        if let Some(stats) = trimmed.strip_prefix('[') {
            if let Some(counters) = evaluation_counters(stats) {
                if let Some(Item::Rule(rule)) = items.last_mut() {
                    rule.origin.counters = Some(counters);
                }
            }
            continue;
        }
        let lead = body.len() - trimmed.len();
        let (number, rule_text, rule_offset) = match trimmed.strip_prefix('@') {
            Some(rest) => {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let after = &rest[digits..];
                let Ok(n) = rest[..digits].parse::<u32>() else {
                    let span = Span::new(start + lead, start + lead + 1 + digits);
                    return Err(ParseError::new(
                        &src,
                        span,
                        ErrorKind::Expected {
                            expected: "a rule number after `@`".into(),
                            found: trimmed.into(),
                        },
                    ));
                };
                let skip = after.len() - after.trim_start().len();
                (
                    Some(n),
                    after.trim_start(),
                    start + lead + 1 + digits + skip,
                )
            }
            None => (None, trimmed, start + lead),
        };
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
            }
            items.push(item);
        }
    }
    Ok(Ruleset { items })
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
