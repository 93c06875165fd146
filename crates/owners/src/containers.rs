//! Container and VM network tools, VPNs and router firewalls: Docker (both backends),
//! podman's netavark, LXD/Incus, libvirt, tailscale, OpenWrt's fw4 and wg-quick.
//!
//! Each writes its rules into tables or chains with its own names, so the name is the
//! evidence; rules a tool adds to built-in chains (the jumps into its chains, Docker's
//! masquerade for its bridges) are recognised by what they jump to or which of the tool's
//! interfaces they name. What these rules *are* ([`ContainerRole`]) decides the remedy: a
//! published port, an isolation drop, a zone of fw4, the chain left to the admin.

pub mod docker;
pub mod fw4;
mod libvirt;
mod lxd;
mod netavark;
mod tailscale;
pub mod wg_quick;

use crate::claim::claim;
use model::expr::{Action, Key, NatKind, Pattern, Test, Value, Verdict};
use model::owner::{ContainerRole, PublishedPort};
use model::tool_config::ToolConfig;
use model::{Chain, Evidence, Owner, Role, Rule, Ruleset, Table, Tool};
use std::net::IpAddr;

/// Claims the tables, chains and rules of every tool of this family.
pub(crate) fn recognise(ruleset: &mut Ruleset, _config: &ToolConfig) {
    docker::recognise(ruleset);
    netavark::recognise(ruleset);
    lxd::recognise(ruleset);
    libvirt::recognise(ruleset);
    tailscale::recognise(ruleset);
    fw4::recognise(ruleset);
    wg_quick::recognise(ruleset);
}

/// An owner of `tool` with `evidence` and a container `role`.
fn owner(tool: &Tool, evidence: Evidence, role: ContainerRole) -> Owner {
    Owner {
        tool: tool.clone(),
        evidence,
        role: Role::Container(role),
    }
}

/// Claims a whole table (a table named after the tool): the table and its chains as
/// infrastructure unless `chain_role` says more, each rule by `rule_role`.
fn claim_table(
    table: &mut Table,
    tool: &Tool,
    chain_role: impl Fn(&Chain) -> ContainerRole,
    rule_role: impl Fn(&Chain, &Rule) -> ContainerRole,
) {
    let evidence = Evidence::TableName(table.name.clone());
    claim(
        &mut table.origin,
        owner(tool, evidence.clone(), ContainerRole::Infrastructure),
    );
    for chain in &mut table.chains {
        let role = chain_role(chain);
        let roles: Vec<ContainerRole> = chain.rules.iter().map(|r| rule_role(chain, r)).collect();
        claim(&mut chain.origin, owner(tool, evidence.clone(), role));
        for (rule, role) in chain.rules.iter_mut().zip(roles) {
            claim(&mut rule.origin, owner(tool, evidence.clone(), role));
        }
    }
}

/// Claims the chains of an iptables-style table whose names `is_tool_chain` accepts, with
/// their rules (`rule_role`, `None` to leave a rule unclaimed), and the rules of the
/// other chains that jump or go to them.
fn claim_named_chains(
    table: &mut Table,
    tool: &Tool,
    is_tool_chain: impl Fn(&str) -> bool,
    chain_role: impl Fn(&str) -> ContainerRole,
    rule_role: impl Fn(&Chain, &Rule) -> Option<ContainerRole>,
) {
    for chain in &mut table.chains {
        if is_tool_chain(&chain.name) {
            let evidence = Evidence::ChainName(chain.name.clone());
            let roles: Vec<Option<ContainerRole>> =
                chain.rules.iter().map(|r| rule_role(chain, r)).collect();
            claim(
                &mut chain.origin,
                owner(tool, evidence.clone(), chain_role(&chain.name)),
            );
            for (rule, role) in chain.rules.iter_mut().zip(roles) {
                if let Some(role) = role {
                    claim(&mut rule.origin, owner(tool, evidence.clone(), role));
                }
            }
        } else {
            for rule in &mut chain.rules {
                if let Some(target) = jump_target(rule).filter(|t| is_tool_chain(t)) {
                    let evidence = Evidence::ChainName(target.to_string());
                    claim(
                        &mut rule.origin,
                        owner(tool, evidence, ContainerRole::Infrastructure),
                    );
                }
            }
        }
    }
}

/// The chain a rule jumps or goes to.
fn jump_target(rule: &Rule) -> Option<&str> {
    match rule.verdict()? {
        Verdict::Jump(t) | Verdict::Goto(t) => Some(t),
        _ => None,
    }
}

/// The published port a DNAT rule sets up: `-p tcp --dport 8080 -j DNAT --to-destination
/// 172.17.0.2:80`, `tcp dport 8080 dnat to 172.17.0.2:80`. `None` for other rules or a
/// DNAT to a range (no single container).
pub(crate) fn published_port(rule: &Rule) -> Option<PublishedPort> {
    let nat = rule.actions().find_map(|a| match a {
        Action::Nat(n) if n.kind == NatKind::Dnat => Some(n),
        _ => None,
    })?;
    let (container, last) = nat.addr?;
    if container != last {
        return None;
    }
    let proto = proto_of(rule)?;
    let host_port = exact_port(rule, Key::DstPort)?;
    let container_port = match nat.ports {
        Some((a, b)) if a == b => a,
        Some(_) => return None,
        None => host_port,
    };
    Some(PublishedPort {
        proto: proto.to_string(),
        host_port,
        container,
        container_port,
    })
}

/// Whether `rule` accepts (or passes on) traffic to the container side of `port`: the
/// forward accept that goes with a published port's DNAT.
fn accepts_published(rule: &Rule, port: &PublishedPort) -> bool {
    proto_of(rule) == Some(port.proto.as_str())
        && exact_port(rule, Key::DstPort) == Some(port.container_port)
        && exact_addr(rule, Key::DstAddr) == Some(port.container)
}

/// `tcp` / `udp` / `sctp` when the rule matches exactly that protocol.
fn proto_of(rule: &Rule) -> Option<&'static str> {
    let n = exact_int(rule, Key::L4Proto)?;
    match n {
        6 => Some("tcp"),
        17 => Some("udp"),
        132 => Some("sctp"),
        _ => None,
    }
}

fn exact_port(rule: &Rule, key: Key) -> Option<u16> {
    exact_int(rule, key).and_then(|n| u16::try_from(n).ok())
}

fn exact_int(rule: &Rule, key: Key) -> Option<u64> {
    rule.matches().find_map(|m| match &m.test {
        Test::Cmp {
            key: k,
            pattern: Pattern::Value(Value::Int(n)),
        } if *k == key && !m.negated => Some(*n),
        _ => None,
    })
}

/// The one address an unnegated `key` match names (`-d 172.17.0.2/32`, `ip daddr
/// 172.17.0.2`).
fn exact_addr(rule: &Rule, key: Key) -> Option<IpAddr> {
    rule.matches().find_map(|m| match &m.test {
        Test::Cmp { key: k, pattern } if *k == key && !m.negated => match pattern {
            Pattern::Value(Value::Addr(a)) => Some(*a),
            Pattern::Prefix(net) if net.prefix_len() == net.max_prefix_len() => Some(net.addr()),
            _ => None,
        },
        _ => None,
    })
}

/// The interface names a rule matches on (`-i`/`-o`, `iifname`/`oifname`), negated or
/// not, leaving out wildcards.
fn interfaces(rule: &Rule) -> impl Iterator<Item = (Key, bool, &str)> {
    rule.matches().filter_map(|m| match &m.test {
        Test::Cmp {
            key: key @ (Key::IifName | Key::OifName),
            pattern: Pattern::Iface(name) | Pattern::Value(Value::Str(name)),
        } if !name.ends_with('+') && !name.ends_with('*') => Some((*key, m.negated, name.as_str())),
        _ => None,
    })
}

/// Whether the rule ends in a drop or a reject.
fn blocks(rule: &Rule) -> bool {
    matches!(rule.verdict(), Some(Verdict::Drop | Verdict::Reject(_)))
}

/// Whether the rule does source NAT (`MASQUERADE`, `SNAT`).
fn source_nat(rule: &Rule) -> bool {
    rule.actions().any(
        |a| matches!(a, Action::Nat(n) if matches!(n.kind, NatKind::Masquerade | NatKind::Snat)),
    )
}

/// The comment of a rule, if any.
fn comment(rule: &Rule) -> Option<&str> {
    rule.origin.comment.as_deref()
}

#[cfg(test)]
pub(crate) mod test_support {
    use model::{Family, Owner, Ruleset, SourceFile};

    pub fn iptables(text: &str, family: Family) -> Ruleset {
        frontends::iptables_save::parse(&SourceFile::new("rules", text), Some(family))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn nft(text: &str) -> Ruleset {
        frontends::nft::parse_text(&SourceFile::new("ruleset.nft", text))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The owner of rule `n` (0-based) of `chain` in the first table named `table`.
    pub fn rule_owner<'a>(rs: &'a Ruleset, table: &str, chain: &str, n: usize) -> &'a Owner {
        let t = rs
            .tables
            .iter()
            .find(|t| t.name == table)
            .unwrap_or_else(|| panic!("no table {table}"));
        let c = t
            .chains
            .iter()
            .find(|c| c.name == chain)
            .unwrap_or_else(|| panic!("no chain {chain}"));
        c.rules[n]
            .origin
            .owner
            .as_ref()
            .unwrap_or_else(|| panic!("{table}/{chain} #{n} unowned"))
    }

    /// The owner of `chain` in the first table named `table`.
    pub fn chain_owner<'a>(rs: &'a Ruleset, table: &str, chain: &str) -> &'a Owner {
        let t = rs.tables.iter().find(|t| t.name == table).expect("table");
        let c = t.chains.iter().find(|c| c.name == chain).expect("chain");
        c.origin.owner.as_ref().expect("owned")
    }
}
