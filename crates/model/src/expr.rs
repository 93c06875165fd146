//! What a rule matches on and what it does.
//!
//! A [`Match`] is `key pattern` (optionally negated) or a test that is not a plain
//! comparison (set lookup, rpfilter, ...). Keys name what is read from the packet or its
//! context exactly as nftables names it; iptables matches lower into the same keys
//! (`-p tcp --dport 22` is `meta l4proto == tcp` then `th dport == 22`).
//!
//! Anything the engine cannot decide offline is [`Test::Undecidable`]: it evaluates to
//! Unknown, never to a silent yes or no.

use crate::kernel::icmp::unreach_code_name;
use crate::packet::Mac;
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// `!` in front of it.
    pub negated: bool,
    /// What is tested; [`Match::negated`] inverts a yes or no, never an Unknown.
    pub test: Test,
    /// What happens when the key does not exist for this packet (no transport header,
    /// no conntrack entry, not bridged).
    pub when_absent: Absent,
}

impl Match {
    /// `test`, not negated, failing when its key is absent (nft's and most xt matches'
    /// behaviour).
    pub fn new(test: Test) -> Match {
        Match {
            negated: false,
            test,
            when_absent: Absent::Fails,
        }
    }
    /// `key pattern`: the plain comparison most matches lower to.
    pub fn cmp(key: Key, pattern: Pattern) -> Match {
        Match::new(Test::Cmp { key, pattern })
    }
    /// The same match with `!` in front when `negated` (a front end passes the `!` it read).
    pub fn negate(mut self, negated: bool) -> Match {
        self.negated = negated;
        self
    }
}

/// How a match treats a packet that lacks the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Absent {
    /// The match fails whether or not it is negated (nft payload on a missing header;
    /// xt `tcp`/`udp`/`icmp` on a fragment; `rt` without a routing header).
    #[default]
    Fails,
    /// The absent key compares unequal, so a negated match succeeds (xt `physdev` on a
    /// packet that was not bridged).
    Unequal,
}

/// The condition itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `key` compared with `pattern`.
    Cmp {
        /// What is read from the packet or its context.
        key: Key,
        /// What the value read must be.
        pattern: Pattern,
    },
    /// The packet's key tuple is an element of a named set (`@set`, `--match-set`).
    /// `keys` is empty for an ipset: the engine derives them from the ipset's
    /// [`crate::ruleset::NamedSet::ipset_dims`] and the `src,dst` flags of [`SetRef::Ipset`].
    InSet {
        /// The key components in the set's order (nft `ip saddr . tcp dport`); empty for
        /// an ipset.
        keys: Vec<Key>,
        /// The set looked up.
        set: SetRef,
    },
    /// Reverse path check (`-m rpfilter`): a route back to the source exists via the input
    /// interface.
    RpFilter {
        /// `--loose`: a route back via any interface will do (nft `fib saddr oif` without
        /// `iif`).
        loose: bool,
        /// `--validmark`: the reverse lookup uses the packet's mark, as policy routing
        /// would.
        validmark: bool,
        /// `--accept-local`: a source that is one of this host's addresses passes.
        accept_local: bool,
    },
    /// IPsec policy (`-m policy --dir in|out --pol none|ipsec`). `ipsec: false` is decidable
    /// offline (no IPsec state means `none` matches); `ipsec: true` is Unknown.
    IpsecPolicy {
        /// `--dir in` (the policy used for decapsulation) rather than `--dir out`.
        dir_in: bool,
        /// `--pol ipsec` rather than `--pol none`.
        ipsec: bool,
    },
    /// The TCP header carries option `kind` (`--tcp-option N`, `tcp option X exists`).
    TcpOption(u8),
    /// A later (non-first) IPv4 fragment (`-f`).
    LaterFragment,
    /// Cannot be decided offline; the engine branches or follows a stated assumption.
    Undecidable {
        /// Why it cannot be decided (what it depends on).
        kind: Undecidable,
        /// The match as written in the input, for the user.
        text: String,
    },
}

/// What a key is read from. Named after nft's expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    // meta
    /// Name of the interface the packet came in by (`-i`, `iifname`); empty when locally
    /// generated.
    IifName,
    /// Name of the interface the packet goes out by (`-o`, `oifname`); empty before routing.
    OifName,
    /// Transport protocol number (`meta l4proto`, iptables `-p`).
    L4Proto,
    /// `meta nfproto`: 2 for IPv4, 10 for IPv6.
    NfProto,
    /// The packet's firewall mark (`skb->mark`: `-m mark`, `meta mark`).
    Mark,
    /// Link-layer packet type (`-m pkttype`, `meta pkttype`): 0 unicast (to this host),
    /// 1 broadcast, 2 multicast, 3 other host.
    PktType,
    /// User id of the socket that sent the packet (`-m owner --uid-owner`, `meta skuid`).
    SkUid,
    /// Group id of the socket that sent the packet (`--gid-owner`, `meta skgid`).
    SkGid,
    /// `meta length`: the IP total length (`-m length`).
    Length,
    /// Bridge port the packet came in by (`--physdev-in`); absent when not bridged.
    PhysIn,
    /// Bridge port the packet goes out by (`--physdev-out`); absent when not bridged.
    PhysOut,
    /// Whether the packet is bridged at all (`--physdev-is-bridged`): Int 1 or absent.
    PhysIsBridged,
    // link layer
    /// Source MAC address of the received frame (`-m mac`, `ether saddr`): seen from
    /// ingress to forward; absent on output and postrouting (no link-layer header yet).
    EtherSrc,
    /// Destination MAC address of the received frame (`ether daddr`).
    EtherDst,
    // network layer
    /// IPv4 or IPv6 source address (`-s`, `ip saddr`, `ip6 saddr`).
    SrcAddr,
    /// IPv4 or IPv6 destination address (`-d`, `ip daddr`, `ip6 daddr`).
    DstAddr,
    /// TTL or hop limit.
    Ttl,
    /// The whole TOS/traffic-class byte.
    Tos,
    /// The DSCP field: the TOS/traffic-class byte's upper six bits (`-m dscp`, `ip dscp`).
    Dscp,
    /// Type of an IPv6 routing header (`-m rt --rt-type`): absent when there is none.
    Ip6RtType,
    // transport layer (any of tcp/udp/sctp/udplite, as nft `th`)
    /// Transport source port (`--sport`, `th sport`); absent without a transport header
    /// (a later fragment, a protocol without ports).
    SrcPort,
    /// Transport destination port (`--dport`, `th dport`).
    DstPort,
    /// The TCP flags byte (`--tcp-flags`, `--syn`, `tcp flags`).
    TcpFlags,
    /// ICMP type (`--icmp-type`, `icmp type`); absent for other protocols.
    IcmpType,
    /// ICMP code.
    IcmpCode,
    /// ICMPv6 type (`--icmpv6-type`, `icmpv6 type`).
    Icmpv6Type,
    /// ICMPv6 code.
    Icmpv6Code,
    // conntrack
    /// Bits as the kernel defines them: INVALID 1, ESTABLISHED 2, RELATED 4, NEW 8,
    /// UNTRACKED 64 (see [`ct_state`]).
    CtState,
    /// `IPS_*` bits (see [`ct_status`]).
    CtStatus,
    /// The connection's mark (`-m connmark`, `ct mark`); absent without a connection.
    CtMark,
    /// 0 original, 1 reply.
    CtDirection,
    /// Source address of the original direction's tuple (`--ctorigsrc`,
    /// `ct original saddr`): the address before any NAT.
    CtOrigSrc,
    /// Destination address of the original tuple (`--ctorigdst`): before DNAT.
    CtOrigDst,
    /// Source address of the reply tuple (`--ctreplsrc`): after DNAT, the real server.
    CtReplSrc,
    /// Destination address of the reply tuple (`--ctrepldst`): after SNAT.
    CtReplDst,
    /// Source port of the original tuple (`--ctorigsrcport`).
    CtOrigSrcPort,
    /// Destination port of the original tuple (`--ctorigdstport`).
    CtOrigDstPort,
    /// Source port of the reply tuple (`--ctreplsrcport`).
    CtReplSrcPort,
    /// Destination port of the reply tuple (`--ctrepldstport`).
    CtReplDstPort,
    /// The connection's transport protocol number (`--ctproto`, `ct protocol`).
    CtProto,
    /// The connection's conntrack zone (`ct zone`), set by `CT --zone` before conntrack.
    CtZone,
    /// Name of the connection's helper (`-m helper`, `ct helper`); absent when none.
    CtHelper,
    // routing (fib)
    /// Routing type of an address (`-m addrtype`, nft `fib ... type`), as `RTN_*` numbers
    /// (see [`rtn`]). `iface`: `--limit-iface-in/out` (nft `. iif` / `. oif`).
    FibAddrType {
        /// The destination address's type (`--dst-type`, `fib daddr`) rather than the
        /// source's.
        dst: bool,
        /// Whether the lookup is limited to one interface's addresses and routes.
        iface: Option<IfaceLimit>,
    },
    // raw bytes
    /// nft's raw payload `@BASE,OFFSET,LENGTH`: bits read from a header's start, as a
    /// big-endian number (miniupnpd writes its rules so).
    Raw(RawField),
}

/// `LEN` bits (1 to 64) at bit `offset` from the start of the `base` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawField {
    /// Which header the offset counts from.
    pub base: RawBase,
    /// Offset in bits.
    pub offset: u32,
    /// Length in bits, 1 to 64.
    pub len: u8,
}

/// The header a raw payload offset counts from (nft `@ll`, `@nh`, `@th`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawBase {
    /// The link-layer header (`@ll`): present on frames received from a device.
    Link,
    /// The network header (`@nh`): IPv4 or IPv6.
    Network,
    /// The transport header (`@th`): absent in later fragments.
    Transport,
}

/// Which interface an address-type lookup is limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IfaceLimit {
    /// The input interface (`--limit-iface-in`, nft `. iif`).
    In,
    /// The output interface (`--limit-iface-out`, nft `. oif`).
    Out,
}

pub use crate::kernel::ct::{state as ct_state, status as ct_status};
pub use crate::kernel::rtn;

/// A value a key yields or a pattern holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// Ports, protocol numbers, marks, flag bits, lengths, `RTN_*` types.
    Int(u64),
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// A link-layer address.
    Mac(Mac),
    /// Interface names, helper names.
    Str(String),
}

/// What a key is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Equal to.
    Value(Value),
    /// An address inside the prefix.
    Prefix(IpNet),
    /// Inclusive range (ports, lengths, address ranges of `-m iprange`).
    Range(Value, Value),
    /// `(key & mask) == value` (tcp flags, marks with masks, tos).
    Masked {
        /// The bits of the key that are compared.
        mask: u64,
        /// What those bits must be.
        value: u64,
    },
    /// `(key & mask) != 0`: any of these bits (ct state lists, ct status).
    AnyBit(u64),
    /// Ordered comparison: `ttl < 5`, `--ttl-gt 64`.
    Compare(CmpOp, Value),
    /// Interface name; a trailing `+` is the iptables wildcard ("eth+" matches "eth0").
    Iface(String),
    /// Any of these (`--dports 22,80:90`, `{ 22, 80 }`).
    OneOf(Vec<Pattern>),
}

/// The operator of an ordered comparison ([`Pattern::Compare`]): the packet's value on the
/// left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<` (`--ttl-lt`).
    Lt,
    /// `<=`.
    Le,
    /// `>` (`--ttl-gt`).
    Gt,
    /// `>=`.
    Ge,
    /// `!=`. The front ends lower `!=` to a negated match instead; the engine still
    /// evaluates it.
    Ne,
}

/// Which set a lookup refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRef {
    /// An ipset (global, from `ipset save`) with the `--match-set NAME src,dst` flags in
    /// order (`true` = src).
    Ipset {
        /// The ipset's name.
        name: String,
        /// Per key component, whether it is read from the source (`src`) or the
        /// destination (`dst`) side of the packet.
        src: Vec<bool>,
    },
    /// A set of the same table (nft `@name`), by name.
    Table(String),
}

/// Why a match cannot be decided offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecidable {
    /// Rate limits depend on the recent packet rate (`-m limit`, nft `limit rate`).
    Limit,
    /// Per-flow rate limits (`-m hashlimit`): depends on each bucket's recent rate.
    Hashlimit,
    /// Depends on the `recent` list's contents at that moment.
    Recent,
    /// Depends on how many connections are open (`-m connlimit`); the rule needs
    /// conntrack.
    Connlimit,
    /// Random or every-nth sampling.
    Statistic,
    /// Depends on the time of day.
    Time,
    /// Depends on the payload.
    String,
    /// Depends on raw packet bytes at computed offsets (`-m u32`).
    U32,
    /// A BPF program runs on the packet (`-m bpf`).
    Bpf,
    /// Depends on the bytes already counted against the quota (`-m quota`, nft `quota`).
    Quota,
    /// Depends on an accounting object's counters (`-m nfacct`).
    Nfacct,
    /// IPsec state (`--pol ipsec`).
    Ipsec,
    /// Socket lookup (`-m socket`, nft `socket`).
    Socket,
    /// Connection count (`ct count`).
    CtCount,
    /// Random/hash numbers (`numgen`, `jhash`).
    Numgen,
    /// A match module or expression whyblocked does not model: its name as written and
    /// whether the kernel runs conntrack for it.
    Unsupported(Unmodelled),
    /// A target whyblocked does not model; the name as written. Whether the rule goes on
    /// past it is Unknown.
    UnmodelledTarget(String),
    /// The sending process's socket owner (uid/gid) was not given.
    SocketOwnerUnknown,
    /// The packet's MAC address was not given.
    MacUnknown,
    /// The output interface: the packet leaves by a device the host's routes would
    /// name, and neither they nor `out IF` were given.
    OutputInterfaceUnknown,
    /// An address type (`addrtype`, `fib ... type`): the host's addresses and routes were
    /// not given.
    AddressTypeUnknown,
    /// A reverse path check: the host's routes were not given.
    RoutesUnknown,
    /// A match on TCP option `kind`: the packet's TCP options are not known.
    TcpOptionUnknown(u8),
    /// A lookup in set `@name`, which the table does not define.
    SetUndefined(String),
    /// A lookup in an ipset that was not given (`ipset save`).
    IpsetMissing(String),
    /// A set key of more components than a lookup reads (8).
    SetKeyTooWide,
    /// An ipset of more key components than a lookup reads (8).
    IpsetKeyTooWide,
    /// A raw payload read (`@th,32,32`) covers bytes the packet spec does not give (IP id,
    /// checksums, sequence numbers, window, options, payload).
    RawBytesUnknown,
}

impl fmt::Display for Undecidable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undecidable::Limit => f.write_str("rate limit (depends on the recent packet rate)"),
            Undecidable::Hashlimit => f.write_str("hashlimit (depends on per-flow rates)"),
            Undecidable::Recent => f.write_str("recent list (depends on earlier packets)"),
            Undecidable::Connlimit => f.write_str("connlimit (depends on open connections)"),
            Undecidable::Statistic => f.write_str("statistic (random or every-nth sampling)"),
            Undecidable::Time => f.write_str("time (depends on the time of day)"),
            Undecidable::String => f.write_str("string (depends on the payload)"),
            Undecidable::U32 => f.write_str("u32 (depends on raw packet bytes)"),
            Undecidable::Bpf => f.write_str("bpf program"),
            Undecidable::Quota => f.write_str("quota (depends on bytes already counted)"),
            Undecidable::Nfacct => f.write_str("nfacct (depends on accounting objects)"),
            Undecidable::Ipsec => f.write_str("IPsec policy (depends on xfrm state)"),
            Undecidable::Socket => f.write_str("socket lookup"),
            Undecidable::CtCount => f.write_str("ct count (depends on open connections)"),
            Undecidable::Numgen => f.write_str("number generator (random or hash)"),
            Undecidable::Unsupported(Unmodelled { name, .. })
            | Undecidable::UnmodelledTarget(name) => {
                write!(f, "unsupported match `{name}`")
            }
            Undecidable::SocketOwnerUnknown => f.write_str(
                "unsupported match `socket owner (uid/gid) of the sending process not given`",
            ),
            Undecidable::MacUnknown => {
                f.write_str("unsupported match `MAC address of the packet not given`")
            }
            Undecidable::OutputInterfaceUnknown => {
                f.write_str("output interface (neither the host's routes nor `out IF` were given)")
            }
            Undecidable::AddressTypeUnknown => f.write_str(
                "unsupported match `address type: the host's addresses and routes were not given`",
            ),
            Undecidable::RoutesUnknown => {
                f.write_str("unsupported match `rpfilter: the host's routes were not given`")
            }
            Undecidable::TcpOptionUnknown(kind) => write!(
                f,
                "unsupported match `tcp option {kind} (the packet's TCP options are not known)`"
            ),
            Undecidable::SetUndefined(name) => {
                write!(
                    f,
                    "unsupported match `set @{name} is not defined in the table`"
                )
            }
            Undecidable::IpsetMissing(name) => {
                write!(
                    f,
                    "unsupported match `ipset {name} was not given (ipset save)`"
                )
            }
            Undecidable::SetKeyTooWide => {
                f.write_str("unsupported match `set key with more than 8 components`")
            }
            Undecidable::IpsetKeyTooWide => {
                f.write_str("unsupported match `ipset with more than 8 key components`")
            }
            Undecidable::RawBytesUnknown => f.write_str(
                "raw payload (reads bytes the packet spec does not give: IP id, checksums, \
                 sequence numbers, options or payload)",
            ),
        }
    }
}

/// A match, target or statement whyblocked does not model ([`Undecidable::Unsupported`],
/// [`Action::Undecidable`]).
///
/// Its effect on the packet is Unknown, but one thing about it must still be known: whether
/// it holds a conntrack reference. The kernel runs conntrack (and the NAT core) in a network
/// namespace only while some rule needs it (`nf_ct_netns_get`), so one unmodelled
/// `-m connbytes` or `synproxy` changes what every other rule sees. The front end that read
/// the construct knows its own syntax and sets [`Unmodelled::needs_conntrack`]; the engine
/// reads the flag, never the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmodelled {
    /// The construct as written (`cgroup`, `TARPIT`, `meta cpu`, `xt match foo ...`): shown
    /// to the user, never interpreted.
    pub name: String,
    /// Whether loading the construct makes the kernel track connections for the table's
    /// family (a conntrack, connmark, helper, synproxy or flow offload extension).
    pub needs_conntrack: bool,
}

/// What a rule does when reached.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Ends or redirects the chain traversal (`-j ACCEPT`, `drop`, `jump`, ...).
    Verdict(Verdict),
    /// LOG / NFLOG / ULOG / nft `log`: writes a line, continues.
    Log(Log),
    /// `-j TRACE` / `meta nftrace set 1`.
    Trace,
    /// nft `counter` (iptables counters live in the rule's origin).
    Counter,
    /// `mark = (mark & !mask) ^ value` (`MARK --set-xmark value/mask`).
    SetMark {
        /// The bits XORed in after masking.
        value: u32,
        /// The bits cleared first.
        mask: u32,
    },
    /// `CONNMARK`, `ct mark set`.
    CtMark(CtMarkOp),
    /// Address or port translation (`SNAT`, `DNAT`, `MASQUERADE`, `REDIRECT`, `NETMAP`, nft
    /// `snat`/`dnat`/...): only the first packet of a connection meets it; conntrack applies
    /// the binding to the rest.
    Nat(Nat),
    /// `NOTRACK`, `CT --notrack`, nft `notrack`: the packet bypasses conntrack.
    Notrack,
    /// `CT --helper`/`--zone`, nft `ct helper set` / `ct zone set`.
    CtSet {
        /// The helper attached to the new connection (`ftp`, `sip`, ...).
        helper: Option<String>,
        /// The conntrack zone the packet is looked up in.
        zone: Option<u16>,
    },
    /// `TOS --set-xtos value/mask`: `tos = (tos & !mask) ^ value`.
    SetTos {
        /// The bits XORed in after masking.
        value: u8,
        /// The bits cleared first.
        mask: u8,
    },
    /// `DSCP --set-dscp`, nft `ip dscp set`: the TOS byte's upper six bits set to this value.
    SetDscp(u8),
    /// A statement with no effect on this packet's fate, named by what it does (a copy is
    /// sent, the connection is offloaded, a set is updated): the engine warns where the
    /// effect reaches later packets, `report` says it in words.
    Effect(Effect),
    /// A target or statement whyblocked does not model: whether it ends the rule is
    /// Unknown.
    Undecidable(Unmodelled),
}

/// What a statement does besides deciding the packet's fate: nothing the walk of this packet
/// depends on, but what it does is known (not prose: the words are `report`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// nft `dup to ADDR`, `-j TEE`: a copy is sent; the packet goes on.
    Dup,
    /// nft `flow add @ft`: later packets of the connection take the flowtable's fast path at
    /// ingress and skip prerouting, forward and postrouting.
    FlowOffload {
        /// The flowtable's name (without the `@`).
        flowtable: String,
    },
    /// nft `add @s { .. }`, `update @s { .. }`, `delete @s { .. }` from the packet path:
    /// later packets meet the set changed.
    SetUpdate {
        /// The statement's operation.
        op: SetUpdateOp,
        /// The set's name (without the `@`).
        set: String,
    },
    /// `ct timeout|expectation|label|event|secmark set ..`, `-j CONNSECMARK`, `-j CT` without
    /// helper or zone: an attribute of the connection (the rule needs conntrack).
    CtAttribute {
        /// The attribute as nft names it (`timeout`, `expectation`, `label`, `event`,
        /// `secmark`), or `template` for `-j CT`'s conntrack template.
        key: String,
    },
    /// `meta secmark set`, `secmark set`, `-j SECMARK`: the packet's security mark.
    Secmark,
    /// `meta priority set`, `-j CLASSIFY`: the packet's queueing priority.
    Priority,
    /// `-j TCPMSS`, nft `tcp option maxseg size set`: the MSS option of a TCP SYN lowered
    /// (never raised: `xt_TCPMSS`, `nft_exthdr`) to a value or to what the route's MTU
    /// allows; how large the segments of the connection may be.
    ClampMss(MssClamp),
    /// `tcp option NAME .. set`: a TCP option rewritten.
    TcpOption {
        /// The option as nft names it (`maxseg`, `sack-perm`, ...).
        name: String,
    },
    /// `-j CHECKSUM`: the checksum filled in.
    Checksum,
    /// `log level audit`, `-j AUDIT`: an audit record.
    Audit,
    /// nft `last`: when the rule last matched is recorded.
    Last,
    /// `meta nftrace set` to anything but 1: the packet is not traced from here.
    Nftrace,
}

/// The operation of a set update from the packet path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetUpdateOp {
    /// `add @s { .. }`: adds the element (a no-op when present).
    Add,
    /// `update @s { .. }`: adds the element or refreshes its timeout.
    Update,
    /// `delete @s { .. }`: removes the element.
    Delete,
}

/// How a chain traversal continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The packet leaves this hook's chain (and this table); later base chains on the hook
    /// still see it.
    Accept,
    /// The packet is freed; nothing is sent back.
    Drop,
    /// Dropped, and a TCP reset or ICMP error is sent to the source (`REJECT`, `reject`).
    Reject(Reject),
    /// Back to the rule after the calling `jump`; in a base chain, the chain's policy.
    Return,
    /// Into the named chain of the same table; its `return` comes back here.
    Jump(String),
    /// Into the named chain, not coming back: its end returns to this chain's caller.
    Goto(String),
    /// Handed to a userspace program on a netfilter queue (`NFQUEUE`, `queue`).
    Queue(Queue),
    /// Explicit `continue`: go on with the next rule.
    Continue,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Reject(r) => write!(f, "reject with {r}"),
            Verdict::Return => f.write_str("return"),
            Verdict::Jump(c) => write!(f, "jump {c}"),
            Verdict::Goto(c) => write!(f, "goto {c}"),
            Verdict::Queue(q) => write!(f, "queue to {}", q.num),
            Verdict::Continue => f.write_str("continue"),
        }
    }
}

/// What a REJECT answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reject {
    /// A TCP RST (`--reject-with tcp-reset`), sent as if by the destination.
    TcpReset,
    /// ICMP destination unreachable (type 3) with this code.
    Icmp(u8),
    /// ICMPv6 destination unreachable (type 1) with this code.
    Icmpv6(u8),
    /// nft `icmpx`: a family-independent code (0 no-route, 1 port-unreachable,
    /// 2 host-unreachable, 3 admin-prohibited).
    Icmpx(u8),
}

impl Reject {
    /// The kernel's default: ICMP port unreachable (`icmp-port-unreachable`).
    pub const DEFAULT_V4: Reject = Reject::Icmp(3);
    /// The kernel's default for IPv6: ICMPv6 port unreachable (`icmp6-port-unreachable`).
    pub const DEFAULT_V6: Reject = Reject::Icmpv6(4);
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reject::TcpReset => f.write_str("tcp reset"),
            Reject::Icmp(code) => write!(f, "icmp {}", unreach_code_name(code, false)),
            Reject::Icmpv6(code) => write!(f, "icmpv6 {}", unreach_code_name(code, true)),
            Reject::Icmpx(code) => write!(
                f,
                "icmpx {}",
                match code {
                    0 => "no-route",
                    1 => "port-unreachable",
                    2 => "host-unreachable",
                    3 => "admin-prohibited",
                    _ => "unknown",
                }
            ),
        }
    }
}

/// `NFQUEUE` / nft `queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    /// The queue number (`--queue-num`, first of `--queue-balance`).
    pub num: u16,
    /// Last queue of a `--queue-balance` range (equal to `num` for one queue).
    pub last: u16,
    /// `--queue-bypass`: with no program listening the packet is accepted, not dropped.
    pub bypass: bool,
    /// `--queue-cpu-fanout`: the queue is chosen by the CPU handling the packet within
    /// `num..=last`, not by a flow hash.
    pub fanout: bool,
}

/// LOG-like actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Where the line goes.
    pub kind: LogKind,
    /// `--log-prefix` / `prefix`, exactly as given (ufw's ends with a space).
    pub prefix: String,
    /// syslog level (`--log-level`), 4 (warning) by default for LOG.
    pub level: Option<u8>,
    /// `--log-tcp-sequence`: the line carries `SEQ=` and `ACK=`.
    pub tcp_sequence: bool,
    /// `--log-tcp-options`: the line carries `OPT (..)` for TCP.
    pub tcp_options: bool,
    /// `--log-ip-options`: the line carries `OPT (..)` for IP.
    pub ip_options: bool,
    /// `--log-uid`: the line carries the sending socket's `UID=`/`GID=`.
    pub uid: bool,
    /// `--log-macdecode`: `MACSRC=`/`MACDST=`/`MACPROTO=` instead of a raw `MAC=`.
    pub macdecode: bool,
}

/// Where a LOG-like action sends its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// To the kernel log (`dmesg`, syslog).
    Kernel,
    /// To an nflog group read by a userspace logger (ulogd).
    Nflog {
        /// `--nflog-group`, nft `log group`.
        group: u16,
    },
    /// Legacy ULOG (netlink group).
    Ulog {
        /// `--ulog-nlgroup`.
        group: u16,
    },
}

/// `CONNMARK` / `ct mark set` operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtMarkOp {
    /// `ctmark = (ctmark & !mask) ^ value`.
    SetXmark {
        /// The bits XORed in after masking.
        value: u32,
        /// The bits cleared first.
        mask: u32,
    },
    /// `ctmark = (ctmark & !ctmask) | (mark & nfmask)` (`--save-mark`).
    Save {
        /// Which bits of the packet mark are copied.
        nfmask: u32,
        /// Which bits of the connection mark are replaced.
        ctmask: u32,
    },
    /// `mark = (mark & !nfmask) | (ctmark & ctmask)` (`--restore-mark`).
    Restore {
        /// Which bits of the packet mark are replaced.
        nfmask: u32,
        /// Which bits of the connection mark are copied.
        ctmask: u32,
    },
}

/// Address translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nat {
    /// Which translation.
    pub kind: NatKind,
    /// New address range (inclusive). `None`: keep (port-only DNAT, REDIRECT, MASQUERADE).
    pub addr: Option<(IpAddr, IpAddr)>,
    /// New port range (inclusive).
    pub ports: Option<(u16, u16)>,
    /// `--random`: the new port is randomised (a keyed hash), not kept when it is free.
    pub random: bool,
    /// `--random-fully`: the source port is chosen fully at random.
    pub fully_random: bool,
    /// `--persistent`: a client gets the same address of the range on every connection.
    pub persistent: bool,
}

/// The kind of address translation; which address it rewrites follows from the kind (and
/// for [`NatKind::Netmap`] from the hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    /// Rewrites the source address (postrouting, input).
    Snat,
    /// Rewrites the destination address (prerouting, output).
    Dnat,
    /// SNAT to the address of the outgoing interface.
    Masquerade,
    /// DNAT to the address of the incoming interface (127.0.0.1 / ::1 on output).
    Redirect,
    /// Maps a prefix one to one: `addr` holds the new prefix's first and last address; the
    /// direction follows the hook (prerouting/output: destination, postrouting: source).
    Netmap,
}

impl fmt::Display for NatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NatKind::Snat => "snat",
            NatKind::Dnat => "dnat",
            NatKind::Masquerade => "masquerade",
            NatKind::Redirect => "redirect",
            NatKind::Netmap => "netmap",
        })
    }
}

/// What an MSS-clamping rule lowers the MSS option to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MssClamp {
    /// `--clamp-mss-to-pmtu`, nft `set rt mtu`: the route's MTU less the IP and TCP
    /// headers (`xt_TCPMSS` also takes the reverse route's MTU into account).
    ToPmtu,
    /// `--set-mss N`, nft `set N`.
    Value(u16),
}
