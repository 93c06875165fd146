//! Statements that change the packet or say something: `log`, and `KEY set VALUE`
//! (`meta mark`, `ct mark`, `ct helper`, `ct zone`, `meta nftrace`, `ip dscp`, ...).

use super::names::{Names, Ty, DSCP};
use super::value::{const_u64, pattern};
use super::{bad, int, unmodelled_on, Alt, Bad, TableCx};
use crate::nft::ast::{BinOp, Elem, Expr, LogAst};
use model::expr::{
    Action, CtMarkOp, Effect, Key, Log, LogKind, Match, MssClamp, Pattern, SetUpdateOp,
    Undecidable, Value,
};
use model::ruleset::Step;

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
    /// `add|update|delete @set { ELEM }` from the packet path: the set is marked dynamic;
    /// with a `limit` in the element (the meter idiom) the statement is undecidable.
    pub(super) fn set_update(
        &mut self,
        op: &str,
        set: &str,
        stateful: bool,
        text: &str,
    ) -> Vec<Alt> {
        self.dynamic.insert(set.to_string());
        if stateful {
            return Self::undecidable(Undecidable::Limit, text);
        }
        let op = match op {
            "update" => SetUpdateOp::Update,
            "delete" => SetUpdateOp::Delete,
            _ => SetUpdateOp::Add,
        };
        let set = set.to_string();
        vec![vec![(
            Step::Action(Action::Effect(Effect::SetUpdate { op, set })),
            false,
        )]]
    }

    /// `KEY set VALUE`; a value map (`meta mark set ip saddr map { ... }`) is one
    /// alternative per element.
    pub(super) fn mangle(&mut self, key: &Expr, value: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        if let Expr::Map { key: mkey, data } = value {
            return self.mangle_map(key, mkey, data, text);
        }
        let action =
            set_action(key, value).unwrap_or_else(|| Action::Undecidable(unmodelled_on(key, text)));
        Ok(vec![vec![(Step::Action(action), false)]])
    }

    /// `KEY set MKEY map { k : v, ... }`: per element, `MKEY == k` then `KEY set v`.
    fn mangle_map(
        &mut self,
        key: &Expr,
        mkey: &Expr,
        data: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let unknown = || {
            Ok(vec![vec![(
                Step::Action(Action::Undecidable(unmodelled_on(key, text))),
                false,
            )]])
        };
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
        Ok(out)
    }
}

/// The action of `KEY set VALUE` with a plain value; None when it is not modelled.
fn set_action(key: &Expr, value: &Expr) -> Option<Action> {
    match key {
        Expr::Meta(k) if k == "mark" => match mark_expr(value, "mark") {
            Some(MarkSrc::Own { keep, xor }) => Some(Action::SetMark {
                value: xor,
                mask: !keep,
            }),
            Some(MarkSrc::Other { mask }) => Some(Action::CtMark(CtMarkOp::Restore {
                nfmask: u32::MAX,
                ctmask: mask,
            })),
            None => None,
        },
        Expr::Ct { key: k, .. } if k == "mark" => match mark_expr(value, "ct") {
            Some(MarkSrc::Own { keep, xor }) => Some(Action::CtMark(CtMarkOp::SetXmark {
                value: xor,
                mask: !keep,
            })),
            Some(MarkSrc::Other { mask }) => Some(Action::CtMark(CtMarkOp::Save {
                nfmask: mask,
                ctmask: u32::MAX,
            })),
            None => None,
        },
        Expr::Ct { key: k, .. } if k == "helper" => match value {
            Expr::Value(h) => Some(Action::CtSet {
                helper: Some(h.clone()),
                zone: None,
            }),
            _ => None,
        },
        Expr::Ct { key: k, .. } if k == "zone" => match const_u64(value) {
            Some(z) if z <= u64::from(u16::MAX) => Some(Action::CtSet {
                helper: None,
                zone: Some(z as u16),
            }),
            _ => None,
        },
        Expr::Ct { key: k, .. }
            if matches!(
                k.as_str(),
                "timeout" | "expectation" | "label" | "event" | "secmark"
            ) =>
        {
            Some(Action::Effect(Effect::CtAttribute { key: k.clone() }))
        }
        Expr::Meta(k) if k == "nftrace" => match const_u64(value) {
            Some(1) => Some(Action::Trace),
            _ => Some(Action::Effect(Effect::Nftrace)),
        },
        Expr::Meta(k) if k == "priority" => Some(Action::Effect(Effect::Priority)),
        Expr::Meta(k) if k == "secmark" => Some(Action::Effect(Effect::Secmark)),
        Expr::Payload { proto, field } if (proto == "ip" || proto == "ip6") && field == "dscp" => {
            match pattern(Ty::Named(Names::Nft(DSCP)), value) {
                Ok(Pattern::Value(Value::Int(d))) if d < 64 => Some(Action::SetDscp(d as u8)),
                _ => None,
            }
        }
        Expr::TcpOption { name, .. } if name == "maxseg" => {
            // `set rt mtu` clamps to the route; a number sets that value; anything else
            // changes the MSS to what cannot be told offline.
            match value {
                Expr::Opaque { name, .. } if name == "rt mtu" => {
                    Some(Action::Effect(Effect::ClampMss(MssClamp::ToPmtu)))
                }
                v => match const_u64(v).and_then(|n| u16::try_from(n).ok()) {
                    Some(n) => Some(Action::Effect(Effect::ClampMss(MssClamp::Value(n)))),
                    None => Some(Action::Effect(Effect::TcpOption { name: name.clone() })),
                },
            }
        }
        Expr::TcpOption { name, .. } => {
            Some(Action::Effect(Effect::TcpOption { name: name.clone() }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn statements() {
        let a = |family: &str, s: &str| {
            body(family, s)
                .into_iter()
                .filter_map(|s| match s {
                    Step::Action(a) => Some(a),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            a("ip", "reject"),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmp(3)))]
        );
        assert_eq!(
            a("inet", "reject"),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmpx(1)))]
        );
        assert_eq!(
            a("inet", "reject with icmpx admin-prohibited"),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmpx(3)))]
        );
        assert_eq!(
            body("inet", "reject with icmpv6 addr-unreachable")[0],
            cmp(Key::NfProto, int(10))
        );
        assert_eq!(
            body("inet", "reject with tcp reset")[0],
            cmp(Key::L4Proto, int(6))
        );
        assert_eq!(
            a("ip", "meta mark set 0x10"),
            vec![Action::SetMark {
                value: 0x10,
                mask: u32::MAX
            }]
        );
        assert_eq!(
            a("ip", "meta mark set meta mark | 0x10"),
            vec![Action::SetMark {
                value: 0x10,
                mask: 0x10
            }]
        );
        assert_eq!(
            a("ip", "meta mark set ct mark"),
            vec![Action::CtMark(CtMarkOp::Restore {
                nfmask: u32::MAX,
                ctmask: u32::MAX
            })]
        );
        assert_eq!(
            a("ip", "ct mark set meta mark"),
            vec![Action::CtMark(CtMarkOp::Save {
                nfmask: u32::MAX,
                ctmask: u32::MAX
            })]
        );
        assert_eq!(
            a("ip", "ct helper set \"ftp\""),
            vec![Action::CtSet {
                helper: Some("ftp".into()),
                zone: None
            }]
        );
        assert_eq!(a("ip", "meta nftrace set 1"), vec![Action::Trace]);
        assert_eq!(a("ip", "notrack"), vec![Action::Notrack]);
        assert_eq!(
            a("ip", "queue num 3 bypass"),
            vec![Action::Verdict(Verdict::Queue(model::expr::Queue {
                num: 3,
                last: 3,
                bypass: true,
                fanout: false
            }))]
        );
        let log = a("ip", "log prefix \"x \" level info group 2");
        assert!(
            matches!(&log[0], Action::Log(l) if l.prefix == "x " && l.level == Some(6) && l.kind == LogKind::Nflog { group: 2 })
        );
        let nat = a("ip", "snat to 10.0.0.1-10.0.0.5:1000-2000 fully-random");
        assert!(
            matches!(&nat[0], Action::Nat(n) if n.kind == NatKind::Snat && n.ports == Some((1000, 2000)) && n.fully_random && n.addr.unwrap().1 == "10.0.0.5".parse::<std::net::IpAddr>().unwrap())
        );
        assert!(
            matches!(&a("ip", "redirect to :8080")[0], Action::Nat(n) if n.kind == NatKind::Redirect && n.ports == Some((8080, 8080)))
        );
        assert!(
            matches!(&a("ip", "masquerade")[0], Action::Nat(n) if n.kind == NatKind::Masquerade)
        );
        let mapped = rules_in(
            "ip",
            "dnat to ip daddr map { 1.1.1.1 : 10.0.0.1, 2.2.2.2 : 10.0.0.2 }",
        );
        assert_eq!(mapped.len(), 2);
        assert_eq!(mapped[1].body[0], cmp(Key::DstAddr, addr("2.2.2.2")));
        assert!(matches!(
            &body("ip", "limit rate 10/second accept")[0],
            Step::Match(Match {
                test: Test::Undecidable {
                    kind: Undecidable::Limit,
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            &body("ip", "numgen inc mod 2 0 accept")[0],
            Step::Match(Match {
                test: Test::Undecidable {
                    kind: Undecidable::Numgen,
                    ..
                },
                ..
            })
        ));
        assert_eq!(a("ip", "dup to 10.0.0.1")[0], Action::Effect(Effect::Dup));
        let r = &rules_in(
            "ip",
            "tcp dport 22 counter packets 5 bytes 300 accept comment \"ssh\" # handle 7",
        )[0];
        assert_eq!(
            r.origin.counters.map(|c| (c.packets, c.bytes)),
            Some((5, 300))
        );
        assert_eq!(
            (r.origin.comment.as_deref(), r.origin.handle),
            (Some("ssh"), Some(7))
        );
        assert_eq!(
            &*r.origin.text,
            "tcp dport 22 counter packets 5 bytes 300 accept comment \"ssh\""
        );
    }

    #[test]
    fn effects_are_typed() {
        let effect = |s: &str| match body("inet", s).pop() {
            Some(Step::Action(Action::Effect(e))) => e,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            effect("ip protocol tcp flow add @ft"),
            Effect::FlowOffload {
                flowtable: "ft".into()
            }
        );
        assert_eq!(
            effect("update @seen { ip saddr }"),
            Effect::SetUpdate {
                op: model::expr::SetUpdateOp::Update,
                set: "seen".into()
            }
        );
        assert_eq!(effect("meta priority set 1:2"), Effect::Priority);
        assert_eq!(effect("log level audit"), Effect::Audit);
        assert_eq!(
            effect("ct timeout set \"agg\""),
            Effect::CtAttribute {
                key: "timeout".into()
            }
        );
        assert_eq!(
            effect("tcp flags syn tcp option maxseg size set 1360"),
            Effect::ClampMss(model::expr::MssClamp::Value(1360))
        );
        assert_eq!(
            effect("tcp flags syn tcp option maxseg size set rt mtu"),
            Effect::ClampMss(model::expr::MssClamp::ToPmtu)
        );
    }
}
