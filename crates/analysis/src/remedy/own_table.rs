//! Remedies for blocks by netavark, LXD/Incus, libvirt, tailscale and OpenWrt's fw4.
//!
//! These tools rewrite their tables, and an accept in a table of the admin's own does not
//! undo their drop: every base chain on a hook decides for itself, so a packet accepted in
//! one is still dropped by the tool's. What works is the tool's own configuration:
//! - fw4: a `config rule` in `/etc/config/firewall` (by `uci`), which fw4 writes into the
//!   zone's input chain before the zone's policy; verified by simulating that rule.
//! - LXD/Incus network ACLs: the network's default ACL action
//!   (`security.acls.default.{ingress,egress}.action`), a cause with no patch.
//! - tailscale's stateful filtering drop: `tailscale set --stateful-filtering=false`; its
//!   drop of the CGNAT range arriving by another interface (an ISP's carrier-grade NAT
//!   looks the same): `tailscale set --netfilter-mode=nodivert`, which keeps tailscale's
//!   chains but stops calling them (verified by simulating the ruleset without the jumps).
//! - netavark's isolation between podman networks (`--opt isolate`): a cause, connecting
//!   the container to the other network (`podman network connect`).
//! - libvirt's reject of traffic into a NAT network: a cause, the network's forward mode
//!   (`<forward mode='open'/>`, where libvirt adds no rules for it).
//!
//! Where no setting is known (netavark's other drops), nothing is offered here, and the
//! pipeline falls back to a rule in the tool's chain marked as lost on reload.

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{flow_opening, FixRule, Position, FIX_SOURCE};
use crate::fix_facts::Opens;
use engine::Event;
use model::expr::Verdict;
use model::owner::ContainerRole;
use model::{Family, Role, Ruleset, Tool, L4};
use owners::containers::fw4;

/// The changes the owning tool's configuration offers for `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let Some(owner) = blocked.owner else {
        return Vec::new();
    };
    match (&owner.tool, &owner.role) {
        (Tool::Fw4, _) => fw4_rule(blocked).into_iter().collect(),
        (Tool::Lxd, Role::Container(ContainerRole::Acl(network))) => {
            vec![lxd_acl_default(blocked, network)]
        }
        (Tool::Tailscale, _) if stateful_drop(blocked) => vec![setting(
            blocked,
            Tool::Tailscale,
            "tailscale set --stateful-filtering=false".to_string(),
        )],
        (Tool::Tailscale, Role::Container(ContainerRole::SourceFilter)) => {
            vec![tailscale_nodivert(blocked)]
        }
        (Tool::Netavark, Role::Container(ContainerRole::Isolation)) => vec![setting(
            blocked,
            Tool::Netavark,
            "podman network connect NETWORK CONTAINER".to_string(),
        )],
        (Tool::Libvirt, _) if blocks_into_network(blocked) => vec![libvirt_open(blocked)],
        _ => Vec::new(),
    }
}

/// A cause in the tool's settings: one command, nothing to simulate.
fn setting(blocked: &Blocked<'_>, tool: Tool, command: String) -> Candidate {
    Candidate {
        breadth: Breadth::Cause,
        language: Language::ToolSetting(tool),
        steps: vec![Step::Run(command)],
        durability: Durability::Durable,
        opens: Opens::Flow(flow_opening(&blocked.trace.final_packet, blocked.trace)),
        caveats: Vec::new(),
        patched: None,
        kernel_rules: Vec::new(),
    }
}

/// `tailscale set --netfilter-mode=nodivert`: tailscale keeps its `ts-*` chains but no
/// longer jumps to them from the built-in ones; verified with those jumps gone.
fn tailscale_nodivert(blocked: &Blocked<'_>) -> Candidate {
    let mut patched = blocked.ruleset.clone();
    for chain in patched.tables.iter_mut().flat_map(|t| &mut t.chains) {
        chain.rules.retain(|r| {
            !matches!(r.verdict(), Some(Verdict::Jump(j) | Verdict::Goto(j)) if j.starts_with("ts-"))
        });
    }
    Candidate {
        patched: Some(patched),
        breadth: Breadth::Path,
        ..setting(
            blocked,
            Tool::Tailscale,
            "tailscale set --netfilter-mode=nodivert".to_string(),
        )
    }
}

/// Whether libvirt's reject is of traffic into one of its networks (out of its bridge):
/// a NAT or isolated network takes only replies from outside.
fn blocks_into_network(blocked: &Blocked<'_>) -> bool {
    let packet = &blocked.trace.final_packet;
    crate::fix_nft::out_interface(packet, blocked.trace).is_some_and(|oif| {
        blocked.ruleset.tables.iter().any(|t| {
            t.origin
                .owner
                .as_ref()
                .is_some_and(|o| o.tool == Tool::Libvirt)
                && t.chains.iter().flat_map(|c| &c.rules).any(|r| {
                    r.matches().any(|m| {
                        matches!(&m.test, model::Test::Cmp { key: model::Key::OifName, pattern }
                            if pattern_names(pattern, &oif))
                    })
                })
        })
    })
}

fn pattern_names(pattern: &model::expr::Pattern, name: &str) -> bool {
    use model::expr::{Pattern, Value};
    matches!(pattern, Pattern::Iface(n) | Pattern::Value(Value::Str(n)) if n == name)
}

/// The network's forward mode `open`: libvirt adds no firewall rules for it, and the
/// host's own rules decide (libvirt `formatnetwork`: "forward mode='open'").
fn libvirt_open(blocked: &Blocked<'_>) -> Candidate {
    let steps = [
        "virsh net-dumpxml NETWORK > NETWORK.xml",
        "sed -i \"s/<forward mode='[a-z]*'/<forward mode='open'/\" NETWORK.xml",
        "virsh net-define NETWORK.xml",
        "virsh net-destroy NETWORK",
        "virsh net-start NETWORK",
    ];
    Candidate {
        steps: steps.iter().map(|s| Step::Run((*s).to_string())).collect(),
        ..setting(blocked, Tool::Libvirt, String::new())
    }
}

/// LXD's ACL chain ended in the network's default action: into the network (out of the
/// bridge) is ingress, out of it egress.
fn lxd_acl_default(blocked: &Blocked<'_>, network: &str) -> Candidate {
    let packet = &blocked.trace.final_packet;
    let oif = crate::fix_nft::out_interface(packet, blocked.trace);
    let direction = if oif.as_deref() == Some(network) {
        "ingress"
    } else {
        "egress"
    };
    setting(
        blocked,
        Tool::Lxd,
        format!("lxc network set {network} security.acls.default.{direction}.action=allow"),
    )
}

/// tailscale's `-o tailscale0 -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP`.
fn stateful_drop(blocked: &Blocked<'_>) -> bool {
    let engine::Decider::Rule(at) = blocked.trace.decider else {
        return false;
    };
    blocked.ruleset.rule_at(at).matches().any(|m| {
        matches!(
            m.test,
            model::Test::Cmp {
                key: model::Key::CtState,
                ..
            }
        ) && m.negated
    })
}

/// A fw4 `config rule` accepting this flow into the input of the zone it arrived in (the
/// zone whose `input_ZONE` chain the packet went through; the reject itself is fw4's
/// shared `handle_reject`), and the ruleset with the rule where fw4 writes it (that chain,
/// before its policy jump).
fn fw4_rule(blocked: &Blocked<'_>) -> Option<Candidate> {
    let packet = &blocked.trace.final_packet;
    let input_chain = blocked.trace.events.iter().find_map(|e| match e {
        Event::Rule { at, .. } => {
            let name = &blocked.ruleset.chain_at(at.chain_ref()).name;
            name.starts_with("input_").then(|| name.clone())
        }
        _ => None,
    })?;
    let zone = input_chain.strip_prefix("input_")?;
    let (proto, dport) = match packet.l4 {
        L4::Tcp { dport, .. } => ("tcp", dport),
        L4::Udp { dport, .. } => ("udp", dport),
        _ => return None,
    };
    let family = if packet.src.is_ipv6() { "ip6" } else { "ip" };
    let name = format!("Allow-{proto}-{dport}-from-{}", packet.src);
    let matches = format!(
        "{family} saddr {} {proto} dport {dport} counter",
        packet.src
    );
    let (patched, kernel_rule) = with_fw4_rule(blocked.ruleset, &input_chain, &matches)?;
    let uci =
        |key: &str, value: String| Step::Run(format!("uci set firewall.@rule[-1].{key}='{value}'"));
    Some(Candidate {
        breadth: Breadth::Flow,
        language: Language::ToolSetting(Tool::Fw4),
        steps: vec![
            Step::Run("uci add firewall rule".to_string()),
            uci("name", name),
            uci("src", zone.to_string()),
            uci("src_ip", packet.src.to_string()),
            uci("proto", proto.to_string()),
            uci("dest_port", dport.to_string()),
            uci("target", "ACCEPT".to_string()),
            Step::Run("uci commit firewall".to_string()),
            Step::Run("fw4 reload".to_string()),
        ],
        durability: Durability::Durable,
        opens: Opens::Flow(flow_opening(packet, blocked.trace)),
        caveats: Vec::new(),
        patched: Some(patched),
        kernel_rules: vec![kernel_rule],
    })
}

/// `ruleset` with an accept for `matches` in fw4's `chain`, before the chain's closing
/// jump to the zone's policy (`jump reject_from_wan`) or at its end; and that rule as an
/// `nft` command (what `verify --fix` loads in place of running fw4).
fn with_fw4_rule(ruleset: &Ruleset, chain: &str, matches: &str) -> Option<(Ruleset, FixRule)> {
    let (rule, source) = crate::fix_nft::parse_rule(Family::Inet, fw4::TABLE, chain, matches)?;
    let t = ruleset.table(Family::Inet, fw4::TABLE)?;
    let c = ruleset.tables[t].chain(chain)?;
    let mut patched = ruleset.clone();
    let rules = &mut patched.tables[t].chains[c].rules;
    let policy_jump = rules.last().is_some_and(|r| {
        matches!(r.verdict(), Some(Verdict::Jump(j) | Verdict::Goto(j)) if j.contains("_from_"))
    });
    let at = if policy_jump {
        rules.len() - 1
    } else {
        rules.len()
    };
    let original = &ruleset.tables[t].chains[c];
    let before = (at < original.rules.len()).then(|| {
        (
            original.source_rule_number(at),
            original.rules[at].origin.handle,
        )
    });
    rules.insert(at, rule);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(source);
    }
    let kernel_rule = FixRule {
        command: crate::fix_nft::insert_command(Family::Inet, fw4::TABLE, chain, before, matches),
        body: format!("{matches} accept"),
        family: Family::Inet,
        table: fw4::TABLE.to_string(),
        chain: chain.to_string(),
        position: before.map_or(Position::Append, |(n, _)| Position::Insert(n)),
    };
    Some((patched, kernel_rule))
}
