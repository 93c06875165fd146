//! The 5,556-rule TUM border firewall (`../shared/corpus`, absent from a fresh clone: the
//! test then says so and passes): many packets through the real ruleset, prepared once.
//! The rate (100,000 packets/s on one core) is asserted in release builds only.

use engine::{simulate_prepared, Options, Prepared};
use model::host::Host;
use model::{Family, Packet, SourceFile, TcpFlags, L4};
use std::path::PathBuf;
use std::time::Instant;

const TUM: &str = "diekmann-net-network/configs_chair_for_Network_Architectures_and_Services/iptables-save-2016-06-27_16-29-01";

#[test]
fn tum_ruleset_simulates_fast() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(TUM);
    // A clone without ../shared/corpus skips (the stories tests say so on stderr).
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let source = SourceFile::new(TUM, text);
    let ruleset =
        frontends::iptables_save::parse(&source, Some(Family::Ip)).expect("the TUM ruleset parses");
    assert!(ruleset.rule_count() >= 5_500, "{}", ruleset.rule_count());
    let prepared = Prepared::new(&ruleset);
    let host = Host::default();
    let options = Options::default();
    let ifaces = [
        "eth1.96",
        "eth1.110",
        "eth1.1024",
        "eth1.152",
        "eth1.1011",
        "eth0",
    ];
    let n: u32 = if cfg!(debug_assertions) { 300 } else { 30_000 };
    let mut branches = 0usize;
    let start = Instant::now();
    for i in 0..n {
        let mut p = Packet::new(
            format!("131.159.{}.{}", 14 + i % 8, 1 + i % 250)
                .parse()
                .unwrap(),
            format!("188.95.{}.{}", 232 + i % 4, 1 + (i / 7) % 250)
                .parse()
                .unwrap(),
            L4::Tcp {
                sport: 1024 + (i % 60_000) as u16,
                dport: [22, 80, 443, 25, 8080][i as usize % 5],
                flags: TcpFlags::SYN,
            },
        );
        p.iif = Some(ifaces[i as usize % ifaces.len()].to_string());
        p.oif = Some(ifaces[(i as usize + 1) % ifaces.len()].to_string());
        branches += simulate_prepared(&prepared, &host, &p, &options)
            .branches
            .len();
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    if !cfg!(debug_assertions) {
        assert!(
            rate > 100_000.0,
            "{rate:.0} packets/s ({branches} branches for {n} packets)"
        );
    }
}
