//! Remedies in ufw's language: when ufw's default policy decided, a `ufw allow` (or
//! `ufw route allow`) at each breadth; when a user rule of ufw's blocks, deleting it or
//! inserting an allow before it. Each candidate's patched ruleset holds exactly the rules
//! ufw generates for the command, where ufw puts them: appended to `ufw-user-input`,
//! `-output` or `-forward` (`ufw6-*` for IPv6), or before the blocking rule for
//! `insert N`. The rule text is ufw 0.36.2's, as the real ufw wrote it in `user.rules` in a
//! namespace (`-i IIF -o OIF -p PROTO -d DST --dport P -s SRC -j ACCEPT`); a command
//! without an address applies to both families, and only the packet's is simulated.
//!
//! A reply or established packet gets no ufw candidate: ufw's before chains accept
//! `RELATED,ESTABLISHED`, so such a packet had no conntrack entry, and a `ufw allow` for
//! the reply's port would open a new service instead of fixing the connection.

use super::exchange::starts_a_connection;
use super::{removal, Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{FixRule, Position};
use crate::fix_facts::{Opens, TrafficOpening};
use model::owner::{UfwDirection, UfwRole, UfwTuple};
use model::packet::IpProto;
use model::{Family, Owner, Role, Ruleset, SourceFile, Tool, L4};
use std::net::IpAddr;

/// The changes ufw's own language offers for `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let Some(Owner {
        tool: Tool::Ufw,
        role: Role::Ufw(role),
        ..
    }) = blocked.owner
    else {
        return Vec::new();
    };
    if !starts_a_connection(blocked.packet) {
        return Vec::new();
    }
    let flow = Flow::of(blocked);
    let rules: Vec<(Breadth, UfwRule)> = match role {
        UfwRole::DefaultPolicy { direction, .. } => ladder(*direction, &flow),
        UfwRole::UserRule(tuple) if blocks(tuple) => {
            return against_user_rule(blocked, &flow, tuple);
        }
        _ => Vec::new(),
    };
    rules
        .into_iter()
        .filter_map(|(breadth, rule)| allow(blocked, breadth, &rule, None))
        .collect()
}

/// A user rule that can block: `deny` or `reject` (a `limit` blocks in `ufw-user-limit`,
/// ufw's own chain).
fn blocks(tuple: &UfwTuple) -> bool {
    matches!(tuple.action(), "deny" | "reject")
}

/// The packet as the deciding hook saw it.
struct Flow {
    /// `tcp` or `udp` with the destination port; `None` for other protocols (ufw's
    /// commands take a port only with those two).
    port: Option<(&'static str, u16)>,
    src: IpAddr,
    dst: IpAddr,
    iif: Option<String>,
    oif: Option<String>,
}

impl Flow {
    fn of(blocked: &Blocked<'_>) -> Flow {
        let p = &blocked.trace.final_packet;
        let port = match p.l4 {
            L4::Tcp { dport, .. } => Some(("tcp", dport)),
            L4::Udp { dport, .. } => Some(("udp", dport)),
            _ => None,
        };
        Flow {
            port,
            src: p.src,
            dst: p.dst,
            iif: p.iif.clone(),
            oif: crate::fix_nft::out_interface(p, blocked.trace),
        }
    }
}

/// One `ufw [route] allow` rule: what it matches, as ufw's syntax and its generated line
/// both spell it.
#[derive(Debug, Clone, PartialEq)]
struct UfwRule {
    direction: UfwDirection,
    iif: Option<String>,
    oif: Option<String>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    port: Option<(&'static str, u16)>,
}

/// The ladder for a default policy of `direction`: this flow, the service, and (routed)
/// the whole path between the interfaces.
fn ladder(direction: UfwDirection, flow: &Flow) -> Vec<(Breadth, UfwRule)> {
    let rule = |iif: bool, oif: bool, src: bool, dst: bool, port: bool| UfwRule {
        direction,
        iif: flow.iif.clone().filter(|_| iif),
        oif: flow.oif.clone().filter(|_| oif),
        src: src.then_some(flow.src),
        dst: dst.then_some(flow.dst),
        port: flow.port.filter(|_| port),
    };
    match direction {
        UfwDirection::Routed => {
            let mut ladder = Vec::new();
            if flow.port.is_some() {
                ladder.push((Breadth::Flow, rule(true, true, true, true, true)));
                ladder.push((Breadth::Service, rule(true, true, false, true, true)));
            }
            ladder.push((Breadth::Path, rule(true, true, false, false, false)));
            ladder
        }
        UfwDirection::Incoming if flow.port.is_some() => vec![
            (Breadth::Flow, rule(true, false, true, false, true)),
            (Breadth::Service, rule(true, false, false, false, true)),
            (Breadth::Service, rule(false, false, false, false, true)),
        ],
        UfwDirection::Outgoing if flow.port.is_some() => vec![
            (Breadth::Flow, rule(false, true, false, true, true)),
            (Breadth::Service, rule(false, false, false, false, true)),
        ],
        _ => Vec::new(),
    }
}

impl UfwRule {
    /// The `ufw` command; `insert` places it at that number.
    fn command(&self, insert: Option<usize>) -> String {
        let mut words = vec!["ufw".to_string()];
        if self.direction == UfwDirection::Routed {
            words.push("route".into());
        }
        if let Some(n) = insert {
            words.push(format!("insert {n}"));
        }
        words.push("allow".into());
        let bare = self.iif.is_none() && self.oif.is_none() && self.src.is_none();
        if let (true, None, Some((proto, port))) = (bare, self.dst, self.port) {
            // ufw's short form: `ufw allow 2175/tcp`, `ufw allow out 2175/tcp`.
            if self.direction == UfwDirection::Outgoing {
                words.push("out".into());
            }
            words.push(format!("{port}/{proto}"));
            return words.join(" ");
        }
        match self.direction {
            UfwDirection::Routed => {
                if let Some(i) = &self.iif {
                    words.push(format!("in on {i}"));
                }
                if let Some(o) = &self.oif {
                    words.push(format!("out on {o}"));
                }
            }
            UfwDirection::Incoming => {
                words.push(match &self.iif {
                    Some(i) => format!("in on {i}"),
                    None => "in".into(),
                });
            }
            UfwDirection::Outgoing => {
                words.push(match &self.oif {
                    Some(o) => format!("out on {o}"),
                    None => "out".into(),
                });
            }
        }
        if let Some(src) = self.src {
            words.push(format!("from {src}"));
        }
        match (self.dst, self.port) {
            (Some(dst), _) => words.push(format!("to {dst}")),
            (None, Some(_)) => words.push("to any".into()),
            (None, None) => {}
        }
        if let Some((proto, port)) = self.port {
            words.push(format!("port {port} proto {proto}"));
        }
        words.join(" ")
    }

    /// The user chain ufw puts it in.
    fn chain(&self, family: Family) -> String {
        let prefix = if family == Family::Ip6 { "ufw6" } else { "ufw" };
        let dir = match self.direction {
            UfwDirection::Incoming => "input",
            UfwDirection::Outgoing => "output",
            UfwDirection::Routed => "forward",
        };
        format!("{prefix}-user-{dir}")
    }

    /// The `-A` line ufw writes for it into `user.rules` / `user6.rules`.
    fn line(&self, family: Family) -> String {
        let mut words = vec![format!("-A {}", self.chain(family))];
        if let Some(i) = &self.iif {
            words.push(format!("-i {i}"));
        }
        if let Some(o) = &self.oif {
            words.push(format!("-o {o}"));
        }
        if let Some((proto, _)) = self.port {
            words.push(format!("-p {proto}"));
        }
        if let Some(dst) = self.dst {
            words.push(format!("-d {dst}"));
        }
        if let Some((_, port)) = self.port {
            words.push(format!("--dport {port}"));
        }
        if let Some(src) = self.src {
            words.push(format!("-s {src}"));
        }
        words.push("-j ACCEPT".into());
        words.join(" ")
    }

    fn opens(&self) -> Opens {
        Opens::Traffic(TrafficOpening {
            proto: self.port.map(|(p, _)| match p {
                "udp" => IpProto::Udp,
                _ => IpProto::Tcp,
            }),
            src: self.src,
            dst: self.dst,
            dport: self.port.map(|(_, port)| port),
            iif: self.iif.clone(),
            oif: self.oif.clone(),
        })
    }
}

/// The candidate for one allow rule, appended to its user chain or, for `insert`, placed
/// before the `at` model rule of that chain.
fn allow(
    blocked: &Blocked<'_>,
    breadth: Breadth,
    rule: &UfwRule,
    insert: Option<(usize, usize)>,
) -> Option<Candidate> {
    let family = blocked_family(blocked);
    let chain = rule.chain(family);
    let line = rule.line(family);
    let command = rule.command(insert.map(|(number, _)| number));
    let (patched, position) = with_rules(
        blocked.ruleset,
        family,
        &chain,
        &line,
        &command,
        insert.map(|(_, at)| at),
    )?;
    Some(Candidate {
        breadth,
        language: Language::Ufw,
        steps: vec![Step::Run(command)],
        durability: Durability::Durable,
        opens: rule.opens(),
        caveats: Vec::new(),
        patched: Some(patched),
        kernel_rules: vec![kernel_rule(family, &chain, &line, position)],
    })
}

fn blocked_family(blocked: &Blocked<'_>) -> Family {
    if blocked.packet.src.is_ipv6() {
        Family::Ip6
    } else {
        Family::Ip
    }
}

/// The line as an `iptables`/`ip6tables` command at `position`.
fn kernel_rule(family: Family, chain: &str, line: &str, position: Position) -> FixRule {
    let tool = if family == Family::Ip6 {
        "ip6tables"
    } else {
        "iptables"
    };
    let body = line
        .strip_prefix(&format!("-A {chain} "))
        .unwrap_or(line)
        .to_string();
    let at = match position {
        Position::Insert(n) => format!("-I {chain} {n}"),
        _ => format!("-A {chain}"),
    };
    FixRule {
        command: format!("{tool} {at} {body}"),
        body: line.to_string(),
        family,
        table: "filter".into(),
        chain: chain.to_string(),
        position,
    }
}

/// A copy of `ruleset` with ufw's `line` (`-A CHAIN ...`) in `chain` of the family's
/// `filter` table: at model index `at`, or appended; with the 1-based number it takes.
fn with_rules(
    ruleset: &Ruleset,
    family: Family,
    chain: &str,
    line: &str,
    command: &str,
    at: Option<usize>,
) -> Option<(Ruleset, Position)> {
    let text = format!("*filter\n:{chain} - [0:0]\n{line}\nCOMMIT\n");
    let source = SourceFile::new(command, text);
    let parsed = frontends::iptables_save::parse(&source, Some(family)).ok()?;
    let mut new_rules = parsed
        .tables
        .into_iter()
        .find(|t| t.name == "filter")?
        .chains
        .into_iter()
        .find(|c| c.name == chain)?
        .rules;
    for r in &mut new_rules {
        r.origin.owner = Some(Owner::suggested_fix());
    }
    let mut patched = ruleset.clone();
    let t = patched
        .tables
        .iter()
        .position(|t| t.family == family && t.name == "filter" && t.chain(chain).is_some())?;
    let c = patched.tables[t].chain(chain)?;
    let target = &mut patched.tables[t].chains[c];
    let (index, position) = match at {
        Some(i) if i < target.rules.len() => (i, Position::Insert(target.source_rule_number(i))),
        _ => (target.rules.len(), Position::Append),
    };
    target.rules.splice(index..index, new_rules);
    patched.sources.push(source);
    Some((patched, position))
}

/// A blocking user rule: `ufw delete N` (the cause) and `ufw insert N allow ...` for this
/// flow before it; both need its number.
fn against_user_rule(blocked: &Blocked<'_>, flow: &Flow, tuple: &UfwTuple) -> Vec<Candidate> {
    let Some(number) = tuple.number else {
        return Vec::new();
    };
    let Some((t, c, first)) = rules_of_tuple(blocked.ruleset, tuple) else {
        return Vec::new();
    };
    let direction = match (tuple.is_route(), tuple.text.split_whitespace().nth(6)) {
        (true, _) => UfwDirection::Routed,
        (false, Some(d)) if d.starts_with("out") => UfwDirection::Outgoing,
        _ => UfwDirection::Incoming,
    };
    let mut out = Vec::new();
    // Inserting in the flow's own family: the addresses pin it, as `ufw insert` needs
    // for a number among the IPv6 rules.
    if let Some((_, rule)) = ladder(direction, flow)
        .into_iter()
        .find(|(b, _)| *b == Breadth::Flow)
    {
        let pinned = UfwRule {
            src: Some(flow.src),
            ..rule
        };
        out.extend(allow(
            blocked,
            Breadth::Flow,
            &pinned,
            Some((number, first)),
        ));
    }
    if let Some(opens) = tuple_opens(tuple) {
        let mut patched = blocked.ruleset.clone();
        let chain = &mut patched.tables[t].chains[c];
        let tuple_rules: Vec<usize> = (0..chain.rules.len())
            .filter(|&i| is_rule_of(&chain.rules[i], tuple))
            .collect();
        chain.rules.retain(|r| !is_rule_of(r, tuple));
        out.push(Candidate {
            breadth: Breadth::Cause,
            language: Language::Ufw,
            steps: vec![Step::Run(format!("ufw delete {number}"))],
            durability: Durability::Durable,
            opens,
            caveats: Vec::new(),
            patched: Some(patched),
            // What ufw takes out of the kernel: the tuple's rules in its user chain.
            kernel_rules: removal::delete_rules(blocked.ruleset, t, c, &tuple_rules)
                .unwrap_or_default(),
        });
    }
    out
}

fn is_rule_of(rule: &model::Rule, tuple: &UfwTuple) -> bool {
    matches!(
        rule.origin.owner.as_ref().map(|o| &o.role),
        Some(Role::Ufw(UfwRole::UserRule(t))) if t == tuple
    )
}

/// Table, chain and first model rule of the rules ufw wrote for `tuple`.
fn rules_of_tuple(ruleset: &Ruleset, tuple: &UfwTuple) -> Option<(usize, usize, usize)> {
    ruleset.tables.iter().enumerate().find_map(|(t, table)| {
        table.chains.iter().enumerate().find_map(|(c, chain)| {
            let first = chain.rules.iter().position(|r| is_rule_of(r, tuple))?;
            Some((t, c, first))
        })
    })
}

/// What deleting a deny or reject rule lets through, read from its tuple (`action proto
/// dport dst sport src [in_IIF][!out_OIF]`); `None` for what the opening cannot state
/// (a port list or range, a network, a source port).
fn tuple_opens(tuple: &UfwTuple) -> Option<Opens> {
    let f: Vec<&str> = tuple.text.split_whitespace().collect();
    let (proto, dport, dst, sport, src) = (f.get(1)?, f.get(2)?, f.get(3)?, f.get(4)?, f.get(5)?);
    if *sport != "any" {
        return None;
    }
    let proto = match *proto {
        "any" => None,
        "tcp" => Some(IpProto::Tcp),
        "udp" => Some(IpProto::Udp),
        _ => return None,
    };
    let dport = match *dport {
        "any" => None,
        p => Some(p.parse::<u16>().ok()?),
    };
    let address = |a: &str| -> Option<Option<IpAddr>> {
        match a {
            "0.0.0.0/0" | "::/0" => Some(None),
            a => {
                let host = a
                    .strip_suffix("/32")
                    .or_else(|| a.strip_suffix("/128"))
                    .unwrap_or(a);
                host.parse().ok().map(Some)
            }
        }
    };
    let (dst, src) = (address(dst)?, address(src)?);
    let mut iif = None;
    let mut oif = None;
    for part in f.get(6).copied().unwrap_or("").split('!') {
        if let Some(i) = part.strip_prefix("in_") {
            iif = Some(i.to_string());
        } else if let Some(o) = part.strip_prefix("out_") {
            oif = Some(o.to_string());
        }
    }
    Some(Opens::Traffic(TrafficOpening {
        proto,
        src,
        dst,
        dport,
        iif,
        oif,
    }))
}

#[cfg(test)]
#[path = "ufw_tests.rs"]
mod tests;
