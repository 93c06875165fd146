//! `-j CT` (xt_CT, raw table): sets up the conntrack entry the packet will get: none
//! (`--notrack`), a helper, a zone. Event and timeout options have no effect on the path and
//! are only shown. Continues with the next rule.
//!
//! ```text
//! -A PREROUTING -p tcp --dport 21 -j CT --helper ftp
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Action, Effect};

const OPTIONS: &[&str] = &[
    "notrack",
    "helper",
    "zone",
    "zone-orig",
    "zone-reply",
    "ctevents",
    "expevents",
    "timeout",
];

#[derive(Default)]
struct Ct {
    notrack: bool,
    helper: Option<String>,
    zone: Option<u16>,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Ct>::default()
}

impl Extension for Ct {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        match a.name() {
            "notrack" => self.notrack = true,
            "helper" => self.helper = Some(a.arg()?.text.to_string()),
            name @ ("zone" | "zone-orig" | "zone-reply") => {
                let t = a.arg()?;
                match values::number(&t.text, 65535, "zone") {
                    Ok(z) if name == "zone" => self.zone = Some(z as u16),
                    Ok(_) => {}
                    // `--zone mark`: the zone comes from the packet mark.
                    Err(_) if t.text == "mark" => {}
                    Err(b) => return Err(a.cx.invalid(t, b)),
                }
            }
            _ => {
                a.arg()?;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![match *self {
            Ct { notrack: true, .. } => Action::Notrack,
            Ct {
                helper: None,
                zone: None,
                ..
            } => Action::Effect(Effect::CtAttribute {
                key: "template".to_string(),
            }),
            Ct { helper, zone, .. } => Action::CtSet { helper, zone },
        }])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions_in, error_in};
    use model::expr::{Action, Effect};
    use model::ruleset::Family;

    /// `-j CT` with neither a helper nor a zone: a conntrack template (events, timeouts,
    /// zone directions) — the rule needs conntrack.
    fn template() -> Action {
        Action::Effect(Effect::CtAttribute {
            key: "template".to_string(),
        })
    }

    #[test]
    fn lines() {
        for (line, want) in [
            ("-j CT --notrack", Action::Notrack),
            (
                "-p tcp -j CT --helper ftp --zone 3",
                Action::CtSet {
                    helper: Some("ftp".into()),
                    zone: Some(3),
                },
            ),
            ("-j CT --zone-orig mark", template()),
            ("-j CT --ctevents new,destroy", template()),
        ] {
            let a = actions_in("raw", "PREROUTING", line, Family::Ip);
            assert_eq!(a, vec![want], "{line}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in("raw", "PREROUTING", "-j CT --zone 70000", Family::Ip),
            ("invalid zone `70000`: larger than 65535".into(), 14)
        );
    }
}
