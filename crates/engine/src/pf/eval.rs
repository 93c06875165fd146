//! One pass through pf's rules, as OpenBSD `sys/net/pf.c` `pf_test` (skip, state lookup)
//! and `pf_test_rule` / `pf_match_rule` (the rules) run it.
//!
//! Facts from `pf_match_rule`, in the order it tests them:
//! - a rule matches when its interface (or group, `on ! IF` negated), direction, address
//!   family, protocol, source and destination (against the addresses as translated by
//!   earlier `match` rules: `pd->nsaddr`/`ndaddr`), TCP flags, ports, `user`/`group`, ICMP
//!   type and code, `tos`, `probability`, `tagged`, `received-on` and `prio` all hold;
//! - a rule that keeps state does not match an ICMP reply (echo reply, …): "don't create
//!   states on replies" (unless `sloppy`);
//! - every matching rule sets the packet's tag (`tag`), even a `match` or an anchor rule;
//! - a matching `match` rule applies its translation and logs at once (`PFRES_MATCH`);
//!   a matching `pass`/`block` rule is remembered, a later match replaces it;
//! - `quick` on a matching rule ends the evaluation; `quick` on an anchor rule ends it
//!   when the last matching rule was inside that anchor;
//! - an anchor rule that matches evaluates the anchor's rules in place (`anchor "x/*"`:
//!   each child anchor in name order).
//!
//! Then `pf_test_rule` applies the remembered rule (or pf's default rule, which passes
//! without state): its translation, its log line, its `return` answer for a block, and a
//! state for a `pass` that keeps state. A [`Step::Nat`] stands where the rules' view of
//! the packet changed (`pd->nsaddr`/`ndaddr`: after a `match` rule, or at the end for the
//! deciding rule). The packet itself is rewritten only through the state: a stateless pass
//! leaves it as it came (`pf_translate` is called when a state is created); a blocked
//! packet is given as the deciding rule saw it. FreeBSD's older rules are read first (`pf_match_translation`: `binat` then
//! `nat` out, `binat` then `rdr` in; the first matching one applies, a `no` rule exempts)
//! and always create a state (FreeBSD `pf_test_rule`: `r->keep_state || nr != NULL`).

use std::sync::Arc;

use model::expr::Undecidable;
use model::packet::{Fragment, L4};
use model::pf::Af;
use model::pf::{
    Action, AddrSpec, AnchorCall, BlockPolicyOption, Endpoint, Host as PfHost, Item, KeepState,
    NumOp, OldNatKind, PfOption, Pool, PoolHost, PoolType, RouteKind, Rule, RuleDirection, Ruleset,
    StateOpt, StatePolicy, TcpFlagsSpec,
};
use model::Packet;

use super::addr::{unmodelled, Tri};
use super::answer::block_answer;
use super::pflog::{self, LogAction, LogHeader, LogRule};
use super::state::{icmp_role, packet_key, IcmpRole, PfState, StateEntry, TcpSide};
use super::translate;
use super::PfRules;
use crate::bsd::{Decider, Direction, FilterLog, PassResult, PassVerdict, Rewrite, RuleId, Step};

/// The pass being evaluated: the packet, where, and the rules.
pub struct Pass<'p, 'r> {
    /// The prepared rules.
    pub rules: &'p PfRules<'r>,
    /// The packet as it arrives at the pass.
    pub packet: &'p Packet,
    /// For an ICMP error, the packet it quotes, when known.
    pub quoted: Option<&'p Packet>,
    /// `in` or `out`.
    pub direction: Direction,
    /// The interface.
    pub interface: &'p str,
}

/// One run of the rules under one choice of the undecidable matches.
#[derive(Debug, Clone)]
pub struct Run {
    /// What the pass did under that choice.
    pub result: PassResult,
    /// The undecidable matches met, in order, with their rules.
    pub sites: Vec<(Undecidable, RuleId)>,
    /// The indexes in `result.steps` of those rules' steps.
    pub site_steps: Vec<usize>,
}

/// An Undetermined pass: nothing rewritten, nothing logged, no state.
pub fn undetermined(pass: &Pass<'_, '_>, on: Undecidable, decider: Decider) -> PassResult {
    PassResult {
        verdict: PassVerdict::Undetermined { on },
        decider,
        packet: pass.packet.clone(),
        steps: Vec::new(),
        logs: Vec::new(),
        keeps_state: false,
    }
}

/// A rule's list as pfctl numbers it: filter rules, and FreeBSD's translation and scrub
/// lists, each from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Filter,
    Nat,
    Rdr,
    Binat,
    Scrub,
}

fn list_of(rule: &Rule) -> List {
    match &rule.action {
        Action::OldNat { kind, .. } | Action::OldNatAnchor { kind, .. } => match kind {
            OldNatKind::Nat => List::Nat,
            OldNatKind::Rdr => List::Rdr,
            OldNatKind::Binat => List::Binat,
        },
        Action::Scrub => List::Scrub,
        _ => List::Filter,
    }
}

/// The rules of `rules` with the number pfctl gives each in its list.
fn numbered(rules: &Ruleset) -> Vec<(u32, &Rule)> {
    let mut counters = [0u32; 5];
    rules
        .rules()
        .map(|rule| {
            let list = list_of(rule) as usize;
            let position = counters[list];
            counters[list] += 1;
            (rule.number.unwrap_or(position), rule)
        })
        .collect()
}

/// The anchor a ruleset belongs to, for rule ids and pflog headers.
#[derive(Debug, Clone, Default)]
struct Scope {
    /// The anchor's path (`None`: the main ruleset).
    path: Option<String>,
    /// The anchor rule that called it: its number, id and the anchor's name.
    caller: Option<(u32, RuleId, String)>,
}

impl Scope {
    fn rule_id(&self, rule: &Rule, number: u32) -> RuleId {
        RuleId {
            origin: rule.origin.clone(),
            number: Some(number),
            group: self.path.as_deref().map(Arc::from),
        }
    }

    fn log_rule(&self, number: u32) -> LogRule {
        match &self.caller {
            None => LogRule::Main(number),
            Some((caller, _, name)) => LogRule::Anchored {
                caller: *caller,
                anchor: name.clone(),
                rule: number,
            },
        }
    }

    /// The path an anchor name written in this scope stands for (relative unless it
    /// starts with `/`).
    fn resolve(&self, name: &str) -> String {
        match (name.strip_prefix('/'), &self.path) {
            (Some(absolute), _) => absolute.to_string(),
            (None, Some(base)) => format!("{base}/{name}"),
            (None, None) => name.to_string(),
        }
    }
}

/// Whether evaluation goes on after a ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Quick,
}

/// The remembered `pass`/`block` rule.
#[derive(Debug, Clone)]
struct Last<'a> {
    rule: &'a Rule,
    id: RuleId,
    policy: BlockPolicyOption,
    log_rule: LogRule,
    caller: Option<RuleId>,
}

/// The evaluation's running context (`struct pf_test_ctx`).
struct Eval<'a, 'p, 'r> {
    pass: &'a Pass<'p, 'r>,
    decisions: &'a [bool],
    /// The packet as translated so far (`pd->nsaddr`, `ndaddr`, ports).
    current: Packet,
    tag: Option<String>,
    sites: Vec<(Undecidable, RuleId)>,
    site_steps: Vec<usize>,
    steps: Vec<Step>,
    logs: Vec<FilterLog>,
    last: Option<Last<'a>>,
    /// pflog headers of `match` rules with `log (all)`: a state logs their packets too.
    match_log_all: Vec<LogHeader>,
    /// A FreeBSD translation rule applied (forces a state).
    old_nat: bool,
    /// It was a `nat pass`/`rdr pass`/`binat pass`: it decides, the filter rules are not
    /// read.
    translation_passed: bool,
    /// Something made the whole pass Undetermined (an anchor whose rules were not given,
    /// a translation address not known).
    blocked_on: Option<(Undecidable, RuleId)>,
}

/// An inbound `binat` is matched the other way round (FreeBSD `pf_match_translation`):
/// the source against the rule's `to`, the destination against its external address.
fn binat_reversed(rule: &Rule) -> Option<Rule> {
    let external = rule.nat_to.as_ref()?.hosts.first()?.host.clone();
    let mut reversed = rule.clone();
    reversed.from = Endpoint {
        addr: rule.to.addr.clone(),
        port: None,
    };
    reversed.to = Endpoint {
        addr: AddrSpec {
            negated: false,
            host: external,
        },
        port: None,
    };
    Some(reversed)
}

/// `pf_match_port` (and `pf_match_uid` for known ids): `=`, `!=`, `<`, `<=`, `>`, `>=`,
/// `a:b` inclusive, `a >< b` strictly inside, `a <> b` outside.
fn num_matches(op: NumOp, n: u32) -> bool {
    match op {
        NumOp::Eq(v) => n == v,
        NumOp::Ne(v) => n != v,
        NumOp::Lt(v) => n < v,
        NumOp::Le(v) => n <= v,
        NumOp::Gt(v) => n > v,
        NumOp::Ge(v) => n >= v,
        NumOp::Range(a, b) => a <= n && n <= b,
        NumOp::Inside(a, b) => a < n && n < b,
        NumOp::Outside(a, b) => n < a || n > b,
    }
}

/// `pf_match_uid`/`pf_match_gid` with an id the socket lookup may not have found (-1: a
/// forwarded packet): only `=` and `!=` compare it (with `unknown`); every other test
/// fails.
fn id_matches(op: NumOp, id: u32) -> bool {
    match op {
        NumOp::Eq(_) | NumOp::Ne(_) => num_matches(op, id),
        _ => id != u32::MAX && num_matches(op, id),
    }
}

/// The state a rule keeps: `pass` keeps state unless `no state` (OpenBSD 4.1, FreeBSD 7).
fn keeps_state(rule: &Rule) -> bool {
    matches!(rule.action, Action::Pass) && rule.keep_state != Some(KeepState::No)
}

/// The rule's TCP flags test: as written, else `flags S/SA` for a stateful `pass` that
/// may see TCP (pfctl's default since OpenBSD 4.1).
fn flags_of(rule: &Rule) -> Option<TcpFlagsSpec> {
    rule.flags.or_else(|| {
        (keeps_state(rule) && matches!(rule.proto, None | Some(6))).then_some(TcpFlagsSpec {
            set: 0x02,
            mask: 0x12,
        })
    })
}

impl<'p, 'r> Pass<'p, 'r> {
    fn resolver(&self) -> super::addr::Resolver<'_> {
        self.rules.resolver()
    }

    /// `set skip on`: the interface or one of its groups is skipped.
    pub fn skipped(&self) -> Option<PassResult> {
        let resolver = self.resolver();
        for name in &self.rules.skip {
            match resolver.interface_matches(name, self.interface) {
                Ok(true) => {
                    return Some(PassResult {
                        verdict: PassVerdict::Pass,
                        decider: Decider::Skipped {
                            interface: self.interface.to_string(),
                        },
                        packet: self.packet.clone(),
                        steps: Vec::new(),
                        logs: Vec::new(),
                        keeps_state: false,
                    })
                }
                Ok(false) => {}
                Err(on) => {
                    let decider = Decider::Skipped {
                        interface: self.interface.to_string(),
                    };
                    return Some(undetermined(self, on, decider));
                }
            }
        }
        None
    }

    /// The state table lookup (`pf_test_state`, `pf_test_state_icmp`): `None` when no
    /// state holds the packet and the rules decide.
    pub fn by_state(&self, state: &mut PfState) -> Option<PassResult> {
        let role = icmp_role(&self.packet.l4);
        let found = match (role, self.quoted) {
            (Some(IcmpRole::Error), Some(quoted)) => {
                state.find_quoted(quoted, self.direction, self.interface)
            }
            (Some(IcmpRole::Error), None) => {
                if state.touches(self.packet.dst) || state.touches(self.packet.src) {
                    // It may quote a packet of one of these states: not knowable without
                    // the quoted packet.
                    return Some(undetermined(
                        self,
                        Undecidable::RawBytesUnknown,
                        Decider::State { created_by: None },
                    ));
                }
                None
            }
            _ => {
                let key = packet_key(self.packet, self.direction)?;
                let found = state.find(&key, self.direction, self.interface)?;
                if !state.track_tcp(found.index, self.packet, self.direction) {
                    return None;
                }
                Some(found)
            }
        }?;
        let entry = &state.entries[found.index];
        let created_by = entry.created_by.clone();
        let mut packet = self.packet.clone();
        let mut steps = vec![Step::State {
            created_by: Some(created_by.clone()),
        }];
        let key = &found.rewrite_to;
        let (new_src, new_dst, ports) = if role == Some(IcmpRole::Error) {
            // The error's address on this host's side takes the other key's address.
            match self.direction {
                Direction::In => (packet.src, key.addr[1], None),
                Direction::Out => (key.addr[1], packet.dst, None),
            }
        } else {
            let s = usize::from(self.direction == Direction::Out);
            let d = 1 - s;
            (key.addr[s], key.addr[d], Some((key.port[s], key.port[d])))
        };
        for (source, before, after) in [(true, packet.src, new_src), (false, packet.dst, new_dst)] {
            if before != after {
                let old_ports = packet.l4.ports();
                let pick = |p: (u16, u16)| if source { p.0 } else { p.1 };
                steps.push(Step::Nat(Rewrite {
                    by: created_by.clone(),
                    source,
                    before: (before, old_ports.map(pick)),
                    after: (after, ports.filter(|_| old_ports.is_some()).map(pick)),
                }));
            }
        }
        packet.src = new_src;
        packet.dst = new_dst;
        if let (Some((s, d)), Some(_)) = (ports, packet.l4.ports()) {
            packet.l4 = packet.l4.with_ports(s, d);
        }
        let logs = entry
            .log_all
            .iter()
            .map(|header| FilterLog {
                by: created_by.clone(),
                text: pflog::line(
                    &LogHeader {
                        direction: self.direction,
                        interface: self.interface.to_string(),
                        ..header.clone()
                    },
                    &packet,
                    self.rules.tcpdump,
                ),
            })
            .collect();
        if let Some(iface) = entry.routed_by(self.direction) {
            packet.oif = Some(iface.to_string());
        }
        if let (Direction::In, Some(tag)) = (self.direction, entry.tag.clone()) {
            state.carry_tag(&packet, tag);
        }
        Some(PassResult {
            verdict: PassVerdict::Pass,
            decider: Decider::State {
                created_by: Some(created_by),
            },
            packet,
            steps,
            logs,
            keeps_state: false,
        })
    }

    /// The rules, with `decisions` for the undecidable matches (further ones do not
    /// match), extending `state` as the pass would.
    pub fn rules_pass(&self, decisions: &[bool], state: &mut PfState) -> Run {
        let tag = match self.direction {
            Direction::Out => state.carried_tag(self.packet),
            Direction::In => None,
        };
        let mut eval = Eval {
            pass: self,
            decisions,
            current: self.packet.clone(),
            tag,
            sites: Vec::new(),
            site_steps: Vec::new(),
            steps: Vec::new(),
            logs: Vec::new(),
            last: None,
            match_log_all: Vec::new(),
            old_nat: false,
            translation_passed: false,
            blocked_on: None,
        };
        eval.old_translation();
        if !eval.translation_passed {
            eval.ruleset(self.rules.main, &Scope::default(), BlockPolicyOption::Drop);
        }
        eval.finish(state)
    }
}

impl<'a, 'p, 'r> Eval<'a, 'p, 'r> {
    fn resolver(&self) -> super::addr::Resolver<'a> {
        self.pass.rules.resolver()
    }

    /// Records a rule's step; an undecidable match takes the next decision (else does
    /// not match) and is remembered as a site.
    fn decide(&mut self, rule: &Rule, id: &RuleId, outcome: Tri) -> bool {
        let remembered_kind = matches!(rule.action, Action::Pass | Action::Block(_));
        let matched = match outcome {
            Ok(m) => m,
            Err(on) => {
                let taken = self
                    .decisions
                    .get(self.sites.len())
                    .copied()
                    .unwrap_or(false);
                self.sites.push((on, id.clone()));
                self.site_steps.push(self.steps.len());
                taken
            }
        };
        self.steps.push(Step::Rule {
            rule: id.clone(),
            matched: Some(matched),
            remembered: matched && remembered_kind && !rule.quick,
        });
        matched
    }

    /// Every test of `pf_match_rule` for `rule`; the first failing one decides, else the
    /// first undecidable one.
    fn tests(&self, rule: &Rule) -> Tri {
        let pass = self.pass;
        let p = &self.current;
        let resolver = self.resolver();
        let mut unknown: Option<Undecidable> = None;
        let mut check = |t: Tri| -> Option<bool> {
            match t {
                Ok(true) => None,
                Ok(false) => Some(false),
                Err(on) => {
                    unknown.get_or_insert(on);
                    None
                }
            }
        };
        macro_rules! test {
            ($t:expr) => {
                if let Some(false) = check($t) {
                    return Ok(false);
                }
            };
        }
        if let Some(spec) = &rule.interface {
            test!(resolver
                .interface_matches(&spec.name, pass.interface)
                .map(|m| m != spec.negated));
        }
        test!(Ok(match rule.direction {
            RuleDirection::Both => true,
            RuleDirection::In => pass.direction == Direction::In,
            RuleDirection::Out => pass.direction == Direction::Out,
        }));
        // Packets are taken to be in routing domain 0.
        test!(Ok(rule.on_rdomain.is_none_or(|d| d == 0)));
        test!(Ok(match rule.af {
            None => true,
            Some(Af::Inet) => p.src.is_ipv4(),
            Some(Af::Inet6) => p.src.is_ipv6(),
        }));
        test!(Ok(rule.proto.is_none_or(|n| n == p.l4.proto().number())));
        test!(resolver.spec_matches(&rule.from.addr, p.src));
        test!(resolver.spec_matches(&rule.to.addr, p.dst));
        // With `set reassemble yes` (the default) pf sees reassembled packets; a rule
        // for fragments (`fragment`) then never matches.
        test!(Ok(!rule.fragment));
        let later_fragment = matches!(p.fragment, Fragment::Later { .. });
        match p.l4 {
            L4::Tcp { .. } | L4::Udp { .. } if !later_fragment => {
                if let L4::Tcp { flags, .. } = p.l4 {
                    if let Some(spec) = flags_of(rule) {
                        test!(Ok(flags.0 & spec.mask == spec.set));
                    }
                    if rule.os.is_some() {
                        test!(Err(unmodelled(format!(
                            "os {}",
                            rule.os.as_deref().unwrap_or_default()
                        ))));
                    }
                }
                let (sport, dport) = p.l4.ports().unwrap_or((0, 0));
                if let Some(op) = rule.from.port {
                    test!(Ok(num_matches(op, u32::from(sport))));
                }
                if let Some(op) = rule.to.port {
                    test!(Ok(num_matches(op, u32::from(dport))));
                }
                for (op, given) in [(rule.user, p.uid), (rule.group, p.gid)] {
                    if let Some(op) = op {
                        test!(self.socket_owner(op, given));
                    }
                }
            }
            L4::Icmp {
                icmp_type, code, ..
            }
            | L4::Icmpv6 {
                icmp_type, code, ..
            } => {
                if let Some(spec) = rule.icmp {
                    test!(Ok(
                        spec.icmp_type == icmp_type && spec.code.is_none_or(|c| c == code)
                    ));
                }
                let reply = matches!(
                    icmp_role(&p.l4),
                    Some(IcmpRole::Query { request: false, .. })
                );
                let sloppy = rule.state_opts.contains(&StateOpt::Sloppy);
                test!(Ok(!(keeps_state(rule) && reply && !sloppy)));
            }
            _ => {
                // A later fragment or a protocol without ports: tests on ports, flags,
                // types and users cannot match it.
                let needs_header = rule.from.port.is_some()
                    || rule.to.port.is_some()
                    || rule.flags.is_some()
                    || rule.icmp.is_some()
                    || rule.user.is_some()
                    || rule.group.is_some();
                test!(Ok(!needs_header));
            }
        }
        if let Some(tos) = rule.tos {
            test!(Ok(tos == p.tos));
        }
        if let Some(probability) = rule.probability {
            let fraction = if probability > 1.0 {
                probability / f64::from(u32::MAX)
            } else {
                probability
            };
            test!(if fraction <= 0.0 || fraction >= 1.0 {
                Ok(true)
            } else {
                Err(Undecidable::Statistic)
            });
        }
        if let Some((negated, name)) = &rule.tagged {
            test!(Ok((self.tag.as_deref() == Some(name.as_str())) != *negated));
        }
        if let Some(spec) = &rule.received_on {
            let received = match pass.direction {
                Direction::In => Some(pass.interface),
                Direction::Out => pass.packet.iif.as_deref(),
            };
            let on = match received {
                Some(iface) => resolver.interface_matches(&spec.name, iface),
                None => Ok(false),
            };
            test!(on.map(|m| m != spec.negated));
        }
        // The packet's priority is the default, 3 (`IFQ_DEFPRIO`).
        if let Some(prio) = rule.prio {
            test!(Ok(prio == 3));
        }
        if rule.max_pkt_rate.is_some() {
            test!(Err(Undecidable::Limit));
        }
        match unknown {
            Some(on) => Err(on),
            None => Ok(true),
        }
    }

    /// `user`/`group`: the sending socket's owner for a packet this host sends, unknown
    /// (`UID_MAX`) for a forwarded one, the receiving socket's for a packet going in
    /// (not given: Unknown).
    fn socket_owner(&self, op: NumOp, given: Option<u32>) -> Tri {
        match (self.pass.direction, &self.pass.packet.iif, given) {
            (Direction::Out, None, Some(id)) => Ok(id_matches(op, id)),
            (Direction::Out, Some(_), _) => Ok(id_matches(op, u32::MAX)),
            _ => Err(Undecidable::SocketOwnerUnknown),
        }
    }

    /// Evaluates `rules` (main or an anchor) in order.
    fn ruleset(
        &mut self,
        rules: &'a Ruleset,
        scope: &Scope,
        mut policy: BlockPolicyOption,
    ) -> Flow {
        let numbers = numbered(rules);
        let mut next = numbers.into_iter();
        for item in &rules.items {
            let rule = match item {
                Item::Option(PfOption::BlockPolicy(p), _) => {
                    policy = *p;
                    continue;
                }
                Item::Rule(rule) => rule,
                _ => continue,
            };
            let Some((number, _)) = next.next() else {
                break;
            };
            if list_of(rule) != List::Filter {
                continue;
            }
            let id = scope.rule_id(rule, number);
            let outcome = self.tests(rule);
            if !self.decide(rule, &id, outcome) {
                continue;
            }
            if let Some(tag) = &rule.tag {
                self.tag = Some(tag.clone());
            }
            match &rule.action {
                Action::Anchor(call) => {
                    if self.anchor(rule, call, &id, number, scope, policy) == Flow::Quick {
                        return Flow::Quick;
                    }
                    continue;
                }
                Action::Match => self.apply_match(rule, &id, number, scope),
                _ => {
                    self.last = Some(Last {
                        rule,
                        id: id.clone(),
                        policy,
                        log_rule: scope.log_rule(number),
                        caller: scope.caller.as_ref().map(|(_, caller, _)| caller.clone()),
                    });
                }
            }
            if rule.quick {
                return Flow::Quick;
            }
        }
        Flow::Continue
    }

    /// An anchor rule that matched: its rules, in place.
    fn anchor(
        &mut self,
        rule: &'a Rule,
        call: &'a AnchorCall,
        id: &RuleId,
        number: u32,
        scope: &Scope,
        policy: BlockPolicyOption,
    ) -> Flow {
        let anchors = &self.pass.rules.anchors;
        let mut bodies: Vec<(String, &'a Ruleset, BlockPolicyOption)> = Vec::new();
        match (&call.name, &call.body) {
            (name, Some(body)) => {
                let path = match name {
                    Some(name) => scope.resolve(name),
                    None => scope
                        .path
                        .clone()
                        .map_or_else(|| format!("_{number}"), |base| format!("{base}/_{number}")),
                };
                bodies.push((path, body, policy));
            }
            (Some(name), None) => {
                if let Some(base) = name.strip_suffix("/*") {
                    let base = scope.resolve(base);
                    let mut children: Vec<(&String, &&'a Ruleset)> = anchors
                        .iter()
                        .filter(|(path, _)| {
                            path.strip_prefix(&format!("{base}/"))
                                .is_some_and(|rest| !rest.contains('/'))
                        })
                        .collect();
                    if children.is_empty() {
                        self.blocked_on
                            .get_or_insert((unmodelled(format!("anchor \"{name}\"")), id.clone()));
                    }
                    children.sort_by(|a, b| a.0.cmp(b.0));
                    bodies.extend(
                        children
                            .into_iter()
                            .map(|(path, rs)| (path.clone(), *rs, BlockPolicyOption::Drop)),
                    );
                } else {
                    let path = scope.resolve(name);
                    match anchors.get(&path) {
                        Some(rs) => bodies.push((path, rs, BlockPolicyOption::Drop)),
                        None => {
                            self.blocked_on.get_or_insert((
                                unmodelled(format!("anchor \"{name}\"")),
                                id.clone(),
                            ));
                        }
                    }
                }
            }
            (None, None) => {}
        }
        for (path, body, policy) in bodies {
            let name = path.rsplit('/').next().unwrap_or(&path).to_string();
            self.steps.push(Step::EnterGroup {
                group: Arc::from(path.as_str()),
            });
            let inner = Scope {
                path: Some(path),
                caller: Some((number, id.clone(), name)),
            };
            if self.ruleset(body, &inner, policy) == Flow::Quick {
                return Flow::Quick;
            }
            let last_inside = self
                .last
                .as_ref()
                .is_some_and(|last| last.caller.as_ref() == Some(id));
            if rule.quick && last_inside {
                return Flow::Quick;
            }
        }
        Flow::Continue
    }

    /// A translation of `rule` on the packet as translated so far.
    fn translate(&mut self, rule: &Rule, id: &RuleId) {
        let resolver = self.resolver();
        let mut outcome = Ok(());
        if let Some(pool) = &rule.nat_to {
            outcome = translate::source(&resolver, id, pool, &mut self.current)
                .map(|rewrite| self.steps.push(Step::Nat(rewrite)));
        }
        if let (Ok(()), Some(pool)) = (&outcome, &rule.rdr_to) {
            outcome = translate::destination(&resolver, id, pool, rule.to.port, &mut self.current)
                .map(|rewrite| self.steps.push(Step::Nat(rewrite)));
        }
        if rule.binat_to.is_some() {
            outcome = Err(unmodelled("binat-to".into()));
        }
        if rule.af_to.is_some() {
            outcome = Err(unmodelled("af-to".into()));
        }
        if let Err(on) = outcome {
            self.blocked_on.get_or_insert((on, id.clone()));
        }
    }

    fn log(&mut self, rule: &Rule, id: &RuleId, log_rule: LogRule, action: LogAction) {
        let header = LogHeader {
            rule: log_rule,
            action,
            direction: self.pass.direction,
            interface: self.pass.interface.to_string(),
        };
        if rule.log.is_some() {
            self.logs.push(FilterLog {
                by: id.clone(),
                text: pflog::line(&header, &self.current, self.pass.rules.tcpdump),
            });
        }
    }

    /// A matching `match` rule: translation, log, and `log (all)` for the state.
    fn apply_match(&mut self, rule: &Rule, id: &RuleId, number: u32, scope: &Scope) {
        self.translate(rule, id);
        let log_rule = scope.log_rule(number);
        self.log(rule, id, log_rule.clone(), LogAction::Match);
        if rule.log.as_ref().is_some_and(|l| l.all) {
            self.match_log_all.push(LogHeader {
                rule: log_rule,
                action: LogAction::Match,
                direction: self.pass.direction,
                interface: self.pass.interface.to_string(),
            });
        }
    }

    /// FreeBSD's `nat`/`rdr`/`binat` lists before the filter rules: the first matching
    /// rule of `binat` then `nat` (out) or `rdr` (in) applies, a `no` rule exempts.
    fn old_translation(&mut self) {
        let main = self.pass.rules.main;
        let kinds = match self.pass.direction {
            Direction::Out => [OldNatKind::Binat, OldNatKind::Nat],
            Direction::In => [OldNatKind::Binat, OldNatKind::Rdr],
        };
        let numbers = numbered(main);
        for kind in kinds {
            for (number, rule) in &numbers {
                let (rule_kind, no) = match &rule.action {
                    Action::OldNat { kind, no } => (*kind, *no),
                    Action::OldNatAnchor { kind: k, .. } if *k == kind => {
                        let id = Scope::default().rule_id(rule, *number);
                        self.blocked_on
                            .get_or_insert((unmodelled(rule.origin.text.to_string()), id));
                        return;
                    }
                    _ => continue,
                };
                if rule_kind != kind {
                    continue;
                }
                let id = Scope::default().rule_id(rule, *number);
                let binat_in = kind == OldNatKind::Binat && self.pass.direction == Direction::In;
                let outcome = match binat_in.then(|| binat_reversed(rule)) {
                    Some(Some(reversed)) => self.tests(&reversed),
                    Some(None) => Err(unmodelled("binat".into())),
                    None => self.tests(rule),
                };
                if !self.decide(rule, &id, outcome) {
                    continue;
                }
                if !no {
                    if kind == OldNatKind::Binat {
                        self.binat(rule, &id);
                    } else {
                        self.translate(rule, &id);
                    }
                    self.old_nat = true;
                    let action = match kind {
                        OldNatKind::Nat => LogAction::Nat,
                        OldNatKind::Rdr => LogAction::Rdr,
                        OldNatKind::Binat => LogAction::Binat,
                    };
                    self.log(rule, &id, LogRule::Main(*number), action);
                    if rule.translation_pass {
                        // `nat pass`/`rdr pass`: the filter rules are not read; the
                        // translation rule passes the packet and keeps its state.
                        self.last = Some(Last {
                            rule,
                            id: id.clone(),
                            policy: BlockPolicyOption::Drop,
                            log_rule: LogRule::Main(*number),
                            caller: None,
                        });
                        self.translation_passed = true;
                    }
                }
                return;
            }
        }
    }

    /// `binat`: out, the source becomes the external address; in, the external
    /// destination becomes the internal address (FreeBSD `pf_get_translation`,
    /// `PF_POOLMASK`: a network maps host part to host part; ports are never changed).
    fn binat(&mut self, rule: &Rule, id: &RuleId) {
        let resolver = self.resolver();
        let outcome = match (self.pass.direction, &rule.nat_to) {
            (Direction::Out, Some(external)) => {
                let pool = Pool {
                    kind: Some(PoolType::Bitmask),
                    static_port: true,
                    ..external.clone()
                };
                translate::source(&resolver, id, &pool, &mut self.current)
            }
            (Direction::In, Some(_)) => {
                let pool = Pool {
                    hosts: vec![PoolHost {
                        host: rule.from.addr.host.clone(),
                        interface: None,
                    }],
                    ports: None,
                    kind: Some(PoolType::Bitmask),
                    hash_key: None,
                    sticky: false,
                    static_port: true,
                };
                translate::destination(&resolver, id, &pool, None, &mut self.current)
            }
            (_, None) => Err(unmodelled("binat".into())),
        };
        match outcome {
            Ok(rewrite) => self.steps.push(Step::Nat(rewrite)),
            Err(on) => {
                self.blocked_on.get_or_insert((on, id.clone()));
            }
        }
    }

    /// `pf_test_rule` after the rules: the remembered rule (or the default) decides.
    fn finish(mut self, state: &mut PfState) -> Run {
        let pass = self.pass;
        let last = self.last.take();
        let Some(last) = last else {
            // pf's default rule: pass, no state; a FreeBSD translation still keeps one.
            let result = if self.old_nat {
                let result = self.create_state(state, None, None, None);
                self.carry_tag(state, &result.packet);
                result
            } else {
                self.result(
                    PassVerdict::Pass,
                    Decider::Default,
                    pass.packet.clone(),
                    false,
                )
            };
            return self.into_run(result);
        };
        let rule = last.rule;
        match rule.action {
            Action::Block(_) => self.log(rule, &last.id, last.log_rule.clone(), LogAction::Block),
            // A translation rule that passes was applied and logged already.
            Action::OldNat { .. } => {}
            _ => {
                // `pf_get_transaddr` for the deciding rule; a blocked packet is not
                // rewritten.
                self.translate(rule, &last.id);
                self.log(rule, &last.id, last.log_rule.clone(), LogAction::Pass);
            }
        }
        let decider = Decider::Rule(last.id.clone());
        let result = match &rule.action {
            Action::Block(policy) => {
                // The answer goes to the packet's real source; the result carries the
                // packet as the deciding rule saw it (translated by `match` rules).
                let answer = block_answer(*policy, last.policy, pass.packet);
                let seen = self.current.clone();
                self.result(PassVerdict::Block { answer }, decider, seen, false)
            }
            _ => {
                let route = self.route_of(rule, &last.id);
                let stateful = keeps_state(rule) || self.old_nat;
                // `state_icmp`: errors and neighbour advertisements never create states.
                let stateless = matches!(
                    icmp_role(&pass.packet.l4),
                    Some(IcmpRole::Error | IcmpRole::NeighbourAdvert)
                );
                let mut result = if stateful && !stateless {
                    self.create_state(state, Some(&last), Some(decider), route.clone())
                } else {
                    self.result(PassVerdict::Pass, decider, pass.packet.clone(), false)
                };
                if let Some((RouteKind::RouteTo, iface)) = route {
                    result.packet.oif = Some(iface);
                }
                self.carry_tag(state, &result.packet);
                result
            }
        };
        self.into_run(result)
    }

    /// The deciding rule's `route-to`/`reply-to` with the interface it sends by: the one
    /// written (`route-to (em1 10.0.0.1)`), else the one whose network holds the next hop
    /// (`route-to 10.0.0.1`, OpenBSD 6.9 on). `dup-to` sends a copy and leaves the packet
    /// to the routing table. Not resolvable without the host: Unknown.
    fn route_of(&mut self, rule: &Rule, id: &RuleId) -> Option<(RouteKind, String)> {
        let (kind, pool) = rule.route.as_ref()?;
        if *kind == RouteKind::DupTo {
            return None;
        }
        let written = pool.hosts.iter().find_map(|h| h.interface.clone());
        let by_next_hop = || {
            let host = self.pass.rules.host.filter(|h| h.known.addresses)?;
            pool.hosts.iter().find_map(|member| match member.host {
                PfHost::Network { addr, .. } => host
                    .interfaces
                    .iter()
                    .find(|i| i.addrs.iter().any(|a| a.network().contains(&addr)))
                    .map(|i| i.name.clone()),
                _ => None,
            })
        };
        match written.or_else(by_next_hop) {
            Some(iface) => Some((*kind, iface)),
            None => {
                self.blocked_on
                    .get_or_insert((Undecidable::RoutesUnknown, id.clone()));
                None
            }
        }
    }

    /// A passed packet keeps its tag in the mbuf (`pf_tag_packet`) for its `out` pass.
    fn carry_tag(&self, state: &mut PfState, packet: &Packet) {
        if let (Direction::In, Some(tag)) = (self.pass.direction, self.tag.clone()) {
            state.carry_tag(packet, tag);
        }
    }

    /// `pf_create_state`: wire and stack keys from the packet before and after
    /// translation, and the translated packet.
    fn create_state(
        &mut self,
        state: &mut PfState,
        last: Option<&Last<'a>>,
        decider: Option<Decider>,
        route: Option<(RouteKind, String)>,
    ) -> PassResult {
        let pass = self.pass;
        let (Some(original), Some(translated)) = (
            packet_key(pass.packet, pass.direction),
            packet_key(&self.current, pass.direction),
        ) else {
            return self.result(
                PassVerdict::Pass,
                Decider::Default,
                pass.packet.clone(),
                false,
            );
        };
        let (wire, stack) = match pass.direction {
            Direction::In => (original, translated),
            Direction::Out => (translated, original),
        };
        let created_by = last.map(|l| l.id.clone()).unwrap_or_else(|| RuleId {
            origin: model::Origin::default(),
            number: None,
            group: None,
        });
        let bound = last.and_then(|l| {
            l.rule.state_opts.iter().find_map(|o| match o {
                StateOpt::Policy(p) => Some(*p),
                _ => None,
            })
        });
        let if_bound = bound.unwrap_or(pass.rules.state_policy) == StatePolicy::IfBound;
        let mut log_all = self.match_log_all.clone();
        if let Some(l) = last.filter(|l| l.rule.log.as_ref().is_some_and(|log| log.all)) {
            log_all.push(LogHeader {
                rule: l.log_rule.clone(),
                action: LogAction::Pass,
                direction: pass.direction,
                interface: pass.interface.to_string(),
            });
        }
        let tcp = matches!(pass.packet.l4, L4::Tcp { .. }).then_some([TcpSide::Open; 2]);
        state.entries.push(StateEntry {
            wire,
            stack,
            interface: if_bound.then(|| pass.interface.to_string()),
            direction: pass.direction,
            created_by,
            log_all,
            tag: self.tag.clone(),
            tcp,
            route,
        });
        let packet = self.current.clone();
        self.result(
            PassVerdict::Pass,
            decider.unwrap_or(Decider::Default),
            packet,
            true,
        )
    }

    fn result(
        &mut self,
        verdict: PassVerdict,
        decider: Decider,
        packet: Packet,
        keeps_state: bool,
    ) -> PassResult {
        PassResult {
            verdict,
            decider,
            packet,
            steps: std::mem::take(&mut self.steps),
            logs: std::mem::take(&mut self.logs),
            keeps_state,
        }
    }

    fn into_run(self, mut result: PassResult) -> Run {
        if let Some((on, rule)) = self.blocked_on {
            result = PassResult {
                verdict: PassVerdict::Undetermined { on },
                decider: Decider::Rule(rule),
                packet: self.pass.packet.clone(),
                steps: result.steps,
                logs: Vec::new(),
                keeps_state: false,
            };
        }
        Run {
            result,
            sites: self.sites,
            site_steps: self.site_steps,
        }
    }
}
