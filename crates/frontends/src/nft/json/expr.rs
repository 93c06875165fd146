//! Expressions (`payload`, `meta`, `ct`, `fib`, sets, ranges, prefixes, concatenations,
//! maps), set elements and set key types.

use super::{strings, Reader};
use crate::nft::ast::{BinOp, Elem, Expr, SetKey, VerdictAst};
use model::note::JsonSkip;
use serde_json::Value as J;

impl Reader<'_> {
    pub(super) fn set_key(&mut self, v: Option<&J>, path: &str) -> SetKey {
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
    pub(super) fn elem(&mut self, v: &J, path: &str) -> Elem {
        if let J::Array(pair) = v {
            if pair.len() == 2 {
                let key = self.elem(&pair[0], path);
                return Elem {
                    key: key.key,
                    data: Some(self.expr(&pair[1], path)),
                    comment: key.comment,
                };
            }
        }
        if let Some(inner) = v.get("elem") {
            let val = inner.get("val").unwrap_or(inner);
            return Elem {
                key: self.expr(val, path),
                data: None,
                comment: inner.get("comment").and_then(J::as_str).map(str::to_string),
            };
        }
        Elem {
            key: self.expr(v, path),
            data: None,
            comment: None,
        }
    }

    /// An expression: a scalar, a list, or an object of one key.
    pub(super) fn expr(&mut self, v: &J, path: &str) -> Expr {
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
            J::Array(a) => Expr::List(self.exprs(a, path)),
            J::Null => Expr::Value(String::new()),
            J::Object(o) => match o.iter().next() {
                None => Expr::Value(String::new()),
                Some((k, b)) => match selector(k, b, v).or_else(|| verdict(k, b)) {
                    Some(e) => e,
                    None => self.compound(k, b, v, path),
                },
            },
        }
    }

    fn exprs(&mut self, items: &[J], path: &str) -> Vec<Expr> {
        items.iter().map(|x| self.expr(x, path)).collect()
    }

    /// Expressions made of expressions: concatenations, sets, maps, prefixes, ranges,
    /// binary operations, elements; an unknown key is an opaque expression and a warning.
    fn compound(&mut self, k: &str, b: &J, v: &J, path: &str) -> Expr {
        let sub = |r: &mut Self, key: &str| b.get(key).map_or(Expr::Catchall, |x| r.expr(x, path));
        let operands = |r: &mut Self| b.as_array().map(|a| r.exprs(a, path)).unwrap_or_default();
        match k {
            "concat" => Expr::Concat(operands(self)),
            "set" => {
                let list = match b {
                    J::Array(a) => a.clone(),
                    one => vec![one.clone()],
                };
                Expr::Set(list.iter().map(|e| self.elem(e, path)).collect())
            }
            "map" => Expr::Map {
                key: Box::new(sub(self, "key")),
                data: Box::new(sub(self, "data")),
            },
            "prefix" => {
                let addr = sub(self, "addr");
                let len = b.get("len").and_then(J::as_u64).unwrap_or(0) as u32;
                Expr::Prefix(Box::new(addr), len)
            }
            "range" => {
                let mut bound = |i: usize| b.get(i).map_or(Expr::Catchall, |x| self.expr(x, path));
                let (a, c) = (bound(0), bound(1));
                Expr::Range(Box::new(a), Box::new(c))
            }
            "&" | "|" | "^" | "<<" | ">>" => {
                let op = match k {
                    "&" => BinOp::And,
                    "|" => BinOp::Or,
                    "^" => BinOp::Xor,
                    "<<" => BinOp::Shl,
                    _ => BinOp::Shr,
                };
                // Operands may be more than two (left-associative).
                let mut it = operands(self).into_iter();
                let first = it.next().unwrap_or(Expr::Catchall);
                it.fold(first, |l, r| Expr::Binop {
                    op,
                    left: Box::new(l),
                    right: Box::new(r),
                })
            }
            "elem" => self.elem(v, path).key,
            other => {
                self.warn(path, JsonSkip::UnknownExpression(other.to_string()));
                Expr::Opaque {
                    name: other.to_string(),
                    text: v.to_string(),
                }
            }
        }
    }
}

/// What a selector object reads (`{"payload": {...}}`, `{"meta": {...}}`, ...); `v` is the
/// whole object, kept as the text of what is not modelled.
fn selector(k: &str, b: &J, v: &J) -> Option<Expr> {
    let s = |key: &str| b.get(key).and_then(J::as_str).unwrap_or("").to_string();
    let opaque = |name: String| Expr::Opaque {
        name,
        text: v.to_string(),
    };
    Some(match k {
        "payload" if b.get("protocol").is_some() => Expr::Payload {
            proto: s("protocol"),
            field: s("field"),
        },
        "payload" => Expr::Raw {
            base: s("base"),
            offset: b.get("offset").and_then(J::as_u64).unwrap_or(0),
            len: b.get("len").and_then(J::as_u64).unwrap_or(0),
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
        "rt" => opaque(format!("rt {}", s("key"))),
        "socket" | "osf" | "numgen" | "jhash" | "symhash" | "ipsec" | "tunnel" | "ip option"
        | "sctp chunk" | "dccp option" => opaque(k.to_string()),
        _ => return None,
    })
}

/// A verdict as a map's data (`{"accept": null}`, `{"jump": {"target": "c"}}`).
fn verdict(k: &str, b: &J) -> Option<Expr> {
    let target = || {
        b.get("target")
            .and_then(J::as_str)
            .unwrap_or("")
            .to_string()
    };
    Some(Expr::Verdict(match k {
        "accept" => VerdictAst::Accept,
        "drop" => VerdictAst::Drop,
        "continue" => VerdictAst::Continue,
        "return" => VerdictAst::Return,
        "jump" => VerdictAst::Jump(target()),
        "goto" => VerdictAst::Goto(target()),
        _ => return None,
    }))
}
