//! `iptables -L -n -v [-x] [--line-numbers]` (and `ip6tables`) listings: chains, their
//! policy counters and each rule's packet and byte counters, for counter diffs.
//!
//! ```text
//! Chain INPUT (policy ACCEPT 528K packets, 79M bytes)
//!  pkts bytes target     prot opt in     out     source               destination
//!   85M   23G ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0     state RELATED,ESTABLISHED
//! Chain ufw-user-input (1 references)
//! ```
//!
//! Without `-x` the counts are rounded (`528K`, `23G`): they are read as the number the
//! suffix says (K = 1000, as iptables prints) and marked [`Count::approx`], so a diff can say
//! "about". Only the counters and the rule's text are read; the rule itself is not lowered
//! (the listing drops details that `iptables-save` keeps).

use model::diag::{ErrorKind, ParseError};
use model::{SourceFile, Span};

/// One chain of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedChain {
    pub name: String,
    /// `(policy ACCEPT 0 packets, 0 bytes)` of a built-in chain.
    pub policy: Option<(String, Count, Count)>,
    pub rules: Vec<ListedRule>,
    /// 1-based line of the `Chain` header.
    pub line: u32,
}

/// One rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRule {
    pub packets: Count,
    pub bytes: Count,
    /// The rest of the line (target, protocol, interfaces, addresses, matches), with runs of
    /// spaces collapsed.
    pub text: String,
    pub line: u32,
    pub span: Span,
}

/// A counter as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    pub value: u64,
    /// Rounded by iptables (`12K`): the true value is within one unit of the suffix.
    pub approx: bool,
}

/// Whether `text` looks like an `iptables -L` listing.
pub fn looks_like(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("Chain ") && l.contains('('))
}

/// A count as printed: digits, optionally followed by K, M, G, T (powers of 1000).
pub fn parse_count(s: &str) -> Option<Count> {
    let (digits, mult) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1_000u64),
        b'M' => (&s[..s.len() - 1], 1_000_000),
        b'G' => (&s[..s.len() - 1], 1_000_000_000),
        b'T' => (&s[..s.len() - 1], 1_000_000_000_000),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u64 = digits.parse().ok()?;
    Some(Count {
        value: v.checked_mul(mult)?,
        approx: mult > 1,
    })
}

/// Parses a whole listing.
pub fn parse(source: &SourceFile) -> Result<Vec<ListedChain>, ParseError> {
    let text: &str = &source.text;
    let mut chains: Vec<ListedChain> = Vec::new();
    let mut offset = 0usize;
    let mut numbered = false;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = n as u32 + 1;
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let span = Span::new(start, start + line.len());
        let err = |message: String| ParseError::new(source, span, ErrorKind::Structure { message });
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("Chain ") {
            let (name, paren) = rest.split_once(' ').unwrap_or((rest, ""));
            let policy = match paren.trim().strip_prefix("(policy ") {
                Some(p) => {
                    let w: Vec<&str> = p.trim_end_matches(')').split_whitespace().collect();
                    // ACCEPT 528K packets, 79M bytes
                    match (w.first(), w.get(1).and_then(|s| parse_count(s)), w.get(3).and_then(|s| parse_count(s))) {
                        (Some(t), Some(p), Some(b)) => Some((t.to_string(), p, b)),
                        _ => {
                            return Err(err(format!(
                                "expected `(policy TARGET N packets, N bytes)`, found `{paren}` (was it listed with -v?)"
                            )))
                        }
                    }
                }
                None => None,
            };
            chains.push(ListedChain {
                name: name.to_string(),
                policy,
                rules: Vec::new(),
                line: line_no,
            });
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if words.first() == Some(&"pkts") || words.get(1) == Some(&"pkts") {
            numbered = words.first() == Some(&"num");
            continue;
        }
        let Some(chain) = chains.last_mut() else {
            return Err(err(format!(
                "expected a `Chain NAME (...)` header before `{trimmed}`"
            )));
        };
        let skip = usize::from(numbered);
        let (Some(p), Some(b)) = (
            words.get(skip).and_then(|s| parse_count(s)),
            words.get(skip + 1).and_then(|s| parse_count(s)),
        ) else {
            return Err(err(format!(
                "expected packet and byte counters at the start of `{trimmed}` (list with `iptables -L -n -v -x`)"
            )));
        };
        chain.rules.push(ListedRule {
            packets: p,
            bytes: b,
            text: words[skip + 2..].join(" "),
            line: line_no,
            span,
        });
    }
    if chains.is_empty() {
        return Err(ParseError::new(
            source,
            Span::new(0, 0),
            ErrorKind::Structure {
                message: "no `Chain` header: not an `iptables -L -n -v` listing".into(),
            },
        ));
    }
    Ok(chains)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
Chain INPUT (policy ACCEPT 528K packets, 79M bytes)
 pkts bytes target     prot opt in     out     source               destination
  85M   23G ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0            state RELATED,ESTABLISHED
    0     0            all  --  lo     *       0.0.0.0/0            0.0.0.0/0

Chain ufw-user-input (1 references)
num   pkts      bytes target     prot opt in     out     source               destination
1        3      180 DROP       tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:23
";

    #[test]
    fn chains_rules_and_counters() {
        let c = parse(&SourceFile::new("l", LISTING)).unwrap();
        assert_eq!(c.len(), 2);
        let (t, p, b) = c[0].policy.clone().unwrap();
        assert_eq!(
            (t.as_str(), p.value, p.approx, b.value),
            ("ACCEPT", 528_000, true, 79_000_000)
        );
        assert_eq!(c[0].rules.len(), 2);
        assert_eq!(c[0].rules[0].packets.value, 85_000_000);
        assert_eq!(c[0].rules[1].text, "all -- lo * 0.0.0.0/0 0.0.0.0/0");
        assert_eq!(c[1].policy, None);
        let r = &c[1].rules[0];
        assert_eq!(
            (r.packets, r.bytes.value, r.line),
            (
                Count {
                    value: 3,
                    approx: false
                },
                180,
                8
            )
        );
        assert!(r.text.starts_with("DROP tcp"));
    }

    #[test]
    fn counts() {
        assert_eq!(
            parse_count("12"),
            Some(Count {
                value: 12,
                approx: false
            })
        );
        assert_eq!(parse_count("7K").map(|c| c.value), Some(7000));
        assert_eq!(parse_count("K"), None);
        assert_eq!(parse_count("1x"), None);
        assert_eq!(parse_count("99999999999999999999T"), None);
    }

    #[test]
    fn not_a_listing() {
        assert!(parse(&SourceFile::new("l", "*filter\n")).is_err());
        assert!(parse(&SourceFile::new("l", "")).is_err());
        let e = parse(&SourceFile::new("l", "Chain INPUT (policy ACCEPT)\n")).unwrap_err();
        assert!(e.to_string().contains("-v"), "{e}");
        assert!(looks_like(LISTING));
        assert!(!looks_like("*filter\n"));
    }
}
