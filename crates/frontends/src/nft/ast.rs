//! The nft syntax tree that both readers produce: [`super::parse`] from `nft list ruleset`
//! text and [`super::json`] from `nft -j` output. [`super::lower`] turns it into the model,
//! so the two dialects share one meaning and twins lower to the same IR.
//!
//! Values stay as written (`Value("established")`, `Value("10.0.0.0/8")` is split into
//! [`Expr::Prefix`] only by JSON): what a value means depends on what it is compared with,
//! which only the lowering knows.

use model::ruleset::Family;
use model::{Origin, Span};

/// An expression: something read from the packet, a value, or a combination.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `tcp dport`, `ip saddr`, `ether type`: the protocol and field as nft names them.
    Payload {
        proto: String,
        field: String,
    },
    /// `meta mark`, `iifname` (an unqualified meta key).
    Meta(String),
    /// `ct state`, `ct original saddr`, `ct reply ip daddr`.
    Ct {
        key: String,
        dir: Option<String>,
    },
    /// `fib saddr . iif oif`: the flags (`saddr`, `daddr`, `mark`, `iif`, `oif`) and the
    /// result (`oif`, `oifname`, `type`).
    Fib {
        flags: Vec<String>,
        result: String,
    },
    /// An IPv6 extension header field (`rt type`, `frag more-fragments`, `exthdr hbh exists`).
    Exthdr {
        name: String,
        field: String,
    },
    /// `tcp option maxseg size`, `tcp option sack-perm` (for `exists`).
    TcpOption {
        name: String,
        field: Option<String>,
    },
    /// Raw payload `@th,16,16`: `len` bits at bit `offset` of the `ll`, `nh`, `th` or `ih`
    /// header.
    Raw {
        base: String,
        offset: u64,
        len: u64,
    },
    /// A selector the model cannot read (`numgen`, `socket`, `osf`, `meta cpu`
    /// is a [`Expr::Meta`]): its name and text.
    Opaque {
        name: String,
        text: String,
    },
    Concat(Vec<Expr>),
    Binop {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// A word, a quoted string, or a JSON string: its meaning depends on the other side.
    Value(String),
    Num(i64),
    Bool(bool),
    /// `established,related` (a flag list) or a JSON array on the right of a match.
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Prefix(Box<Expr>, u32),
    /// An anonymous set `{ a, b }` (or a map's elements).
    Set(Vec<Elem>),
    /// `@name`.
    SetRef(String),
    /// `key map { ... }` / `key map @m`.
    Map {
        key: Box<Expr>,
        data: Box<Expr>,
    },
    /// `*`, the catch-all element.
    Catchall,
    /// A verdict as map data.
    Verdict(VerdictAst),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

/// One element of a set or map: key, and for maps what it maps to. Element options
/// (`timeout`, `expires`, `counter`) are dropped: contents are a snapshot; the comment is
/// kept (tools name what an element stands for there).
#[derive(Debug, Clone, PartialEq)]
pub struct Elem {
    pub key: Expr,
    pub data: Option<Expr>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictAst {
    Accept,
    Drop,
    Continue,
    Return,
    Jump(String),
    Goto(String),
}

/// Relational operators. `Implicit` is "no operator written" (text) or `in` (JSON): for
/// flag types it means "any of these bits", otherwise equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Implicit,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `!` (JSON `"!"`): none of these bits, `(KEY & BITS) == 0`; how nft lists
    /// `ct state & (established | related) == 0` and iptables-nft's `! --ctstate`.
    Neg,
}

/// Where a `queue` sends the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueNum {
    Range(u16, u16),
    /// `to jhash ... mod N`, `symhash mod N`, `numgen ... mod N`: one of queues 0..N-1
    /// (plus offset).
    Hashed {
        modulus: u32,
        offset: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogAst {
    pub prefix: Option<String>,
    pub level: Option<String>,
    pub group: Option<u16>,
    pub flags: Vec<String>,
}

/// One statement of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    /// The statement's bytes (text) or the rule's (JSON).
    pub span: Span,
    /// The statement as written (text) or its compact JSON, for undecidable matches.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Match {
        left: Expr,
        op: Op,
        right: Expr,
    },
    Verdict(VerdictAst),
    Queue {
        num: Option<QueueNum>,
        flags: Vec<String>,
    },
    Counter,
    Log(LogAst),
    /// `reject [with KIND CODE]`: `kind` is `icmp`, `icmpv6`, `icmpx` or `tcp reset`.
    Reject {
        kind: Option<String>,
        code: Option<String>,
    },
    /// `snat|dnat|masquerade|redirect [ip|ip6] [to ADDR[:PORT]] [FLAGS]`.
    Nat {
        kind: String,
        family: Option<String>,
        addr: Option<Expr>,
        port: Option<Expr>,
        flags: Vec<String>,
    },
    /// `KEY set VALUE` (`meta mark set`, `ct mark set`, `ct helper set`, `meta nftrace set`).
    Mangle {
        key: Expr,
        value: Expr,
    },
    Notrack,
    /// `KEY vmap DATA`.
    VMap {
        key: Expr,
        data: Expr,
    },
    /// `add|update|delete @set { ELEM }`: `stateful` when the element carries a `limit`
    /// (the meter idiom: the statement fails when the rate is exceeded).
    SetUpdate {
        op: String,
        set: String,
        elem: Expr,
        stateful: bool,
    },
    /// `limit`, `quota`, `ct count`: undecidable offline.
    Undecidable {
        kind: model::expr::Undecidable,
        text: String,
    },
    /// A statement with no effect on the verdict (`dup`, `flow add`, `secmark`, `last`,
    /// `ct timeout` objects): what it does.
    Effect(model::expr::Effect),
    /// A statement whyblocked does not model: whether it ends the rule is Unknown.
    Unknown(String),
}

/// `priority N` or `priority NAME [+|- N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prio {
    Num(i64),
    Named { name: String, offset: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct HookAst {
    pub chain_type: String,
    pub hook: String,
    pub devices: Vec<String>,
    pub priority: Prio,
    pub policy: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleAst {
    pub stmts: Vec<Stmt>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChainAst {
    pub name: String,
    pub hook: Option<HookAst>,
    pub rules: Vec<RuleAst>,
    pub origin: Origin,
}

/// A set's key type: `type ipv4_addr . inet_service` or `typeof ip saddr . tcp dport`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetKey {
    Type(Vec<String>),
    Typeof(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetAst {
    pub name: String,
    pub is_map: bool,
    pub key: SetKey,
    /// A map's data type (`verdict`, `ipv4_addr`, `mark`, `ipv4_addr . inet_service`).
    pub data: Option<SetKey>,
    pub flags: Vec<String>,
    /// Elements carry a timeout (contents change over time).
    pub timeouts: bool,
    pub elements: Vec<Elem>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableAst {
    pub family: Family,
    pub name: String,
    pub flags: Vec<String>,
    pub chains: Vec<ChainAst>,
    pub sets: Vec<SetAst>,
    pub origin: Origin,
}

impl TableAst {
    pub fn chain_mut(&mut self, name: &str) -> Option<&mut ChainAst> {
        self.chains.iter_mut().find(|c| c.name == name)
    }
    pub fn set_mut(&mut self, name: &str) -> Option<&mut SetAst> {
        self.sets.iter_mut().find(|s| s.name == name)
    }
}
