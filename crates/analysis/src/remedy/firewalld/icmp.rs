//! A ping rejected by a zone's ICMP block (`--add-icmp-block=echo-request`: `icmp
//! echo-request reject` in `filter_IN_{zone}_deny`, `-p icmp -m icmp --icmp-type 8 -j
//! REJECT` in `IN_{zone}_deny` on iptables): the fix is `--remove-icmp-block`, at runtime
//! and `--permanent`; the patched ruleset is the ruleset without the block's rule, the
//! kernel side deletes exactly that rule (either backend).

use crate::fix_facts::{Opens, TrafficOpening};
use crate::remedy::removal::delete_rules;
use crate::remedy::{Blocked, Breadth, Candidate, Durability, Language, Step};
use engine::Decider;
use model::owner::{FirewalldPart, FirewalldRole};
use model::packet::IpProto;
use model::{Owner, Role, L4};

/// `--remove-icmp-block` of the packet's ICMP type, when a zone's ICMP block decided it.
pub(super) fn candidates(blocked: &Blocked<'_>, owner: &Owner) -> Vec<Candidate> {
    let Role::Firewalld(FirewalldRole::Zone {
        zone,
        part: FirewalldPart::IcmpBlock,
    }) = &owner.role
    else {
        return Vec::new();
    };
    let Decider::Rule(at) = &blocked.trace.decider else {
        return Vec::new();
    };
    let Some((proto, name)) = icmp_type_name(&blocked.packet.l4) else {
        return Vec::new();
    };
    let Some(kernel_rules) = delete_rules(blocked.ruleset, at.table, at.chain, &[at.rule]) else {
        return Vec::new();
    };
    let mut patched = blocked.ruleset.clone();
    patched.tables[at.table].chains[at.chain]
        .rules
        .remove(at.rule);
    let change = format!("--zone={zone} --remove-icmp-block={name}");
    vec![Candidate {
        breadth: Breadth::Service,
        language: Language::FirewallCmd,
        steps: vec![
            Step::Run(format!("firewall-cmd {change}")),
            Step::Run(format!("firewall-cmd --permanent {change}")),
        ],
        durability: Durability::Durable,
        opens: Opens::Traffic(TrafficOpening {
            proto: Some(proto),
            src: None,
            dst: None,
            dport: None,
            iif: None,
            oif: None,
        }),
        caveats: Vec::new(),
        patched: Some(patched),
        kernel_rules,
    }]
}

/// firewalld's name for the packet's ICMP type (its `icmptypes/*.xml`), for the echo
/// types a ping sends and answers.
fn icmp_type_name(l4: &L4) -> Option<(IpProto, &'static str)> {
    match l4 {
        L4::Icmp { icmp_type: 8, .. } => Some((IpProto::Icmp, "echo-request")),
        L4::Icmp { icmp_type: 0, .. } => Some((IpProto::Icmp, "echo-reply")),
        L4::Icmpv6 { icmp_type: 128, .. } => Some((IpProto::Icmpv6, "echo-request")),
        L4::Icmpv6 { icmp_type: 129, .. } => Some((IpProto::Icmpv6, "echo-reply")),
        _ => None,
    }
}
