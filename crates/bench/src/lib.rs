//! Shared inputs of the benchmarks: the corpus rulesets (read in place, never copied) and
//! a deterministic stream of varied packets derived from a ruleset's own addresses and
//! ports, so most packets travel deep into the chains instead of stopping at rule one.

use model::expr::{Key, Pattern, Test, Value};
use model::ruleset::Step;
use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};
use std::net::IpAddr;
use std::path::PathBuf;

/// The largest real rulesets of the corpus: (label, path below `shared/corpus`, family).
pub const TUM_RULESETS: [(&str, &str, Family); 2] = [
    (
        "TUM iptables 2016-06-27",
        "diekmann-net-network/configs_chair_for_Network_Architectures_and_Services/iptables-save-2016-06-27_16-29-01",
        Family::Ip,
    ),
    (
        "TUM ip6tables 2016-06-27",
        "diekmann-net-network/configs_chair_for_Network_Architectures_and_Services/ip6tables-save-2016-06-27_16-29-01",
        Family::Ip6,
    ),
];

/// The same TUM rulesets loaded into the kernel by iptables-nft and listed back by nft:
/// (label, path below `shared/corpus`, IPv6, JSON). `nft list ruleset` text and
/// `nft -j list ruleset` of one ruleset each, so the two nft front ends can be compared.
pub const NFT_RULESETS: [(&str, &str, bool, bool); 4] = [
    (
        "TUM ip nft text",
        "bench/tum-iptables-save-2016-06-27.listed.nft",
        false,
        false,
    ),
    (
        "TUM ip nft JSON",
        "bench/tum-iptables-save-2016-06-27.listed.json",
        false,
        true,
    ),
    (
        "TUM ip6 nft text",
        "bench/tum-ip6tables-save-2016-06-27.listed.nft",
        true,
        false,
    ),
    (
        "TUM ip6 nft JSON",
        "bench/tum-ip6tables-save-2016-06-27.listed.json",
        true,
        true,
    ),
];

/// Parses an nft listing, text or JSON (JSON warnings are not errors here).
pub fn parse_nft(source: &SourceFile, json: bool) -> Result<Ruleset, frontends::ParseError> {
    if json {
        frontends::nft::parse_json(source).map(|(r, _)| r)
    } else {
        frontends::nft::parse_text(source)
    }
}

/// `../shared/corpus` beside the repository, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// Reads a corpus file into a `SourceFile` named by its path below the corpus.
pub fn corpus_source(relative: &str) -> Option<SourceFile> {
    let text = std::fs::read_to_string(corpus_dir()?.join(relative)).ok()?;
    Some(SourceFile::new(relative, text))
}

/// A small deterministic generator (xorshift64*): benchmarks must be repeatable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// `count` packets whose addresses, ports and interfaces are taken from the ruleset's own
/// matches (plus random ones), arriving on an interface the rules name.
pub fn varied_packets(ruleset: &Ruleset, v6: bool, count: usize, seed: u64) -> Vec<Packet> {
    let mut addrs: Vec<IpAddr> = Vec::new();
    let mut ports: Vec<u16> = vec![22, 53, 80, 443, 8080];
    let mut ifaces: Vec<String> = Vec::new();
    for rule in ruleset
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
    {
        for step in &rule.body {
            let Step::Match(m) = step else { continue };
            let Test::Cmp { key, pattern } = &m.test else {
                continue;
            };
            match (key, pattern) {
                (Key::SrcAddr | Key::DstAddr, Pattern::Prefix(net))
                    if net.addr().is_ipv6() == v6 =>
                {
                    addrs.push(net.addr())
                }
                (Key::SrcPort | Key::DstPort, Pattern::Value(Value::Int(p))) => {
                    ports.push(*p as u16)
                }
                (Key::IifName | Key::OifName, Pattern::Iface(name)) if !name.ends_with('+') => {
                    ifaces.push(name.clone())
                }
                _ => {}
            }
        }
    }
    if addrs.is_empty() {
        addrs.push(if v6 {
            "2001:db8::1".parse().unwrap()
        } else {
            "192.0.2.1".parse().unwrap()
        });
    }
    if ifaces.is_empty() {
        ifaces.push("eth0".into());
    }
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| {
            let src = addrs[rng.below(addrs.len())];
            let dst = addrs[rng.below(addrs.len())];
            let sport = 1024 + (rng.next_u64() % 60000) as u16;
            let dport = ports[rng.below(ports.len())];
            let l4 = match i % 4 {
                0 | 1 => L4::Tcp {
                    sport,
                    dport,
                    flags: TcpFlags::SYN,
                },
                2 => L4::Udp { sport, dport },
                _ if v6 => L4::Icmpv6 {
                    icmp_type: 128,
                    code: 0,
                    id: i as u16,
                },
                _ => L4::Icmp {
                    icmp_type: 8,
                    code: 0,
                    id: i as u16,
                },
            };
            let mut packet = Packet::new(src, dst, l4);
            packet.iif = Some(ifaces[rng.below(ifaces.len())].clone());
            if i % 3 == 0 {
                packet.oif = Some(ifaces[rng.below(ifaces.len())].clone());
            }
            packet.id = i as u32;
            packet
        })
        .collect()
}
