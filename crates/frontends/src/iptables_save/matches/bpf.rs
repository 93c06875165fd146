//! `-m bpf` (xt_bpf): a BPF program run on the packet. Programs are not simulated:
//! undecidable.
//!
//! ```text
//! -A INPUT -m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0" -j ACCEPT
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("bytecode", 1), ("object-pinned", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Bpf, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m bpf --object-pinned /sys/fs/bpf/prog",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Bpf,
                text: "-m bpf --object-pinned /sys/fs/bpf/prog".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m bpf --bytecode",
            "expected a value for --bytecode, found end of line",
            18,
        )]);
    }
}
