//! Statements (`match`, verdicts, `counter`, `log`, `reject`, NAT, `mangle`, set
//! updates, ...), each read from its single key.

use super::{strings, Reader};
use crate::nft::ast::{Expr, LogAst, Op, QueueNum, StmtKind, VerdictAst};
use crate::unmodelled::unmodelled;
use model::expr::{Effect, Undecidable};
use model::note::JsonSkip;
use serde_json::Value as J;

pub(super) fn compact(k: &str, b: &J) -> String {
    if b.is_null() {
        k.to_string()
    } else {
        format!("{k} {b}")
    }
}

/// Why an `xt` expression is not read: the iptables-save view has it.
const COMPAT: &str = "iptables-nft compat expression: pass the iptables-save view too";

impl Reader<'_> {
    /// One statement object (`{"KEY": BODY}`).
    pub(super) fn stmt(&mut self, v: &J, path: &str) -> StmtKind {
        let Some((k, b)) = v.as_object().and_then(|o| o.iter().next()) else {
            self.warn(path, JsonSkip::NotAStatement);
            return StmtKind::Unknown(v.to_string());
        };
        let s = |key: &str| b.get(key).and_then(J::as_str).map(str::to_string);
        let mut expr = |key: &str| b.get(key).map_or(Expr::Catchall, |x| self.expr(x, path));
        let undecidable = |kind| StmtKind::Undecidable {
            kind,
            text: v.to_string(),
        };
        match k.as_str() {
            "match" => {
                let written = s("op").unwrap_or_else(|| "==".into());
                let op = match written.as_str() {
                    "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    ">" => Op::Gt,
                    "<=" => Op::Le,
                    ">=" => Op::Ge,
                    "!" => Op::Neg,
                    "in" => Op::Implicit,
                    // An operator read as another would invert or widen the match.
                    other => {
                        return undecidable(Undecidable::Unsupported(unmodelled(format!(
                            "match operator `{other}`"
                        ))))
                    }
                };
                let left = expr("left");
                let right = expr("right");
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
            "reject" => reject(b),
            "snat" | "dnat" | "masquerade" | "redirect" => self.nat(k, b, path),
            "mangle" => StmtKind::Mangle {
                key: expr("key"),
                value: expr("value"),
            },
            "notrack" => StmtKind::Notrack,
            "vmap" => StmtKind::VMap {
                key: expr("key"),
                data: expr("data"),
            },
            "queue" => queue(b),
            "limit" | "meter" => undecidable(Undecidable::Limit),
            "quota" => undecidable(Undecidable::Quota),
            "ct count" => undecidable(Undecidable::CtCount),
            "set" | "map" => self.set_update(k, b, path),
            "ct helper" => StmtKind::Mangle {
                key: Expr::Ct {
                    key: "helper".into(),
                    dir: None,
                },
                value: self.expr(b, path),
            },
            "ct timeout" | "ct expectation" | "secmark" | "last" | "dup" | "flow" => effect(k, b),
            "xt" => xt(b),
            "fwd" | "synproxy" | "tproxy" => StmtKind::Unknown(compact(k, b)),
            other => {
                self.warn(path, JsonSkip::UnknownStatement(other.to_string()));
                StmtKind::Unknown(compact(k, b))
            }
        }
    }

    /// `snat`, `dnat`, `masquerade`, `redirect` (`k`); a prefix mapping is not modelled.
    fn nat(&mut self, k: &str, b: &J, path: &str) -> StmtKind {
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
            kind: k.to_string(),
            family: b.get("family").and_then(J::as_str).map(str::to_string),
            addr,
            port,
            flags: strings(b.get("flags")),
        }
    }

    /// `{"set": {"op": "add", "set": "@s", "elem": ..., "stmt": [...]}}` (or `map`).
    fn set_update(&mut self, k: &str, b: &J, path: &str) -> StmtKind {
        let set = b
            .get(k)
            .and_then(J::as_str)
            .map(|n| n.trim_start_matches('@').to_string())
            .unwrap_or_default();
        let elem = b.get("elem").map_or(Expr::Catchall, |x| self.expr(x, path));
        let stateful = b.get("stmt").and_then(J::as_array).is_some_and(|a| {
            a.iter().any(|x| {
                x.get("limit").is_some() || x.get("quota").is_some() || x.get("ct count").is_some()
            })
        });
        StmtKind::SetUpdate {
            op: b.get("op").and_then(J::as_str).unwrap_or("add").to_string(),
            set,
            elem,
            stateful,
        }
    }
}

/// `reject` with its `type` and `expr` (a code); a type without a code is nft's default,
/// port-unreachable.
fn reject(b: &J) -> StmtKind {
    let kind = b.get("type").and_then(J::as_str).map(str::to_string);
    let code = b.get("expr").and_then(J::as_str).map(str::to_string);
    match (kind.as_deref(), code) {
        (Some("tcp reset"), _) => StmtKind::Reject { kind, code: None },
        (Some(_), None) => StmtKind::Reject {
            kind,
            code: Some("port-unreachable".into()),
        },
        (_, code) => StmtKind::Reject { kind, code },
    }
}

/// `queue` with `num` as a number, a range or a hash (`numgen`, `jhash`).
fn queue(b: &J) -> StmtKind {
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

/// Statements with no effect on the verdict: what they do.
fn effect(k: &str, b: &J) -> StmtKind {
    StmtKind::Effect(match k {
        "ct timeout" | "ct expectation" => Effect::CtAttribute {
            key: k.trim_start_matches("ct ").to_string(),
        },
        "secmark" => Effect::Secmark,
        "last" => Effect::Last,
        "dup" => Effect::Dup,
        _ => Effect::FlowOffload {
            flowtable: b
                .get("flowtable")
                .and_then(J::as_str)
                .map(|f| f.trim_start_matches('@').to_string())
                .unwrap_or_default(),
        },
    })
}

/// An xt match is a condition (Unknown: branches match / no match); an xt target is an
/// action whose effect is Unknown. Either way iptables-save shows it.
fn xt(b: &J) -> StmtKind {
    let name = b.get("name").and_then(J::as_str);
    if b.get("type").and_then(J::as_str) == Some("match") {
        let name = name.unwrap_or("?");
        return StmtKind::Undecidable {
            kind: Undecidable::Unsupported(unmodelled(format!("xt match {name} ({COMPAT})"))),
            text: compact("xt", b),
        };
    }
    StmtKind::Unknown(match name {
        Some(name) => format!("xt target {name} ({COMPAT})"),
        None => format!("{} ({COMPAT})", compact("xt", b)),
    })
}
