//! `-j NFQUEUE` (xt_NFQUEUE), and the old `-j QUEUE` (queue 0): hands the packet to a
//! userspace program on a netlink queue, which decides its fate. With `--queue-bypass` the
//! packet is accepted when no program listens.
//!
//! ```text
//! -A FORWARD -j NFQUEUE --queue-balance 2:5 --queue-bypass
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Action, Queue, Verdict};

const OPTIONS: &[&str] = &[
    "queue-num",
    "queue-balance",
    "queue-bypass",
    "queue-cpu-fanout",
    "fanout",
    "fail-open",
];

struct Nfqueue(Queue);

pub(super) fn load() -> Box<dyn Extension> {
    Box::new(Nfqueue(Queue {
        num: 0,
        last: 0,
        bypass: false,
        fanout: false,
    }))
}

impl Extension for Nfqueue {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let q = &mut self.0;
        match a.name() {
            "queue-num" => {
                let t = a.arg()?;
                q.num = a.check(t, values::number(&t.text, 65535, "queue number"))? as u16;
                q.last = q.num;
            }
            "queue-balance" => {
                let t = a.arg()?;
                (q.num, q.last) = a.check(t, values::port_range(&t.text, ':'))?;
            }
            "queue-bypass" => q.bypass = true,
            "queue-cpu-fanout" | "fanout" => q.fanout = true,
            _ => {}
        }
        Ok(())
    }

    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![Action::Verdict(Verdict::Queue(self.0))])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions, check_errors};
    use model::expr::{Action, Queue, Verdict};

    #[test]
    fn lines() {
        let queue = |num, last, bypass, fanout| {
            vec![Action::Verdict(Verdict::Queue(Queue {
                num,
                last,
                bypass,
                fanout,
            }))]
        };
        for (line, want) in [
            (
                "-j NFQUEUE --queue-balance 2:5 --queue-bypass --fanout",
                queue(2, 5, true, true),
            ),
            ("-j NFQUEUE --queue-num 7", queue(7, 7, false, false)),
            ("-j NFQUEUE --fail-open", queue(0, 0, false, false)),
            ("-j QUEUE", queue(0, 0, false, false)),
        ] {
            assert_eq!(actions(line), want, "{line}");
        }
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-j NFQUEUE --queue-num 65536",
            "invalid queue number `65536`: larger than 65535",
            24,
        )]);
    }
}
