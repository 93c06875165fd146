//! Statements (`match`, verdicts, `counter`, `log`, `reject`, NAT, `mangle`, set
//! updates, ...), each read from its single key.

use super::*;

pub(super) fn compact(k: &str, b: &J) -> String {
    if b.is_null() {
        k.to_string()
    } else {
        format!("{k} {b}")
    }
}

impl Reader<'_> {
    pub(super) fn stmt(&mut self, v: &J, path: &str) -> StmtKind {
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
