//! The source address a host's own packet gets, and why: "picked 2001:db8::a1b2 on wlan0:
//! rule 7, a temporary address is preferred (use_tempaddr >= 2), over 2001:db8::5".

use super::fates::routing_failure;
use engine::source::{SourceChoice, SourceFailure, SourceNote, SourceReason, V6Rule};

/// One line: the address chosen (or why none), the device it leaves by, and the reason.
pub fn source_choice(c: &SourceChoice) -> String {
    let out = c
        .oif
        .as_deref()
        .map(|d| format!(", out of {d}"))
        .unwrap_or_default();
    let via = c.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
    match (&c.reason, c.addr) {
        (SourceReason::Failed(f), _) => format!("cannot send: {}", source_failure(f)),
        (reason, Some(a)) => format!(
            "source {a}{out}{via}: {}",
            source_reason(reason, c.oif.as_deref())
        ),
        (reason, None) => format!(
            "no source address{out}{via}: {}",
            source_reason(reason, c.oif.as_deref())
        ),
    }
}

/// Why this address (or none); an IPv6 address's device is named when it is not `oif`.
fn source_reason(r: &SourceReason, oif: Option<&str>) -> String {
    match r {
        SourceReason::Bound => "the socket is bound to it (-I ADDR)".to_string(),
        SourceReason::LocalDestination => {
            "the destination is this host's own address, sent over lo from itself".to_string()
        }
        SourceReason::RoutePrefsrc => "the route's preferred source (`src`)".to_string(),
        SourceReason::V4Device {
            dev,
            gateway_subnet: Some(gw),
        } => format!("the primary address of {dev} in the subnet of the gateway {gw}"),
        SourceReason::V4Device {
            dev,
            gateway_subnet: None,
        } => format!("the first primary address of {dev} that the route's scope allows"),
        SourceReason::V4OtherDevice { out_dev, dev } => format!(
            "{out_dev} has no usable IPv4 address, so the kernel took the first primary \
             address of another device ({dev})"
        ),
        SourceReason::V6Rule {
            rule,
            runner_up,
            dev,
            ..
        } => {
            let over = runner_up.map(|r| format!(", over {r}")).unwrap_or_default();
            let on = if oif == Some(dev.as_str()) {
                String::new()
            } else {
                format!("an address of {dev}, ")
            };
            format!("{on}{}{over}", v6_rule(*rule))
        }
        SourceReason::NoAddress => {
            "no candidate address (IPv4 sends from 0.0.0.0; IPv6 connect fails with \
             EADDRNOTAVAIL)"
                .to_string()
        }
        SourceReason::AddressesUnknown => {
            "unknown: the host's addresses were not given (ip -j addr)".to_string()
        }
        SourceReason::Failed(f) => source_failure(f),
    }
}

/// An IPv6 selection rule, with its number in RFC 6724 where it has one.
fn v6_rule(r: V6Rule) -> &'static str {
    match r {
        V6Rule::SameAddress => "rule 1: the destination address itself",
        V6Rule::Scope => "rule 2: the smallest scope that reaches the destination",
        V6Rule::AvoidDeprecated => "rule 3: deprecated addresses avoided",
        V6Rule::OutgoingInterface => "rule 5: an address of the outgoing interface",
        V6Rule::Label => {
            "rule 6: its policy label matches the destination's (default table; ip addrlabel not read)"
        }
        V6Rule::Privacy {
            prefer_temporary: true,
        } => "rule 7: a temporary address is preferred (use_tempaddr >= 2)",
        V6Rule::Privacy {
            prefer_temporary: false,
        } => "rule 7: a public address is preferred (use_tempaddr < 2)",
        V6Rule::Orchid => "ORCHID addresses only toward ORCHID destinations",
        V6Rule::LongestPrefix => "rule 8: the longest prefix in common with the destination",
        V6Rule::NotOptimistic => "an address not in optimistic DAD",
        V6Rule::ListOrder => "every rule tied; the first listed is kept",
        V6Rule::OnlyCandidate => "the only candidate",
    }
}

/// Why the socket cannot send.
fn source_failure(f: &SourceFailure) -> String {
    match f {
        SourceFailure::AddressNotAvailable(a) => format!(
            "{a} is not an address of this host (bind: EADDRNOTAVAIL, \"Cannot assign \
             requested address\")"
        ),
        SourceFailure::NoSuchDevice(d) => format!("no device {d} (ENODEV)"),
        SourceFailure::DeviceDown(d) => format!("{d} is down (ENETUNREACH)"),
        SourceFailure::NeedsDevice => {
            "a link-local destination needs a device (%dev or -I dev; EINVAL)".to_string()
        }
        SourceFailure::Route(r) => routing_failure(r),
    }
}

/// A note on the choice.
pub fn source_note(n: &SourceNote) -> String {
    match n {
        SourceNote::PingOtherDeviceWarning { dev } => format!(
            "ping prints \"Warning: source address might be selected on device other than: \
             {dev}\": the source is not one of {dev}'s addresses"
        ),
        SourceNote::OnLinkAssumed { dev } => format!(
            "no route by {dev}: bound to it, the kernel takes the destination as on-link there"
        ),
        SourceNote::SysctlDefault { key, value } => {
            format!("{key} = {value} (the kernel default; not in the host state)")
        }
        SourceNote::LocalRoutesFromAddresses { v6 } => format!(
            "the kernel's local routes derived from the host's addresses (no local table in \
             the {} routes)",
            if *v6 { "IPv6" } else { "IPv4" }
        ),
        SourceNote::RoutesUnknown => {
            "the host's routes were not given: only its addresses' subnets are routed".to_string()
        }
        SourceNote::DefaultAddressLabels => {
            "the address labels are the kernel's default table (ip addrlabel not read)".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::RoutingFailure;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn choice(addr: Option<&str>, oif: &str, reason: SourceReason) -> SourceChoice {
        SourceChoice {
            addr: addr.map(ip),
            oif: Some(oif.to_string()),
            gateway: None,
            route: None,
            reason,
            notes: Vec::new(),
        }
    }

    /// User story 8's laptop, and the other answers a user reads.
    #[test]
    fn source_lines() {
        let temp = ip("2001:db8::a1b2");
        let lines = [
            source_choice(&choice(
                Some("2001:db8::a1b2"),
                "wlan0",
                SourceReason::V6Rule {
                    rule: V6Rule::Privacy {
                        prefer_temporary: true,
                    },
                    runner_up: Some(ip("2001:db8::5")),
                    beaten: vec![(ip("2001:db8::5"), V6Rule::LongestPrefix)],
                    dev: "wlan0".into(),
                },
            )),
            source_choice(&SourceChoice {
                gateway: Some(ip("192.168.9.254")),
                ..choice(
                    Some("192.168.9.1"),
                    "eth0",
                    SourceReason::V4Device {
                        dev: "eth0".into(),
                        gateway_subnet: Some(ip("192.168.9.254")),
                    },
                )
            }),
            source_choice(&choice(
                Some("10.0.0.1"),
                "tun0",
                SourceReason::V4OtherDevice {
                    out_dev: "tun0".into(),
                    dev: "eth0".into(),
                },
            )),
            source_choice(&choice(None, "eth0", SourceReason::NoAddress)),
            source_choice(&choice(
                None,
                "eth0",
                SourceReason::Failed(SourceFailure::AddressNotAvailable(temp)),
            )),
            source_choice(&choice(
                None,
                "eth0",
                SourceReason::Failed(SourceFailure::Route(RoutingFailure::NoRoute)),
            )),
            source_note(&SourceNote::PingOtherDeviceWarning { dev: "eth0".into() }),
            source_note(&SourceNote::OnLinkAssumed { dev: "tun0".into() }),
            source_note(&SourceNote::SysctlDefault {
                key: "net.ipv6.conf.wlan0.use_tempaddr".into(),
                value: "0".into(),
            }),
        ];
        insta::assert_snapshot!(lines.join("\n"));
    }
}
