//! What no tool claims: hand-written, kept (by convention) in the file the dialect's boot
//! service loads — `/etc/nftables.conf` for nftables, `/etc/iptables/rules.v4` / `rules.v6`
//! (iptables-persistent) for iptables — unless the snapshot recorded the file itself.

use crate::claim::claim;
use model::owner::{PersistentFile, UnmanagedRole};
use model::tool_config::ToolConfig;
use model::{Evidence, Family, Origin, Owner, Role, Ruleset, Tool};

/// The persistent files a snapshot may record, in the order they are looked for.
const RECORDED: &[(&str, PersistentFile)] = &[
    ("/etc/nftables.conf", PersistentFile::NftablesConf),
    ("/etc/iptables/rules.v4", PersistentFile::RulesV4),
    ("/etc/iptables/rules.v6", PersistentFile::RulesV6),
];

/// Marks every object no tool claimed as hand-written.
pub(crate) fn recognise(ruleset: &mut Ruleset, config: &ToolConfig) {
    for table in &mut ruleset.tables {
        let file = persistent_file(table.family, &table.origin, config);
        let owner = Owner {
            tool: Tool::Unmanaged,
            evidence: Evidence::NoToolMark,
            role: Role::Unmanaged(UnmanagedRole { file }),
        };
        claim(&mut table.origin, owner.clone());
        for chain in &mut table.chains {
            claim(&mut chain.origin, owner.clone());
            for rule in &mut chain.rules {
                claim(&mut rule.origin, owner.clone());
            }
        }
    }
}

/// Where a hand-written table of `family` read from `origin` is kept.
fn persistent_file(family: Family, origin: &Origin, config: &ToolConfig) -> PersistentFile {
    let nft = origin.dialect.is_some_and(|d| d.is_nft());
    let conventional = match (nft, family) {
        (true, _) => PersistentFile::NftablesConf,
        (false, Family::Ip6) => PersistentFile::RulesV6,
        (false, _) => PersistentFile::RulesV4,
    };
    // A snapshot that recorded the conventional file confirms it; one that recorded only
    // another of the known files (an nft host booting from rules.v4 via iptables-nft)
    // points there.
    if RECORDED
        .iter()
        .any(|(path, f)| *f == conventional && config.file(path).is_some())
    {
        return conventional;
    }
    RECORDED
        .iter()
        .find(|(path, f)| config.file(path).is_some() && same_dialect(f, nft))
        .map(|(_, f)| f.clone())
        .unwrap_or(conventional)
}

fn same_dialect(file: &PersistentFile, nft: bool) -> bool {
    matches!(file, PersistentFile::NftablesConf) == nft
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceFile;

    fn iptables(text: &str, family: Family) -> Ruleset {
        frontends::iptables_save::parse(&SourceFile::new("rules", text), Some(family))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn file_of(rs: &Ruleset) -> PersistentFile {
        match &rs.tables[0].chains[0].rules[0].origin.owner {
            Some(Owner {
                tool: Tool::Unmanaged,
                role: Role::Unmanaged(u),
                ..
            }) => u.file.clone(),
            other => panic!("{other:?}"),
        }
    }

    const RULES: &str =
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";

    #[test]
    fn hand_written_iptables_rules_belong_in_rules_v4_or_v6() {
        let mut v4 = iptables(RULES, Family::Ip);
        crate::recognise(&mut v4, &ToolConfig::default());
        assert_eq!(file_of(&v4), PersistentFile::RulesV4);
        let mut v6 = iptables(RULES, Family::Ip6);
        crate::recognise(&mut v6, &ToolConfig::default());
        assert_eq!(file_of(&v6), PersistentFile::RulesV6);
    }

    #[test]
    fn hand_written_nft_rules_belong_in_nftables_conf() {
        let src = SourceFile::new(
            "ruleset.nft",
            "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  tcp dport 22 accept\n }\n}\n",
        );
        let mut rs = frontends::nft::parse_text(&src).unwrap_or_else(|e| panic!("{e}"));
        crate::recognise(&mut rs, &ToolConfig::default());
        assert_eq!(file_of(&rs), PersistentFile::NftablesConf);
    }

    #[test]
    fn a_claimed_rule_keeps_its_owner() {
        let mut rs = iptables(RULES, Family::Ip);
        rs.tables[0].chains[0].rules[0].origin.owner = Some(Owner::suggested_fix());
        crate::recognise(&mut rs, &ToolConfig::default());
        assert_eq!(
            rs.tables[0].chains[0].rules[0].origin.owner,
            Some(Owner::suggested_fix())
        );
    }
}
