//! The generated kube-proxy rulesets are real: the kernel loads them, and what it lists
//! back is what the generator wrote (iptables: line for line as `iptables-save` prints
//! it; nftables: the same chains, rules and set elements as `nft list ruleset` prints
//! them). Both also load in our front ends.

use model::{Family, Ruleset, SourceFile};
use testgen::kernel_tests::kernel_tests_enabled;
use testgen::kube::Cluster;

fn cluster() -> Cluster {
    Cluster::generate(3, 80)
}

/// Each table's lines, by table name: the backends list the tables in different orders.
fn tables(text: &str) -> std::collections::BTreeMap<&str, Vec<&str>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix('*') {
            current = Some(name);
        }
        if let Some(t) = current {
            out.entry(t).or_insert_with(Vec::new).push(line);
        }
    }
    out
}

fn nft(text: &str, name: &str) -> Ruleset {
    frontends::nft::parse_text(&SourceFile::new(name, text)).unwrap_or_else(|e| panic!("{e}"))
}

/// Chains with their rules' text, and sets with their elements (sorted: the kernel lists
/// a hash set's elements in its own order).
/// Named things (chains, sets) with their lines (rules, elements).
type Listing = Vec<(String, Vec<String>)>;

fn nft_shape(rs: &Ruleset) -> (Listing, Listing) {
    let t = &rs.tables[0];
    let chains = t
        .chains
        .iter()
        .map(|c| {
            let rules = c.rules.iter().map(|r| r.origin.text.to_string()).collect();
            (c.name.clone(), rules)
        })
        .collect();
    let sets = t
        .sets
        .iter()
        .filter(|s| !s.name.starts_with("__anon"))
        .map(|s| {
            let mut elements: Vec<String> = s.elements.iter().map(|e| format!("{e:?}")).collect();
            elements.sort();
            (s.name.clone(), elements)
        })
        .collect();
    (chains, sets)
}

#[test]
fn both_modes_load_in_our_front_ends() {
    let c = cluster();
    let src = SourceFile::new("kube.rules", c.iptables_save());
    let ipt =
        frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("iptables mode parses");
    assert!(ipt.tables.iter().any(|t| t.name == "nat"));
    let rs = nft(&c.nft_ruleset(), "kube.nft");
    assert_eq!(rs.tables[0].name, "kube-proxy");
    let no_endpoints = rs.tables[0]
        .sets
        .iter()
        .find(|s| s.name == "no-endpoint-services")
        .expect("no-endpoint-services map");
    assert!(
        no_endpoints.elements.iter().all(|e| e.comment.is_some()),
        "every no-endpoint element keeps its service comment"
    );
}

#[test]
fn the_kernel_lists_the_iptables_mode_back_line_for_line() {
    if !kernel_tests_enabled("the_kernel_lists_the_iptables_mode_back_line_for_line") {
        return;
    }
    let text = cluster().iptables_save();
    let host =
        oracle::netns::TestHost::for_packets(&model::Host::default(), &[]).expect("namespace");
    host.router
        .exec("iptables-restore", &[], Some(text.as_bytes()))
        .expect("iptables-restore accepts the generated ruleset");
    let saved = host
        .router
        .exec("iptables-save", &[], None)
        .expect("iptables-save");
    let (ours, kernels) = (tables(&text), tables(&saved));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        kernels.keys().collect::<Vec<_>>()
    );
    for (table, lines) in &ours {
        let listed = &kernels[table];
        for (i, (a, b)) in lines.iter().zip(listed).enumerate() {
            assert_eq!(a, b, "{table}: line {} differs", i + 1);
        }
        assert_eq!(lines.len(), listed.len(), "{table}: line count");
    }
}

#[test]
fn the_kernel_lists_the_nftables_mode_back_as_written() {
    if !kernel_tests_enabled("the_kernel_lists_the_nftables_mode_back_as_written") {
        return;
    }
    let text = cluster().nft_ruleset();
    let host =
        oracle::netns::TestHost::for_packets(&model::Host::default(), &[]).expect("namespace");
    host.router
        .exec("nft", &["-f", "-"], Some(text.as_bytes()))
        .expect("nft -f accepts the generated ruleset");
    let listed = host
        .router
        .exec("nft", &["list", "ruleset"], None)
        .expect("nft list");
    let (ours, kernels) = (
        nft_shape(&nft(&text, "ours")),
        nft_shape(&nft(&listed, "kernel")),
    );
    assert_eq!(ours.0, kernels.0, "chains and rules");
    assert_eq!(ours.1, kernels.1, "sets and elements");
}
