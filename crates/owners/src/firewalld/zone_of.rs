//! Which zone a packet lands in, and why, read from firewalld's zone dispatch.
//!
//! firewalld hands a packet to a zone in one dispatch chain per hook: 2.x
//! `filter_INPUT_dispatch` (`iifname "eth0" jump filter_IN_public_to_HOST`), 0.9–1.x
//! `filter_INPUT_ZONES` (`goto filter_IN_public`), 0.6–0.8 with the source bindings in a
//! `_ZONES_SOURCE` chain evaluated first. Source bindings sort before interfaces and the
//! default zone is the last, unconditional rule (`_zone_ingress_dispatch_sort_key` in
//! firewalld's `nftables.py`). The first rule that matches decides; a rule that cannot be
//! decided from the packet alone (an ipset source, an unknown match) makes the answer
//! unknown rather than a guess.

use super::chain_name::{self, ChainName};
use super::config::FirewalldConfig;
use model::tool_config::ToolConfig;
use model::{Family, Key, Packet, Pattern, RuleRef, Ruleset, Test, Value, Verdict};
use std::net::IpAddr;

/// Reads a chain name of one backend.
type NameReader = dyn Fn(&str) -> Option<ChainName>;

/// Which zone dispatch to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A packet to the host (INPUT): the ingress zone.
    Input,
    /// A forwarded packet (FORWARD): the ingress zone.
    Forward,
    /// A packet from the host (OUTPUT): the egress zone.
    Output,
}

impl Direction {
    fn hook(self) -> &'static str {
        match self {
            Direction::Input => "INPUT",
            Direction::Forward => "FORWARD",
            Direction::Output => "OUTPUT",
        }
    }
}

/// The zone a packet lands in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChoice {
    /// The zone's name.
    pub zone: String,
    /// Why this zone.
    pub why: ZoneWhy,
    /// The dispatch rule that chose it.
    pub rule: RuleRef,
    /// The configuration line that binds the source or interface to the zone, or sets the
    /// default zone, when the snapshot recorded it: (path, 1-based line).
    pub config: Option<(String, u32)>,
}

/// Why a packet lands in its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneWhy {
    /// Its source (destination, for OUTPUT) address is bound to the zone; source bindings
    /// win over interfaces.
    Source {
        /// The bound address or network, as the dispatch rule has it.
        address: String,
    },
    /// Its interface is bound to the zone.
    Interface {
        /// The interface or wildcard (`eth+`), as the dispatch rule has it.
        name: String,
    },
    /// Nothing bound it elsewhere: the default zone.
    DefaultZone,
}

/// The zone firewalld's dispatch puts `packet` in, travelling in `direction`; `None` when
/// the ruleset has no firewalld dispatch for it or the dispatch cannot be decided.
pub fn zone_of(
    ruleset: &Ruleset,
    config: &ToolConfig,
    packet: &Packet,
    direction: Direction,
) -> Option<ZoneChoice> {
    let cfg = FirewalldConfig::read(config);
    let hook = direction.hook();
    let (table, prefix, parse): (usize, &str, &NameReader) =
        if let Some(t) = ruleset.table(Family::Inet, "firewalld") {
            (t, "filter_", &chain_name::parse_nft)
        } else {
            let family = if packet.src.is_ipv6() {
                Family::Ip6
            } else {
                Family::Ip
            };
            let t = ruleset.table(family, "filter")?;
            (t, "", &|n: &str| chain_name::parse_iptables("filter", n))
        };
    let chains = &ruleset.tables[table];
    let order = [
        format!("{prefix}{hook}_ZONES_SOURCE"),
        format!("{prefix}{hook}_IN_ZONES_SOURCE"),
        format!("{prefix}{hook}_dispatch"),
        format!("{prefix}{hook}_ZONES"),
        format!("{prefix}{hook}_IN_ZONES"),
    ];
    for chain_name in &order {
        let Some(chain) = chains.chain(chain_name) else {
            continue;
        };
        for (i, rule) in chains.chains[chain].rules.iter().enumerate() {
            let target = match rule.verdict() {
                Some(Verdict::Jump(t) | Verdict::Goto(t)) => t,
                _ => continue,
            };
            let why = match dispatch_match(rule, packet, direction)? {
                Some(why) => why,
                None => continue,
            };
            let zone = parse(target)?.target_zone()?.to_string();
            let config = binding_line(&cfg, &zone, &why);
            return Some(ZoneChoice {
                zone,
                why,
                rule: RuleRef {
                    table,
                    chain,
                    rule: i,
                },
                config,
            });
        }
    }
    None
}

/// Whether the dispatch rule takes the packet: `Some(Some(why))` yes, `Some(None)` no,
/// `None` cannot be told from the packet.
fn dispatch_match(
    rule: &model::Rule,
    packet: &Packet,
    direction: Direction,
) -> Option<Option<ZoneWhy>> {
    let (addr, iface, addr_key, iface_key) = match direction {
        Direction::Output => (
            packet.dst,
            packet.oif.as_deref(),
            Key::DstAddr,
            Key::OifName,
        ),
        _ => (
            packet.src,
            packet.iif.as_deref(),
            Key::SrcAddr,
            Key::IifName,
        ),
    };
    let mut why = ZoneWhy::DefaultZone;
    for m in rule.matches() {
        let Test::Cmp { key, pattern } = &m.test else {
            return None;
        };
        let hit = match (key, pattern) {
            (k, Pattern::Iface(name) | Pattern::Value(Value::Str(name))) if *k == iface_key => {
                why = ZoneWhy::Interface { name: name.clone() };
                iface_matches(name, iface?)
            }
            (k, Pattern::Prefix(net)) if *k == addr_key => {
                why = ZoneWhy::Source {
                    address: net.to_string(),
                };
                net.contains(&addr)
            }
            (k, Pattern::Value(Value::Addr(a))) if *k == addr_key => {
                why = ZoneWhy::Source {
                    address: a.to_string(),
                };
                *a == addr
            }
            (Key::NfProto, Pattern::Value(Value::Int(n))) => (*n == 10) == is_v6(addr),
            _ => return None,
        };
        if hit == m.negated {
            return Some(None);
        }
    }
    Some(Some(why))
}

fn is_v6(a: IpAddr) -> bool {
    a.is_ipv6()
}

/// nft writes a wildcard as `eth*` (firewalld turns `eth+` into it), iptables as `eth+`.
fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern
        .strip_suffix('+')
        .or_else(|| pattern.strip_suffix('*'))
    {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// The zone XML line (or `DefaultZone=` line) behind the choice.
fn binding_line(cfg: &FirewalldConfig, zone: &str, why: &ZoneWhy) -> Option<(String, u32)> {
    let at = |l: &super::config::Located<String>| (l.path.clone(), l.line);
    match why {
        ZoneWhy::DefaultZone => cfg
            .default_zone
            .as_ref()
            .filter(|d| d.value == zone)
            .map(at),
        ZoneWhy::Interface { name } => {
            let xml_name = name.replace('*', "+");
            cfg.zones
                .get(zone)?
                .interfaces
                .iter()
                .find(|i| i.value == xml_name)
                .map(at)
        }
        ZoneWhy::Source { address } => cfg
            .zones
            .get(zone)?
            .sources
            .iter()
            .find(|s| {
                s.value == *address
                    || address
                        .strip_suffix("/32")
                        .or_else(|| address.strip_suffix("/128"))
                        .is_some_and(|a| a == s.value)
            })
            .map(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{SourceFile, L4};

    /// The dispatch of firewalld 2.x for zone `trusted` bound to 10.0.0.0/8, `internal` to
    /// eth1 and the default zone `public` (shapes as firewalld's testsuite records them in
    /// `policy_dispatch_*`).
    const V2: &str = "table inet firewalld {\n chain filter_INPUT_dispatch {\n  ip saddr 10.0.0.0/8 jump filter_IN_trusted_to_HOST\n  iifname \"eth1\" jump filter_IN_internal_to_HOST\n  iifname \"ppp*\" jump filter_IN_external_to_HOST\n  jump filter_IN_public_to_HOST\n }\n chain filter_IN_trusted_to_HOST { accept }\n chain filter_IN_internal_to_HOST { reject with icmpx admin-prohibited }\n chain filter_IN_external_to_HOST { reject with icmpx admin-prohibited }\n chain filter_IN_public_to_HOST { reject with icmpx admin-prohibited }\n}\n";

    /// firewalld 1.x: `filter_INPUT_ZONES` with `goto` the zone's chain.
    const V1: &str = "table inet firewalld {\n chain filter_INPUT_ZONES {\n  ip saddr 10.0.0.0/8 goto filter_IN_trusted\n  iifname \"eth1\" goto filter_IN_internal\n  goto filter_IN_public\n }\n chain filter_IN_trusted { accept }\n chain filter_IN_internal { reject }\n chain filter_IN_public { reject }\n}\n";

    fn ruleset(text: &str) -> Ruleset {
        frontends::nft::parse_text(&SourceFile::new("fw.nft", text))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn packet(src: &str, iif: &str) -> Packet {
        let mut p = Packet::new(
            src.parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
            L4::Tcp {
                sport: 40000,
                dport: 22,
                flags: model::TcpFlags::SYN,
            },
        );
        p.iif = Some(iif.to_string());
        p
    }

    fn choice(text: &str, src: &str, iif: &str) -> Option<(String, ZoneWhy)> {
        zone_of(
            &ruleset(text),
            &ToolConfig::default(),
            &packet(src, iif),
            Direction::Input,
        )
        .map(|c| (c.zone, c.why))
    }

    #[test]
    fn a_source_binding_beats_the_interface_in_both_layouts() {
        for text in [V2, V1] {
            assert_eq!(
                choice(text, "10.1.2.3", "eth1"),
                Some((
                    "trusted".into(),
                    ZoneWhy::Source {
                        address: "10.0.0.0/8".into()
                    }
                ))
            );
        }
    }

    #[test]
    fn the_interface_binding_then_the_default_zone() {
        for text in [V2, V1] {
            assert_eq!(
                choice(text, "192.168.1.5", "eth1"),
                Some((
                    "internal".into(),
                    ZoneWhy::Interface {
                        name: "eth1".into()
                    }
                ))
            );
            assert_eq!(
                choice(text, "192.168.1.5", "eth0"),
                Some(("public".into(), ZoneWhy::DefaultZone))
            );
        }
        assert_eq!(
            choice(V2, "192.168.1.5", "ppp0").map(|c| c.0),
            Some("external".into())
        );
    }

    #[test]
    fn the_zone_xml_and_firewalld_conf_name_the_binding_line() {
        let config = ToolConfig {
            files: vec![
                SourceFile::new(
                    "/etc/firewalld/zones/internal.xml",
                    "<zone>\n  <interface name=\"eth1\"/>\n</zone>\n",
                ),
                SourceFile::new("/etc/firewalld/firewalld.conf", "DefaultZone=public\n"),
            ],
        };
        let rs = ruleset(V2);
        let c = zone_of(
            &rs,
            &config,
            &packet("192.168.1.5", "eth1"),
            Direction::Input,
        )
        .unwrap();
        assert_eq!(
            c.config,
            Some(("/etc/firewalld/zones/internal.xml".into(), 2))
        );
        let d = zone_of(
            &rs,
            &config,
            &packet("192.168.1.5", "eth0"),
            Direction::Input,
        )
        .unwrap();
        assert_eq!(d.config, Some(("/etc/firewalld/firewalld.conf".into(), 1)));
    }

    #[test]
    fn an_undecidable_dispatch_rule_gives_no_answer() {
        let text = "table inet firewalld {\n set s { type ipv4_addr; }\n chain filter_INPUT_dispatch {\n  ip saddr @s jump filter_IN_trusted_to_HOST\n  jump filter_IN_public_to_HOST\n }\n chain filter_IN_trusted_to_HOST { accept }\n chain filter_IN_public_to_HOST { reject }\n}\n";
        assert_eq!(choice(text, "10.1.2.3", "eth0"), None);
        assert_eq!(
            choice("table inet filter { chain x { } }\n", "10.1.2.3", "eth0"),
            None
        );
    }
}
