//! pf's ruleset (OpenBSD's Packet Filter, also FreeBSD's): the typed form of a `pf.conf`
//! after pfctl's own expansion, or of a `pfctl -sr -vv` listing.
//!
//! pfctl expands every `{ … }` list and macro into one rule per combination before the
//! kernel sees the rules; a [`Rule`] here is one such expanded rule, so a filter pass
//! reads each rule's single source, destination, port and protocol. Options, tables and
//! queues keep their order with the rules in [`Ruleset::items`] because `pfctl -nv` prints
//! them in that order. Data only: no parsing, no words.

use std::net::IpAddr;

use crate::Origin;

/// A pf ruleset: the main list or one anchor's body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ruleset {
    /// Everything the file said, in order (macros, options, tables, queues, rules).
    pub items: Vec<Item>,
}

impl Ruleset {
    /// The rules of this list, in evaluation order (anchors' bodies not entered).
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.items.iter().filter_map(|item| match item {
            Item::Rule(rule) => Some(rule),
            _ => None,
        })
    }
    /// The options (`set …`) of this list.
    pub fn options(&self) -> impl Iterator<Item = &PfOption> {
        self.items.iter().filter_map(|item| match item {
            Item::Option(option, _) => Some(option),
            _ => None,
        })
    }
    /// The tables declared in this list.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.items.iter().filter_map(|item| match item {
            Item::Table(table) => Some(table),
            _ => None,
        })
    }
}

/// One statement of a ruleset.
// Rules are nearly every item of a ruleset: boxing them would add an allocation per
// rule to spare the few options and tables some bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `name = "value"`, kept because `pfctl -nv` prints it.
    Macro {
        /// The name.
        name: String,
        /// The value, macros already expanded.
        value: String,
        /// Where it was written.
        origin: Origin,
    },
    /// `set …`.
    Option(PfOption, Origin),
    /// `table <name> …`.
    Table(Table),
    /// `queue …` / `altq on …`: kept as text (queueing decides no verdict).
    Queue(Opaque),
    /// A filter, translation or anchor rule.
    Rule(Rule),
    /// `load anchor NAME from "FILE"`.
    LoadAnchor {
        /// The anchor path.
        anchor: String,
        /// The file.
        file: String,
        /// Where it was written.
        origin: Origin,
        /// The file's ruleset, when the file was given with the configuration; `None`:
        /// what the anchor holds is unknown.
        ruleset: Option<Box<Ruleset>>,
    },
}

/// A statement kept as text: as written in its origin, as pfctl prints it in `printed`.
#[derive(Debug, Clone, PartialEq)]
pub struct Opaque {
    /// Where it was written, with its text.
    pub origin: Origin,
    /// The statement as pfctl prints it (macros expanded, queues normalised).
    pub printed: String,
}

/// `set …`: a global option.
#[derive(Debug, Clone, PartialEq)]
pub enum PfOption {
    /// `set skip on IF` (interface or group name); repeated `set skip` lines add.
    Skip(Vec<String>),
    /// `set block-policy drop|return`: what a plain `block` does.
    BlockPolicy(BlockPolicyOption),
    /// `set state-policy if-bound|floating`.
    StatePolicy(StatePolicy),
    /// `set limit NAME N` (states, frags, src-nodes, tables, table-entries, …).
    Limit(Vec<(String, u64)>),
    /// `set timeout NAME N` (seconds).
    Timeout(Vec<(String, u64)>),
    /// `set optimization normal|high-latency|satellite|aggressive|conservative`.
    Optimization(String),
    /// `set ruleset-optimization none|basic|profile`.
    RulesetOptimization(String),
    /// `set loginterface IF|none`.
    LogInterface(Option<String>),
    /// `set hostid N`.
    HostId(u32),
    /// `set debug LEVEL`.
    Debug(String),
    /// `set reassemble yes|no [no-df]`.
    Reassemble {
        /// `yes`.
        enabled: bool,
        /// `no-df`.
        no_df: bool,
    },
    /// `set fingerprints "FILE"`.
    Fingerprints(String),
    /// `set state-defaults …`: state options every `keep state` rule starts from.
    StateDefaults(Vec<StateOpt>),
    /// `set syncookies never|always|adaptive (start N%, end N%)`.
    Syncookies(String),
    /// Any other `set` option, kept by name with its words.
    Other {
        /// The option's name.
        name: String,
        /// Its value as written.
        value: String,
    },
}

/// `set block-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPolicyOption {
    /// Drop silently (the default).
    Drop,
    /// TCP RST, ICMP unreachable for others.
    Return,
}

/// `set state-policy`, or a rule's `if-bound`/`floating` state option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatePolicy {
    /// States match on the interface that created them only.
    IfBound,
    /// States match on any interface (the default).
    Floating,
}

/// `table <name> [persist] [const] [counters] [{ … }] [file "…"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The name, without `<>`.
    pub name: String,
    /// `persist`.
    pub persist: bool,
    /// `const`.
    pub constant: bool,
    /// `counters`.
    pub counters: bool,
    /// The inline entries.
    pub entries: Vec<TableEntry>,
    /// `file "…"` files that were not given with the configuration: what they hold is
    /// not known (the files given are read into `entries`).
    pub files: Vec<String>,
    /// Where it was written.
    pub origin: Origin,
}

/// One table entry: an address or network, possibly negated (`!10.1.0.0/16`).
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    /// `!`: matching this entry means not in the table.
    pub negated: bool,
    /// The address, network, or interface name as written.
    pub host: Host,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `pass`.
    Pass,
    /// `block` with its answer.
    Block(BlockPolicy),
    /// `match`: applies options (translation, tags, logging) without deciding.
    Match,
    /// `anchor "name"`: evaluates another ruleset at this point.
    Anchor(AnchorCall),
    /// `scrub` (FreeBSD and old OpenBSD): normalisation, no verdict.
    Scrub,
    /// Old-style translation (FreeBSD, OpenBSD before 4.7): `nat`, `rdr`, `binat`,
    /// with `no` for the exempting forms.
    OldNat {
        /// Which translation.
        kind: OldNatKind,
        /// `no nat`/`no rdr`/`no binat`.
        no: bool,
    },
    /// `nat-anchor`/`rdr-anchor`/`binat-anchor` (FreeBSD).
    OldNatAnchor {
        /// Which translation list.
        kind: OldNatKind,
        /// The anchor called.
        call: AnchorCall,
    },
}

/// The old translation rules' kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldNatKind {
    /// `nat`: source.
    Nat,
    /// `rdr`: destination.
    Rdr,
    /// `binat`: both ways.
    Binat,
}

/// What a `block` rule sends back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPolicy {
    /// Plain `block` not resolved against `set block-policy`: the pf.conf reader
    /// resolves it as pfctl does (to `Drop` or `Return`); a rule built otherwise may
    /// leave it, meaning pf's default, drop.
    Default,
    /// `block drop`.
    Drop,
    /// `block return`: RST for TCP, ICMP port unreachable otherwise.
    Return,
    /// `block return-rst [(ttl N)]`.
    ReturnRst {
        /// The RST's TTL, when given.
        ttl: Option<u8>,
    },
    /// `block return-icmp[(code[, code6])]` / `return-icmp6(code)`.
    ReturnIcmp {
        /// ICMP unreachable code for IPv4 (`None`: port-unr).
        code4: Option<u8>,
        /// ICMPv6 unreachable code (`None`: port-unr).
        code6: Option<u8>,
        /// Written as `return-icmp6`.
        v6_only: bool,
    },
}

/// An anchor call (`anchor "name"`, `anchor "x/*"`, `anchor { … }`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorCall {
    /// The path as written (`ftp-proxy/*`); `None` for an unnamed inline anchor.
    pub name: Option<String>,
    /// The body written inline (`anchor "x" { … }`), when there is one.
    pub body: Option<Box<Ruleset>>,
}

/// `in`, `out`, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDirection {
    /// Both (no direction written).
    Both,
    /// `in`.
    In,
    /// `out`.
    Out,
}

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Af {
    /// `inet`.
    Inet,
    /// `inet6`.
    Inet6,
}

/// `log [(all, matches, user, to pflogN)]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Log {
    /// `all`: every packet of the state, not only the first.
    pub all: bool,
    /// `matches`: log every later matching rule's packets too.
    pub matches: bool,
    /// `user`: log the socket's user and pid.
    pub user: bool,
    /// `to pflogN`.
    pub to: Option<String>,
}

/// `on IF` with its forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    /// `on ! IF`.
    pub negated: bool,
    /// Interface, group (`egress`) or `any`.
    pub name: String,
}

/// A host expression of `from`/`to`, a table entry or a translation pool.
#[derive(Debug, Clone, PartialEq)]
pub enum Host {
    /// `any`.
    Any,
    /// An address with its prefix length (`10.0.0.0/8`, `1.2.3.4` = /32).
    Network {
        /// The address (masked as pfctl masks it).
        addr: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
    /// `a - b`: an address range.
    Range(IpAddr, IpAddr),
    /// `(if)` with its modifier: follows the interface's addresses at run time.
    Dynamic {
        /// Interface or group name (`self` for all local addresses).
        interface: String,
        /// `:network`, `:broadcast`, `:peer`, `:0`.
        modifier: DynamicModifier,
        /// `/N` written after it.
        prefix: Option<u8>,
        /// `inet`/`inet6` the rule restricts it to.
        af: Option<Af>,
    },
    /// An interface or group name without parentheses: its addresses when the ruleset
    /// was loaded (pfctl resolves it then); kept by name when the host is not known.
    /// `self` stands for every address of the host.
    InterfaceName {
        /// The name.
        name: String,
        /// The modifier.
        modifier: DynamicModifier,
    },
    /// `<table>`.
    Table(String),
    /// `no-route`: addresses with no route.
    NoRoute,
    /// `urpf-failed`: the packet fails the unicast reverse path check.
    UrpfFailed,
    /// `route LABEL`: addresses of routes with that label.
    RouteLabel(String),
    /// A host name pfctl would look up in DNS; kept unresolved.
    Name(String),
}

/// The modifier of an interface address (`(em0:network)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DynamicModifier {
    /// All its addresses.
    #[default]
    None,
    /// `:network`.
    Network,
    /// `:broadcast`.
    Broadcast,
    /// `:peer`.
    Peer,
    /// `:0`: the first address only (no aliases).
    NoAlias,
    /// `:network:0`: the network of the first address only.
    NetworkNoAlias,
    /// `:broadcast:0`: the broadcast address of the first address only.
    BroadcastNoAlias,
    /// `:peer:0`: the peer of the first address only.
    PeerNoAlias,
}

impl DynamicModifier {
    /// Whether `:0` was given (aliases left out).
    pub fn no_alias(self) -> bool {
        matches!(
            self,
            DynamicModifier::NoAlias
                | DynamicModifier::NetworkNoAlias
                | DynamicModifier::BroadcastNoAlias
                | DynamicModifier::PeerNoAlias
        )
    }
}

/// A negatable host.
#[derive(Debug, Clone, PartialEq)]
pub struct AddrSpec {
    /// `!`.
    pub negated: bool,
    /// The host.
    pub host: Host,
}

/// A comparison on a number (port, uid, gid) as pf writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    /// `= n` (or just `n`).
    Eq(u32),
    /// `!= n`.
    Ne(u32),
    /// `< n`.
    Lt(u32),
    /// `<= n`.
    Le(u32),
    /// `> n`.
    Gt(u32),
    /// `>= n`.
    Ge(u32),
    /// `a:b`: inclusive range.
    Range(u32, u32),
    /// `a >< b`: strictly between.
    Inside(u32, u32),
    /// `a <> b`: outside.
    Outside(u32, u32),
}

/// One side of `from … to …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The address (`any` when none given).
    pub addr: AddrSpec,
    /// The port, when given.
    pub port: Option<NumOp>,
}

/// `flags X/Y` (`any`: `Some(TcpFlagsSpec { set: 0, mask: 0 })`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlagsSpec {
    /// Flags that must be set (bits F=1 S=2 R=4 P=8 A=16 U=32 E=64 W=128).
    pub set: u8,
    /// Flags looked at.
    pub mask: u8,
}

/// `icmp-type T [code C]` / `icmp6-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpSpec {
    /// `icmp6-type`.
    pub v6: bool,
    /// The type.
    pub icmp_type: u8,
    /// The code, when given.
    pub code: Option<u8>,
}

/// `no state`, `keep state`, `modulate state`, `synproxy state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepState {
    /// `no state`.
    No,
    /// `keep state` (default for `pass`).
    Keep,
    /// `modulate state`.
    Modulate,
    /// `synproxy state`.
    Synproxy,
}

/// A state option `( … )`.
#[derive(Debug, Clone, PartialEq)]
pub enum StateOpt {
    /// `max N`.
    Max(u32),
    /// `no-sync`.
    NoSync,
    /// `source-track [rule|global]`.
    SourceTrack(Option<String>),
    /// `max-src-nodes N`.
    MaxSrcNodes(u32),
    /// `max-src-states N`.
    MaxSrcStates(u32),
    /// `max-src-conn N`.
    MaxSrcConn(u32),
    /// `max-src-conn-rate N/S`.
    MaxSrcConnRate(u32, u32),
    /// `overload <table> [flush [global]]`.
    Overload {
        /// The table.
        table: String,
        /// `flush`.
        flush: bool,
        /// `flush global`.
        global: bool,
    },
    /// `if-bound` / `floating`.
    Policy(StatePolicy),
    /// `pflow`.
    Pflow,
    /// `sloppy`.
    Sloppy,
    /// A timeout (`tcp.established 600`).
    Timeout(String, u32),
}

/// How a translation pool picks an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolType {
    /// `bitmask`.
    Bitmask,
    /// `random`.
    Random,
    /// `source-hash [key]`.
    SourceHash,
    /// `round-robin`.
    RoundRobin,
    /// `least-states`.
    LeastStates,
}

/// A translation or routing target with its pool options.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// The addresses: one, or several for `route-to (if addr)` lists; the pf.conf
    /// reader turns an address list (or a name standing for several addresses) into
    /// a constant table `<__automatic_N>`, as pfctl does.
    pub hosts: Vec<PoolHost>,
    /// `nat-to`: the source port range (pfctl's default 50001:65535; `None` with
    /// `static-port`). `rdr-to`: the destination port or range (`port N:*` is
    /// resolved to the width of the rule's destination range).
    pub ports: Option<(u16, u16)>,
    /// The pool type; pfctl's default (`round-robin` for tables and `(if)` addresses
    /// with aliases) is filled in.
    pub kind: Option<PoolType>,
    /// `source-hash`'s 128-bit key as `0x` and 32 hex digits (a string key is hashed
    /// with MD5 as pfctl does); `None` when pfctl would pick a random one.
    pub hash_key: Option<String>,
    /// `sticky-address`.
    pub sticky: bool,
    /// `static-port`.
    pub static_port: bool,
}

/// One pool member.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolHost {
    /// The address.
    pub host: Host,
    /// `route-to (em0 10.0.0.1)`: the interface to send by.
    pub interface: Option<String>,
}

/// `route-to`/`reply-to`/`dup-to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `route-to`.
    RouteTo,
    /// `reply-to`.
    ReplyTo,
    /// `dup-to`.
    DupTo,
}

/// `divert-to`, `divert-reply`, `divert-packet`.
#[derive(Debug, Clone, PartialEq)]
pub enum Divert {
    /// `divert-to HOST port PORT`.
    To(Host, u16),
    /// `divert-reply`.
    Reply,
    /// `divert-packet port PORT`.
    Packet(u16),
}

/// `scrub (…)` options on a rule, or an old `scrub` rule's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scrub {
    /// `no-df`.
    pub no_df: bool,
    /// `min-ttl N`.
    pub min_ttl: Option<u8>,
    /// `max-mss N`.
    pub max_mss: Option<u16>,
    /// `random-id`.
    pub random_id: bool,
    /// `reassemble tcp`.
    pub reassemble_tcp: bool,
    /// `set-tos`.
    pub set_tos: Option<u8>,
    /// Old forms: `fragment reassemble`/`crop`/`drop-ovl`.
    pub fragment: Option<String>,
}

/// One expanded pf rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where it was written (with its text); `pfctl -sr -vv` counters when read from one.
    pub origin: Origin,
    /// `@N` of a `pfctl -vvsr` listing; `None` for pf.conf input, where the rule's
    /// position in its list is the number pfctl gives it.
    pub number: Option<u32>,
    /// What it does.
    pub action: Action,
    /// `in`/`out`/both.
    pub direction: RuleDirection,
    /// `log …`.
    pub log: Option<Log>,
    /// `quick`.
    pub quick: bool,
    /// `on IF`.
    pub interface: Option<InterfaceSpec>,
    /// `on rdomain N`.
    pub on_rdomain: Option<u32>,
    /// `inet`/`inet6` (written, or implied by an address).
    pub af: Option<Af>,
    /// `proto P` (one protocol after expansion).
    pub proto: Option<u8>,
    /// `from …`.
    pub from: Endpoint,
    /// `to …`.
    pub to: Endpoint,
    /// `user …`.
    pub user: Option<NumOp>,
    /// `group …`.
    pub group: Option<NumOp>,
    /// `flags X/Y` as pfctl sets it (`S/SA` by default on stateful TCP `pass`).
    pub flags: Option<TcpFlagsSpec>,
    /// `icmp-type`/`icmp6-type`.
    pub icmp: Option<IcmpSpec>,
    /// `tos N`.
    pub tos: Option<u8>,
    /// State keeping.
    pub keep_state: Option<KeepState>,
    /// State options.
    pub state_opts: Vec<StateOpt>,
    /// `fragment`.
    pub fragment: bool,
    /// `allow-opts`.
    pub allow_opts: bool,
    /// `once`.
    pub once: bool,
    /// `label "…"` (macros `$nr`, `$srcaddr`… expanded as pfctl does).
    pub label: Option<String>,
    /// `tag NAME`.
    pub tag: Option<String>,
    /// `[!] tagged NAME`.
    pub tagged: Option<(bool, String)>,
    /// `[!] received-on IF`.
    pub received_on: Option<InterfaceSpec>,
    /// `probability N%` as a fraction (0.5 for `50%`).
    pub probability: Option<f64>,
    /// `prio N`.
    pub prio: Option<u8>,
    /// `set prio N` / `set prio (N, M)`.
    pub set_prio: Option<(u8, Option<u8>)>,
    /// `set tos N`.
    pub set_tos: Option<u8>,
    /// `set queue Q` / `set queue (Q, P)`.
    pub queue: Option<(String, Option<String>)>,
    /// `rtable N`.
    pub rtable: Option<u32>,
    /// `max-pkt-rate N/S`.
    pub max_pkt_rate: Option<(u32, u32)>,
    /// `os "…"`.
    pub os: Option<String>,
    /// `scrub (…)`.
    pub scrub: Option<Scrub>,
    /// `nat-to`, or an old `nat`/`binat` rule's `->`.
    pub nat_to: Option<Pool>,
    /// `rdr-to`, or an old `rdr` rule's `->`.
    pub rdr_to: Option<Pool>,
    /// `binat-to`.
    pub binat_to: Option<Pool>,
    /// `af-to FAMILY from … [to …]`.
    pub af_to: Option<(Af, Pool, Option<Pool>)>,
    /// `route-to`/`reply-to`/`dup-to`.
    pub route: Option<(RouteKind, Pool)>,
    /// `divert-…`.
    pub divert: Option<Divert>,
    /// The anchor path of this rule's list (`None`: the main list).
    pub anchor_path: Option<String>,
    /// `nat pass`/`rdr pass`/`binat pass` (old translation rules): the translated
    /// packet passes without the filter rules.
    pub translation_pass: bool,
}

impl Rule {
    /// An empty rule with this action and origin (every option unset).
    pub fn new(action: Action, origin: Origin) -> Rule {
        let any = || Endpoint {
            addr: AddrSpec {
                negated: false,
                host: Host::Any,
            },
            port: None,
        };
        Rule {
            origin,
            number: None,
            action,
            direction: RuleDirection::Both,
            log: None,
            quick: false,
            interface: None,
            on_rdomain: None,
            af: None,
            proto: None,
            from: any(),
            to: any(),
            user: None,
            group: None,
            flags: None,
            icmp: None,
            tos: None,
            keep_state: None,
            state_opts: Vec::new(),
            fragment: false,
            allow_opts: false,
            once: false,
            label: None,
            tag: None,
            tagged: None,
            received_on: None,
            probability: None,
            prio: None,
            set_prio: None,
            set_tos: None,
            queue: None,
            rtable: None,
            max_pkt_rate: None,
            os: None,
            scrub: None,
            nat_to: None,
            rdr_to: None,
            binat_to: None,
            af_to: None,
            route: None,
            divert: None,
            anchor_path: None,
            translation_pass: false,
        }
    }
}
