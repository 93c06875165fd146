//! nftables rulesets, as `nft list ruleset` text and as `nft -j list ruleset` JSON, lowered
//! into the model.
//!
//! ```text
//! table inet filter {                        -> table inet filter
//!   chain input {                            -> base chain on input, priority 0
//!     type filter hook input priority filter; policy drop;
//!     tcp dport 22 accept # handle 4         -> meta l4proto 6, th dport 22, accept
//!   }
//! }
//! ```
//!
//! The parts, one job each (all private; [`parse_text`] and [`parse_json`] are the entry
//! points): `lexer` splits text into tokens with spans; `parse` reads commands and rules
//! into the syntax tree of `ast`; `json` reads `nft -j` output into the same tree; `lower`
//! gives values their types and builds the model. Text and JSON share the lowering, so
//! twins of one ruleset lower to the same IR.
//!
//! Contract: never panics on any input; every error has a file span; anything the model
//! cannot express is `Undecidable` (matches) or `Action::Undecidable` (statements).

mod ast;
mod json;
mod lexer;
mod lower;
mod parse;
mod print;

use crate::ParseError;
use model::note::JsonWarning;
use model::{Ruleset, SourceFile};

pub use lower::std_priority;

/// `nft list ruleset` text (with or without `-a` handles) and common `nft -f` input forms
/// (`add table/chain/rule/set/map/element`, `insert`, `flush ruleset`, `define`/`$var`,
/// `include` of files next to the input, resolved relative to the including file's
/// directory; read errors become ParseErrors at the include line).
pub fn parse_text(source: &SourceFile) -> Result<Ruleset, ParseError> {
    let doc = parse::parse(source)?;
    lower::lower(doc)
}

/// `nft -j list ruleset` (libnftables-json(5)), tolerant of version differences (single
/// flags as string or array, etc.); unknown objects are reported by JSON path in the
/// warnings, not fatal.
pub fn parse_json(source: &SourceFile) -> Result<(Ruleset, Vec<JsonWarning>), ParseError> {
    let (doc, warnings) = json::parse(source)?;
    Ok((lower::lower(doc)?, warnings))
}

#[cfg(test)]
mod test_util;

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;
    use model::Dialect;

    fn story2_check(rs: &Ruleset) {
        let nat = &rs.tables[rs.table(Family::Inet, "nat").unwrap()];
        let pre = &nat.chains[0];
        let base = pre.base.clone().unwrap();
        assert_eq!(
            (base.hook, base.chain_type, base.priority),
            (Hook::Prerouting, ChainType::Nat, -100)
        );
        let dnat = Nat {
            kind: NatKind::Dnat,
            addr: Some((
                "192.168.70.10".parse().unwrap(),
                "192.168.70.10".parse().unwrap(),
            )),
            ports: Some((22, 22)),
            random: false,
            fully_random: false,
            persistent: false,
        };
        assert_eq!(
            pre.rules[0].body,
            vec![
                cmp(Key::NfProto, int(2)),
                cmp(Key::DstAddr, addr("10.1.2.3")),
                cmp(Key::L4Proto, int(6)),
                cmp(Key::DstPort, int(1222)),
                act(Action::Nat(dnat)),
            ]
        );
        let filter = &rs.tables[rs.table(Family::Inet, "filter").unwrap()];
        let fwd = &filter.chains[filter.chain("forward").unwrap()];
        assert_eq!(
            fwd.base.as_ref().map(|b| (b.hook, b.priority)),
            Some((Hook::Forward, 0))
        );
        assert_eq!(
            fwd.rules[0].body,
            vec![
                cmp(Key::CtStatus, Pattern::AnyBit(ct_status::DST_NAT)),
                act(Action::Verdict(Verdict::Jump("allowed_dnats".into()))),
            ]
        );
        let allowed = &filter.chains[filter.chain("allowed_dnats").unwrap()];
        assert!(allowed.base.is_none());
        let lookup = Test::InSet {
            keys: vec![Key::DstAddr, Key::DstPort],
            set: SetRef::Table("allow_in".into()),
        };
        assert_eq!(
            allowed.rules[0].body,
            vec![
                cmp(Key::NfProto, int(2)),
                cmp(Key::L4Proto, int(6)),
                Step::Match(Match::new(lookup)),
                act(Action::Verdict(Verdict::Accept)),
            ]
        );
        assert_eq!(
            allowed.rules[1].body,
            vec![act(Action::Verdict(Verdict::Drop))]
        );
        let set = filter.set("allow_in").unwrap();
        assert_eq!(set.key_width, 2);
        assert_eq!(set.elements.len(), 3);
        let missing = vec![addr("192.168.70.10"), int(22)];
        assert!(set.elements.iter().all(|e| e.key != missing));
        assert!(set
            .elements
            .iter()
            .any(|e| e.key == vec![addr("192.168.70.11"), int(22)]));
    }

    fn fixture(name: &str) -> SourceFile {
        let path = format!("{FIXTURES}/{name}");
        SourceFile::new(path.clone(), std::fs::read_to_string(&path).unwrap())
    }

    #[test]
    fn story2_from_text_listing_and_json() {
        let written = parse_text(&fixture("story2.nft")).unwrap();
        story2_check(&written);
        let listed = parse_text(&fixture("story2.listed-a.nft")).unwrap();
        story2_check(&listed);
        let (json, warnings) = parse_json(&fixture("story2.json")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        story2_check(&json);
        // Provenance: handles from `-a` and JSON, line and text as listed.
        let f = &listed.tables[1];
        let r = &f.chains[f.chain("allowed_dnats").unwrap()].rules[0];
        assert_eq!((r.origin.handle, r.origin.line), (Some(5), 21));
        assert_eq!(&*r.origin.text, "ip daddr . tcp dport @allow_in accept");
        let j = &json.tables[1];
        assert_eq!(
            j.chains[j.chain("allowed_dnats").unwrap()].rules[0]
                .origin
                .handle,
            Some(5)
        );
    }

    #[test]
    fn every_object_records_its_dialect() {
        let text = parse_text(&fixture("story2.nft")).unwrap();
        let (json, _) = parse_json(&fixture("story2.json")).unwrap();
        for (rs, d) in [(&text, Dialect::NftText), (&json, Dialect::NftJson)] {
            for t in &rs.tables {
                assert_eq!(t.origin.dialect, Some(d), "{}", t.name);
                let chains = t.chains.iter().map(|c| &c.origin);
                let rules = t.chains.iter().flat_map(|c| &c.rules).map(|r| &r.origin);
                let sets = t.sets.iter().map(|s| &s.origin);
                assert!(chains
                    .chain(rules)
                    .chain(sets)
                    .all(|o| o.dialect == Some(d)));
            }
        }
    }

    #[test]
    fn never_panics_on_truncations() {
        let t = std::fs::read_to_string(format!("{FIXTURES}/story2.nft")).unwrap();
        for i in 0..t.len() {
            if t.is_char_boundary(i) {
                let _ = parse_text(&SourceFile::new("t", &t[..i]));
            }
        }
        let j = std::fs::read_to_string(format!("{FIXTURES}/story2.json")).unwrap();
        for i in (0..j.len()).step_by(7) {
            let _ = parse_json(&SourceFile::new("j", &j[..i]));
        }
    }
}
