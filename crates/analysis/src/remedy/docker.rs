//! Remedies for traffic to Docker's containers.
//!
//! With the iptables backend the admin's place is `DOCKER-USER`: Docker jumps to it first
//! from `FORWARD` and never flushes it, so `iptables -I DOCKER-USER ... -j ACCEPT` (and the
//! same line in the persistent file) lets a forwarded packet past Docker's own drops and
//! anything later in `FORWARD` (ufw's chains included). The packet is matched as the
//! forward hook sees it: after Docker's DNAT, to the container's address and port.
//!
//! With the nftables backend (Docker 29) there is no `DOCKER-USER`, and an accept in a
//! table of the admin's own does not override Docker's drop (each base chain decides for
//! itself); a drop in the admin's own table is fixed there (the plain kernel-rule
//! remedy). A drop of Docker's own for a port no container publishes is a cause: the port
//! is not published (`docker run --publish`).
//!
//! Either way, when ufw is present and the port is one Docker publishes, the remedy
//! carries the warning that ufw's rules do not see this traffic.

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{
    flow_matches, flow_opening, suggested_rule, FixRule, Position, Scope, FIX_SOURCE,
};
use crate::fix_facts::{FixCaveat, Opens};
use model::owner::{ContainerRole, PersistentFile, PublishedPort};
use model::{Family, Hook, Packet, Role, Ruleset, SourceFile, Tool, L4};
use owners::containers::docker;

/// The changes Docker's own conventions offer for `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let packet = &blocked.trace.final_packet;
    let oif = crate::fix_nft::out_interface(packet, blocked.trace);
    let bridges = docker::bridges(blocked.ruleset);
    let docker_owned = blocked.owner.is_some_and(|o| o.tool == Tool::Docker);
    let to_bridge = oif.as_ref().is_some_and(|o| bridges.contains(o));
    if !to_bridge && !docker_owned {
        return Vec::new();
    }
    let published = published_to(blocked.ruleset, packet);
    let caveats: Vec<FixCaveat> = published
        .iter()
        .filter(|_| ufw_present(blocked.ruleset))
        .map(|p| FixCaveat::PublishedPortBypassesUfw { port: p.clone() })
        .collect();
    let mut out: Vec<Candidate> = user_chain_rule(blocked, packet, &caveats)
        .into_iter()
        .collect();
    if published.is_none() && docker_owned && !is_users_choice(blocked) {
        out.push(publish_the_port(blocked, packet, caveats));
    }
    out
}

/// The port Docker publishes whose container side `packet` (as forwarded) goes to.
fn published_to(ruleset: &Ruleset, packet: &Packet) -> Option<PublishedPort> {
    let (proto, dport) = match packet.l4 {
        L4::Tcp { dport, .. } => ("tcp", dport),
        L4::Udp { dport, .. } => ("udp", dport),
        L4::Sctp { dport, .. } => ("sctp", dport),
        _ => return None,
    };
    docker::published_ports(ruleset)
        .into_iter()
        .find(|p| p.proto == proto && p.container == packet.dst && p.container_port == dport)
}

fn ufw_present(ruleset: &Ruleset) -> bool {
    ruleset.tables.iter().flat_map(|t| &t.chains).any(|c| {
        c.name.starts_with("ufw-") || c.origin.owner.as_ref().is_some_and(|o| o.tool == Tool::Ufw)
    })
}

/// A drop the admin chose (`DOCKER-USER` is theirs) is not Docker's cause to report.
fn is_users_choice(blocked: &Blocked<'_>) -> bool {
    blocked
        .owner
        .is_some_and(|o| o.role == Role::Container(ContainerRole::UserChain))
}

/// `iptables -I DOCKER-USER <this flow> -j ACCEPT`, when the ruleset has Docker's
/// `DOCKER-USER` for the packet's family.
fn user_chain_rule(
    blocked: &Blocked<'_>,
    packet: &Packet,
    caveats: &[FixCaveat],
) -> Option<Candidate> {
    let family = if packet.dst.is_ipv6() {
        Family::Ip6
    } else {
        Family::Ip
    };
    let t = blocked.ruleset.table(family, "filter")?;
    let table = &blocked.ruleset.tables[t];
    if crate::fix_nft::is_nft(table) {
        return None;
    }
    let c = table.chain(docker::USER_CHAIN)?;
    let matches = flow_matches(packet, blocked.trace, Hook::Forward, Scope::Flow)?;
    let line = format!("-A {} {matches} -j ACCEPT", docker::USER_CHAIN);
    let text = format!("*filter\n:{} - [0:0]\n{line}\nCOMMIT\n", docker::USER_CHAIN);
    let source = SourceFile::new(FIX_SOURCE, text);
    let parsed = frontends::iptables_save::parse(&source, Some(family)).ok()?;
    let rule = suggested_rule(parsed)?;
    let mut patched = blocked.ruleset.clone();
    patched.tables[t].chains[c].rules.insert(0, rule);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(source);
    }
    let tool = if family == Family::Ip6 {
        "ip6tables"
    } else {
        "iptables"
    };
    let command = format!("{tool} -I {} {matches} -j ACCEPT", docker::USER_CHAIN);
    let file = if family == Family::Ip6 {
        PersistentFile::RulesV6
    } else {
        PersistentFile::RulesV4
    };
    Some(Candidate {
        breadth: Breadth::Flow,
        language: Language::Iptables,
        steps: vec![
            Step::Run(command.clone()),
            Step::AddLine {
                file,
                table: "filter".to_string(),
                chain: docker::USER_CHAIN.to_string(),
                line: line.clone(),
            },
        ],
        durability: Durability::Durable,
        opens: Opens::Flow(flow_opening(packet, blocked.trace)),
        caveats: caveats.to_vec(),
        patched: Some(patched),
        kernel_rules: vec![FixRule {
            command,
            body: line,
            family,
            table: "filter".to_string(),
            chain: docker::USER_CHAIN.to_string(),
            position: Position::Insert(1),
        }],
    })
}

/// Docker dropped traffic to a container port nothing publishes: publish it.
fn publish_the_port(blocked: &Blocked<'_>, packet: &Packet, caveats: Vec<FixCaveat>) -> Candidate {
    let publish = match packet.l4 {
        L4::Tcp { dport, .. } => format!("{dport}:{dport}"),
        L4::Udp { dport, .. } => format!("{dport}:{dport}/udp"),
        L4::Sctp { dport, .. } => format!("{dport}:{dport}/sctp"),
        _ => String::new(),
    };
    let steps = if publish.is_empty() {
        Vec::new()
    } else {
        vec![Step::Run(format!("docker run --publish {publish} IMAGE"))]
    };
    Candidate {
        breadth: Breadth::Cause,
        language: Language::ToolSetting(Tool::Docker),
        steps,
        durability: Durability::Durable,
        opens: Opens::Flow(flow_opening(packet, blocked.trace)),
        caveats,
        patched: None,
        kernel_rules: Vec::new(),
    }
}
