//! What a simulation had to assume, and what it warns about: typed values (a variant is a
//! code, its fields the values the words need); the `report` crate words them.
//!
//! A trace keeps each value once ([`crate::Trace::warnings`] is deduplicated by equality),
//! so a variant carries exactly the values its words depend on.

use crate::trace::Decider;
use model::expr::NatKind;
use model::{ChainRef, Hook, RuleRef};

/// Something assumed because the input did not say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assumption {
    /// No host state: `in X out Y` taken as forwarded from X to Y.
    ForwardedFromSpec,
    /// No host state: `in X` alone taken as addressed to this host.
    LocalFromSpec,
    /// No host state: `out Y` alone (or neither) taken as locally generated.
    OutputFromSpec,
    /// A sysctl was not given: its kernel default was used.
    SysctlDefault {
        /// The sysctl (`net.ipv4.ip_forward`).
        key: String,
        /// The value used.
        value: String,
    },
    /// Listening sockets not given: cannot say whether something answers.
    SocketsUnknown,
    /// No conntrack table given: the packet is taken as the first of its flow.
    FirstPacketOfFlow,
    /// A TCP packet met its connection's entry: it is taken as inside the TCP window
    /// (packets carry no sequence numbers; the kernel marks one outside it INVALID unless
    /// `nf_conntrack_tcp_be_liberal` is set).
    InsideTcpWindow,
    /// The first packet of its flow between hosts whose control connection has a helper
    /// (`helper=ftp`): taken as not expected (NEW); the kernel's expectation table was not
    /// given, and if it expects this connection the packet is RELATED.
    NotExpected {
        /// The helper (`ftp`).
        helper: String,
        /// The control connection's entry as `conntrack -L` printed it.
        control: String,
    },
    /// The routes had no local table (255) for this family: the kernel's implicit local
    /// and broadcast routes were derived from the host's addresses.
    LocalRoutesFromAddresses {
        /// For IPv6 (no broadcast routes then).
        v6: bool,
    },
    /// The table nests chains deeper than nf_tables loads (`NFT_JUMP_STACK_SIZE`) and the
    /// input does not name its backend: only iptables-legacy loads it, so that backend is
    /// assumed.
    LegacyBackendForDepth {
        /// The table's name.
        table: String,
        /// The deepest nesting, in jumps.
        depth: usize,
        /// The first chains of the deepest path by name: the base chain and 16 jumps.
        path: Vec<String>,
    },
    /// A sysctl was not given and no sysctls at all were: this value was taken because the
    /// packet spec implies it (e.g. forwarding on for a packet given `in X out Y`), not
    /// the kernel default.
    SysctlAssumed {
        /// The sysctl.
        key: String,
        /// The value used.
        value: String,
    },
}

/// Something about the path worth saying that does not change the fate (or, for the NAT
/// and conntrack ones, says why the kernel did what it did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A queue that may rewrite ports sits after conntrack on a NATed flow (user story 6):
    /// conntrack's reverse NAT matched on the tuple before the program's change.
    QueueAfterConntrackOnNat {
        /// The queueing rule.
        at: RuleRef,
    },
    /// Base chains of two tables share a priority on a hook the packet crossed: the kernel
    /// runs the one registered last first, and no listing records which was loaded last.
    /// The simulation took the input order as the load order, so `ran_first` ran first.
    EqualPriority {
        /// The hook both are on.
        hook: Hook,
        /// The chain that ran first.
        ran_first: ChainRef,
        /// The chain that ran after it.
        ran_second: ChainRef,
    },
    /// The RST or ICMP error sent back was itself stopped on its way out (by a rule or
    /// policy of OUTPUT/POSTROUTING, or by routing): the sender sees nothing.
    AnswerStopped {
        /// What stopped it.
        by: Decider,
    },
    /// Whether the answer gets out is not decided: an Unknown match on its way out, or a
    /// broadcast/multicast destination (output routing models only the local copy).
    AnswerUncertain,
    /// A queue target: the simulation assumes a program listens on the queue.
    QueueAssumedListening {
        /// The queue number.
        num: u16,
        /// `--queue-bypass`: without a program the packet is accepted, not dropped.
        bypass: bool,
    },
    /// A `bridge` table with base chains exists and the packet came in by a bridge or a
    /// bridge port (or the host's interfaces are not known): its chains are not simulated
    /// and see the frame before this IP path.
    BridgeNotSimulated {
        /// The bridge table.
        table: String,
        /// The input interface.
        iif: String,
    },
    /// A flowtable offload (`flow add @ft`): later packets of the connection take the
    /// fast path at ingress and skip prerouting, forward and postrouting.
    FlowOffload {
        /// The rule holding the statement.
        at: RuleRef,
        /// The flowtable's name (`flow add @NAME`).
        flowtable: String,
    },
    /// `add @s` / `update @s` from the packet path: later packets meet the set with this
    /// one in it, the listing shows it without.
    SetUpdated {
        /// The rule holding the statement.
        at: RuleRef,
        /// The set's name.
        set: String,
    },
    /// A lookup in a set the packet path updates: its contents are taken as listed.
    DynamicSetRead {
        /// The set's name.
        set: String,
    },
    /// A conntrack helper was assigned (`-j CT --helper`, `ct helper set`): the connections
    /// it expects become RELATED only with it.
    HelperAssigned {
        /// The helper's name.
        helper: String,
    },
    /// A NAT statement in a chain that is not `type nat`: no effect (the kernel refuses
    /// such a rule).
    NatOutsideNatChain {
        /// The statement's kind.
        kind: NatKind,
    },
    /// A NAT statement on a hook it cannot run on (the kernel refuses such a rule).
    NatWrongHook {
        /// The statement's kind.
        kind: NatKind,
        /// The hook.
        hook: Hook,
    },
    /// Masquerade on an interface without an address: the kernel drops the packet.
    NatNoInterfaceAddress {
        /// The statement's kind.
        kind: NatKind,
    },
    /// The host's interface addresses were not given: the translated address is shown
    /// unchanged.
    NatAddressesUnknown {
        /// The statement's kind.
        kind: NatKind,
    },
    /// The kernel picks the address or port of a range by hash or at random: the first of
    /// the range is shown.
    NatRangeFirstShown {
        /// The statement's kind.
        kind: NatKind,
    },
    /// The conntrack table is full (`nf_conntrack_count >= nf_conntrack_max`): the kernel
    /// drops the new connection's packet.
    ConntrackTableFull,
    /// No conntrack table given, and the packet is an ICMP error: taken as quoting a
    /// tracked flow (RELATED); quoting none it would be INVALID.
    IcmpErrorAssumedRelated,
}
