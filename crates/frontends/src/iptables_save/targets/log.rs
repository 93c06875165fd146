//! `-j LOG` (xt_LOG): writes a kernel log line about the packet (with a prefix, a syslog
//! level and optional details) and continues with the next rule. NFLOG and ULOG, which
//! send the packet to a netlink group instead, share its options' reading here.
//!
//! ```text
//! -A INPUT -j LOG --log-prefix "[UFW BLOCK] " --log-level 4
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::{Action, Log, LogKind};

const OPTIONS: &[&str] = &[
    "log-level",
    "log-prefix",
    "log-tcp-sequence",
    "log-tcp-options",
    "log-ip-options",
    "log-uid",
    "log-macdecode",
];

/// A logging target: LOG, NFLOG or ULOG, with the options of its kind.
pub(super) struct LogTarget {
    log: Log,
    options: &'static [&'static str],
}

impl LogTarget {
    pub(super) fn boxed(
        kind: LogKind,
        level: Option<u8>,
        options: &'static [&'static str],
    ) -> Box<dyn Extension> {
        let log = Log {
            kind,
            prefix: String::new(),
            level,
            tcp_sequence: false,
            tcp_options: false,
            ip_options: false,
            uid: false,
            macdecode: false,
        };
        Box::new(LogTarget { log, options })
    }
}

pub(super) fn load() -> Box<dyn Extension> {
    LogTarget::boxed(LogKind::Kernel, Some(4), OPTIONS)
}

impl Extension for LogTarget {
    fn knows(&self, option: &str) -> bool {
        self.options.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let l = &mut self.log;
        match a.name() {
            "log-level" => {
                let t = a.arg()?;
                l.level = Some(a.check(t, log_level(&t.text))?);
            }
            name @ ("log-prefix" | "nflog-prefix" | "ulog-prefix") => {
                let t = a.arg()?;
                if name == "log-prefix" && t.text.len() > 29 {
                    let why = bad("log prefix", "longer than 29 characters");
                    return Err(a.cx.invalid(t, why));
                }
                l.prefix = t.text.to_string();
            }
            "log-tcp-sequence" => l.tcp_sequence = true,
            "log-tcp-options" => l.tcp_options = true,
            "log-ip-options" => l.ip_options = true,
            "log-uid" => l.uid = true,
            "log-macdecode" => l.macdecode = true,
            "nflog-group" | "ulog-nlgroup" => {
                let t = a.arg()?;
                let group = a.check(t, values::number(&t.text, 65535, "group"))? as u16;
                l.kind = match l.kind {
                    LogKind::Nflog { .. } => LogKind::Nflog { group },
                    _ => LogKind::Ulog { group },
                };
            }
            _ => {
                // Sizes and thresholds: no effect on the packet.
                let t = a.arg()?;
                a.check(t, values::number(&t.text, u32::MAX.into(), "number"))?;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![Action::Log(self.log)])
    }
}

/// syslog levels by number or name.
fn log_level(s: &str) -> Result<u8, Bad> {
    const NAMES: [(&str, u8); 10] = [
        ("emerg", 0),
        ("panic", 0),
        ("alert", 1),
        ("crit", 2),
        ("err", 3),
        ("error", 3),
        ("warning", 4),
        ("warn", 4),
        ("notice", 5),
        ("info", 6),
    ];
    if s.eq_ignore_ascii_case("debug") {
        return Ok(7);
    }
    if let Some(&(_, n)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(n);
    }
    values::number(s, 7, "log level")
        .map(|n| n as u8)
        .map_err(|_| bad("log level", "expected 0-7 or a syslog level name"))
}

#[cfg(test)]
mod tests {
    use super::log_level;
    use crate::iptables_save::table_test::{actions, check_errors};
    use model::expr::{Action, Log, LogKind};

    fn log(prefix: &str, level: u8) -> Log {
        Log {
            kind: LogKind::Kernel,
            prefix: prefix.into(),
            level: Some(level),
            tcp_sequence: false,
            tcp_options: false,
            ip_options: false,
            uid: false,
            macdecode: false,
        }
    }

    #[test]
    fn lines() {
        let all = Log {
            tcp_sequence: true,
            tcp_options: true,
            ip_options: true,
            uid: true,
            macdecode: true,
            ..log("x", 7)
        };
        for (line, want) in [
            ("-j LOG", log("", 4)),
            (
                "-j LOG --log-prefix \"[UFW BLOCK] \" --log-level info --log-tcp-options --log-uid",
                Log {
                    tcp_options: true,
                    uid: true,
                    ..log("[UFW BLOCK] ", 6)
                },
            ),
            (
                "-j LOG --log-prefix x --log-level debug --log-tcp-sequence --log-tcp-options \
                 --log-ip-options --log-uid --log-macdecode",
                all,
            ),
        ] {
            assert_eq!(actions(line), vec![Action::Log(want)], "{line}");
        }
        assert_eq!(log_level("7"), Ok(7));
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-j LOG --log-level 8",
                "invalid log level `8`: expected 0-7 or a syslog level name",
                20,
            ),
            (
                "-j LOG --log-prefix 123456789012345678901234567890",
                "invalid log prefix `123456789012345678901234567890`: longer than 29 characters",
                21,
            ),
        ]);
    }
}
