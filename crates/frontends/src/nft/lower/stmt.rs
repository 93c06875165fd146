//! Statements that change the packet or say something: `log`, and `KEY set VALUE`
//! (`meta mark`, `ct mark`, `ct helper`, `ct zone`, `meta nftrace`, `ip dscp`, ...).

use super::*;

/// Where a new mark comes from: the mark itself under `(mark & keep) ^ xor`, or the other
/// mark (ct mark for `meta mark set`, meta mark for `ct mark set`) under `& mask`.
pub(super) enum MarkSrc {
    Own { keep: u32, xor: u32 },
    Other { mask: u32 },
}

/// `set VALUE` for marks: a constant, `mark | c`, `mark & c`, `mark ^ c` (nested), or the
/// other mark (optionally `& c`). `own` is "mark" (meta) or "ct".
pub(super) fn mark_expr(e: &Expr, own: &str) -> Option<MarkSrc> {
    let is_own = |e: &Expr| match e {
        Expr::Meta(k) => own == "mark" && k == "mark",
        Expr::Ct { key, .. } => own == "ct" && key == "mark",
        _ => false,
    };
    let is_other = |e: &Expr| match e {
        Expr::Meta(k) => own == "ct" && k == "mark",
        Expr::Ct { key, .. } => own == "mark" && key == "mark",
        _ => false,
    };
    if let Some(c) = const_u64(e) {
        return Some(MarkSrc::Own {
            keep: 0,
            xor: c as u32,
        });
    }
    if is_own(e) {
        return Some(MarkSrc::Own {
            keep: u32::MAX,
            xor: 0,
        });
    }
    if is_other(e) {
        return Some(MarkSrc::Other { mask: u32::MAX });
    }
    let Expr::Binop { op, left, right } = e else {
        return None;
    };
    let c = const_u64(right)? as u32;
    if is_other(left) && *op == BinOp::And {
        return Some(MarkSrc::Other { mask: c });
    }
    let MarkSrc::Own { keep, xor } = mark_expr(left, own)? else {
        return None;
    };
    Some(match op {
        BinOp::And => MarkSrc::Own {
            keep: keep & c,
            xor: xor & c,
        },
        BinOp::Or => MarkSrc::Own {
            keep: keep & !c,
            xor: (xor & !c) | c,
        },
        BinOp::Xor => MarkSrc::Own { keep, xor: xor ^ c },
        BinOp::Shl | BinOp::Shr => return None,
    })
}

pub(super) fn log(l: &LogAst) -> Result<Action, Bad> {
    if l.level.as_deref() == Some("audit") {
        return Ok(Action::Effect(Effect::Audit));
    }
    let level = match l.level.as_deref() {
        None => None,
        Some(name) => Some(match name {
            "emerg" => 0,
            "alert" => 1,
            "crit" => 2,
            "err" => 3,
            "warn" => 4,
            "notice" => 5,
            "info" => 6,
            "debug" => 7,
            other => {
                return Err(bad(
                    "log level",
                    other,
                    "expected emerg, alert, crit, err, warn, notice, info, debug or audit",
                ))
            }
        }),
    };
    let has = |f: &str| l.flags.iter().any(|x| x == f || x == "all");
    Ok(Action::Log(Log {
        kind: match l.group {
            Some(group) => LogKind::Nflog { group },
            None => LogKind::Kernel,
        },
        prefix: l.prefix.clone().unwrap_or_default(),
        level,
        tcp_sequence: has("tcp sequence"),
        tcp_options: has("tcp options"),
        ip_options: has("ip options"),
        uid: has("skuid"),
        macdecode: has("ether"),
    }))
}

impl TableCx<'_> {
    pub(super) fn mangle(&mut self, key: &Expr, value: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        let act = |a: Action| Ok(vec![vec![(Step::Action(a), false)]]);
        let unknown = || act(Action::Undecidable(text.to_string()));
        // Value maps: one alternative per element.
        if let Expr::Map { key: mkey, data } = value {
            let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
                return unknown();
            };
            if elems.iter().any(|e| e.key == Expr::Catchall) {
                return unknown();
            }
            let mut out = Vec::new();
            for e in &elems {
                let Some(d) = &e.data else { continue };
                let Some(mut alt) = self.key_is(mkey, &e.key, text)? else {
                    return unknown();
                };
                let mut inner = self.mangle(key, d, text)?;
                let Some(mut a) = inner.pop() else {
                    return unknown();
                };
                alt.append(&mut a);
                out.push(alt);
            }
            if out.is_empty() {
                out.push(vec![(Step::Match(Match::cmp(Key::NfProto, int(0))), false)]);
            }
            return Ok(out);
        }
        match key {
            Expr::Meta(k) if k == "mark" => match mark_expr(value, "mark") {
                Some(MarkSrc::Own { keep, xor }) => act(Action::SetMark {
                    value: xor,
                    mask: !keep,
                }),
                Some(MarkSrc::Other { mask }) => act(Action::CtMark(CtMarkOp::Restore {
                    nfmask: u32::MAX,
                    ctmask: mask,
                })),
                None => unknown(),
            },
            Expr::Ct { key: k, .. } if k == "mark" => match mark_expr(value, "ct") {
                Some(MarkSrc::Own { keep, xor }) => act(Action::CtMark(CtMarkOp::SetXmark {
                    value: xor,
                    mask: !keep,
                })),
                Some(MarkSrc::Other { mask }) => act(Action::CtMark(CtMarkOp::Save {
                    nfmask: mask,
                    ctmask: u32::MAX,
                })),
                None => unknown(),
            },
            Expr::Ct { key: k, .. } if k == "helper" => match value {
                Expr::Value(h) => act(Action::CtSet {
                    helper: Some(h.clone()),
                    zone: None,
                }),
                _ => unknown(),
            },
            Expr::Ct { key: k, .. } if k == "zone" => match const_u64(value) {
                Some(z) if z <= u64::from(u16::MAX) => act(Action::CtSet {
                    helper: None,
                    zone: Some(z as u16),
                }),
                _ => unknown(),
            },
            Expr::Ct { key: k, .. }
                if matches!(
                    k.as_str(),
                    "timeout" | "expectation" | "label" | "event" | "secmark"
                ) =>
            {
                act(Action::Effect(Effect::CtAttribute { key: k.clone() }))
            }
            Expr::Meta(k) if k == "nftrace" => match const_u64(value) {
                Some(1) => act(Action::Trace),
                _ => act(Action::Effect(Effect::Nftrace)),
            },
            Expr::Meta(k) if k == "priority" => act(Action::Effect(Effect::Priority)),
            Expr::Meta(k) if k == "secmark" => act(Action::Effect(Effect::Secmark)),
            Expr::Payload { proto, field }
                if (proto == "ip" || proto == "ip6") && field == "dscp" =>
            {
                match pattern(Ty::Named(Names::Nft(DSCP)), value) {
                    Ok(Pattern::Value(Value::Int(d))) if d < 64 => act(Action::SetDscp(d as u8)),
                    _ => unknown(),
                }
            }
            Expr::TcpOption { name, .. } => {
                act(Action::Effect(Effect::TcpOption { name: name.clone() }))
            }
            _ => unknown(),
        }
    }
}
