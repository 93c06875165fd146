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
