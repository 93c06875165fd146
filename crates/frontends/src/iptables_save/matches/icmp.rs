//! `-m icmp` (xt_icmp in iptables) and `-m icmp6` (ip6tables): the ICMP type and code
//! range of an ICMP/ICMPv6 header; `any` (IPv4 only) is any ICMP header. The kernel refuses
//! the rule without `-p icmp` / `-p ipv6-icmp`; a later fragment has no header and never
//! matches. Loaded implicitly by `-p icmp --icmp-type echo-request`.
//!
//! ```text
//! -A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT
//! -A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT
//! ```

use super::{int, Args, Extension, Item, Simple};
use crate::iptables_save::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::{Key, Match, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["icmp-type"], Some(&[1]), option)
}

pub(super) fn load_v6() -> Box<dyn Extension> {
    Simple::boxed(&["icmpv6-type"], Some(&[58]), option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let v6 = a.name() == "icmpv6-type";
    let t = a.arg()?;
    let (ty, lo, hi) = a.check(t, icmp_type(&t.text, v6))?;
    let (tkey, ckey) = if v6 {
        (Key::Icmpv6Type, Key::Icmpv6Code)
    } else {
        (Key::IcmpType, Key::IcmpCode)
    };
    if ty == 255 && !v6 {
        // `any`: any ICMP header (a later fragment has none and does not match).
        a.push_cmp(tkey, Pattern::Range(int(0), int(255)));
    } else if lo == 0 && hi == 255 {
        a.push_cmp(tkey, Pattern::Value(int(ty.into())));
    } else {
        let code = if lo == hi {
            Pattern::Value(int(lo.into()))
        } else {
            Pattern::Range(int(lo.into()), int(hi.into()))
        };
        let ty_m = Match::cmp(tkey, Pattern::Value(int(ty.into())));
        let code_m = Match::cmp(ckey, code);
        if a.neg() {
            // not (type and code) = type differs, or type equal and code differs.
            let other_type = ty_m.clone().negate(true);
            a.push(Item::Either(vec![
                vec![other_type],
                vec![ty_m, code_m.negate(true)],
            ]));
        } else {
            a.push(Item::One(ty_m));
            a.push(Item::One(code_m));
        }
    }
    Ok(())
}

/// A name (unique case-insensitive prefix, as libxt_icmp's `strncasecmp`), `type` or
/// `type/code`: the type and the code range.
fn icmp_type(s: &str, v6: bool) -> Result<(u8, u8, u8), Bad> {
    let table = model::kernel::icmp::iptables_names(v6);
    let lower = s.to_ascii_lowercase();
    let exact = table.iter().find(|e| e.name.eq_ignore_ascii_case(s));
    let mut hits = table
        .iter()
        .filter(|e| !s.is_empty() && e.name.to_ascii_lowercase().starts_with(&lower));
    let found = match exact {
        Some(e) => Some(e),
        None => {
            let first = hits.next();
            if let (Some(a), Some(b)) = (first, hits.next()) {
                return Err(bad(
                    "ICMP type",
                    format!("ambiguous: `{}` or `{}`", a.name, b.name),
                ));
            }
            first
        }
    };
    if let Some(e) = found {
        return Ok((e.icmp_type, e.code_min, e.code_max));
    }
    let (t, c) = match s.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (s, None),
    };
    let ty = values::number(t, 255, "ICMP type")
        .map_err(|_| bad("ICMP type", "not a type name, number or type/code"))? as u8;
    match c {
        Some(c) => {
            let code = values::number(c, 255, "ICMP code")? as u8;
            Ok((ty, code, code))
        }
        None => Ok((ty, 0, 0xFF)),
    }
}

#[cfg(test)]
mod tests {
    use super::icmp_type;
    use crate::iptables_save::table_test::{
        check, check6, check_errors, cmp, int, proto, range, split,
    };
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-p icmp -m icmp --icmp-type echo-request",
                vec![proto(1), cmp(Key::IcmpType, int(8))],
            ),
            (
                "-p icmp -m icmp --icmp-type 3/4",
                vec![
                    proto(1),
                    cmp(Key::IcmpType, int(3)),
                    cmp(Key::IcmpCode, int(4)),
                ],
            ),
            (
                "-p icmp --icmp-type any",
                vec![proto(1), cmp(Key::IcmpType, range(0, 255))],
            ),
            (
                "-p icmp --icmp-type port-unreachable",
                vec![
                    proto(1),
                    cmp(Key::IcmpType, int(3)),
                    cmp(Key::IcmpCode, int(3)),
                ],
            ),
            (
                "-p icmp ! --icmp-type 8",
                vec![proto(1), cmp(Key::IcmpType, int(8)).negate(true)],
            ),
        ]);
        check6(&[
            (
                "-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation",
                vec![proto(58), cmp(Key::Icmpv6Type, int(135))],
            ),
            (
                "-p icmpv6 --icmpv6-type 1/4",
                vec![
                    proto(58),
                    cmp(Key::Icmpv6Type, int(1)),
                    cmp(Key::Icmpv6Code, int(4)),
                ],
            ),
        ]);
    }

    /// `! type/code` is "another type, or this type with another code": two rules.
    #[test]
    fn negated_type_and_code_splits_the_rule() {
        assert_eq!(
            split("-p icmp ! --icmp-type 3/4 -j DROP"),
            vec![
                vec![proto(1), cmp(Key::IcmpType, int(3)).negate(true)],
                vec![
                    proto(1),
                    cmp(Key::IcmpType, int(3)),
                    cmp(Key::IcmpCode, int(4)).negate(true)
                ],
            ]
        );
    }

    #[test]
    fn names_prefixes_and_numbers() {
        assert_eq!(icmp_type("echo-request", false), Ok((8, 0, 255)));
        assert_eq!(icmp_type("port-unr", false), Ok((3, 3, 3)));
        assert_eq!(icmp_type("3/4", false), Ok((3, 4, 4)));
        assert_eq!(icmp_type("8", false), Ok((8, 0, 255)));
        assert_eq!(icmp_type("any", false), Ok((255, 0, 255)));
        assert!(icmp_type("echo-re", false).is_err());
        assert_eq!(icmp_type("neighbor-solicitation", true), Ok((135, 0, 255)));
        assert_eq!(icmp_type("packet-too-big", true), Ok((2, 0, 255)));
        assert!(icmp_type("any", true).is_err());
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-p icmp --icmp-type echo-re",
                "invalid ICMP type `echo-re`: ambiguous: `echo-reply` or `echo-request`",
                21,
            ),
            (
                "-p tcp -m icmp --icmp-type 8",
                "match `icmp` needs `-p icmp` (the kernel refuses the rule otherwise)",
                4,
            ),
        ]);
    }
}
