//! A pf rule as written, before pfctl's expansion: every place that takes a `{ … }` list
//! holds a list, and host names are already resolved to the hosts they stand for.

use model::pf::{
    Action, Af, Divert, Host, IcmpSpec, InterfaceSpec, KeepState, Log, NumOp, PoolType, RouteKind,
    Rule, RuleDirection, StateOpt, TcpFlagsSpec,
};
use model::{Origin, Span};

/// One host of a `from`/`to` list, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RawHost {
    /// `!`.
    pub negated: bool,
    /// The host.
    pub host: Host,
    /// Its family, when it has one (an address, an interface's address).
    pub af: Option<Af>,
    /// The interface of a scoped IPv6 address (`fe80::1%lo0`).
    pub scope: Option<String>,
    /// Where it was written.
    pub span: Span,
}

/// A translation or routing target as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawPool {
    /// The hosts (a `{ … }` list, or one name standing for several addresses).
    pub hosts: Vec<RawHost>,
    /// Written as a `{ … }` list.
    pub listed: bool,
    /// `route-to (em0 10.0.0.1)` interfaces, one per host (or none).
    pub interfaces: Vec<Option<String>>,
    /// `port a[:b]`.
    pub ports: Option<(u16, u16)>,
    /// `port a:*` (rdr-to): keep the offset of the original port.
    pub port_star: bool,
    /// The pool type.
    pub kind: Option<PoolType>,
    /// `source-hash KEY` as written.
    pub hash_key: Option<String>,
    /// `sticky-address`.
    pub sticky: bool,
    /// `static-port`.
    pub static_port: bool,
    /// Where it was written.
    pub span: Span,
}

/// A rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRule {
    pub span: Span,
    pub action: Action,
    /// Whether a `block` said how it answers (`drop`, `return…`).
    pub explicit_block: bool,
    pub direction: RuleDirection,
    pub log: Option<Log>,
    pub quick: bool,
    pub interfaces: Vec<InterfaceSpec>,
    pub on_rdomain: Option<u32>,
    pub af: Option<Af>,
    pub protos: Vec<(u8, Span)>,
    pub from: Vec<RawHost>,
    pub from_ports: Vec<(NumOp, Span)>,
    pub to: Vec<RawHost>,
    pub to_ports: Vec<(NumOp, Span)>,
    /// `os "…"` fingerprints (a list expands like the others).
    pub os: Vec<String>,
    /// `nat pass`, `rdr pass`, `binat pass`.
    pub translation_pass: bool,
    /// The options with one value, as every expanded rule has them (`tos`, `prio`,
    /// `set …`, `scrub (…)`, `rtable`, …).
    pub fixed: Rule,
    pub opts: FilterOpts,
}

/// The options after the addresses, in any order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilterOpts {
    pub users: Vec<NumOp>,
    pub groups: Vec<NumOp>,
    pub flags: Option<(TcpFlagsSpec, Span)>,
    pub icmp: Vec<(IcmpSpec, Span)>,
    pub keep: Option<KeepState>,
    pub state_opts: Vec<StateOpt>,
    pub label: Option<String>,
    pub tag: Option<String>,
    pub tagged: Option<(bool, String)>,
    pub nat_to: Option<RawPool>,
    pub rdr_to: Option<RawPool>,
    pub binat_to: Option<RawPool>,
    pub af_to: Option<(Af, RawPool, Option<RawPool>)>,
    pub route: Option<(RouteKind, RawPool)>,
    pub divert: Option<(Divert, Span)>,
    /// The addresses `divert-to` names (a host name may give one per family).
    pub divert_hosts: Vec<RawHost>,
}

impl RawRule {
    /// A rule with nothing but its action.
    pub fn new(action: Action, span: Span) -> RawRule {
        RawRule {
            span,
            action: action.clone(),
            explicit_block: false,
            direction: RuleDirection::Both,
            log: None,
            quick: false,
            interfaces: Vec::new(),
            on_rdomain: None,
            af: None,
            protos: Vec::new(),
            from: Vec::new(),
            from_ports: Vec::new(),
            to: Vec::new(),
            to_ports: Vec::new(),
            os: Vec::new(),
            translation_pass: false,
            fixed: Rule::new(action.clone(), Origin::default()),
            opts: FilterOpts::default(),
        }
    }
}
