//! `-m sctp` (xt_sctp): the ports of an SCTP header; `--chunk-types` (which chunks the
//! packet carries) is not modelled and is undecidable. The kernel refuses the rule without
//! `-p sctp`.
//!
//! ```text
//! -A INPUT -p sctp -m sctp --dport 9 --chunk-types any INIT -j ACCEPT
//! ```

use super::{port_option, Args, Extension, Simple, PORT_OPTIONS};
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::Undecidable;

const OPTIONS: &[&str] = &[
    PORT_OPTIONS[0],
    PORT_OPTIONS[1],
    PORT_OPTIONS[2],
    PORT_OPTIONS[3],
    "chunk-types",
];

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(OPTIONS, Some(&[132]), option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    if a.name() != "chunk-types" {
        return port_option(a);
    }
    // `--chunk-types all|any|only CHUNK,...`
    a.arg()?;
    let after = a.token();
    a.value(after, "a list of SCTP chunk types")?;
    a.push_undecidable(Undecidable::Unsupported(unmodelled("sctp --chunk-types")));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int, proto};
    use crate::unmodelled::unmodelled;
    use model::expr::{Key, Match, Test, Undecidable};

    #[test]
    fn lines() {
        let chunks = |text: &str| {
            Match::new(Test::Undecidable {
                kind: Undecidable::Unsupported(unmodelled("sctp --chunk-types")),
                text: text.into(),
            })
        };
        check(&[
            (
                "-p sctp -m sctp --dport 9",
                vec![proto(132), cmp(Key::DstPort, int(9))],
            ),
            (
                "-p sctp -m sctp --chunk-types any INIT -j ACCEPT",
                vec![proto(132), chunks("--chunk-types any INIT")],
            ),
            (
                "-p sctp ! --chunk-types only DATA",
                vec![proto(132), chunks("! --chunk-types only DATA").negate(true)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-p sctp --chunk-types any",
                "expected a list of SCTP chunk types, found end of line",
                22,
            ),
            (
                "-p udp -m sctp --dport 9",
                "match `sctp` needs `-p sctp` (the kernel refuses the rule otherwise)",
                4,
            ),
        ]);
    }
}
