//! `-j NFLOG` (xt_NFLOG): sends the packet to a netlink log group (for ulogd and friends)
//! and continues with the next rule.
//!
//! ```text
//! -A INPUT -j NFLOG --nflog-group 5 --nflog-prefix drop
//! ```

use super::log::LogTarget;
use super::Extension;
use model::expr::LogKind;

const OPTIONS: &[&str] = &[
    "nflog-group",
    "nflog-prefix",
    "nflog-range",
    "nflog-size",
    "nflog-threshold",
];

pub(super) fn load() -> Box<dyn Extension> {
    LogTarget::boxed(LogKind::Nflog { group: 0 }, None, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions, check_errors};
    use model::expr::{Action, Log, LogKind};

    #[test]
    fn lines() {
        let nflog = |group, prefix: &str| {
            vec![Action::Log(Log {
                kind: LogKind::Nflog { group },
                prefix: prefix.into(),
                level: None,
                tcp_sequence: false,
                tcp_options: false,
                ip_options: false,
                uid: false,
                macdecode: false,
            })]
        };
        for (line, want) in [
            ("-j NFLOG", nflog(0, "")),
            (
                "-j NFLOG --nflog-group 5 --nflog-prefix drop",
                nflog(5, "drop"),
            ),
            (
                "-j NFLOG --nflog-range 64 --nflog-threshold 10",
                nflog(0, ""),
            ),
        ] {
            assert_eq!(actions(line), want, "{line}");
        }
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-j NFLOG --nflog-group 70000",
            "invalid group `70000`: larger than 65535",
            24,
        )]);
    }
}
