//! Unbanning on rulesets in fail2ban's real action shapes (fail2ban 1.0 `action.d`):
//! the ban goes, the connection works, and only the banned address is let back in.

use super::*;
use crate::fix::Position;
use crate::remedy::{remedies, Remedies};
use model::tool_config::ToolConfig;
use model::{Family, Host, SourceFile};

/// `iptables-multiport` for sshd with two bans, behind a default-drop INPUT that
/// accepts ssh and established traffic.
const MULTIPORT: &str = "*filter
:INPUT DROP [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A f2b-sshd -s 203.0.113.9/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
";

fn multiport() -> Ruleset {
    frontends::iptables_save::parse(&SourceFile::new("rules", MULTIPORT), Some(Family::Ip))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run(mut ruleset: Ruleset, spec: &str) -> Option<Remedies> {
    owners::recognise(&mut ruleset, &ToolConfig::default());
    let host = Host::default();
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    let packet = frontends::packet_spec::parse(&args)
        .unwrap_or_else(|e| panic!("{e}"))
        .packet;
    let options = engine::Options::default();
    let outcome = engine::simulate(&ruleset, &host, &packet, &options);
    remedies(
        &ruleset,
        &host,
        &packet,
        &outcome,
        &options,
        &ToolConfig::default(),
    )
}

fn unban(r: &Remedies) -> &crate::remedy::Remedy {
    r.ladder
        .iter()
        .find(|x| x.language == Language::Fail2banClient)
        .unwrap_or_else(|| panic!("no unban in {:?}", r.ladder))
}

#[test]
fn a_banned_address_is_unbanned_and_its_connection_then_works() {
    let rs = multiport();
    let r = run(rs, "tcp 198.51.100.7:40000 10.0.0.1:22 in eth0")
        .unwrap_or_else(|| panic!("no remedies"));
    let unban = unban(&r);
    assert_eq!(
        unban.steps,
        [Step::Run(
            "fail2ban-client set sshd unbanip 198.51.100.7".into()
        )]
    );
    assert_eq!(unban.breadth, Breadth::Cause);
    assert_eq!(
        unban.caveats,
        [FixCaveat::MayBeBannedAgain {
            jail: "sshd".into()
        }]
    );
    assert!(unban.verified(), "{:?}", unban.exchange);
    // fail2ban's `actionunban` for `iptables-multiport`: the ban rule by its specification.
    assert_eq!(
        super::removal::commands(&unban.kernel_rules),
        [(
            "iptables -D f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable",
            Position::Delete
        )]
    );
}

#[test]
fn unbanning_one_address_leaves_the_other_ban() {
    let rs = multiport();
    let (patched, _) = unbanned(
        &rs,
        "sshd",
        "198.51.100.7".parse().unwrap_or_else(|e| panic!("{e}")),
    );
    // Unrecognised rules are not bans: recognise first, as the pipeline does.
    assert_eq!(patched.tables[0].chains[1].rules.len(), 3);
    let mut recognised = rs.clone();
    owners::recognise(&mut recognised, &ToolConfig::default());
    let (patched, _) = unbanned(
        &recognised,
        "sshd",
        "198.51.100.7".parse().unwrap_or_else(|e| panic!("{e}")),
    );
    let texts: Vec<&str> = patched.tables[0].chains[1]
        .rules
        .iter()
        .map(|r| &*r.origin.text)
        .collect();
    assert_eq!(
        texts,
        [
            "-A f2b-sshd -s 203.0.113.9/32 -j REJECT --reject-with icmp-port-unreachable",
            "-A f2b-sshd -j RETURN"
        ]
    );
}

/// `nftables.conf`: the set element goes, the table stays.
#[test]
fn an_nft_set_ban_is_lifted_by_removing_the_element() {
    let src = SourceFile::new(
        "ruleset.nft",
        "table inet f2b-table {
	set addr-set-sshd {
		type ipv4_addr
		elements = { 198.51.100.7, 203.0.113.9 }
	}
	chain f2b-chain {
		type filter hook input priority filter - 1; policy accept;
		tcp dport 22 ip saddr @addr-set-sshd reject with icmp port-unreachable
	}
}
",
    );
    let rs = frontends::nft::parse_text(&src).unwrap_or_else(|e| panic!("{e}"));
    let r = run(rs, "tcp 198.51.100.7:40000 10.0.0.1:22 in eth0")
        .unwrap_or_else(|| panic!("no remedies"));
    let unban = unban(&r);
    assert_eq!(
        unban.steps,
        [Step::Run(
            "fail2ban-client set sshd unbanip 198.51.100.7".into()
        )]
    );
    assert!(unban.verified(), "{:?}", unban.exchange);
    // fail2ban's `actionunban` for `nftables`.
    assert_eq!(
        super::removal::commands(&unban.kernel_rules),
        [(
            "nft delete element inet f2b-table addr-set-sshd { 198.51.100.7 }",
            Position::Delete
        )]
    );
}

/// `nftables.conf` names the IPv6 set `addr6-set-JAIL`: its bans are lifted the same way.
#[test]
fn an_ipv6_nft_set_ban_is_lifted_too() {
    let src = SourceFile::new(
        "ruleset.nft",
        "table inet f2b-table {
	set addr6-set-sshd {
		type ipv6_addr
		elements = { 2001:db8::7 }
	}
	chain f2b-chain {
		type filter hook input priority filter - 1; policy accept;
		tcp dport 22 ip6 saddr @addr6-set-sshd reject
	}
}
",
    );
    let rs = frontends::nft::parse_text(&src).unwrap_or_else(|e| panic!("{e}"));
    let r = run(rs, "tcp [2001:db8::7]:40000 [2001:db8::1]:22 in eth0")
        .unwrap_or_else(|| panic!("no remedies"));
    let unban = unban(&r);
    assert_eq!(
        unban.steps,
        [Step::Run(
            "fail2ban-client set sshd unbanip 2001:db8::7".into()
        )]
    );
    assert!(unban.verified(), "{:?}", unban.exchange);
    assert_eq!(
        super::removal::commands(&unban.kernel_rules),
        [(
            "nft delete element inet f2b-table addr6-set-sshd { 2001:db8::7 }",
            Position::Delete
        )]
    );
}

/// `iptables-ipset-proto6`: the element leaves the ipset, as `ipset -exist del` does.
#[test]
fn an_ipset_ban_is_lifted_by_deleting_the_element() {
    let save = "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536
add f2b-sshd 198.51.100.7
";
    let rules = "*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable
COMMIT
";
    let mut rs =
        frontends::iptables_save::parse(&SourceFile::new("rules", rules), Some(Family::Ip))
            .unwrap_or_else(|e| panic!("{e}"));
    rs.ipsets = frontends::host::ipset::parse(&SourceFile::new("ipsets", save))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(rs, "tcp 198.51.100.7:40000 10.0.0.1:22 in eth0")
        .unwrap_or_else(|| panic!("no remedies"));
    let unban = unban(&r);
    assert!(unban.verified(), "{:?}", unban.exchange);
    assert_eq!(
        super::removal::commands(&unban.kernel_rules),
        [("ipset -exist del f2b-sshd 198.51.100.7", Position::Delete)]
    );
}

#[test]
fn an_address_the_jail_did_not_ban_gets_no_unban() {
    let rs = multiport();
    // Blocked by INPUT's policy (port 80), not by the jail.
    let r = run(rs, "tcp 192.0.2.1:40000 10.0.0.1:80 in eth0");
    assert!(r
        .iter()
        .flat_map(|r| &r.ladder)
        .all(|x| x.language != Language::Fail2banClient));
}
