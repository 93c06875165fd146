//! Criterion benchmarks: parse the TUM rulesets; simulate 10,000 varied packets on them.
//! Skips (with a message) when ../shared/corpus is absent.

#![allow(clippy::print_stderr)]

use bench::{corpus_source, varied_packets, TUM_RULESETS};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let host = model::Host::default();
    let options = engine::Options::default();
    for (label, path, family) in TUM_RULESETS {
        let Some(source) = corpus_source(path) else {
            eprintln!("SKIP {label}: ../shared/corpus/{path} is absent");
            continue;
        };
        let mut parse = c.benchmark_group("parse");
        parse.throughput(Throughput::Bytes(source.text.len() as u64));
        parse.bench_function(label, |b| {
            b.iter(|| frontends::iptables_save::parse(black_box(&source), Some(family)))
        });
        parse.finish();
        let Ok(ruleset) = frontends::iptables_save::parse(&source, Some(family)) else {
            continue;
        };
        let packets = varied_packets(&ruleset, family == model::Family::Ip6, 10_000, 42);
        let prepared = engine::Prepared::new(&ruleset);
        let mut simulate = c.benchmark_group("simulate");
        simulate.sample_size(10);
        simulate.throughput(Throughput::Elements(packets.len() as u64));
        simulate.bench_function(label, |b| {
            b.iter(|| {
                for p in &packets {
                    black_box(engine::simulate_prepared(&prepared, &host, p, &options));
                }
            })
        });
        simulate.finish();
    }
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
