//! Remedies in firewalld's language: `firewall-cmd` for the zone (or policy) the packet
//! landed in, at runtime and `--permanent`, never a rule typed into `table inet firewalld`
//! (firewalld rewrites it at every reload).
//!
//! For traffic to the host: a rich rule for this source and port (the flow), a known
//! service whose only port is this one, and the port itself. The patched ruleset holds
//! exactly the rule firewalld 2.x generates for the command, where it puts it: appended to
//! `filter_IN_{zone}_allow` (`filter_IN_policy_{name}_allow`), `tcp dport 8080 accept`,
//! or with the rich rule's source in front (`build_policy_ports_rules` in firewalld's
//! `nftables.py`; the nft listing drops the `meta nfproto` the family adds in front of an
//! address match). Forwarded traffic is [`forward`]'s: a policy from the ingress to the
//! egress zone. The iptables backend's chains (`IN_public_allow` in `filter`) are
//! [`iptables`]'s; a ping an ICMP block rejects is [`icmp`]'s.

mod forward;
mod icmp;
mod iptables;

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{FixRule, Position, FIX_SOURCE};
use crate::fix_facts::{Opens, ZoneOpening, ZoneScope};
use crate::fix_nft;
use engine::Decider;
use model::owner::{FirewalldRole, Owner};
use model::packet::IpProto;
use model::{Chain, Family, Role, Ruleset, Tool, L4};
use owners::firewalld::chain_name::{self, ChainKind, Shortcut};
use owners::firewalld::config::FirewalldConfig;
use owners::firewalld::{zone_of, Direction};
use std::net::IpAddr;

/// firewalld's nftables table.
const TABLE: &str = "firewalld";

/// The changes firewalld's own language offers for `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let Some(owner) = blocked.owner.filter(|o| o.tool == Tool::Firewalld) else {
        return Vec::new();
    };
    if matches!(blocked.packet.l4, L4::Icmp { .. } | L4::Icmpv6 { .. }) {
        return icmp::candidates(blocked, owner);
    }
    let Some(flow) = Flow::of(blocked) else {
        return Vec::new();
    };
    if let Some(at) = iptables::Allow::of(blocked, owner) {
        return iptables::candidates(blocked, &at, &flow);
    }
    if let Some(pair) = forward::ZonePair::of(blocked) {
        return forward::candidates(blocked, &pair, &flow);
    }
    let Some(scope) = scope(blocked, owner) else {
        return Vec::new();
    };
    let allow = scope.allow_chain();
    let Some(t) = blocked.ruleset.table(Family::Inet, TABLE) else {
        return Vec::new();
    };
    if blocked.ruleset.tables[t].chain(&allow).is_none() {
        return Vec::new();
    }
    changes(blocked, &flow, false)
        .iter()
        .filter_map(|c| candidate(blocked.ruleset, &scope, c, &flow))
        .collect()
}

/// One change in firewalld's language and the rule firewalld generates for it.
struct Change {
    breadth: Breadth,
    /// `--add-port=443/tcp`, `--add-rich-rule='...'`.
    option: String,
    /// The generated rule's matches (`tcp dport 443`), before `accept`.
    matches: String,
    /// The one source it admits (a rich rule), else any.
    src: Option<IpAddr>,
}

/// The changes that admit `flow`, narrowest first: a rich rule for its source (and, for
/// forwarded traffic, `with_dst`, its destination), a service that is exactly its port,
/// the port. The rich rule's matches are in firewalld's order: family, destination,
/// source, port (`build_policy_ports_rules`).
fn changes(blocked: &Blocked<'_>, flow: &Flow, with_dst: bool) -> Vec<Change> {
    let cfg = FirewalldConfig::read(blocked.config);
    let port_match = format!("{} dport {}", flow.proto, flow.port);
    let (family, addr) = if flow.src.is_ipv6() {
        ("ipv6", "ip6")
    } else {
        ("ipv4", "ip")
    };
    let (rich_dst, match_dst) = if with_dst {
        (
            format!(" destination address=\"{}\"", flow.dst),
            format!("{addr} daddr {} ", flow.dst),
        )
    } else {
        (String::new(), String::new())
    };
    let rich = format!(
        "rule family=\"{family}\" source address=\"{}\"{rich_dst} port port=\"{}\" protocol=\"{}\" accept",
        flow.src, flow.port, flow.proto
    );
    let mut out = vec![Change {
        breadth: Breadth::Flow,
        option: format!("--add-rich-rule='{rich}'"),
        matches: format!("{match_dst}{addr} saddr {} {port_match}", flow.src),
        src: Some(flow.src),
    }];
    if let Some(service) = single_port_service(&cfg, flow) {
        out.push(Change {
            breadth: Breadth::Service,
            option: format!("--add-service={service}"),
            matches: port_match.clone(),
            src: None,
        });
    }
    out.push(Change {
        breadth: Breadth::Service,
        option: format!("--add-port={}/{}", flow.port, flow.proto),
        matches: port_match,
        src: None,
    });
    out
}

/// The blocked packet's protocol, destination port and addresses.
struct Flow {
    proto: &'static str,
    ip_proto: IpProto,
    port: u16,
    src: IpAddr,
    dst: IpAddr,
}

impl Flow {
    fn of(blocked: &Blocked<'_>) -> Option<Flow> {
        let (proto, ip_proto, port) = match blocked.packet.l4 {
            L4::Tcp { dport, .. } => ("tcp", IpProto::Tcp, dport),
            L4::Udp { dport, .. } => ("udp", IpProto::Udp, dport),
            L4::Sctp { dport, .. } => ("sctp", IpProto::Sctp, dport),
            _ => return None,
        };
        Some(Flow {
            proto,
            ip_proto,
            port,
            src: blocked.packet.src,
            dst: blocked.packet.dst,
        })
    }
}

/// Where the change goes: a zone (traffic to the host) or a policy, with the hook whose
/// chains it fills (`IN` or `FWD`).
enum Scope {
    Zone(String),
    Policy(String, Shortcut),
}

impl Scope {
    /// `--zone=public` / `--policy=name`.
    fn option(&self) -> String {
        match self {
            Scope::Zone(z) => format!("--zone={z}"),
            Scope::Policy(p, _) => format!("--policy={p}"),
        }
    }

    fn allow_chain(&self) -> String {
        match self {
            Scope::Zone(z) => format!("filter_IN_{z}_allow"),
            Scope::Policy(p, hook) => format!("filter_{}_policy_{p}_allow", hook.name()),
        }
    }

    fn opening_scope(&self) -> ZoneScope {
        match self {
            Scope::Zone(z) => ZoneScope::Zone(z.clone()),
            Scope::Policy(p, _) => ZoneScope::Policy(p.clone()),
        }
    }
}

/// The zone or policy whose rules decided a packet to the host: from the deciding chain's
/// name and owner, or (for firewalld's own dispatch) the zone the packet lands in.
fn scope(blocked: &Blocked<'_>, owner: &Owner) -> Option<Scope> {
    let name = chain_name::parse_nft(&deciding_chain(blocked)?.name)?;
    match (&name.kind, name.shortcut) {
        (ChainKind::Infrastructure, _) => {}
        (_, Some(Shortcut::In)) => {}
        _ => return None,
    }
    match &owner.role {
        Role::Firewalld(FirewalldRole::Zone { zone, .. }) => Some(Scope::Zone(zone.clone())),
        Role::Firewalld(FirewalldRole::Policy { policy, .. }) => {
            Some(Scope::Policy(policy.clone(), Shortcut::In))
        }
        _ if name.table == "filter" && blocked.packet.iif.is_some() => zone_of(
            blocked.ruleset,
            blocked.config,
            blocked.packet,
            Direction::Input,
        )
        .map(|c| Scope::Zone(c.zone)),
        _ => None,
    }
}

/// The chain of `inet firewalld` whose rule or policy decided the packet.
fn deciding_chain<'a>(blocked: &Blocked<'a>) -> Option<&'a Chain> {
    let at = match &blocked.trace.decider {
        Decider::Rule(r) => r.chain_ref(),
        Decider::Policy(c) => *c,
        _ => return None,
    };
    let table = blocked.ruleset.tables.get(at.table)?;
    if table.family != Family::Inet || table.name != TABLE {
        return None;
    }
    table.chains.get(at.chain)
}

/// A service of the recorded configuration whose rules are exactly this one port.
fn single_port_service<'a>(cfg: &'a FirewalldConfig, flow: &Flow) -> Option<&'a str> {
    cfg.services_with_port(flow.port, flow.port, flow.proto)
        .into_iter()
        .find(|name| {
            cfg.services
                .get(*name)
                .is_some_and(|s| s.ports.len() == 1 && !s.beyond_ports)
        })
}

/// One remedy: the command at runtime and `--permanent`, the rule firewalld generates
/// appended to the scope's allow chain.
fn candidate(ruleset: &Ruleset, scope: &Scope, change: &Change, flow: &Flow) -> Option<Candidate> {
    let chain = scope.allow_chain();
    let patched = append_rule(ruleset, &chain, &change.matches)?;
    let kernel_rule = append_fix_rule(&chain, &change.matches);
    Some(runtime_and_permanent(
        scope,
        change,
        flow,
        patched,
        kernel_rule,
    ))
}

/// `change` in `scope` at runtime and `--permanent`, leaving `patched` with `kernel_rule`
/// appended by firewalld.
fn runtime_and_permanent(
    scope: &Scope,
    change: &Change,
    flow: &Flow,
    patched: Ruleset,
    kernel_rule: FixRule,
) -> Candidate {
    let option = scope.option();
    let opening = &change.option;
    Candidate {
        breadth: change.breadth,
        language: Language::FirewallCmd,
        steps: vec![
            Step::Run(format!("firewall-cmd {option} {opening}")),
            Step::Run(format!("firewall-cmd --permanent {option} {opening}")),
        ],
        durability: Durability::Durable,
        opens: zone_opening(scope, flow, change),
        caveats: Vec::new(),
        patched: Some(patched),
        kernel_rules: vec![kernel_rule],
    }
}

fn zone_opening(scope: &Scope, flow: &Flow, change: &Change) -> Opens {
    Opens::ZonePort(ZoneOpening {
        scope: scope.opening_scope(),
        proto: flow.ip_proto,
        ports: (flow.port, flow.port),
        src: change.src,
    })
}

/// `nft add rule inet firewalld CHAIN matches accept`: the generated rule, appended.
fn append_fix_rule(chain: &str, matches: &str) -> FixRule {
    FixRule {
        command: fix_nft::insert_command(Family::Inet, TABLE, chain, None, matches),
        body: format!("{matches} accept"),
        family: Family::Inet,
        table: TABLE.to_string(),
        chain: chain.to_string(),
        position: Position::Append,
    }
}

/// `ruleset` with `matches accept` appended to `chain` of `inet firewalld`, as firewalld
/// appends a new port, service or priority-0 rich rule to the allow chain.
pub(crate) fn append_rule(ruleset: &Ruleset, chain: &str, matches: &str) -> Option<Ruleset> {
    let (rule, source) = fix_nft::parse_rule(Family::Inet, TABLE, chain, matches)?;
    let mut patched = ruleset.clone();
    let t = patched.table(Family::Inet, TABLE)?;
    let c = patched.tables[t].chain(chain)?;
    patched.tables[t].chains[c].rules.push(rule);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(source);
    }
    Some(patched)
}
