//! Top-level commands: `table` blocks, `add`/`create`/`insert`/`replace`/`delete`/
//! `flush` commands, `define` variables and `include` files.

use super::{read_file, unreachable_err, State, MAX_INCLUDE_DEPTH, P, R};
use crate::nft::ast::TableAst;
use crate::nft::lexer::{Kind, Token};
use crate::{ErrorKind, ParseError};
use model::Family;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    Append,
    Prepend,
    Replace,
}

/// Files matching a glob in one directory (`dir/*.nft`), sorted, dot files skipped as nft
/// does.
pub(super) fn glob(pattern: &Path) -> Vec<PathBuf> {
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let pat = pattern.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    !n.starts_with('.') && wildcard(pat, &n)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

pub(super) fn wildcard(p: &str, s: &str) -> bool {
    match p.chars().next() {
        None => s.is_empty(),
        Some('*') => (0..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| wildcard(&p[1..], &s[i..])),
        Some('?') => s
            .chars()
            .next()
            .is_some_and(|c| wildcard(&p[1..], &s[c.len_utf8()..])),
        Some(c) => s.starts_with(c) && wildcard(&p[c.len_utf8()..], &s[c.len_utf8()..]),
    }
}

impl<'s> P<'s> {
    pub(super) fn file(&mut self, st: &mut State) -> R<()> {
        loop {
            self.skip_ends(st)?;
            let Some(t) = self.next(st)? else {
                return Ok(());
            };
            if t.kind != Kind::Word {
                return Err(ParseError::expected(
                    self.src,
                    t.span,
                    "a command such as `table`",
                    &t.text,
                ));
            }
            match t.text.as_str() {
                "add" | "create" => {
                    let what =
                        self.word(st, "what to add (table, chain, rule, set, map, element)")?;
                    self.add(st, &what, Position::Append)?;
                }
                "insert" => {
                    let what = self.word(st, "`rule`")?;
                    if what.text != "rule" {
                        return Err(ParseError::expected(
                            self.src, what.span, "`rule`", &what.text,
                        ));
                    }
                    self.add(st, &what, Position::Prepend)?;
                }
                "replace" => {
                    let what = self.word(st, "`rule`")?;
                    if what.text != "rule" {
                        return Err(ParseError::expected(
                            self.src, what.span, "`rule`", &what.text,
                        ));
                    }
                    self.add(st, &what, Position::Replace)?;
                }
                "table" | "chain" | "rule" | "set" | "map" | "element" | "flowtable"
                | "counter" | "quota" | "limit" | "ct" | "secmark" | "synproxy" => {
                    self.add(st, &t, Position::Append)?
                }
                "delete" | "destroy" => self.delete(st, t.text == "destroy")?,
                "flush" => self.flush(st)?,
                "define" | "redefine" => self.define(st)?,
                "undefine" => {
                    let n = self.word(st, "a variable name")?;
                    st.defines.remove(&n.text);
                }
                "include" => self.include(st, &t)?,
                "list" | "describe" | "monitor" | "export" | "reset" | "get" => {
                    self.skip_statement(st)?
                }
                _ => {
                    return Err(ParseError::expected(
                        self.src,
                        t.span,
                        "a command (table, add, insert, delete, flush, define, include)",
                        &t.text,
                    ))
                }
            }
        }
    }

    pub(super) fn define(&mut self, st: &mut State) -> R<()> {
        let name = self.word(st, "a variable name")?;
        self.expect_punct(st, "=")?;
        let mut value = Vec::new();
        let mut depth = 0usize;
        while let Some(t) = self.peek(st)? {
            if depth == 0 && (t.is_end() || t.kind == Kind::Comment) {
                break;
            }
            if t.is_punct("{") {
                depth += 1;
            } else if t.is_punct("}") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            if t.kind != Kind::Newline && t.kind != Kind::Comment {
                value.push(t.clone());
            }
            self.pos += 1;
        }
        if value.is_empty() {
            return Err(self.expected_here(st, "a value after `=`"));
        }
        st.defines.insert(name.text, value);
        Ok(())
    }

    pub(super) fn include(&mut self, st: &mut State, at: &Token) -> R<()> {
        let path = self.next(st)?.filter(|t| t.kind == Kind::Str);
        let Some(path) = path else {
            return Err(ParseError::expected(
                self.src,
                at.span,
                "a quoted file name after include",
                "",
            ));
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(self.structure(
                path.span,
                "includes nested too deeply (more than 16 levels)",
            ));
        }
        let base = Path::new(&*self.src.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let full = if Path::new(&path.text).is_absolute() {
            PathBuf::from(&path.text)
        } else {
            base.join(&path.text)
        };
        let files = if path.text.contains(['*', '?', '[']) {
            glob(&full)
        } else {
            vec![full]
        };
        for f in files {
            let invalid = |reason: String| {
                self.err(
                    path.span,
                    ErrorKind::InvalidValue {
                        what: "include".into(),
                        value: f.display().to_string(),
                        reason,
                    },
                )
            };
            // A device or FIFO (`/dev/zero`, `/dev/stdin`) would never end or never come.
            match std::fs::metadata(&f) {
                Ok(m) if !m.is_file() => {
                    return Err(invalid("not a regular file".into()));
                }
                Ok(_) => {}
                Err(e) => return Err(invalid(e.to_string())),
            }
            let bytes = std::fs::read(&f).map_err(|e| invalid(e.to_string()))?;
            let source = crate::read_text(
                f.display().to_string(),
                &bytes,
                "an nft ruleset",
                crate::NonUtf8::FreeTextOnly,
            )
            .map_err(|e| match e {
                crate::loader::TextError::Encoding(d) => d,
                crate::loader::TextError::NotText(n) => invalid(n.to_string()),
            })?;
            read_file(&source, st, self.depth + 1)?;
        }
        Ok(())
    }

    /// `[family] name`: an optional family then a name.
    pub(super) fn family_and(
        &mut self,
        st: &State,
        what: &str,
    ) -> R<(model::ruleset::Family, Token)> {
        let first = self.name(st, what)?;
        if first.kind == Kind::Word {
            if let Some(f) = Family::from_name(&first.text) {
                if self
                    .peek(st)?
                    .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Str))
                {
                    return Ok((f, self.name(st, what)?));
                }
            }
        }
        Ok((model::ruleset::Family::Ip, first))
    }

    pub(super) fn table_index(
        &self,
        st: &State,
        family: model::ruleset::Family,
        name: &Token,
    ) -> R<usize> {
        st.tables
            .iter()
            .position(|t| t.family == family && t.name == name.text)
            .ok_or_else(|| {
                self.err(
                    name.span,
                    ErrorKind::Undefined {
                        what: "table".into(),
                        name: format!("{family} {}", name.text),
                    },
                )
            })
    }

    /// `add|create|insert|replace OBJECT ...` (and a `table` block), after the command word.
    pub(super) fn add(&mut self, st: &mut State, what: &Token, pos: Position) -> R<()> {
        let start = what.span.start as usize;
        match what.text.as_str() {
            "table" => self.add_table(st, start),
            "chain" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let name = self.name(st, "a chain name")?;
                self.chain(st, ti, &name, start)
            }
            "set" | "map" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let name = self.name(st, "a set name")?;
                self.set(st, ti, &name, what.text == "map", start)
            }
            "element" => self.add_elements(st),
            "rule" => self.add_rule(st, pos),
            // Stateful objects, flowtables, helpers: not part of the verdict path.
            _ => self.skip_statement(st),
        }
    }

    /// `table FAMILY NAME [{ BODY }]`: a new table, or more of one already declared.
    fn add_table(&mut self, st: &mut State, start: usize) -> R<()> {
        let (family, name) = self.family_and(st, "a table name")?;
        let ti = match st
            .tables
            .iter()
            .position(|t| t.family == family && t.name == name.text)
        {
            Some(i) => i,
            None => {
                let origin = self.origin_from(start, name.span.end as usize);
                st.tables.push(TableAst {
                    family,
                    name: name.text.clone(),
                    flags: vec![],
                    chains: vec![],
                    sets: vec![],
                    origin,
                });
                st.tables.len() - 1
            }
        };
        if self.eat_punct(st, "{")? {
            if let Some(h) = self.handle_comment() {
                st.tables[ti].origin.handle = Some(h);
            }
            self.table_body(st, ti)?;
        }
        Ok(())
    }

    /// `element FAMILY TABLE SET { ELEMENTS }`.
    fn add_elements(&mut self, st: &mut State) -> R<()> {
        let (family, table) = self.family_and(st, "a table name")?;
        let ti = self.table_index(st, family, &table)?;
        let name = self.name(st, "a set name")?;
        self.expect_punct(st, "{")?;
        let elems = self.set_elements(st)?;
        let Some(set) = st.tables[ti].set_mut(&name.text) else {
            return Err(self.err(
                name.span,
                ErrorKind::Undefined {
                    what: "set".into(),
                    name: name.text,
                },
            ));
        };
        set.timeouts |= elems.1;
        set.elements.extend(elems.0);
        Ok(())
    }

    /// `rule FAMILY TABLE CHAIN [position|handle|index N] STATEMENTS`: appended, inserted
    /// or replacing a rule, as `pos` says.
    fn add_rule(&mut self, st: &mut State, pos: Position) -> R<()> {
        let (family, table) = self.family_and(st, "a table name")?;
        let ti = self.table_index(st, family, &table)?;
        let chain = self.name(st, "a chain name")?;
        if st.tables[ti].chains.iter().all(|c| c.name != chain.text) {
            return Err(self.err(
                chain.span,
                ErrorKind::Undefined {
                    what: "chain".into(),
                    name: chain.text,
                },
            ));
        }
        let mut anchor = None;
        for kw in ["position", "handle", "index"] {
            if self.eat(st, kw)? {
                let at = self.end_span();
                anchor = Some((kw, self.number(st, "a rule handle or index")?, at));
                break;
            }
        }
        let rule = self.rule(st, ti)?;
        let tname = &st.tables[ti].name.clone();
        let chain_ref = st.tables[ti]
            .chain_mut(&chain.text)
            .ok_or_else(|| unreachable_err(self.src, chain.span))?;
        let rules = &mut chain_ref.rules;
        let index = match anchor {
            None => match pos {
                Position::Prepend => 0,
                Position::Append => rules.len(),
                Position::Replace => {
                    return Err(self.structure(chain.span, "replace rule needs `handle N`"))
                }
            },
            Some(("index", n, at)) => {
                let n = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= rules.len())
                    .ok_or_else(|| self.structure(at, "rule index beyond the end of the chain"))?;
                if pos == Position::Append { n + 1 } else { n }.min(rules.len())
            }
            Some((_, h, at)) => {
                let i = rules
                    .iter()
                    .position(|r| r.origin.handle == Some(h as u64))
                    .ok_or_else(|| {
                        self.err(
                            at,
                            ErrorKind::Undefined {
                                what: "rule handle".into(),
                                name: format!("{h} in {tname} {}", chain.text),
                            },
                        )
                    })?;
                match pos {
                    Position::Append => i + 1,
                    Position::Prepend => i,
                    Position::Replace => {
                        rules[i] = rule;
                        return Ok(());
                    }
                }
            }
        };
        rules.insert(index, rule);
        Ok(())
    }

    pub(super) fn delete(&mut self, st: &mut State, quiet: bool) -> R<()> {
        let what = self.word(st, "what to delete")?;
        match what.text.as_str() {
            "table" => {
                let (family, name) = self.family_and(st, "a table name")?;
                let before = st.tables.len();
                st.tables
                    .retain(|t| !(t.family == family && t.name == name.text));
                if before == st.tables.len() && !quiet {
                    return Err(self.err(
                        name.span,
                        ErrorKind::Undefined {
                            what: "table".into(),
                            name: name.text,
                        },
                    ));
                }
            }
            "chain" | "set" | "map" | "rule" | "element" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = match self.table_index(st, family, &table) {
                    Ok(i) => i,
                    Err(_) if quiet => return self.skip_statement(st),
                    Err(e) => return Err(e),
                };
                let name = self.name(st, "a name")?;
                let t = &mut st.tables[ti];
                match what.text.as_str() {
                    "chain" => t.chains.retain(|c| c.name != name.text),
                    "set" | "map" => t.sets.retain(|s| s.name != name.text),
                    "rule" => {
                        if !self.eat(st, "handle")? {
                            return Err(self.expected_here(st, "`handle N`"));
                        }
                        let h = self.number(st, "a rule handle")? as u64;
                        if let Some(c) = st.tables[ti].chain_mut(&name.text) {
                            c.rules.retain(|r| r.origin.handle != Some(h));
                        }
                    }
                    _ => {
                        self.expect_punct(st, "{")?;
                        let (gone, _) = self.set_elements(st)?;
                        if let Some(s) = st.tables[ti].set_mut(&name.text) {
                            s.elements.retain(|e| !gone.iter().any(|g| g.key == e.key));
                        }
                    }
                }
            }
            _ => return self.skip_statement(st),
        }
        Ok(())
    }

    pub(super) fn flush(&mut self, st: &mut State) -> R<()> {
        let what = self.word(st, "what to flush")?;
        match what.text.as_str() {
            "ruleset" => {
                let fam = match self.peek(st)? {
                    Some(t) if t.kind == Kind::Word => Family::from_name(&t.text),
                    _ => None,
                };
                if fam.is_some() {
                    self.pos += 1;
                }
                st.tables.retain(|t| fam.is_some_and(|f| f != t.family));
            }
            "table" | "chain" | "set" | "map" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let t = &mut st.tables[ti];
                match what.text.as_str() {
                    "table" => {
                        t.chains.iter_mut().for_each(|c| c.rules.clear());
                        t.sets.iter_mut().for_each(|s| s.elements.clear());
                    }
                    kind => {
                        let name = self.name(st, "a name")?;
                        let t = &mut st.tables[ti];
                        if kind == "chain" {
                            if let Some(c) = t.chain_mut(&name.text) {
                                c.rules.clear();
                            }
                        } else if let Some(s) = t.set_mut(&name.text) {
                            s.elements.clear();
                        }
                    }
                }
            }
            _ => self.skip_statement(st)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn commands_defines_and_insert() {
        let rs = text(
            "define ports = { 22, 80 }\ndefine lan = 10.0.0.0/8\n\
             add table ip t\nadd chain ip t c { type filter hook input priority 0; }\n\
             add rule ip t c ip saddr $lan tcp dport $ports accept\n\
             insert rule ip t c counter\nadd set ip t s { type ipv4_addr; }\n\
             add element ip t s { 1.2.3.4 }\n",
        );
        let c = &rs.tables[0].chains[0];
        assert_eq!(c.rules[0].body, vec![act(Action::Counter)]);
        assert_eq!(
            c.rules[1].body,
            vec![
                cmp(Key::SrcAddr, Pattern::Prefix("10.0.0.0/8".parse().unwrap())),
                cmp(Key::L4Proto, int(6)),
                cmp(Key::DstPort, Pattern::OneOf(vec![int(22), int(80)])),
                act(Action::Verdict(Verdict::Accept)),
            ]
        );
        assert_eq!(
            &*c.rules[1].origin.text,
            "ip saddr $lan tcp dport $ports accept"
        );
        assert_eq!(rs.tables[0].sets[0].elements[0].key, vec![addr("1.2.3.4")]);
        let rs = text("table ip t { chain c { accept; } }\nflush ruleset\ntable ip u { }\n");
        assert_eq!(rs.tables.len(), 1);
        assert_eq!(rs.tables[0].name, "u");
    }

    #[test]
    fn includes_resolve_next_to_the_file_and_errors_point_at_the_include() {
        let dir = std::env::temp_dir().join(format!("wb-nft-include-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("sub/inner.nft"),
            "define p = 22\ntable ip t { chain c { tcp dport $p drop } }\n",
        )
        .unwrap();
        let main = dir.join("main.nft");
        std::fs::write(
            &main,
            "include \"sub/inner.nft\"\nadd rule ip t c udp dport $p accept\n",
        )
        .unwrap();
        let src = SourceFile::new(
            main.display().to_string(),
            std::fs::read_to_string(&main).unwrap(),
        );
        let rs = parse_text(&src).unwrap();
        let c = &rs.tables[0].chains[0];
        assert_eq!(c.rules.len(), 2);
        assert!(c.rules[0].origin.file.ends_with("inner.nft"));
        assert_eq!(rs.sources.len(), 2);
        let bad = SourceFile::new(
            main.display().to_string(),
            "table ip t { }\ninclude \"nope.nft\"\n",
        );
        let e = parse_text(&bad).unwrap_err();
        assert_eq!(e.line_col(), (2, 9));

        // A device never ends (`/dev/zero`) or never comes (a FIFO): refused, not read; a
        // binary file is named for what it is; a Latin-1 comment is kept.
        std::fs::write(dir.join("gz.nft"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).unwrap();
        std::fs::write(
            dir.join("latin1.nft"),
            b"table ip l { comment \"caf\xe9\"; }\n",
        )
        .unwrap();
        for (include, expected) in [("/dev/zero", "not a regular file"), ("gz.nft", "gzip")] {
            let src = SourceFile::new(
                main.display().to_string(),
                format!("include \"{include}\"\n"),
            );
            let e = parse_text(&src).unwrap_err().to_string();
            assert!(e.contains(expected), "{include}: {e}");
        }
        let src = SourceFile::new(main.display().to_string(), "include \"latin1.nft\"\n");
        let rs = parse_text(&src).unwrap();
        assert_eq!(rs.tables[0].name, "l");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
