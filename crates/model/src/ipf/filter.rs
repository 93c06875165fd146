//! `ipf.conf` filter rules, as `ipf` loads them.

use std::net::IpAddr;

use super::{Endpoint, IpFamily, Proto};
use crate::Origin;

/// The rules of one `ipf.conf` (or of several files loaded in order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpfRules {
    /// The rules in the order they were written, after list expansion. The kernel's order
    /// within a group follows [`FilterRule::collection`] and [`FilterRule::position`].
    pub rules: Vec<FilterRule>,
    /// The kernel tunables the file sets before its rules (`set intercept_loopback true;`).
    pub tunables: Vec<Tunable>,
}

/// `set NAME VALUE;`: a kernel tunable `ipf` sets as it loads the file (what `ipf -T`
/// sets), e.g. illumos' `intercept_loopback`, which makes loopback traffic filtered.
#[derive(Debug, Clone, PartialEq)]
pub struct Tunable {
    /// Where it was written.
    pub origin: Origin,
    /// The tunable's name as written.
    pub name: String,
    /// Its value.
    pub value: TunableValue,
}

/// A tunable's value: a number, or `true`/`false` (which `ipf` sets as 1 and 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunableValue {
    /// A decimal or hex number.
    Number(u32),
    /// `true` or `false`.
    Bool(bool),
}

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `pass`.
    Pass,
    /// `block`, maybe answering the sender.
    Block(Option<BlockReturn>),
    /// `log`: logs, the verdict so far stands.
    Log,
    /// `count`: an accounting rule, the verdict so far stands.
    Count,
    /// `skip N`: the next N rules are skipped.
    Skip(u32),
    /// `auth`: the packet is held for a user-space authenticator.
    Auth,
    /// `preauth`: passes only if the authenticator already allowed it.
    Preauth,
    /// `nomatch`: makes the packet not match (undoes an earlier match).
    Nomatch,
    /// `decapsulate`.
    Decapsulate,
    /// `call [now] FUNCTION/ARG`: a kernel function decides (e.g. `srcgrpmap/100`
    /// jumps to a group chosen by a group-map pool).
    Call {
        /// `call now`: the function runs at once, not only if this is the last match.
        now: bool,
        /// The function's name.
        function: String,
        /// Its argument (a pool number for the group-map functions).
        arg: u32,
    },
}

/// What a `block` sends back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReturn {
    /// `return-rst`: a TCP reset.
    Rst,
    /// `return-icmp[(code)]` / `return-icmp-as-dest[(code)]`: an ICMP destination
    /// unreachable.
    Icmp {
        /// The unreachable code written; `None` when not written (the kernel sends
        /// code 0, network unreachable, or its ICMPv6 counterpart).
        code: Option<u8>,
        /// `-as-dest`: sent from the blocked packet's destination.
        as_dest: bool,
    },
}

/// How a rule logs (`log body first or-block level auth.info`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// `body`: the first bytes of the payload are logged too.
    pub body: bool,
    /// `first`: only the first packet of a state entry is logged.
    pub first: bool,
    /// `or-block`: the packet is blocked if it cannot be logged.
    pub or_block: bool,
    /// `level FACILITY.PRIORITY` (or just a priority): the syslog level `ipmon` uses.
    pub level: Option<LogLevel>,
}

/// A syslog facility and priority, as written (`local5.warn`, `info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLevel {
    /// The facility name (`auth`, `local5`), when written.
    pub facility: Option<String>,
    /// The priority name (`info`, `warn`).
    pub priority: String,
}

/// An interface a rule sends the packet to (`to`, `dup-to`, `reply-to`), maybe with the
/// next hop (`qe0:127.0.0.1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTo {
    /// The interface (`-` for none).
    pub interface: String,
    /// The next hop, when written.
    pub next_hop: Option<IpAddr>,
    /// `to dstlist/NAME`: `interface` is the name of a destination list (`ippool`'s
    /// `pool …/dstlist`), whose policy picks the interface and next hop.
    pub dstlist: bool,
}

/// A TCP flags test: `flags S/SA` matches when `(flags & mask) == set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlagsMatch {
    /// The flags that must be set (bits as in the TCP header: F=0x01 … C=0x80).
    pub set: u8,
    /// The flags looked at.
    pub mask: u8,
}

/// An ICMP type (and code) test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMatch {
    /// The type.
    pub icmp_type: u8,
    /// The code, when written.
    pub code: Option<u8>,
}

/// A property of the packet tested with `with` / `with not` / `and not`.
///
/// The order of the variants is the order `ipf -v` prints them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PacketFlag {
    /// `ipopts`: the IPv4 header has options.
    IpOpts,
    /// `short`: too short for its headers.
    Short,
    /// `frag` (`frags`): a fragment.
    Frag,
    /// `frag-body`: a fragment other than the first.
    FragBody,
    /// `nat`: translated by NAT.
    Nat,
    /// `lowttl`: a TTL too low to be forwarded.
    LowTtl,
    /// `bad`: failed a sanity check.
    Bad,
    /// `bad-src`: a source that fails the reverse-path check.
    BadSrc,
    /// `bad-nat`: NAT failed on it.
    BadNat,
    /// `oow`: out of the TCP window of its state entry.
    Oow,
    /// `mbcast`: link-layer broadcast or multicast.
    Mbcast,
    /// `bcast` (`broadcast`): link-layer broadcast.
    Bcast,
    /// `mcast` (`multicast`): link-layer multicast.
    Mcast,
    /// `state`: belongs to a state entry.
    State,
    /// `v6hdrs`: IPv6 extension headers.
    V6Hdrs,
}

/// An IPv4 option (or IPv6 extension header) tested with `with opt` / `not opt`.
///
/// The order is `ipf -v`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpOption {
    /// `nop`.
    Nop,
    /// `rr`: record route.
    Rr,
    /// `zsu`.
    Zsu,
    /// `mtup`: MTU probe.
    Mtup,
    /// `mtur`: MTU reply.
    Mtur,
    /// `encode`.
    Encode,
    /// `ts`: timestamp.
    Ts,
    /// `tr`: traceroute.
    Tr,
    /// `sec`: security.
    Sec,
    /// `lsrr`: loose source route.
    Lsrr,
    /// `e-sec`: extended security.
    ESec,
    /// `cipso`.
    Cipso,
    /// `satid`: stream id.
    Satid,
    /// `ssrr`: strict source route.
    Ssrr,
    /// `addext`.
    Addext,
    /// `visa`.
    Visa,
    /// `imitd`.
    Imitd,
    /// `eip`.
    Eip,
    /// `finn`.
    Finn,
    /// `dps`.
    Dps,
    /// `sdb`.
    Sdb,
    /// `nsapa`.
    Nsapa,
    /// `rtralrt`: router alert.
    Rtralrt,
    /// `ump`.
    Ump,
    /// An IPv6 extension header by name (`hopopts`, `routing`, `frag`, `dstopts`, `esp`,
    /// `ah`, `mobility`, `none`, `ipv6`) or number.
    V6Header(u8),
}

/// The tests after `with`: properties and options that must be present or absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WithTests {
    /// Packet properties: `(flag, wanted)`, `wanted` false for `not`. Sorted, each once.
    pub flags: Vec<(PacketFlag, bool)>,
    /// IP options: `(option, wanted)`. Sorted, each once.
    pub options: Vec<(IpOption, bool)>,
    /// `opt sec-class NAME,…`: security classes that must (true) or must not (false) be
    /// present, by their RFC 1108 names (`topsecret`, `secret`, `confid`, `unclass`,
    /// `reserv-1`…`reserv-4`).
    pub sec_classes: Vec<(String, bool)>,
}

impl WithTests {
    /// Whether nothing is tested.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty() && self.options.is_empty() && self.sec_classes.is_empty()
    }
}

/// TCP state tracking (`keep state (…)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeepState {
    /// `limit N`: at most N entries from this rule.
    pub limit: Option<u32>,
    /// `max-srcs N`: at most N distinct sources.
    pub max_srcs: Option<u32>,
    /// `max-per-src N[/MASK]`: entries per source (and the source mask length).
    pub max_per_src: Option<(u32, Option<u8>)>,
    /// `strict`: TCP segments must arrive in order.
    pub strict: bool,
    /// `loose`: the TCP window is not checked.
    pub loose: bool,
    /// `newisn`: TCP initial sequence numbers are rewritten.
    pub newisn: bool,
    /// `no-icmp-err`: ICMP errors about the flow are not let through.
    pub no_icmp_err: bool,
    /// `sync`: entries are synchronised to a peer.
    pub sync: bool,
    /// `age N[/M]`: entry time-outs (seconds) for the first and later packets.
    pub age: Option<(u32, u32)>,
    /// `icmp-head GROUP`: ICMP errors of the flow are filtered by this group.
    pub icmp_head: Option<String>,
}

/// A `set-tag(…)` (or `set-tag(nat=…, log=…)`): tags a later NAT or `ipmon` sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags {
    /// `log=N`.
    pub log: Option<u32>,
    /// `nat=NAME` (truncated to 16 characters, as the kernel keeps it).
    pub nat: Option<String>,
}

/// What a rule matches beyond the ordinary `from … to …` tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// `all`: every packet (the ordinary tests before it still apply).
    All,
    /// `from SRC to DST` with its tests.
    FromTo {
        /// The source.
        from: Endpoint,
        /// The destination.
        to: Endpoint,
    },
    /// `exp { "ip.src != 1.1.1.0/24; tcp.dport = 80;" }`: an expression, kept as text
    /// (normalised as `ipf -v` prints it); the engine treats it as Unknown.
    Expression(String),
    /// `bpf-v4 { "…" }` / `bpf-v6 { "…" }`: a BPF program, kept opaque; the engine treats
    /// it as Unknown.
    Bpf {
        /// Which family's program.
        family: IpFamily,
        /// The program as written.
        program: String,
    },
}

/// One `ipf.conf` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterRule {
    /// Where it was written (one origin for every rule a list expanded into).
    pub origin: Origin,
    /// A leading number (`100 pass in all`): the rule's collection; the kernel keeps
    /// collections in ascending order, 0 (none written) first.
    pub collection: u32,
    /// `@N`: the rule is inserted at position N of its list instead of appended.
    pub position: Option<u32>,
    /// What it does.
    pub action: Action,
    /// `in` or `out`.
    pub direction: Dir,
    /// `log …` after the direction (or the options of a `log` action).
    pub log: Option<LogOptions>,
    /// `quick`: the first matching quick rule decides.
    pub quick: bool,
    /// `on IF[,IF2]`: the rule matches packets on IF only (`fil.c` compares the first
    /// name); IF2 is a second interface the rule's state entry also accepts in this
    /// direction (`ip_state.c`). Empty: any interface.
    pub on: Vec<String>,
    /// `to IF[:HOP]`: the packet is sent out this interface.
    pub route_to: Option<RouteTo>,
    /// `dup-to IF[:HOP]`: a copy is sent out this interface.
    pub dup_to: Option<RouteTo>,
    /// `reply-to IF[:HOP]`: replies (through state) leave this interface.
    pub reply_to: Option<RouteTo>,
    /// `fastroute`: routed by the filter itself, skipping the kernel's stack.
    pub fastroute: bool,
    /// `out-via IF[,IF2]` on an `in` rule, `in-via` on an `out` rule: the interfaces the
    /// rule's state entry accepts for the other direction (`ip_state.c`); not a match on
    /// this packet.
    pub via: Vec<String>,
    /// `family inet` / `inet` / `inet6`, or implied by an address in the rule.
    pub family: Option<IpFamily>,
    /// `tos N`.
    pub tos: Option<u8>,
    /// `ttl N`.
    pub ttl: Option<u8>,
    /// `proto P`.
    pub proto: Option<Proto>,
    /// `all`, `from … to …`, `exp {…}`, `bpf-v4 {…}`.
    pub matcher: Matcher,
    /// `icmp-type T [code C]`.
    pub icmp: Option<IcmpMatch>,
    /// `flags S/SA`.
    pub tcp_flags: Option<TcpFlagsMatch>,
    /// `with …` / `not …` / `and not …`.
    pub with: WithTests,
    /// `keep state [(…)]`.
    pub keep_state: Option<KeepState>,
    /// `keep frags [(strict)]`: `Some(strict)`.
    pub keep_frags: Option<bool>,
    /// `head GROUP`: matching packets go on to the rules of this group.
    pub head: Option<String>,
    /// `group GROUP`: the rule belongs to this group (`None`: the main list).
    pub group: Option<String>,
    /// `set-tag(…)`.
    pub set_tag: Option<Tags>,
    /// `match-tag(…)`: the rule only matches packets tagged so.
    pub match_tag: Option<Tags>,
    /// `pps N`: at most N matches a second.
    pub pps: Option<u32>,
    /// `rule-ttl N`: the rule expires after N seconds.
    pub rule_ttl: Option<u32>,
    /// `comment "…"`.
    pub comment: Option<String>,
}

/// Which way a rule looks at packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// `in`.
    In,
    /// `out`.
    Out,
}

impl FilterRule {
    /// A rule `action dir all` with nothing else, at `origin`.
    pub fn new(origin: Origin, action: Action, direction: Dir) -> FilterRule {
        FilterRule {
            origin,
            collection: 0,
            position: None,
            action,
            direction,
            log: None,
            quick: false,
            on: Vec::new(),
            route_to: None,
            dup_to: None,
            reply_to: None,
            fastroute: false,
            via: Vec::new(),
            family: None,
            tos: None,
            ttl: None,
            proto: None,
            matcher: Matcher::All,
            icmp: None,
            tcp_flags: None,
            with: WithTests::default(),
            keep_state: None,
            keep_frags: None,
            head: None,
            group: None,
            set_tag: None,
            match_tag: None,
            pps: None,
            rule_ttl: None,
            comment: None,
        }
    }
}
