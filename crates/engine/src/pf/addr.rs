//! Addresses and interfaces as pf rules name them, resolved against the host.
//!
//! - `on IF` (`pfi_kif_match`): the interface itself, or a group it is a member of. Every
//!   interface is in the group `all` and in its driver's group (its name without the unit
//!   number: `em0` in `em`, `lo0` in `lo`, `ifconfig(8)` "group"); `egress` holds the
//!   interfaces of the default routes (`ifconfig(8)`). Group names cannot end in a digit
//!   (`ifconfig(8)`), so a name that does is an interface. Other groups are set by the
//!   administrator: membership unknown.
//! - `(if)`, `if`, `self` (`pfi_dynaddr`, `pfctl`'s `ifa_lookup`): the interface's
//!   addresses (`:network` its networks, `:broadcast` its broadcast addresses, `:0` its first
//!   address); `self` every address of the host. Without the host's addresses: Unknown.
//! - `<table>` (`pfr_match_addr`): the longest matching prefix of the table decides; a
//!   negated entry (`!10.1.0.0/16`) that is the longest match means "not in the table".
//!   A table filled at run time (`persist` without entries, `file "…"`) is Unknown unless
//!   its contents were given.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use model::expr::{Undecidable, Unmodelled};
use model::pf::{AddrSpec, DynamicModifier, Host as PfHost, Table, TableEntry};
use model::Host;

/// A test's outcome: decided, or depending on something not given.
pub type Tri = Result<bool, Undecidable>;

/// What a table holds as far as the input tells.
#[derive(Debug, Clone, PartialEq)]
pub enum TableContents {
    /// Exactly these entries.
    Known(Vec<TableEntry>),
    /// Filled at run time or from a file not given.
    Unknown,
}

impl TableContents {
    /// The contents a `table` statement gives: its inline entries, unless a file or
    /// `persist` without entries leaves them to run time.
    pub fn of(table: &Table) -> TableContents {
        if !table.files.is_empty() || (table.persist && table.entries.is_empty()) {
            TableContents::Unknown
        } else {
            TableContents::Known(table.entries.clone())
        }
    }
}

/// The host facts rules refer to.
#[derive(Debug, Clone, Copy)]
pub struct Resolver<'h> {
    /// The host, when described; its `known` flags say which parts are real.
    pub host: Option<&'h Host>,
    /// Tables by name.
    pub tables: &'h HashMap<String, TableContents>,
}

/// A construct whose outcome the pass cannot know, named as written.
pub(super) fn unmodelled(name: String) -> Undecidable {
    Undecidable::Unsupported(Unmodelled {
        name,
        needs_conntrack: false,
    })
}

/// Drivers of the BSDs and illumos whose names are their interfaces' groups (OpenBSD
/// `ifconfig(8)`: "interfaces are members of the group named after the driver"); a group
/// of that name holds that driver's interfaces only.
fn is_driver_group(name: &str) -> bool {
    matches!(
        name,
        "lo" | "em"
            | "igb"
            | "igc"
            | "ix"
            | "ixl"
            | "re"
            | "rge"
            | "bge"
            | "bnx"
            | "vio"
            | "vmx"
            | "xnf"
            | "hvn"
            | "fxp"
            | "dc"
            | "sis"
            | "vr"
            | "ure"
            | "axe"
            | "axen"
            | "cdce"
            | "iwm"
            | "iwx"
            | "athn"
            | "ral"
            | "run"
            | "urtwn"
            | "vlan"
            | "carp"
            | "pflog"
            | "pfsync"
            | "enc"
            | "gif"
            | "gre"
            | "tun"
            | "tap"
            | "wg"
            | "bridge"
            | "veb"
            | "vport"
            | "trunk"
            | "aggr"
            | "lagg"
            | "pppoe"
            | "ppp"
            | "mpe"
            | "vxlan"
            | "vether"
            | "bpe"
            | "egre"
            | "eoip"
            | "nvgre"
            | "sec"
            | "vtnet"
            | "xn"
            | "epair"
            | "bce"
            | "bxe"
            | "cxgbe"
            | "mlxen"
            | "mce"
            | "ql"
            | "ena"
            | "e1000g"
            | "ixgbe"
            | "vioif"
            | "vnic"
    )
}

/// The driver group of an interface: its name without the unit number.
fn driver_group(interface: &str) -> &str {
    interface.trim_end_matches(|c: char| c.is_ascii_digit())
}

impl Resolver<'_> {
    fn addresses_known(&self) -> Option<&Host> {
        self.host.filter(|h| h.known.addresses)
    }

    /// Whether `interface` is `name` or in group `name` (`pfi_kif_match`).
    pub fn interface_matches(&self, name: &str, interface: &str) -> Tri {
        if name == interface || name == "all" || name == "any" {
            return Ok(true);
        }
        if name.ends_with(|c: char| c.is_ascii_digit()) {
            return Ok(false);
        }
        if name == driver_group(interface) {
            return Ok(true);
        }
        if name == "egress" {
            return match self.host.filter(|h| h.known.routes) {
                Some(h) => Ok(h
                    .routes
                    .iter()
                    .any(|r| r.dst.prefix_len() == 0 && r.dev.as_deref() == Some(interface))),
                None => Err(Undecidable::RoutesUnknown),
            };
        }
        if is_driver_group(name)
            || self
                .host
                .is_some_and(|h| h.interfaces.iter().any(|i| driver_group(&i.name) == name))
        {
            // A driver's group holds that driver's interfaces only.
            return Ok(false);
        }
        Err(unmodelled(format!("on {name}")))
    }

    /// The networks `(name:modifier)` stands for, of `addr`'s family.
    fn interface_networks(
        &self,
        name: &str,
        modifier: DynamicModifier,
        family_of: IpAddr,
    ) -> Result<Vec<IpNet>, Undecidable> {
        let host = self
            .addresses_known()
            .ok_or(Undecidable::AddressTypeUnknown)?;
        let mut nets = Vec::new();
        for iface in &host.interfaces {
            let member = if name == "self" {
                true
            } else {
                self.interface_matches(name, &iface.name)?
            };
            if !member {
                continue;
            }
            let addrs = iface
                .addrs
                .iter()
                .filter(|a| a.addr.is_ipv4() == family_of.is_ipv4());
            for (i, a) in addrs.enumerate() {
                // `:0`: the first address only, no aliases.
                if modifier.no_alias() && i > 0 {
                    break;
                }
                let net = match modifier {
                    DynamicModifier::None | DynamicModifier::NoAlias => {
                        IpNet::new(a.addr, max_prefix(a.addr))
                    }
                    DynamicModifier::Network | DynamicModifier::NetworkNoAlias => {
                        IpNet::new(a.addr, a.prefix_len).map(|n| n.trunc())
                    }
                    DynamicModifier::Broadcast | DynamicModifier::BroadcastNoAlias => {
                        match (a.broadcast, a.addr) {
                            (Some(b), _) => IpNet::new(b, max_prefix(b)),
                            (None, IpAddr::V4(_)) => IpNet::new(a.addr, a.prefix_len)
                                .map(|n| n.broadcast())
                                .and_then(|b| IpNet::new(b, 32)),
                            (None, IpAddr::V6(_)) => continue,
                        }
                    }
                    DynamicModifier::Peer | DynamicModifier::PeerNoAlias => {
                        return Err(unmodelled(format!("({name}:peer)")));
                    }
                };
                if let Ok(net) = net {
                    nets.push(net);
                }
            }
        }
        Ok(nets)
    }

    /// Whether `host` (without its negation) covers `addr`.
    pub fn host_matches(&self, host: &PfHost, addr: IpAddr) -> Tri {
        match host {
            PfHost::Any => Ok(true),
            PfHost::Network { addr: net, prefix } => Ok(net.is_ipv4() == addr.is_ipv4()
                && IpNet::new(*net, *prefix).is_ok_and(|n| n.contains(&addr))),
            PfHost::Range(lo, hi) => {
                Ok(lo.is_ipv4() == addr.is_ipv4() && *lo <= addr && addr <= *hi)
            }
            PfHost::Dynamic {
                interface,
                modifier,
                prefix,
                ..
            } => {
                let nets = self.interface_networks(interface, *modifier, addr)?;
                Ok(nets.iter().any(|n| {
                    let n = prefix
                        .and_then(|p| IpNet::new(n.addr(), p).ok())
                        .map_or(*n, |n| n.trunc());
                    n.contains(&addr)
                }))
            }
            PfHost::InterfaceName { name, modifier } => {
                let nets = self.interface_networks(name, *modifier, addr)?;
                Ok(nets.iter().any(|n| n.contains(&addr)))
            }
            PfHost::Table(name) => self.table_contains(name, addr),
            PfHost::NoRoute => self.no_route(addr),
            PfHost::UrpfFailed | PfHost::RouteLabel(_) => Err(Undecidable::RoutesUnknown),
            PfHost::Name(name) => Err(unmodelled(name.clone())),
        }
    }

    /// `from`/`to` with its negation (`PF_MISMATCHAW`).
    pub fn spec_matches(&self, spec: &AddrSpec, addr: IpAddr) -> Tri {
        self.host_matches(&spec.host, addr)
            .map(|m| m != spec.negated)
    }

    /// `pfr_match_addr`: the longest matching prefix decides, a negated one excludes.
    fn table_contains(&self, name: &str, addr: IpAddr) -> Tri {
        let entries = match self.tables.get(name) {
            Some(TableContents::Known(entries)) => entries,
            _ => return Err(Undecidable::SetUndefined(name.to_string())),
        };
        let mut best: Option<(u8, bool)> = None;
        for entry in entries {
            let nets = match &entry.host {
                PfHost::Network { addr: net, prefix } => IpNet::new(*net, *prefix)
                    .map(|n| vec![n])
                    .unwrap_or_default(),
                PfHost::InterfaceName { name, modifier } => {
                    self.interface_networks(name, *modifier, addr)?
                }
                PfHost::Dynamic {
                    interface,
                    modifier,
                    ..
                } => self.interface_networks(interface, *modifier, addr)?,
                _ => return Err(unmodelled(format!("<{name}>"))),
            };
            for net in nets {
                if net.contains(&addr) && best.is_none_or(|(len, _)| net.prefix_len() > len) {
                    best = Some((net.prefix_len(), entry.negated));
                }
            }
        }
        Ok(matches!(best, Some((_, false))))
    }

    /// `no-route`: the address has no route in the host's tables.
    fn no_route(&self, addr: IpAddr) -> Tri {
        let host = self
            .host
            .filter(|h| h.known.routes)
            .ok_or(Undecidable::RoutesUnknown)?;
        Ok(!host.routes.iter().any(|r| r.dst.contains(&addr)))
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}
