//! `-m owner` (xt_owner): the uid or gid of the local socket that sent the packet. A packet
//! without a socket matches exactly when every given option is negated. User and group
//! names (which need the host's passwd), `--socket-exists` and `--suppl-groups` are
//! undecidable.
//!
//! ```text
//! -A OUTPUT -m owner --uid-owner 1000 -j ACCEPT
//! ```

use super::{int, Args, Extension, Item, Simple};
use crate::iptables_save::values;
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Absent, Key, Match, Pattern, Undecidable};

const OPTIONS: &[&str] = &["uid-owner", "gid-owner", "socket-exists", "suppl-groups"];

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(OPTIONS, None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    match a.name() {
        name @ ("uid-owner" | "gid-owner") => {
            let t = a.arg()?;
            let key = if name == "uid-owner" {
                Key::SkUid
            } else {
                Key::SkGid
            };
            match id_range(&t.text) {
                Some(pattern) => {
                    // xt_owner: a packet without a socket matches exactly when every given
                    // option is negated, so the absent key compares unequal.
                    let mut m = Match::cmp(key, pattern).negate(a.neg());
                    m.when_absent = Absent::Unequal;
                    a.push(Item::One(m));
                }
                None => a.push_undecidable(Undecidable::Unsupported(unmodelled(format!(
                    "owner --{name} with a user or group name"
                )))),
            }
        }
        "socket-exists" => a.push_undecidable(Undecidable::Socket),
        _ => {
            // `--suppl-groups` qualifies `--gid-owner`; its negation is not its own.
            let m = a.undecidable(Undecidable::Unsupported(unmodelled("owner --suppl-groups")));
            a.push(Item::One(m));
        }
    }
    Ok(())
}

/// A numeric uid/gid or `a-b`; `None` for a name (resolving it needs the host's passwd).
fn id_range(s: &str) -> Option<Pattern> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a = values::number(a, u32::MAX.into(), "id").ok()?;
    let b = values::number(b, u32::MAX.into(), "id").ok()?;
    Some(if a == b {
        Pattern::Value(int(a))
    } else {
        Pattern::Range(int(a), int(b))
    })
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, cmp, int, range};
    use crate::unmodelled::unmodelled;
    use model::expr::{Absent, Key, Match, Test, Undecidable};

    #[test]
    fn lines() {
        let owner = |key, pattern, neg| {
            let mut m = cmp(key, pattern).negate(neg);
            m.when_absent = Absent::Unequal;
            m
        };
        let undecidable = |kind, text: &str| {
            Match::new(Test::Undecidable {
                kind,
                text: text.into(),
            })
        };
        check(&[
            (
                "-m owner ! --uid-owner 1000",
                vec![owner(Key::SkUid, int(1000), true)],
            ),
            (
                "-m owner --gid-owner 100-200",
                vec![owner(Key::SkGid, range(100, 200), false)],
            ),
            (
                "-m owner --gid-owner staff",
                vec![undecidable(
                    Undecidable::Unsupported(unmodelled(
                        "owner --gid-owner with a user or group name",
                    )),
                    "--gid-owner staff",
                )],
            ),
            (
                "-m owner ! --socket-exists",
                vec![undecidable(Undecidable::Socket, "! --socket-exists").negate(true)],
            ),
            (
                "-m owner --gid-owner 5 --suppl-groups",
                vec![
                    owner(Key::SkGid, int(5), false),
                    undecidable(
                        Undecidable::Unsupported(unmodelled("owner --suppl-groups")),
                        "--suppl-groups",
                    ),
                ],
            ),
        ]);
    }
}
