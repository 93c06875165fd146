//! `-m addrtype` (xt_addrtype): the routing type (`LOCAL`, `BROADCAST`, `UNICAST`, ...) of
//! the packet's source or destination address, as the host's routing tables say, optionally
//! limited to the input or output interface.
//!
//! ```text
//! -A INPUT -m addrtype --dst-type LOCAL,BROADCAST --limit-iface-in -j ACCEPT
//! ```

use super::{int, one, Args, End, Extension};
use crate::iptables_save::values::{bad, Bad};
use crate::ParseError;
use model::expr::{rtn, IfaceLimit, Key, Pattern};

const OPTIONS: &[&str] = &["src-type", "dst-type", "limit-iface-in", "limit-iface-out"];

/// The options as read: the interface limit applies to both types, wherever it is written.
#[derive(Default)]
struct Addrtype {
    src: Option<(Pattern, bool)>,
    dst: Option<(Pattern, bool)>,
    iface: Option<IfaceLimit>,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Addrtype>::default()
}

impl Extension for Addrtype {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        match a.name() {
            name @ ("src-type" | "dst-type") => {
                let t = a.arg()?;
                let types = a.check(t, addr_types(&t.text))?;
                let slot = if name == "src-type" {
                    &mut self.src
                } else {
                    &mut self.dst
                };
                *slot = Some((types, a.neg()));
            }
            name => {
                a.no_neg()?;
                self.iface = Some(if name == "limit-iface-in" {
                    IfaceLimit::In
                } else {
                    IfaceLimit::Out
                });
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let iface = self.iface;
        for (dst, given) in [(false, self.src), (true, self.dst)] {
            if let Some((types, neg)) = given {
                end.push(one(Key::FibAddrType { dst, iface }, types, neg));
            }
        }
        Ok(())
    }
}

/// `UNICAST,LOCAL` (case-insensitive prefixes, as libxt_addrtype) as routing types.
fn addr_types(list: &str) -> Result<Pattern, Bad> {
    let mut out = Vec::new();
    for word in list.split(',') {
        let up = word.to_ascii_uppercase();
        let &(_, n) = rtn::NAMES
            .iter()
            .find(|(name, _)| !up.is_empty() && name.starts_with(up.as_str()))
            .ok_or_else(|| bad("address type", format!("unknown type `{word}`")))?;
        out.push(Pattern::Value(int(n)));
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        Pattern::OneOf(out)
    })
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int};
    use model::expr::{rtn, IfaceLimit, Key, Pattern};

    #[test]
    fn lines() {
        let fib = |dst, iface| Key::FibAddrType { dst, iface };
        check(&[
            (
                "-m addrtype ! --dst-type LOCAL,BROADCAST --limit-iface-in",
                vec![cmp(
                    fib(true, Some(IfaceLimit::In)),
                    Pattern::OneOf(vec![int(rtn::LOCAL), int(rtn::BROADCAST)]),
                )
                .negate(true)],
            ),
            (
                "-m addrtype --src-type LOCAL",
                vec![cmp(fib(false, None), int(rtn::LOCAL))],
            ),
            (
                "-m addrtype --limit-iface-out --dst-type uni --src-type local",
                vec![
                    cmp(fib(false, Some(IfaceLimit::Out)), int(rtn::LOCAL)),
                    cmp(fib(true, Some(IfaceLimit::Out)), int(rtn::UNICAST)),
                ],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m addrtype --dst-type LOCALE",
                "invalid address type `LOCALE`: unknown type `LOCALE`",
                24,
            ),
            (
                "-m addrtype ! --limit-iface-in",
                "unsupported: `!` before --limit-iface-in is not modelled by whyblocked",
                13,
            ),
        ]);
    }
}
