//! Docker's own golden rulesets (moby `iptabler` and `nftabler` testdata: the same network
//! scenarios written by both backends) and firewall4's expected rulesets, from
//! `../shared/corpus`: every Docker chain is Docker's, the published ports are found, and
//! both backends agree on them; every fw4 zone chain names its zone.

#![allow(clippy::print_stderr)]

use model::owner::{ContainerRole, PublishedPort};
use model::tool_config::ToolConfig;
use model::{Family, Role, Ruleset, SourceFile, Tool};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MOBY: &str = "../../../shared/corpus/moby/daemon/libnetwork/drivers/bridge/internal";
const FW4: &str = "../../../shared/corpus/openwrt-firewall4/extracted_expected_nft";

fn corpus(rel: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (the shared corpus is not beside the checkout)",
            dir.display()
        );
        None
    }
}

fn goldens(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    files
}

fn scenario(path: &Path) -> (String, bool) {
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    let (name, backend) = stem.rsplit_once("__").expect("scenario__backend");
    (name.to_string(), backend.contains('6'))
}

fn load(path: &Path, v6: bool, nft: bool) -> Ruleset {
    let text = std::fs::read_to_string(path).expect("readable");
    let src = SourceFile::new(path.display().to_string(), text);
    let mut rs = if nft {
        frontends::nft::parse_text(&src)
    } else {
        let family = if v6 { Family::Ip6 } else { Family::Ip };
        frontends::iptables_save::parse(&src, Some(family))
    }
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    owners::recognise(&mut rs, &ToolConfig::default());
    rs
}

/// The published ports the rules' owners carry (DNAT rules), sorted.
fn published(rs: &Ruleset) -> Vec<PublishedPort> {
    let mut ports: Vec<PublishedPort> = rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .filter(|r| r.origin.text.contains("DNAT") || r.origin.text.contains("dnat"))
        .filter_map(|r| match &r.origin.owner.as_ref()?.role {
            Role::Container(ContainerRole::Published(p)) => Some(p.clone()),
            _ => None,
        })
        .collect();
    ports.sort_by_key(|p| (p.container, p.host_port, p.container_port, p.proto.clone()));
    ports.dedup();
    ports
}

#[test]
fn moby_goldens_both_backends_docker_owned_and_published_ports_agree() {
    let Some(dir) = corpus(MOBY) else { return };
    let mut by_scenario: BTreeMap<(String, bool), [Option<Vec<PublishedPort>>; 2]> =
        BTreeMap::new();
    let mut chains = 0;
    let mut ports = 0;
    for (sub, nft) in [
        ("iptabler/testdata/TestIptabler", false),
        ("nftabler/testdata/TestNftabler", true),
    ] {
        let files = goldens(&dir.join(sub));
        assert!(files.len() > 200, "{sub}: {} goldens", files.len());
        for path in files {
            let (name, v6) = scenario(&path);
            let rs = load(&path, v6, nft);
            for table in &rs.tables {
                for chain in &table.chains {
                    let docker = if nft {
                        table.name == "docker-bridges"
                    } else {
                        chain.name == "DOCKER" || chain.name.starts_with("DOCKER-")
                    };
                    if !docker {
                        continue;
                    }
                    chains += 1;
                    let owner = owners::owner_of_chain(
                        &rs,
                        model::ChainRef {
                            table: rs.table(table.family, &table.name).unwrap(),
                            chain: table.chain(&chain.name).unwrap(),
                        },
                    )
                    .unwrap_or_else(|| panic!("{}: {} unowned", path.display(), chain.name));
                    assert_eq!(
                        owner.tool,
                        Tool::Docker,
                        "{}: {}",
                        path.display(),
                        chain.name
                    );
                    for rule in &chain.rules {
                        let o = rule.origin.owner.as_ref().expect("every rule owned");
                        assert_eq!(
                            o.tool,
                            Tool::Docker,
                            "{}: {}",
                            path.display(),
                            rule.origin.text
                        );
                    }
                }
            }
            let found = published(&rs);
            ports += found.len();
            by_scenario.entry((name, v6)).or_default()[usize::from(nft)] = Some(found);
        }
    }
    let mut paired = 0;
    for ((name, v6), [ipt, nft]) in &by_scenario {
        if let (Some(ipt), Some(nft)) = (ipt, nft) {
            paired += 1;
            assert_eq!(
                ipt, nft,
                "published ports differ between backends: {name} v6={v6}"
            );
        }
    }
    eprintln!("moby goldens: {chains} Docker chains/tables' chains owned, {ports} published ports, {paired} scenarios paired");
    assert!(paired > 250, "only {paired} scenarios in both backends");
    assert!(ports > 200, "only {ports} published ports found");
}

#[test]
fn moby_user_chain_goldens_docker_user_is_the_admins_chain() {
    let Some(dir) = corpus(MOBY) else { return };
    let user_chain =
        dir.join("../../../testdata/TestUserChain/iptables-true_append-false_fwdafter4.golden");
    let rules = std::fs::read_to_string(&user_chain).expect("TestUserChain golden");
    // The golden lists FORWARD's rules; declare the chains it jumps to around it.
    let text = format!(
        "*filter\n:FORWARD ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n:DOCKER-FORWARD - [0:0]\n{}\nCOMMIT\n",
        rules.lines().filter(|l| l.starts_with("-A")).collect::<Vec<_>>().join("\n")
    );
    let mut rs =
        frontends::iptables_save::parse(&SourceFile::new("user-chain", text), Some(Family::Ip))
            .expect("parses");
    owners::recognise(&mut rs, &ToolConfig::default());
    let t = &rs.tables[0];
    let user = &t.chains[t.chain("DOCKER-USER").unwrap()];
    let o = user.origin.owner.as_ref().unwrap();
    assert_eq!(
        (o.tool.clone(), o.role.clone()),
        (Tool::Docker, Role::Container(ContainerRole::UserChain))
    );
    let fwd = &t.chains[t.chain("FORWARD").unwrap()];
    assert!(fwd
        .rules
        .iter()
        .all(|r| r.origin.owner.as_ref().unwrap().tool == Tool::Docker));
}

#[test]
fn fw4_expected_rulesets_zone_chains_name_their_zone() {
    let Some(dir) = corpus(FW4) else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nft"))
        .collect();
    files.sort();
    let mut zones = std::collections::BTreeSet::new();
    let mut parsed = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let Ok(mut rs) =
            frontends::nft::parse_text(&SourceFile::new(path.display().to_string(), text))
        else {
            eprintln!("not parsed (skipped): {}", path.display());
            continue;
        };
        parsed += 1;
        owners::recognise(&mut rs, &ToolConfig::default());
        for table in rs.tables.iter().filter(|t| t.name == "fw4") {
            assert_eq!(table.origin.owner.as_ref().unwrap().tool, Tool::Fw4);
            for chain in &table.chains {
                let role = &chain.origin.owner.as_ref().unwrap().role;
                let zone = [
                    "input_",
                    "forward_",
                    "output_",
                    "reject_from_",
                    "accept_to_",
                ]
                .iter()
                .find_map(|p| chain.name.strip_prefix(p));
                if let Some(z) = zone {
                    assert_eq!(
                        role,
                        &Role::Container(ContainerRole::Zone(z.to_string())),
                        "{}",
                        chain.name
                    );
                    zones.insert(z.to_string());
                }
            }
        }
    }
    eprintln!(
        "fw4: {parsed}/{} rulesets parsed, zones {zones:?}",
        files.len()
    );
    assert!(parsed > 0);
    assert!(zones.contains("lan") && zones.contains("wan"), "{zones:?}");
}
