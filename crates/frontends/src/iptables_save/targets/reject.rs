//! `-j REJECT` (ipt_REJECT / ip6t_REJECT): drops the packet and answers it with an ICMP
//! error (port unreachable by default) or, for TCP, a reset.
//!
//! ```text
//! -A INPUT -p tcp -j REJECT --reject-with tcp-reset
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::values::{bad, Bad};
use crate::ParseError;
use model::expr::{Action, Reject, Verdict};

#[derive(Default)]
struct RejectTarget {
    with: Option<Reject>,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<RejectTarget>::default()
}

impl Extension for RejectTarget {
    fn knows(&self, option: &str) -> bool {
        option == "reject-with"
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let t = a.arg()?;
        self.with = Some(a.check(t, reject_with(&t.text, a.cx.v6()))?);
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let default = if end.cx.v6() {
            Reject::DEFAULT_V6
        } else {
            Reject::DEFAULT_V4
        };
        let reject = Verdict::Reject(self.with.unwrap_or(default));
        Ok(vec![Action::Verdict(reject)])
    }
}

/// `--reject-with` names (with libxt_REJECT's short aliases and unique prefixes).
fn reject_with(s: &str, v6: bool) -> Result<Reject, Bad> {
    const V4: &[(&str, &str, Reject)] = &[
        ("icmp-net-unreachable", "net-unreach", Reject::Icmp(0)),
        ("icmp-host-unreachable", "host-unreach", Reject::Icmp(1)),
        ("icmp-proto-unreachable", "proto-unreach", Reject::Icmp(2)),
        ("icmp-port-unreachable", "port-unreach", Reject::Icmp(3)),
        ("icmp-net-prohibited", "net-prohib", Reject::Icmp(9)),
        ("icmp-host-prohibited", "host-prohib", Reject::Icmp(10)),
        ("tcp-reset", "tcp-rst", Reject::TcpReset),
        ("icmp-admin-prohibited", "admin-prohib", Reject::Icmp(13)),
    ];
    const V6: &[(&str, &str, Reject)] = &[
        ("icmp6-no-route", "no-route", Reject::Icmpv6(0)),
        ("icmp6-adm-prohibited", "adm-prohibited", Reject::Icmpv6(1)),
        ("icmp6-addr-unreachable", "addr-unreach", Reject::Icmpv6(3)),
        ("icmp6-port-unreachable", "port-unreach", Reject::Icmpv6(4)),
        ("icmp6-policy-fail", "policy-fail", Reject::Icmpv6(5)),
        ("icmp6-reject-route", "reject-route", Reject::Icmpv6(6)),
        ("tcp-reset", "tcp-rst", Reject::TcpReset),
    ];
    let table = if v6 { V6 } else { V4 };
    let lower = s.to_ascii_lowercase();
    let exact = table.iter().find(|(n, a, _)| *n == lower || *a == lower);
    let prefix = || {
        table
            .iter()
            .find(|(n, a, _)| !lower.is_empty() && (n.starts_with(&lower) || a.starts_with(&lower)))
    };
    exact.or_else(prefix).map(|&(_, _, r)| r).ok_or_else(|| {
        bad(
            "reject type",
            if v6 {
                "not an ip6tables --reject-with type"
            } else {
                "not an iptables --reject-with type"
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions, actions6, check_errors};
    use model::expr::{Action, Reject, Verdict};

    #[test]
    fn lines() {
        let reject = |r| vec![Action::Verdict(Verdict::Reject(r))];
        for (line, want) in [
            ("-j REJECT", Reject::Icmp(3)),
            (
                "-j REJECT --reject-with icmp-net-unreachable",
                Reject::Icmp(0),
            ),
            (
                "-j REJECT --reject-with icmp-host-unreachable",
                Reject::Icmp(1),
            ),
            (
                "-j REJECT --reject-with icmp-proto-unreachable",
                Reject::Icmp(2),
            ),
            (
                "-j REJECT --reject-with icmp-port-unreachable",
                Reject::Icmp(3),
            ),
            (
                "-j REJECT --reject-with icmp-net-prohibited",
                Reject::Icmp(9),
            ),
            (
                "-j REJECT --reject-with icmp-host-prohibited",
                Reject::Icmp(10),
            ),
            (
                "-j REJECT --reject-with icmp-admin-prohibited",
                Reject::Icmp(13),
            ),
            ("-j REJECT --reject-with host-prohib", Reject::Icmp(10)),
            ("-j REJECT --reject-with net-unreach", Reject::Icmp(0)),
            ("-p tcp -j REJECT --reject-with tcp-reset", Reject::TcpReset),
        ] {
            assert_eq!(actions(line), reject(want), "{line}");
        }
        for (line, want) in [
            ("-j REJECT", Reject::Icmpv6(4)),
            ("-j REJECT --reject-with icmp6-no-route", Reject::Icmpv6(0)),
            ("-j REJECT --reject-with adm-prohibited", Reject::Icmpv6(1)),
            (
                "-j REJECT --reject-with icmp6-adm-prohibited",
                Reject::Icmpv6(1),
            ),
            (
                "-j REJECT --reject-with icmp6-addr-unreachable",
                Reject::Icmpv6(3),
            ),
            ("-j REJECT --reject-with addr-unreach", Reject::Icmpv6(3)),
            (
                "-j REJECT --reject-with icmp6-policy-fail",
                Reject::Icmpv6(5),
            ),
            (
                "-j REJECT --reject-with icmp6-reject-route",
                Reject::Icmpv6(6),
            ),
        ] {
            assert_eq!(actions6(line), reject(want), "{line}");
        }
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-j REJECT --reject-with icmp6-no-route",
                "invalid reject type `icmp6-no-route`: not an iptables --reject-with type",
                25,
            ),
            (
                "-j REJECT ! --reject-with tcp-reset",
                "unsupported: `!` before --reject-with is not modelled by whyblocked",
                11,
            ),
        ]);
    }
}
