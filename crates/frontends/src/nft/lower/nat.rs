//! NAT statements: `snat`, `dnat`, `masquerade`, `redirect`, with address and port
//! ranges, value maps and flags.

use super::names::Ty;
use super::value::pattern;
use super::{bad, int, nfproto_dep, Alt, Bad, TableCx};
use crate::nft::ast::{Elem, Expr};
use crate::unmodelled::unmodelled;
use model::expr::{Action, Key, Match, Nat, NatKind, Pattern, Value};
use model::ruleset::{Family, Step};
use std::net::IpAddr;

/// A NAT address: a single address, a range, or a prefix as its first..last range.
pub(super) fn nat_addr(e: &Expr) -> Option<(IpAddr, IpAddr)> {
    match pattern(Ty::Addr, e).ok()? {
        Pattern::Value(Value::Addr(a)) => Some((a, a)),
        Pattern::Range(Value::Addr(a), Value::Addr(b)) => Some((a, b)),
        Pattern::Prefix(net) => Some((net.network(), net.broadcast())),
        _ => None,
    }
}

pub(super) fn nat_ports(e: &Expr) -> Option<(u16, u16)> {
    match pattern(Ty::Port, e).ok()? {
        Pattern::Value(Value::Int(p)) => Some((p as u16, p as u16)),
        Pattern::Range(Value::Int(a), Value::Int(b)) => Some((a as u16, b as u16)),
        _ => None,
    }
}

/// The statement as an action whose effect is Unknown.
fn unknown(text: &str) -> Vec<Alt> {
    vec![vec![(
        Step::Action(Action::Undecidable(unmodelled(text))),
        false,
    )]]
}

impl TableCx<'_> {
    /// A NAT statement's alternatives.
    pub(super) fn nat(
        &mut self,
        kind: &str,
        family: Option<&str>,
        addr: Option<&Expr>,
        port: Option<&Expr>,
        flags: &[String],
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let mut alts = self.nat_alts(kind, family, addr, port, flags, text)?;
        // `dnat ip to ...` in an inet table does nothing to a packet of the other
        // family (`nft_nat_inet_eval`) and the rule goes on: one more alternative,
        // the other family, with no action (traced as the rule, verdict continue).
        let other = match family {
            Some("ip") => Some(10),
            Some("ip6") => Some(2),
            _ => None,
        };
        if let (Family::Inet, Some(n)) = (self.family, other) {
            alts.push(vec![(Step::Match(nfproto_dep(n)), false)]);
        }
        Ok(alts)
    }

    /// The statement's own alternatives: the NAT action, after the family it names.
    fn nat_alts(
        &mut self,
        kind: &str,
        family: Option<&str>,
        addr: Option<&Expr>,
        port: Option<&Expr>,
        flags: &[String],
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let nat_kind = match kind {
            "snat" => NatKind::Snat,
            "dnat" => NatKind::Dnat,
            "masquerade" => NatKind::Masquerade,
            _ => NatKind::Redirect,
        };
        let base = Nat {
            kind: nat_kind,
            addr: None,
            ports: None,
            random: flags.iter().any(|f| f == "random"),
            fully_random: flags.iter().any(|f| f == "fully-random"),
            persistent: flags.iter().any(|f| f == "persistent"),
        };
        let mut dep: Alt = Vec::new();
        match family {
            Some("ip") => dep.push((Step::Match(nfproto_dep(2)), true)),
            Some("ip6") => dep.push((Step::Match(nfproto_dep(10)), true)),
            _ => {}
        }
        let ports = match port.map(nat_ports) {
            None => None,
            Some(Some(p)) => Some(p),
            Some(None) => return Ok(unknown(text)),
        };
        let base = Nat { ports, ..base };
        let alts = match addr {
            None => {
                let mut alt = dep;
                alt.push((Step::Action(Action::Nat(base)), false));
                vec![alt]
            }
            Some(Expr::Map { key, data }) => self.nat_map(&base, &dep, key, data, text)?,
            Some(a) => match nat_addr(a) {
                Some(range) => {
                    let mut alt = dep;
                    if self.family == Family::Inet && family.is_none() {
                        let n = if range.0.is_ipv4() { 2 } else { 10 };
                        alt.push((Step::Match(nfproto_dep(n)), true));
                    }
                    let nat = Nat {
                        addr: Some(range),
                        ..base
                    };
                    alt.push((Step::Action(Action::Nat(nat)), false));
                    vec![alt]
                }
                None => unknown(text),
            },
        };
        Ok(alts)
    }

    /// `dnat to KEY map { k : ADDR [. PORT], ... }`: one alternative per element, guarded
    /// by its key; an empty map never applies.
    fn nat_map(
        &mut self,
        base: &Nat,
        dep: &Alt,
        key: &Expr,
        data: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
            return Ok(unknown(text));
        };
        let mut out = Vec::new();
        for e in elems.iter().filter(|e| e.key != Expr::Catchall) {
            let Some(d) = &e.data else { continue };
            let mut nat = base.clone();
            let (a, p) = match d {
                Expr::Concat(parts) if parts.len() == 2 => (&parts[0], Some(&parts[1])),
                other => (other, None),
            };
            nat.addr = Some(nat_addr(a).ok_or_else(|| {
                bad(
                    "NAT address",
                    &format!("{a:?}"),
                    "expected an address or range",
                )
            })?);
            if let Some(p) = p {
                nat.ports = Some(nat_ports(p).ok_or_else(|| {
                    bad("NAT port", &format!("{p:?}"), "expected a port or range")
                })?);
            }
            let Some(mut alt) = self.key_is(key, &e.key, text)? else {
                return Ok(unknown(text));
            };
            let mut full = dep.clone();
            full.append(&mut alt);
            full.push((Step::Action(Action::Nat(nat)), false));
            out.push(full);
        }
        if elems.iter().any(|e| e.key == Expr::Catchall) {
            return Ok(unknown(&format!("{text} (catch-all NAT map element)")));
        }
        if out.is_empty() {
            // An empty map: the lookup never succeeds, the rule never applies.
            let never = Match::cmp(Key::NfProto, int(0));
            return Ok(vec![vec![(Step::Match(never), false)]]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    /// Found by the nft kernel-differential test: `dnat ip6 to X` in an inet table leaves
    /// an IPv4 packet alone and the rule continues (the kernel traces the rule, verdict
    /// continue): an alternative for the other family with no action.
    #[test]
    fn inet_nat_with_a_family_continues_for_the_other_family() {
        let text = "table inet t {\n chain c {\n  type nat hook prerouting priority -100;\n  dnat ip6 to fd00::1\n }\n}\n";
        let rs = crate::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        let rules = &rs.tables[0].chains[0].rules;
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].origin.span, rules[1].origin.span);
        assert_eq!(
            rules[1].body,
            vec![Step::Match(model::expr::Match::cmp(
                Key::NfProto,
                Pattern::Value(Value::Int(2))
            ))]
        );
    }
}
