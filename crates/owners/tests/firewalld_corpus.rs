//! firewalld's own test suite, as recorded in `../shared/corpus/firewalld`: every nft
//! listing it expects loads and every chain and rule of it gets firewalld as owner and a
//! role; every chain its iptables listings name is recognised by its name; the parts
//! recognised match what the test commands configured.

#![allow(clippy::print_stderr)] // corpus skips and counts are reported on stderr

use model::owner::{FirewalldPart, FirewalldRole};
use model::tool_config::ToolConfig;
use model::{Role, Ruleset, SourceFile, Tool};
use std::collections::BTreeMap;
use std::path::Path;

#[path = "support/firewalld_listings.rs"]
mod listings;
use listings::{blocks, corpus, loadable, packaged_config, templated};

#[test]
fn every_recorded_nft_listing_loads_and_every_chain_and_rule_is_firewalld_s() {
    let Some(dir) = corpus() else { return };
    let config = packaged_config(&dir, &["zones", "services", "policies"]);
    let (mut listings, mut chains, mut rules, mut skipped) = (0, 0, 0, 0);
    let mut parts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for b in blocks(&dir)
        .iter()
        .filter(|b| b.kind.starts_with("NFT_LIST_RULES"))
    {
        if templated(b) {
            skipped += 1;
            continue;
        }
        let name = format!("{}:{}", b.file, b.line);
        let mut rs =
            frontends::nft::parse_text(&SourceFile::new(name.clone(), loadable(&b.expected)))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        owners::recognise(&mut rs, &config);
        listings += 1;
        for t in &rs.tables {
            assert_eq!(t.name, "firewalld", "{name}");
            for c in &t.chains {
                chains += 1;
                let owner = c
                    .origin
                    .owner
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: {}", c.name));
                assert_eq!(owner.tool, Tool::Firewalld, "{name}: {}", c.name);
                assert!(
                    matches!(owner.role, Role::Firewalld(_)),
                    "{name}: {} {owner:?}",
                    c.name
                );
                for r in &c.rules {
                    rules += 1;
                    let owner = r
                        .origin
                        .owner
                        .as_ref()
                        .unwrap_or_else(|| panic!("{name}: {}", r.origin.text));
                    assert_eq!(owner.tool, Tool::Firewalld);
                    let Role::Firewalld(role) = &owner.role else {
                        panic!("{name}: {} has no firewalld role", r.origin.text)
                    };
                    *parts.entry(part_name(role)).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "firewalld nft listings: {listings} loaded ({skipped} templated skipped), {chains} chains, {rules} rules, every one firewalld's with a role; rule parts {parts:?}"
    );
    assert!(listings > 700, "{listings}");
    assert!(parts.get("port").is_some_and(|n| *n > 10), "{parts:?}");
    for kind in [
        "service",
        "rich rule",
        "protocol",
        "icmp block",
        "forward port",
        "masquerade",
        "target",
    ] {
        assert!(parts.contains_key(kind), "no {kind} recognised: {parts:?}");
    }
}

fn part_name(role: &FirewalldRole) -> &'static str {
    let part = match role {
        FirewalldRole::Zone { part, .. } | FirewalldRole::Policy { part, .. } => part,
        FirewalldRole::Infrastructure => return "infrastructure",
    };
    match part {
        FirewalldPart::Target(_) => "target",
        FirewalldPart::Service(_) => "service",
        FirewalldPart::Port(_) => "port",
        FirewalldPart::RichRule(_) => "rich rule",
        FirewalldPart::Protocol(_) => "protocol",
        FirewalldPart::IcmpBlock => "icmp block",
        FirewalldPart::ForwardPort(_) => "forward port",
        FirewalldPart::Masquerade => "masquerade",
        FirewalldPart::Chain(_) => "chain",
    }
}

/// The role of the one rule of a listing of `chain` whose text is `rule`.
fn role_in(listing: &str, rule: &str, config: &ToolConfig) -> Role {
    let mut rs: Ruleset = frontends::nft::parse_text(&SourceFile::new("l", loadable(listing)))
        .unwrap_or_else(|e| panic!("{e}"));
    owners::recognise(&mut rs, config);
    rs.tables[0].chains[0]
        .rules
        .iter()
        .find(|r| &*r.origin.text == rule)
        .and_then(|r| r.origin.owner.clone())
        .unwrap_or_else(|| panic!("{rule} not in {listing}"))
        .role
}

fn listing(dir: &Path, file: &str, line: u64) -> String {
    blocks(dir)
        .into_iter()
        .find(|b| b.file == file && b.line == line)
        .unwrap_or_else(|| panic!("{file}:{line} not recorded"))
        .expected
}

fn zone(zone: &str, part: FirewalldPart) -> Role {
    Role::Firewalld(FirewalldRole::Zone {
        zone: zone.into(),
        part,
    })
}

#[test]
fn recognised_parts_are_what_the_recorded_commands_configured() {
    let Some(dir) = corpus() else { return };
    let config = packaged_config(&dir, &["zones", "services", "policies"]);
    // cli/firewall-cmd.at:1310, public zone (ssh, dhcpv6-client) after
    // `--add-rich-rule='rule port port="3333" protocol="tcp" accept'`.
    let allow = listing(&dir, "cli__firewall-cmd.json", 1310);
    assert_eq!(
        role_in(&allow, "tcp dport 22 accept", &config),
        zone("public", FirewalldPart::Service("ssh".into()))
    );
    assert_eq!(
        role_in(&allow, "ip6 daddr fe80::/64 udp dport 546 accept", &config),
        zone("public", FirewalldPart::Service("dhcpv6-client".into()))
    );
    // Without the zone XML a port is only a port: no service is guessed.
    assert_eq!(
        role_in(&allow, "tcp dport 22 accept", &ToolConfig::default()),
        zone("public", FirewalldPart::Port("22/tcp".into()))
    );
    // cli/firewall-cmd.at:1303: `rule port port="2222" protocol="tcp" drop`.
    assert_eq!(
        role_in(
            &listing(&dir, "cli__firewall-cmd.json", 1303),
            "tcp dport 2222 drop",
            &config
        ),
        zone(
            "public",
            FirewalldPart::RichRule("rule port port=\"2222\" protocol=\"tcp\" drop".into())
        )
    );
    // cli/firewall-cmd.at:1450: `forward-port port="2222" protocol="tcp" to-port="22" to-addr="10.1.1.1"`.
    assert_eq!(
        role_in(
            &listing(&dir, "cli__firewall-cmd.json", 1450),
            "meta nfproto ipv4 tcp dport 2222 dnat ip to 10.1.1.1:22",
            &config
        ),
        zone(
            "public",
            FirewalldPart::ForwardPort("port=2222:proto=tcp:toport=22:toaddr=10.1.1.1".into())
        )
    );
    // features/masquerade.at:18: `--policy=foobar --add-masquerade` and a rich rule.
    let masq = listing(&dir, "features__masquerade.json", 18);
    let policy = |part| {
        Role::Firewalld(FirewalldRole::Policy {
            policy: "foobar".into(),
            part,
        })
    };
    assert_eq!(
        role_in(
            &masq,
            "meta nfproto ipv4 oifname != \"lo\" masquerade",
            &config
        ),
        policy(FirewalldPart::Masquerade)
    );
    assert_eq!(
        role_in(
            &masq,
            "ip saddr 10.10.10.0/24 oifname != \"lo\" masquerade",
            &config
        ),
        policy(FirewalldPart::RichRule(
            "rule family=\"ipv4\" source address=\"10.10.10.0/24\" masquerade".into()
        ))
    );
    // features/zone.at:120: the default target rejects at the tail of the zone pair.
    assert_eq!(
        role_in(
            &listing(&dir, "features__zone.json", 120),
            "reject with icmpx admin-prohibited",
            &config
        ),
        zone("foobar", FirewalldPart::Target("%%REJECT%%".into()))
    );
}

/// Each iptables listing's chain, by kernel table: the names firewalld gave them.
#[test]
fn every_chain_the_iptables_listings_name_is_recognised_by_name() {
    let Some(dir) = corpus() else { return };
    let (mut named, mut not_firewalld) = (0, Vec::new());
    for b in blocks(&dir).iter().filter(|b| {
        (b.kind.starts_with("IPTABLES_LIST_RULES") || b.kind.starts_with("IP6TABLES_LIST_RULES"))
            && b.args.len() >= 2
            && !templated(b)
    }) {
        let (table, chain) = (&b.args[0], &b.args[1]);
        if owners::firewalld::chain_name::parse_iptables(table, chain).is_some()
            || ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"].contains(&chain.as_str())
        {
            named += 1;
        } else {
            not_firewalld.push(chain.clone());
        }
    }
    not_firewalld.sort();
    not_firewalld.dedup();
    eprintln!("firewalld iptables listings: {named} chains recognised by name; not firewalld's: {not_firewalld:?}");
    // What is left are the test suite's own direct chains and the hashed names iptables'
    // 28-character limit forces on long ipset-derived chains.
    for c in &not_firewalld {
        assert!(
            ["mychain", "firewalld_testsuite"].contains(&c.as_str())
                || (c.len() == 28 && !c.contains('_')),
            "{c}"
        );
    }
    assert!(named > 1500, "{named}");
}
