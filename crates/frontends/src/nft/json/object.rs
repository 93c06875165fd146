//! The objects of the `nftables` array: tables, chains, rules, sets and maps, elements,
//! and the `add`/`insert`/`flush` commands that wrap them.

use super::{named_prio, strings, Reader};
use crate::nft::ast::{ChainAst, Elem, HookAst, Prio, RuleAst, SetAst, Stmt, TableAst};
use crate::ParseError;
use model::note::JsonSkip;
use model::source::Counters;
use model::{Family, Span};
use serde::Deserialize;
use serde_json::Value as J;

#[derive(Deserialize)]
pub(super) struct TableJ {
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
pub(super) struct ChainJ {
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
pub(super) struct RuleJ {
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
pub(super) struct SetJ {
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

impl Reader<'_> {
    /// One object of the `nftables` array (its keys in order).
    pub(super) fn item(&mut self, v: &J, span: Span, path: &str) -> Result<(), ParseError> {
        let Some(obj) = v.as_object() else {
            self.warn(path, JsonSkip::NotAnObject);
            return Ok(());
        };
        for (k, body) in obj {
            let path = format!("{path}.{k}");
            match k.as_str() {
                "metainfo" => {}
                "table" => self.table(body, span, &path)?,
                "chain" => self.chain(body, span, &path)?,
                "rule" => self.rule(body, span, &path)?,
                "set" | "map" => self.set(k, body, span, &path)?,
                "element" => self.element(body, &path)?,
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
                other => self.warn(&path, JsonSkip::UnknownObject(other.to_string())),
            }
        }
        Ok(())
    }

    /// `table`: a new table (a table listed twice is one).
    fn table(&mut self, body: &J, span: Span, path: &str) -> Result<(), ParseError> {
        let t: TableJ = self.de(body, span, path)?;
        let Some(family) = Family::from_name(&t.family) else {
            self.warn(path, JsonSkip::UnknownFamily(t.family.clone()));
            return Ok(());
        };
        let mut origin = self.origin(span, t.handle, format!("table {} {}", t.family, t.name));
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
        Ok(())
    }

    /// `chain`: a chain of a table listed before, with its hook when it has one.
    fn chain(&mut self, body: &J, span: Span, path: &str) -> Result<(), ParseError> {
        let c: ChainJ = self.de(body, span, path)?;
        let Some(ti) = self.table_index(&c.family, &c.table, path) else {
            return Ok(());
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
        Ok(())
    }

    /// `rule`: its statements, and its text as `nft list ruleset` prints it.
    fn rule(&mut self, body: &J, span: Span, path: &str) -> Result<(), ParseError> {
        let r: RuleJ = self.de(body, span, path)?;
        let Some(ti) = self.table_index(&r.family, &r.table, path) else {
            return Ok(());
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
        let text = crate::nft::print::rule(&r.family, &stmts, r.comment.as_deref())
            .unwrap_or_else(|| serde_json::to_string(&r.expr).unwrap_or_default());
        let mut origin = self.origin(span, r.handle, text);
        origin.comment = r.comment;
        origin.counters = counters;
        match self.doc.tables[ti].chain_mut(&r.chain) {
            Some(c) => c.rules.push(RuleAst { stmts, origin }),
            None => self.warn(path, JsonSkip::UndefinedChain(r.chain.clone())),
        }
        Ok(())
    }

    /// `set` / `map` (`k` says which), with its elements.
    fn set(&mut self, k: &str, body: &J, span: Span, path: &str) -> Result<(), ParseError> {
        let s: SetJ = self.de(body, span, path)?;
        let Some(ti) = self.table_index(&s.family, &s.table, path) else {
            return Ok(());
        };
        let key = self.set_key(s.key_type.as_ref(), path);
        let data = s.map.as_ref().map(|m| self.set_key(Some(m), path));
        let mut elements = Vec::new();
        let mut timeouts = s.timeout.is_some();
        if let Some(e) = &s.elem {
            let list = match e {
                J::Array(a) => a.clone(),
                one => vec![one.clone()],
            };
            for (i, el) in list.iter().enumerate() {
                timeouts |= el
                    .get("elem")
                    .is_some_and(|x| x.get("timeout").is_some() || x.get("expires").is_some());
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
        Ok(())
    }

    /// `element`: elements added to a set listed before.
    fn element(&mut self, body: &J, path: &str) -> Result<(), ParseError> {
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
        let Some(ti) = self.table_index(&family, &table, path) else {
            return Ok(());
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
            None => self.warn(path, JsonSkip::UndefinedSet(name.to_string())),
        }
        Ok(())
    }
}
