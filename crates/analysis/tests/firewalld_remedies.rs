//! Remedies for a packet firewalld rejects, on a ruleset assembled from the listings
//! firewalld's own test suite records (`../shared/corpus/firewalld`): the owner is named,
//! the fix is `firewall-cmd` (runtime and `--permanent`), never a rule typed into
//! `inet firewalld`, the whole exchange passes in the simulation, and the rules the fix
//! adds are the ones firewalld's test suite records for the same command.
//!
//! Checked against firewalld's recorded listings, not a real firewalld: firewalld is not
//! run here (its package's postinst could touch the host's firewall).

#![allow(clippy::print_stderr)] // corpus skips and counts are reported on stderr

use analysis::remedy::{remedies, Breadth, Language, Remedies, Step};
use engine::Options;
use model::owner::{FirewalldPart, FirewalldRole};
use model::tool_config::ToolConfig;
use model::{Family, Host, Role, Ruleset, SourceFile, Tool};
use std::path::Path;

#[path = "../../owners/tests/support/firewalld_listings.rs"]
mod listings;
use listings::{
    blocks, chain_blocks, corpus, forwarding_host, iptables_chain, loadable, packaged_config,
    packet,
};

/// The rules of a recorded one-chain listing, one per line as `nft list chain` prints them.
fn recorded_rules(dir: &Path, file: &str, line: u64) -> Vec<String> {
    let b = blocks(dir)
        .into_iter()
        .find(|b| b.file == file && b.line == line)
        .unwrap_or_else(|| panic!("{file}:{line} not recorded"));
    b.expected
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("table ") && !l.starts_with("chain ") && *l != "}"
        })
        .map(str::to_string)
        .collect()
}

/// A firewalld 2.x ruleset with the public zone as shipped (ssh, dhcpv6-client, target
/// `default`) bound to interface foobar0 and the default zone: each chain as the test
/// suite records it, the base chain's hook as `nftables.py` declares it (`filter_INPUT`:
/// hook input, priority filter + NFT_HOOK_OFFSET 10), the chains it only jumps to empty.
fn public_zone_host(dir: &Path) -> Ruleset {
    let input = chain_blocks(dir, "features__policy_dispatch_basic_layout.json", 87).replacen(
        "chain filter_INPUT {",
        "chain filter_INPUT {\n        type filter hook input priority filter + 10; policy accept;",
        1,
    );
    let chains = [
        input,
        // filter_INPUT_dispatch: foobar1 -> internal, foobar0 -> public, default public.
        chain_blocks(dir, "features__policy_dispatch_zone_to_HOST.json", 23),
        // filter_IN_internal_to_HOST, filter_IN_public: the zone chain with `default`'s ICMP accept.
        chain_blocks(dir, "features__policy_dispatch_zone_to_HOST.json", 42),
        chain_blocks(dir, "cli__firewall-cmd.json", 1231),
        // filter_IN_public_allow as shipped: ssh and dhcpv6-client.
        chain_blocks(dir, "cli__firewall-cmd.json", 1420),
    ];
    let to_host = "chain filter_IN_public_to_HOST {\n        jump filter_IN_policy_allow-host-ipv6\n        jump filter_IN_public\n        reject with icmpx admin-prohibited\n    }";
    // features/zone.at:120 records this shape for a zone with the default target.
    let recorded_to_host =
        chain_blocks(dir, "features__zone.json", 120).replace("foobar", "public");
    assert_eq!(
        recorded_to_host.split_whitespace().collect::<Vec<_>>(),
        to_host.split_whitespace().collect::<Vec<_>>()
    );
    let text = format!(
        "table inet firewalld {{\n    {}\n    {}\n}}\n",
        chains.join("\n    "),
        recorded_to_host
    );
    frontends::nft::parse_text(&SourceFile::new("firewalld.nft", loadable(&text)))
        .unwrap_or_else(|e| panic!("{e}\n{}", loadable(&text)))
}

fn remedies_for(rs: &mut Ruleset, config: &ToolConfig, spec: &str) -> Remedies {
    owners::recognise(rs, config);
    let host = Host::default();
    let p = packet(spec);
    let options = Options::default();
    let outcome = engine::simulate(rs, &host, &p, &options);
    remedies(rs, &host, &p, &outcome, &options, config).expect("the packet is blocked")
}

fn run_steps(r: &analysis::remedy::Remedy) -> Vec<&str> {
    r.steps
        .iter()
        .map(|s| match s {
            Step::Run(c) => c.as_str(),
            other => panic!("not a command: {other:?}"),
        })
        .collect()
}

/// The rules of `filter_IN_public_allow` after the remedy, as listed: the chain's rules
/// and the one the remedy appends there (its kernel rule, what the patched ruleset was
/// built from and what `verify --fix` applies).
fn allow_rules_after(rs: &Ruleset, r: &analysis::remedy::Remedy) -> Vec<String> {
    let t = rs.table(Family::Inet, "firewalld").unwrap();
    let c = rs.tables[t].chain("filter_IN_public_allow").unwrap();
    let mut rules: Vec<String> = rs.tables[t].chains[c]
        .rules
        .iter()
        .map(|r| r.origin.text.to_string())
        .collect();
    let [fix] = r.kernel_rules.as_slice() else {
        panic!("one kernel rule: {:?}", r.kernel_rules)
    };
    assert_eq!(fix.position, analysis::Position::Append);
    let prefix = "nft add rule inet firewalld filter_IN_public_allow ";
    rules.push(
        fix.command
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{}", fix.command))
            .to_string(),
    );
    rules
}

#[test]
fn https_rejected_by_the_public_zone_gets_firewall_cmd_fixes_checked_against_firewalld_s_recorded_listings(
) {
    let Some(dir) = corpus() else { return };
    let mut rs = public_zone_host(&dir);
    let config = packaged_config(&dir, &["services"]);
    let rem = remedies_for(
        &mut rs,
        &config,
        "tcp 192.0.2.10:40000 192.0.2.1:443 in foobar0",
    );

    let owner = rem.owner.as_ref().expect("owner");
    assert_eq!(owner.tool, Tool::Firewalld);
    assert_eq!(
        owner.role,
        Role::Firewalld(FirewalldRole::Zone {
            zone: "public".into(),
            part: FirewalldPart::Target("default".into())
        })
    );
    let fw = https_ladder(&rem, "inet firewalld");
    for r in &fw {
        assert!(r.verified(), "{:?}", r.exchange);
    }
    assert_eq!(
        fw.iter().map(|r| r.breadth).collect::<Vec<_>>(),
        vec![Breadth::Flow, Breadth::Service, Breadth::Service]
    );
    // features/startup_failsafe.at:17 records `--zone public --add-service https` on the
    // shipped public zone.
    assert_eq!(
        allow_rules_after(&rs, fw[1]),
        recorded_rules(&dir, "features__startup_failsafe.json", 17)
    );
    // `--add-port=443/tcp` generates the same rule (build_policy_ports_rules; recorded
    // for 1234/tcp in features/nftables_counters.at:62, here without counters).
    assert_eq!(allow_rules_after(&rs, fw[2]), allow_rules_after(&rs, fw[1]));
    // A rich rule with a source and a port puts the source in front
    // (features/services.at:17 records `ip saddr 10.10.10.0/24 tcp dport 22 accept`).
    let rich = allow_rules_after(&rs, fw[0]);
    assert_eq!(
        rich.last().map(String::as_str),
        Some("ip saddr 192.0.2.10 tcp dport 443 accept")
    );
    let recorded = recorded_rules(&dir, "features__services.json", 17);
    assert_eq!(
        recorded[1]
            .replace("10.10.10.0/24", "192.0.2.10")
            .replace("22", "443"),
        rich[rich.len() - 1]
    );
}

/// The `firewall-cmd` remedies for https from 192.0.2.10 to the public zone, in ladder
/// order: the rich rule, the service, the port, each at runtime and `--permanent`.
fn https_to_public_commands() -> Vec<Vec<&'static str>> {
    vec![
            vec![
                "firewall-cmd --zone=public --add-rich-rule='rule family=\"ipv4\" source address=\"192.0.2.10\" port port=\"443\" protocol=\"tcp\" accept'",
                "firewall-cmd --permanent --zone=public --add-rich-rule='rule family=\"ipv4\" source address=\"192.0.2.10\" port port=\"443\" protocol=\"tcp\" accept'",
            ],
            vec![
                "firewall-cmd --zone=public --add-service=https",
                "firewall-cmd --permanent --zone=public --add-service=https",
            ],
            vec![
                "firewall-cmd --zone=public --add-port=443/tcp",
                "firewall-cmd --permanent --zone=public --add-port=443/tcp",
            ],
        ]
}

/// The `firewall-cmd` remedies of `rem`, checked to be [`https_to_public_commands`] and
/// that no step of the ladder types a rule into firewalld's own objects (`typed_into`).
fn https_ladder<'a>(rem: &'a Remedies, typed_into: &str) -> Vec<&'a analysis::remedy::Remedy> {
    for r in &rem.ladder {
        for s in &r.steps {
            if let Step::Run(c) = s {
                assert!(
                    !c.contains(typed_into),
                    "a rule typed into firewalld's: {c}"
                );
            }
        }
    }
    let fw = firewall_cmd(rem);
    let commands: Vec<Vec<&str>> = fw.iter().map(|r| run_steps(r)).collect();
    assert_eq!(commands, https_to_public_commands());
    fw
}

/// The rules of `chain` in `inet firewalld`, as listed.
fn chain_rules(rs: &Ruleset, chain: &str) -> Vec<String> {
    let t = rs.table(Family::Inet, "firewalld").unwrap();
    let c = rs.tables[t]
        .chain(chain)
        .unwrap_or_else(|| panic!("no chain {chain}"));
    rs.tables[t].chains[c]
        .rules
        .iter()
        .map(|r| r.origin.text.to_string())
        .collect()
}

/// `chain`'s rules after the remedy's kernel rules (nft `add rule` appends, `insert rule`
/// without a position goes first), as listed.
fn rules_after(rs: &Ruleset, r: &analysis::remedy::Remedy, chain: &str) -> Vec<String> {
    let t = rs.table(Family::Inet, "firewalld").unwrap();
    let mut rules = match rs.tables[t].chain(chain) {
        Some(c) => chain_rules(rs, &rs.tables[t].chains[c].name),
        None => Vec::new(),
    };
    for k in r.kernel_rules.iter().filter(|k| k.chain == chain) {
        if k.command.starts_with("nft add rule ") {
            rules.push(k.body.clone());
        } else if k.command.starts_with("nft insert rule ") {
            rules.insert(0, k.body.clone());
        }
    }
    rules
}

/// The corpus, the forwarding host (recognised) and the remedies for `spec` on it.
fn forwarded(spec: &str) -> Option<(std::path::PathBuf, Ruleset, Remedies)> {
    let dir = corpus()?;
    let mut rs = forwarding_host(&dir);
    let config = packaged_config(&dir, &["services"]);
    let rem = remedies_for(&mut rs, &config, spec);
    Some((dir, rs, rem))
}

/// The remedies in firewalld's language, in ladder order.
fn firewall_cmd(rem: &Remedies) -> Vec<&analysis::remedy::Remedy> {
    rem.ladder
        .iter()
        .filter(|r| r.language == Language::FirewallCmd)
        .collect()
}

/// A remedy that lets the whole simulated exchange through.
fn assert_verified(r: &analysis::remedy::Remedy) {
    assert!(r.verified(), "{:?}", r.exchange);
}

#[test]
fn forwarded_https_without_a_policy_gets_a_new_policy_from_the_ingress_to_the_egress_zone() {
    let Some((dir, rs, rem)) =
        forwarded("tcp 192.0.2.10:40000 198.51.100.20:443 in foobar0 out foobar1 flags S")
    else {
        return;
    };
    assert_eq!(rem.owner.as_ref().map(|o| &o.tool), Some(&Tool::Firewalld));
    let fw = firewall_cmd(&rem);
    let commands: Vec<Vec<&str>> = fw.iter().map(|r| run_steps(r)).collect();
    let new_policy = |change: &str| {
        vec![
            "firewall-cmd --permanent --new-policy=public-to-internal".to_string(),
            "firewall-cmd --permanent --policy=public-to-internal --add-ingress-zone=public"
                .to_string(),
            "firewall-cmd --permanent --policy=public-to-internal --add-egress-zone=internal"
                .to_string(),
            format!("firewall-cmd --permanent --policy=public-to-internal {change}"),
            "firewall-cmd --reload".to_string(),
        ]
    };
    assert_eq!(
        commands,
        vec![
            new_policy("--add-rich-rule='rule family=\"ipv4\" source address=\"192.0.2.10\" destination address=\"198.51.100.20\" port port=\"443\" protocol=\"tcp\" accept'"),
            new_policy("--add-service=https"),
            new_policy("--add-port=443/tcp"),
        ]
    );
    assert_eq!(
        fw.iter().map(|r| r.breadth).collect::<Vec<_>>(),
        vec![Breadth::Flow, Breadth::Service, Breadth::Service]
    );
    for r in &fw {
        assert_verified(r);
    }
    // The patched pair chain has the shape firewalld records for a pair with a policy:
    // the policy's jump, the ingress zone's chain, the reject
    // (policy_dispatch_zone_to_zone.at:144, internal to public with policy foobar).
    let recorded: Vec<String> =
        recorded_rules(&dir, "features__policy_dispatch_zone_to_zone.json", 144)
            .iter()
            .map(|l| {
                l.replace(
                    "filter_FWD_policy_foobar",
                    "filter_FWD_policy_public-to-internal",
                )
                .replace("filter_FWD_internal", "filter_FWD_public")
            })
            .collect();
    assert_eq!(
        rules_after(&rs, fw[1], "filter_FWD_public_to_internal"),
        recorded
    );
    // `--policy foobar --add-service https` fills the policy's allow chain with the rule
    // policy_timeout.at:69 records.
    assert_eq!(
        rules_after(&rs, fw[1], "filter_FWD_policy_public-to-internal_allow"),
        recorded_rules(&dir, "features__policy_timeout.json", 69)
    );
    assert_eq!(
        rules_after(&rs, fw[1], "filter_FWD_policy_public-to-internal"),
        ["pre", "log", "deny", "allow", "post"]
            .iter()
            .map(|s| format!("jump filter_FWD_policy_public-to-internal_{s}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        rules_after(&rs, fw[0], "filter_FWD_policy_public-to-internal_allow"),
        vec!["ip daddr 198.51.100.20 ip saddr 192.0.2.10 tcp dport 443 accept"]
    );
}

#[test]
fn forwarded_https_through_a_pair_with_a_policy_goes_into_that_policy() {
    let Some((dir, rs, rem)) =
        forwarded("tcp 198.51.100.20:40000 192.0.2.10:443 in foobar1 out foobar0 flags S")
    else {
        return;
    };
    let fw = firewall_cmd(&rem);
    let commands: Vec<Vec<&str>> = fw.iter().map(|r| run_steps(r)).collect();
    assert_eq!(
        commands[1..],
        vec![
            vec![
                "firewall-cmd --policy=foobar --add-service=https",
                "firewall-cmd --permanent --policy=foobar --add-service=https",
            ],
            vec![
                "firewall-cmd --policy=foobar --add-port=443/tcp",
                "firewall-cmd --permanent --policy=foobar --add-port=443/tcp",
            ],
        ]
    );
    for r in &fw {
        assert_verified(r);
    }
    assert_eq!(
        rules_after(&rs, fw[1], "filter_FWD_policy_foobar_allow"),
        recorded_rules(&dir, "features__policy_timeout.json", 69)
    );
}

/// firewalld's iptables backend with the public zone (ssh) as the default zone, each chain
/// as the test suite lists it: `INPUT` (policy_dispatch_basic_layout.at:99; `iptables -L
/// -n` hides interfaces, so its loopback accept gets back the `-i lo` that
/// `ipXtables.py`'s default rules give it), the default zone's dispatch
/// (policy_dispatch_ANY_to_ANY.at:42, its last rule), `IN_public_to_HOST` (:47),
/// `IN_public` (cli/firewall-cmd.at:1254), `IN_public_allow` (:1488), and `deny` as given.
fn iptables_public_host(dir: &Path, deny: &[String]) -> Ruleset {
    let file = "features__policy_dispatch_ANY_to_ANY.json";
    let mut input = iptables_chain(
        dir,
        "features__policy_dispatch_basic_layout.json",
        99,
        "",
        "",
    );
    assert_eq!(input[1], "-A INPUT -j ACCEPT");
    input[1] = "-A INPUT -i lo -j ACCEPT".to_string();
    let dispatch = iptables_chain(dir, file, 42, "", "");
    let mut lines = input;
    lines.push(dispatch.last().unwrap().clone());
    lines.extend(iptables_chain(dir, file, 47, "", ""));
    lines.extend(iptables_chain(dir, "cli__firewall-cmd.json", 1254, "", ""));
    lines.extend(deny.iter().cloned());
    lines.extend(iptables_chain(dir, "cli__firewall-cmd.json", 1488, "", ""));
    let chains: String = [
        "INPUT_direct",
        "INPUT_dispatch",
        "IN_public_to_HOST",
        "IN_allow-host-ipv6",
        "IN_public",
        "IN_public_pre",
        "IN_public_log",
        "IN_public_deny",
        "IN_public_allow",
        "IN_public_post",
    ]
    .iter()
    .map(|c| format!(":{c} - [0:0]\n"))
    .collect();
    let text = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{chains}{}\nCOMMIT\n",
        lines.join("\n")
    );
    frontends::iptables_save::parse(
        &SourceFile::new("iptables-save", text.clone()),
        Some(Family::Ip),
    )
    .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn https_rejected_by_the_public_zone_on_the_iptables_backend_gets_the_same_firewall_cmd_fixes() {
    let Some(dir) = corpus() else { return };
    let mut rs = iptables_public_host(&dir, &[]);
    let config = packaged_config(&dir, &["services"]);
    let rem = remedies_for(
        &mut rs,
        &config,
        "tcp 192.0.2.10:40000 192.0.2.1:443 in foobar0",
    );
    let owner = rem.owner.as_ref().expect("owner");
    assert_eq!(owner.tool, Tool::Firewalld);
    assert!(
        matches!(&owner.role, Role::Firewalld(FirewalldRole::Zone { zone, .. }) if zone == "public"),
        "{owner:?}"
    );
    let fw = https_ladder(&rem, "IN_public");
    for r in &fw {
        assert_verified(r);
    }
    let kernel = |r: &analysis::remedy::Remedy| -> Vec<String> {
        r.kernel_rules.iter().map(|k| k.command.clone()).collect()
    };
    // features/zone_timeout.at:93 records `--add-port 443/tcp` (zone trusted) as
    // `ACCEPT 6 -- 0.0.0.0/0 0.0.0.0/0 tcp dpt:443`.
    let port = iptables_chain(&dir, "features__zone_timeout.json", 93, "trusted", "public");
    assert_eq!(kernel(fw[2]), vec![format!("iptables {}", port[0])]);
    assert_eq!(kernel(fw[1]), kernel(fw[2]));
    // features/services.at:25 records a rich rule's source in front of its port.
    let rich = iptables_chain(&dir, "features__services.json", 25, "foobar", "public");
    assert_eq!(
        kernel(fw[0]),
        vec![format!(
            "iptables {}",
            rich[1]
                .replace("10.10.10.0/24", "192.0.2.10/32")
                .replace("22", "443")
        )]
    );
    assert_eq!(
        rem.primary().map(|r| &r.language),
        Some(&Language::FirewallCmd)
    );
}

#[test]
fn a_ping_an_icmp_block_rejects_gets_remove_icmp_block_on_the_iptables_backend() {
    let Some(dir) = corpus() else { return };
    // features/icmp_blocks.at:115: `--add-icmp-block echo-request` in zone foobar.
    let deny = iptables_chain(&dir, "features__icmp_blocks.json", 115, "foobar", "public");
    assert_eq!(
        deny,
        ["-A IN_public_deny -p icmp -m icmp --icmp-type 8 -j REJECT --reject-with icmp-host-prohibited"]
    );
    let mut rs = iptables_public_host(&dir, &deny);
    let rem = remedies_for(
        &mut rs,
        &ToolConfig::default(),
        "icmp 192.0.2.10 192.0.2.1 in foobar0 type echo-request",
    );
    let fw = firewall_cmd(&rem);
    assert_eq!(fw.len(), 1, "{:?}", rem.ladder);
    assert_eq!(
        run_steps(fw[0]),
        vec![
            "firewall-cmd --zone=public --remove-icmp-block=echo-request",
            "firewall-cmd --permanent --zone=public --remove-icmp-block=echo-request",
        ]
    );
    assert_verified(fw[0]);
    let commands: Vec<&str> = fw[0]
        .kernel_rules
        .iter()
        .map(|k| k.command.as_str())
        .collect();
    assert_eq!(
        commands,
        ["iptables -D IN_public_deny -p icmp -m icmp --icmp-type 8 -j REJECT --reject-with icmp-host-prohibited"]
    );
}
