//! Expressions (`payload`, `meta`, `ct`, `fib`, sets, ranges, prefixes, concatenations,
//! maps), set elements and set key types.

use super::*;

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
}
