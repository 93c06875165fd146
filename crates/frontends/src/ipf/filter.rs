//! `ipf.conf`: filter rules, read the way `ipf -f` reads them (IPFilter's `tools/ipf_y.y`).
//!
//! A rule ends where the grammar says it does (newlines are blanks; `;` may end one), so
//! a rule may span lines and the next rule starts at its action. Lists in braces
//! (`from {a,b}`, `port = {22,25}`, `tos {…}`, `icmp-type {…}`, `on {…}`) make one rule
//! per combination, as `ipf` loads them. A rule in a group takes the family and
//! protocol of the group's `head` rule when it names none (`fillgroup`).

use model::diag::ParseError;
use model::ipf::filter::{
    Action, BlockReturn, Dir, FilterRule, IcmpMatch, IpOption, IpfRules, KeepState, LogLevel,
    LogOptions, Matcher, PacketFlag, RouteTo, Tags, TcpFlagsMatch, Tunable, TunableValue,
    WithTests,
};
use model::ipf::pool::PoolEntry;
use model::ipf::{family_of, Addr, Endpoint, InterfaceAddr, IpFamily, PoolKind, PortMatch, Proto};

use super::cursor::{host_mask, masked, parse_number, Cursor, Res};
use super::lexer::Kind;
use super::names;

/// Group names are cut to 15 characters (`FR_GROUPLEN`), tags to 16 (`IPFTAG_LEN`).
const GROUP_LEN: usize = 15;
const TAG_LEN: usize = 16;

/// Reads the settings, then every rule.
pub(crate) fn rules(cx: &mut Cursor) -> Res<IpfRules> {
    let mut tunables = Vec::new();
    while cx.at("set") {
        tunables.push(tunable(cx)?);
    }
    let mut out: Vec<FilterRule> = Vec::new();
    while !cx.done() {
        if cx.eat_punct(";") {
            continue;
        }
        if cx.at("set") {
            return Err(cx.expected("a rule (`set` lines come before the first rule)"));
        }
        let expanded = rule(cx)?;
        for mut r in expanded {
            inherit_from_head(&mut r, &out);
            out.push(r);
        }
    }
    Ok(IpfRules {
        rules: out,
        tunables,
    })
}

/// `set NAME NUMBER;` or `set NAME true|false;`.
fn tunable(cx: &mut Cursor) -> Res<Tunable> {
    let first = cx.pos;
    cx.expect("set")?;
    let name = cx.word("a tunable's name")?.text;
    let t = cx.word("a number, `true` or `false`")?;
    let value = match (parse_number(&t.text), t.text.to_ascii_lowercase().as_str()) {
        (Some(n), _) => TunableValue::Number(n),
        (None, "true") => TunableValue::Bool(true),
        (None, "false") => TunableValue::Bool(false),
        _ => {
            return Err(cx.invalid(
                t.span,
                "tunable value",
                &t.text,
                "not a number, `true` or `false`",
            ))
        }
    };
    cx.expect_punct(";")?;
    Ok(Tunable {
        origin: cx.origin(first),
        name,
        value,
    })
}

/// `fillgroup`: a rule in a group takes the head rule's family and protocol when it names
/// none (the head is the last rule loaded with `head NAME`).
fn inherit_from_head(rule: &mut FilterRule, before: &[FilterRule]) {
    let Some(group) = rule.group.as_deref() else {
        return;
    };
    let Some(head) = before
        .iter()
        .rev()
        .find(|h| h.head.as_deref() == Some(group))
    else {
        return;
    };
    if !is_ipf_type(head) || !is_ipf_type(rule) {
        return;
    }
    if rule.family.is_none() {
        rule.family = head.family;
    }
    if rule.proto.is_none() {
        rule.proto = head.proto;
    }
}

/// Whether `ipf` gives the rule its ordinary matching type (anything beyond `all`).
pub(crate) fn is_ipf_type(r: &FilterRule) -> bool {
    matches!(r.matcher, Matcher::FromTo { .. })
        || r.tos.is_some()
        || r.ttl.is_some()
        || r.proto.is_some()
        || r.icmp.is_some()
        || r.tcp_flags.is_some()
        || !r.with.is_empty()
}

/// One written rule and what it lists, before the lists are multiplied out.
struct Draft {
    rule: FilterRule,
    on: Vec<Vec<String>>,
    tos: Vec<u8>,
    ttl: Vec<u8>,
    from: Vec<Addr>,
    from_ports: Vec<PortMatch>,
    to: Vec<Addr>,
    to_ports: Vec<PortMatch>,
    icmp_types: Vec<u8>,
    icmp_codes: Vec<u8>,
}

/// One rule as written, expanded into the rules `ipf` loads.
fn rule(cx: &mut Cursor) -> Res<Vec<FilterRule>> {
    let first = cx.pos;
    let position = if cx.eat_punct("@") {
        Some(cx.number("a rule position after `@`")?)
    } else {
        None
    };
    let collection = if cx.at_number() {
        cx.number("a collection number")?
    } else {
        0
    };
    let (action, log) = action(cx)?;
    let direction = if cx.eat("in") {
        Dir::In
    } else if cx.eat("out") {
        Dir::Out
    } else {
        return Err(cx.expected("`in` or `out`"));
    };
    let mut d = Draft {
        rule: FilterRule::new(model::Origin::default(), action, direction),
        on: Vec::new(),
        tos: Vec::new(),
        ttl: Vec::new(),
        from: Vec::new(),
        from_ports: Vec::new(),
        to: Vec::new(),
        to_ports: Vec::new(),
        icmp_types: Vec::new(),
        icmp_codes: Vec::new(),
    };
    d.rule.family = cx.opts.family;
    d.rule.collection = collection;
    d.rule.position = position;
    d.rule.log = log;
    head_options(cx, &mut d)?;
    main(cx, &mut d)?;
    tail(cx, &mut d)?;
    cx.eat_punct(";");
    d.rule.origin = cx.origin(first);
    Ok(expand(d))
}

fn action(cx: &mut Cursor) -> Res<(Action, Option<LogOptions>)> {
    let t = cx.word("an action (`pass`, `block`, `log`, `count`, …)")?;
    let action = match t.keyword().as_str() {
        "pass" => Action::Pass,
        "block" => Action::Block(block_return(cx)?),
        "log" => return Ok((Action::Log, Some(log_options(cx)?))),
        "count" => Action::Count,
        "nomatch" => Action::Nomatch,
        "preauth" => Action::Preauth,
        "auth" => {
            if block_return(cx)?.is_some() {
                return Err(cx.unsupported(t.span, "`auth` with a return"));
            }
            Action::Auth
        }
        "skip" => Action::Skip(cx.number("the number of rules to skip")?),
        "decapsulate" => Action::Decapsulate,
        "call" => {
            let now = cx.eat("now");
            let function = cx.word("a function name")?.text;
            cx.expect_punct("/")?;
            let arg = cx.number("the function's argument")?;
            Action::Call { now, function, arg }
        }
        _ => {
            return Err(ParseError::expected(
                cx.src,
                t.span,
                "an action (`pass`, `block`, `log`, `count`, …)",
                &t.text,
            ))
        }
    };
    Ok((action, None))
}

fn block_return(cx: &mut Cursor) -> Res<Option<BlockReturn>> {
    if cx.eat("return-rst") {
        return Ok(Some(BlockReturn::Rst));
    }
    let as_dest = if cx.eat("return-icmp") {
        false
    } else if cx.eat("return-icmp-as-dest") {
        true
    } else {
        return Ok(None);
    };
    let code = if cx.eat_punct("(") {
        let code = icmp_code(cx)?;
        cx.expect_punct(")")?;
        Some(code)
    } else {
        None
    };
    Ok(Some(BlockReturn::Icmp { code, as_dest }))
}

fn icmp_code(cx: &mut Cursor) -> Res<u8> {
    let t = cx.word("an ICMP code")?;
    parse_number(&t.text)
        .and_then(|n| u8::try_from(n).ok())
        .or_else(|| names::unreach_code(&t.keyword()))
        .ok_or_else(|| cx.invalid(t.span, "ICMP code", &t.text, "not a code number or name"))
}

fn log_options(cx: &mut Cursor) -> Res<LogOptions> {
    let mut log = LogOptions::default();
    loop {
        if cx.eat("body") {
            log.body = true;
        } else if cx.eat("first") {
            log.first = true;
        } else if cx.eat("or-block") {
            log.or_block = true;
        } else if cx.eat("level") {
            log.level = Some(log_level(cx)?);
        } else {
            return Ok(log);
        }
    }
}

fn log_level(cx: &mut Cursor) -> Res<LogLevel> {
    let t = cx.word("a syslog level (`local0.info`, `warn`)")?;
    let level = t.keyword();
    let (facility, priority) = match level.split_once('.') {
        Some((f, p)) => (Some(f), p),
        None => (None, level.as_str()),
    };
    if facility.is_some_and(|f| !names::FACILITIES.contains(&f)) {
        return Err(cx.invalid(t.span, "syslog facility", &t.text, "not a facility name"));
    }
    if !names::PRIORITIES.contains(&priority) {
        return Err(cx.invalid(t.span, "syslog priority", &t.text, "not a priority name"));
    }
    Ok(LogLevel {
        facility: facility.map(str::to_string),
        priority: priority.to_string(),
    })
}

/// The options between the direction and the protocol: `log`, `quick`, `on`, `to`,
/// `dup-to`, `reply-to`, `fastroute`, `in-via`/`out-via`.
fn head_options(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    loop {
        if cx.eat("log") {
            d.rule.log = Some(log_options(cx)?);
        } else if cx.eat("quick") {
            d.rule.quick = true;
        } else if cx.eat("on") {
            if cx.eat_punct("{") {
                loop {
                    d.on.push(interface_pair(cx)?);
                    if !cx.eat_punct(",") {
                        break;
                    }
                }
                cx.expect_punct("}")?;
            } else {
                d.on.push(interface_pair(cx)?);
            }
        } else if cx.at("in-via") || cx.at("out-via") {
            cx.bump();
            d.rule.via = interface_pair(cx)?;
        } else if cx.eat("to") || cx.eat("route-to") {
            d.rule.route_to = Some(route_to(cx, d)?);
        } else if cx.eat("dup-to") {
            d.rule.dup_to = Some(route_to(cx, d)?);
        } else if cx.eat("reply-to") {
            d.rule.reply_to = Some(route_to(cx, d)?);
        } else if cx.eat("fastroute") {
            d.rule.fastroute = true;
        } else {
            return Ok(());
        }
    }
}

/// `IF` or `IF,IF2`.
fn interface_pair(cx: &mut Cursor) -> Res<Vec<String>> {
    let mut names = vec![interface(cx)?];
    if cx.at_punct(",") && cx.peek_at(1).is_some_and(|t| t.kind == Kind::Word) {
        cx.bump();
        names.push(interface(cx)?);
    }
    Ok(names)
}

fn interface(cx: &mut Cursor) -> Res<String> {
    let t = cx.word("an interface name")?;
    Ok(t.text)
}

/// `IF`, `IF:HOP` (`to`, `dup-to`, `reply-to`).
fn route_to(cx: &mut Cursor, d: &mut Draft) -> Res<RouteTo> {
    let t = cx.word("an interface name")?;
    if t.is("dstlist") && cx.eat_punct("/") {
        return Ok(RouteTo {
            interface: cx.word("a destination list's name")?.text,
            next_hop: None,
            dstlist: true,
        });
    }
    let Some((interface, hop)) = t.text.split_once(':') else {
        return Ok(RouteTo {
            interface: t.text,
            next_hop: None,
            dstlist: false,
        });
    };
    let next_hop = cx
        .host_value(hop)
        .map_err(|_| cx.invalid(t.span, "next hop", hop, "not an address"))?;
    set_family(cx, d, family_of(next_hop), t.span)?;
    Ok(RouteTo {
        interface: interface.to_string(),
        next_hop: Some(next_hop),
        dstlist: false,
    })
}

fn set_family(cx: &Cursor, d: &mut Draft, family: IpFamily, span: model::Span) -> Res<()> {
    match d.rule.family {
        Some(f) if f != family => Err(cx.invalid(
            span,
            "address",
            &cx.src.text[span.start as usize..span.end as usize],
            "not of the rule's address family",
        )),
        _ => {
            d.rule.family = Some(family);
            Ok(())
        }
    }
}

/// `[family] [tos] [ttl] [proto] (all | from … to … | exp {…} | bpf-v4 {…})`.
fn main(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    if cx.eat("family") && !(cx.at("inet") || cx.at("inet6")) {
        return Err(cx.expected("`inet` or `inet6`"));
    }
    let at = cx.here();
    let family = if cx.eat("inet") {
        Some(IpFamily::Inet)
    } else if cx.eat("inet6") {
        Some(IpFamily::Inet6)
    } else {
        None
    };
    if let Some(family) = family {
        // Under `-4`/`-6` the other family is an error (`ipf_y.y` `family:`).
        if cx.opts.family.is_some_and(|f| f != family) {
            return Err(cx.invalid(
                at,
                "family",
                &cx.src.text[at.start as usize..at.end as usize],
                "not the family the rules are read for",
            ));
        }
        d.rule.family = Some(family);
    }
    if cx.eat("tos") {
        d.tos = small_list(cx, "a TOS value")?;
    }
    if cx.eat("ttl") {
        d.ttl = small_list(cx, "a TTL")?;
    }
    if cx.eat("proto") {
        d.rule.proto = Some(cx.proto()?);
    }
    if cx.eat("all") {
        d.rule.matcher = Matcher::All;
    } else if cx.at("from") {
        from_to(cx, d)?;
    } else if cx.eat("exp") {
        cx.expect_punct("{")?;
        let t = cx.string("a quoted expression")?;
        cx.expect_punct("}")?;
        let text = super::expr::normalise(&t.text)
            .map_err(|reason| cx.invalid(t.span, "expression", &t.text, reason))?;
        d.rule.matcher = Matcher::Expression(text);
    } else if cx.at("bpf-v4") || cx.at("bpf-v6") {
        let family = if cx.eat("bpf-v4") {
            IpFamily::Inet
        } else {
            cx.bump();
            IpFamily::Inet6
        };
        cx.expect_punct("{")?;
        let program = cx.string("a quoted BPF program")?.text;
        cx.expect_punct("}")?;
        d.rule.family = Some(family);
        d.rule.matcher = Matcher::Bpf { family, program };
    }
    Ok(())
}

/// `N` or `{N, M, …}` of byte values.
fn small_list(cx: &mut Cursor, what: &str) -> Res<Vec<u8>> {
    if !cx.eat_punct("{") {
        return Ok(vec![cx.small(what)?]);
    }
    let mut out = Vec::new();
    loop {
        out.push(cx.small(what)?);
        cx.eat_punct(",");
        if cx.eat_punct("}") {
            return Ok(out);
        }
    }
}

/// `from [!] ADDR [port …] [to [!] ADDR [port …]]`; a side left out is `any`.
fn from_to(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    cx.expect("from")?;
    let (from_neg, addrs, ports) = endpoint(cx, d)?;
    d.from = addrs;
    d.from_ports = ports;
    let mut to_neg = false;
    if cx.eat("to") {
        let (neg, addrs, ports) = endpoint(cx, d)?;
        to_neg = neg;
        d.to = addrs;
        d.to_ports = ports;
    }
    d.rule.matcher = Matcher::FromTo {
        from: Endpoint {
            negated: from_neg,
            ..Endpoint::any()
        },
        to: Endpoint {
            negated: to_neg,
            ..Endpoint::any()
        },
    };
    Ok(())
}

type Side = (bool, Vec<Addr>, Vec<PortMatch>);

fn endpoint(cx: &mut Cursor, d: &mut Draft) -> Res<Side> {
    let negated = cx.eat_punct("!");
    let addrs = if cx.at("port") {
        vec![Addr::Any]
    } else if cx.eat_punct("{") {
        let mut list = Vec::new();
        loop {
            list.push(address(cx, d)?);
            if !cx.eat_punct(",") {
                break;
            }
        }
        cx.expect_punct("}")?;
        list
    } else {
        vec![address(cx, d)?]
    };
    let at = cx.here();
    let ports = if cx.eat("port") {
        if matches!(d.rule.proto, Some(Proto::Number(p)) if p != 6 && p != 17) {
            return Err(cx.invalid(at, "port match", "port", "the rule's protocol has no ports"));
        }
        ports(cx)?
    } else {
        Vec::new()
    };
    Ok((negated, addrs, ports))
}

/// After `port`: `OP N`, `OP {N,…}`, `N <> M`, `N >< M`, `N:M`.
fn ports(cx: &mut Cursor) -> Res<Vec<PortMatch>> {
    let Some(op) = cx.port_op() else {
        return Ok(vec![cx.port_match()?]);
    };
    list(cx, |cx| cx.port_or_range(op))
}

/// One address of `from`/`to`.
fn address(cx: &mut Cursor, d: &mut Draft) -> Res<Addr> {
    if cx.eat("any") {
        return Ok(Addr::Any);
    }
    if cx.at_punct("<") && cx.peek_at(1).is_some_and(|t| t.is("thishost")) {
        cx.pos += 2;
        cx.expect_punct(">")?;
        return Ok(Addr::ThisHost);
    }
    let kinds = [("pool", PoolKind::Tree), ("hash", PoolKind::Hash)];
    if let Some((kind, name)) = cx.pool_ref(&kinds)? {
        return Ok(Addr::Pool { kind, name });
    }
    for (word, kind) in kinds {
        if cx.at(word) && cx.peek_at(1).is_some_and(|t| t.is_punct("=")) {
            cx.pos += 2;
            cx.expect_punct("(")?;
            // The pool's addresses are its own: they do not give the rule a family.
            let family = d.rule.family;
            let mut entries = Vec::new();
            loop {
                let negated = kind == PoolKind::Tree && cx.eat_punct("!");
                let net = match address(cx, d)? {
                    Addr::Net(net) => net,
                    _ => return Err(cx.expected("an address")),
                };
                entries.push(PoolEntry {
                    negated,
                    net,
                    group: None,
                });
                if !cx.eat_punct(",") {
                    break;
                }
            }
            cx.expect_punct(")")?;
            d.rule.family = family;
            return Ok(match kind {
                PoolKind::Hash => Addr::InlineHash(entries),
                _ => Addr::InlinePool(entries),
            });
        }
    }
    if cx.eat_punct("(") {
        let name = interface(cx)?;
        cx.expect_punct(")")?;
        return interface_address(cx, d, name);
    }
    let t = cx.word("an address")?;
    if d.on
        .iter()
        .flatten()
        .chain(&d.rule.via)
        .any(|n| *n == t.text)
    {
        return interface_address(cx, d, t.text);
    }
    let addr = match cx.host_value(&t.text) {
        Ok(addr) => addr,
        Err(name) => {
            let prefix = if cx.eat_punct("/") {
                Some(cx.small("a prefix length")?)
            } else {
                None
            };
            return Ok(Addr::Host { name, prefix });
        }
    };
    let family = family_of(addr);
    set_family(cx, d, family, t.span)?;
    let mask = if cx.eat_punct("/") || cx.eat("mask") {
        cx.mask(family)?
    } else {
        host_mask(addr)
    };
    Ok(Addr::Net(
        masked(addr, mask).expect("mask of the address's family"),
    ))
}

/// `IF/32`, `IF/bcast`, `IF/net`, `IF/netmasked`, `IF/peer`, or `IF` alone.
fn interface_address(cx: &mut Cursor, d: &mut Draft, name: String) -> Res<Addr> {
    let family = d.rule.family.unwrap_or(IpFamily::Inet);
    d.rule.family = Some(family);
    if !cx.eat_punct("/") {
        return Ok(Addr::Interface {
            name,
            which: InterfaceAddr::Address,
        });
    }
    let t = cx.word("`bcast`, `net`, `netmasked`, `peer` or a prefix length")?;
    let full = match family {
        IpFamily::Inet => 32,
        IpFamily::Inet6 => 128,
    };
    let which = match t.keyword().as_str() {
        "bcast" | "broadcast" => InterfaceAddr::Broadcast,
        "net" | "network" => InterfaceAddr::Network,
        "netmasked" => InterfaceAddr::Netmasked,
        "peer" => InterfaceAddr::Peer,
        n => match n.parse::<u8>() {
            Ok(len) if len == full => InterfaceAddr::Address,
            Ok(len) if len < full => InterfaceAddr::Prefix(len),
            _ => {
                return Err(cx.invalid(
                    t.span,
                    "interface address",
                    n,
                    "not `bcast`, `net`, `netmasked`, `peer` or a prefix length",
                ))
            }
        },
    };
    Ok(Addr::Interface { name, which })
}

/// Everything after the addresses: `flags`, `icmp-type`, `with`, `keep`, `head`, `group`,
/// tags, `pps`, `age`, `rule-ttl`, `comment`.
fn tail(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    loop {
        if cx.eat("flags") {
            d.rule.tcp_flags = Some(tcp_flags(cx)?);
        } else if cx.eat("icmp-type") {
            icmp_type(cx, d)?;
        } else if cx.at("with") || cx.at("and") || cx.at("not") {
            with(cx, d)?;
        } else if cx.eat("keep") {
            keep(cx, d)?;
        } else if cx.eat("head") {
            d.rule.head = Some(group_name(cx)?);
        } else if cx.eat("group") {
            d.rule.group = Some(group_name(cx)?);
        } else if cx.eat("set-tag") {
            d.rule.set_tag = Some(tags(cx)?);
        } else if cx.eat("match-tag") {
            d.rule.match_tag = Some(tags(cx)?);
        } else if cx.eat("pps") {
            d.rule.pps = Some(cx.number("packets per second")?);
        } else if cx.eat("age") {
            let age = age(cx)?;
            match d.rule.keep_state.as_mut() {
                Some(state) => state.age = Some(age),
                None => return Err(cx.expected("`keep state` before `age`")),
            }
        } else if cx.eat("rule-ttl") {
            d.rule.rule_ttl = Some(cx.number("seconds")?);
        } else if cx.eat("comment") {
            d.rule.comment = Some(cx.string("a quoted comment")?.text);
        } else {
            return Ok(());
        }
    }
}

fn group_name(cx: &mut Cursor) -> Res<String> {
    let t = cx.word("a group name")?;
    Ok(t.text.chars().take(GROUP_LEN).collect())
}

/// `N` or `N/M` seconds.
fn age(cx: &mut Cursor) -> Res<(u32, u32)> {
    let first = cx.number("seconds")?;
    let second = if cx.eat_punct("/") {
        cx.number("seconds")?
    } else {
        first
    };
    Ok((first, second))
}

/// `S`, `S/SA`, `/SA`, `2/18`, `0x80/A`.
fn tcp_flags(cx: &mut Cursor) -> Res<TcpFlagsMatch> {
    let set = if cx.at_punct("/") { 0 } else { flag_set(cx)? };
    let mask = if cx.eat_punct("/") {
        flag_set(cx)?
    } else {
        0x3f
    };
    Ok(TcpFlagsMatch { set, mask })
}

/// TCP flags by letter (`FSRPAUEC`) or as a number.
fn flag_set(cx: &mut Cursor) -> Res<u8> {
    let t = cx.word("TCP flags (`S`, `SA`, `0x12`)")?;
    if let Some(n) = parse_number(&t.text) {
        return u8::try_from(n).map_err(|_| cx.invalid(t.span, "TCP flags", &t.text, "above 0xff"));
    }
    let mut bits = 0u8;
    for c in t.text.chars() {
        bits |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'C' => 0x80,
            _ => return Err(cx.invalid(t.span, "TCP flags", &t.text, "not among `FSRPAUEC`")),
        };
    }
    Ok(bits)
}

/// `icmp-type T|{T,…} [code C|{C,…}]`.
fn icmp_type(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    let family = d.rule.family.unwrap_or(IpFamily::Inet);
    d.rule.family = Some(family);
    let one = |cx: &mut Cursor| -> Res<u8> {
        let t = cx.word("an ICMP type")?;
        parse_number(&t.text)
            .and_then(|n| u8::try_from(n).ok())
            .or_else(|| names::icmp_type(family, &t.text))
            .ok_or_else(|| cx.invalid(t.span, "ICMP type", &t.text, "not a type number or name"))
    };
    d.icmp_types = list(cx, one)?;
    if cx.eat("code") {
        d.icmp_codes = list(cx, icmp_code)?;
    }
    Ok(())
}

/// One value or `{value, …}`.
fn list<T>(cx: &mut Cursor, mut one: impl FnMut(&mut Cursor) -> Res<T>) -> Res<Vec<T>> {
    if !cx.eat_punct("{") {
        return Ok(vec![one(cx)?]);
    }
    let mut out = Vec::new();
    loop {
        out.push(one(cx)?);
        cx.eat_punct(",");
        if cx.eat_punct("}") {
            return Ok(out);
        }
    }
}

/// `with [not] X, [not] opt Y,Z, …`, `and not X`, `not opt …`.
fn with(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    let tests = &mut d.rule.with;
    let mut v4_options = false;
    while cx.eat("with") || cx.eat("and") || cx.at("not") || cx.at("opt") {
        loop {
            let wanted = !cx.eat("not");
            if cx.eat("opt") || cx.eat("v6hdr") {
                options(cx, tests, wanted, &mut v4_options)?;
            } else {
                let t = cx.word("a packet property (`short`, `frag`, `opt …`)")?;
                let flag = packet_flag(&t.keyword()).ok_or_else(|| {
                    cx.invalid(
                        t.span,
                        "packet property",
                        &t.text,
                        "not a property `with` tests",
                    )
                })?;
                put(&mut tests.flags, flag, wanted);
            }
            if !cx.eat_punct(",") {
                break;
            }
        }
    }
    tests.flags.sort();
    tests.options.sort();
    tests
        .sec_classes
        .sort_by_key(|(c, _)| names::SEC_CLASSES.iter().position(|n| n == c));
    if v4_options {
        d.rule.family.get_or_insert(IpFamily::Inet);
    }
    Ok(())
}

fn put<T: PartialEq>(list: &mut Vec<(T, bool)>, item: T, wanted: bool) {
    list.retain(|(i, _)| *i != item);
    list.push((item, wanted));
}

/// The names after `opt`: IPv4 options, `sec-class C,…`, IPv6 headers.
fn options(cx: &mut Cursor, tests: &mut WithTests, wanted: bool, v4: &mut bool) -> Res<()> {
    loop {
        let t = cx.word("an IP option name")?;
        if t.is("sec-class") {
            loop {
                let c = cx.word("a security class")?;
                let class = c.keyword();
                if !names::SEC_CLASSES.contains(&class.as_str()) {
                    return Err(cx.invalid(c.span, "security class", &c.text, "not a class name"));
                }
                put(&mut tests.sec_classes, class, wanted);
                if !(cx.at_punct(",") && next_is_in(cx, names::SEC_CLASSES)) {
                    break;
                }
                cx.bump();
            }
            *v4 = true;
        } else if let Some(&(_, o)) = names::IP_OPTIONS.iter().find(|(n, _)| t.is(n)) {
            put(&mut tests.options, o, wanted);
            *v4 = true;
        } else if let Some(&(_, h)) = names::V6_HEADERS.iter().find(|(n, _)| t.is(n)) {
            put(&mut tests.options, IpOption::V6Header(h), wanted);
        } else {
            return Err(cx.invalid(t.span, "IP option", &t.text, "not an option name"));
        }
        let more = cx.at_punct(",")
            && (next_is_in(cx, &["sec-class"])
                || cx
                    .peek_at(1)
                    .is_some_and(|n| names::IP_OPTIONS.iter().any(|(o, _)| n.is(o))));
        if !more {
            return Ok(());
        }
        cx.bump();
    }
}

fn next_is_in(cx: &Cursor, words: &[&str]) -> bool {
    cx.peek_at(1).is_some_and(|n| words.iter().any(|w| n.is(w)))
}

fn packet_flag(word: &str) -> Option<PacketFlag> {
    Some(match word {
        "ipopts" | "ipopt" => PacketFlag::IpOpts,
        "short" => PacketFlag::Short,
        "frag" | "frags" => PacketFlag::Frag,
        "frag-body" => PacketFlag::FragBody,
        "nat" => PacketFlag::Nat,
        "lowttl" => PacketFlag::LowTtl,
        "bad" => PacketFlag::Bad,
        "bad-src" => PacketFlag::BadSrc,
        "bad-nat" => PacketFlag::BadNat,
        "oow" => PacketFlag::Oow,
        "mbcast" => PacketFlag::Mbcast,
        "bcast" | "broadcast" => PacketFlag::Bcast,
        "mcast" | "multicast" => PacketFlag::Mcast,
        "state" => PacketFlag::State,
        "v6hdrs" => PacketFlag::V6Hdrs,
        _ => return None,
    })
}

/// After `keep`: `state [(…)]` or `frag[s] [(strict)]`.
fn keep(cx: &mut Cursor, d: &mut Draft) -> Res<()> {
    if cx.eat("state") {
        let mut state = KeepState::default();
        if cx.eat_punct("(") {
            loop {
                state_option(cx, &mut state)?;
                cx.eat_punct(",");
                if cx.eat_punct(")") {
                    break;
                }
            }
        }
        d.rule.keep_state = Some(state);
        Ok(())
    } else if cx.eat("frags") || cx.eat("frag") {
        let mut strict = false;
        if cx.eat_punct("(") {
            cx.expect("strict")?;
            strict = true;
            cx.expect_punct(")")?;
        }
        d.rule.keep_frags = Some(strict);
        Ok(())
    } else {
        Err(cx.expected("`state` or `frags`"))
    }
}

fn state_option(cx: &mut Cursor, s: &mut KeepState) -> Res<()> {
    let t = cx.word("a state option (`limit N`, `strict`, `age N`, …)")?;
    match t.keyword().as_str() {
        "limit" => s.limit = Some(cx.number("a number of entries")?),
        "max-srcs" => s.max_srcs = Some(cx.number("a number of sources")?),
        "max-per-src" => {
            let n = cx.number("a number of entries")?;
            let mask = if cx.eat_punct("/") {
                Some(cx.small("a prefix length")?)
            } else {
                None
            };
            s.max_per_src = Some((n, mask));
        }
        "strict" => s.strict = true,
        "loose" => s.loose = true,
        "newisn" => s.newisn = true,
        "no-icmp-err" => s.no_icmp_err = true,
        "sync" => s.sync = true,
        "age" => s.age = Some(age(cx)?),
        "icmp-head" => s.icmp_head = Some(group_name(cx)?),
        _ => {
            return Err(ParseError::expected(
                cx.src,
                t.span,
                "a state option (`limit N`, `strict`, `age N`, …)",
                &t.text,
            ))
        }
    }
    Ok(())
}

/// `(log=N, nat=NAME)`.
fn tags(cx: &mut Cursor) -> Res<Tags> {
    cx.expect_punct("(")?;
    let mut tags = Tags::default();
    loop {
        if cx.eat("log") {
            cx.expect_punct("=")?;
            tags.log = Some(cx.number("a log tag number")?);
        } else if cx.eat("nat") {
            cx.expect_punct("=")?;
            let t = cx.word("a NAT tag")?;
            tags.nat = Some(t.text.chars().take(TAG_LEN).collect());
        } else {
            return Err(cx.expected("`log=N` or `nat=NAME`"));
        }
        if !cx.eat_punct(",") {
            break;
        }
    }
    cx.expect_punct(")")?;
    Ok(tags)
}

/// One rule per combination of the lists, in the order `ipf` loads them.
fn expand(d: Draft) -> Vec<FilterRule> {
    fn or_none<T: Clone>(v: &[T]) -> Vec<Option<T>> {
        if v.is_empty() {
            vec![None]
        } else {
            v.iter().cloned().map(Some).collect()
        }
    }
    let mut out = Vec::new();
    for on in or_none(&d.on) {
        for tos in or_none(&d.tos) {
            for ttl in or_none(&d.ttl) {
                for icmp_type in or_none(&d.icmp_types) {
                    for code in or_none(&d.icmp_codes) {
                        for to_port in or_none(&d.to_ports) {
                            for to in or_none(&d.to) {
                                for from_port in or_none(&d.from_ports) {
                                    for from in or_none(&d.from) {
                                        let mut r = d.rule.clone();
                                        if let Some(on) = &on {
                                            r.on = on.clone();
                                        }
                                        r.tos = tos;
                                        r.ttl = ttl;
                                        r.icmp = icmp_type
                                            .map(|icmp_type| IcmpMatch { icmp_type, code });
                                        if let Matcher::FromTo { from: f, to: t } = &mut r.matcher {
                                            f.addr = from.clone().unwrap_or(Addr::Any);
                                            f.port = from_port;
                                            t.addr = to.clone().unwrap_or(Addr::Any);
                                            t.port = to_port;
                                        }
                                        out.push(r);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}
