//! What the NAT targets (DNAT, SNAT, MASQUERADE, REDIRECT, NETMAP) share: their action, the
//! reading of their options, and the `[a[-b]][:p[-q]]` range syntax. Each target's own file
//! says which options it takes.

use super::{Args, End, Extension};
use crate::iptables_save::cursor::Cx;
use crate::iptables_save::values::{self, bad, Bad, Masked};
use crate::ParseError;
use model::expr::{Action, Nat, NatKind, Verdict};
use std::net::IpAddr;

/// A NAT target: the action it builds and the options of its kind.
pub(super) struct NatTarget {
    nat: Nat,
    options: &'static [&'static str],
    /// The option that must give an address or ports (`--to-destination`), if any.
    required: Option<&'static str>,
}

impl NatTarget {
    pub(super) fn boxed(
        kind: NatKind,
        options: &'static [&'static str],
        required: Option<&'static str>,
    ) -> Box<dyn Extension> {
        let nat = Nat {
            kind,
            addr: None,
            ports: None,
            random: false,
            fully_random: false,
            persistent: false,
        };
        Box::new(NatTarget {
            nat,
            options,
            required,
        })
    }
}

impl Extension for NatTarget {
    fn knows(&self, option: &str) -> bool {
        self.options.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let n = &mut self.nat;
        match a.name() {
            "random" => n.random = true,
            "random-fully" => n.fully_random = true,
            "persistent" => n.persistent = true,
            "to-ports" => {
                let t = a.arg()?;
                n.ports = Some(a.check(t, values::port_range(&t.text, '-'))?);
            }
            "to" if n.kind == NatKind::Netmap => {
                let t = a.arg()?;
                match a.check(t, values::prefix(&t.text, a.cx.family))? {
                    Masked::Prefix(p) => n.addr = Some((p.network(), p.broadcast())),
                    Masked::NonContiguous => {
                        let why = bad("NETMAP prefix", "the netmask must be contiguous");
                        return Err(a.cx.invalid(t, why));
                    }
                }
            }
            name => {
                // `--to-destination`, `--to-source` or `--to`, getopt's unique abbreviation
                // of either (iptables-translate's own tests write it so).
                let t = a.arg()?;
                if n.addr.is_some() || n.ports.is_some() {
                    return Err(a.unsupported(format!("a second --{name}")));
                }
                let (addr, ports) = a.check(t, nat_spec(&t.text, a.cx))?;
                n.addr = addr;
                n.ports = ports;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let n = self.nat;
        if let Some(required) = self.required {
            if n.addr.is_none() && n.ports.is_none() {
                return Err(end.missing(required));
            }
        }
        Ok(vec![Action::Nat(n), Action::Verdict(Verdict::Accept)])
    }
}

/// An address range, if given.
type Addrs = Option<(IpAddr, IpAddr)>;

/// NAT ranges and ports, if given.
type NatSpec = (Addrs, Option<(u16, u16)>);

/// `[a[-b]][:p[-q]]`; IPv6 addresses in brackets when a port follows (`[::1]:80`).
fn nat_spec(s: &str, cx: &Cx<'_>) -> Result<NatSpec, Bad> {
    let (addrs, ports) = if cx.v6() {
        v6_spec(s, cx)?
    } else {
        let (a, p) = match s.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addrs = if a.is_empty() {
            None
        } else {
            Some(values::address_range(a, cx.family)?)
        };
        (addrs, p)
    };
    let ports = match ports {
        Some(p) if p.contains('/') => {
            return Err(bad(
                "NAT ports",
                "shifted port ranges (`/base`) are not modelled",
            ))
        }
        Some(p) => Some(values::port_range(p, '-')?),
        None => None,
    };
    Ok((addrs, ports))
}

/// An IPv6 range and the text of its ports: `[a]`, `[a]-[b]`, each optionally followed by
/// `:ports`, or `a[-b]`, or `:ports`.
fn v6_spec<'s>(s: &'s str, cx: &Cx<'_>) -> Result<(Addrs, Option<&'s str>), Bad> {
    let Some(rest) = s.strip_prefix('[') else {
        if s.starts_with(':') && !s.starts_with("::") {
            return Ok((None, Some(&s[1..])));
        }
        return Ok((Some(values::address_range(s, cx.family)?), None));
    };
    let (a, rest) = rest
        .split_once(']')
        .ok_or_else(|| bad("NAT address", "missing `]`"))?;
    let (b, rest) = match rest.strip_prefix("-[") {
        Some(r) => {
            let (b, r) = r
                .split_once(']')
                .ok_or_else(|| bad("NAT address", "missing `]`"))?;
            (Some(b), r)
        }
        None => (None, rest),
    };
    let ports = match rest.strip_prefix(':') {
        Some(p) => Some(p),
        None if rest.is_empty() => None,
        None => return Err(bad("NAT address", "unexpected text after `]`")),
    };
    let a = values::address(a, cx.family)?;
    let b = match b {
        Some(b) => values::address(b, cx.family)?,
        None => a,
    };
    Ok((Some((a, b)), ports))
}

/// The NAT action of a rule line in `table`'s `chain` (tests of the NAT targets).
#[cfg(test)]
pub(super) fn nat_of(chain: &str, line: &str, family: model::ruleset::Family) -> Nat {
    let a = crate::iptables_save::table_test::actions_in("nat", chain, line, family);
    assert_eq!(a[1], Action::Verdict(Verdict::Accept), "{line}");
    match &a[0] {
        Action::Nat(n) => n.clone(),
        other => panic!("{line}: {other:?}"),
    }
}
