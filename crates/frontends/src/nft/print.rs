//! A rule of the syntax tree as `nft list ruleset` prints it (nft 1.0.6), for rules read
//! from `nft -j` JSON, whose origin text would otherwise be compact JSON.
//!
//! ```text
//! [{"match": {"op": "==", "left": {"concat": [...]}, "right": "@allow_in"}}, {"accept": null}]
//!   -> ip daddr . tcp dport @allow_in accept
//! ```
//!
//! Only the common forms are printed; for anything else (or anything whose printed form
//! depends on details the tree does not keep) [`rule`] returns `None` and the caller keeps
//! the JSON: a rule is shown faithfully or not rewritten at all. Where the tree drops what
//! nft prints (counter values, limit rates, log flags, reject defaults), the statement's
//! JSON kept in [`Stmt::text`] is read.

use super::ast::*;
use serde_json::Value as J;

/// The rule's statements (and comment) as nft lists them, in a table of `family`.
pub fn rule(family: &str, stmts: &[Stmt], comment: Option<&str>) -> Option<String> {
    let mut parts = Vec::with_capacity(stmts.len() + 1);
    for s in stmts {
        parts.push(stmt(family, s)?);
    }
    if let Some(c) = comment {
        parts.push(format!("comment {}", quoted(c)?));
    }
    Some(parts.join(" "))
}

/// How values compared with (or assigned to) an expression are printed.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Plain,
    /// `0x%08x`.
    Mark,
    /// Quoted: interface names, helpers, secmark names.
    Str,
    /// Bitmask types whose `==` differs from the implicit "any of" form.
    Flags,
    Concat(Vec<Ty>),
}

fn ty(e: &Expr) -> Ty {
    match e {
        Expr::Meta(k) => match k.as_str() {
            "mark" => Ty::Mark,
            "iif" | "oif" | "iifname" | "oifname" | "ibrname" | "obrname" | "sdifname"
            | "iifkind" | "oifkind" | "secmark" => Ty::Str,
            _ => Ty::Plain,
        },
        Expr::Ct { key, .. } => match key.as_str() {
            "mark" => Ty::Mark,
            "helper" => Ty::Str,
            "state" | "status" => Ty::Flags,
            _ => Ty::Plain,
        },
        Expr::Payload { proto, field } if proto == "tcp" && field == "flags" => Ty::Flags,
        Expr::Concat(parts) => Ty::Concat(parts.iter().map(ty).collect()),
        Expr::Binop { left, .. } => ty(left),
        _ => Ty::Plain,
    }
}

fn quoted(s: &str) -> Option<String> {
    (!s.contains('"')).then(|| format!("\"{s}\""))
}

/// A symbol printed bare: no spaces, quotes or braces that would change how it reads.
fn bare(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '{' | '}' | ',' | ';' | '#'));
    ok.then(|| s.to_string())
}

fn verdict(v: &VerdictAst) -> Option<String> {
    Some(match v {
        VerdictAst::Accept => "accept".into(),
        VerdictAst::Drop => "drop".into(),
        VerdictAst::Continue => "continue".into(),
        VerdictAst::Return => "return".into(),
        VerdictAst::Jump(t) => format!("jump {}", bare(t)?),
        VerdictAst::Goto(t) => format!("goto {}", bare(t)?),
    })
}

/// A selector (the left side of a match, a map key, a mangle target).
fn key(e: &Expr) -> Option<String> {
    Some(match e {
        Expr::Payload { proto, field } => format!("{} {}", bare(proto)?, bare(field)?),
        Expr::Meta(k) => match k.as_str() {
            "iif" | "oif" | "iifname" | "oifname" | "iifgroup" | "oifgroup" => bare(k)?,
            _ => format!("meta {}", bare(k)?),
        },
        // `ct original saddr` may be listed with its family (`ct original ip saddr`), which
        // the tree does not keep.
        Expr::Ct { key, dir } => match dir {
            Some(_) if matches!(key.as_str(), "saddr" | "daddr") => return None,
            Some(d) => format!("ct {} {}", bare(d)?, bare(key)?),
            None => format!("ct {}", bare(key)?),
        },
        Expr::Fib { flags, result } => {
            let f: Option<Vec<String>> = flags.iter().map(|f| bare(f)).collect();
            format!("fib {} {}", f?.join(" . "), bare(result)?)
        }
        Expr::Exthdr { name, field } if field.is_empty() => format!("exthdr {}", bare(name)?),
        Expr::Exthdr { name, field } => format!("{} {}", bare(name)?, bare(field)?),
        Expr::TcpOption { name, field } => match field {
            Some(f) => format!("tcp option {} {}", bare(name)?, bare(f)?),
            None => format!("tcp option {}", bare(name)?),
        },
        Expr::Concat(parts) => {
            let p: Option<Vec<String>> = parts.iter().map(key).collect();
            p?.join(" . ")
        }
        Expr::Binop { op, left, right } => {
            let o = match op {
                BinOp::And => "&",
                BinOp::Or => "|",
                BinOp::Xor => "^",
                // Shifted values change type; nft's printing of their operands is not
                // reproduced.
                BinOp::Shl | BinOp::Shr => return None,
            };
            if matches!(**left, Expr::Binop { .. }) {
                return None;
            }
            let t = ty(left);
            let r = match (&t, &**right) {
                (Ty::Mark, Expr::Num(_)) => value(right, &t)?,
                (Ty::Flags, Expr::Value(_)) => value(right, &t)?,
                (Ty::Flags, Expr::List(l)) => {
                    let v: Option<Vec<String>> = l.iter().map(|x| value(x, &t)).collect();
                    format!("({})", v?.join(" | "))
                }
                _ => return None,
            };
            format!("{} {o} {r}", key(left)?)
        }
        _ => return None,
    })
}

/// A value (or set, map, list) in the type of what it is compared with.
fn value(e: &Expr, t: &Ty) -> Option<String> {
    Some(match e {
        Expr::Value(s) => match t {
            Ty::Str => quoted(s)?,
            Ty::Concat(_) => return None,
            _ => bare(s)?,
        },
        Expr::Num(n) => match t {
            Ty::Mark => format!("0x{:08x}", u32::try_from(*n).ok()?),
            Ty::Plain | Ty::Flags => n.to_string(),
            _ => return None,
        },
        Expr::Bool(b) => (if *b { "exists" } else { "missing" }).into(),
        Expr::Range(a, b) => format!("{}-{}", value(a, t)?, value(b, t)?),
        Expr::Prefix(a, len) => format!("{}/{len}", value(a, t)?),
        Expr::Concat(parts) => {
            let Ty::Concat(ts) = t else { return None };
            if ts.len() != parts.len() {
                return None;
            }
            let p: Option<Vec<String>> = parts.iter().zip(ts).map(|(p, t)| value(p, t)).collect();
            p?.join(" . ")
        }
        Expr::Set(elems) => {
            let mut out = Vec::with_capacity(elems.len());
            for el in elems {
                let k = value(&el.key, t)?;
                out.push(match &el.data {
                    // A map's data are typed by what they are assigned to: only verdicts
                    // here (`map` expressions pass their own).
                    Some(Expr::Verdict(v)) => format!("{k} : {}", verdict(v)?),
                    Some(_) => return None,
                    None => k,
                });
            }
            format!("{{ {} }}", out.join(", "))
        }
        Expr::SetRef(n) => format!("@{}", bare(n)?),
        // `ct state != established | related`.
        Expr::Binop {
            op: BinOp::Or,
            left,
            right,
        } if *t == Ty::Flags => format!("{} | {}", value(left, t)?, value(right, t)?),
        Expr::Catchall => "*".into(),
        Expr::Verdict(v) => verdict(v)?,
        _ => return None,
    })
}

/// A map's elements `{ k : v, ... }` with keys typed `kt` and data typed `dt`.
fn map_elems(e: &Expr, kt: &Ty, dt: &Ty) -> Option<String> {
    match e {
        Expr::Set(elems) => {
            let mut out = Vec::with_capacity(elems.len());
            for el in elems {
                let d = el.data.as_ref()?;
                out.push(format!("{} : {}", value(&el.key, kt)?, value(d, dt)?));
            }
            Some(format!("{{ {} }}", out.join(", ")))
        }
        Expr::SetRef(n) => Some(format!("@{}", bare(n)?)),
        _ => None,
    }
}

/// The right side of an assignment (`set`, nat addresses): a value or `key map { ... }`.
fn rvalue(e: &Expr, t: &Ty) -> Option<String> {
    match e {
        Expr::Map { key: k, data } => {
            Some(format!("{} map {}", key(k)?, map_elems(data, &ty(k), t)?))
        }
        Expr::Payload { .. } | Expr::Meta(_) | Expr::Ct { .. } | Expr::Binop { .. } => key(e),
        _ => value(e, t),
    }
}

fn stmt(family: &str, s: &Stmt) -> Option<String> {
    let json = || serde_json::from_str::<J>(&s.text).ok();
    match &s.kind {
        StmtKind::Match { left, op, right } => match_text(left, op, right),
        StmtKind::Verdict(v) => verdict(v),
        StmtKind::Counter => counter(&json()?),
        StmtKind::Log(_) => log(&json()?),
        StmtKind::Reject { .. } => reject(&json()?, family),
        StmtKind::Nat {
            kind,
            family: fam,
            addr,
            port,
            flags,
        } => nat(kind, fam.as_ref(), addr.as_ref(), port.as_ref(), flags),
        // `ct helper set` and friends are their own JSON statements, listed alike.
        StmtKind::Mangle { key: k, value: v } => {
            Some(format!("{} set {}", key(k)?, rvalue(v, &ty(k))?))
        }
        StmtKind::Notrack => Some("notrack".into()),
        StmtKind::VMap { key: k, data } => {
            Some(format!("{} vmap {}", key(k)?, value(data, &ty(k))?))
        }
        StmtKind::Queue { num, flags } => queue(num.as_ref(), flags),
        StmtKind::SetUpdate { op, set, elem, .. } => set_update(op, set, elem, &json()?),
        StmtKind::Undecidable {
            kind: model::expr::Undecidable::Limit,
            ..
        } => limit(&json()?),
        StmtKind::Effect(_) => effect(&json()?),
        _ => None,
    }
}

/// `LEFT [OP] RIGHT` as nft lists it (`ct state established,related`,
/// `tcp flags syn / fin,syn,rst,ack`).
fn match_text(left: &Expr, op: &Op, right: &Expr) -> Option<String> {
    let t = ty(left);
    let l = key(left)?;
    let binop = matches!(left, Expr::Binop { .. });
    let r = match right {
        // `ct state established,related` (any of) and `ct state != a | b`.
        Expr::List(items) => {
            let v: Option<Vec<String>> = items.iter().map(|x| value(x, &t)).collect();
            let v = v?;
            match op {
                Op::Implicit if !binop => return Some(format!("{l} {}", v.join(","))),
                Op::Ne if !binop => return Some(format!("{l} != {}", v.join(" | "))),
                Op::Neg if !binop => return Some(format!("{l} ! {}", v.join(","))),
                _ => return None,
            }
        }
        Expr::Map { .. } => return None,
        _ => value(right, &t)?,
    };
    // `tcp flags & (fin | syn | rst | ack) == syn` is listed `syn / fin,syn,rst,ack`.
    if let (
        Expr::Binop {
            op: BinOp::And,
            left: inner,
            right: mask,
        },
        Op::Eq,
        Ty::Flags,
        Expr::Value(_),
    ) = (left, op, &t, right)
    {
        let Expr::List(m) = &**mask else { return None };
        let m: Option<Vec<String>> = m.iter().map(|x| value(x, &t)).collect();
        return Some(format!("{} {r} / {}", key(inner)?, m?.join(",")));
    }
    let o = match op {
        Op::Implicit => "",
        Op::Eq if binop => "== ",
        // `==` on a bitmask is "exactly these bits", listed with its operator.
        Op::Eq if t == Ty::Flags && !matches!(right, Expr::Set(_)) => return None,
        Op::Eq => "",
        Op::Ne => "!= ",
        Op::Neg => "! ",
        Op::Lt => "< ",
        Op::Gt => "> ",
        Op::Le => "<= ",
        Op::Ge => ">= ",
    };
    Some(format!("{l} {o}{r}"))
}

/// `counter packets N bytes M` or `counter name NAME`.
fn counter(j: &J) -> Option<String> {
    let c = j.get("counter")?;
    let text = match c {
        J::Object(o) if o.len() == 2 => format!(
            "counter packets {} bytes {}",
            o.get("packets")?.as_u64()?,
            o.get("bytes")?.as_u64()?
        ),
        J::String(name) => format!("counter name {}", quoted(name)?),
        _ => return None,
    };
    Some(text)
}

/// `log [prefix ..] [group N] [level L] [flags F]`.
fn log(j: &J) -> Option<String> {
    let mut out = String::from("log");
    match j.get("log")? {
        J::Null => {}
        J::Object(o) => {
            let known = [
                "prefix",
                "group",
                "snaplen",
                "queue-threshold",
                "level",
                "flags",
            ];
            if o.keys().any(|k| !known.contains(&k.as_str())) {
                return None;
            }
            if let Some(p) = o.get("prefix") {
                out += &format!(" prefix {}", quoted(p.as_str()?)?);
            }
            for k in ["group", "snaplen", "queue-threshold"] {
                if let Some(n) = o.get(k) {
                    out += &format!(" {k} {}", n.as_u64()?);
                }
            }
            if let Some(l) = o.get("level") {
                let l = l.as_str()?;
                if l != "warn" {
                    out += &format!(" level {}", bare(l)?);
                }
            }
            let flags = match o.get("flags") {
                None => vec![],
                Some(J::String(f)) => vec![f.as_str()],
                Some(J::Array(a)) => a.iter().map(J::as_str).collect::<Option<_>>()?,
                Some(_) => return None,
            };
            for f in flags {
                if !matches!(
                    f,
                    "tcp sequence" | "tcp options" | "ip options" | "skuid" | "ether" | "all"
                ) {
                    return None;
                }
                out += &format!(" flags {f}");
            }
        }
        _ => return None,
    }
    Some(out)
}

/// `reject [with TYPE CODE]`, the family's default code left out as nft does.
fn reject(j: &J, family: &str) -> Option<String> {
    let text = match j.get("reject")? {
        J::Null => "reject".into(),
        J::Object(o) => {
            let ty = o.get("type").map(J::as_str);
            let code = o.get("expr").map(J::as_str);
            match (ty, code) {
                (None, None) => "reject".into(),
                (Some(Some("tcp reset")), None) => "reject with tcp reset".into(),
                (Some(Some(t)), Some(Some(c))) => {
                    let default = c == "port-unreachable"
                        && matches!(
                            (t, family),
                            ("icmpx", _) | ("icmp", "ip") | ("icmpv6", "ip6")
                        );
                    if default {
                        "reject".into()
                    } else {
                        format!("reject with {} {}", bare(t)?, bare(c)?)
                    }
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(text)
}

/// `snat|dnat|masquerade|redirect [ip|ip6] [to ADDR[:PORT]] [FLAGS]`.
fn nat(
    kind: &str,
    fam: Option<&String>,
    addr: Option<&Expr>,
    port: Option<&Expr>,
    flags: &[String],
) -> Option<String> {
    let mut out = bare(kind)?;
    if let Some(f) = fam {
        out += &format!(" {}", bare(f)?);
    }
    let a = match addr {
        Some(a) => Some(rvalue(a, &Ty::Plain)?),
        None => None,
    };
    let p = match port {
        Some(p) => Some(rvalue(p, &Ty::Plain)?),
        None => None,
    };
    match (a, p) {
        (None, None) => {}
        (Some(a), None) => out += &format!(" to {a}"),
        (None, Some(p)) => out += &format!(" to :{p}"),
        (Some(a), Some(p)) if a.contains(':') => out += &format!(" to [{a}]:{p}"),
        (Some(a), Some(p)) => out += &format!(" to {a}:{p}"),
    }
    if !flags.is_empty() {
        let f: Option<Vec<String>> = flags.iter().map(|f| bare(f)).collect();
        out += &format!(" {}", f?.join(","));
    }
    Some(out)
}

/// `queue [flags F] [to N[-M]]`.
fn queue(num: Option<&QueueNum>, flags: &[String]) -> Option<String> {
    let mut out = String::from("queue");
    if !flags.is_empty() {
        let f: Option<Vec<String>> = flags.iter().map(|f| bare(f)).collect();
        out += &format!(" flags {}", f?.join(","));
    }
    match num {
        None => {}
        Some(QueueNum::Range(a, b)) if a == b => out += &format!(" to {a}"),
        Some(QueueNum::Range(a, b)) => out += &format!(" to {a}-{b}"),
        Some(QueueNum::Hashed { .. }) => return None,
    }
    Some(out)
}

/// `add|update @set { ELEM [timeout T] }`.
fn set_update(op: &str, set: &str, elem: &Expr, j: &J) -> Option<String> {
    // Element options (`timeout`) and per-element statements are not in the tree.
    let body = j.get("set")?;
    if body.get("stmt").is_some() {
        return None;
    }
    let mut e = match elem {
        Expr::Concat(parts) => {
            let p: Option<Vec<String>> = parts
                .iter()
                .map(|p| key(p).or_else(|| value(p, &Ty::Plain)))
                .collect();
            p?.join(" . ")
        }
        _ => key(elem)?,
    };
    if let Some(o) = body.get("elem")?.get("elem").and_then(J::as_object) {
        if o.keys().any(|k| k != "val" && k != "timeout") {
            return None;
        }
        if let Some(t) = o.get("timeout") {
            e += &format!(" timeout {}", duration(t.as_u64()?));
        }
    }
    Some(format!("{} @{} {{ {e} }}", bare(op)?, bare(set)?))
}

/// `limit rate [over] N/UNIT [burst B packets]`.
fn limit(j: &J) -> Option<String> {
    let l = j.get("limit")?.as_object()?;
    let known = ["rate", "per", "burst", "inv", "rate_unit", "burst_unit"];
    if l.keys().any(|k| !known.contains(&k.as_str())) {
        return None;
    }
    if l.get("rate_unit")
        .is_some_and(|u| u.as_str() != Some("packets"))
    {
        return None;
    }
    let over = if l.get("inv").and_then(J::as_bool) == Some(true) {
        "over "
    } else {
        ""
    };
    let mut out = format!(
        "limit rate {over}{}/{}",
        l.get("rate")?.as_u64()?,
        bare(l.get("per")?.as_str()?)?
    );
    let burst = l.get("burst").map_or(Some(5), J::as_u64)?;
    if burst != 0 && burst != 5 {
        out += &format!(" burst {burst} packets");
    }
    Some(out)
}

/// Object references and flow offload, kept by the tree only as what they do.
fn effect(j: &J) -> Option<String> {
    let (k, b) = j.as_object()?.iter().next()?;
    let text = match (k.as_str(), b) {
        ("secmark", J::String(n)) => format!("meta secmark set {}", quoted(n)?),
        ("ct timeout" | "ct expectation", J::String(n)) => {
            format!("{k} set {}", quoted(n)?)
        }
        ("flow", J::Object(o)) if o.len() == 2 => format!(
            "flow {} {}",
            bare(o.get("op")?.as_str()?)?,
            bare(o.get("flowtable")?.as_str()?)?
        ),
        _ => return None,
    };
    Some(text)
}

/// Seconds as nft prints a duration: `1s`, `10m`, `1h30m`, `2d`.
fn duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= n {
            out += &format!("{}{unit}", rest / n);
            rest %= n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(kind: StmtKind, text: &str) -> Stmt {
        Stmt {
            kind,
            span: model::Span::new(0, 0),
            text: text.into(),
        }
    }

    #[test]
    fn unknown_forms_fall_back() {
        let opaque = st(
            StmtKind::Match {
                left: Expr::Opaque {
                    name: "numgen".into(),
                    text: String::new(),
                },
                op: Op::Eq,
                right: Expr::Num(0),
            },
            "",
        );
        assert_eq!(rule("ip", &[opaque], None), None);
        let mark = st(
            StmtKind::Mangle {
                key: Expr::Meta("mark".into()),
                value: Expr::Num(16),
            },
            "",
        );
        assert_eq!(
            rule("ip", &[mark], Some("x")).as_deref(),
            Some("meta mark set 0x00000010 comment \"x\"")
        );
    }
}
