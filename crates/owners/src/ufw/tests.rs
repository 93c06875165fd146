//! ufw recognition on rulesets the real ufw wrote: the story-1 router of
//! `examples/ufw-router` (iptables-save and ufw's own files) and the corpus' iptables-nft
//! listing of a ufw router.

use super::*;
use model::SourceFile;
use std::path::PathBuf;

fn example(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/ufw-router")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn iptables(text: &str, family: Family) -> Ruleset {
    frontends::iptables_save::parse(&SourceFile::new("iptables-save.txt", text), Some(family))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// ufw's files as the snapshot records them (host path → file).
fn story1_config() -> ToolConfig {
    let files = [
        ("/etc/ufw/user.rules", "host/etc/ufw/user.rules"),
        ("/etc/ufw/user6.rules", "host/etc/ufw/user6.rules"),
        ("/etc/default/ufw", "host/etc/default/ufw"),
        ("ufw status numbered", "host/cmd/ufw-status-numbered.txt"),
    ];
    ToolConfig {
        files: files
            .iter()
            .map(|(name, rel)| SourceFile::new(*name, example(rel)))
            .collect(),
    }
}

fn filter(rs: &Ruleset) -> &Table {
    rs.tables
        .iter()
        .find(|t| t.name == "filter")
        .unwrap_or_else(|| panic!("no filter table"))
}

fn chain<'a>(rs: &'a Ruleset, name: &str) -> &'a Chain {
    let t = filter(rs);
    &t.chains[t.chain(name).unwrap_or_else(|| panic!("no chain {name}"))]
}

fn role_of_rule(rs: &Ruleset, chain_name: &str, i: usize) -> Role {
    let owner = chain(rs, chain_name).rules[i].origin.owner.clone();
    let owner = owner.unwrap_or_else(|| panic!("{chain_name} #{} unclaimed", i + 1));
    assert_eq!(owner.tool, Tool::Ufw);
    owner.role
}

fn routed(policy: &str) -> Role {
    Role::Ufw(UfwRole::DefaultPolicy {
        direction: UfwDirection::Routed,
        policy: policy.to_string(),
    })
}

#[test]
fn story_1_reject_forward_is_the_routed_default_policy() {
    let mut rs = iptables(&example("iptables-save.txt"), Family::Ip);
    crate::recognise(&mut rs, &story1_config());
    assert_eq!(role_of_rule(&rs, "ufw-reject-forward", 0), routed("reject"));
    assert_eq!(
        role_of_rule(&rs, "ufw-skip-to-policy-forward", 0),
        routed("reject")
    );
    let forward = chain(&rs, "FORWARD").origin.owner.clone();
    assert_eq!(
        forward,
        Some(Owner {
            tool: Tool::Ufw,
            evidence: Evidence::Config {
                path: "/etc/default/ufw".into(),
                line: config_line("host/etc/default/ufw", "DEFAULT_FORWARD_POLICY="),
            },
            role: routed("reject"),
        })
    );
    let input = chain(&rs, "INPUT").origin.owner.clone().map(|o| o.role);
    assert_eq!(
        input,
        Some(Role::Ufw(UfwRole::DefaultPolicy {
            direction: UfwDirection::Incoming,
            policy: "deny".into()
        }))
    );
    assert_eq!(
        role_of_rule(&rs, "FORWARD", 4),
        Role::Ufw(UfwRole::Template {
            chain: "ufw-reject-forward".into()
        })
    );
    assert_eq!(
        role_of_rule(&rs, "ufw-before-forward", 0),
        Role::Ufw(UfwRole::Template {
            chain: "ufw-before-forward".into()
        })
    );
}

/// The 1-based line of the example file's line starting with `prefix`.
fn config_line(rel: &str, prefix: &str) -> u32 {
    let text = example(rel);
    let i = text
        .lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("{rel}: no {prefix}"));
    u32::try_from(i + 1).unwrap_or(0)
}

#[test]
fn story_1_user_rules_are_tied_to_their_tuples_and_numbers() {
    let config = story1_config();
    let mut v4 = iptables(&example("iptables-save.txt"), Family::Ip);
    crate::recognise(&mut v4, &config);
    let owner = chain(&v4, "ufw-user-input").rules[1].origin.owner.clone();
    assert_eq!(
        owner,
        Some(Owner {
            tool: Tool::Ufw,
            evidence: Evidence::Config {
                path: "/etc/ufw/user.rules".into(),
                line: config_line("host/etc/ufw/user.rules", "### tuple ### deny tcp 23"),
            },
            role: Role::Ufw(UfwRole::UserRule(UfwTuple {
                text: "deny tcp 23 0.0.0.0/0 any 0.0.0.0/0 in".into(),
                number: Some(2),
                v6: false,
            })),
        })
    );
    let mut v6 = iptables(&example("ip6tables-save.txt"), Family::Ip6);
    crate::recognise(&mut v6, &config);
    let numbers: Vec<Option<usize>> = chain(&v6, "ufw6-user-input")
        .rules
        .iter()
        .map(|r| match r.origin.owner.as_ref().map(|o| &o.role) {
            Some(Role::Ufw(UfwRole::UserRule(t))) => t.number,
            other => panic!("{other:?}"),
        })
        .collect();
    // `ufw status numbered` of the example: [3] 22/tcp (v6), [4] 23/tcp (v6).
    assert_eq!(numbers, [Some(3), Some(4)]);
}

#[test]
fn without_ufw_files_user_rules_are_untied_and_defaults_come_from_the_rules() {
    let mut rs = iptables(&example("iptables-save.txt"), Family::Ip);
    crate::recognise(&mut rs, &ToolConfig::default());
    assert_eq!(
        role_of_rule(&rs, "ufw-user-input", 0),
        Role::Ufw(UfwRole::UntiedUserRule {
            chain: "ufw-user-input".into()
        })
    );
    let forward = chain(&rs, "FORWARD").origin.owner.clone();
    assert_eq!(
        forward.map(|o| (o.evidence, o.role)),
        Some((
            Evidence::ChainName("ufw-reject-forward".into()),
            routed("reject")
        ))
    );
}

#[test]
fn a_user_rules_file_out_of_step_with_the_loaded_rules_ties_nothing() {
    let mut config = story1_config();
    let stale = example("host/etc/ufw/user.rules").replace(
        "### END RULES ###",
        "### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n\n### END RULES ###",
    );
    config.files[0] = SourceFile::new("/etc/ufw/user.rules", stale);
    let mut rs = iptables(&example("iptables-save.txt"), Family::Ip);
    crate::recognise(&mut rs, &config);
    assert!(matches!(
        role_of_rule(&rs, "ufw-user-input", 1),
        Role::Ufw(UfwRole::UntiedUserRule { .. })
    ));
}

#[test]
fn a_default_file_that_disagrees_with_the_loaded_policy_yields_to_the_rules() {
    let mut config = story1_config();
    let edited = example("host/etc/default/ufw").replace(
        "DEFAULT_FORWARD_POLICY=\"REJECT\"",
        "DEFAULT_FORWARD_POLICY=\"ACCEPT\"",
    );
    config.files[2] = SourceFile::new("/etc/default/ufw", edited);
    let mut rs = iptables(&example("iptables-save.txt"), Family::Ip);
    crate::recognise(&mut rs, &config);
    let forward = chain(&rs, "FORWARD").origin.owner.clone().map(|o| o.role);
    assert_eq!(forward, Some(routed("reject")));
}

/// Docker's jump in FORWARD is not ufw's, though the chain's policy is.
#[test]
fn other_tools_rules_in_a_ufw_base_chain_stay_unclaimed() {
    let text = example("iptables-save.txt")
        .replace(
            "-A FORWARD -j ufw-before-logging-forward",
            "-A FORWARD -j DOCKER-USER\n-A FORWARD -j ufw-before-logging-forward",
        )
        .replace(
            ":ufw-after-forward - [0:0]",
            ":DOCKER-USER - [0:0]\n:ufw-after-forward - [0:0]",
        );
    let mut rs = iptables(&text, Family::Ip);
    super::recognise(&mut rs, &ToolConfig::default());
    assert_eq!(chain(&rs, "FORWARD").rules[0].origin.owner, None);
    assert_eq!(
        role_of_rule(&rs, "FORWARD", 1),
        Role::Ufw(UfwRole::Template {
            chain: "ufw-before-logging-forward".into()
        })
    );
}

#[test]
#[allow(clippy::print_stderr)]
fn the_iptables_nft_listing_of_a_ufw_router_is_recognised() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/generated/ufw-in-netns/nft-list-ruleset.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "SKIPPED: {} is absent (../shared/corpus beside the checkout)",
            path.display()
        );
        return;
    };
    let mut rs = frontends::nft::parse_text(&SourceFile::new("nft-list-ruleset.txt", text))
        .unwrap_or_else(|e| panic!("{e}"));
    crate::recognise(&mut rs, &ToolConfig::default());
    let table = rs
        .tables
        .iter()
        .find(|t| t.family == Family::Ip && t.name == "filter")
        .unwrap_or_else(|| panic!("no ip filter"));
    let forward = &table.chains[table.chain("FORWARD").unwrap_or(0)];
    // That router runs `ufw default deny routed` (FORWARD policy drop, no reject rule).
    assert_eq!(
        forward.origin.owner.clone().map(|o| o.role),
        Some(routed("deny"))
    );
    let user_forward = &table.chains[table.chain("ufw-user-forward").unwrap_or(0)];
    assert_eq!(user_forward.rules.len(), 2);
    assert!(user_forward.rules.iter().all(|r| matches!(
        r.origin.owner.as_ref().map(|o| &o.role),
        Some(Role::Ufw(UfwRole::UntiedUserRule { .. }))
    )));
}
