//! `nft -j list ruleset` (libnftables-json(5)) into the syntax tree of [`super::ast`].
//!
//! Each object of the top-level `nftables` array is read on its own (its byte span is found
//! by a small scanner, so rules get a file span and line) into our own serde structs;
//! expressions and statements, whose shape depends on their single key, are read from
//! `serde_json::Value`. Tolerant of version differences: a flag may be a string or an
//! array, priorities numbers or names, `dev` a string or an array. Objects and statements
//! not known are reported by JSON path in the warnings and skipped (statements become
//! "unknown", so a rule never silently loses one).
//!
//! One file per construct: `object` (tables, chains, rules, sets, elements), `expr`
//! (expressions and set elements), `stmt` (statements). This file finds the objects and
//! holds the reader they share.

mod expr;
mod memory;
mod object;
mod stmt;

use super::ast::*;
use super::parse::Doc;
use crate::{ErrorKind, ParseError};
use model::note::{JsonSkip, JsonWarning};
use model::{Dialect, Family, Origin, SourceFile, Span};
use serde::Deserialize;
use serde_json::Value as J;

/// Parses `nft -j` output; warnings name what was skipped, by JSON path.
pub fn parse(source: &SourceFile) -> Result<(Doc, Vec<JsonWarning>), ParseError> {
    let text: &str = &source.text;
    let json_err =
        |span: Span, m: String| ParseError::new(source, span, ErrorKind::Json { message: m });
    let items = match scan_items(text) {
        Some(items) => items,
        None => {
            // Not the expected shape: let serde say where.
            let e = serde_json::from_str::<J>(text).err();
            let span = e
                .as_ref()
                .map_or(Span::new(0, 0), |e| at_line_col(text, e.line(), e.column()));
            return Err(json_err(
                span,
                e.map_or_else(
                    || "expected an object with an `nftables` array".into(),
                    |e| e.to_string(),
                ),
            ));
        }
    };
    let lines: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut r = Reader {
        src: source,
        lines,
        doc: Doc {
            tables: vec![],
            sources: vec![source.clone()],
        },
        warnings: vec![],
    };
    let guard = memory::MemoryGuard::new();
    for (i, span) in items.into_iter().enumerate() {
        if i > 0 && i % memory::EVERY == 0 {
            if let Some(short) = guard.check(span.start as usize, text.len()) {
                return Err(out_of_memory(source, span, i, &short));
            }
        }
        let slice = &text[span.start as usize..span.end as usize];
        let v: J = serde_json::from_str(slice).map_err(|e| {
            let at = at_line_col(slice, e.line(), e.column()).offset(span.start as usize);
            json_err(at, e.to_string())
        })?;
        r.item(&v, span, &format!("nftables[{i}]"))?;
    }
    Ok((r.doc, r.warnings))
}

/// Reading stopped before memory ran out: how far it got and what it would need.
fn out_of_memory(
    source: &SourceFile,
    span: Span,
    objects: usize,
    short: &memory::Shortfall,
) -> ParseError {
    let mb = |b: u64| b.div_ceil(1 << 20);
    let message = format!(
        "not enough memory to read this file: stopped after {} of {} MB ({objects} objects, \
         nftables[{objects}] next), which took {} MB; the rest needs about {} MB more and {} MB \
         is available",
        mb(u64::from(span.start)),
        mb(source.text.len() as u64),
        mb(short.used),
        mb(short.needed),
        mb(short.available),
    );
    let at = Span::new(span.start as usize, span.start as usize);
    ParseError::new(source, at, ErrorKind::Structure { message })
}

/// Byte spans of the objects of the top-level `nftables` array.
fn scan_items(text: &str) -> Option<Vec<Span>> {
    let b = text.as_bytes();
    let key = text.find("\"nftables\"")?;
    let mut i = key + 10;
    while i < b.len() && b[i] != b'[' {
        if !(b[i].is_ascii_whitespace() || b[i] == b':') {
            return None;
        }
        i += 1;
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        match b.get(i)? {
            b']' => return Some(out),
            b'{' => {
                let start = i;
                let mut depth = 0usize;
                let mut in_str = false;
                while i < b.len() {
                    let c = b[i];
                    if in_str {
                        if c == b'\\' {
                            i += 1;
                        } else if c == b'"' {
                            in_str = false;
                        }
                    } else if c == b'"' {
                        in_str = true;
                    } else if c == b'{' || c == b'[' {
                        depth += 1;
                    } else if c == b'}' || c == b']' {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    i += 1;
                }
                i += 1;
                if i > b.len() {
                    return None;
                }
                out.push(Span::new(start, i));
            }
            _ => return None,
        }
    }
}

fn at_line_col(text: &str, line: usize, col: usize) -> Span {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let at = (start + col.saturating_sub(1)).min(text.len());
    Span::new(at, at)
}

struct Reader<'s> {
    src: &'s SourceFile,
    lines: Vec<usize>,
    doc: Doc,
    warnings: Vec<JsonWarning>,
}

/// `"a"` or `["a", "b"]` as a list of strings.
fn strings(v: Option<&J>) -> Vec<String> {
    match v {
        Some(J::String(s)) => vec![s.clone()],
        Some(J::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

impl Reader<'_> {
    fn origin(&self, span: Span, handle: Option<u64>, text: String) -> Origin {
        let line = self.lines.partition_point(|&l| l <= span.start as usize);
        let line_start = self.lines.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        Origin {
            file: self.src.name.clone(),
            span,
            line: line as u32,
            column: Some((span.start as usize - line_start + 1) as u32),
            handle,
            text: text.into(),
            dialect: Some(Dialect::NftJson),
            ..Origin::default()
        }
    }

    fn err(&self, span: Span, m: String) -> ParseError {
        ParseError::new(self.src, span, ErrorKind::Json { message: m })
    }

    fn de<T: for<'de> Deserialize<'de>>(
        &self,
        v: &J,
        span: Span,
        path: &str,
    ) -> Result<T, ParseError> {
        T::deserialize(v).map_err(|e| self.err(span, format!("{path}: {e}")))
    }

    /// Notes that what is at `path` was skipped.
    fn warn(&mut self, path: &str, skipped: JsonSkip) {
        self.warnings.push(JsonWarning {
            path: path.to_string(),
            skipped,
        });
    }

    fn table_index(&mut self, family: &str, table: &str, path: &str) -> Option<usize> {
        let f = Family::from_name(family)?;
        let i = self
            .doc
            .tables
            .iter()
            .position(|t| t.family == f && t.name == table);
        if i.is_none() {
            self.warn(
                path,
                JsonSkip::UndefinedTable {
                    family: family.to_string(),
                    table: table.to_string(),
                },
            );
        }
        i
    }
}

/// `"filter"`, `"filter + 10"`, `"-100"` as a priority.
fn named_prio(s: &str) -> Prio {
    let s = s.trim();
    if let Some(n) = super::parse::parse_int(s) {
        return Prio::Num(n);
    }
    let (name, off) = match s.find(['+', '-']) {
        Some(i) => {
            let n = super::parse::parse_int(s[i + 1..].trim()).unwrap_or(0);
            (s[..i].trim(), if &s[i..i + 1] == "-" { -n } else { n })
        }
        None => (s, 0),
    };
    Prio::Named {
        name: name.to_string(),
        offset: off,
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;
    use model::note::JsonSkip;

    #[test]
    fn json_tolerates_unknown_objects_and_single_flags() {
        let j = r#"{"nftables": [{"table": {"family": "ip", "name": "t", "flags": "dormant"}},
            {"wibble": {}},
            {"chain": {"family": "ip", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": "filter + 5", "policy": "drop"}},
            {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"frob": 1}, {"accept": null}]}}]}"#;
        let (rs, w) = parse_json(&SourceFile::new("j", j)).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].path, "nftables[1].wibble");
        assert_eq!(w[0].skipped, JsonSkip::UnknownObject("wibble".into()));
        assert_eq!(w[1].skipped, JsonSkip::UnknownStatement("frob".into()));
        assert!(rs.tables[0].chains[0].base.is_none(), "dormant");
        assert!(matches!(
            rs.tables[0].chains[0].rules[0].body[0],
            Step::Action(Action::Undecidable(_))
        ));
        assert_eq!(rs.tables[0].chains[0].rules[0].origin.line, 4);
    }

    /// Issue 11 B6: `nft -j` prints a ruleset on one line, so a rule's line says nothing;
    /// each rule has the column where its object starts (reports print `file:1:COL`).
    #[test]
    fn b6_one_line_json_rules_have_distinct_columns() {
        let j = r#"{"nftables": [{"table": {"family": "ip", "name": "t"}}, {"chain": {"family": "ip", "table": "t", "name": "c"}}, {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"accept": null}]}}, {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"drop": null}]}}]}"#;
        let (rs, _) = parse_json(&SourceFile::new("j", j)).unwrap();
        let rules = &rs.tables[0].chains[0].rules;
        let cols: Vec<u32> = rules.iter().map(|r| r.origin.column.unwrap()).collect();
        assert_eq!(cols.len(), 2);
        assert_ne!(cols[0], cols[1]);
        for (r, c) in rules.iter().zip(cols) {
            assert_eq!(r.origin.line, 1);
            assert!(j[c as usize - 1..].starts_with(r#"{"rule""#), "column {c}");
        }
    }
}
