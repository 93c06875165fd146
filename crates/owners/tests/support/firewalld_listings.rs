//! Reading firewalld's recorded test-suite listings (`../shared/corpus/firewalld`): shared
//! by the owners and the remedy tests (included with `#[path]`).

#![allow(dead_code)]

use model::tool_config::ToolConfig;
use model::SourceFile;
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/firewalld"
);

pub fn corpus() -> Option<PathBuf> {
    let p = Path::new(CORPUS);
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        eprintln!("SKIP: firewalld corpus not found at {CORPUS} (a fresh clone has no shared/)");
        None
    }
}

/// One recorded listing: (file, line, kind, args, expected text).
pub struct Block {
    pub file: String,
    pub line: u64,
    pub kind: String,
    pub args: Vec<String>,
    pub expected: String,
}

pub fn blocks(dir: &Path) -> Vec<Block> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("extracted_testsuite_expectations"))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|e| e.unwrap_or_else(|e| panic!("{e}")).path())
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        for b in json["blocks"].as_array().into_iter().flatten() {
            out.push(Block {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                line: b["line"].as_u64().unwrap_or(0),
                kind: b["kind"].as_str().unwrap_or("").to_string(),
                args: b["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
                expected: b["expected"].as_str().unwrap_or("").to_string(),
            });
        }
    }
    out
}

/// A one-chain listing as a loadable ruleset: the chains it jumps to, which `nft list
/// chain` does not print, declared empty inside its table.
pub fn loadable(listing: &str) -> String {
    let mut targets: Vec<&str> = listing
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "jump" || w[0] == "goto")
        .map(|w| w[1])
        .collect();
    targets.sort();
    targets.dedup();
    let listing = with_icmp_type(listing);
    let listing = listing.as_str();
    let declared = |t: &str| listing.contains(&format!("chain {t} {{"));
    let stubs: String = targets
        .iter()
        .filter(|t| !declared(t))
        .map(|t| format!("    chain {t} {{\n    }}\n"))
        .collect();
    match listing.rfind('}') {
        Some(end) => format!("{}{stubs}}}", &listing[..end]),
        None => listing.to_string(),
    }
}

/// A listing whose text the extraction left with the macro's placeholders (`$2 dnl`).
pub fn templated(b: &Block) -> bool {
    b.expected.contains('$') || b.args.iter().any(|a| a.starts_with('$'))
}

/// Undoes the test suite's `NFT_LIST_RULES_NORMALIZE` (src/tests/functions.at), which turns
/// `icmp type echo-request` into `icmp echo-request` for comparison: nft itself needs the
/// `type`.
fn with_icmp_type(listing: &str) -> String {
    listing
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mut out: Vec<&str> = Vec::new();
            for (i, w) in words.iter().enumerate() {
                out.push(w);
                let next = words.get(i + 1).copied().unwrap_or("");
                let prev = if i > 0 { words[i - 1] } else { "" };
                if (*w == "icmp" || *w == "icmpv6")
                    && prev != "with"
                    && !["type", "code", ""].contains(&next)
                {
                    out.push("type");
                }
            }
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The packaged configuration of `subdirs` (`zones`, `services`, `policies`) where
/// firewalld keeps it: `/usr/lib/firewalld/{subdir}/NAME.xml`.
pub fn packaged_config(dir: &Path, subdirs: &[&str]) -> ToolConfig {
    let mut files = Vec::new();
    for sub in subdirs {
        for e in std::fs::read_dir(dir.join("config").join(sub)).unwrap_or_else(|e| panic!("{e}")) {
            let path = e.unwrap_or_else(|e| panic!("{e}")).path();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            let name = format!(
                "/usr/lib/firewalld/{sub}/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            files.push(SourceFile::new(name, text));
        }
    }
    ToolConfig { files }
}

/// The chain blocks of a recorded listing (`chain NAME { ... }`), for assembling a table.
pub fn chain_blocks(dir: &Path, file: &str, line: u64) -> String {
    let b = blocks(dir)
        .into_iter()
        .find(|b| b.file == file && b.line == line)
        .unwrap_or_else(|| panic!("{file}:{line} not recorded"));
    let start = b
        .expected
        .find("chain ")
        .unwrap_or_else(|| panic!("{file}:{line}"));
    let end = b.expected.rfind('}').unwrap_or(b.expected.len());
    b.expected[start..end].to_string()
}

/// firewalld 2.x forwarding between zone public (foobar0, the default zone) and zone
/// internal (foobar1), with policy `foobar` from internal to public
/// (`features/policy_dispatch_zone_to_zone.at`): `filter_FORWARD` as the basic layout
/// records it, under the hook `nftables.py` declares (forward, priority filter + 10), and
/// every dispatch and zone-pair chain as recorded; policy foobar's chains as
/// `build_policy_chain_rules` declares them, empty; the zone chains empty.
pub fn forwarding_host_source(dir: &Path) -> SourceFile {
    let file = "features__policy_dispatch_zone_to_zone.json";
    let forward = chain_blocks(dir, "features__policy_dispatch_basic_layout.json", 116).replacen(
        "chain filter_FORWARD {",
        "chain filter_FORWARD {\n        type filter hook forward priority filter + 10; policy accept;",
        1,
    );
    let mut chains = vec![forward];
    chains.extend(
        [126, 135, 144, 153, 161, 170, 178]
            .iter()
            .map(|line| chain_blocks(dir, file, *line)),
    );
    let subs = ["pre", "log", "deny", "allow", "post"];
    chains.push(format!(
        "chain filter_FWD_policy_foobar {{\n{}    }}",
        subs.iter()
            .map(|s| format!("        jump filter_FWD_policy_foobar_{s}\n"))
            .collect::<String>()
    ));
    chains.extend(
        subs.iter()
            .map(|s| format!("chain filter_FWD_policy_foobar_{s} {{\n    }}")),
    );
    let text = format!(
        "table inet firewalld {{\n    {}\n}}\n",
        chains.join("\n    ")
    );
    SourceFile::new("firewalld.nft", loadable(&text))
}

/// [`forwarding_host_source`], parsed.
pub fn forwarding_host(dir: &Path) -> model::Ruleset {
    let source = forwarding_host_source(dir);
    frontends::nft::parse_text(&source).unwrap_or_else(|e| panic!("{e}\n{}", source.text))
}

/// A packet from the command line's words (`tcp 192.0.2.10:40000 192.0.2.1:443 in foobar0`).
pub fn packet(spec: &str) -> model::Packet {
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    let spec = frontends::packet_spec::parse(&args).unwrap_or_else(|e| panic!("{e}"));
    let mut p = spec.packet;
    p.iif = p.iif.or(spec.given_in);
    p.oif = p.oif.or(spec.given_out);
    p
}

/// One line of a recorded `iptables -n -L CHAIN` listing (`ACCEPT 6 -- 0.0.0.0/0
/// 0.0.0.0/0 tcp dpt:22`, after the suite's `IPTABLES_LIST_RULES_NORMALIZE`) as
/// `iptables-save` prints the rule: `-A CHAIN -p tcp -m tcp --dport 22 -j ACCEPT`. Only
/// the matches firewalld's listings here use (protocol, addresses, `dpt:`, `icmptype`,
/// `ctstate`, `reject-with`); the listing shows no interfaces.
pub fn iptables_save_line(chain: &str, listed: &str) -> String {
    let words: Vec<&str> = listed.split_whitespace().collect();
    let [target, proto, _, src, dst, rest @ ..] = words.as_slice() else {
        panic!("not a listing line: {listed}");
    };
    let mut out = vec![format!("-A {chain}")];
    for (flag, addr) in [("-s", src), ("-d", dst)] {
        if !["0.0.0.0/0", "::/0"].contains(addr) {
            let len = if addr.contains(':') { "/128" } else { "/32" };
            let suffix = if addr.contains('/') { "" } else { len };
            out.push(format!("{flag} {addr}{suffix}"));
        }
    }
    match *proto {
        "0" => {}
        "1" => out.push("-p icmp".into()),
        "6" => out.push("-p tcp".into()),
        "17" => out.push("-p udp".into()),
        "58" => out.push("-p ipv6-icmp".into()),
        other => panic!("protocol {other} in {listed}"),
    }
    let mut reject_with = None;
    let mut i = 0;
    while i < rest.len() {
        match (rest[i], rest.get(i + 1)) {
            ("tcp" | "udp", Some(dpt)) => {
                let port = dpt
                    .strip_prefix("dpt:")
                    .unwrap_or_else(|| panic!("{listed}"));
                out.push(format!("-m {0} --dport {port}", rest[i]));
            }
            ("icmptype", Some(t)) => out.push(format!("-m icmp --icmp-type {t}")),
            ("ctstate", Some(s)) => out.push(format!("-m conntrack --ctstate {s}")),
            ("reject-with", Some(w)) => reject_with = Some(*w),
            _ => panic!("unread match in {listed}"),
        }
        i += 2;
    }
    out.push(format!("-j {target}"));
    if let Some(w) = reject_with {
        out.push(format!("--reject-with {w}"));
    }
    out.join(" ")
}

/// The `iptables-save` lines of the recorded listing of `chain` at `file:line`, its zone
/// renamed from `from` to `to`.
pub fn iptables_chain(dir: &Path, file: &str, line: u64, from: &str, to: &str) -> Vec<String> {
    let b = blocks(dir)
        .into_iter()
        .find(|b| b.file == file && b.line == line)
        .unwrap_or_else(|| panic!("{file}:{line} not recorded"));
    let chain = b.args[1].replace(from, to);
    b.expected
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| iptables_save_line(&chain, &l.replace(from, to)))
        .collect()
}
