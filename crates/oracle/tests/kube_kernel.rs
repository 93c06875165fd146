//! The generated kube-proxy rulesets (`testgen::kube`, both modes) in the real kernel: a
//! packet from a pod to a service port without endpoints, and one to a service port with
//! endpoints, sent through a `wb` namespace loaded with the ruleset. The kernel's fate,
//! its path and its deciding rule agree with the simulation (iptables mode: the
//! no-endpoints REJECT in filter's `KUBE-SERVICES`, the DNAT to the endpoint and the
//! forward; nftables mode: the `no-endpoint-services` element's `goto reject-chain` and
//! the reject there). A packet to a service with endpoints in the nftables mode meets
//! `numgen random mod N vmap`: the kernel forwards it; the engine does not model that
//! statement, so it must leave the fate undecided (not a confident reject).
#![allow(clippy::print_stderr)]
mod common;

use analysis::agree::Verification;
use engine::{Decider, Fate};
use model::kernel_walk::KernelFate;
use model::{Family, Packet, Ruleset, SourceFile};
use oracle::netns::TestHost;
use oracle::run::Oracle;
use testgen::kube::{Cluster, Proto, Service};

/// A first packet from a pod to the service's first port on its ClusterIP.
fn to_service(s: &Service, sport: u16) -> Packet {
    let p = &s.ports[0];
    let dst = s.cluster_ip.to_string();
    match p.proto {
        Proto::Tcp => common::tcp("10.0.0.2", sport, &dst, p.port, "S", Some("cni0"), None),
        Proto::Udp => common::udp("10.0.0.2", sport, &dst, p.port, Some("cni0"), None),
    }
}

/// What the packets should meet: rejected (no endpoints) or forwarded to a pod.
/// `RandomPick`: the kernel forwards to a pod, chosen by `numgen random` (nftables mode);
/// the engine does not model `numgen ... vmap`, so it must leave the fate undecided, with
/// a branch that forwards or stops at the vmap as undetermined (never a confident wrong
/// answer).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Rejected,
    Forwarded,
    RandomPick,
}

/// Up to `n` services without endpoints and `n` with exactly one (the kernel's random
/// pick among several endpoints is not the engine's to predict), each with a packet.
fn cases(c: &Cluster, n: usize, with_endpoints: Expect) -> Vec<(String, Packet, Expect)> {
    let mut out = Vec::new();
    let empty = c.services.iter().filter(|s| s.endpoints.is_empty()).take(n);
    let one = c.services.iter().filter(|s| s.endpoints.len() == 1).take(n);
    for (i, s) in empty.enumerate() {
        let sport = 41000 + u16::try_from(i).unwrap_or(0);
        out.push((
            s.port_name(&s.ports[0]),
            to_service(s, sport),
            Expect::Rejected,
        ));
    }
    for (i, s) in one.enumerate() {
        let sport = 42000 + u16::try_from(i).unwrap_or(0);
        out.push((
            s.port_name(&s.ports[0]),
            to_service(s, sport),
            with_endpoints,
        ));
    }
    out
}

/// Loads `file` in a `wb` namespace, sends every case's packet and checks the kernel
/// against the simulation.
fn agree_in_kernel(mode: &str, file: SourceFile, rs: &Ruleset, cases: &[(String, Packet, Expect)]) {
    let host = cluster().node_host();
    let packets: Vec<Packet> = cases.iter().map(|(_, p, _)| p.clone()).collect();
    let test_host = TestHost::for_packets(&host, &packets).expect("test namespaces");
    let notes = test_host.notes.clone();
    let mut oracle = Oracle::new(test_host).expect("oracle");
    oracle
        .load(&[(file, Family::Ip)])
        .unwrap_or_else(|e| panic!("{mode}: the kernel loads the ruleset: {e}"));
    let walks = oracle.run(rs, &packets).expect("kernel walks");
    drop(oracle);
    assert_eq!(walks.len(), cases.len());
    let mut failures = Vec::new();
    for ((name, packet, expect), walk) in cases.iter().zip(walks) {
        let v = Verification::judge(rs, &host, packet, walk, notes.clone());
        let kernel_fate = v.kernel.fate.clone();
        let engine = v.engine.as_ref().expect("the engine ran");
        let engine_fate = engine.decided_fate().cloned();
        let fate_ok = match expect {
            Expect::Rejected => {
                matches!(engine_fate, Some(Fate::Rejected { .. }))
                    && matches!(
                        kernel_fate,
                        KernelFate::Rejected { .. } | KernelFate::Dropped { .. }
                    )
            }
            Expect::Forwarded => {
                matches!(&engine_fate, Some(Fate::Forwarded { oif, .. }) if oif == "cni0")
                    && kernel_fate == KernelFate::Forwarded { oif: "cni0".into() }
            }
            Expect::RandomPick => {
                engine_fate.is_none()
                    && engine.branches.iter().any(|b| match &b.trace.fate {
                        Fate::Forwarded { oif, .. } => oif == "cni0",
                        Fate::Undetermined { .. } => true,
                        _ => false,
                    })
                    && kernel_fate == KernelFate::Forwarded { oif: "cni0".into() }
            }
        };
        // The deciding rule: the step the kernel's drop names is the engine's decider.
        let kernel_decider = match kernel_fate {
            KernelFate::Rejected { step, .. } | KernelFate::Dropped { step } => {
                v.kernel.steps.get(step).and_then(|s| s.rule())
            }
            _ => None,
        };
        let engine_decider = match &engine.primary().decider {
            Decider::Rule(r) => Some(*r),
            _ => None,
        };
        let decider_ok = *expect != Expect::Rejected || kernel_decider == engine_decider;
        let agree = v.agree || *expect == Expect::RandomPick;
        if !(agree && fate_ok && decider_ok) {
            failures.push(format!(
                "{mode} {name} ({expect:?}): agree={} kernel={kernel_fate:?} engine={engine_fate:?} \
                 kernel decider={kernel_decider:?} engine decider={engine_decider:?}\n{}",
                v.agree,
                report::verify::render_text(&v)
            ));
        }
    }
    eprintln!(
        "{mode}: {} packets through the kernel, {} as the simulation says",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn cluster() -> Cluster {
    Cluster::generate(11, 40)
}

/// Both modes in one test: the namespaces of one must be gone before the check at the end.
#[test]
fn kube_proxy_rulesets_in_the_kernel_agree_with_the_simulation() {
    if !common::kernel_tests_enabled("kube_proxy_rulesets_in_the_kernel_agree_with_the_simulation")
    {
        return;
    }
    let c = cluster();
    let (file, rs) = common::iptables("kube.rules", &c.iptables_save());
    let ipt_cases = cases(&c, 4, Expect::Forwarded);
    assert!(ipt_cases.iter().any(|c| c.2 == Expect::Rejected));
    assert!(ipt_cases.iter().any(|c| c.2 == Expect::Forwarded));
    agree_in_kernel("iptables", file, &rs, &ipt_cases);

    let file = SourceFile::new("kube.nft", c.nft_ruleset());
    let rs = frontends::nft::parse_text(&file).expect("parses");
    agree_in_kernel("nftables", file, &rs, &cases(&c, 4, Expect::RandomPick));
    common::assert_no_namespaces_of_this_process();
}
