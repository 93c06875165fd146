//! What a firewalld chain name says: firewalld names every chain after the hook, the zone
//! or policy and the part of it the chain implements, in both of its backends.
//!
//! nftables (`table inet firewalld`) prefixes the kernel table: `filter_IN_public_allow`;
//! iptables uses the kernel table itself and no prefix: `IN_public_allow` in `filter`.
//! Names follow firewalld's `nftables.py` / `ipXtables.py` and `fw_policy.py`
//! (`policy_base_chain_name`): `{IN,FWD,OUT,PRE,POST}_{zone}` for the policies firewalld
//! derives from a zone, `{..}_policy_{name}` for a policy (nftables only: the iptables
//! backend has no `policy_` prefix, so there a zone and a policy of the same shape cannot
//! be told apart by the name alone), each with `_pre`, `_log`, `_deny`, `_allow`, `_post`.
//! firewalld 2.x dispatches through `{table}_{HOOK}_dispatch` and the zone-pair chains
//! `{..}_{ingress}_to_{egress}` / `{..}_{zone}_dispatch_stage2`; 0.9–1.x through
//! `{table}_{HOOK}_ZONES` (`goto` the zone's chain) and `_POLICIES_pre` / `_POLICIES_post`.

/// The hook a zone or policy chain serves, by firewalld's shortcut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// `IN`: traffic to the host (INPUT).
    In,
    /// `FWD`: forwarded traffic (FORWARD).
    Fwd,
    /// `OUT`: traffic from the host (OUTPUT).
    Out,
    /// `PRE`: PREROUTING (nat, mangle, raw).
    Pre,
    /// `POST`: POSTROUTING (nat).
    Post,
}

impl Shortcut {
    fn from_name(s: &str) -> Option<Shortcut> {
        Some(match s {
            "IN" => Shortcut::In,
            "FWD" => Shortcut::Fwd,
            "OUT" => Shortcut::Out,
            "PRE" => Shortcut::Pre,
            "POST" => Shortcut::Post,
            _ => return None,
        })
    }

    /// As firewalld spells it in chain names.
    pub fn name(self) -> &'static str {
        match self {
            Shortcut::In => "IN",
            Shortcut::Fwd => "FWD",
            Shortcut::Out => "OUT",
            Shortcut::Pre => "PRE",
            Shortcut::Post => "POST",
        }
    }
}

/// Which sub-chain of a zone or policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubChain {
    /// The zone's or policy's own chain, jumping to the five below.
    Main,
    /// `_pre`: rich rules of negative priority.
    Pre,
    /// `_log`: rich rules that log (priority 0).
    Log,
    /// `_deny`: rich rules that drop or reject, ICMP blocks (priority 0).
    Deny,
    /// `_allow`: services, ports, protocols, accepting rich rules, forward ports, masquerade.
    Allow,
    /// `_post`: rich rules of positive priority.
    Post,
}

impl SubChain {
    const SUFFIXES: [(&'static str, SubChain); 5] = [
        ("_pre", SubChain::Pre),
        ("_log", SubChain::Log),
        ("_deny", SubChain::Deny),
        ("_allow", SubChain::Allow),
        ("_post", SubChain::Post),
    ];

    /// Splits `name_allow` into `name` and [`SubChain::Allow`].
    fn split(s: &str) -> (&str, SubChain) {
        SubChain::SUFFIXES
            .iter()
            .find_map(|(suffix, sub)| {
                s.strip_suffix(suffix)
                    .filter(|rest| !rest.is_empty())
                    .map(|rest| (rest, *sub))
            })
            .unwrap_or((s, SubChain::Main))
    }
}

/// What a firewalld chain is, read from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainKind {
    /// A hook chain, its dispatch, DNAT or direct chain, rpfilter and the like.
    Infrastructure,
    /// A chain of the zone (or, in the iptables backend, of a policy: see
    /// [`ChainName::policy_or_zone`]).
    Zone {
        /// The zone's name.
        zone: String,
        /// Which sub-chain.
        sub: SubChain,
    },
    /// A chain of a policy (`_policy_` in nftables).
    Policy {
        /// The policy's name.
        policy: String,
        /// Which sub-chain.
        sub: SubChain,
    },
    /// firewalld 2.x: the chain for traffic from zone `ingress` to zone `egress` (`HOST`
    /// for the host itself): it jumps to the policies that apply and ends with the zone's
    /// target.
    ZonePair {
        /// The ingress zone (`HOST` for traffic from the host).
        ingress: String,
        /// The egress zone (`HOST` for traffic to the host).
        egress: String,
    },
    /// firewalld 2.x: the chain that picks the egress zone for traffic from `zone`.
    DispatchStage2 {
        /// The ingress zone.
        zone: String,
    },
}

/// A parsed firewalld chain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainName {
    /// The kernel table: from the nft prefix (`filter_`) or the iptables table.
    pub table: String,
    /// The hook shortcut, for zone and policy chains.
    pub shortcut: Option<Shortcut>,
    /// What the chain is.
    pub kind: ChainKind,
    /// Whether the name could be a policy's as well as a zone's (iptables backend).
    pub policy_or_zone: bool,
}

impl ChainName {
    /// The zone whose target a zone-pair chain ends with: the egress zone for traffic
    /// leaving by OUTPUT or POSTROUTING, else the ingress zone (`build_zone_target_rules`).
    pub fn target_zone(&self) -> Option<&str> {
        match &self.kind {
            ChainKind::ZonePair { ingress, egress } => match self.shortcut {
                Some(Shortcut::Out | Shortcut::Post) => Some(egress),
                _ => Some(ingress),
            },
            ChainKind::Zone { zone, .. } | ChainKind::DispatchStage2 { zone } => Some(zone),
            _ => None,
        }
    }
}

const KERNEL_TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

const HOOKS: [&str; 5] = ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"];

/// Suffixes firewalld gives the chains hanging off a hook (both backends, all versions).
const HOOK_SUFFIXES: [&str; 13] = [
    "dispatch",
    "dnat",
    "direct",
    "ZONES",
    "ZONES_SOURCE",
    "IN_ZONES",
    "IN_ZONES_SOURCE",
    "OUT_ZONES",
    "OUT_ZONES_SOURCE",
    "POLICIES",
    "POLICIES_pre",
    "POLICIES_post",
    "ICMP",
];

/// Reads a chain name of the nftables backend (`table inet firewalld`).
pub fn parse_nft(name: &str) -> Option<ChainName> {
    let (table, rest) = name.split_once('_')?;
    if !KERNEL_TABLES.contains(&table) {
        return None;
    }
    parse_rest(table, rest, false)
}

/// Reads a chain name of the iptables backend in kernel table `table`.
pub fn parse_iptables(table: &str, name: &str) -> Option<ChainName> {
    if name == "RFC3964_IPv4" {
        return Some(infrastructure(table));
    }
    parse_rest(table, name, true)
}

fn infrastructure(table: &str) -> ChainName {
    ChainName {
        table: table.to_string(),
        shortcut: None,
        kind: ChainKind::Infrastructure,
        policy_or_zone: false,
    }
}

fn parse_rest(table: &str, rest: &str, iptables: bool) -> Option<ChainName> {
    if let Some(hook) = HOOKS.iter().find(|h| rest.starts_with(*h)) {
        let tail = &rest[hook.len()..];
        let known = tail.is_empty()
            || tail
                .strip_prefix('_')
                .is_some_and(|s| HOOK_SUFFIXES.contains(&s));
        // In iptables a bare hook name is the kernel's built-in chain, not firewalld's.
        return (known && !(iptables && tail.is_empty())).then(|| infrastructure(table));
    }
    let (short, tail) = rest.split_once('_')?;
    let shortcut = Shortcut::from_name(short)?;
    if tail.is_empty() {
        return None;
    }
    let name = |kind| ChainName {
        table: table.to_string(),
        shortcut: Some(shortcut),
        kind,
        policy_or_zone: false,
    };
    if let Some(zone) = tail.strip_suffix("_dispatch_stage2") {
        return Some(name(ChainKind::DispatchStage2 {
            zone: zone.to_string(),
        }));
    }
    if let Some((ingress, egress)) = tail.split_once("_to_") {
        if !ingress.is_empty() && !egress.is_empty() {
            return Some(name(ChainKind::ZonePair {
                ingress: ingress.to_string(),
                egress: egress.to_string(),
            }));
        }
    }
    let (base, sub) = SubChain::split(tail);
    if let Some(policy) = base.strip_prefix("policy_").filter(|_| !iptables) {
        return Some(name(ChainKind::Policy {
            policy: policy.to_string(),
            sub,
        }));
    }
    Some(ChainName {
        policy_or_zone: iptables,
        ..name(ChainKind::Zone {
            zone: base.to_string(),
            sub,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(z: &str, sub: SubChain) -> ChainKind {
        ChainKind::Zone {
            zone: z.into(),
            sub,
        }
    }

    #[test]
    fn nft_names_of_zones_policies_and_dispatch() {
        let kind = |n: &str| parse_nft(n).map(|c| c.kind);
        assert_eq!(
            kind("filter_IN_public_allow"),
            Some(zone("public", SubChain::Allow))
        );
        assert_eq!(
            kind("filter_IN_public"),
            Some(zone("public", SubChain::Main))
        );
        assert_eq!(
            kind("nat_PRE_external_allow"),
            Some(zone("external", SubChain::Allow))
        );
        assert_eq!(
            kind("filter_FWD_policy_lan-to-wan_deny"),
            Some(ChainKind::Policy {
                policy: "lan-to-wan".into(),
                sub: SubChain::Deny
            })
        );
        assert_eq!(
            kind("filter_IN_policy_allow-host-ipv6"),
            Some(ChainKind::Policy {
                policy: "allow-host-ipv6".into(),
                sub: SubChain::Main
            })
        );
        assert_eq!(
            kind("filter_IN_public_to_HOST"),
            Some(ChainKind::ZonePair {
                ingress: "public".into(),
                egress: "HOST".into()
            })
        );
        assert_eq!(
            kind("filter_FWD_internal_dispatch_stage2"),
            Some(ChainKind::DispatchStage2 {
                zone: "internal".into()
            })
        );
        for infra in [
            "filter_INPUT",
            "filter_INPUT_dispatch",
            "filter_INPUT_ZONES",
            "filter_INPUT_POLICIES_pre",
            "filter_FORWARD_IN_ZONES",
            "nat_PREROUTING_dispatch",
            "filter_PREROUTING",
            "filter_OUTPUT_dnat",
        ] {
            assert_eq!(kind(infra), Some(ChainKind::Infrastructure), "{infra}");
        }
        assert_eq!(kind("input"), None);
        assert_eq!(kind("filter_INPUTX"), None);
        assert_eq!(kind("filter_XX_public"), None);
    }

    #[test]
    fn target_zone_of_a_pair_follows_the_direction() {
        let out = parse_nft("filter_OUT_HOST_to_public").unwrap();
        assert_eq!(out.target_zone(), Some("public"));
        let fwd = parse_nft("filter_FWD_internal_to_external").unwrap();
        assert_eq!(fwd.target_zone(), Some("internal"));
    }

    #[test]
    fn iptables_names_have_no_prefix_and_leave_builtins_alone() {
        let c = parse_iptables("filter", "IN_public_allow").unwrap();
        assert_eq!(c.kind, zone("public", SubChain::Allow));
        assert!(c.policy_or_zone);
        assert_eq!(parse_iptables("filter", "INPUT"), None);
        assert_eq!(
            parse_iptables("filter", "INPUT_direct").map(|c| c.kind),
            Some(ChainKind::Infrastructure)
        );
        assert_eq!(parse_iptables("filter", "DOCKER-USER"), None);
        assert_eq!(parse_iptables("filter", "ufw-user-input"), None);
    }
}
