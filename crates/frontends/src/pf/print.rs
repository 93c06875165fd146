//! pfctl's normalised printer: a ruleset as `pfctl -o none -nv -f -` prints it
//! (`pfctl_parser.c`: `print_rule`, `print_fromto`, `print_pool`, `print_tabledef`;
//! `pf_print_state.c`: `print_addr`).
//!
//! `-nv` prints macros, options and tables as it reads them and the rules once the
//! whole file is read, so the items other than rules come first, in order, then the
//! rules, anchors' bodies indented by two spaces.

use std::fmt::Write;
use std::net::IpAddr;

use model::pf::{
    Action, Af, AnchorCall, BlockPolicy, BlockPolicyOption, Divert, DynamicModifier, Endpoint,
    Host, Item, KeepState, NumOp, PfOption, Pool, PoolType, RouteKind, Rule, RuleDirection,
    Ruleset, StateOpt, StatePolicy, Table,
};

use super::names;

/// The whole ruleset as `pfctl -nv` prints it.
pub fn print_ruleset(ruleset: &Ruleset) -> String {
    let mut out = String::new();
    for item in &ruleset.items {
        match item {
            Item::Macro { name, value, .. } => {
                let _ = writeln!(out, "{name} = \"{value}\"");
            }
            Item::Option(option, _) => out.push_str(&option_lines(option)),
            Item::Table(table) => {
                out.push_str(&table_line(table));
                out.push('\n');
            }
            Item::Queue(q) => {
                out.push_str(&q.printed);
                out.push('\n');
            }
            Item::Rule(_) | Item::LoadAnchor { .. } => {}
        }
    }
    print_rules(ruleset, 0, &mut out);
    // `-nv` prints the rules of anchors loaded from files after the main ruleset's.
    for item in &ruleset.items {
        if let Item::LoadAnchor {
            ruleset: Some(loaded),
            ..
        } = item
        {
            print_rules(loaded, 0, &mut out);
        }
    }
    out
}

fn print_rules(ruleset: &Ruleset, depth: usize, out: &mut String) {
    for rule in ruleset.rules() {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&rule_text(rule));
        if let Action::Anchor(AnchorCall {
            body: Some(body), ..
        }) = &rule.action
        {
            out.push_str(" {\n");
            print_rules(body, depth + 1, out);
            out.push_str(&"  ".repeat(depth));
            out.push('}');
        }
        out.push('\n');
    }
}

/// `set …` lines of one option.
fn option_lines(option: &PfOption) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    match option {
        PfOption::Skip(list) => line(format!("set skip on {{ {} }}", list.join(" "))),
        PfOption::BlockPolicy(p) => line(format!(
            "set block-policy {}",
            match p {
                BlockPolicyOption::Drop => "drop",
                BlockPolicyOption::Return => "return",
            }
        )),
        PfOption::StatePolicy(p) => line(format!(
            "set state-policy {}",
            match p {
                StatePolicy::IfBound => "if-bound",
                StatePolicy::Floating => "floating",
            }
        )),
        PfOption::Limit(pairs) => {
            for (k, v) in pairs {
                line(format!("set limit {k} {v}"));
            }
        }
        PfOption::Timeout(pairs) => {
            for (k, v) in pairs {
                line(format!("set timeout {k} {v}"));
            }
        }
        PfOption::Optimization(v) => line(format!("set optimization {v}")),
        PfOption::RulesetOptimization(v) => line(format!("set ruleset-optimization {v}")),
        PfOption::LogInterface(v) => line(format!(
            "set loginterface {}",
            v.as_deref().unwrap_or("none")
        )),
        PfOption::HostId(v) => line(format!("set hostid 0x{v:08x}")),
        PfOption::Debug(v) => line(format!("set debug {v}")),
        PfOption::Reassemble { enabled, no_df } => line(format!(
            "set reassemble {} {}",
            if *enabled { "yes" } else { "no" },
            if *no_df { "no-df" } else { "" }
        )),
        PfOption::Fingerprints(v) => line(format!("set fingerprints \"{v}\"")),
        PfOption::StateDefaults(opts) => line(format!(
            "set state-defaults {}",
            state_opt_items(opts).join(", ")
        )),
        PfOption::Syncookies(v) => line(format!("set syncookies {v}")),
        PfOption::Other { name, value } => line(format!("set {name} {value}")),
    }
    out
}

/// `table <name> const persist counters { … } file "…"`.
pub fn table_line(table: &Table) -> String {
    let mut s = format!("table <{}>", table.name);
    if table.constant {
        s.push_str(" const");
    }
    if table.persist {
        s.push_str(" persist");
    }
    if table.counters {
        s.push_str(" counters");
    }
    // pfctl prints inline lists and files in the order written; the model keeps the
    // entries apart from the files, so the entries come first.
    if !table.entries.is_empty() {
        s.push_str(" {");
        for e in &table.entries {
            s.push_str(if e.negated { " !" } else { " " });
            s.push_str(&host_text(&e.host, None));
        }
        s.push_str(" }");
    }
    for f in &table.files {
        let _ = write!(s, " file \"{f}\"");
    }
    s
}

fn full_prefix(af: Option<Af>) -> u8 {
    match af {
        Some(Af::Inet) => 32,
        _ => 128,
    }
}

fn is_any(host: &Host) -> bool {
    match host {
        Host::Any => true,
        Host::Network { addr, prefix } => *prefix == 0 && addr.is_unspecified(),
        _ => false,
    }
}

/// An address as `print_addr` writes it, the prefix shown when it is not the whole
/// address of the rule's family.
pub fn host_text(host: &Host, af: Option<Af>) -> String {
    let family = |addr: &IpAddr| af.or(Some(if addr.is_ipv4() { Af::Inet } else { Af::Inet6 }));
    match host {
        h if is_any(h) => "any".into(),
        Host::Network { addr, prefix } => {
            if *prefix == full_prefix(family(addr)) {
                addr.to_string()
            } else {
                format!("{addr}/{prefix}")
            }
        }
        Host::Range(a, b) => format!("{a} - {b}"),
        Host::Dynamic {
            interface,
            modifier,
            prefix,
            ..
        } => {
            let mut s = format!("({interface}{})", modifier_text(*modifier));
            if let Some(p) = prefix {
                if *p != full_prefix(af) {
                    let _ = write!(s, "/{p}");
                }
            }
            s
        }
        Host::InterfaceName { name, modifier } => format!("{name}{}", modifier_text(*modifier)),
        Host::Table(t) => format!("<{t}>"),
        Host::NoRoute => "no-route".into(),
        Host::UrpfFailed => "urpf-failed".into(),
        Host::RouteLabel(l) => format!("route \"{l}\""),
        Host::Name(n) => n.clone(),
        Host::Any => "any".into(),
    }
}

fn modifier_text(m: DynamicModifier) -> &'static str {
    match m {
        DynamicModifier::None => "",
        DynamicModifier::Network => ":network",
        DynamicModifier::Broadcast => ":broadcast",
        DynamicModifier::Peer => ":peer",
        DynamicModifier::NoAlias => ":0",
        DynamicModifier::NetworkNoAlias => ":network:0",
        DynamicModifier::BroadcastNoAlias => ":broadcast:0",
        DynamicModifier::PeerNoAlias => ":peer:0",
    }
}

/// ` = 22`, ` 1024:2048`, ` 21 >< 2048` (`print_op`).
fn op_text(op: NumOp, name: &dyn Fn(u32) -> String) -> String {
    match op {
        NumOp::Eq(a) => format!(" = {}", name(a)),
        NumOp::Ne(a) => format!(" != {}", name(a)),
        NumOp::Lt(a) => format!(" < {a}"),
        NumOp::Le(a) => format!(" <= {a}"),
        NumOp::Gt(a) => format!(" > {a}"),
        NumOp::Ge(a) => format!(" >= {a}"),
        NumOp::Range(a, b) => format!(" {a}:{b}"),
        NumOp::Inside(a, b) => format!(" {a} >< {b}"),
        NumOp::Outside(a, b) => format!(" {a} <> {b}"),
    }
}

/// A port as the `$srcport`/`$dstport` label macros write it.
pub fn port_label(op: NumOp) -> String {
    match op {
        NumOp::Eq(a) => a.to_string(),
        NumOp::Ne(a) => format!("!={a}"),
        NumOp::Lt(a) => format!("<{a}"),
        NumOp::Le(a) => format!("<={a}"),
        NumOp::Gt(a) => format!(">{a}"),
        NumOp::Ge(a) => format!(">={a}"),
        NumOp::Inside(a, b) => format!("{a}><{b}"),
        NumOp::Outside(a, b) => format!("{a}<>{b}"),
        NumOp::Range(..) => String::new(),
    }
}

fn endpoint_text(e: &Endpoint, af: Option<Af>) -> String {
    let mut s = String::new();
    if e.addr.negated {
        s.push_str("! ");
    }
    s.push_str(&host_text(&e.addr.host, af));
    if let Some(p) = e.port {
        s.push_str(" port");
        s.push_str(&op_text(p, &|n| n.to_string()));
    }
    s
}

fn icmp_code_text(t: u8, code: Option<u8>, v6: bool) -> String {
    let default = if v6 { 4 } else { 3 };
    let c = code.unwrap_or(default);
    names::icmp_code_name(t, c, v6)
        .map(str::to_string)
        .unwrap_or_else(|| c.to_string())
}

fn block_text(policy: &BlockPolicy, af: Option<Af>) -> String {
    match policy {
        BlockPolicy::Default | BlockPolicy::Drop => " drop".into(),
        BlockPolicy::Return => " return".into(),
        BlockPolicy::ReturnRst { ttl: None } => " return-rst".into(),
        BlockPolicy::ReturnRst { ttl: Some(t) } => format!(" return-rst(ttl {t})"),
        BlockPolicy::ReturnIcmp { code4, code6, .. } => {
            let v4 = icmp_code_text(3, *code4, false);
            let v6 = icmp_code_text(1, *code6, true);
            match af {
                Some(Af::Inet) => format!(" return-icmp({v4})"),
                Some(Af::Inet6) => format!(" return-icmp6({v6})"),
                None => format!(" return-icmp({v4}, {v6})"),
            }
        }
    }
}

/// A state option's place in `print_rule`'s list and its text; `None` for what it
/// does not print (`floating`, the default).
fn state_opt_item(o: &StateOpt) -> Option<(usize, String)> {
    let item = match o {
        StateOpt::Max(n) => (0, format!("max {n}")),
        StateOpt::NoSync => (1, "no-sync".into()),
        StateOpt::SourceTrack(kind) => (
            2,
            format!(
                "source-track {}",
                if kind.as_deref() == Some("rule") {
                    "rule"
                } else {
                    "global"
                }
            ),
        ),
        StateOpt::MaxSrcStates(n) => (3, format!("max-src-states {n}")),
        StateOpt::MaxSrcConn(n) => (4, format!("max-src-conn {n}")),
        StateOpt::MaxSrcConnRate(n, s) => (5, format!("max-src-conn-rate {n}/{s}")),
        StateOpt::MaxSrcNodes(n) => (6, format!("max-src-nodes {n}")),
        StateOpt::Overload {
            table,
            flush,
            global,
        } => (
            7,
            format!(
                "overload <{table}>{}{}",
                if *flush { " flush" } else { "" },
                if *global { " global" } else { "" }
            ),
        ),
        StateOpt::Policy(StatePolicy::IfBound) => (8, "if-bound".into()),
        StateOpt::Policy(StatePolicy::Floating) => return None,
        StateOpt::Sloppy => (9, "sloppy".into()),
        StateOpt::Pflow => (10, "pflow".into()),
        StateOpt::Timeout(name, v) => {
            let rank = names::TIMEOUTS.iter().position(|t| t == name)?;
            (11 + rank, format!("{name} {v}"))
        }
    };
    Some(item)
}

/// The state options in `print_rule`'s order.
fn state_opt_items(opts: &[StateOpt]) -> Vec<String> {
    let mut items: Vec<(usize, String)> = opts.iter().filter_map(state_opt_item).collect();
    items.sort_by_key(|(rank, _)| *rank);
    items.dedup_by_key(|(rank, _)| *rank);
    items.into_iter().map(|(_, text)| text).collect()
}

/// Whether the options make pfctl print `keep state` and the `( … )` list.
fn has_state_opts(opts: &[StateOpt]) -> bool {
    opts.iter().any(|o| {
        !matches!(
            o,
            StateOpt::Policy(StatePolicy::Floating)
                | StateOpt::MaxSrcConn(_)
                | StateOpt::MaxSrcConnRate(..)
                | StateOpt::Overload { .. }
        )
    })
}

fn pool_text(pool: &Pool, af: Option<Af>, nat: bool, rdr: bool) -> String {
    let mut s = String::new();
    let many = pool.hosts.len() > 1;
    if many {
        s.push_str("{ ");
    }
    let hosts: Vec<String> = pool
        .hosts
        .iter()
        .map(|h| match &h.interface {
            Some(i) if is_any(&h.host) => i.clone(),
            Some(i) => format!("{}@{i}", host_text(&h.host, af)),
            None => host_text(&h.host, af),
        })
        .collect();
    s.push_str(&hosts.join(", "));
    if many {
        s.push_str(" }");
    }
    match pool.ports {
        Some((a, b)) if nat && (a, b) != (50001, 65535) && (a, b) != (0, 0) => {
            if a == b {
                let _ = write!(s, " port {a}");
            } else {
                let _ = write!(s, " port {a}:{b}");
            }
        }
        Some((a, b)) if rdr && a != 0 => {
            let _ = write!(s, " port {a}");
            if b != 0 && b != a {
                let _ = write!(s, ":{b}");
            }
        }
        _ => {}
    }
    match pool.kind {
        Some(PoolType::Bitmask) => s.push_str(" bitmask"),
        Some(PoolType::Random) => s.push_str(" random"),
        Some(PoolType::SourceHash) => {
            s.push_str(" source-hash");
            if let Some(k) = pool.hash_key.as_deref().filter(|k| !k.is_empty()) {
                let _ = write!(s, " {k}");
            }
        }
        Some(PoolType::RoundRobin) => s.push_str(" round-robin"),
        Some(PoolType::LeastStates) => s.push_str(" least-states"),
        None => {}
    }
    if pool.sticky {
        s.push_str(" sticky-address");
    }
    if nat && pool.static_port {
        s.push_str(" static-port");
    }
    s
}

fn probability_text(p: f64) -> String {
    let s = format!("{:.6}", p * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn id_name(n: u32) -> String {
    if n == u32::MAX {
        "unknown".into()
    } else {
        n.to_string()
    }
}

/// One rule as `print_rule` writes it (without `@N`).
pub fn rule_text(r: &Rule) -> String {
    let mut s = String::new();
    let anchor = matches!(r.action, Action::Anchor(_));
    match &r.action {
        Action::Pass => s.push_str("pass"),
        Action::Match => s.push_str("match"),
        Action::Block(policy) => {
            s.push_str("block");
            s.push_str(&block_text(policy, r.af));
        }
        Action::Anchor(call) => match &call.name {
            Some(n) => {
                let _ = write!(s, "anchor \"{n}\"");
            }
            None => s.push_str("anchor"),
        },
        Action::Scrub => s.push_str("scrub"),
        Action::OldNat { kind, no } => {
            if *no {
                s.push_str("no ");
            }
            s.push_str(old_kind(*kind));
            if r.translation_pass {
                s.push_str(" pass");
            }
        }
        Action::OldNatAnchor { kind, call } => {
            let _ = write!(s, "{}-anchor", old_kind(*kind));
            if let Some(n) = &call.name {
                let _ = write!(s, " \"{n}\"");
            }
        }
    }
    match r.direction {
        RuleDirection::In => s.push_str(" in"),
        RuleDirection::Out => s.push_str(" out"),
        RuleDirection::Both => {}
    }
    if let Some(log) = &r.log {
        s.push_str(" log");
        let mut parts = Vec::new();
        if log.all {
            parts.push("all".to_string());
        }
        if log.matches {
            parts.push("matches".into());
        }
        if log.user {
            parts.push("user".into());
        }
        if let Some(to) = &log.to {
            parts.push(format!("to {to}"));
        }
        if !parts.is_empty() {
            let _ = write!(s, " ({})", parts.join(", "));
        }
    }
    if r.quick {
        s.push_str(" quick");
    }
    let negated_if = r.interface.as_ref().is_some_and(|i| i.negated);
    if let Some(i) = r.interface.as_ref().filter(|i| !i.name.is_empty()) {
        let _ = write!(s, " on {}{}", if i.negated { "! " } else { "" }, i.name);
    }
    if let Some(d) = r.on_rdomain {
        let _ = write!(s, " on {}rdomain {d}", if negated_if { "! " } else { "" });
    }
    match r.af {
        Some(Af::Inet) => s.push_str(" inet"),
        Some(Af::Inet6) => s.push_str(" inet6"),
        None => {}
    }
    if let Some(p) = r.proto {
        match names::protocol_name(p) {
            Some(n) => {
                let _ = write!(s, " proto {n}");
            }
            None => {
                let _ = write!(s, " proto {p}");
            }
        }
    }
    let all = is_any(&r.from.addr.host)
        && is_any(&r.to.addr.host)
        && !r.from.addr.negated
        && !r.to.addr.negated
        && r.from.port.is_none()
        && r.to.port.is_none()
        && r.os.is_none();
    if all {
        s.push_str(" all");
    } else {
        let _ = write!(s, " from {}", endpoint_text(&r.from, r.af));
        if let Some(os) = &r.os {
            let _ = write!(s, " os \"{os}\"");
        }
        let _ = write!(s, " to {}", endpoint_text(&r.to, r.af));
    }
    if let Some(i) = &r.received_on {
        let _ = write!(
            s,
            " {}received-on {}",
            if i.negated { "!" } else { "" },
            i.name
        );
    }
    if let Some(u) = r.user {
        s.push_str(" user");
        s.push_str(&op_text(u, &id_name));
    }
    if let Some(g) = r.group {
        s.push_str(" group");
        s.push_str(&op_text(g, &id_name));
    }
    let stateful = matches!(
        r.keep_state,
        Some(KeepState::Keep | KeepState::Modulate | KeepState::Synproxy)
    );
    match r.flags {
        Some(f) if f.set != 0 || f.mask != 0 => {
            let _ = write!(
                s,
                " flags {}/{}",
                names::tcp_flags_text(f.set),
                names::tcp_flags_text(f.mask)
            );
        }
        _ if matches!(r.action, Action::Pass | Action::Match)
            && matches!(r.proto, None | Some(6))
            && !r.fragment
            && !anchor
            && stateful =>
        {
            s.push_str(" flags any")
        }
        _ => {}
    }
    if let Some(icmp) = &r.icmp {
        let v6 = r.af == Some(Af::Inet6);
        s.push_str(if v6 { " icmp6-type" } else { " icmp-type" });
        match names::icmp_type_name(icmp.icmp_type, v6) {
            Some(n) => {
                let _ = write!(s, " {n}");
            }
            None => {
                let _ = write!(s, " {}", icmp.icmp_type);
            }
        }
        if let Some(c) = icmp.code {
            match names::icmp_code_name(icmp.icmp_type, c, v6) {
                Some(n) => {
                    let _ = write!(s, " code {n}");
                }
                None => {
                    let _ = write!(s, " code {c}");
                }
            }
        }
    }
    if let Some(t) = r.tos {
        let _ = write!(s, " tos 0x{t:02x}");
    }
    if let Some(p) = r.prio {
        let _ = write!(s, " prio {p}");
    }
    if let Some((n, secs)) = r.max_pkt_rate {
        let _ = write!(s, " max-pkt-rate {n}/{secs}");
    }
    let mut sets = Vec::new();
    if let Some((a, b)) = r.set_prio {
        match b {
            Some(b) if b != a => sets.push(format!("prio({a}, {b})")),
            _ => sets.push(format!("prio {a}")),
        }
    }
    if let Some((q, pq)) = &r.queue {
        match pq {
            Some(pq) => sets.push(format!("queue({q}, {pq})")),
            None => sets.push(format!("queue {q}")),
        }
    }
    if let Some(t) = r.set_tos {
        sets.push(format!("tos 0x{t:02x}"));
    }
    if !sets.is_empty() {
        let _ = write!(s, " set ({})", sets.join(", "));
    }
    let ropts = stateful && has_state_opts(&r.state_opts);
    match r.keep_state {
        None | Some(KeepState::No) if matches!(r.action, Action::Pass) => s.push_str(" no state"),
        Some(KeepState::Keep) if ropts => s.push_str(" keep state"),
        Some(KeepState::Modulate) => s.push_str(" modulate state"),
        Some(KeepState::Synproxy) => s.push_str(" synproxy state"),
        _ => {}
    }
    if let Some(p) = r.probability.filter(|p| *p > 0.0) {
        let _ = write!(s, " probability {}", probability_text(p));
    }
    if ropts {
        let _ = write!(s, " ({})", state_opt_items(&r.state_opts).join(", "));
    }
    if r.fragment {
        s.push_str(" fragment");
    }
    if let Some(sc) = &r.scrub {
        let mut parts = Vec::new();
        if sc.no_df {
            parts.push("no-df".to_string());
        }
        if sc.random_id {
            parts.push("random-id".into());
        }
        if let Some(t) = sc.min_ttl {
            parts.push(format!("min-ttl {t}"));
        }
        if sc.reassemble_tcp {
            parts.push("reassemble tcp".into());
        }
        if let Some(m) = sc.max_mss {
            parts.push(format!("max-mss {m}"));
        }
        if matches!(r.action, Action::Scrub) {
            // The old `scrub` rule lists its options bare.
            for p in parts {
                let _ = write!(s, " {p}");
            }
        } else if !parts.is_empty() {
            let _ = write!(s, " scrub ({})", parts.join(" "));
        }
    }
    if r.allow_opts {
        s.push_str(" allow-opts");
    }
    if let Some(l) = &r.label {
        let _ = write!(s, " label \"{l}\"");
    }
    if r.once {
        s.push_str(" once");
    }
    if let Some(t) = &r.tag {
        let _ = write!(s, " tag {t}");
    }
    if let Some((neg, t)) = &r.tagged {
        if *neg {
            s.push_str(" !");
        }
        let _ = write!(s, " tagged {t}");
    }
    if let Some(t) = r.rtable {
        let _ = write!(s, " rtable {t}");
    }
    match &r.divert {
        Some(Divert::To(h, port)) => {
            let _ = write!(s, " divert-to {} port {port}", host_text(h, r.af));
        }
        Some(Divert::Reply) => s.push_str(" divert-reply"),
        Some(Divert::Packet(port)) => {
            let _ = write!(s, " divert-packet port {port}");
        }
        None => {}
    }
    let old_nat = matches!(r.action, Action::OldNat { .. });
    if let Some(sc) = r
        .scrub
        .as_ref()
        .filter(|_| matches!(r.action, Action::Scrub))
    {
        if let Some(f) = &sc.fragment {
            let _ = write!(s, " fragment {f}");
        }
    }
    if old_nat {
        if let Some(pool) = &r.nat_to {
            let _ = write!(s, " -> {}", pool_text(pool, r.af, true, false));
        } else if let Some(pool) = &r.rdr_to {
            let _ = write!(s, " -> {}", pool_text(pool, r.af, false, true));
        }
    } else if !anchor {
        if let Some((af, from, to)) = &r.af_to {
            let _ = write!(
                s,
                " af-to {} from {}",
                if *af == Af::Inet { "inet" } else { "inet6" },
                pool_text(from, Some(*af), true, false)
            );
            if let Some(to) = to {
                let _ = write!(s, " to {}", pool_text(to, Some(*af), false, true));
            }
        } else if let Some(pool) = &r.nat_to {
            let _ = write!(s, " nat-to {}", pool_text(pool, r.af, true, false));
        } else if let Some(pool) = &r.rdr_to {
            let _ = write!(s, " rdr-to {}", pool_text(pool, r.af, false, true));
        }
    }
    if let Some((kind, pool)) = &r.route {
        let word = match kind {
            RouteKind::RouteTo => "route-to",
            RouteKind::ReplyTo => "reply-to",
            RouteKind::DupTo => "dup-to",
        };
        let _ = write!(s, " {word} {}", pool_text(pool, r.af, false, false));
    }
    s
}

fn old_kind(kind: model::pf::OldNatKind) -> &'static str {
    match kind {
        model::pf::OldNatKind::Nat => "nat",
        model::pf::OldNatKind::Rdr => "rdr",
        model::pf::OldNatKind::Binat => "binat",
    }
}
