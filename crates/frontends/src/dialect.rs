//! Which rules language a file is written in, told from its content (not its name): hosts
//! mix them (Docker's iptables-nft tables beside firewalld's `inet firewalld`), and users
//! pass whatever `iptables-save`, `nft list ruleset` or `nft -j list ruleset` printed.
//!
//! ```text
//! {"nftables": [...]}                   -> NftJson
//! table inet filter {   / add table ... -> NftText   (also `flush ruleset`, `define`, `include`)
//! *filter  / :INPUT ACCEPT / -A INPUT   -> Iptables
//! ```

pub use model::note::DialectReason;
pub use model::Dialect;

/// Whether *every* line of `text` is iptables-save output: a `*table` line, then only
/// `:CHAIN POLICY` lines, commands, `[p:b]` counters and COMMIT (comments and blank lines
/// aside). Stricter than the loader's detector, which decides from the first telling line:
/// used to pick iptables-save files out of a directory of mixed files (transcripts,
/// `iptables -L` listings, test files) by content rather than by name.
pub fn is_iptables_save(text: &str) -> bool {
    let mut seen_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(table) = line.strip_prefix('*') {
            if !["raw", "mangle", "nat", "filter", "security"].contains(&table) {
                return false;
            }
            seen_table = true;
        } else if !seen_table {
            return false;
        } else if let Some(chain) = line.strip_prefix(':') {
            let policy = chain.split_whitespace().nth(1);
            if !matches!(policy, Some("ACCEPT" | "DROP" | "-")) {
                return false;
            }
        } else if !(line.starts_with('-') || line.starts_with('[') || line == "COMMIT") {
            return false;
        }
    }
    seen_table
}

/// The dialect of `text` and what told it (the first telling line), or `None` when no line
/// says (an empty file, comments only).
pub fn detect(text: &str) -> Option<(Dialect, DialectReason)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // A JSON document: `nft -j` wraps everything in {"nftables": [...]}.
        let head: String = trimmed.chars().take(4096).collect();
        if head.contains("\"nftables\"") {
            return Some((Dialect::NftJson, DialectReason::JsonObject));
        }
    }
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = l.split_whitespace().collect();
        let first = words.first().copied().unwrap_or("");
        let nft = match first {
            "table" | "flush" | "define" | "include" | "destroy" => true,
            "add" | "create" | "insert" | "delete" | "replace" => matches!(
                words.get(1).copied(),
                Some("table" | "chain" | "rule" | "set" | "map" | "element" | "flowtable")
            ),
            _ => false,
        };
        let reason = || DialectReason::Line {
            number: i + 1,
            text: l.to_string(),
        };
        if nft {
            return Some((Dialect::NftText, reason()));
        }
        if l.starts_with('*') || l.starts_with(':') || l.starts_with("-A ") || l == "COMMIT" {
            return Some((Dialect::Iptables, reason()));
        }
    }
    None
}

/// A rules language of the BSD and Solaris packet filters, told from a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BsdLanguage {
    /// IPFilter's filter rules (`ipf.conf`).
    Ipf,
    /// IPFilter's NAT rules (`ipnat.conf`).
    Ipnat,
    /// IPFilter's address pools (`ippool.conf`).
    Ippool,
    /// pf's `pf.conf`.
    Pf,
    /// What `pfctl -sr -v[v]` lists: pf rules with `@N` numbers and `[ Evaluations: …]`
    /// counters.
    PfListing,
    /// Filter rules only, every one of them valid in both `ipf.conf` and `pf.conf`
    /// (`block in quick on lo0 proto tcp from any to any port = 22`): the platform or
    /// `--format` has to say which.
    IpfOrPf,
}

/// What one line tells about a BSD rules file.
enum LineTells {
    /// This language.
    Language(BsdLanguage),
    /// A Linux dialect's line: the file is not a BSD one.
    Linux,
    /// Nothing (an unknown word, a continuation).
    Nothing,
}

/// The BSD language of `text` and the first line that told it; `None` when the file is a
/// Linux dialect's or no line says. A file whose filter rules read the same in ipf.conf
/// and pf.conf is [`BsdLanguage::IpfOrPf`], told by its first rule. Run before
/// [`detect`]: pf's `table <name>` and `include` would read as nft there.
pub fn detect_bsd(text: &str) -> Option<(BsdLanguage, DialectReason)> {
    let mut either = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let reason = || DialectReason::Line {
            number: i + 1,
            text: line.trim().to_string(),
        };
        match line_tells(l) {
            LineTells::Language(BsdLanguage::IpfOrPf) => {
                either.get_or_insert_with(reason);
            }
            LineTells::Language(language) => return Some((language, reason())),
            LineTells::Linux => return None,
            LineTells::Nothing => {}
        }
    }
    either.map(|reason| (BsdLanguage::IpfOrPf, reason))
}

/// pf.conf's `set` options (pf.conf(5) OPTIONS; `pfctl/parse.y` `option`).
const PF_SET_OPTIONS: &[&str] = &[
    "skip",
    "block-policy",
    "state-policy",
    "limit",
    "timeout",
    "optimization",
    "loginterface",
    "ruleset-optimization",
    "state-defaults",
    "debug",
    "reassemble",
    "fingerprints",
    "hostid",
    "require-order",
    "syncookies",
    "keepcounters",
    "fail-policy",
];

/// Words that only a pf filter rule has (pf.conf(5) PACKET FILTERING, TRANSLATION).
const PF_RULE_WORDS: &[&str] = &[
    "drop",
    "return",
    "return-icmp6",
    "nat-to",
    "rdr-to",
    "binat-to",
    "af-to",
    "modulate",
    "synproxy",
    "label",
    "tagged",
    "received-on",
    "probability",
    "route-to",
    "divert-to",
    "divert-packet",
    "max-mss",
    "allow-opts",
    "rtable",
    "urpf-failed",
    "no-route",
    "self",
    "egress",
    "user",
    "set",
    "once",
    "icmp6-type",
    "no",
];

/// Words that only an IPFilter filter rule has (ipf.conf(5); `tools/ipf_y.y`).
const IPF_RULE_WORDS: &[&str] = &[
    "head",
    "group",
    "frags",
    "with",
    "not",
    "opt",
    "mask",
    "first",
    "body",
    "or-block",
    "level",
    "out-via",
    "in-via",
    "fastroute",
    "return-icmp-as-dest",
    "match-tag",
    "set-tag",
    "eq",
    "ne",
    "lt",
    "gt",
    "le",
    "ge",
];

fn line_tells(l: &str) -> LineTells {
    let words: Vec<&str> = l.split_whitespace().collect();
    // A rule number (`@3 pass in ...`): ipf.conf takes one, `pfctl -sr -vv` lists them.
    match words.first() {
        Some(w) if w.starts_with('@') && w[1..].bytes().all(|b| b.is_ascii_digit()) => {
            match words_tell(l, &words[1..]) {
                LineTells::Language(BsdLanguage::Pf) => LineTells::Language(BsdLanguage::PfListing),
                other => other,
            }
        }
        _ => words_tell(l, &words),
    }
}

/// What a line's words (without a rule number) tell.
fn words_tell(l: &str, words: &[&str]) -> LineTells {
    use BsdLanguage::*;
    let first = words.first().copied().unwrap_or("");
    let second = words.get(1).copied().unwrap_or("");
    if l.starts_with('*') || l.starts_with(':') || l.starts_with("-A ") || l == "COMMIT" {
        return LineTells::Linux;
    }
    match first {
        "[" if second == "Evaluations:" => LineTells::Language(PfListing),
        "set" if second == "intercept_loopback" => LineTells::Language(Ipf),
        "set" if PF_SET_OPTIONS.contains(&second) => LineTells::Language(Pf),
        "table" if second.starts_with('<') => LineTells::Language(Pf),
        "table" if matches!(second, "role" | "name" | "number" | "type") => {
            LineTells::Language(Ippool)
        }
        "table" | "add" | "create" | "insert" | "delete" | "replace" | "flush" | "define"
        | "destroy" => LineTells::Linux,
        "pool" | "role" => LineTells::Language(Ippool),
        "anchor" | "load" | "match" | "scrub" | "antispoof" | "altq" | "queue" | "nat"
        | "binat" | "nat-anchor" | "rdr-anchor" | "binat-anchor" | "no" => LineTells::Language(Pf),
        "rdr"
            if matches!(
                second,
                "on" | "pass" | "log" | "inet" | "inet6" | "proto" | "from"
            ) =>
        {
            LineTells::Language(Pf)
        }
        "rdr" | "map" | "map-block" | "bimap" | "rewrite" | "divert" | "encap" => {
            LineTells::Language(Ipnat)
        }
        "count" | "skip" | "auth" | "preauth" | "call" | "log" => LineTells::Language(Ipf),
        _ if second == "=" && is_macro_name(first) => LineTells::Language(Pf),
        "pass" | "block" => filter_rule_tells(l, &words[1..]),
        _ => LineTells::Nothing,
    }
}

/// A `pass`/`block` rule: pf's or IPFilter's by the words only one of them has.
fn filter_rule_tells(l: &str, rest: &[&str]) -> LineTells {
    use BsdLanguage::*;
    let table = |w: &&str| w.len() > 2 && w.starts_with('<') && w.ends_with('>');
    if l.contains('$') || rest.iter().any(table) {
        return LineTells::Language(Pf);
    }
    // IPFilter needs the direction; pf takes `pass`, `block all`, `pass quick on ...`.
    if !matches!(rest.first().copied(), Some("in" | "out" | "return-rst"))
        && !rest.first().is_some_and(|w| w.starts_with("return-icmp"))
    {
        return LineTells::Language(Pf);
    }
    for pair in rest.windows(2) {
        // ICMP type names differ: IPFilter's `echo`, `routerad`, `timest` are pf's
        // `echoreq`, `routeradv`, `timereq` (ipf.conf(5); pf.conf(5) `icmp-type`).
        if pair[0] == "icmp-type" {
            match pair[1] {
                "echo" | "routerad" | "timest" | "timestrep" => return LineTells::Language(Ipf),
                "echoreq" | "routeradv" | "timereq" | "timerep" => return LineTells::Language(Pf),
                _ => {}
            }
        }
    }
    for w in rest {
        let bare = w.split('(').next().unwrap_or(w);
        if PF_RULE_WORDS.contains(&bare) {
            return LineTells::Language(Pf);
        }
        if IPF_RULE_WORDS.contains(&bare) || w.contains('/') && w.starts_with("tcp") {
            return LineTells::Language(Ipf);
        }
    }
    LineTells::Language(IpfOrPf)
}

/// A pf macro's name: letters, digits and `_`, not starting with a digit.
fn is_macro_name(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_by_its_first_telling_line() {
        let d = |t: &str| detect(t).map(|(d, _)| d);
        assert_eq!(
            d("# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
            Some(Dialect::Iptables)
        );
        assert_eq!(
            d("table inet filter { # handle 2\n}\n"),
            Some(Dialect::NftText)
        );
        assert_eq!(
            d("#!/usr/sbin/nft -f\nflush ruleset\n"),
            Some(Dialect::NftText)
        );
        assert_eq!(
            d("add table ip t\nadd chain ip t c\n"),
            Some(Dialect::NftText)
        );
        assert_eq!(
            d("{\"nftables\": [{\"metainfo\": {}}]}"),
            Some(Dialect::NftJson)
        );
        assert_eq!(d("# nothing\n\n"), None);
        assert_eq!(d("{\"other\": 1}"), None);
    }
    #[test]
    fn bsd_languages_by_their_first_telling_line() {
        use BsdLanguage::*;
        let d = |t: &str| detect_bsd(t).map(|(d, _)| d);
        assert_eq!(
            d("# ipf.conf\npass in all\nblock in quick on lo0 proto tcp from any to any port = 22 head 10\n"),
            Some(Ipf)
        );
        assert_eq!(d("set intercept_loopback true;\n"), Some(Ipf));
        assert_eq!(d("block return-icmp-as-dest(3) in on e0 all\n"), Some(Ipf));
        assert_eq!(
            d("pass in proto tcp/udp from any to any port = 53\n"),
            Some(Ipf)
        );
        assert_eq!(
            d("map le0 10.0.0.0/8 -> 192.0.2.1/32 portmap tcp/udp auto\n"),
            Some(Ipnat)
        );
        assert_eq!(
            d("rdr le0 192.0.2.10/32 port 80 -> 10.0.0.5 port 8080 tcp\n"),
            Some(Ipnat)
        );
        assert_eq!(
            d("table role = ipf type = tree number = 100\n{ 1.1.1.1/32; };\n"),
            Some(Ippool)
        );
        assert_eq!(
            d("pool ipf/tree (name bad;) { 10.0.0.0/8; };\n"),
            Some(Ippool)
        );
        assert_eq!(d("ext_if = \"em0\"\npass in on $ext_if\n"), Some(Pf));
        assert_eq!(d("set skip on lo\nblock return\n"), Some(Pf));
        assert_eq!(d("table <bad> persist { 192.0.2.1 }\n"), Some(Pf));
        assert_eq!(
            d("rdr on em0 proto tcp to port 80 -> 10.0.0.5 port 8080\n"),
            Some(Pf)
        );
        assert_eq!(
            d("pass in on em0 proto tcp to port 443 rdr-to 10.0.0.5\n"),
            Some(Pf)
        );
        assert_eq!(
            d("@0 block drop in all\n  [ Evaluations: 0 Packets: 0 ]\n"),
            Some(PfListing)
        );
        assert_eq!(d("@1 pass in quick on lo0 all head 10\n"), Some(Ipf));
        assert_eq!(
            d("block in quick on lo0 proto tcp from any to any port = 22\n"),
            Some(IpfOrPf)
        );
        assert_eq!(
            d("pass in proto tcp from any to any port 1000 >< 2000\n"),
            Some(IpfOrPf)
        );
        assert_eq!(d("block in from <bad> to any\n"), Some(Pf));
        assert_eq!(
            d("pass in quick on em0 proto tcp to port 22 no state\n"),
            Some(Pf)
        );
        assert_eq!(
            d("pass in quick proto icmp all icmp-type echo keep state\n"),
            Some(Ipf)
        );
        assert_eq!(
            d("pass in quick inet proto icmp icmp-type echoreq\n"),
            Some(Pf)
        );
    }

    #[test]
    fn linux_files_are_not_bsd() {
        let d = |t: &str| detect_bsd(t).map(|(d, _)| d);
        assert_eq!(d("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), None);
        assert_eq!(d("table inet filter {\n}\n"), None);
        assert_eq!(d("flush ruleset\n"), None);
        assert_eq!(d("{\"nftables\": []}"), None);
        assert_eq!(d("# nothing\n"), None);
    }
}
