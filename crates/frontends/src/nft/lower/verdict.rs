//! Verdicts: `accept`, `drop`, `jump`/`goto`, `return`, `continue`, and `reject` with
//! its ICMP, ICMPv6, icmpx or TCP reset answer.

use super::names::Names;
use super::{bad, nfproto_dep, proto_dep, Alt, Bad, TableCx};
use crate::nft::ast::{QueueNum, VerdictAst};
use model::expr::{Action, Queue, Reject, Verdict};
use model::ruleset::{Family, Step};

pub(super) fn verdict(v: &VerdictAst) -> Verdict {
    match v {
        VerdictAst::Accept => Verdict::Accept,
        VerdictAst::Drop => Verdict::Drop,
        VerdictAst::Continue => Verdict::Continue,
        VerdictAst::Return => Verdict::Return,
        VerdictAst::Jump(c) => Verdict::Jump(c.clone()),
        VerdictAst::Goto(c) => Verdict::Goto(c.clone()),
    }
}

/// `queue [num N | N-M | numgen ...] [bypass] [fanout]`.
pub(super) fn queue(num: Option<&QueueNum>, flags: &[String]) -> Verdict {
    let (num, last) = match num {
        None => (0, 0),
        Some(QueueNum::Range(a, b)) => (*a, *b),
        Some(QueueNum::Hashed { modulus, offset }) => {
            let lo = (*offset).min(65535) as u16;
            (lo, (offset + modulus.saturating_sub(1)).min(65535) as u16)
        }
    };
    Verdict::Queue(Queue {
        num,
        last,
        bypass: flags.iter().any(|f| f == "bypass"),
        fanout: flags.iter().any(|f| f == "fanout"),
    })
}

impl TableCx<'_> {
    pub(super) fn reject(&self, kind: Option<&str>, code: Option<&str>) -> Result<Vec<Alt>, Bad> {
        let mut alt: Alt = Vec::new();
        let inet = matches!(self.family, Family::Inet | Family::Bridge | Family::Netdev);
        let r = match (kind, code) {
            (None, _) => match self.family {
                Family::Ip => Reject::DEFAULT_V4,
                Family::Ip6 => Reject::DEFAULT_V6,
                _ => Reject::Icmpx(1),
            },
            (Some("tcp reset"), _) => {
                alt.push((Step::Match(proto_dep(6)), true));
                Reject::TcpReset
            }
            (Some(k), Some(c)) => {
                let (table, v6) = match k {
                    "icmp" => (Names::IcmpCode, Some(false)),
                    "icmpv6" => (Names::Icmpv6Code, Some(true)),
                    "icmpx" => (Names::IcmpxCode, None),
                    other => {
                        return Err(bad(
                            "reject type",
                            other,
                            "expected icmp, icmpv6, icmpx or tcp reset",
                        ))
                    }
                };
                let n = table
                    .number(c)
                    .ok_or_else(|| bad("reject code", c, "not a known code"))?
                    as u8;
                match v6 {
                    Some(false) => {
                        if inet {
                            alt.push((Step::Match(nfproto_dep(2)), true));
                        }
                        Reject::Icmp(n)
                    }
                    Some(true) => {
                        if inet {
                            alt.push((Step::Match(nfproto_dep(10)), true));
                        }
                        Reject::Icmpv6(n)
                    }
                    None => Reject::Icmpx(n),
                }
            }
            (Some(k), None) => return Err(bad("reject", k, "a code is missing")),
        };
        alt.push((Step::Action(Action::Verdict(Verdict::Reject(r))), false));
        Ok(vec![alt])
    }
}
