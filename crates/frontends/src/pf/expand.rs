//! pfctl's `expand_rule`: one rule per combination of the lists a rule was written with
//! (interfaces, protocols, ICMP types, sources and their ports, destinations and theirs,
//! users, groups, in that nesting), with the checks and defaults pfctl applies to each
//! (address families, `flags S/SA` on stateful TCP `pass`, label macros, `binat-to`
//! as a pair of `nat-to` and `rdr-to` rules, pool lists as automatic tables).

use md5::{Digest, Md5};
use model::diag::{ErrorKind, ParseError};
use model::pf::{
    Action, AddrSpec, Af, Endpoint, Host, IcmpSpec, InterfaceSpec, Item, KeepState, NumOp, Pool,
    PoolHost, PoolType, Rule, RuleDirection, StateOpt, Table, TableEntry, TcpFlagsSpec,
};
use model::Span;

use super::names;
use super::parse::Parser;
use super::print::{host_text, port_label};
use super::raw::{RawHost, RawPool, RawRule};

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMP6: u8 = 58;
/// The most rules one written rule may expand into (pfctl has no limit; a file that
/// asks for more is a mistake, or an attack on the reader).
const MAX_COMBINATIONS: usize = 1 << 16;
/// The most rules a whole ruleset may expand into, for the same reason.
const MAX_RULES: usize = 1 << 18;

/// Counters that span the whole parse: rule numbers per ruleset, automatic tables.
#[derive(Debug, Default)]
pub struct Expander {
    /// Rules added to the ruleset being read (its `$nr`).
    rules_in_ruleset: u32,
    /// Automatic tables made so far.
    automatic_tables: u32,
    /// Rules made so far, in every ruleset.
    total_rules: usize,
    /// The anchor path being read.
    anchor: Option<String>,
}

/// What `enter_anchor` saves for `leave_anchor`.
pub struct Saved {
    rules: u32,
    anchor: Option<String>,
}

type PResult<T> = Result<T, ParseError>;

/// `any` as an endpoint host.
fn any_host() -> RawHost {
    RawHost {
        negated: false,
        host: Host::Any,
        af: None,
        scope: None,
        span: Span::default(),
    }
}

fn rule_error(p: &Parser<'_>, span: Span, message: &str) -> ParseError {
    p.error(
        span,
        ErrorKind::Structure {
            message: message.to_string(),
        },
    )
}

impl Expander {
    /// Starts an inline anchor's body: its rules are numbered from 0.
    pub fn enter_anchor(&mut self, name: Option<&str>) -> Saved {
        let path = match (&self.anchor, name) {
            (Some(parent), Some(n)) => Some(format!("{parent}/{n}")),
            (None, Some(n)) => Some(n.to_string()),
            (parent, None) => parent.clone(),
        };
        let saved = Saved {
            rules: self.rules_in_ruleset,
            anchor: self.anchor.take(),
        };
        self.rules_in_ruleset = 0;
        self.anchor = path;
        saved
    }

    /// Back to the enclosing ruleset.
    pub fn leave_anchor(&mut self, saved: Saved) {
        self.rules_in_ruleset = saved.rules;
        self.anchor = saved.anchor;
    }

    /// Expands `raw` and appends its rules (and any automatic table) to `items`.
    pub fn push_rule(
        &mut self,
        p: &Parser<'_>,
        raw: RawRule,
        items: &mut Vec<Item>,
    ) -> PResult<()> {
        if raw.opts.binat_to.is_some() {
            return self.push_binat(p, raw, items);
        }
        let interfaces: Vec<Option<InterfaceSpec>> = if raw.interfaces.is_empty() {
            vec![None]
        } else {
            raw.interfaces.iter().cloned().map(Some).collect()
        };
        let protos: Vec<Option<(u8, Span)>> = if raw.protos.is_empty() {
            vec![None]
        } else {
            raw.protos.iter().copied().map(Some).collect()
        };
        let icmps: Vec<Option<(IcmpSpec, Span)>> = if raw.opts.icmp.is_empty() {
            vec![None]
        } else {
            raw.opts.icmp.iter().copied().map(Some).collect()
        };
        let hosts = |list: &[RawHost]| -> Vec<RawHost> {
            if list.is_empty() {
                vec![any_host()]
            } else {
                list.to_vec()
            }
        };
        let ports = |list: &[(NumOp, Span)]| -> Vec<Option<(NumOp, Span)>> {
            if list.is_empty() {
                vec![None]
            } else {
                list.iter().copied().map(Some).collect()
            }
        };
        let ids = |list: &[NumOp]| -> Vec<Option<NumOp>> {
            if list.is_empty() {
                vec![None]
            } else {
                list.iter().copied().map(Some).collect()
            }
        };
        let (froms, from_ports) = (hosts(&raw.from), ports(&raw.from_ports));
        let (tos, to_ports) = (hosts(&raw.to), ports(&raw.to_ports));
        let (users, groups) = (ids(&raw.opts.users), ids(&raw.opts.groups));
        if let Some((_, span)) = raw.opts.flags {
            let any_tcp = raw.protos.is_empty() || raw.protos.iter().any(|(p, _)| *p == TCP);
            if !any_tcp {
                return Err(rule_error(p, span, "flags only apply to tcp"));
            }
        }
        let oses: Vec<Option<String>> = if raw.os.is_empty() {
            vec![None]
        } else {
            raw.os.iter().cloned().map(Some).collect()
        };
        // pfctl's nesting, the last list turning fastest.
        let dims = [
            interfaces.len(),
            protos.len(),
            icmps.len(),
            froms.len(),
            tos.len(),
            from_ports.len(),
            oses.len(),
            to_ports.len(),
            users.len(),
            groups.len(),
        ];
        let combinations = dims.iter().try_fold(1usize, |acc, n| acc.checked_mul(*n));
        let Some(combinations) =
            combinations.filter(|n| *n <= MAX_COMBINATIONS && self.total_rules + n <= MAX_RULES)
        else {
            return Err(rule_error(
                p,
                raw.span,
                "rule expands into more than 65536 rules, or the ruleset into more than 262144",
            ));
        };
        let mut at = [0usize; 10];
        let mut added = 0;
        for _ in 0..combinations {
            let combo = Combo {
                iface: &interfaces[at[0]],
                proto: protos[at[1]],
                icmp: icmps[at[2]],
                from: &froms[at[3]],
                to: &tos[at[4]],
                from_port: from_ports[at[5]],
                os: oses[at[6]].as_deref(),
                to_port: to_ports[at[7]],
                user: users[at[8]],
                group: groups[at[9]],
            };
            if let Some(rule) = self.one(p, &raw, combo, items)? {
                items.push(Item::Rule(rule));
                added += 1;
            }
            for d in (0..dims.len()).rev() {
                at[d] += 1;
                if at[d] < dims[d] {
                    break;
                }
                at[d] = 0;
            }
        }
        if added == 0 {
            return Err(rule_error(
                p,
                raw.span,
                "rule expands to no valid combination",
            ));
        }
        Ok(())
    }

    /// One combination, checked; `None` when its address families do not agree.
    fn one(
        &mut self,
        p: &Parser<'_>,
        raw: &RawRule,
        c: Combo<'_>,
        items: &mut Vec<Item>,
    ) -> PResult<Option<Rule>> {
        let mut af = raw.af;
        for host in [c.from, c.to] {
            if let Some(h) = host.af {
                match af {
                    Some(a) if a != h => return Ok(None),
                    _ => af = Some(h),
                }
            }
        }
        let proto = c.proto.map(|(p, _)| p);
        if let Some((_, span)) = c.from_port.or(c.to_port) {
            if !matches!(proto, Some(TCP | UDP)) {
                return Err(rule_error(p, span, "port only applies to tcp/udp"));
            }
        }
        if let Some((proto, span)) = c.proto {
            match (proto, af) {
                (ICMP, Some(Af::Inet6)) => {
                    return Err(rule_error(
                        p,
                        span,
                        "proto icmp doesn't match address family inet6",
                    ))
                }
                (ICMP6, Some(Af::Inet)) => {
                    return Err(rule_error(
                        p,
                        span,
                        "proto icmp6 doesn't match address family inet",
                    ))
                }
                _ => {}
            }
        }
        if let Some((icmp, span)) = c.icmp {
            let wanted = if icmp.v6 { ICMP6 } else { ICMP };
            if proto != Some(wanted) {
                return Err(rule_error(p, span, "icmp-type mismatch"));
            }
        }
        let mut rule = raw.fixed.clone();
        rule.action = raw.action.clone();
        rule.origin = p.origin(raw.span);
        rule.anchor_path = self.anchor.clone();
        rule.direction = raw.direction;
        rule.log = raw.log.clone();
        rule.quick = raw.quick;
        rule.interface = c.iface.clone();
        if rule.interface.is_none() {
            if let Some(scope) = c.from.scope.as_ref().or(c.to.scope.as_ref()) {
                rule.interface = Some(InterfaceSpec {
                    negated: false,
                    name: scope.clone(),
                });
            }
        }
        rule.on_rdomain = raw.on_rdomain;
        rule.translation_pass = raw.translation_pass;
        rule.proto = proto;
        rule.from = endpoint(c.from, c.from_port);
        rule.to = endpoint(c.to, c.to_port);
        rule.user = c.user;
        rule.group = c.group;
        rule.icmp = c.icmp.map(|(i, _)| i);
        let o = &raw.opts;
        let keep = match (&raw.action, o.keep) {
            (_, Some(k)) => Some(k),
            (Action::Pass, None) => Some(KeepState::Keep),
            _ => None,
        };
        let tcp_or_any = matches!(proto, None | Some(TCP));
        rule.keep_state = match keep {
            Some(KeepState::Modulate | KeepState::Synproxy) if !tcp_or_any => Some(KeepState::Keep),
            k => k,
        };
        rule.flags = match o.flags {
            Some((f, _)) if tcp_or_any => Some(f),
            Some(_) => None,
            None if matches!(raw.action, Action::Pass)
                && tcp_or_any
                && !raw.fixed.fragment
                && matches!(
                    rule.keep_state,
                    Some(KeepState::Keep | KeepState::Modulate | KeepState::Synproxy)
                ) =>
            {
                Some(TcpFlagsSpec {
                    set: 0x02,
                    mask: 0x12,
                })
            }
            None => None,
        };
        if matches!(
            rule.keep_state,
            Some(KeepState::Keep | KeepState::Modulate | KeepState::Synproxy)
        ) {
            rule.state_opts = state_opts(&p.state_defaults, &o.state_opts);
        }
        rule.tag = o.tag.clone();
        let tag_nr = self.rules_in_ruleset;
        rule.tagged = o.tagged.clone();
        rule.os = c.os.map(str::to_string);
        rule.divert = o.divert.as_ref().map(|(d, _)| d.clone());
        if let Some((_, span)) = &o.divert {
            match (&o.divert.as_ref().map(|(d, _)| d), raw.direction) {
                (Some(model::pf::Divert::To(..)), RuleDirection::Out) => {
                    return Err(rule_error(p, *span, "divert-to used with outgoing rule"))
                }
                (Some(model::pf::Divert::Reply), RuleDirection::In) => {
                    return Err(rule_error(p, *span, "divert-reply used with incoming rule"))
                }
                _ => {}
            }
            if let Some(model::pf::Divert::To(host, _)) = &mut rule.divert {
                let chosen = o
                    .divert_hosts
                    .iter()
                    .find(|h| af.is_none() || h.af.is_none() || h.af == af);
                let Some(chosen) = chosen else {
                    return Err(rule_error(p, *span, "divert-to address family mismatch"));
                };
                *host = chosen.host.clone();
                af = af.or(chosen.af);
            }
        }
        // Translation and routing pools follow the rule's family, or give it one.
        if let Some(pool) = &o.nat_to {
            let (pool, pool_af) = self.pool(p, pool, af, true, items)?;
            let Some(pool) = pool else { return Ok(None) };
            af = af.or(pool_af);
            rule.nat_to = Some(pool);
        }
        if let Some(pool) = &o.rdr_to {
            let (pool, pool_af) = self.pool(p, pool, af, false, items)?;
            let Some(mut pool) = pool else {
                return Ok(None);
            };
            // `port N:*` keeps the width of the destination port range.
            if let (Some((lo, hi)), Some((NumOp::Range(a, b), _))) = (pool.ports, c.to_port) {
                if lo == hi && o.rdr_to.as_ref().is_some_and(|r| r.port_star) {
                    let top = u32::from(lo) + b.saturating_sub(a);
                    pool.ports = Some((lo, top.min(65535) as u16));
                }
            }
            af = af.or(pool_af);
            rule.rdr_to = Some(pool);
        }
        if let Some((to_af, from_pool, to_pool)) = &o.af_to {
            if o.route.is_some() {
                return Err(rule_error(
                    p,
                    raw.span,
                    "af-to cannot be used together with route-to, reply-to, dup-to",
                ));
            }
            let (from, _) = self.pool(p, from_pool, Some(*to_af), true, items)?;
            let Some(from) = from else { return Ok(None) };
            let to = match to_pool {
                Some(pool) => match self.pool(p, pool, Some(*to_af), false, items)? {
                    (Some(pool), _) => Some(pool),
                    (None, _) => return Ok(None),
                },
                None => None,
            };
            rule.af_to = Some((*to_af, from, to));
        }
        if let Some((kind, pool)) = &o.route {
            let (routed, pool_af) = self.pool(p, pool, af, false, items)?;
            let Some(routed) = routed else {
                return Err(rule_error(p, pool.span, "af mismatch in routing spec"));
            };
            af = af.or(pool_af);
            rule.route = Some((*kind, routed));
        }
        if let Some(label) = &o.label {
            rule.af = af;
            let expanded = expand_label(label, &rule, self.rules_in_ruleset);
            rule.label = (!expanded.is_empty()).then_some(expanded);
        }
        rule.af = af;
        if let Some(tag) = &o.tag {
            rule.tag = Some(expand_label(tag, &rule, tag_nr));
        }
        if let Some((negated, tag)) = &o.tagged {
            rule.tagged = Some((*negated, expand_label(tag, &rule, tag_nr)));
        }
        fit_dynamic_prefix(&mut rule.from, af);
        fit_dynamic_prefix(&mut rule.to, af);
        self.rules_in_ruleset += 1;
        self.total_rules += 1;
        Ok(Some(rule))
    }

    /// The pool's hosts of family `af` (all when `af` is unknown), a list becoming an
    /// automatic table; `None` when no host has that family.
    fn pool(
        &mut self,
        p: &Parser<'_>,
        raw: &RawPool,
        af: Option<Af>,
        nat: bool,
        items: &mut Vec<Item>,
    ) -> PResult<(Option<Pool>, Option<Af>)> {
        let routed = raw.interfaces.iter().any(Option::is_some);
        if raw.listed && raw.hosts.len() > 1 && !routed {
            // A `{ … }` list becomes a table before families are looked at, so a
            // combination of another family still makes one.
            let entries: Vec<&RawHost> = raw.hosts.iter().collect();
            let first = raw.hosts[0].af;
            let pool_af = first.filter(|f| raw.hosts.iter().all(|h| h.af == Some(*f)));
            let table = self.automatic_table(p, raw, &entries, items);
            if let (Some(rule), Some(pool)) = (af, pool_af) {
                if rule != pool {
                    return Ok((None, None));
                }
            }
            return Ok((Some(pool_options(raw, vec![table], nat)), pool_af));
        }
        let chosen: Vec<(&RawHost, &Option<String>)> = raw
            .hosts
            .iter()
            .zip(&raw.interfaces)
            .filter(|(h, _)| match (h.af, af) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .collect();
        if chosen.is_empty() {
            return Ok((None, None));
        }
        let pool_af = chosen.iter().find_map(|(h, _)| h.af);
        if chosen.len() > 1 && !routed {
            // A name standing for several addresses of the family: a table too.
            let entries: Vec<&RawHost> = chosen.iter().map(|(h, _)| *h).collect();
            let table = self.automatic_table(p, raw, &entries, items);
            return Ok((Some(pool_options(raw, vec![table], nat)), pool_af));
        }
        let hosts: Vec<PoolHost> = chosen
            .iter()
            .map(|(h, i)| PoolHost {
                host: h.host.clone(),
                interface: (*i).clone(),
            })
            .collect();
        Ok((Some(pool_options(raw, hosts, nat)), pool_af))
    }

    /// pfctl's constant table `<__automatic_N>` of a pool's addresses, declared among
    /// the ruleset's items; the pool member that names it.
    fn automatic_table(
        &mut self,
        p: &Parser<'_>,
        raw: &RawPool,
        entries: &[&RawHost],
        items: &mut Vec<Item>,
    ) -> PoolHost {
        let name = format!("__automatic_{}", self.automatic_tables);
        self.automatic_tables += 1;
        items.push(Item::Table(Table {
            name: name.clone(),
            persist: false,
            constant: true,
            counters: false,
            entries: entries
                .iter()
                .map(|h| TableEntry {
                    negated: false,
                    host: h.host.clone(),
                })
                .collect(),
            files: Vec::new(),
            origin: p.origin(raw.span),
        }));
        PoolHost {
            host: Host::Table(name),
            interface: None,
        }
    }

    /// `binat-to`: a `nat-to` rule out and the `rdr-to` rule back in.
    fn push_binat(&mut self, p: &Parser<'_>, raw: RawRule, items: &mut Vec<Item>) -> PResult<()> {
        let Some(pool) = raw.opts.binat_to.clone() else {
            return Ok(());
        };
        let fail = |m: &str| Err(rule_error(p, raw.span, m));
        if raw.from.is_empty() || pool.hosts.is_empty() {
            return fail("binat-to requires a specified source and redirect address");
        }
        if pool.hosts.iter().any(|h| matches!(h.host, Host::Table(_))) {
            return fail("tables cannot be used as the redirect address of a binat-to rule");
        }
        for src in &raw.from {
            match &src.host {
                Host::Table(t) => {
                    return fail(&format!(
                        "invalid use of table <{t}> as the source address of a binat-to rule"
                    ))
                }
                Host::Dynamic { modifier, .. } if !modifier.no_alias() => {
                    return fail("dynamic interfaces must be used with :0 in a binat-to rule")
                }
                Host::NoRoute | Host::UrpfFailed | Host::Any => {
                    return fail("binat-to requires a specified source and redirect address")
                }
                _ if src.negated => {
                    return fail("binat-to requires a specified source and redirect address")
                }
                _ => {}
            }
        }
        let prefix_of = |h: &Host| match h {
            Host::Network { prefix, .. } => Some(*prefix),
            _ => None,
        };
        let mut out = raw.clone();
        out.direction = RuleDirection::Out;
        out.opts.binat_to = None;
        let mut nat_pool = pool.clone();
        nat_pool.static_port = true;
        out.opts.nat_to = Some(nat_pool);
        let mut inbound = raw.clone();
        inbound.direction = RuleDirection::In;
        inbound.opts.binat_to = None;
        inbound.from = raw.to.clone();
        inbound.from_ports = raw.to_ports.clone();
        inbound.to_ports = Vec::new();
        inbound.from_ports.clear();
        inbound.opts.rdr_to = Some(RawPool {
            hosts: raw.from.clone(),
            interfaces: vec![None; raw.from.len()],
            span: raw.span,
            ..RawPool::default()
        });
        for src in &raw.from {
            for dst in pool
                .hosts
                .iter()
                .filter(|d| d.af.is_none() || src.af.is_none() || d.af == src.af)
            {
                if let (Some(a), Some(b)) = (prefix_of(&src.host), prefix_of(&dst.host)) {
                    if a != b {
                        return fail("source and redir addresess must have a matching network mask in binat-rule");
                    }
                }
            }
        }
        inbound.to = pool.hosts.clone();
        // Pair each expanded `nat-to` with its `rdr-to`, as pfctl prints them.
        let mut outs = Vec::new();
        self.push_rule(p, out, &mut outs)?;
        let mut ins = Vec::new();
        self.push_rule(p, inbound, &mut ins)?;
        let mut ins = ins.into_iter();
        for item in outs {
            let is_rule = matches!(item, Item::Rule(_));
            items.push(item);
            if is_rule {
                if let Some(next) = ins.next() {
                    items.push(next);
                }
            }
        }
        items.extend(ins);
        Ok(())
    }
}

/// The pool with its options and pfctl's defaults (round-robin over several addresses,
/// the NAT port range 50001-65535 unless `static-port`).
fn pool_options(raw: &RawPool, hosts: Vec<PoolHost>, nat: bool) -> Pool {
    let multi = hosts.len() > 1
        || matches!(hosts[0].host, Host::Table(_))
        || matches!(
            hosts[0].host,
            Host::Dynamic { modifier, .. } if !modifier.no_alias()
        );
    let kind = raw.kind.or(multi.then_some(PoolType::RoundRobin));
    let ports = match (nat, raw.ports) {
        (true, None) if raw.static_port => None,
        (true, None) => Some((50001, 65535)),
        (_, ports) => ports,
    };
    let hash_key = match (kind, &raw.hash_key) {
        (Some(PoolType::SourceHash), key) => source_hash_key(key.as_deref()),
        _ => None,
    };
    Pool {
        hosts,
        ports,
        kind,
        hash_key,
        sticky: raw.sticky,
        static_port: nat && (raw.static_port || ports.is_none()),
    }
}

/// One combination of a rule's lists.
struct Combo<'a> {
    iface: &'a Option<InterfaceSpec>,
    proto: Option<(u8, Span)>,
    icmp: Option<(IcmpSpec, Span)>,
    from: &'a RawHost,
    from_port: Option<(NumOp, Span)>,
    to: &'a RawHost,
    to_port: Option<(NumOp, Span)>,
    os: Option<&'a str>,
    user: Option<NumOp>,
    group: Option<NumOp>,
}

/// pfctl's `gen_dynnode`: an interface's address in an IPv4 rule has at most 32 bits.
fn fit_dynamic_prefix(e: &mut Endpoint, af: Option<Af>) {
    if let Host::Dynamic { prefix, .. } = &mut e.addr.host {
        if af == Some(Af::Inet) && prefix.is_some_and(|p| p >= 32) {
            *prefix = None;
        }
    }
}

fn endpoint(host: &RawHost, port: Option<(NumOp, Span)>) -> Endpoint {
    Endpoint {
        addr: AddrSpec {
            negated: host.negated,
            host: host.host.clone(),
        },
        port: port.map(|(p, _)| p),
    }
}

/// The rule's state options: `set state-defaults` first, the rule's own over them, and
/// what pfctl adds (`source-track rule` and the `src.track` timeout for source limits).
fn state_opts(defaults: &[StateOpt], own: &[StateOpt]) -> Vec<StateOpt> {
    let same = |a: &StateOpt, b: &StateOpt| std::mem::discriminant(a) == std::mem::discriminant(b);
    let mut opts: Vec<StateOpt> = defaults
        .iter()
        .filter(|d| !own.iter().any(|o| same(o, d)))
        .cloned()
        .collect();
    opts.extend(own.iter().cloned());
    let limits_sources = opts.iter().any(|o| {
        matches!(
            o,
            StateOpt::MaxSrcConn(_) | StateOpt::MaxSrcConnRate(..) | StateOpt::MaxSrcNodes(_)
        )
    });
    if limits_sources {
        // Per-source limits track sources per rule unless `global` was asked for.
        match opts
            .iter_mut()
            .find(|o| matches!(o, StateOpt::SourceTrack(_)))
        {
            Some(StateOpt::SourceTrack(kind)) if kind.is_none() => *kind = Some("rule".into()),
            Some(_) => {}
            None => opts.push(StateOpt::SourceTrack(Some("rule".into()))),
        }
    }
    if let Some(max) = opts.iter().find_map(|o| match o {
        StateOpt::Max(n) => Some(*n),
        _ => None,
    }) {
        let has = |name: &str| {
            opts.iter()
                .any(|o| matches!(o, StateOpt::Timeout(n, _) if n == name))
        };
        if !has("adaptive.start") && !has("adaptive.end") {
            let scaled = |f: u64| (u64::from(max) * f / 10).min(u64::from(u32::MAX)) as u32;
            opts.push(StateOpt::Timeout("adaptive.start".into(), scaled(6)));
            opts.push(StateOpt::Timeout("adaptive.end".into(), scaled(12)));
        }
    }
    if let Some(seconds) = opts.iter().find_map(|o| match o {
        StateOpt::MaxSrcConnRate(_, s) => Some(*s),
        _ => None,
    }) {
        if !opts
            .iter()
            .any(|o| matches!(o, StateOpt::Timeout(name, _) if name == "src.track"))
        {
            opts.push(StateOpt::Timeout("src.track".into(), seconds));
        }
    }
    opts
}

/// The 128-bit key of `source-hash`, as `0x` and 32 hex digits: a key written in hex
/// as it is, a string key's MD5 (as pfctl makes it); `None` when none was written (pfctl
/// then picks a random one, which no reader of the file can know).
fn source_hash_key(key: Option<&str>) -> Option<String> {
    let key = key?;
    let hex = key
        .strip_prefix("0x")
        .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let digits = match hex {
        Some(h) => h.to_ascii_lowercase(),
        None => Md5::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    Some(format!("0x{digits}"))
}

/// pfctl's label macros: `$if`, `$srcaddr`, `$dstaddr`, `$srcport`, `$dstport`,
/// `$proto`, `$nr`.
fn expand_label(label: &str, rule: &Rule, nr: u32) -> String {
    let addr = |e: &Endpoint| -> String {
        let neg = if e.addr.negated { "! " } else { "" };
        format!("{neg}{}", host_text(&e.addr.host, rule.af))
    };
    let port = |e: &Endpoint| e.port.map(port_label).unwrap_or_default();
    let proto = match rule.proto {
        Some(p) => names::protocol_name(p)
            .map(str::to_string)
            .unwrap_or_else(|| p.to_string()),
        None => "ip".to_string(),
    };
    if rule
        .from
        .port
        .is_some_and(|p| matches!(p, NumOp::Range(..)))
        && label.contains("$srcport")
        || rule.to.port.is_some_and(|p| matches!(p, NumOp::Range(..))) && label.contains("$dstport")
    {
        return String::new();
    }
    let vars: [(&str, String); 7] = [
        (
            "$if",
            rule.interface
                .as_ref()
                .map_or("any".to_string(), |i| i.name.clone()),
        ),
        ("$srcaddr", addr(&rule.from)),
        ("$dstaddr", addr(&rule.to)),
        ("$srcport", port(&rule.from)),
        ("$dstport", port(&rule.to)),
        ("$proto", proto),
        ("$nr", nr.to_string()),
    ];
    let mut out = String::new();
    let mut rest = label;
    'outer: while !rest.is_empty() {
        for (name, value) in &vars {
            if let Some(after) = rest.strip_prefix(name) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}
