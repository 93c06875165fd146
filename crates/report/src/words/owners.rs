//! Who wrote a rule, what showed it, and what the rule is to that tool, in words.

use engine::Decider;
use model::owner::{
    ContainerRole, Fail2banRole, FirewalldPart, FirewalldRole, KubeRole, PersistentFile,
    UfwDirection, UfwRole,
};
use model::{Evidence, Owner, Role, Ruleset};
use owners::firewalld as owners_zone;

/// The owner of the rule or base chain (or its table) that decided; `None` for routing,
/// the stack and conntrack, or when nothing was recognised.
pub fn decider_owner<'a>(rs: &'a Ruleset, decider: &Decider) -> Option<&'a Owner> {
    match decider {
        Decider::Rule(at) => super::rule_origin(rs, *at)?.owner.as_ref(),
        Decider::Policy(c) => {
            let table = rs.tables.get(c.table)?;
            let chain = table.chains.get(c.chain)?;
            chain.origin.owner.as_ref().or(table.origin.owner.as_ref())
        }
        Decider::Routing | Decider::Stack | Decider::Conntrack => None,
    }
}

/// `ufw: the routed default policy (`ufw default reject routed`)`: the tool and the part
/// the object plays in its configuration.
pub fn owner_summary(owner: &Owner) -> String {
    match role_words(&owner.role) {
        Some(role) => format!("{}: {role}", owner.tool),
        None => owner.tool.to_string(),
    }
}

/// What showed who wrote it: `chain name ufw-user-forward`.
pub fn owner_evidence(evidence: &Evidence) -> String {
    match evidence {
        Evidence::TableName(t) => format!("table name {t}"),
        Evidence::ChainName(c) => format!("chain name {c}"),
        Evidence::Comment(c) => format!("comment \"{c}\""),
        Evidence::CalledFrom(c) => format!("reached only from {c}"),
        Evidence::Interface(i) => format!("names its interface {i}"),
        Evidence::Config { path, line: 0 } => format!("its configuration {path}"),
        Evidence::Config { path, line } => format!("its configuration {path}:{line}"),
        Evidence::NoToolMark => "no tool's mark on it".to_string(),
        Evidence::SuggestedFix => "suggested by whyblocked (fix)".to_string(),
    }
}

/// The object's part in its tool's configuration; `None` when nothing is known.
pub fn role_words(role: &Role) -> Option<String> {
    Some(match role {
        Role::Unknown => return None,
        Role::Ufw(r) => ufw_role(r),
        Role::Firewalld(r) => firewalld_role(r),
        Role::Container(r) => container_role(r),
        Role::Kube(r) => kube_role(r),
        Role::Fail2ban(Fail2banRole::Jail(j)) => format!("the jail {j}"),
        Role::Fail2ban(Fail2banRole::Ban { jail, address }) => {
            format!("{address} banned by the jail {jail}")
        }
        Role::Unmanaged(u) => format!("hand-written; kept in {}", persistent_file(&u.file)),
    })
}

/// The path of a persistent ruleset file.
pub fn persistent_file(file: &PersistentFile) -> &str {
    match file {
        PersistentFile::NftablesConf => "/etc/nftables.conf",
        PersistentFile::RulesV4 => "/etc/iptables/rules.v4",
        PersistentFile::RulesV6 => "/etc/iptables/rules.v6",
        PersistentFile::Path(p) => p,
    }
}

fn ufw_role(r: &UfwRole) -> String {
    match r {
        UfwRole::Template { chain } => format!("ufw's own chain {chain}"),
        UfwRole::DefaultPolicy { direction, policy } => {
            let d = match direction {
                UfwDirection::Incoming => "incoming",
                UfwDirection::Outgoing => "outgoing",
                UfwDirection::Routed => "routed",
            };
            format!("the {d} default policy (`ufw default {policy} {d}`)")
        }
        UfwRole::UserRule(t) => match t.number {
            Some(n) => format!("user rule [{n}] `{}`", t.text),
            None => format!("user rule `{}`", t.text),
        },
        UfwRole::UntiedUserRule { chain } => {
            format!("a user rule in {chain} that no `### tuple ###` line of user.rules names")
        }
    }
}

fn firewalld_role(r: &FirewalldRole) -> String {
    match r {
        FirewalldRole::Zone { zone, part } => format!("zone {zone}, {}", firewalld_part(part)),
        FirewalldRole::Policy { policy, part } => {
            format!("policy {policy}, {}", firewalld_part(part))
        }
        FirewalldRole::Infrastructure => "firewalld's own dispatch".to_string(),
    }
}

fn firewalld_part(p: &FirewalldPart) -> String {
    match p {
        FirewalldPart::Target(t) => format!("its target {t}"),
        FirewalldPart::Service(s) => format!("service {s}"),
        FirewalldPart::Port(p) => format!("port {p}"),
        FirewalldPart::RichRule(r) => format!("rich rule `{r}`"),
        FirewalldPart::Protocol(p) => format!("protocol {p}"),
        FirewalldPart::IcmpBlock => "its icmp blocks".to_string(),
        FirewalldPart::ForwardPort(f) => format!("forward port {f}"),
        FirewalldPart::Masquerade => "masquerading".to_string(),
        FirewalldPart::Chain(c) => format!("its {c} chain"),
    }
}

fn container_role(r: &ContainerRole) -> String {
    match r {
        ContainerRole::UserChain => "the chain left to the admin".to_string(),
        ContainerRole::Isolation => "isolation between its networks".to_string(),
        ContainerRole::Published(p) => format!(
            "published port {}/{} -> {}:{}",
            p.host_port, p.proto, p.container, p.container_port
        ),
        ContainerRole::Zone(z) => format!("zone {z}"),
        ContainerRole::Acl(n) => format!("the network ACL of {n}"),
        ContainerRole::SourceFilter => {
            "its guard against spoofed or misdirected traffic".to_string()
        }
        ContainerRole::Infrastructure => "its own chains".to_string(),
    }
}

fn kube_role(r: &KubeRole) -> String {
    match r {
        KubeRole::Service(s) => format!("service {}", s.name),
        KubeRole::NoEndpoints(s) => format!("service {} has no endpoints", s.name),
        KubeRole::NoLocalEndpoints(s) => {
            format!("service {} has no endpoints on this node", s.name)
        }
        KubeRole::NetworkPolicy(p) => format!("network policy {p}"),
        KubeRole::Infrastructure => "its own chains".to_string(),
    }
}

/// `public: its interface eth0 is bound to it (/etc/firewalld/zones/public.xml:5), chosen by
/// inet firewalld/filter_INPUT_ZONES #2`.
pub fn firewalld_zone(rs: &Ruleset, z: &owners_zone::ZoneChoice) -> String {
    let why = match &z.why {
        owners_zone::ZoneWhy::Source { address } => format!("its source {address} is bound to it"),
        owners_zone::ZoneWhy::Interface { name } => format!("its interface {name} is bound to it"),
        owners_zone::ZoneWhy::DefaultZone => "nothing else binds it: the default zone".to_string(),
    };
    let mut s = format!("{}: {why}", z.zone);
    if let Some((path, line)) = &z.config {
        s.push_str(&format!(" ({path}:{line})"));
    }
    s.push_str(&format!(", chosen by {}", super::rule_label(rs, z.rule)));
    s
}
