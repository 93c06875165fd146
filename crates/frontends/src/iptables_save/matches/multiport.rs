//! `-m multiport` (xt_multiport): up to 15 source or destination ports (a range counting
//! two), or `--ports`, the source or the destination port. The kernel refuses the rule
//! without `-p` tcp, udp, dccp, sctp or udplite.
//!
//! ```text
//! -A INPUT -p tcp -m multiport --dports 22,80:90,443 -j ACCEPT
//! ```

use super::{port_pattern, Args, Extension, Item, Simple};
use crate::iptables_save::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::{Key, Match, Pattern};

const OPTIONS: &[&str] = &[
    "sports",
    "source-ports",
    "dports",
    "destination-ports",
    "ports",
];

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(OPTIONS, Some(&[6, 17, 33, 132, 136]), option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let ports = a.check(t, port_list(&t.text))?;
    match a.name() {
        "sports" | "source-ports" => a.push_cmp(Key::SrcPort, ports),
        "dports" | "destination-ports" => a.push_cmp(Key::DstPort, ports),
        _ => {
            // `--ports`: the source or the destination port is listed.
            let src = Match::cmp(Key::SrcPort, ports.clone());
            let dst = Match::cmp(Key::DstPort, ports);
            if a.neg() {
                a.push(Item::One(src.negate(true)));
                a.push(Item::One(dst.negate(true)));
            } else {
                a.push(Item::Either(vec![
                    vec![src.clone()],
                    vec![src.negate(true), dst],
                ]));
            }
        }
    }
    Ok(())
}

/// `22,80:90,443` (at most 15 ports, a range counting two, as xt_multiport).
fn port_list(s: &str) -> Result<Pattern, Bad> {
    let mut out = Vec::new();
    let mut slots = 0;
    for part in s.split(',') {
        let range = values::port_range(part, ':')?;
        slots += if range.0 == range.1 { 1 } else { 2 };
        out.push(port_pattern(range));
    }
    if slots > 15 {
        return Err(bad("port list", "more than 15 ports (a range counts two)"));
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        Pattern::OneOf(out)
    })
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int, proto, range, split};
    use model::expr::{Key, Pattern};

    #[test]
    fn lines() {
        check(&[
            (
                "-p tcp -m multiport --dports 22,80:90",
                vec![
                    proto(6),
                    cmp(Key::DstPort, Pattern::OneOf(vec![int(22), range(80, 90)])),
                ],
            ),
            (
                "-p udp -m multiport ! --sports 53",
                vec![proto(17), cmp(Key::SrcPort, int(53)).negate(true)],
            ),
            (
                "-p tcp -m multiport ! --ports 22,80",
                vec![
                    proto(6),
                    cmp(Key::SrcPort, Pattern::OneOf(vec![int(22), int(80)])).negate(true),
                    cmp(Key::DstPort, Pattern::OneOf(vec![int(22), int(80)])).negate(true),
                ],
            ),
        ]);
    }

    /// `--ports` is the source or the destination port: two exclusive rules.
    #[test]
    fn ports_is_source_or_destination() {
        let p = Pattern::OneOf(vec![int(22), int(80)]);
        assert_eq!(
            split("-p tcp -m multiport --ports 22,80 -j ACCEPT"),
            vec![
                vec![proto(6), cmp(Key::SrcPort, p.clone())],
                vec![
                    proto(6),
                    cmp(Key::SrcPort, p.clone()).negate(true),
                    cmp(Key::DstPort, p)
                ],
            ]
        );
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16",
                "invalid port list `1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16`: more than 15 ports (a range counts two)",
                30,
            ),
            (
                "-m multiport --dports 22",
                "match `multiport` needs `-p tcp|udp|dccp|sctp|udplite` (the kernel refuses the rule otherwise)",
                4,
            ),
        ]);
    }
}
