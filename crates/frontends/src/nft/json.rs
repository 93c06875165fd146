//! `nft -j list ruleset` (libnftables-json(5)) into the syntax tree of [`super::ast`].
//!
//! Each object of the top-level `nftables` array is read on its own (its byte span is found
//! by a small scanner, so rules get a file span and line) into our own serde structs;
//! expressions and statements, whose shape depends on their single key, are read from
//! `serde_json::Value`. Tolerant of version differences: a flag may be a string or an
//! array, priorities numbers or names, `dev` a string or an array. Objects and statements
//! not known are reported by JSON path in the warnings and skipped (statements become
//! "unknown", so a rule never silently loses one).

use super::ast::*;
use super::parse::Doc;
use crate::{ErrorKind, ParseError};
use model::expr::{Effect, Undecidable};
use model::source::Counters;
use model::{Dialect, Family, Origin, SourceFile, Span};
use serde::Deserialize;
use serde_json::Value as J;

#[derive(Deserialize)]
struct TableJ {
    family: String,
    name: String,
    #[serde(default)]
    handle: Option<u64>,
    #[serde(default)]
    flags: Option<J>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct ChainJ {
    family: String,
    table: String,
    name: String,
    #[serde(default)]
    handle: Option<u64>,
    #[serde(default, rename = "type")]
    chain_type: Option<String>,
    #[serde(default)]
    hook: Option<String>,
    #[serde(default)]
    prio: Option<J>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    dev: Option<J>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct RuleJ {
    family: String,
    table: String,
    chain: String,
    #[serde(default)]
    handle: Option<u64>,
    #[serde(default)]
    expr: Vec<J>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct SetJ {
    family: String,
    table: String,
    name: String,
    #[serde(default)]
    handle: Option<u64>,
    #[serde(default, rename = "type")]
    key_type: Option<J>,
    #[serde(default)]
    map: Option<J>,
    #[serde(default)]
    flags: Option<J>,
    #[serde(default)]
    elem: Option<J>,
    #[serde(default)]
    timeout: Option<J>,
    #[serde(default)]
    comment: Option<String>,
}

/// Parses `nft -j` output; warnings name what was skipped, by JSON path.
pub fn parse(source: &SourceFile) -> Result<(Doc, Vec<String>), ParseError> {
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
    for (i, span) in items.into_iter().enumerate() {
        let slice = &text[span.start as usize..span.end as usize];
        let v: J = serde_json::from_str(slice).map_err(|e| {
            let at = at_line_col(slice, e.line(), e.column()).offset(span.start as usize);
            json_err(at, e.to_string())
        })?;
        r.item(&v, span, &format!("nftables[{i}]"))?;
    }
    Ok((r.doc, r.warnings))
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
    warnings: Vec<String>,
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
        let line = self.lines.partition_point(|&l| l <= span.start as usize) as u32;
        Origin {
            file: self.src.name.clone(),
            span,
            line,
            handle,
            text,
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

    fn table_index(&mut self, family: &str, table: &str, path: &str) -> Option<usize> {
        let f = Family::from_name(family)?;
        let i = self
            .doc
            .tables
            .iter()
            .position(|t| t.family == f && t.name == table);
        if i.is_none() {
            self.warnings.push(format!(
                "{path}: table {family} {table} is not defined; skipped"
            ));
        }
        i
    }

    fn item(&mut self, v: &J, span: Span, path: &str) -> Result<(), ParseError> {
        let Some(obj) = v.as_object() else {
            self.warnings
                .push(format!("{path}: not an object; skipped"));
            return Ok(());
        };
        for (k, body) in obj {
            let path = format!("{path}.{k}");
            match k.as_str() {
                "metainfo" => {}
                "table" => {
                    let t: TableJ = self.de(body, span, &path)?;
                    let Some(family) = Family::from_name(&t.family) else {
                        self.warnings
                            .push(format!("{path}: unknown family `{}`; skipped", t.family));
                        continue;
                    };
                    let mut origin =
                        self.origin(span, t.handle, format!("table {} {}", t.family, t.name));
                    origin.comment = t.comment;
                    if !self
                        .doc
                        .tables
                        .iter()
                        .any(|x| x.family == family && x.name == t.name)
                    {
                        self.doc.tables.push(TableAst {
                            family,
                            name: t.name,
                            flags: strings(t.flags.as_ref()),
                            chains: vec![],
                            sets: vec![],
                            origin,
                        });
                    }
                }
                "chain" => {
                    let c: ChainJ = self.de(body, span, &path)?;
                    let Some(ti) = self.table_index(&c.family, &c.table, &path) else {
                        continue;
                    };
                    let hook = match (&c.chain_type, &c.hook) {
                        (Some(ty), Some(h)) => Some(HookAst {
                            chain_type: ty.clone(),
                            hook: h.clone(),
                            devices: strings(c.dev.as_ref()),
                            priority: match &c.prio {
                                Some(J::Number(n)) => Prio::Num(n.as_i64().unwrap_or(0)),
                                Some(J::String(s)) => named_prio(s),
                                _ => Prio::Num(0),
                            },
                            policy: c.policy.clone(),
                            span,
                        }),
                        _ => None,
                    };
                    let text = format!("chain {} {} {}", c.family, c.table, c.name);
                    let mut origin = self.origin(span, c.handle, text);
                    origin.comment = c.comment;
                    let t = &mut self.doc.tables[ti];
                    if t.chain_mut(&c.name).is_none() {
                        t.chains.push(ChainAst {
                            name: c.name,
                            hook,
                            rules: vec![],
                            origin,
                        });
                    }
                }
                "rule" => {
                    let r: RuleJ = self.de(body, span, &path)?;
                    let Some(ti) = self.table_index(&r.family, &r.table, &path) else {
                        continue;
                    };
                    let mut stmts = Vec::with_capacity(r.expr.len());
                    let mut counters = None;
                    for (i, s) in r.expr.iter().enumerate() {
                        let spath = format!("{path}.expr[{i}]");
                        if let Some(c) = s.get("counter").filter(|c| c.is_object()) {
                            let n = |k: &str| c.get(k).and_then(J::as_u64);
                            if let (Some(packets), Some(bytes)) = (n("packets"), n("bytes")) {
                                counters = Some(Counters { packets, bytes });
                            }
                        }
                        let kind = self.stmt(s, &spath);
                        stmts.push(Stmt {
                            kind,
                            span,
                            text: s.to_string(),
                        });
                    }
                    // As `nft list ruleset` prints it; the compact JSON for forms the
                    // printer does not render faithfully.
                    let text = super::print::rule(&r.family, &stmts, r.comment.as_deref())
                        .unwrap_or_else(|| serde_json::to_string(&r.expr).unwrap_or_default());
                    let mut origin = self.origin(span, r.handle, text);
                    origin.comment = r.comment;
                    origin.counters = counters;
                    match self.doc.tables[ti].chain_mut(&r.chain) {
                        Some(c) => c.rules.push(RuleAst { stmts, origin }),
                        None => self
                            .warnings
                            .push(format!("{path}: chain {} is not defined; skipped", r.chain)),
                    }
                }
                "set" | "map" => {
                    let s: SetJ = self.de(body, span, &path)?;
                    let Some(ti) = self.table_index(&s.family, &s.table, &path) else {
                        continue;
                    };
                    let key = self.set_key(s.key_type.as_ref(), &path);
                    let data = s.map.as_ref().map(|m| self.set_key(Some(m), &path));
                    let mut elements = Vec::new();
                    let mut timeouts = s.timeout.is_some();
                    if let Some(e) = &s.elem {
                        let list = match e {
                            J::Array(a) => a.clone(),
                            one => vec![one.clone()],
                        };
                        for (i, el) in list.iter().enumerate() {
                            timeouts |= el.get("elem").is_some_and(|x| {
                                x.get("timeout").is_some() || x.get("expires").is_some()
                            });
                            elements.push(self.elem(el, &format!("{path}.elem[{i}]")));
                        }
                    }
                    let kw = if k == "map" { "map" } else { "set" };
                    let mut origin = self.origin(
                        span,
                        s.handle,
                        format!("{kw} {} {} {}", s.family, s.table, s.name),
                    );
                    origin.comment = s.comment;
                    let set = SetAst {
                        name: s.name,
                        is_map: k == "map",
                        key,
                        data,
                        flags: strings(s.flags.as_ref()),
                        timeouts,
                        elements,
                        origin,
                    };
                    let t = &mut self.doc.tables[ti];
                    match t.set_mut(&set.name) {
                        Some(old) => *old = set,
                        None => t.sets.push(set),
                    }
                }
                "element" => {
                    let family = body
                        .get("family")
                        .and_then(J::as_str)
                        .unwrap_or("ip")
                        .to_string();
                    let table = body
                        .get("table")
                        .and_then(J::as_str)
                        .unwrap_or("")
                        .to_string();
                    let name = body
                        .get("name")
                        .and_then(J::as_str)
                        .unwrap_or("")
                        .to_string();
                    let Some(ti) = self.table_index(&family, &table, &path) else {
                        continue;
                    };
                    let list = match body.get("elem") {
                        Some(J::Array(a)) => a.clone(),
                        Some(one) => vec![one.clone()],
                        None => vec![],
                    };
                    let elems: Vec<Elem> = list
                        .iter()
                        .enumerate()
                        .map(|(i, e)| self.elem(e, &format!("{path}.elem[{i}]")))
                        .collect();
                    match self.doc.tables[ti].set_mut(&name) {
                        Some(s) => s.elements.extend(elems),
                        None => self
                            .warnings
                            .push(format!("{path}: set {name} is not defined; skipped")),
                    }
                }
                "add" | "create" | "insert" => {
                    if let Some(inner) = body.as_object() {
                        for (k2, v2) in inner {
                            let wrapped = serde_json::json!({ k2.clone(): v2.clone() });
                            self.item(&wrapped, span, &path)?;
                        }
                    }
                }
                "flush" if body.get("ruleset").is_some() => self.doc.tables.clear(),
                // Objects that do not decide verdicts.
                "flowtable" | "counter" | "quota" | "limit" | "ct helper" | "ct timeout"
                | "ct expectation" | "secmark" | "synproxy" | "tunnel" => {}
                other => self
                    .warnings
                    .push(format!("{path}: unknown object `{other}`; skipped")),
            }
        }
        Ok(())
    }

    fn set_key(&mut self, v: Option<&J>, path: &str) -> SetKey {
        match v {
            Some(J::Object(o)) if o.contains_key("typeof") => {
                let e = self.expr(&o["typeof"], path);
                match e {
                    Expr::Concat(parts) => SetKey::Typeof(parts),
                    one => SetKey::Typeof(vec![one]),
                }
            }
            other => SetKey::Type(strings(other)),
        }
    }

    /// A set or map element: `key`, `{"elem": {"val": key}}`, or `[key, data]`.
    fn elem(&mut self, v: &J, path: &str) -> Elem {
        if let J::Array(pair) = v {
            if pair.len() == 2 {
                return Elem {
                    key: self.elem(&pair[0], path).key,
                    data: Some(self.expr(&pair[1], path)),
                };
            }
        }
        if let Some(inner) = v.get("elem") {
            let val = inner.get("val").unwrap_or(inner);
            return Elem {
                key: self.expr(val, path),
                data: None,
            };
        }
        Elem {
            key: self.expr(v, path),
            data: None,
        }
    }

    fn expr(&mut self, v: &J, path: &str) -> Expr {
        match v {
            J::String(s) if s == "*" => Expr::Catchall,
            J::String(s) => match s.strip_prefix('@') {
                Some(n) => Expr::SetRef(n.to_string()),
                None => Expr::Value(s.clone()),
            },
            J::Number(n) => match n.as_i64() {
                Some(i) => Expr::Num(i),
                None => Expr::Value(n.to_string()),
            },
            J::Bool(b) => Expr::Bool(*b),
            J::Array(a) => Expr::List(a.iter().map(|x| self.expr(x, path)).collect()),
            J::Null => Expr::Value(String::new()),
            J::Object(o) => {
                let Some((k, b)) = o.iter().next() else {
                    return Expr::Value(String::new());
                };
                let s = |key: &str| b.get(key).and_then(J::as_str).unwrap_or("").to_string();
                let two = |r: &mut Self| -> (Expr, Expr) {
                    let a = b.get(0).map_or(Expr::Catchall, |x| r.expr(x, path));
                    let c = b.get(1).map_or(Expr::Catchall, |x| r.expr(x, path));
                    (a, c)
                };
                match k.as_str() {
                    "payload" if b.get("protocol").is_some() => Expr::Payload {
                        proto: s("protocol"),
                        field: s("field"),
                    },
                    "payload" => Expr::Opaque {
                        name: "raw payload".into(),
                        text: v.to_string(),
                    },
                    "meta" => Expr::Meta(s("key")),
                    "ct" => Expr::Ct {
                        key: s("key"),
                        dir: b.get("dir").and_then(J::as_str).map(str::to_string),
                    },
                    "fib" => Expr::Fib {
                        flags: strings(b.get("flags")),
                        result: s("result"),
                    },
                    "exthdr" => Expr::Exthdr {
                        name: s("name"),
                        field: s("field"),
                    },
                    "tcp option" => Expr::TcpOption {
                        name: s("name"),
                        field: b.get("field").and_then(J::as_str).map(str::to_string),
                    },
                    "rt" => Expr::Opaque {
                        name: format!("rt {}", s("key")),
                        text: v.to_string(),
                    },
                    "concat" => Expr::Concat(
                        b.as_array()
                            .map(|a| a.iter().map(|x| self.expr(x, path)).collect())
                            .unwrap_or_default(),
                    ),
                    "set" => {
                        let list = match b {
                            J::Array(a) => a.clone(),
                            one => vec![one.clone()],
                        };
                        Expr::Set(list.iter().map(|e| self.elem(e, path)).collect())
                    }
                    "map" => Expr::Map {
                        key: Box::new(b.get("key").map_or(Expr::Catchall, |x| self.expr(x, path))),
                        data: Box::new(
                            b.get("data").map_or(Expr::Catchall, |x| self.expr(x, path)),
                        ),
                    },
                    "prefix" => {
                        let addr = b.get("addr").map_or(Expr::Catchall, |x| self.expr(x, path));
                        Expr::Prefix(
                            Box::new(addr),
                            b.get("len").and_then(J::as_u64).unwrap_or(0) as u32,
                        )
                    }
                    "range" => {
                        let (a, c) = two(self);
                        Expr::Range(Box::new(a), Box::new(c))
                    }
                    "&" | "|" | "^" | "<<" | ">>" => {
                        let op = match k.as_str() {
                            "&" => BinOp::And,
                            "|" => BinOp::Or,
                            "^" => BinOp::Xor,
                            "<<" => BinOp::Shl,
                            _ => BinOp::Shr,
                        };
                        // Operands may be more than two (left-associative).
                        let items: Vec<Expr> = b
                            .as_array()
                            .map(|a| a.iter().map(|x| self.expr(x, path)).collect())
                            .unwrap_or_default();
                        let mut it = items.into_iter();
                        let first = it.next().unwrap_or(Expr::Catchall);
                        it.fold(first, |l, r| Expr::Binop {
                            op,
                            left: Box::new(l),
                            right: Box::new(r),
                        })
                    }
                    "elem" => self.elem(v, path).key,
                    "accept" => Expr::Verdict(VerdictAst::Accept),
                    "drop" => Expr::Verdict(VerdictAst::Drop),
                    "continue" => Expr::Verdict(VerdictAst::Continue),
                    "return" => Expr::Verdict(VerdictAst::Return),
                    "jump" => Expr::Verdict(VerdictAst::Jump(s("target"))),
                    "goto" => Expr::Verdict(VerdictAst::Goto(s("target"))),
                    "socket" | "osf" | "numgen" | "jhash" | "symhash" | "ipsec" | "tunnel"
                    | "ip option" | "sctp chunk" | "dccp option" => Expr::Opaque {
                        name: k.clone(),
                        text: v.to_string(),
                    },
                    other => {
                        self.warnings
                            .push(format!("{path}: unknown expression `{other}`"));
                        Expr::Opaque {
                            name: other.to_string(),
                            text: v.to_string(),
                        }
                    }
                }
            }
        }
    }

    fn stmt(&mut self, v: &J, path: &str) -> StmtKind {
        let Some((k, b)) = v.as_object().and_then(|o| o.iter().next()) else {
            self.warnings
                .push(format!("{path}: not a statement object"));
            return StmtKind::Unknown(v.to_string());
        };
        let s = |key: &str| b.get(key).and_then(J::as_str).map(str::to_string);
        match k.as_str() {
            "match" => {
                let op = match b.get("op").and_then(J::as_str).unwrap_or("==") {
                    "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    ">" => Op::Gt,
                    "<=" => Op::Le,
                    ">=" => Op::Ge,
                    _ => Op::Implicit,
                };
                let left = b.get("left").map_or(Expr::Catchall, |x| self.expr(x, path));
                let right = b
                    .get("right")
                    .map_or(Expr::Catchall, |x| self.expr(x, path));
                StmtKind::Match { left, op, right }
            }
            "accept" => StmtKind::Verdict(VerdictAst::Accept),
            "drop" => StmtKind::Verdict(VerdictAst::Drop),
            "continue" => StmtKind::Verdict(VerdictAst::Continue),
            "return" => StmtKind::Verdict(VerdictAst::Return),
            "jump" => StmtKind::Verdict(VerdictAst::Jump(s("target").unwrap_or_default())),
            "goto" => StmtKind::Verdict(VerdictAst::Goto(s("target").unwrap_or_default())),
            "counter" => StmtKind::Counter,
            "log" => StmtKind::Log(LogAst {
                prefix: s("prefix"),
                level: s("level"),
                group: b.get("group").and_then(J::as_u64).map(|g| g as u16),
                flags: strings(b.get("flags")),
            }),
            "reject" => {
                let kind = s("type");
                let code = b.get("expr").and_then(J::as_str).map(str::to_string);
                match (kind.as_deref(), code) {
                    (Some("tcp reset"), _) => StmtKind::Reject {
                        kind: kind.clone(),
                        code: None,
                    },
                    (Some(_), None) => StmtKind::Reject {
                        kind: kind.clone(),
                        code: Some("port-unreachable".into()),
                    },
                    (k, c) => StmtKind::Reject {
                        kind: k.map(str::to_string),
                        code: c,
                    },
                }
            }
            "snat" | "dnat" | "masquerade" | "redirect" => {
                let addr = b.get("addr").map(|x| self.expr(x, path));
                let port = b.get("port").map(|x| self.expr(x, path));
                let prefix = strings(b.get("type_flags")).iter().any(|f| f == "prefix");
                let addr = if prefix {
                    addr.map(|a| Expr::Opaque {
                        name: "nat prefix".into(),
                        text: format!("{a:?}"),
                    })
                } else {
                    addr
                };
                StmtKind::Nat {
                    kind: k.clone(),
                    family: s("family"),
                    addr,
                    port,
                    flags: strings(b.get("flags")),
                }
            }
            "mangle" => StmtKind::Mangle {
                key: b.get("key").map_or(Expr::Catchall, |x| self.expr(x, path)),
                value: b
                    .get("value")
                    .map_or(Expr::Catchall, |x| self.expr(x, path)),
            },
            "notrack" => StmtKind::Notrack,
            "vmap" => StmtKind::VMap {
                key: b.get("key").map_or(Expr::Catchall, |x| self.expr(x, path)),
                data: b.get("data").map_or(Expr::Catchall, |x| self.expr(x, path)),
            },
            "queue" => {
                let num = match b.get("num") {
                    None => None,
                    Some(J::Number(n)) => n.as_u64().map(|n| QueueNum::Range(n as u16, n as u16)),
                    Some(J::Object(o)) if o.contains_key("range") => {
                        let r = &o["range"];
                        let g = |i: usize| r.get(i).and_then(J::as_u64).unwrap_or(0) as u16;
                        Some(QueueNum::Range(g(0), g(1)))
                    }
                    Some(J::Object(o)) => {
                        let inner = o.values().next();
                        let g = |k: &str| {
                            inner
                                .and_then(|x| x.get(k))
                                .and_then(J::as_u64)
                                .unwrap_or(0) as u32
                        };
                        Some(QueueNum::Hashed {
                            modulus: g("mod").max(1),
                            offset: g("offset"),
                        })
                    }
                    Some(_) => None,
                };
                StmtKind::Queue {
                    num,
                    flags: strings(b.get("flags")),
                }
            }
            "limit" | "meter" => StmtKind::Undecidable {
                kind: Undecidable::Limit,
                text: v.to_string(),
            },
            "quota" => StmtKind::Undecidable {
                kind: Undecidable::Quota,
                text: v.to_string(),
            },
            "ct count" => StmtKind::Undecidable {
                kind: Undecidable::CtCount,
                text: v.to_string(),
            },
            "set" | "map" => {
                let set = s(k)
                    .map(|n| n.trim_start_matches('@').to_string())
                    .unwrap_or_default();
                let elem = b.get("elem").map_or(Expr::Catchall, |x| self.expr(x, path));
                let stateful = b.get("stmt").and_then(J::as_array).is_some_and(|a| {
                    a.iter().any(|x| {
                        x.get("limit").is_some()
                            || x.get("quota").is_some()
                            || x.get("ct count").is_some()
                    })
                });
                StmtKind::SetUpdate {
                    op: s("op").unwrap_or_else(|| "add".into()),
                    set,
                    elem,
                    stateful,
                }
            }
            "ct helper" => StmtKind::Mangle {
                key: Expr::Ct {
                    key: "helper".into(),
                    dir: None,
                },
                value: self.expr(b, path),
            },
            "ct timeout" | "ct expectation" => StmtKind::Effect(Effect::CtAttribute {
                key: k.trim_start_matches("ct ").to_string(),
            }),
            "secmark" => StmtKind::Effect(Effect::Secmark),
            "last" => StmtKind::Effect(Effect::Last),
            "dup" => StmtKind::Effect(Effect::Dup),
            "flow" => StmtKind::Effect(Effect::FlowOffload {
                flowtable: b
                    .get("flowtable")
                    .and_then(J::as_str)
                    .map(|f| f.trim_start_matches('@').to_string())
                    .unwrap_or_default(),
            }),
            // An xt match is a condition (Unknown: branches match / no match); an xt target
            // is an action whose effect is Unknown. Either way iptables-save shows it.
            "xt" if b.get("type").and_then(J::as_str) == Some("match") => {
                let name = b.get("name").and_then(J::as_str).unwrap_or("?");
                StmtKind::Undecidable {
                    kind: Undecidable::Unsupported(format!(
                        "xt match {name} (iptables-nft compat expression: pass the iptables-save view too)"
                    )),
                    text: compact(k, b),
                }
            }
            "xt" => StmtKind::Unknown(match b.get("name").and_then(J::as_str) {
                Some(name) => format!(
                    "xt target {name} (iptables-nft compat expression: pass the iptables-save view too)"
                ),
                None => format!(
                    "{} (iptables-nft compat expression: pass the iptables-save view too)",
                    compact(k, b)
                ),
            }),
            "fwd" | "synproxy" | "tproxy" => StmtKind::Unknown(compact(k, b)),
            other => {
                self.warnings
                    .push(format!("{path}: unknown statement `{other}`"));
                StmtKind::Unknown(compact(k, b))
            }
        }
    }
}

fn compact(k: &str, b: &J) -> String {
    if b.is_null() {
        k.to_string()
    } else {
        format!("{k} {b}")
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

    #[test]
    fn json_tolerates_unknown_objects_and_single_flags() {
        let j = r#"{"nftables": [{"table": {"family": "ip", "name": "t", "flags": "dormant"}},
            {"wibble": {}},
            {"chain": {"family": "ip", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": "filter + 5", "policy": "drop"}},
            {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"frob": 1}, {"accept": null}]}}]}"#;
        let (rs, w) = parse_json(&SourceFile::new("j", j)).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("nftables[1].wibble"));
        assert!(rs.tables[0].chains[0].base.is_none(), "dormant");
        assert!(matches!(
            rs.tables[0].chains[0].rules[0].body[0],
            Step::Action(Action::Undecidable(_))
        ));
        assert_eq!(rs.tables[0].chains[0].rules[0].origin.line, 4);
    }
}
