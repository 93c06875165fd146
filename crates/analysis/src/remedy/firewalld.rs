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
//! address match). Forwarded traffic (policies) and the iptables backend are not offered.

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{FixRule, Position, FIX_SOURCE};
use crate::fix_facts::{Opens, ZoneOpening};
use crate::fix_nft;
use engine::Decider;
use model::owner::{FirewalldRole, Owner};
use model::packet::IpProto;
use model::{Family, Role, Ruleset, Tool, L4};
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
    let Some(flow) = Flow::of(blocked) else {
        return Vec::new();
    };
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
    let cfg = FirewalldConfig::read(blocked.config);
    let port_match = format!("{} dport {}", flow.proto, flow.port);
    let mut out = Vec::new();
    let rich = format!(
        "rule family=\"{}\" source address=\"{}\" port port=\"{}\" protocol=\"{}\" accept",
        if flow.src.is_ipv6() { "ipv6" } else { "ipv4" },
        flow.src,
        flow.port,
        flow.proto
    );
    let saddr = if flow.src.is_ipv6() { "ip6" } else { "ip" };
    out.extend(candidate(
        blocked.ruleset,
        &scope,
        Breadth::Flow,
        &format!("--add-rich-rule='{rich}'"),
        &format!("{saddr} saddr {} {port_match}", flow.src),
        Some(flow.src),
        &flow,
    ));
    if let Some(service) = single_port_service(&cfg, &flow) {
        out.extend(candidate(
            blocked.ruleset,
            &scope,
            Breadth::Service,
            &format!("--add-service={service}"),
            &port_match,
            None,
            &flow,
        ));
    }
    out.extend(candidate(
        blocked.ruleset,
        &scope,
        Breadth::Service,
        &format!("--add-port={}/{}", flow.port, flow.proto),
        &port_match,
        None,
        &flow,
    ));
    out
}

/// The blocked packet's protocol, destination port and source.
struct Flow {
    proto: &'static str,
    ip_proto: IpProto,
    port: u16,
    src: IpAddr,
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
        })
    }
}

/// Where the change goes: a zone or a policy, for traffic to the host.
enum Scope {
    Zone(String),
    Policy(String),
}

impl Scope {
    /// `--zone=public` / `--policy=name`.
    fn option(&self) -> String {
        match self {
            Scope::Zone(z) => format!("--zone={z}"),
            Scope::Policy(p) => format!("--policy={p}"),
        }
    }

    fn allow_chain(&self) -> String {
        match self {
            Scope::Zone(z) => format!("filter_IN_{z}_allow"),
            Scope::Policy(p) => format!("filter_IN_policy_{p}_allow"),
        }
    }

    fn words(&self) -> String {
        match self {
            Scope::Zone(z) => format!("zone {z}"),
            Scope::Policy(p) => format!("policy {p}"),
        }
    }
}

/// The zone or policy whose rules decided a packet to the host: from the deciding chain's
/// name and owner, or (for firewalld's own dispatch) the zone the packet lands in.
fn scope(blocked: &Blocked<'_>, owner: &Owner) -> Option<Scope> {
    let at = match &blocked.trace.decider {
        Decider::Rule(r) => r.chain_ref(),
        Decider::Policy(c) => *c,
        _ => return None,
    };
    let table = blocked.ruleset.tables.get(at.table)?;
    if table.family != Family::Inet || table.name != TABLE {
        return None;
    }
    let name = chain_name::parse_nft(&table.chains.get(at.chain)?.name)?;
    match (&name.kind, name.shortcut) {
        (ChainKind::Infrastructure, _) => {}
        (_, Some(Shortcut::In)) => {}
        _ => return None,
    }
    match &owner.role {
        Role::Firewalld(FirewalldRole::Zone { zone, .. }) => Some(Scope::Zone(zone.clone())),
        Role::Firewalld(FirewalldRole::Policy { policy, .. }) => {
            Some(Scope::Policy(policy.clone()))
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
fn candidate(
    ruleset: &Ruleset,
    scope: &Scope,
    breadth: Breadth,
    change: &str,
    rule_matches: &str,
    src: Option<IpAddr>,
    flow: &Flow,
) -> Option<Candidate> {
    let chain = scope.allow_chain();
    let patched = append_rule(ruleset, &chain, rule_matches)?;
    let option = scope.option();
    Some(Candidate {
        breadth,
        language: Language::FirewallCmd,
        steps: vec![
            Step::Run(format!("firewall-cmd {option} {change}")),
            Step::Run(format!("firewall-cmd --permanent {option} {change}")),
        ],
        durability: Durability::Durable,
        opens: Opens::ZonePort(ZoneOpening {
            scope: scope.words(),
            proto: flow.ip_proto,
            ports: (flow.port, flow.port),
            src,
        }),
        caveats: Vec::new(),
        patched: Some(patched),
        kernel_rules: vec![FixRule {
            command: fix_nft::insert_command(Family::Inet, TABLE, &chain, None, rule_matches),
            body: format!("{rule_matches} accept"),
            family: Family::Inet,
            table: TABLE.to_string(),
            chain,
            position: Position::Append,
        }],
    })
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
