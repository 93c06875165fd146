//! fail2ban's bans, lifted in the kernel: a host whose sshd jail bans two addresses, in
//! the shapes fail2ban 1.0's actions write (`iptables-multiport`: a `f2b-sshd` chain with
//! one REJECT per address; `nftables`: an `addr-set-sshd` element looked up by
//! `f2b-chain`). whyblocked names the ban and suggests `fail2ban-client set sshd unbanip
//! ADDR`; the remedy's kernel rules (what fail2ban's `actionunban` runs) are applied in a
//! `wb` namespace; then the whole connection (SYN, SYN/ACK, data both ways) passes in the
//! kernel as the simulation says, and the other banned address is still rejected.
#![allow(clippy::print_stderr)]

use analysis::remedy::{remedies, Language, Remedy, Step};
use analysis::Position;
use model::tool_config::ToolConfig;
use model::{Family, Packet, Ruleset, SourceFile};
use oracle::exchange as kx;
use testgen::aim::Topology;
use testgen::lab::Lab;

const BANNED: &str = "198.51.100.7";
const STILL_BANNED: &str = "203.0.113.9";

/// fail2ban's `iptables-multiport` for sshd, behind a default-drop INPUT that accepts
/// ssh and established traffic.
const MULTIPORT: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A f2b-sshd -s 203.0.113.9/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
";

/// fail2ban's `nftables` action for sshd (its `actionstart` and two `actionban`s), beside
/// the host's own default-drop input.
const NFTABLES: &str = "table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp dport 22 accept
	}
}
table inet f2b-table {
	set addr-set-sshd {
		type ipv4_addr
		flags interval
		elements = { 198.51.100.7, 203.0.113.9 }
	}
	chain f2b-chain {
		type filter hook input priority filter - 1; policy accept;
		tcp dport { 22 } ip saddr @addr-set-sshd reject
	}
}
";

fn packet(spec: &str) -> Packet {
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    frontends::packet_spec::parse(&args)
        .unwrap_or_else(|e| panic!("{e}"))
        .packet
}

/// An ssh SYN from `src` to the router's wan0 address.
fn ssh_from(src: &str) -> Packet {
    packet(&format!("tcp {src}:40000 10.1.0.1:22 in wan0 flags S"))
}

fn parse(src: &SourceFile) -> Ruleset {
    let mut rs = if src.text.starts_with('*') {
        frontends::iptables_save::parse(src, Some(Family::Ip))
    } else {
        frontends::nft::parse_text(src)
    }
    .unwrap_or_else(|e| panic!("{e}"));
    owners::recognise(&mut rs, &ToolConfig::default());
    rs
}

/// The unban whyblocked suggests for `BANNED`'s ssh connection on `rs`.
fn suggested_unban(lab: &Lab, rs: &Ruleset) -> Remedy {
    let syn = ssh_from(BANNED);
    let options = engine::Options::default();
    let outcome = engine::simulate(rs, &lab.host, &syn, &options);
    let found = remedies(
        rs,
        &lab.host,
        &syn,
        &outcome,
        &options,
        &ToolConfig::default(),
    )
    .unwrap_or_else(|| panic!("no remedies for the banned SYN"));
    let unban = found
        .ladder
        .iter()
        .find(|r| r.language == Language::Fail2banClient)
        .unwrap_or_else(|| panic!("no unban in {:?}", found.ladder))
        .clone();
    assert_eq!(
        unban.steps,
        [Step::Run(format!(
            "fail2ban-client set sshd unbanip {BANNED}"
        ))]
    );
    assert!(unban.verified(), "{:?}", unban.exchange);
    assert!(!unban.kernel_rules.is_empty(), "{unban:?}");
    assert!(unban
        .kernel_rules
        .iter()
        .all(|k| k.position == Position::Delete));
    unban
}

/// Loads `src`, checks the kernel rejects the banned SYN, applies the unban's kernel
/// rules and runs the whole exchange: it works and agrees with the simulation; the other
/// ban still holds. The kernel rules applied, for the log.
fn unban_in_the_kernel(lab: &mut Lab, src: SourceFile) -> Vec<String> {
    let rs = parse(&src);
    lab.load(&[(src, Family::Ip)]).expect("kernel loads");
    kx::add_endpoints(&lab.oracle).expect("endpoint table");
    let syn = ssh_from(BANNED);
    let before = kx::run(&mut lab.oracle, &rs, &syn).expect("kernel exchange");
    assert!(
        !before.works() && before.steps.len() == 1,
        "the kernel let the banned SYN through: {:?}",
        before.steps.first().map(|s| &s.walk.fate)
    );
    let unban = suggested_unban(lab, &rs);
    kx::apply(&mut lab.oracle, &unban.kernel_rules).expect("the kernel takes the unban");
    let after = kx::run(&mut lab.oracle, &rs, &syn).expect("kernel exchange");
    let simulated = unban.exchange.as_ref().expect("simulated exchange");
    let agreement = kx::compare(simulated, &after);
    assert!(
        after.works(),
        "the connection still fails in the kernel: {:?}",
        after.first_failure().map(|s| (s.role, &s.walk.fate))
    );
    assert!(agreement.agree(), "{agreement:?}");
    let other = kx::run(&mut lab.oracle, &rs, &ssh_from(STILL_BANNED)).expect("kernel");
    assert!(
        !other.works() && other.steps.len() == 1,
        "the unban lifted {STILL_BANNED}'s ban too"
    );
    unban
        .kernel_rules
        .iter()
        .map(|k| k.command.clone())
        .collect()
}

#[test]
fn fail2ban_unban_applied_in_the_kernel_lets_the_whole_connection_through() {
    let test = "fail2ban_unban_applied_in_the_kernel_lets_the_whole_connection_through";
    if !testgen::kernel_tests::kernel_tests_enabled(test) {
        return;
    }
    let mut lab = Lab::new(Topology::lab()).expect("test host");
    kx::silence_peers(&lab.oracle).expect("silent peers");
    let multiport = unban_in_the_kernel(&mut lab, SourceFile::new("rules.v4", MULTIPORT));
    assert_eq!(
        multiport,
        [format!(
            "iptables -D f2b-sshd -s {BANNED}/32 -j REJECT --reject-with icmp-port-unreachable"
        )]
    );
    let nft = unban_in_the_kernel(&mut lab, SourceFile::new("ruleset.nft", NFTABLES));
    assert_eq!(
        nft,
        [format!(
            "nft delete element inet f2b-table addr-set-sshd {{ {BANNED} }}"
        )]
    );
    drop(lab);
    testgen::kernel_tests::assert_no_namespaces_of_this_process();
}

/// `whyblocked verify --fix` on the banned SYN: the unban's removal is applied in the test
/// host and the whole exchange passes (exit 0, `VERIFIED`).
#[test]
fn verify_fix_applies_the_unban() {
    let test = "verify_fix_applies_the_unban";
    if !testgen::kernel_tests::kernel_tests_enabled(test) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("wbf2b-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = dir.join("rules.v4");
    std::fs::write(&rules, MULTIPORT).expect("rules file");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(["verify", "--fix", "--rules"])
        .arg(&rules)
        .args(format!("tcp {BANNED}:40000 10.1.0.1:22 in wan0").split_whitespace())
        .output()
        .expect("whyblocked runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "fix (fail2ban)\n  fail2ban-client set sshd unbanip {BANNED}\n\
             applied in the test host as the rules it makes\n  \
             iptables -D f2b-sshd -s {BANNED}/32 -j REJECT"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("VERIFIED  the whole exchange passes in the kernel"),
        "{stdout}"
    );
}
