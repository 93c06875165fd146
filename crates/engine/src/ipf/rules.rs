//! The rule lists IPFilter builds from `ipf.conf` and how one rule is tested against a
//! packet (`ipf_check_ipf` of `fil.c`).
//!
//! `ipf` puts each rule in one list: filter or accounting (`count`), `in` or `out`, the
//! main list or the group the rule names (`group 100`). Within a list the rules are in
//! collection order (a leading number, 0 first), then in the order written, except that
//! `@N` inserts a rule after the first N rules of its collection (`frrequest` in `fil.c`).

use std::collections::HashMap;
use std::net::IpAddr;

use model::expr::{Undecidable, Unmodelled};
use model::ipf::filter::{Action, Dir, IpOption, Matcher, PacketFlag};
use model::ipf::{Addr, Endpoint, FilterRule, IpFamily, IpfRules, Proto};

use super::fin::{flx, Fin, IP6EXTHDR};
use super::pool::PoolTable;

/// Which list a rule is in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListKey {
    /// `out` rules.
    pub out: bool,
    /// Accounting (`count`) rules.
    pub accounting: bool,
    /// The group; `None` for the main list.
    pub group: Option<String>,
}

/// The rules, in their lists, as indexes into `rules`.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    /// The rules as written.
    pub rules: Vec<FilterRule>,
    /// Each list's rules in evaluation order.
    pub lists: HashMap<ListKey, Vec<usize>>,
    /// The order groups were created in (for dumps), with their direction.
    pub group_order: Vec<ListKey>,
}

impl Lists {
    /// Sorts `rules` into their lists. `default_family`: the family rules without one get
    /// (ipftest `-6` loads every rule as IPv6, `use_inet6` in `ipf_y.y`).
    pub fn build(rules: &IpfRules, default_family: Option<IpFamily>) -> Lists {
        let mut lists: HashMap<ListKey, Vec<usize>> = HashMap::new();
        let mut group_order = Vec::new();
        let mut stored = Vec::with_capacity(rules.rules.len());
        for (index, rule) in rules.rules.iter().enumerate() {
            let mut rule = rule.clone();
            if rule.family.is_none() {
                rule.family = default_family;
            }
            let key = ListKey {
                out: rule.direction == Dir::Out,
                accounting: rule.action == Action::Count,
                group: rule.group.clone(),
            };
            if let Some(head) = &rule.head {
                let head_key = ListKey {
                    group: Some(head.clone()),
                    ..key.clone()
                };
                if !group_order.contains(&head_key) {
                    group_order.push(head_key);
                }
            }
            let list = lists.entry(key).or_default();
            let at = place(list, &stored, rule.collection, rule.position);
            list.insert(at, index);
            stored.push(rule);
        }
        Lists {
            rules: stored,
            lists,
            group_order,
        }
    }

    /// The list for `key` (empty when there is none).
    pub fn list(&self, key: &ListKey) -> &[usize] {
        self.lists.get(key).map_or(&[], Vec::as_slice)
    }
}

/// Where `frrequest` (`fil.c`) puts a rule of `collection` in `list`: appended
/// (`SIOCADAFR`) after the last rule of its collection or a lower one; inserted
/// (`SIOCINAFR`, `@N`: `ipf_y.y` sends `fr_hits` N) after the first N rules of its own
/// collection, counted from its collection's first rule.
fn place(list: &[usize], stored: &[FilterRule], collection: u32, position: Option<u32>) -> usize {
    let collection_of = |at: usize| stored[list[at]].collection;
    match position {
        None => (0..list.len())
            .find(|&at| collection_of(at) > collection)
            .unwrap_or(list.len()),
        Some(n) => {
            let first = (0..list.len())
                .find(|&at| collection_of(at) >= collection)
                .unwrap_or(list.len());
            let same = (first..list.len())
                .take_while(|&at| collection_of(at) == collection)
                .count();
            first + same.min(n as usize)
        }
    }
}

/// The outcome of testing one rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// It matches.
    Yes,
    /// It does not.
    No,
    /// It cannot be decided offline.
    Unknown(Undecidable),
}

/// The IPFilter bit of an IP option or IPv6 extension header (`ionames[]`, `ip6exthdr[]`).
fn option_bit(option: IpOption) -> u32 {
    match option {
        IpOption::Nop => 0x1,
        IpOption::Rr => 0x2,
        IpOption::Zsu => 0x4,
        IpOption::Mtup => 0x8,
        IpOption::Mtur => 0x10,
        IpOption::Encode => 0x20,
        IpOption::Ts => 0x40,
        IpOption::Tr => 0x80,
        IpOption::Sec => 0x100,
        IpOption::Lsrr => 0x200,
        IpOption::ESec => 0x400,
        IpOption::Cipso => 0x800,
        IpOption::Satid => 0x1000,
        IpOption::Ssrr => 0x2000,
        IpOption::Addext => 0x4000,
        IpOption::Visa => 0x8000,
        IpOption::Imitd => 0x10000,
        IpOption::Eip => 0x20000,
        IpOption::Finn => 0x40000,
        IpOption::Dps => 0x80000,
        IpOption::Sdb => 0x100000,
        IpOption::Nsapa => 0x200000,
        IpOption::Rtralrt => 0x400000,
        IpOption::Ump => 0x800000,
        IpOption::V6Header(n) => IP6EXTHDR
            .iter()
            .find(|(v, _)| *v == n)
            .map_or(0, |(_, b)| *b),
    }
}

/// The `fi_flx` bit a `with` word tests.
fn flag_bit(flag: PacketFlag) -> u32 {
    match flag {
        PacketFlag::IpOpts => flx::OPTIONS,
        PacketFlag::Short => flx::SHORT,
        PacketFlag::Frag => flx::FRAG,
        PacketFlag::FragBody => flx::FRAGBODY,
        PacketFlag::Nat => flx::NATED,
        PacketFlag::LowTtl => flx::LOWTTL,
        PacketFlag::Bad => flx::BAD,
        PacketFlag::BadSrc => flx::BADSRC,
        PacketFlag::BadNat => flx::BADNAT,
        PacketFlag::Oow => flx::OOW,
        PacketFlag::Mbcast => flx::MBCAST,
        PacketFlag::Bcast => flx::BROADCAST,
        PacketFlag::Mcast => flx::MULTICAST,
        PacketFlag::State => flx::STATE,
        PacketFlag::V6Hdrs => flx::V6EXTHDR,
    }
}

/// The IPSO class bit of a `sec-class` name (`secclass[]`).
fn sec_class_bit(name: &str) -> u16 {
    match name {
        "reserv-4" => 0x01,
        "topsecret" => 0x02,
        "secret" => 0x04,
        "reserv-3" => 0x08,
        "confid" => 0x10,
        "unclass" => 0x20,
        "reserv-2" => 0x40,
        "reserv-1" => 0x80,
        _ => 0,
    }
}

/// Whether a rule looks at this interface (`on IF`; no `on`, or `*`, is any).
pub fn interface_matches(rule: &FilterRule, interface: &str) -> bool {
    match rule.on.first() {
        None => true,
        Some(name) => name == "*" || name == interface,
    }
}

fn unknown(name: String) -> Test {
    Test::Unknown(Undecidable::Unsupported(Unmodelled {
        name,
        needs_conntrack: false,
    }))
}

/// An address test, before `!`.
fn address_matches(addr: &Addr, value: IpAddr, pools: &PoolTable, plen: i64) -> Test {
    match addr {
        Addr::Any => Test::Yes,
        Addr::Net(net) => {
            if net.contains(value) {
                Test::Yes
            } else {
                Test::No
            }
        }
        Addr::Pool { kind, name } => pools.lookup(*kind, name, value, plen),
        Addr::InlinePool(entries) => PoolTable::entries_match(entries, value),
        Addr::InlineHash(entries) => PoolTable::hash_match(entries, value),
        Addr::Host { name, .. } => unknown(format!("host {name}")),
        Addr::Interface { name, .. } => unknown(format!("address of interface {name}")),
        Addr::ThisHost => Test::Unknown(Undecidable::AddressTypeUnknown),
    }
}

fn endpoint_matches(end: &Endpoint, value: IpAddr, pools: &PoolTable, plen: i64) -> Test {
    match address_matches(&end.addr, value, pools, plen) {
        Test::Yes if end.negated => Test::No,
        Test::No if end.negated => Test::Yes,
        other => other,
    }
}

/// `ipf_check_ipf`: whether `rule` matches `fin`. `portcmp`: the transport header can
/// be compared (TCP or UDP, more than 3 bytes, not a later fragment).
pub fn rule_matches(rule: &FilterRule, fin: &Fin, portcmp: bool, pools: &PoolTable) -> Test {
    // Word 0: version, TOS, TTL, protocol.
    if let Some(family) = rule.family {
        let v = if family == IpFamily::Inet { 4 } else { 6 };
        if fin.v != v {
            return Test::No;
        }
    }
    if rule.tos.is_some_and(|t| t != fin.tos) || rule.ttl.is_some_and(|t| t != fin.ttl) {
        return Test::No;
    }
    match rule.proto {
        Some(Proto::Number(p)) if p != fin.p => return Test::No,
        Some(Proto::TcpUdp) if fin.flx & flx::TCPUDP == 0 => return Test::No,
        _ => {}
    }
    // Word 1: IP options.
    let (mut optmask, mut optwant) = (0u32, 0u32);
    for &(option, wanted) in &rule.with.options {
        let bit = option_bit(option);
        optmask |= bit;
        if wanted {
            optwant |= bit;
        }
    }
    if fin.optmsk & optmask != optwant {
        return Test::No;
    }
    // Addresses.
    let (from, to) = match &rule.matcher {
        Matcher::All => (Endpoint::any(), Endpoint::any()),
        Matcher::FromTo { from, to } => (from.clone(), to.clone()),
        Matcher::Expression(text) => return unknown(format!("exp {{ \"{text}\" }}")),
        Matcher::Bpf { .. } => return Test::Unknown(Undecidable::Bpf),
    };
    let mut pending = None;
    for (end, value) in [(&from, fin.src), (&to, fin.dst)] {
        match endpoint_matches(end, value, pools, fin.plen) {
            Test::No => return Test::No,
            Test::Unknown(u) => pending = pending.or(Some(u)),
            Test::Yes => {}
        }
    }
    // Security classes and packet flags.
    let (mut secmask, mut secwant) = (0u16, 0u16);
    for (name, wanted) in &rule.with.sec_classes {
        let bit = sec_class_bit(name);
        secmask |= bit;
        if *wanted {
            secwant |= bit;
        }
    }
    if fin.secmsk & secmask != secwant {
        return Test::No;
    }
    let (mut flxmask, mut flxwant) = (0u32, 0u32);
    for &(flag, wanted) in &rule.with.flags {
        let bit = flag_bit(flag);
        flxmask |= bit;
        if wanted {
            flxwant |= bit;
        }
    }
    if rule.proto == Some(Proto::TcpUdp) {
        flxmask |= flx::TCPUDP;
        flxwant |= flx::TCPUDP;
    }
    if fin.flx & flxmask != flxwant {
        return Test::No;
    }
    // Transport: ports and flags, or ICMP type and code.
    let has_ports = from.port.is_some() || to.port.is_some();
    if portcmp {
        if !tcp_udp_matches(rule, &from, &to, fin) {
            return Test::No;
        }
    } else {
        if has_ports || rule.tcp_flags.is_some_and(|f| f.set != 0 || f.mask != 0) {
            return Test::No;
        }
        if let Some(icmp) = rule.icmp {
            if (fin.p != 1 && fin.p != 58) || fin.off != 0 || fin.dlen < 2 {
                return Test::No;
            }
            let (mask, want) = match icmp.code {
                Some(code) => (0xffffu16, u16::from(icmp.icmp_type) << 8 | u16::from(code)),
                None => (0xff00, u16::from(icmp.icmp_type) << 8),
            };
            if fin.data0 & mask != want {
                return Test::No;
            }
        }
    }
    match pending {
        Some(u) => Test::Unknown(u),
        None => Test::Yes,
    }
}

/// `ipf_tcpudpchk`.
fn tcp_udp_matches(rule: &FilterRule, from: &Endpoint, to: &Endpoint, fin: &Fin) -> bool {
    if to.port.is_some_and(|p| !p.matches(fin.dport)) {
        return false;
    }
    if from.port.is_some_and(|p| !p.matches(fin.sport)) {
        return false;
    }
    if fin.p == 6 {
        let (set, mask) = rule.tcp_flags.map_or((0, 0), |f| (f.set, f.mask));
        if fin.flx & flx::SHORT != 0 {
            return set | mask == 0;
        }
        if mask != 0 && set != fin.tcpf & mask {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod placement_tests {
    use super::{ListKey, Lists};
    use frontends::ipf::{parse_ipf, ParseOptions};
    use model::SourceFile;

    /// The `in` list's rules, by line, in the kernel's order.
    fn order(text: &str) -> Vec<u32> {
        let rules = parse_ipf(&SourceFile::new("ipf.conf", text), &ParseOptions::default())
            .expect("rules parse");
        let lists = Lists::build(&rules, None);
        let key = ListKey {
            out: false,
            accounting: false,
            group: None,
        };
        let list = lists.list(&key);
        list.iter().map(|&i| lists.rules[i].origin.line).collect()
    }

    #[test]
    fn at_n_inserts_after_n_rules_of_its_own_collection() {
        // IPFilter's test i17, its `ipftest -D` order.
        let text = "100 pass in all\n200 pass in proto tcp all\n110 pass in proto udp all\n\
                    110 pass in from localhost to any\npass in all\n\
                    pass in from localhost to any\n@0 100 pass in from localhost to any\n\
                    @1 pass in from any to localhost\n@0 pass in from 1.1.1.1 to any\n\
                    @1 110 pass in from 2.2.2.2 to any\n@2 pass in from 3.3.3.3 to any\n";
        assert_eq!(order(text), vec![9, 5, 11, 8, 6, 7, 1, 3, 10, 4, 2]);
    }
}
