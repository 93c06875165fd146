//! Named sets and maps (key types, elements, flags), and the anonymous sets of
//! concatenations a rule carries, which become table sets named `__anonN`.

use super::names::{type_name, Names, Ty};
use super::selector::Sel;
use super::value::{element_key, pattern};
use super::verdict::verdict;
use super::{Bad, TableCx};
use crate::nft::ast::{Elem, Expr, SetAst, SetKey, TableAst};
use crate::{ErrorKind, ParseError};
use model::expr::Pattern;
use model::ruleset::{Family, MapData, NamedSet, SetElement};
use model::{Origin, SourceFile};
use std::collections::HashSet;

/// A named set lowered: its key types from `type` or `typeof`, its elements typed.
pub(super) fn lower_set(
    s: &SetAst,
    family: Family,
    src: &SourceFile,
) -> Result<NamedSet, ParseError> {
    let tys = key_types(&s.key, family);
    let data_tys = s.data.as_ref().map(|d| key_types(d, family));
    let declared = match &s.key {
        SetKey::Type(t) => t.join(" . "),
        SetKey::Typeof(_) => "typeof".to_string(),
    };
    let mut elements = Vec::with_capacity(s.elements.len());
    if let Some(tys) = &tys {
        for e in &s.elements {
            if e.key == Expr::Catchall {
                continue;
            }
            let key = element_key(tys, &e.key).map_err(|Bad(what, value, reason)| {
                ParseError::new(
                    src,
                    s.origin.span,
                    ErrorKind::InvalidValue {
                        what,
                        value,
                        reason,
                    },
                )
            })?;
            let data = match (&e.data, &data_tys) {
                (Some(Expr::Verdict(v)), _) => Some(MapData::Verdict(verdict(v))),
                (Some(d), Some(Some(dt))) if dt.len() == 1 => match pattern(dt[0], d) {
                    Ok(Pattern::Value(v)) => Some(MapData::Value(v)),
                    _ => None,
                },
                _ => None,
            };
            elements.push(SetElement {
                key,
                data,
                nomatch: false,
                comment: e.comment.clone(),
            });
        }
    }
    let width = match &s.key {
        SetKey::Type(t) => t.len(),
        SetKey::Typeof(t) => t.len(),
    };
    Ok(NamedSet {
        name: s.name.clone(),
        key_width: width,
        elements,
        declared_type: declared,
        dynamic: s.timeouts || s.flags.iter().any(|f| f == "dynamic" || f == "timeout"),
        ipset_dims: vec![],
        origin: s.origin.clone(),
    })
}

/// Value types of a set's key components; None when one is not modelled (its elements are
/// then left out: lookups in it are decided by the engine as "not defined").
pub(super) fn key_types(k: &SetKey, family: Family) -> Option<Vec<Ty>> {
    match k {
        SetKey::Type(names) => names.iter().map(|n| type_name(n)).collect(),
        SetKey::Typeof(exprs) => {
            let cx = TableCx {
                family,
                table: &TableAst {
                    family,
                    name: String::new(),
                    flags: vec![],
                    chains: vec![],
                    sets: vec![],
                    origin: Origin::default(),
                },
                anon: vec![],
                dynamic: HashSet::new(),
            };
            exprs
                .iter()
                .map(|e| match cx.selector(e) {
                    Sel::Key { ty, .. } => Some(ty),
                    Sel::Fib { result, .. } if result == "type" => {
                        Some(Ty::Named(Names::RouteType))
                    }
                    _ => None,
                })
                .collect()
        }
    }
}

impl TableCx<'_> {
    /// A table set holding an anonymous set's elements; its name.
    pub(super) fn anon_set(&mut self, tys: &[Ty], elems: &[Elem]) -> Result<String, Bad> {
        let name = format!("__anon{}", self.anon.len());
        let mut elements = Vec::with_capacity(elems.len());
        for e in elems {
            if e.key == Expr::Catchall {
                continue;
            }
            elements.push(SetElement {
                key: element_key(tys, &e.key)?,
                data: None,
                nomatch: false,
                comment: e.comment.clone(),
            });
        }
        self.anon.push(NamedSet {
            name: name.clone(),
            key_width: tys.len(),
            elements,
            declared_type: "anonymous set".into(),
            dynamic: false,
            ipset_dims: vec![],
            origin: self.table.origin.clone(),
        });
        Ok(name)
    }

    /// Whether a named set's elements could be typed (an undefined set is left to the
    /// engine, which reports it).
    pub(super) fn set_modelled(&self, name: &str) -> bool {
        match self.table.sets.iter().find(|s| s.name == name) {
            Some(s) => key_types(&s.key, self.family).is_some(),
            None => true,
        }
    }

    /// The elements of an anonymous map or of a named map of this table.
    pub(super) fn map_elems<'a>(&'a self, data: &'a Expr) -> Option<&'a [Elem]> {
        match data {
            Expr::Set(e) => Some(e),
            Expr::SetRef(n) => self
                .table
                .sets
                .iter()
                .find(|s| &s.name == n)
                .map(|s| s.elements.as_slice()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn named_and_anonymous_sets() {
        let rs = text("table inet t {\n set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1-192.168.1.9 } }\n chain c {\n ip saddr != @s drop\n ip saddr . tcp dport { 1.2.3.4 . 22 } accept\n }\n}\n");
        let t = &rs.tables[0];
        let s = t.set("s").unwrap();
        assert_eq!(
            s.elements[1].key,
            vec![Pattern::Range(
                Value::Addr("192.168.1.1".parse().unwrap()),
                Value::Addr("192.168.1.9".parse().unwrap())
            )]
        );
        let lookup = Test::InSet {
            keys: vec![Key::SrcAddr],
            set: SetRef::Table("s".into()),
        };
        assert_eq!(
            t.chains[0].rules[0].body[1],
            Step::Match(Match::new(lookup).negate(true))
        );
        let anon = t.set("__anon0").unwrap();
        assert_eq!(anon.elements[0].key, vec![addr("1.2.3.4"), int(22)]);
    }
}
