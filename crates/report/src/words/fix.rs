//! A suggested fix's note: what it opens and what the user should know about it
//! (`analysis::Fix::opens` and `caveats`), one sentence per fact joined by "; ".

use analysis::{Blocker, ElementOpening, Fix, FixCaveat, FlowOpening, Opens, RuleSite, Service};

/// "opens only tcp from 10.1.1.2 (any source port) to 10.1.0.2 port 2175, in on tap0, out
/// on eno1; placed in ...".
pub fn fix_note(fix: &Fix) -> String {
    let mut parts = vec![match &fix.opens {
        Opens::Flow(flow) if fix.passes => format!("opens only {}", flow_words(flow)),
        Opens::Flow(flow) => format!(
            "would open only {}, but the packet is still not let through",
            flow_words(flow)
        ),
        Opens::SetElement(element) => element_words(element),
    }];
    parts.extend(fix.caveats.iter().map(caveat));
    parts.join("; ")
}

/// "tcp from 10.1.1.2 (any source port) to 10.1.0.2 port 2175, in on tap0, out on eno1".
fn flow_words(flow: &FlowOpening) -> String {
    let mut s = format!("{} from {}", flow.proto, flow.src);
    match flow.service {
        Service::Port(port) => {
            s.push_str(&format!(" (any source port) to {} port {port}", flow.dst))
        }
        Service::IcmpType(t) => s.push_str(&format!(" to {} (type {t})", flow.dst)),
        Service::Any => s.push_str(&format!(" to {}", flow.dst)),
    }
    if let Some(iif) = &flow.iif {
        s.push_str(&format!(", in on {iif}"));
    }
    if let Some(oif) = &flow.oif {
        s.push_str(&format!(", out on {oif}"));
    }
    s
}

/// "opens tcp to 192.168.70.10 port 22 from any source wherever @allow_in is looked up
/// (1 rule), not only here; the lookup that failed is inet filter/allowed_dnats #1 (f:17)".
fn element_words(e: &ElementOpening) -> String {
    let mut parts = vec![match e.proto {
        Some(proto) => proto.to_string(),
        None => "any protocol".to_string(),
    }];
    if let Some(src) = e.src {
        parts.push(format!("from {src}"));
    }
    if let Some(sport) = e.sport {
        parts.push(format!("source port {sport}"));
    }
    if let Some(dst) = e.dst {
        parts.push(format!("to {dst}"));
    }
    if let Some(dport) = e.dport {
        parts.push(format!("port {dport}"));
    }
    if let Some(iif) = &e.iif {
        parts.push(format!("in on {iif}"));
    }
    if let Some(oif) = &e.oif {
        parts.push(format!("out on {oif}"));
    }
    if e.src.is_none() {
        parts.push("from any source".to_string());
    }
    let site = &e.failed_lookup;
    let mut lookup = format!(
        "{} {}/{} #{}",
        site.family, site.table, site.chain, site.number
    );
    if !site.file.is_empty() {
        lookup.push_str(&format!(" ({}:{})", site.file, site.line));
    }
    format!(
        "opens {} wherever @{} is looked up ({} rule{}), not only here; the lookup that failed is {lookup}",
        parts.join(" "),
        e.set,
        e.lookups,
        if e.lookups == 1 { "" } else { "s" },
    )
}

fn caveat(c: &FixCaveat) -> String {
    match c {
        FixCaveat::SeveralRules { blocks } => {
            format!("no single rule is enough: the packet is blocked in {blocks} places")
        }
        FixCaveat::StillBlockedBy(b) => format!("it is then blocked by {}", blocker(b)),
        FixCaveat::Undecidable => {
            "the result then depends on matches that cannot be decided offline".to_string()
        }
        FixCaveat::PlacedBeforeJump { chain } => format!(
            "placed in {chain} before the jump, because an ACCEPT just before the deciding \
             rule did not let the packet through"
        ),
        FixCaveat::PlacedBeforeDecidingRule { chain } => format!(
            "placed in {chain} just before the deciding rule, so every earlier rule still \
             applies"
        ),
        FixCaveat::SetUpdatedFromPacketPath { set } => format!(
            "@{set} is also updated from the packet path: an element added by hand may time out"
        ),
    }
}

/// "filter/INPUT #1 (rules:19)", "the policy of filter/INPUT", "routing", ...
fn blocker(b: &Blocker) -> String {
    match b {
        Blocker::Rule(Some(RuleSite {
            table,
            chain,
            number,
            file,
            line,
            ..
        })) => format!("{table}/{chain} #{number} ({file}:{line})"),
        Blocker::Rule(None) => "a rule".to_string(),
        Blocker::Policy(Some((table, chain))) => format!("the policy of {table}/{chain}"),
        Blocker::Policy(None) => "a policy".to_string(),
        Blocker::Routing => "routing".to_string(),
        Blocker::Stack => "the local stack".to_string(),
        Blocker::Conntrack => "conntrack".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analysis::{FixRule, Position};
    use engine::Fate;
    use model::packet::IpProto;
    use model::Family;

    fn fix(passes: bool, opens: Opens, caveats: Vec<FixCaveat>) -> Fix {
        Fix {
            command: String::new(),
            table: "filter".into(),
            chain: "INPUT".into(),
            position: Position::Append,
            rules: Vec::<FixRule>::new(),
            verified_fate: Fate::Dropped,
            passes,
            opens,
            caveats,
            patched: model::Ruleset::default(),
        }
    }

    fn site(file: &str) -> RuleSite {
        RuleSite {
            family: Family::Inet,
            table: "filter".into(),
            chain: "input".into(),
            number: 2,
            file: file.into(),
            line: 9,
        }
    }

    fn flow() -> Opens {
        Opens::Flow(FlowOpening {
            proto: IpProto::Icmp,
            src: "192.0.2.7".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            service: Service::IcmpType(8),
            iif: Some("eth0".into()),
            oif: None,
        })
    }

    #[test]
    fn a_flow_that_still_does_not_pass_says_what_blocks_it_then_where_it_was_placed() {
        let f = fix(
            false,
            flow(),
            vec![
                FixCaveat::StillBlockedBy(Blocker::Rule(Some(site("rules")))),
                FixCaveat::PlacedBeforeJump {
                    chain: "FORWARD".into(),
                },
            ],
        );
        assert_eq!(
            fix_note(&f),
            "would open only icmp from 192.0.2.7 to 10.0.0.1 (type 8), in on eth0, but the packet \
             is still not let through; it is then blocked by filter/input #2 (rules:9); placed \
             in FORWARD before the jump, because an ACCEPT just before the deciding rule did not \
             let the packet through"
        );
        let f = fix(false, flow(), vec![FixCaveat::Undecidable]);
        assert!(
            fix_note(&f)
                .ends_with("; the result then depends on matches that cannot be decided offline"),
            "{}",
            fix_note(&f)
        );
        let policy = Blocker::Policy(Some(("filter".into(), "INPUT".into())));
        assert_eq!(blocker(&policy), "the policy of filter/INPUT");
    }

    #[test]
    fn a_set_element_names_every_lookup_it_opens() {
        let element = ElementOpening {
            set: "allow_in".into(),
            proto: None,
            src: Some("198.51.100.7".parse().unwrap()),
            sport: None,
            dst: None,
            dport: None,
            iif: None,
            oif: None,
            lookups: 2,
            failed_lookup: site(""),
        };
        let f = fix(
            true,
            Opens::SetElement(element),
            vec![FixCaveat::SetUpdatedFromPacketPath {
                set: "allow_in".into(),
            }],
        );
        assert_eq!(
            fix_note(&f),
            "opens any protocol from 198.51.100.7 wherever @allow_in is looked up (2 rules), not \
             only here; the lookup that failed is inet filter/input #2; @allow_in is also updated \
             from the packet path: an element added by hand may time out"
        );
    }
}
