//! fail2ban's objects in the shapes its actions write (fail2ban 1.0 `config/action.d`:
//! `iptables-multiport.conf`, `iptables-ipset-proto6.conf`, `nftables.conf`).

use super::*;
use model::owner::Fail2banRole;
use model::{Family, SourceFile};

/// `iptables-multiport` for jail sshd after `actionstart` and two bans (`actionban`
/// inserts `-I f2b-sshd 1 -s <ip> -j REJECT --reject-with icmp-port-unreachable`).
const MULTIPORT: &str = "*filter
:INPUT ACCEPT [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A f2b-sshd -s 203.0.113.9/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
";

fn iptables(text: &str) -> Ruleset {
    frontends::iptables_save::parse(&SourceFile::new("rules", text), Some(Family::Ip))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn role(rule: &model::Rule) -> Option<Role> {
    rule.origin
        .owner
        .as_ref()
        .filter(|o| o.tool == Tool::Fail2ban)
        .map(|o| o.role.clone())
}

fn jail(j: &str) -> Option<Role> {
    Some(Role::Fail2ban(Fail2banRole::Jail(j.into())))
}

#[test]
fn a_multiport_ban_is_a_ban_of_its_address_in_its_jail() {
    let mut rs = iptables(MULTIPORT);
    crate::recognise(&mut rs, &ToolConfig::default());
    let t = &rs.tables[0];
    let f2b = &t.chains[t.chain("f2b-sshd").unwrap_or(0)];
    assert_eq!(
        role(&f2b.rules[1]),
        Some(Role::Fail2ban(Fail2banRole::Ban {
            jail: "sshd".into(),
            address: "198.51.100.7".parse().unwrap_or_else(|e| panic!("{e}")),
        }))
    );
    assert_eq!(role(&f2b.rules[2]), jail("sshd"));
    let input = &t.chains[t.chain("INPUT").unwrap_or(0)];
    assert_eq!(role(&input.rules[0]), jail("sshd"));
    // INPUT itself is not fail2ban's.
    assert_ne!(
        input.origin.owner.as_ref().map(|o| &o.tool),
        Some(&Tool::Fail2ban)
    );
}

#[test]
fn an_ipset_lookup_rule_belongs_to_its_jail() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n";
    let mut rs = iptables(text);
    let ipset = SourceFile::new(
        "ipset.txt",
        "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\nadd f2b-sshd 203.0.113.9 timeout 512\n",
    );
    rs.ipsets = frontends::host::ipset::parse(&ipset).unwrap_or_else(|e| panic!("{e}"));
    crate::recognise(&mut rs, &ToolConfig::default());
    assert_eq!(role(&rs.tables[0].chains[0].rules[0]), jail("sshd"));
    assert_eq!(
        rs.ipsets[0].origin.owner.as_ref().map(|o| o.role.clone()),
        jail("sshd")
    );
}

/// `nftables.conf`'s actionstart for jail sshd (`table inet f2b-table`, set
/// `addr-set-sshd`, `f2b-chain` at `priority filter - 1`), as `nft list ruleset` shows it.
#[test]
fn the_nftables_action_table_and_its_lookup_belong_to_the_jail() {
    let src = SourceFile::new(
        "ruleset.nft",
        "table inet f2b-table {
	set addr-set-sshd {
		type ipv4_addr
		elements = { 203.0.113.9 }
	}
	chain f2b-chain {
		type filter hook input priority filter - 1; policy accept;
		tcp dport 22 ip saddr @addr-set-sshd reject with icmp port-unreachable
	}
}
",
    );
    let mut rs = frontends::nft::parse_text(&src).unwrap_or_else(|e| panic!("{e}"));
    crate::recognise(&mut rs, &ToolConfig::default());
    let t = &rs.tables[0];
    assert_eq!(
        t.origin.owner.as_ref().map(|o| &o.tool),
        Some(&Tool::Fail2ban)
    );
    assert_eq!(role(&t.chains[0].rules[0]), jail("sshd"));
    assert_eq!(
        t.sets[0].origin.owner.as_ref().map(|o| o.role.clone()),
        jail("sshd")
    );
}
