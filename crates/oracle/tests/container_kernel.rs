//! Container and router-firewall remedies proven in the kernel: the tool's own ruleset
//! (Docker's moby golden with the admin's drop in `DOCKER-USER`; fw4's expected ruleset
//! from OpenWrt's test suite) loaded in a `wb` namespace, the whole exchange sent before
//! the remedy (it must fail) and after its kernel rules are applied (it must pass), and
//! the simulation agreeing with the kernel both times. The corpus is read in place from
//! `../shared/corpus`; without it, or without root, the tests skip loudly.
#![allow(clippy::print_stderr)]
mod common;

use analysis::remedy::exchange;
use analysis::remedy::{remedies, Remedy};
use model::tool_config::ToolConfig;
use model::{Family, Packet, Ruleset, SourceFile};
use oracle::exchange as kx;
use std::path::Path;
use testgen::aim::Topology;
use testgen::lab::Lab;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn corpus_file(rel: &str) -> Option<String> {
    let p = Path::new(CORPUS).join(rel);
    let text = std::fs::read_to_string(&p).ok();
    if text.is_none() {
        eprintln!(
            "SKIPPED: {} is absent (the shared corpus is not beside the checkout)",
            p.display()
        );
    }
    text
}

static ONE_LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The remedy `pick` chooses for the exchange `p` starts, proven in the kernel: the exchange fails with
/// the ruleset as loaded and passes with the remedy's kernel rules applied; the simulation
/// agrees with the kernel both times.
fn prove(
    topo: Topology,
    src: SourceFile,
    family: Family,
    p: Packet,
    pick: impl Fn(&Remedy) -> bool,
) {
    // One test host at a time: the namespace check at the end sees the whole process.
    let _one_at_a_time = ONE_LAB
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rs: Ruleset = match family {
        Family::Inet => frontends::nft::parse_text(&src),
        _ => frontends::iptables_save::parse(&src, Some(family)),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    owners::recognise(&mut rs, &ToolConfig::default());
    let mut lab = Lab::new(topo).expect("test host");
    kx::silence_peers(&lab.oracle).expect("silent peers");
    let options = engine::Options::default();
    let outcome = engine::simulate(&rs, &lab.host, &p, &options);
    let found = remedies(
        &rs,
        &lab.host,
        &p,
        &outcome,
        &options,
        &ToolConfig::default(),
    )
    .expect("blocked, with remedies");
    let remedy = found
        .ladder
        .iter()
        .find(|r| pick(r))
        .unwrap_or_else(|| panic!("no such remedy: {:#?}", found.ladder));
    assert!(remedy.verified(), "{:#?}", remedy.exchange);
    assert!(!remedy.kernel_rules.is_empty(), "{remedy:#?}");

    let load = |lab: &mut Lab| {
        lab.load(&[(src.clone(), family)]).expect("kernel loads");
        kx::add_endpoints(&lab.oracle).expect("endpoint table");
    };
    load(&mut lab);
    let before = kx::run(&mut lab.oracle, &rs, &p).expect("kernel exchange");
    let simulated = exchange::simulate(&rs, &lab.host, &p, &options);
    let agreement = kx::compare(&simulated, &before);
    assert!(!before.works(), "the exchange works before the remedy");
    assert!(agreement.agree(), "before: {agreement:?}");

    load(&mut lab);
    kx::apply(&mut lab.oracle, &remedy.kernel_rules).expect("the kernel takes the remedy");
    let after = kx::run(&mut lab.oracle, &rs, &p).expect("kernel exchange");
    let sim = remedy.exchange.as_ref().expect("simulated");
    let agreement = kx::compare(sim, &after);
    eprintln!(
        "{:?}: before stops at {:?}; after: {} steps, works {}",
        remedy
            .kernel_rules
            .iter()
            .map(|k| k.command.as_str())
            .collect::<Vec<_>>(),
        before.first_failure().map(|s| s.role),
        after.steps.len(),
        after.works()
    );
    assert!(after.works(), "{:?}", after.first_failure());
    assert!(agreement.agree(), "after: {agreement:?}");
    drop(lab);
    common::assert_no_namespaces_of_this_process();
}

#[test]
fn docker_user_accept_lets_the_whole_connection_past_the_admins_drop_in_the_kernel() {
    if !common::kernel_tests_enabled(
        "docker_user_accept_lets_the_whole_connection_past_the_admins_drop_in_the_kernel",
    ) {
        return;
    }
    let Some(golden) = corpus_file(
        "moby/daemon/libnetwork/drivers/bridge/internal/iptabler/testdata/TestIptabler/hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false__iptables.golden",
    ) else {
        return;
    };
    let Some(user) = corpus_file(
        "moby/daemon/libnetwork/testdata/TestUserChain/iptables-true_append-false_fwdafter4.golden",
    ) else {
        return;
    };
    // Docker's tables as it writes them, DOCKER-USER jumped to first (TestUserChain),
    // the admin's drop of everything from eth0 in it; the bridge's subnet moved onto the
    // test router's (br-dummy is 10.200.1.0/24 there).
    let jumps: Vec<&str> = user
        .lines()
        .filter(|l| l.starts_with("-A FORWARD"))
        .collect();
    let text = golden
        .replace("-A FORWARD -j DOCKER-FORWARD\n", "")
        .replace(
            ":DOCKER-FORWARD - [0:0]\n",
            &format!(
                ":DOCKER-FORWARD - [0:0]\n:DOCKER-USER - [0:0]\n{}\n-A DOCKER-USER -i eth0 -j DROP\n",
                jumps.join("\n")
            ),
        )
        .replace("192.168.0.", "10.200.1.");
    let topo = Topology::with_names(&["eth0".into(), "br-dummy".into()]);
    prove(
        topo,
        SourceFile::new("docker.rules", text),
        Family::Ip,
        common::tcp(
            "10.200.0.7",
            40000,
            "10.200.0.1",
            8080,
            "S",
            Some("eth0"),
            None,
        ),
        |r| {
            r.kernel_rules
                .iter()
                .all(|k| k.chain == "DOCKER-USER" && k.command.starts_with("iptables -I"))
        },
    );
}

#[test]
fn fw4_config_rule_opens_the_whole_exchange_in_the_kernel() {
    if !common::kernel_tests_enabled("fw4_config_rule_opens_the_whole_exchange_in_the_kernel") {
        return;
    }
    let Some(text) =
        corpus_file("openwrt-firewall4/extracted_expected_nft/01_configuration__01_ruleset.nft")
    else {
        return;
    };
    // What a namespace cannot hold goes, with the rules using it (the exchange here, to
    // the router itself, meets neither): the hardware-offloaded flowtable on eth0/eth1
    // (`flags offload` needs a NIC that offloads), and the RTSP conntrack helper, an
    // out-of-tree module (nf_conntrack_rtsp).
    let text = text
        .replace(
            "\tflowtable ft {\n\t\thook ingress priority 0;\n\t\tdevices = { \"eth0\", \"eth1\" };\n\t\tcounter;\n\t\tflags offload;\n\t}\n",
            "",
        )
        .replace("\tct helper rtsp {\n\t\ttype \"rtsp\" protocol tcp;\n\t}\n", "")
        .lines()
        .filter(|l| !l.contains("ct helper set \"rtsp\"") && !l.contains("flow offload @ft"))
        .collect::<Vec<_>>()
        .join("\n");
    let topo = Topology::with_names(&["pppoe-wan".into(), "br-lan".into()]);
    // UDP: a TCP SYN meets fw4's syn_flood rate limit, which cannot be decided offline.
    prove(
        topo,
        SourceFile::new("fw4.nft", text),
        Family::Inet,
        common::udp(
            "10.200.0.7",
            40000,
            "10.200.0.1",
            8443,
            Some("pppoe-wan"),
            None,
        ),
        |r| r.language == analysis::remedy::Language::ToolSetting(model::Tool::Fw4),
    );
}
