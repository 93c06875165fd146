//! firewalld's remedy for forwarded traffic, proven in the kernel: the forwarding layout
//! firewalld's own test suite records (`features/policy_dispatch_zone_to_zone.at`, zone
//! public on wan0 and the default, zone internal on lan0: the recorded interfaces renamed
//! to the test host's) is loaded into a `wb` namespace, the whole exchange fails, each
//! remedy's kernel rules (the chains and rules firewalld generates for the new policy) are
//! applied, and the whole exchange passes, agreeing with the simulation step by step.
//!
//! This is firewalld's recorded output in the real kernel, not a running firewalld:
//! firewalld is not run here (its package's postinst could touch the host's firewall).
#![allow(clippy::print_stderr)]
mod common;

#[path = "../../owners/tests/support/firewalld_listings.rs"]
mod listings;

use analysis::remedy::{remedies, Language};
use listings::packet;
use model::{Family, SourceFile};
use oracle::exchange as kx;
use testgen::aim::Topology;
use testgen::lab::Lab;

#[test]
fn a_new_forward_policy_makes_the_whole_exchange_pass_in_the_kernel() {
    let Some(dir) = listings::corpus() else {
        return;
    };
    if !common::kernel_tests_enabled(
        "a_new_forward_policy_makes_the_whole_exchange_pass_in_the_kernel",
    ) {
        return;
    }
    let recorded = listings::forwarding_host_source(&dir);
    let text = recorded
        .text
        .replace("foobar0", "wan0")
        .replace("foobar1", "lan0");
    let source = SourceFile::new("firewalld.nft", text);
    let mut rs = frontends::nft::parse_text(&source).unwrap_or_else(|e| panic!("{e}"));
    let config = listings::packaged_config(&dir, &["services"]);
    owners::recognise(&mut rs, &config);

    let mut lab = Lab::new(Topology::lab()).expect("test host");
    kx::silence_peers(&lab.oracle).expect("silent peers");
    let load = |lab: &mut Lab| {
        lab.load(&[(source.clone(), Family::Inet)])
            .expect("kernel loads");
        kx::add_endpoints(&lab.oracle).expect("endpoint table");
    };
    let p = packet("tcp 10.1.0.50:40001 10.1.1.50:443 in wan0 out lan0 flags S");
    let options = engine::Options::default();
    let outcome = engine::simulate(&rs, &lab.host, &p, &options);
    let found = remedies(&rs, &lab.host, &p, &outcome, &options, &config).expect("blocked");

    load(&mut lab);
    let before = kx::run(&mut lab.oracle, &rs, &p).expect("kernel exchange");
    let mut failures = Vec::new();
    if before.works() {
        failures.push("the exchange passes before any remedy".to_string());
    }
    let fw: Vec<_> = found
        .ladder
        .iter()
        .filter(|r| r.language == Language::FirewallCmd)
        .collect();
    if fw.len() != 3 {
        failures.push(format!("{} firewall-cmd remedies, expected 3", fw.len()));
    }
    for r in &fw {
        load(&mut lab);
        if let Err(e) = kx::apply(&mut lab.oracle, &r.kernel_rules) {
            failures.push(format!("{:?}: {e}", r.steps));
            continue;
        }
        let kernel = kx::run(&mut lab.oracle, &rs, &p).expect("kernel exchange");
        let sim = r.exchange.as_ref().expect("simulated exchange");
        let agreement = kx::compare(sim, &kernel);
        eprintln!(
            "{:?}: simulated {:?}, kernel works: {}",
            r.breadth,
            sim.end,
            kernel.works()
        );
        if !kernel.works() || !r.verified() {
            failures.push(format!(
                "{:?}: kernel works {}, verified {}",
                r.steps,
                kernel.works(),
                r.verified()
            ));
        }
        if !agreement.agree() {
            failures.push(format!("{:?}: kernel disagrees: {agreement:?}", r.steps));
        }
        // The kernel's pair chain now has the shape firewalld records for a pair with a
        // policy (policy_dispatch_zone_to_zone.at:144).
        let listed = lab
            .oracle
            .host
            .router
            .exec(
                "nft",
                &[
                    "list",
                    "chain",
                    "inet",
                    "firewalld",
                    "filter_FWD_public_to_internal",
                ],
                None,
            )
            .expect("nft list chain");
        let rules: Vec<&str> = listed
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("jump ") || l.starts_with("reject"))
            .collect();
        let expected = [
            "jump filter_FWD_policy_public-to-internal",
            "jump filter_FWD_public",
            "reject with icmpx admin-prohibited",
        ];
        if rules != expected {
            failures.push(format!("{:?}: pair chain listed as {rules:?}", r.steps));
        }
    }
    drop(lab);
    common::assert_no_namespaces_of_this_process();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
