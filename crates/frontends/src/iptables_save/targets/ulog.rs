//! `-j ULOG` (ipt_ULOG, removed from Linux 3.17, still in old rulesets): sends the packet to
//! a netlink group, as NFLOG does, and continues with the next rule.
//!
//! ```text
//! -A INPUT -j ULOG --ulog-nlgroup 2 --ulog-prefix drop
//! ```

use super::log::LogTarget;
use super::Extension;
use model::expr::LogKind;

const OPTIONS: &[&str] = &[
    "ulog-nlgroup",
    "ulog-prefix",
    "ulog-cprange",
    "ulog-qthreshold",
];

pub(super) fn load() -> Box<dyn Extension> {
    LogTarget::boxed(LogKind::Ulog { group: 1 }, None, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::actions;
    use model::expr::{Action, LogKind};

    #[test]
    fn lines() {
        for (line, group, prefix) in [
            ("-j ULOG", 1, ""),
            ("-j ULOG --ulog-nlgroup 2 --ulog-prefix drop", 2, "drop"),
        ] {
            let a = actions(line);
            let [Action::Log(l)] = &a[..] else {
                panic!("{line}: {a:?}")
            };
            assert_eq!(
                (l.kind, l.prefix.as_str()),
                (LogKind::Ulog { group }, prefix)
            );
        }
    }
}
