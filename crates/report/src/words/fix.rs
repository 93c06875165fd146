//! A suggested fix's note: what it opens and what the user should know about it
//! (`analysis::Fix::opens` and `caveats`), one sentence per fact joined by "; ".

use analysis::{
    Blocker, ElementOpening, FixCaveat, FlowOpening, Opens, RuleSite, Service, TrafficOpening,
    ZoneOpening, ZoneScope,
};

/// "opens only tcp from 10.1.1.2 (any source port) to 10.1.0.2 port 2175, in on tap0, out
/// on eno1; placed in ...": what a change opens (`passes`: whether it lets the packet
/// through) and what the user should know about it.
pub fn fix_note(opens: &Opens, caveats: &[FixCaveat], passes: bool) -> String {
    let mut parts = vec![match opens {
        Opens::Flow(flow) if passes => format!("opens only {}", flow_words(flow)),
        Opens::Flow(flow) => format!(
            "would open only {}, but the packet is still not let through",
            flow_words(flow)
        ),
        Opens::SetElement(element) => element_words(element),
        Opens::Replies { table, chain } => replies_words(table, chain),
        Opens::Traffic(traffic) => format!("opens {}", traffic_words(traffic)),
        Opens::ZonePort(zone) => zone_words(zone),
    }];
    parts.extend(caveats.iter().map(caveat));
    parts.join("; ")
}

/// "replies and related packets of connections already let through (filter/FORWARD)".
pub fn replies_words(table: &str, chain: &str) -> String {
    format!(
        "opens replies and related packets of connections already let through ({table}/{chain})"
    )
}

/// "opens tcp port 8080 from anything in zone public".
fn zone_words(z: &ZoneOpening) -> String {
    let ports = match z.ports {
        (lo, hi) if lo == hi => format!("port {lo}"),
        (lo, hi) => format!("ports {lo}-{hi}"),
    };
    let from = z.src.map_or("anything".to_string(), |a| a.to_string());
    let scope = match &z.scope {
        ZoneScope::Zone(name) => format!("zone {name}"),
        ZoneScope::Policy(name) => format!("policy {name}"),
    };
    format!("opens {} {ports} from {from} in {scope}", z.proto)
}

/// "tcp from 10.1.1.2 (any source port) to 10.1.0.2 port 2175, in on tap0, out on eno1".
pub fn flow_words(flow: &FlowOpening) -> String {
    let mut s = match flow.src {
        Some(src) => format!("{} from {src}", flow.proto),
        None => format!("{} from anywhere", flow.proto),
    };
    let dst = match flow.dst {
        Some(dst) => dst.to_string(),
        None => "this host".to_string(),
    };
    match flow.service {
        Service::Port(port) => s.push_str(&format!(" (any source port) to {dst} port {port}")),
        Service::IcmpType(t) => s.push_str(&format!(" to {dst} (type {t})")),
        Service::Any => s.push_str(&format!(" to {dst}")),
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

/// "tcp from any source to 10.1.0.2 port 2175, in on tap0, out on eno1"; the whole path
/// between two interfaces (`ufw route allow in on tap0 out on eno1`) as "everything routed
/// from tap0 to eno1" (only a forwarded packet has both).
fn traffic_words(t: &TrafficOpening) -> String {
    if let TrafficOpening {
        proto: None,
        src: None,
        dst: None,
        dport: None,
        iif: Some(iif),
        oif: Some(oif),
    } = t
    {
        return format!("everything routed from {iif} to {oif}");
    }
    let mut s = match t.proto {
        Some(proto) => proto.to_string(),
        None => "any protocol".to_string(),
    };
    match t.src {
        Some(src) => s.push_str(&format!(" from {src}")),
        None => s.push_str(" from any source"),
    }
    match t.dst {
        Some(dst) => s.push_str(&format!(" to {dst}")),
        None => s.push_str(" to any destination"),
    }
    if let Some(port) = t.dport {
        s.push_str(&format!(" port {port}"));
    }
    if let Some(iif) = &t.iif {
        s.push_str(&format!(", in on {iif}"));
    }
    if let Some(oif) = &t.oif {
        s.push_str(&format!(", out on {oif}"));
    }
    s
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
        FixCaveat::AlsoReplies { table, chain } => format!(
            "with `ct state established,related accept` at the top of {table}/{chain}, which \
             was missing: the replies of every connection already let through pass too"
        ),
        FixCaveat::SetUpdatedFromPacketPath { set } => format!(
            "@{set} is also updated from the packet path: an element added by hand may time out"
        ),
        FixCaveat::NodePortClash(clash) => node_port_clash(clash),
        FixCaveat::MayBeBannedAgain { jail } => format!(
            "fail2ban's jail {jail} bans the address again if it keeps failing the jail's filter"
        ),
        FixCaveat::PublishedPortBypassesUfw { port } => format!(
            "port {}/{} is published by Docker (to {}:{}): Docker's DNAT forwards it to the \
             container before ufw's input rules, so `ufw allow`/`ufw deny` do not apply to it",
            port.host_port, port.proto, port.container, port.container_port
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

/// "port 30080/tcp is the NodePort of default/web:http and a host socket listens on it
/// (...): kube-proxy takes the packets first".
fn node_port_clash(clash: &owners::kube::node_ports::NodePortClash) -> String {
    use owners::kube::node_ports::NodePortClash;
    let (proto, port) = clash.port();
    let services: Vec<&str> = clash.services().iter().map(|s| s.name.as_str()).collect();
    match clash {
        NodePortClash::HostSocket { socket, .. } => format!(
            "port {port}/{proto} is the NodePort of {} and a host socket listens on it ({}): \
             kube-proxy takes the packets first, so the socket never sees one from outside; \
             move the service's nodePort or the host service",
            services.join(", "),
            match &socket.process {
                Some(p) => format!("{}:{} {p}", socket.addr, socket.port),
                None => format!("{}:{}", socket.addr, socket.port),
            }
        ),
        NodePortClash::Services { .. } => format!(
            "port {port}/{proto} is the NodePort of {}: a packet to it meets only the first \
             service's rules; give each service its own nodePort",
            services.join(" and ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::packet::IpProto;
    use model::Family;

    /// A change's note as the renderers ask for it.
    struct Note {
        passes: bool,
        opens: Opens,
        caveats: Vec<FixCaveat>,
    }

    fn fix(passes: bool, opens: Opens, caveats: Vec<FixCaveat>) -> Note {
        Note {
            passes,
            opens,
            caveats,
        }
    }

    fn fix_note(n: &Note) -> String {
        super::fix_note(&n.opens, &n.caveats, n.passes)
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
            src: Some("192.0.2.7".parse().unwrap()),
            dst: Some("10.0.0.1".parse().unwrap()),
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
    fn a_whole_path_between_interfaces_reads_as_everything_routed() {
        let path = |iif: Option<&str>, proto| {
            Opens::Traffic(TrafficOpening {
                proto,
                src: None,
                dst: None,
                dport: None,
                iif: iif.map(str::to_string),
                oif: Some("eno1".into()),
            })
        };
        assert_eq!(
            fix_note(&fix(true, path(Some("tap0"), None), Vec::new())),
            "opens everything routed from tap0 to eno1"
        );
        assert_eq!(
            fix_note(&fix(true, path(None, None), Vec::new())),
            "opens any protocol from any source to any destination, out on eno1"
        );
        assert_eq!(
            fix_note(&fix(
                true,
                path(Some("tap0"), Some(IpProto::Udp)),
                Vec::new()
            )),
            "opens udp from any source to any destination, in on tap0, out on eno1"
        );
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
