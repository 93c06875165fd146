//! "Ping works but the port doesn't": re-runs a blocked packet's endpoints as an ICMP echo
//! request, the first thing every admin tries, and says what lets the ping through.
//!
//! A passing ping beside a blocked port proves that routing and the path are fine and puts
//! the blame on a port-specific rule; naming the rule that accepts ICMP (e.g. ufw's
//! `ufw-before-forward` echo-request allowance) answers the reporter's "but ping works!".

use engine::{Decider, Fate, Options, Outcome};
use model::{Host, Packet, Ruleset, L4};

/// What a ping between the same endpoints does.
#[derive(Debug, Clone, PartialEq)]
pub struct PingContrast {
    /// The echo request that was simulated.
    pub packet: Packet,
    pub fate: Fate,
    /// What let it through (or stopped it).
    pub decider: Decider,
}

/// For a blocked TCP/UDP/SCTP packet, the fate of an echo request with the same addresses,
/// interfaces and mark. `None` when the packet passed, is itself ICMP, or either fate is
/// undecided or cannot be simulated (a ruleset the kernel refuses blocks nothing).
pub fn ping_contrast(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    outcome: &Outcome,
    options: &Options,
) -> Option<PingContrast> {
    let undetermined = |f: &Fate| matches!(f, Fate::Undetermined { .. });
    let blocked = outcome
        .decided_fate()
        .is_some_and(|f| !f.passed() && !undetermined(f));
    if !blocked || packet.l4.ports().is_none() {
        return None;
    }
    let l4 = if packet.is_ipv6() {
        L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: 1,
        }
    } else {
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 1,
        }
    };
    let mut ping = Packet::new(packet.src, packet.dst, l4);
    ping.iif = packet.iif.clone();
    ping.oif = packet.oif.clone();
    ping.mark = packet.mark;
    ping.ttl = packet.ttl;
    ping.src_mac = packet.src_mac;
    ping.dst_mac = packet.dst_mac;
    let result = engine::simulate(ruleset, host, &ping, options);
    let fate = result.decided_fate().filter(|f| !undetermined(f))?.clone();
    let decider = result.primary().decider.clone();
    Some(PingContrast {
        packet: ping,
        fate,
        decider,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Family, SourceFile};

    const RULES: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
";

    fn run(spec: &str) -> Option<PingContrast> {
        let rs = frontends::iptables_save::parse(&SourceFile::new("r", RULES), Some(Family::Ip))
            .unwrap();
        let args: Vec<String> = spec.split_whitespace().map(String::from).collect();
        let packet = frontends::packet_spec::parse(&args).unwrap().packet;
        let host = Host::default();
        let options = Options::default();
        let outcome = engine::simulate(&rs, &host, &packet, &options);
        ping_contrast(&rs, &host, &packet, &outcome, &options)
    }

    #[test]
    fn blocked_port_with_passing_ping_names_the_icmp_rule() {
        let c = run("tcp 10.0.0.2:1000 10.0.1.2:80 in eth0 out eth1").expect("contrast");
        assert!(matches!(c.fate, Fate::Forwarded { .. }));
        assert!(matches!(c.decider, Decider::Rule(at) if at.rule == 0));
    }

    /// Issue 11 A10: a ruleset the kernel refuses to load (here a jump loop) blocks
    /// nothing, so there is no "ping is blocked too" to say.
    #[test]
    fn a10_a_ruleset_the_kernel_refuses_has_no_ping_contrast() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A FORWARD -j a\n-A a -g b\n-A b -g a\nCOMMIT\n";
        let rs =
            frontends::iptables_save::parse(&SourceFile::new("r", text), Some(Family::Ip)).unwrap();
        let args: Vec<String> = "tcp 10.0.0.2:1000 10.0.1.2:80 in eth0 out eth1"
            .split_whitespace()
            .map(String::from)
            .collect();
        let packet = frontends::packet_spec::parse(&args).unwrap().packet;
        let (host, options) = (Host::default(), Options::default());
        let outcome = engine::simulate(&rs, &host, &packet, &options);
        assert!(matches!(
            outcome.decided_fate(),
            Some(Fate::Undetermined { .. })
        ));
        assert_eq!(ping_contrast(&rs, &host, &packet, &outcome, &options), None);
    }

    #[test]
    fn passing_packet_needs_no_contrast() {
        assert_eq!(run("tcp 10.0.0.2:1000 10.0.1.2:22 in eth0 out eth1"), None);
    }

    #[test]
    fn icmp_packet_is_not_contrasted_with_itself() {
        assert_eq!(
            run("udp 10.0.0.2:1000 10.0.1.2:53 in eth0 out eth1").map(|c| c.packet.proto()),
            Some(model::packet::IpProto::Icmp)
        );
        assert_eq!(
            run("icmp 10.0.0.2 10.0.1.2 in eth0 out eth1 type echo-reply"),
            None
        );
    }
}
