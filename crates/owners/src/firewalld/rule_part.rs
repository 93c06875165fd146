//! Which part of a zone or policy one firewalld rule implements, read back from the rule.
//!
//! firewalld generates a small set of rule shapes (`nftables.py`, `ipXtables.py`): a port
//! or service is `tcp dport 22 accept` in `_allow`, a protocol `meta l4proto gre accept`,
//! an ICMP block `icmp echo-request reject ...` in `_deny`, a forward port a `dnat` /
//! `redirect` in `nat_PRE_*_allow`, masquerading `oifname != "lo" masquerade` in
//! `nat_POST_*_allow`; a rich rule adds its family, source and destination in front. The
//! listing keeps no service name and no rich-rule priority: a port is a service only when
//! the zone XML lists a service with that port, and a rich rule is written back only where
//! its priority is known to be 0 (`_log`, `_deny`, `_allow`).

use super::chain_name::SubChain;
use super::config::{FirewalldConfig, Located};
use model::expr::NatKind;
use model::owner::FirewalldPart;
use model::packet::IpProto;
use model::{Action, Key, Match, Pattern, Rule, Test, Value, Verdict};

/// What the rule matches and does, in the terms firewalld generates.
#[derive(Debug, Default)]
struct Shape {
    v6: Option<bool>,
    src: Option<String>,
    dst: Option<String>,
    proto: Option<u8>,
    dport: Option<(u16, u16)>,
    icmp: bool,
    not_lo_out: bool,
    /// Matches firewalld's rule shapes do not explain.
    other: bool,
    /// The rich-rule action word of the verdict: `accept`, `drop` or `reject`.
    verdict: Option<&'static str>,
    masquerade: bool,
    /// `dnat`/`redirect` target as firewalld lists it: (`toport`, `toaddr`).
    forward_to: Option<(Option<u16>, Option<String>)>,
    helper: bool,
}

impl Shape {
    fn of(rule: &Rule) -> Shape {
        let mut s = Shape::default();
        for m in rule.matches() {
            s.read_match(m);
        }
        for a in rule.actions() {
            match a {
                Action::Verdict(Verdict::Accept) => s.verdict = Some("accept"),
                Action::Verdict(Verdict::Drop) => s.verdict = Some("drop"),
                Action::Verdict(Verdict::Reject(_)) => s.verdict = Some("reject"),
                Action::Nat(n) => match n.kind {
                    NatKind::Masquerade => s.masquerade = true,
                    NatKind::Dnat | NatKind::Redirect => {
                        let port = n.ports.map(|(lo, _)| lo);
                        let addr = n.addr.map(|(a, _)| a.to_string());
                        s.forward_to = Some((port, addr));
                    }
                    _ => s.other = true,
                },
                Action::CtSet {
                    helper: Some(_), ..
                } => s.helper = true,
                Action::Counter => {}
                _ => s.other = true,
            }
        }
        s
    }

    fn read_match(&mut self, m: &Match) {
        let Test::Cmp { key, pattern } = &m.test else {
            self.other = true;
            return;
        };
        match (key, pattern, m.negated) {
            (Key::NfProto, Pattern::Value(Value::Int(n)), false) => self.v6 = Some(*n == 10),
            (Key::SrcAddr | Key::DstAddr, p, false) => {
                let (text, v6) = match p {
                    Pattern::Prefix(net) => (net.to_string(), net.addr().is_ipv6()),
                    Pattern::Value(Value::Addr(a)) => (a.to_string(), a.is_ipv6()),
                    _ => {
                        self.other = true;
                        return;
                    }
                };
                // `/32` and `/128` are how iptables lists one address.
                let text = text
                    .strip_suffix(if v6 { "/128" } else { "/32" })
                    .map(str::to_string)
                    .unwrap_or(text);
                self.v6 = Some(v6);
                if *key == Key::SrcAddr {
                    self.src = Some(text);
                } else {
                    self.dst = Some(text);
                }
            }
            (Key::L4Proto, Pattern::Value(Value::Int(n)), false) => {
                self.proto = u8::try_from(*n).ok();
            }
            (Key::DstPort, Pattern::Value(Value::Int(p)), false) => {
                let p = u16::try_from(*p).unwrap_or(0);
                self.dport = Some((p, p));
            }
            (Key::DstPort, Pattern::Range(Value::Int(a), Value::Int(b)), false) => {
                self.dport = Some((
                    u16::try_from(*a).unwrap_or(0),
                    u16::try_from(*b).unwrap_or(0),
                ));
            }
            (Key::IcmpType | Key::IcmpCode, _, false) => {
                self.icmp = true;
                self.v6.get_or_insert(false);
            }
            (Key::Icmpv6Type | Key::Icmpv6Code, _, false) => {
                self.icmp = true;
                self.v6.get_or_insert(true);
            }
            // Older firewalld (0.x) adds `ct state new,untracked` to what it accepts.
            (Key::CtState, _, false) => {}
            (Key::OifName, Pattern::Value(Value::Str(s)) | Pattern::Iface(s), true)
                if s == "lo" =>
            {
                self.not_lo_out = true
            }
            _ => self.other = true,
        }
    }

    fn proto_name(&self) -> Option<String> {
        self.proto
            .map(|p| IpProto::from_number(p).to_string())
            .map(|n| if n == "icmpv6" { "ipv6-icmp".into() } else { n })
    }

    fn port_text(&self) -> Option<String> {
        let (lo, hi) = self.dport?;
        Some(if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        })
    }

    /// The rich rule's `family`, `source` and `destination` elements, as
    /// `--list-rich-rules` prints them.
    fn rich_head(&self) -> String {
        let mut s = String::from("rule");
        if let Some(v6) = self.v6 {
            s += if v6 {
                " family=\"ipv6\""
            } else {
                " family=\"ipv4\""
            };
        }
        if let Some(src) = &self.src {
            s += &format!(" source address=\"{src}\"");
        }
        if let Some(dst) = &self.dst {
            s += &format!(" destination address=\"{dst}\"");
        }
        s
    }
}

/// The part of its zone or policy a rule of sub-chain `sub` implements, and the zone XML
/// line that shows it when `zone` is known and its XML recorded.
pub(crate) fn part_of(
    rule: &Rule,
    chain: &str,
    sub: SubChain,
    zone: Option<&str>,
    config: &FirewalldConfig,
) -> (FirewalldPart, Option<Located<String>>) {
    let shape = Shape::of(rule);
    let fallback = || (FirewalldPart::Chain(chain.to_string()), None);
    if shape.other {
        return fallback();
    }
    let addressed = shape.src.is_some() || shape.dst.is_some();
    let proto = shape.proto_name();
    if shape.masquerade && shape.not_lo_out {
        return if shape.src.is_none() && shape.dst.is_none() {
            (FirewalldPart::Masquerade, None)
        } else if priority_zero(sub) {
            (
                FirewalldPart::RichRule(format!("{} masquerade", shape.rich_head())),
                None,
            )
        } else {
            fallback()
        };
    }
    if let (Some((toport, toaddr)), Some(port), Some(proto)) =
        (&shape.forward_to, shape.port_text(), &proto)
    {
        if addressed {
            return fallback();
        }
        let toport = toport.map(|p| p.to_string()).unwrap_or_default();
        let toaddr = toaddr.clone().unwrap_or_default();
        return (
            FirewalldPart::ForwardPort(format!(
                "port={port}:proto={proto}:toport={toport}:toaddr={toaddr}"
            )),
            None,
        );
    }
    let denies = matches!(shape.verdict, Some("drop" | "reject"));
    if shape.icmp && denies && sub == SubChain::Deny && !addressed {
        return (FirewalldPart::IcmpBlock, None);
    }
    if shape.helper {
        // `tcp dport 21 ct helper set "helper-ftp-tcp"`: only a service attaches helpers.
        return match (shape.dport, &proto, zone) {
            (Some((lo, hi)), Some(proto), Some(z)) => config
                .zone_service_with_port(z, lo, hi, proto)
                .map(|s| (FirewalldPart::Service(s.value.clone()), Some(s.clone())))
                .unwrap_or_else(fallback),
            _ => fallback(),
        };
    }
    if shape.icmp {
        return fallback();
    }
    let Some(verdict) = shape.verdict else {
        return fallback();
    };
    if verdict != "accept" {
        return match (addressed, shape.port_text(), &proto) {
            (_, Some(port), Some(proto)) if priority_zero(sub) => (
                FirewalldPart::RichRule(format!(
                    "{} port port=\"{port}\" protocol=\"{proto}\" {verdict}",
                    shape.rich_head()
                )),
                None,
            ),
            (true, None, None) if priority_zero(sub) => (
                FirewalldPart::RichRule(format!("{} {verdict}", shape.rich_head())),
                None,
            ),
            _ => fallback(),
        };
    }
    match (shape.dport, &proto) {
        (Some((lo, hi)), Some(proto)) if !addressed || shape.src.is_none() => {
            if sub != SubChain::Allow {
                return fallback();
            }
            // A destination without a source is how a service's `<destination>` looks.
            if let Some(service) =
                zone.and_then(|z| config.zone_service_with_port(z, lo, hi, proto))
            {
                return (
                    FirewalldPart::Service(service.value.clone()),
                    Some(service.clone()),
                );
            }
            if addressed {
                return fallback();
            }
            let listed = zone
                .and_then(|z| config.zones.get(z))
                .and_then(|z| z.ports.iter().find(|p| p.value.is(lo, hi, proto)))
                .map(|p| Located {
                    value: String::new(),
                    path: p.path.clone(),
                    line: p.line,
                });
            let port = shape.port_text().unwrap_or_default();
            (FirewalldPart::Port(format!("{port}/{proto}")), listed)
        }
        (Some(_), Some(proto)) if priority_zero(sub) => {
            let port = shape.port_text().unwrap_or_default();
            (
                FirewalldPart::RichRule(format!(
                    "{} port port=\"{port}\" protocol=\"{proto}\" accept",
                    shape.rich_head()
                )),
                None,
            )
        }
        (None, Some(proto)) if !addressed && sub == SubChain::Allow => {
            (FirewalldPart::Protocol(proto.clone()), None)
        }
        (None, None) if addressed && priority_zero(sub) => (
            FirewalldPart::RichRule(format!("{} accept", shape.rich_head())),
            None,
        ),
        _ => fallback(),
    }
}

/// Rich rules land in `_log`, `_deny` and `_allow` only with priority 0, so only there can
/// they be written back exactly.
fn priority_zero(sub: SubChain) -> bool {
    matches!(sub, SubChain::Log | SubChain::Deny | SubChain::Allow)
}
