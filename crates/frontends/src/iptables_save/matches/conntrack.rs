//! `-m conntrack` (xt_conntrack): the packet's conntrack entry: its state (with the SNAT and
//! DNAT pseudo-states, which are status bits), tuple, status, direction. A packet without an
//! entry is INVALID or UNTRACKED and, as in the kernel, skips every option but `--ctstate`.
//!
//! ```text
//! -A FORWARD -m conntrack --ctstate ESTABLISHED --ctorigdst 10.0.0.0/8 -j ACCEPT
//! ```

use super::{int, one, port_pattern, Args, End, Extension, Item};
use crate::iptables_save::values::{self, bad, Bad, Masked};
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{ct_state, ct_status, Absent, Key, Match, Pattern, Undecidable};

const OPTIONS: &[&str] = &[
    "ctstate",
    "ctproto",
    "ctorigsrc",
    "ctorigdst",
    "ctreplsrc",
    "ctrepldst",
    "ctorigsrcport",
    "ctorigdstport",
    "ctreplsrcport",
    "ctrepldstport",
    "ctstatus",
    "ctexpire",
    "ctdir",
];

/// The options as read: `--ctstate` apart, because the kernel checks it first.
#[derive(Default)]
struct Conntrack {
    /// `--ctstate`: state bits, SNAT/DNAT status bits, negated.
    state: Option<(u64, u64, bool)>,
    others: Vec<Match>,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Conntrack>::default()
}

impl Extension for Conntrack {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let t = a.arg()?;
        let name = a.name();
        let m = match name {
            "ctstate" => {
                let (states, nat) = a.check(t, ct_states(&t.text, true))?;
                self.state = Some((states, nat, a.neg()));
                return Ok(());
            }
            "ctproto" => {
                let proto = a.check(t, values::protocol(&t.text))?;
                Match::cmp(Key::CtProto, Pattern::Value(int(proto.into())))
            }
            "ctorigsrc" | "ctorigdst" | "ctreplsrc" | "ctrepldst" => {
                match a.check(t, values::prefix(&t.text, a.cx.family))? {
                    Masked::Prefix(p) => Match::cmp(tuple_key(name), Pattern::Prefix(p)),
                    Masked::NonContiguous => a.undecidable(Undecidable::Unsupported(unmodelled(
                        "non-contiguous netmask",
                    ))),
                }
            }
            "ctorigsrcport" | "ctorigdstport" | "ctreplsrcport" | "ctrepldstport" => {
                let range = a.check(t, values::port_range(&t.text, ':'))?;
                Match::cmp(tuple_key(name), port_pattern(range))
            }
            "ctstatus" => {
                let status = a.check(t, ct_statuses(&t.text))?;
                Match::cmp(Key::CtStatus, Pattern::AnyBit(status))
            }
            "ctexpire" => {
                a.undecidable(Undecidable::Unsupported(unmodelled("conntrack --ctexpire")))
            }
            _ => {
                a.no_neg()?;
                let dir = if t.text.eq_ignore_ascii_case("ORIGINAL") {
                    0
                } else if t.text.eq_ignore_ascii_case("REPLY") {
                    1
                } else {
                    let why = bad("conntrack direction", "expected ORIGINAL or REPLY");
                    return Err(a.cx.invalid(t, why));
                };
                Match::cmp(Key::CtDirection, Pattern::Value(int(dir)))
            }
        };
        self.others.push(m.negate(a.neg()));
        Ok(())
    }

    /// xt_conntrack checks `--ctstate` first; on a packet without a conntrack entry it then
    /// returns whether a state was given, skipping every other option.
    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let Conntrack { state, others } = *self;
        if let Some((states, nat, neg)) = state {
            // Without an entry the packet's state is INVALID or UNTRACKED.
            let no_entry = ct_state::INVALID | ct_state::UNTRACKED;
            let passes_without_entry = if neg {
                states & no_entry != no_entry
            } else {
                states & no_entry != 0
            };
            if passes_without_entry && !others.is_empty() {
                let why = Undecidable::Unsupported(unmodelled(
                    "conntrack: --ctstate INVALID/UNTRACKED with other conntrack options",
                ));
                let m = end.undecidable(why);
                end.push(Item::One(m));
                return Ok(());
            }
            for item in state_items(states, nat, neg) {
                end.push(item);
            }
        }
        for m in others {
            end.push(Item::One(m));
        }
        Ok(())
    }
}

/// `--ctstate`: state bits and SNAT/DNAT, which are status bits a packet without an entry
/// does not have.
fn state_items(states: u64, nat: u64, neg: bool) -> Vec<Item> {
    let mut nat_match = Match::cmp(Key::CtStatus, Pattern::AnyBit(nat));
    nat_match.when_absent = Absent::Unequal;
    match (states != 0, nat != 0) {
        (true, false) => vec![one(Key::CtState, Pattern::AnyBit(states), neg)],
        (false, true) => vec![Item::One(nat_match.negate(neg))],
        (true, true) if neg => vec![
            one(Key::CtState, Pattern::AnyBit(states), true),
            Item::One(nat_match.negate(true)),
        ],
        (true, true) => {
            let state = Match::cmp(Key::CtState, Pattern::AnyBit(states));
            vec![Item::Either(vec![
                vec![state.clone()],
                vec![state.negate(true), nat_match],
            ])]
        }
        (false, false) => vec![one(Key::CtState, Pattern::AnyBit(0), neg)],
    }
}

fn tuple_key(option: &str) -> Key {
    match option {
        "ctorigsrc" => Key::CtOrigSrc,
        "ctorigdst" => Key::CtOrigDst,
        "ctreplsrc" => Key::CtReplSrc,
        "ctrepldst" => Key::CtReplDst,
        "ctorigsrcport" => Key::CtOrigSrcPort,
        "ctorigdstport" => Key::CtOrigDstPort,
        "ctreplsrcport" => Key::CtReplSrcPort,
        _ => Key::CtReplDstPort,
    }
}

/// `INVALID,NEW,...` (prefixes allowed, case-insensitive, as libxt_conntrack's
/// `strncasecmp`): conntrack state bits and, with `nat`, SNAT/DNAT as status bits.
pub(super) fn ct_states(list: &str, nat: bool) -> Result<(u64, u64), Bad> {
    let mut states = 0;
    let mut status = 0;
    for word in list.split(',') {
        let up = word.to_ascii_uppercase();
        let hit = |name: &str| !up.is_empty() && name.starts_with(up.as_str());
        if let Some(&(_, bit)) = ct_state::NAMES.iter().find(|(n, _)| hit(n)) {
            states |= bit;
        } else if nat && hit("SNAT") {
            status |= ct_status::SRC_NAT;
        } else if nat && hit("DNAT") {
            status |= ct_status::DST_NAT;
        } else {
            return Err(bad("conntrack state", format!("unknown state `{word}`")));
        }
    }
    Ok((states, status))
}

fn ct_statuses(list: &str) -> Result<u64, Bad> {
    let mut mask = 0;
    for word in list.split(',') {
        let up = word.to_ascii_uppercase();
        mask |= match up.as_str() {
            "NONE" => 0,
            "EXPECTED" => ct_status::EXPECTED,
            "SEEN_REPLY" => ct_status::SEEN_REPLY,
            "ASSURED" => ct_status::ASSURED,
            "CONFIRMED" => ct_status::CONFIRMED,
            _ => return Err(bad("conntrack status", format!("unknown status `{word}`"))),
        };
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::ct_states;
    use crate::iptables_save::table_test::{check, check_errors, cmp, int, lowered, split};
    use model::expr::{ct_state, ct_status, Absent, Key, Pattern, Test};

    #[test]
    fn lines() {
        let state = |bits| cmp(Key::CtState, Pattern::AnyBit(bits));
        let mut dnat = cmp(Key::CtStatus, Pattern::AnyBit(ct_status::DST_NAT));
        dnat.when_absent = Absent::Unequal;
        check(&[
            (
                "-m conntrack --ctstate INVALID",
                vec![state(ct_state::INVALID)],
            ),
            ("-m conntrack --ctstate DNAT", vec![dnat.clone()]),
            (
                "-m conntrack ! --ctstate NEW,DNAT",
                vec![state(ct_state::NEW).negate(true), dnat.clone().negate(true)],
            ),
            (
                "-m conntrack --ctstate ESTABLISHED --ctproto tcp --ctorigdst 10.0.0.0/8 \
                 ! --ctorigdstport 80 --ctstatus ASSURED --ctdir REPLY",
                vec![
                    state(ct_state::ESTABLISHED),
                    cmp(Key::CtProto, int(6)),
                    cmp(
                        Key::CtOrigDst,
                        Pattern::Prefix("10.0.0.0/8".parse().unwrap()),
                    ),
                    cmp(Key::CtOrigDstPort, int(80)).negate(true),
                    cmp(Key::CtStatus, Pattern::AnyBit(ct_status::ASSURED)),
                    cmp(Key::CtDirection, int(1)),
                ],
            ),
        ]);
    }

    /// `NEW,DNAT`: a NEW packet, or a DNATed one that is not NEW: two exclusive rules.
    #[test]
    fn state_and_nat_pseudo_state_split_the_rule() {
        assert_eq!(split("-m conntrack --ctstate NEW,DNAT -j ACCEPT").len(), 2);
    }

    #[test]
    fn expire_and_invalid_with_tuple_are_undecidable() {
        let m = lowered("-m conntrack --ctexpire 10:20 -j ACCEPT");
        assert!(matches!(m[0].test, Test::Undecidable { .. }));
        let m = lowered("-m conntrack --ctstate INVALID --ctorigsrc 10.0.0.1 -j ACCEPT");
        assert_eq!(m.len(), 1);
        assert!(matches!(m[0].test, Test::Undecidable { .. }));
    }

    #[test]
    fn state_names() {
        assert_eq!(
            ct_states("NEW,ESTABLISHED", false),
            Ok((ct_state::NEW | ct_state::ESTABLISHED, 0))
        );
        assert_eq!(ct_states("DNAT", true), Ok((0, ct_status::DST_NAT)));
        assert!(ct_states("DNAT", false).is_err());
        assert!(ct_states("BOGUS", true).is_err());
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m conntrack --ctstatus BOGUS",
                "invalid conntrack status `BOGUS`: unknown status `BOGUS`",
                25,
            ),
            (
                "-m conntrack ! --ctdir REPLY",
                "unsupported: `!` before --ctdir is not modelled by whyblocked",
                14,
            ),
            (
                "-m conntrack --ctdir BOTH",
                "invalid conntrack direction `BOTH`: expected ORIGINAL or REPLY",
                22,
            ),
        ]);
    }
}
