//! IPFilter's rules printed the way its tools print what they loaded: `ipf -nv`
//! ([`ipf_rule`]), `ipnat -nv` ([`nat_rule`]) and `ippool -nv` ([`pool_def`]). Interfaces
//! are printed as unresolved (`le0(!)`), as `-n` prints them. This is the filter's own
//! syntax, shown to users as the rule the filter has, not English.

use std::fmt::Write;
use std::net::IpAddr;

use model::ipf::filter::{
    Action, BlockReturn, Dir, FilterRule, IpOption, LogOptions, Matcher, PacketFlag, RouteTo,
};
use model::ipf::pool::PoolEntry;
use model::ipf::{
    Addr, Endpoint, InterfaceAddr, IpFamily, Masked, PoolKind, PoolName, PortMatch, PortOp, Proto,
    RangeOp,
};

use super::filter::is_ipf_type;
use super::names;

pub use super::nat_print::nat_rule;
pub use super::pool_print::{lookup_dump, pool_def, AnonymousTable};

/// How a rule is printed: as `ipf -nv` does ([`PrintOptions::IPF_NV`]), or as
/// `ipftest -D` dumps what it loaded ([`PrintOptions::IPFTEST_DUMP`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintOptions {
    /// `-v`: ` # count N` after `keep state`.
    pub verbose: bool,
    /// The interfaces exist (no `(!)` after their names), as in `ipftest`, which creates
    /// every interface it is given.
    pub interfaces_known: bool,
}

impl PrintOptions {
    /// `ipf -nv`: verbose, interfaces not looked up.
    pub const IPF_NV: PrintOptions = PrintOptions {
        verbose: true,
        interfaces_known: false,
    };
    /// `ipftest -D`'s dump: not verbose, interfaces known.
    pub const IPFTEST_DUMP: PrintOptions = PrintOptions {
        verbose: false,
        interfaces_known: true,
    };
}

/// The lines `ipf -nv` prints for one rule (more than one when it made an inline pool).
pub fn ipf_rule(r: &FilterRule) -> String {
    ipf_rule_with(r, &PrintOptions::IPF_NV)
}

/// The lines printed for one rule under `opts`.
pub fn ipf_rule_with(r: &FilterRule, opts: &PrintOptions) -> String {
    let mut out = String::new();
    for pool in inline_pools(r) {
        out.push_str("table role=ipf type=tree number=\n\t{");
        for e in pool.iter().rev() {
            let _ = write!(
                out,
                " {}{};",
                if e.negated { "! " } else { "" },
                net(&e.net)
            );
        }
        out.push_str(" };\n");
    }
    out.push_str(&rule_line(r, opts));
    out
}

fn inline_pools(r: &FilterRule) -> Vec<&Vec<PoolEntry>> {
    let Matcher::FromTo { from, to } = &r.matcher else {
        return Vec::new();
    };
    [from, to]
        .into_iter()
        .filter_map(|e| match &e.addr {
            Addr::InlinePool(entries) => Some(entries),
            _ => None,
        })
        .collect()
}

fn rule_line(r: &FilterRule, opts: &PrintOptions) -> String {
    let mut s = String::new();
    if r.collection != 0 {
        let _ = write!(s, "{} ", r.collection);
    }
    match &r.action {
        Action::Pass => s.push_str("pass"),
        Action::Block(_) => s.push_str("block"),
        Action::Log => s.push_str(&log(r.log.as_ref().unwrap_or(&LogOptions::default()))),
        Action::Count => s.push_str("count"),
        Action::Auth => s.push_str("auth"),
        Action::Preauth => s.push_str("preauth"),
        Action::Nomatch => s.push_str("nomatch"),
        Action::Decapsulate => s.push_str("decapsulate"),
        Action::Skip(n) => {
            let _ = write!(s, "skip {n}");
        }
        Action::Call { now, function, arg } => {
            let _ = write!(s, "call{} {function}/{arg}", if *now { " now" } else { "" });
        }
    }
    match r.action {
        Action::Block(Some(BlockReturn::Rst)) => s.push_str(" return-rst"),
        Action::Block(Some(BlockReturn::Icmp { code, as_dest })) => {
            s.push_str(if as_dest {
                " return-icmp-as-dest"
            } else {
                " return-icmp"
            });
            match code {
                None | Some(0) => {}
                Some(c) => match names::unreach_code_name(c) {
                    Some(name) => {
                        let _ = write!(s, "({name})");
                    }
                    None => {
                        let _ = write!(s, "({c})");
                    }
                },
            }
        }
        _ => {}
    }
    s.push_str(match r.direction {
        Dir::In => " in ",
        Dir::Out => " out ",
    });
    if let (Some(l), false) = (&r.log, r.action == Action::Log) {
        s.push_str(&log(l));
        s.push(' ');
    }
    if r.quick {
        s.push_str("quick ");
    }
    if !r.on.is_empty() {
        s.push_str("on ");
        s.push_str(&interfaces(&r.on, opts));
        s.push(' ');
    }
    for (tag, to) in [
        ("to", &r.route_to),
        ("dup-to", &r.dup_to),
        ("reply-to", &r.reply_to),
    ] {
        if let Some(to) = to {
            s.push_str(&route(tag, to, opts));
        }
    }
    if r.fastroute {
        s.push_str("fastroute ");
    }
    if !r.via.is_empty() {
        s.push_str(match r.direction {
            Dir::Out => "in-via ",
            Dir::In => "out-via ",
        });
        s.push_str(&interfaces(&r.via, opts));
        s.push(' ');
    }
    match r.family {
        Some(IpFamily::Inet) => s.push_str("inet "),
        Some(IpFamily::Inet6) => s.push_str("inet6 "),
        None => {}
    }
    let ipf_type = is_ipf_type(r);
    if ipf_type {
        if let Some(tos) = r.tos {
            let _ = write!(s, "tos {} ", hex(tos.into()));
        }
        if let Some(ttl) = r.ttl {
            let _ = write!(s, "ttl {ttl} ");
        }
        if let Some(p) = r.proto {
            let _ = write!(s, "proto {} ", proto(p));
        }
    }
    match &r.matcher {
        Matcher::Expression(e) => {
            let _ = write!(s, "exp {{ \"{e}\" }} ");
        }
        Matcher::Bpf { family, program } => {
            let v = if *family == IpFamily::Inet { 4 } else { 6 };
            let _ = write!(s, "bpf-v{v} {{ \"{program}\" }}");
        }
        Matcher::All if !ipf_type => s.push_str("all"),
        Matcher::All | Matcher::FromTo { .. } => {
            let any = Endpoint::any();
            let (from, to) = match &r.matcher {
                Matcher::FromTo { from, to } => (from, to),
                _ => (&any, &any),
            };
            s.push_str("from ");
            s.push_str(&endpoint(r, from));
            s.push_str(" to ");
            s.push_str(&endpoint(r, to));
            if let Some(icmp) = r.icmp {
                let family = r.family.unwrap_or(IpFamily::Inet);
                match names::icmp_type_name(family, icmp.icmp_type) {
                    Some(n) => {
                        let _ = write!(s, " icmp-type {n}");
                    }
                    None => {
                        let _ = write!(s, " icmp-type {}", icmp.icmp_type);
                    }
                }
                if let Some(code) = icmp.code {
                    let _ = write!(s, " code {code}");
                }
            }
            if let (Some(f), Some(Proto::Number(6))) = (r.tcp_flags, r.proto) {
                let _ = write!(s, " flags {}", tcp_flags(f.set, f.mask));
            }
        }
    }
    if ipf_type && !r.with.is_empty() {
        s.push_str(" with");
        s.push_str(&with(r));
    }
    if let Some(k) = &r.keep_state {
        s.push_str(" keep state");
        let mut opts: Vec<String> = Vec::new();
        if let Some(n) = k.limit {
            opts.push(format!("limit {n}"));
        }
        if let Some(n) = k.max_srcs {
            let mut o = format!("max-nodes {n}");
            if let Some((per, mask)) = k.max_per_src {
                let _ = write!(o, ", max-per-src {per}/{}", mask.unwrap_or(32));
            }
            opts.push(o);
        }
        for (on, name) in [
            (k.strict, "strict"),
            (k.loose, "loose"),
            (k.newisn, "newisn"),
            (k.no_icmp_err, "no-icmp-err"),
            (k.sync, "sync"),
        ] {
            if on {
                opts.push(name.to_string());
            }
        }
        if let Some((a, b)) = k.age {
            opts.push(format!("age {a}/{b}"));
        }
        let any_flag = k.strict || k.newisn || k.no_icmp_err || k.sync;
        if any_flag || k.limit.is_some() || k.age.is_some() || k.max_srcs.is_some() {
            let _ = write!(s, " ({})", opts.join(","));
        }
    }
    if let Some(strict) = r.keep_frags {
        s.push_str(" keep frags");
        if strict {
            s.push_str(" (strict)");
        }
    }
    if let Some(h) = &r.head {
        let _ = write!(s, " head {h}");
    }
    if let Some(g) = &r.group {
        let _ = write!(s, " group {g}");
    }
    if let Some(t) = &r.set_tag {
        let mut parts = Vec::new();
        if let Some(l) = t.log {
            parts.push(format!("log={l}"));
        }
        if let Some(n) = &t.nat {
            parts.push(format!("nat={n}"));
        }
        let _ = write!(s, " set-tag({})", parts.join(", "));
    }
    if let Some(p) = r.pps {
        let _ = write!(s, " pps {p}");
    }
    if let Some(c) = &r.comment {
        let _ = write!(s, " comment \"{c}\"");
    }
    if r.keep_state.is_some() && opts.verbose {
        s.push_str(" # count 0");
        if let Some(t) = r.rule_ttl {
            let _ = write!(s, " rule-ttl {t}");
        }
    } else if let Some(t) = r.rule_ttl {
        let _ = write!(s, " # rule-ttl {t}");
    }
    s
}

fn log(l: &LogOptions) -> String {
    let mut s = String::from("log");
    if l.body {
        s.push_str(" body");
    }
    if l.first {
        s.push_str(" first");
    }
    if l.or_block {
        s.push_str(" or-block");
    }
    if let Some(level) = &l.level {
        let _ = write!(
            s,
            " level {}.{}",
            level.facility.as_deref().unwrap_or("kern"),
            level.priority
        );
    }
    s
}

fn interfaces(names: &[String], opts: &PrintOptions) -> String {
    names
        .iter()
        .map(|n| {
            if n == "-" || n == "*" || opts.interfaces_known {
                n.clone()
            } else {
                format!("{n}(!)")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn route(tag: &str, to: &RouteTo, opts: &PrintOptions) -> String {
    if to.dstlist {
        return format!("{tag} dstlist/{} ", to.interface);
    }
    match to.next_hop {
        Some(hop) => format!("{tag} {}:{hop} ", to.interface),
        None if opts.interfaces_known => format!("{tag} {} ", to.interface),
        None => format!("{tag} {}(!) ", to.interface),
    }
}

/// `0x40` (C's `%#x`: plain `0` for zero).
fn hex(n: u32) -> String {
    if n == 0 {
        "0".to_string()
    } else {
        format!("{n:#x}")
    }
}

/// A protocol as `ipf -v` names it.
pub(crate) fn proto(p: Proto) -> String {
    match p {
        Proto::TcpUdp => "tcp/udp".to_string(),
        Proto::Number(n) => names::protocol_name(n)
            .map(str::to_string)
            .unwrap_or_else(|| n.to_string()),
    }
}

fn endpoint(r: &FilterRule, e: &Endpoint) -> String {
    let mut s = String::new();
    if e.negated {
        s.push('!');
    }
    s.push_str(&address(r.family, &e.addr));
    if let Some(p) = e.port {
        s.push_str(&port(p));
    }
    s
}

/// An address of a filter rule of `family`.
fn address(family: Option<IpFamily>, a: &Addr) -> String {
    match a {
        Addr::Any => "any".to_string(),
        Addr::Net(m) => match family {
            None => "any".to_string(),
            Some(_) if first_word_zero(m.addr) && first_word_zero(m.mask) => "any".to_string(),
            Some(_) => net(m),
        },
        Addr::Host { name, prefix } => match prefix {
            Some(p) => format!("{name}/{p}"),
            None => name.clone(),
        },
        Addr::Interface { name, which } => match which {
            InterfaceAddr::Address => match family {
                Some(IpFamily::Inet6) => format!("{name}/128"),
                _ => format!("{name}/32"),
            },
            InterfaceAddr::Prefix(n) => format!("{name}/{n}"),
            InterfaceAddr::Broadcast => format!("{name}/bcast"),
            InterfaceAddr::Network => format!("{name}/net"),
            InterfaceAddr::Netmasked => format!("{name}/netmasked"),
            InterfaceAddr::Peer => format!("{name}/peer"),
        },
        Addr::ThisHost => "<thishost>".to_string(),
        Addr::Pool { kind, name } => pool_ref(*kind, name),
        Addr::InlinePool(_) => "pool/0".to_string(),
        Addr::InlineHash(_) => "hash/0".to_string(),
    }
}

/// `pool/N`, `hash/NAME`, `dstlist/NAME`.
pub(crate) fn pool_ref(kind: PoolKind, name: &PoolName) -> String {
    let kind = match kind {
        PoolKind::Tree => "pool",
        PoolKind::Hash => "hash",
        PoolKind::DstList => "dstlist",
    };
    match name {
        PoolName::Number(n) => format!("{kind}/{n}"),
        PoolName::Name(n) => format!("{kind}/{n}"),
    }
}

/// Whether the first 32 bits are zero (how `printhostmask` tells `any`).
fn first_word_zero(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => u32::from(v) == 0,
        IpAddr::V6(v) => v.segments()[0] == 0 && v.segments()[1] == 0,
    }
}

/// `1.2.3.0/24`, or a dotted mask when it is not a prefix.
pub(crate) fn net(m: &Masked) -> String {
    format!("{}/{}", m.addr, mask(m))
}

/// A mask as a prefix length, or dotted when it is not one.
pub(crate) fn mask(m: &Masked) -> String {
    match m.prefix_len() {
        Some(n) => n.to_string(),
        None => m.mask.to_string(),
    }
}

/// ` port = 80`, ` port 1 >< 3`, ` port 2:2`.
pub(crate) fn port(p: PortMatch) -> String {
    match p {
        PortMatch::Cmp { op, port } => format!(" port {} {port}", port_op(op)),
        PortMatch::Range { op, low, high } => match op {
            RangeOp::Inclusive => format!(" port {low}:{high}"),
            RangeOp::Inside => format!(" port {low} >< {high}"),
            RangeOp::Outside => format!(" port {low} <> {high}"),
        },
    }
}

pub(crate) fn port_op(op: PortOp) -> &'static str {
    match op {
        PortOp::Eq => "=",
        PortOp::Ne => "!=",
        PortOp::Lt => "<",
        PortOp::Gt => ">",
        PortOp::Le => "<=",
        PortOp::Ge => ">=",
    }
}

fn tcp_flags(set: u8, mask: u8) -> String {
    const LETTERS: &[(char, u8)] = &[
        ('F', 0x01),
        ('S', 0x02),
        ('R', 0x04),
        ('P', 0x08),
        ('A', 0x10),
        ('U', 0x20),
        ('E', 0x40),
        ('C', 0x80),
    ];
    let letters = |bits: u8| -> String {
        LETTERS
            .iter()
            .filter(|(_, b)| bits & b != 0)
            .map(|(c, _)| *c)
            .collect()
    };
    let mut s = letters(set);
    if mask != 0 {
        s.push('/');
        s.push_str(&letters(mask));
    }
    s
}

/// What follows ` with`.
fn with(r: &FilterRule) -> String {
    let w = &r.with;
    let mut s = String::new();
    let v4: Vec<(IpOption, bool)> = w
        .options
        .iter()
        .copied()
        .filter(|(o, _)| !matches!(o, IpOption::V6Header(_)))
        .collect();
    let has_options = !v4.is_empty() || !w.sec_classes.is_empty();
    if has_options {
        s.push_str(&options(&v4, &w.sec_classes));
    }
    let mut comma = " ";
    for &(flag, wanted) in &w.flags {
        if flag == PacketFlag::IpOpts && has_options {
            continue;
        }
        s.push_str(comma);
        if !wanted {
            s.push_str("not ");
        }
        s.push_str(flag_name(flag));
        comma = ",";
    }
    s
}

fn options(opts: &[(IpOption, bool)], classes: &[(String, bool)]) -> String {
    let name = |o: IpOption| {
        names::IP_OPTIONS
            .iter()
            .find(|(_, x)| *x == o)
            .map_or("?", |(n, _)| *n)
    };
    let mut s = String::new();
    let has_sec = classes.iter().any(|(_, w)| *w);
    // With security classes, `sec` is printed as `sec-class …`.
    let shown = |o: &IpOption| *o != IpOption::Sec || classes.is_empty();
    let wanted: Vec<&str> = opts
        .iter()
        .filter(|(o, w)| *w && shown(o))
        .map(|(o, _)| name(*o))
        .collect();
    let mut sep = " opt ";
    for n in &wanted {
        s.push_str(sep);
        s.push_str(n);
        sep = ",";
    }
    if has_sec {
        s.push_str(sep);
        s.push_str("sec-class");
        let list: Vec<&str> = classes
            .iter()
            .filter(|(_, w)| *w)
            .map(|(c, _)| c.as_str())
            .collect();
        s.push(' ');
        s.push_str(&list.join(","));
    }
    let unwanted: Vec<&str> = opts
        .iter()
        .filter(|(o, w)| !*w && shown(o))
        .map(|(o, _)| name(*o))
        .collect();
    let unwanted_classes: Vec<&str> = classes
        .iter()
        .filter(|(_, w)| !*w)
        .map(|(c, _)| c.as_str())
        .collect();
    if !unwanted.is_empty() || !unwanted_classes.is_empty() {
        s.push_str(" not opt");
        let mut sep = " ";
        for n in &unwanted {
            s.push_str(sep);
            s.push_str(n);
            sep = ",";
        }
        if !unwanted_classes.is_empty() {
            s.push_str(sep);
            s.push_str("sec-class ");
            s.push_str(&unwanted_classes.join(","));
        }
    }
    s
}

fn flag_name(f: PacketFlag) -> &'static str {
    match f {
        PacketFlag::IpOpts => "ipopts",
        PacketFlag::Short => "short",
        PacketFlag::Frag => "frag",
        PacketFlag::FragBody => "frag-body",
        PacketFlag::Nat => "nat",
        PacketFlag::LowTtl => "lowttl",
        PacketFlag::Bad => "bad",
        PacketFlag::BadSrc => "bad-src",
        PacketFlag::BadNat => "bad-nat",
        PacketFlag::Oow => "oow",
        PacketFlag::Mbcast => "mbcast",
        PacketFlag::Bcast => "bcast",
        PacketFlag::Mcast => "mcast",
        PacketFlag::State => "state",
        PacketFlag::V6Hdrs => "v6hdrs",
    }
}
