//! Which source address the kernel gives a packet this host sends, and why: what
//! `ping DST`, `ping -I DEV DST` and `ping -I ADDR DST` (and any socket that connects
//! without binding an address) end up sending from.
//!
//! The route comes from the engine's own lookup ([`super::route::output_lookup`]), policy
//! rules included. Then, as the kernel does:
//! - IPv4 (`ip_route_output_key_hash_rcu`, `fib_select_path`, `fib_result_prefsrc`,
//!   `inet_select_addr`): a local destination is its own source (or its local route's
//!   `src`); else the route's `src`; else the first primary address of the route's device
//!   with a scope the route allows, one whose subnet holds the gateway first; else the first
//!   primary, non-link-scope address of any device. A socket bound to a device whose lookup
//!   finds nothing (or only an error route) is sent on-link from that device anyway.
//! - IPv6 (`ip6_route_get_saddr`, `ipv6_dev_get_saddr`): the route's `src`; else RFC 6724
//!   as Linux implements it, over the route device's addresses when the destination is
//!   link-local or multicast (or `use_oif_addrs_only` is set), over every device's
//!   otherwise: same address, scope, avoid deprecated, prefer the outgoing interface,
//!   matching label (the default policy table), temporary addresses preferred only when
//!   `use_tempaddr >= 2`, longest matching prefix. Tentative and DAD-failed addresses are
//!   never candidates. Among equals the first listed wins (the kernel keeps the first).
//!
//! The kernel's order of devices and of one device's addresses is the order `ip -j addr`
//! lists them in (its dump walks the same lists), which the answer relies on.

use super::route::{addr_type_known, output_lookup, Hit, RouteExt};
use crate::trace::RoutingFailure;
use model::expr::rtn;
use model::host::{DadState, IfAddr, Interface, LinkType, RouteType, Scope};
use model::Host;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How the sending socket is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// Not bound: the kernel picks route and source (`ping DST`).
    None,
    /// Bound to a device (`SO_BINDTODEVICE`, `ping -I eth0`): only routes leaving by it.
    Device(String),
    /// Bound to an address (`bind()`, `ping -I 10.0.0.5`): the source is that address.
    Address(IpAddr),
}

/// The source address chosen for a packet this host sends, the device it leaves by, and
/// why.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceChoice {
    /// The source address; `None` when none could be chosen (see `reason`).
    pub addr: Option<IpAddr>,
    /// The device the packet leaves by (`lo` for a destination on this host).
    pub oif: Option<String>,
    /// The next hop, when the route has a gateway.
    pub gateway: Option<IpAddr>,
    /// The route's index in `host.routes` (`None`: none, or one the kernel makes itself).
    pub route: Option<usize>,
    /// What decided the address (or why there is none).
    pub reason: SourceReason,
    /// Assumptions made and things the sender will notice.
    pub notes: Vec<SourceNote>,
}

/// What decided the source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceReason {
    /// The socket is bound to this address (`-I ADDR`).
    Bound,
    /// The destination is one of this host's addresses: the packet goes over `lo` from it
    /// (or from the local route's `src`).
    LocalDestination,
    /// The route's preferred source (`src` in `ip route`).
    RoutePrefsrc,
    /// IPv4: a primary address of the output device (`inet_select_addr`).
    V4Device {
        /// The output device.
        dev: String,
        /// The gateway whose subnet the address covers, when that decided it; `None`: the
        /// device's first primary address of a scope the route allows.
        gateway_subnet: Option<IpAddr>,
    },
    /// IPv4: the output device has no usable address; the first primary, non-link-scope
    /// address of another device (lo first, then in listed order).
    V4OtherDevice {
        /// The output device, which had none.
        out_dev: String,
        /// The device the address is on.
        dev: String,
    },
    /// IPv6: the rule of `ipv6_dev_get_saddr` that put this address above the others.
    V6Rule {
        /// The deciding rule.
        rule: V6Rule,
        /// The address that came closest (lost only at `rule`), if any other was a
        /// candidate.
        runner_up: Option<IpAddr>,
        /// Every other candidate with the rule it lost at (`ListOrder`: it tied on all),
        /// in the order the kernel met them.
        beaten: Vec<(IpAddr, V6Rule)>,
        /// The device the chosen address is on.
        dev: String,
    },
    /// No address could be chosen: IPv4 sends from 0.0.0.0, IPv6 fails
    /// (`EADDRNOTAVAIL`).
    NoAddress,
    /// The host's addresses were not given: the source cannot be known.
    AddressesUnknown,
    /// The socket cannot send at all.
    Failed(SourceFailure),
}

/// The rules of Linux's IPv6 source address selection (`IPV6_SADDR_RULE_*`), in the
/// kernel's order; RFC 6724 section 5 numbers in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum V6Rule {
    /// \[1\] Prefer the destination address itself.
    SameAddress,
    /// \[2\] Prefer the smallest scope that reaches the destination.
    Scope,
    /// \[3\] Avoid deprecated (and optimistic) addresses.
    AvoidDeprecated,
    /// \[5\] Prefer an address of the outgoing interface.
    OutgoingInterface,
    /// \[6\] Prefer an address whose policy label matches the destination's.
    Label,
    /// \[7\] Prefer public addresses, or temporary ones when `use_tempaddr >= 2`.
    Privacy {
        /// Temporary addresses were preferred (`use_tempaddr >= 2`).
        prefer_temporary: bool,
    },
    /// ORCHID addresses only toward ORCHID destinations.
    Orchid,
    /// \[8\] The longest prefix in common with the destination (up to the address's own
    /// prefix length).
    LongestPrefix,
    /// Prefer an address that is not optimistic.
    NotOptimistic,
    /// Every rule tied: the first listed candidate is kept.
    ListOrder,
    /// The only candidate.
    OnlyCandidate,
}

/// Why a socket cannot send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFailure {
    /// `bind()` to an address this host does not have: `EADDRNOTAVAIL` ("Cannot assign
    /// requested address").
    AddressNotAvailable(IpAddr),
    /// Bound to a device the host does not have (`ENODEV`).
    NoSuchDevice(String),
    /// Bound to a device that is down: IPv4 `ENETUNREACH`.
    DeviceDown(String),
    /// A link-local or link-scope multicast destination with no device to say which link
    /// (`EINVAL`: it needs `%dev` or `-I dev`).
    NeedsDevice,
    /// The route lookup failed (no route: `ENETUNREACH`, an unreachable route,
    /// `EHOSTUNREACH`, ...).
    Route(RoutingFailure),
}

/// Things the choice assumed, and what the sending program will say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceNote {
    /// iputils `ping -I DEV` prints "Warning: source address might be selected on device
    /// other than: DEV": the source its probe socket got is not one of DEV's addresses.
    PingOtherDeviceWarning {
        /// The device named by `-I`.
        dev: String,
    },
    /// A socket bound to `dev` found no route (or an error route): IPv4 assumes the
    /// destination is on that link and sends there anyway.
    OnLinkAssumed {
        /// The bound device.
        dev: String,
    },
    /// A sysctl was not given: its kernel default was used.
    SysctlDefault {
        /// The sysctl (`net.ipv6.conf.wlan0.use_tempaddr`).
        key: String,
        /// The value used.
        value: String,
    },
    /// The routes had no local table for this family: the kernel's implicit local routes
    /// were derived from the host's addresses.
    LocalRoutesFromAddresses {
        /// For IPv6.
        v6: bool,
    },
    /// The host's routes were not given: only the subnets of its addresses are routed.
    RoutesUnknown,
    /// The address label policy decided: `ip addrlabel` is not read, the kernel's default
    /// table was used.
    DefaultAddressLabels,
}

/// The source address and output device the kernel picks for a packet to `dst` sent by a
/// socket bound as `bind` says.
pub fn select_source(host: &Host, dst: IpAddr, bind: &Bind) -> SourceChoice {
    let mut cx = Selection {
        host,
        notes: Vec::new(),
    };
    let mut choice = match dst {
        IpAddr::V4(d) => cx.v4(d, bind),
        IpAddr::V6(d) => cx.v6(d, bind),
    };
    if let Bind::Device(dev) = bind {
        let sent = !matches!(choice.reason, SourceReason::Failed(_));
        let on_dev = choice.addr.is_some_and(|a| {
            host.interface(dev)
                .is_some_and(|i| i.addrs.iter().any(|x| x.addr == a))
        });
        // IPv4 sends from 0.0.0.0 when no address exists (and ping warns); IPv6 fails first.
        let warns = sent && !on_dev && (choice.addr.is_some() || dst.is_ipv4());
        if warns && host.known.addresses {
            cx.notes
                .push(SourceNote::PingOtherDeviceWarning { dev: dev.clone() });
        }
    }
    choice.notes = cx.notes;
    choice
}

struct Selection<'h> {
    host: &'h Host,
    notes: Vec<SourceNote>,
}

/// A choice without an address: the socket cannot send.
fn failed(f: SourceFailure) -> SourceChoice {
    SourceChoice {
        addr: None,
        oif: None,
        gateway: None,
        route: None,
        reason: SourceReason::Failed(f),
        notes: Vec::new(),
    }
}

impl Selection<'_> {
    /// Records `n` once.
    fn note(&mut self, n: SourceNote) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// The first of `keys` given, else `default` (the kernel's), noted as assumed.
    fn sysctl(&mut self, keys: &[String], default: i64) -> i64 {
        for k in keys {
            if let Some(v) = self.host.sysctls.get(k).and_then(|v| v.trim().parse().ok()) {
                return v;
            }
        }
        self.note(SourceNote::SysctlDefault {
            key: keys[0].clone(),
            value: default.to_string(),
        });
        default
    }

    /// The route lookup, with what it assumed noted.
    fn lookup(
        &mut self,
        dst: IpAddr,
        src: Option<IpAddr>,
        oif: Option<&str>,
    ) -> Result<Hit, RoutingFailure> {
        let found = output_lookup(self.host, dst, src, oif);
        if found.synthesized_local {
            self.note(SourceNote::LocalRoutesFromAddresses { v6: dst.is_ipv6() });
        }
        if !self.host.known.routes {
            self.note(SourceNote::RoutesUnknown);
        }
        found.result
    }

    /// `bind()`: the address must be local (`inet_bind`: a local-table address;
    /// `inet6_bind`: an assigned, non-tentative address).
    fn bound_address_ok(&self, a: IpAddr) -> Option<bool> {
        match a {
            IpAddr::V4(_) => addr_type_known(self.host, a, None).map(|t| t == rtn::LOCAL),
            IpAddr::V6(_) => self.host.known.addresses.then(|| {
                self.host.interfaces.iter().any(|i| {
                    i.addrs.iter().any(|x| {
                        x.addr == a && matches!(x.dad, DadState::Done | DadState::Optimistic)
                    })
                })
            }),
        }
    }

    /// Common checks of a bound socket: the choice that ends it, if it cannot bind.
    fn bind_refused(&mut self, bind: &Bind) -> Option<SourceChoice> {
        match bind {
            Bind::None => None,
            Bind::Address(a) => match self.bound_address_ok(*a) {
                Some(true) => None,
                Some(false) => Some(failed(SourceFailure::AddressNotAvailable(*a))),
                None => Some(SourceChoice {
                    reason: SourceReason::AddressesUnknown,
                    ..failed(SourceFailure::AddressNotAvailable(*a))
                }),
            },
            Bind::Device(d) => (self.host.known.addresses && self.host.interface(d).is_none())
                .then(|| failed(SourceFailure::NoSuchDevice(d.clone()))),
        }
    }

    // -----------------------------------------------------------------------------------
    // IPv4

    fn v4(&mut self, dst: Ipv4Addr, bind: &Bind) -> SourceChoice {
        let host = self.host;
        if let Some(c) = self.bind_refused(bind) {
            return c;
        }
        let d = IpAddr::V4(dst);
        match bind {
            Bind::Address(a) if dst.is_multicast() || dst.is_broadcast() => {
                // No lookup: out of the device that has the address.
                let oif = host.owner_of(*a).map(|i| i.name.clone());
                SourceChoice {
                    addr: Some(*a),
                    oif,
                    gateway: None,
                    route: None,
                    reason: SourceReason::Bound,
                    notes: Vec::new(),
                }
            }
            Bind::Address(a) => match self.lookup(d, Some(*a), None) {
                Ok(hit) => self.routed(hit, Some(*a), SourceReason::Bound),
                Err(f) => failed(SourceFailure::Route(f)),
            },
            Bind::Device(dev) => {
                if host.interface(dev).is_some_and(|i| !i.up) {
                    return failed(SourceFailure::DeviceDown(dev.clone()));
                }
                // Link-local multicast and limited broadcast go out of the bound device
                // without a lookup.
                if dst.is_broadcast() || dst.octets()[..3] == [224, 0, 0] {
                    return self.v4_on_link(dev, None);
                }
                // Other multicast: the device's address is chosen before the lookup.
                let early = dst
                    .is_multicast()
                    .then(|| self.inet_select_addr(dev, None, scope_number(Scope::Universe)));
                let mut choice = match self.lookup(d, None, Some(dev)) {
                    Ok(hit) => self.v4_routed(hit, d),
                    Err(_) => {
                        self.note(SourceNote::OnLinkAssumed { dev: dev.clone() });
                        self.v4_on_link(dev, None)
                    }
                };
                // None found then: the steps after the lookup choose as for any other.
                if let Some((Some(addr), reason)) = early {
                    choice.addr = Some(addr);
                    choice.reason = reason;
                }
                choice
            }
            Bind::None => match self.lookup(d, None, None) {
                Ok(hit) => self.v4_routed(hit, d),
                Err(f) => failed(SourceFailure::Route(f)),
            },
        }
    }

    /// A route found with no source bound: the local route's source, the route's `src`,
    /// or `inet_select_addr` on its device toward its gateway with the route's scope.
    fn v4_routed(&mut self, hit: Hit, dst: IpAddr) -> SourceChoice {
        if hit.route.route_type == RouteType::Local {
            let (addr, reason) = match hit.route.prefsrc {
                Some(p) => (p, SourceReason::RoutePrefsrc),
                None => (dst, SourceReason::LocalDestination),
            };
            return self.routed(hit, Some(addr), reason);
        }
        if let Some(p) = hit.route.prefsrc {
            return self.routed(hit, Some(p), SourceReason::RoutePrefsrc);
        }
        let Some(dev) = hit.route.dev_name().map(str::to_string) else {
            return self.routed(hit, None, SourceReason::NoAddress);
        };
        let gateway = hit.route.first_gateway();
        let scope = scope_number(hit.route.scope);
        let (addr, reason) = self.inet_select_addr(&dev, gateway, scope);
        self.routed(hit, addr, reason)
    }

    /// Sent on-link from `dev` without a route: `inet_select_addr(dev, 0, RT_SCOPE_LINK)`.
    fn v4_on_link(&mut self, dev: &str, route: Option<usize>) -> SourceChoice {
        let (addr, reason) = self.inet_select_addr(dev, None, scope_number(Scope::Link));
        SourceChoice {
            addr,
            oif: Some(dev.to_string()),
            gateway: None,
            route,
            reason,
            notes: Vec::new(),
        }
    }

    /// `inet_select_addr`: on `dev`, primary addresses whose scope is within `scope`
    /// (host-scope ones count as link scope with `route_localnet`), the first in the
    /// gateway's subnet, else the first; then any device's first primary address that is
    /// not link scope and within `scope`, loopback first.
    fn inet_select_addr(
        &mut self,
        dev: &str,
        gateway: Option<IpAddr>,
        scope: u8,
    ) -> (Option<IpAddr>, SourceReason) {
        let host = self.host;
        if !host.known.addresses {
            return (None, SourceReason::AddressesUnknown);
        }
        // Only a host-scope address makes `route_localnet` matter.
        let has_host_scope = host
            .interface(dev)
            .is_some_and(|i| v4_addrs(i).any(|a| a.scope == Scope::Host));
        let localnet = has_host_scope
            && self.sysctl(
                &[
                    format!("net.ipv4.conf.{}.route_localnet", dev.replace('.', "/")),
                    "net.ipv4.conf.all.route_localnet".to_string(),
                ],
                0,
            ) != 0;
        let localnet_scope = if localnet {
            scope_number(Scope::Link)
        } else {
            scope_number(Scope::Host)
        };
        if let Some(iface) = host.interface(dev) {
            let usable = v4_addrs(iface)
                .filter(|a| !a.secondary && scope_number(a.scope).min(localnet_scope) <= scope);
            let mut first = None;
            for a in usable {
                if let Some(gw) = gateway.filter(|gw| a.network().contains(gw)) {
                    return (
                        Some(a.addr),
                        SourceReason::V4Device {
                            dev: dev.to_string(),
                            gateway_subnet: Some(gw),
                        },
                    );
                }
                first = first.or(Some(a.addr));
            }
            if let Some(a) = first {
                return (
                    Some(a),
                    SourceReason::V4Device {
                        dev: dev.to_string(),
                        gateway_subnet: None,
                    },
                );
            }
        }
        let link = scope_number(Scope::Link);
        for iface in devices_in_kernel_order(host) {
            let found = v4_addrs(iface).find(|a| {
                let s = scope_number(a.scope);
                !a.secondary && s != link && s <= scope
            });
            if let Some(a) = found {
                return (
                    Some(a.addr),
                    SourceReason::V4OtherDevice {
                        out_dev: dev.to_string(),
                        dev: iface.name.clone(),
                    },
                );
            }
        }
        (None, SourceReason::NoAddress)
    }

    /// The choice for a route found: the device it leaves by (`lo` when local).
    fn routed(&self, hit: Hit, addr: Option<IpAddr>, reason: SourceReason) -> SourceChoice {
        let local = hit.route.route_type == RouteType::Local;
        let oif = if local {
            Some(
                self.host
                    .interfaces
                    .iter()
                    .find(|i| i.link == LinkType::Loopback)
                    .map_or_else(|| "lo".to_string(), |i| i.name.clone()),
            )
        } else {
            hit.route.dev_name().map(str::to_string)
        };
        SourceChoice {
            addr,
            oif,
            gateway: if local {
                None
            } else {
                hit.route.first_gateway()
            },
            route: hit.index,
            reason,
            notes: Vec::new(),
        }
    }

    // -----------------------------------------------------------------------------------
    // IPv6

    fn v6(&mut self, dst: Ipv6Addr, bind: &Bind) -> SourceChoice {
        if let Some(c) = self.bind_refused(bind) {
            return c;
        }
        let d = IpAddr::V6(dst);
        let (src, oif) = match bind {
            // Connecting to a link-local destination needs the socket bound to a device.
            Bind::None | Bind::Address(_) if needs_scope_id(dst) => {
                return failed(SourceFailure::NeedsDevice)
            }
            Bind::None => (None, None),
            Bind::Device(dev) => (None, Some(dev.as_str())),
            Bind::Address(a) => (Some(*a), None),
        };
        let hit = match self.lookup(d, src, oif) {
            Ok(hit) => hit,
            Err(f) => return failed(SourceFailure::Route(f)),
        };
        if let Some(a) = src {
            return self.routed(hit, Some(a), SourceReason::Bound);
        }
        if let Some(p) = hit.route.prefsrc {
            return self.routed(hit, Some(p), SourceReason::RoutePrefsrc);
        }
        let dev = hit.route.dev_name().map(str::to_string);
        let (addr, reason) = self.ipv6_dev_get_saddr(dev.as_deref(), dst);
        self.routed(hit, addr, reason)
    }

    /// `ipv6_dev_get_saddr`: the best candidate by the rules in order; the first listed
    /// among equals.
    fn ipv6_dev_get_saddr(
        &mut self,
        dst_dev: Option<&str>,
        dst: Ipv6Addr,
    ) -> (Option<IpAddr>, SourceReason) {
        let host = self.host;
        if !host.known.addresses {
            return (None, SourceReason::AddressesUnknown);
        }
        let dst_scope = v6_scope(dst);
        let oif_only = dst_dev.is_some_and(|dev| {
            dst.is_multicast()
                || dst_scope <= SCOPE_LINK
                || self.sysctl(&[v6_conf(dev, "use_oif_addrs_only")], 0) != 0
        });
        let devices: Vec<&Interface> = if oif_only {
            host.interfaces
                .iter()
                .filter(|i| Some(i.name.as_str()) == dst_dev)
                .collect()
        } else {
            devices_in_kernel_order(host)
        };
        let dst_label = label(dst);
        let mut scored: Vec<(Vec<i32>, &Interface, &IfAddr)> = Vec::new();
        for iface in devices.iter().copied() {
            for a in iface.addrs.iter() {
                let IpAddr::V6(addr) = a.addr else { continue };
                if matches!(a.dad, DadState::Tentative | DadState::Failed)
                    || addr.is_unspecified()
                    || addr.is_multicast()
                {
                    continue;
                }
                let score = self.v6_score(iface, a, addr, dst, dst_dev, dst_scope, dst_label);
                scored.push((score, iface, a));
            }
        }
        let candidate_devices: Vec<&Interface> = devices
            .iter()
            .copied()
            .filter(|i| scored.iter().any(|(_, d, _)| d.name == i.name))
            .collect();
        self.note_use_tempaddr_defaults(&candidate_devices);
        // The kernel replaces its best only on a strictly better candidate.
        let Some(best) = scored
            .iter()
            .enumerate()
            .rev()
            .max_by(|(_, x), (_, y)| x.0.cmp(&y.0))
            .map(|(i, _)| i)
        else {
            return (None, SourceReason::NoAddress);
        };
        let (win_score, win_iface, win) = &scored[best];
        // The deciding rule: the latest one at which the winner beat another candidate.
        let mut decided: Option<(usize, IpAddr)> = None;
        let mut all_tied = false;
        let mut beaten = Vec::new();
        for (i, (score, _, a)) in scored.iter().enumerate() {
            if i == best {
                continue;
            }
            match win_score.iter().zip(score).position(|(w, s)| w != s) {
                Some(r) => {
                    if decided.is_none_or(|(d, _)| r > d) {
                        decided = Some((r, a.addr));
                    }
                    beaten.push((a.addr, self.rule_at(r, win_iface)));
                }
                None => {
                    all_tied = true;
                    beaten.push((a.addr, V6Rule::ListOrder));
                }
            }
        }
        let (rule, runner_up) = if scored.len() == 1 {
            (V6Rule::OnlyCandidate, None)
        } else if all_tied {
            (V6Rule::ListOrder, None)
        } else {
            let (r, a) = decided.expect("another candidate");
            (self.rule_at(r, win_iface), Some(a))
        };
        if rule == V6Rule::Label {
            self.note(SourceNote::DefaultAddressLabels);
        }
        (
            Some(win.addr),
            SourceReason::V6Rule {
                rule,
                runner_up,
                beaten,
                dev: win_iface.name.clone(),
            },
        )
    }

    /// The rule at position `i` of [`Selection::v6_score`].
    fn rule_at(&self, i: usize, win_iface: &Interface) -> V6Rule {
        match i {
            0 => V6Rule::SameAddress,
            1 => V6Rule::Scope,
            2 => V6Rule::AvoidDeprecated,
            3 => V6Rule::OutgoingInterface,
            4 => V6Rule::Label,
            5 => V6Rule::Privacy {
                prefer_temporary: self.use_tempaddr_known(&win_iface.name) >= 2,
            },
            6 => V6Rule::Orchid,
            7 => V6Rule::LongestPrefix,
            _ => V6Rule::NotOptimistic,
        }
    }

    fn use_tempaddr_known(&self, dev: &str) -> i64 {
        [
            v6_conf(dev, "use_tempaddr"),
            v6_conf("default", "use_tempaddr"),
        ]
        .iter()
        .find_map(|k| self.host.sysctls.get(k).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
    }

    /// `ipv6_get_saddr_eval` for every rule, in order: higher is better.
    #[allow(clippy::too_many_arguments)]
    fn v6_score(
        &mut self,
        iface: &Interface,
        a: &IfAddr,
        addr: Ipv6Addr,
        dst: Ipv6Addr,
        dst_dev: Option<&str>,
        dst_scope: i32,
        dst_label: u32,
    ) -> Vec<i32> {
        let scope = v6_scope(addr);
        let scope_score = if scope >= dst_scope {
            -scope
        } else {
            scope - 128
        };
        let optimistic = a.dad == DadState::Optimistic;
        let use_optimistic = optimistic && {
            let dev = iface.name.as_str();
            let on = |me: &mut Self, name: &str| {
                me.sysctl(&[v6_conf("all", name)], 0) != 0
                    || me.sysctl(&[v6_conf(dev, name)], 0) != 0
            };
            on(self, "optimistic_dad") && on(self, "use_optimistic")
        };
        let avoided = a.deprecated || (optimistic && !use_optimistic);
        let preferred = addr.is_loopback() || is_v4_mapped_or_compat(addr) || !avoided;
        // Per candidate device, whether or not any temporary address exists: with
        // use_tempaddr >= 2 a device's public addresses lose rule 7 to other devices'.
        let prefer_temporary = self.use_tempaddr_known(&iface.name) >= 2;
        let common = (u128::from(addr) ^ u128::from(dst)).leading_zeros() as i32;
        vec![
            i32::from(addr == dst),
            scope_score,
            i32::from(preferred),
            i32::from(dst_dev.is_none_or(|d| d == iface.name)),
            i32::from(label(addr) == dst_label),
            i32::from(a.temporary == prefer_temporary),
            i32::from(is_orchid(addr) == is_orchid(dst)),
            common.min(i32::from(a.prefix_len)),
            i32::from(!optimistic),
        ]
    }

    /// Notes the `use_tempaddr` defaults taken for candidate devices, when the value could
    /// have decided: a temporary address exists, or another device has it at 2 or more.
    fn note_use_tempaddr_defaults(&mut self, devices: &[&Interface]) {
        let given = |me: &Self, dev: &str| {
            [
                v6_conf(dev, "use_tempaddr"),
                v6_conf("default", "use_tempaddr"),
            ]
            .iter()
            .any(|k| me.host.sysctls.is_set(k))
        };
        let temporary = self
            .host
            .interfaces
            .iter()
            .any(|i| i.addrs.iter().any(|a| a.temporary));
        let some_prefer = devices
            .iter()
            .any(|i| self.use_tempaddr_known(&i.name) >= 2);
        if !(temporary || some_prefer) {
            return;
        }
        for i in devices {
            if !given(self, &i.name) {
                self.note(SourceNote::SysctlDefault {
                    key: v6_conf(&i.name, "use_tempaddr"),
                    value: "0".into(),
                });
            }
        }
    }
}

/// The kernel's scope numbers (`RT_SCOPE_*`).
fn scope_number(s: Scope) -> u8 {
    match s {
        Scope::Universe => 0,
        Scope::Site => 200,
        Scope::Link => 253,
        Scope::Host => 254,
        Scope::Nowhere => 255,
        Scope::Other(n) => n,
    }
}

fn v4_addrs(iface: &Interface) -> impl Iterator<Item = &IfAddr> {
    iface.addrs.iter().filter(|a| a.addr.is_ipv4())
}

/// `for_each_netdev`: devices in registration order, which `ip addr` lists them in (the
/// loopback device first).
fn devices_in_kernel_order(host: &Host) -> Vec<&Interface> {
    let mut devs: Vec<&Interface> = host.interfaces.iter().collect();
    devs.sort_by_key(|i| i.link != LinkType::Loopback);
    devs
}

fn v6_conf(dev: &str, name: &str) -> String {
    format!("net.ipv6.conf.{}.{name}", dev.replace('.', "/"))
}

const SCOPE_LINK: i32 = 0x2;

/// `__ipv6_addr_src_scope(__ipv6_addr_type(a))`: multicast carries its scope; fe80::/10
/// link (2), fec0::/10 site (5), ::1 link (the kernel types loopback as link scope),
/// everything else global (14), ULAs included.
fn v6_scope(a: Ipv6Addr) -> i32 {
    let s = a.segments();
    if a.is_multicast() {
        return i32::from(s[0] & 0xf);
    }
    if s[0] & 0xffc0 == 0xfe80 || a.is_loopback() {
        return SCOPE_LINK;
    }
    if s[0] & 0xffc0 == 0xfec0 {
        return 0x5;
    }
    0xe
}

/// A destination that needs a device to say which link (`__ipv6_addr_needs_scope_id`).
fn needs_scope_id(a: Ipv6Addr) -> bool {
    let s = a.segments();
    s[0] & 0xffc0 == 0xfe80 || (a.is_multicast() && (s[0] & 0xf) <= 0x2)
}

fn is_v4_mapped_or_compat(a: Ipv6Addr) -> bool {
    let s = a.segments();
    s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && u128::from(a) > 1))
}

/// ORCHID (2001:10::/28).
fn is_orchid(a: Ipv6Addr) -> bool {
    (u128::from(a) >> 100) == 0x2001_0010 >> 4
}

/// The default address label policy (`ip6addrlbl_init_table`), longest prefix first.
fn label(a: Ipv6Addr) -> u32 {
    const TABLE: [(u128, u8, u32); 10] = [
        (1, 128, 0),                // ::1/128
        (0xffff_0000_0000, 96, 4),  // ::ffff:0:0/96
        (0, 96, 3),                 // ::/96
        (0x2001_0000 << 96, 32, 6), // 2001::/32
        (0x2001_0010 << 96, 28, 7), // 2001:10::/28
        (0x2002 << 112, 16, 2),     // 2002::/16
        (0x3ffe << 112, 16, 12),    // 3ffe::/16
        (0xfec0 << 112, 10, 11),    // fec0::/10
        (0xfc00 << 112, 7, 5),      // fc00::/7
        (0, 0, 1),                  // ::/0
    ];
    let x = u128::from(a);
    TABLE
        .iter()
        .find(|(net, len, _)| *len == 0 || (x ^ net) >> (128 - u32::from(*len)) == 0)
        .map_or(1, |(_, _, l)| *l)
}
