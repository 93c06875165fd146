//! `-m socket` (xt_socket): a local socket exists for the packet (as TPROXY needs). Sockets
//! are not simulated: undecidable.
//!
//! ```text
//! -A PREROUTING -p tcp -m socket --transparent -j MARK --set-mark 1
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("transparent", 0), ("nowildcard", 0), ("restore-skmark", 0)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Socket, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::check;
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m socket --transparent --nowildcard",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Socket,
                text: "-m socket --transparent --nowildcard".into(),
            })],
        )]);
    }
}
