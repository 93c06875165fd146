//! What pfctl reads from the host while it parses: interfaces and their addresses
//! (`lo0`, `(em0:network)`, `self`), host names, users and groups, and the files that
//! `include` names.
//!
//! pfctl resolves an interface name written without parentheses when it loads the
//! rules; without the host's interfaces that name stays a name in the ruleset
//! ([`model::pf::Host::InterfaceName`]), never guessed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

/// One interface as `ifconfig` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name (`em0`).
    pub name: String,
    /// Its groups (`egress`, `lo`), besides the name without its unit number, which
    /// is always one.
    pub groups: Vec<String>,
    /// Its addresses with their prefix lengths, in `ifconfig`'s order.
    pub addresses: Vec<(IpAddr, u8)>,
    /// Whether it is point-to-point (it has peers, not a broadcast address).
    pub point_to_point: bool,
}

/// The host as pfctl sees it while it parses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// The interfaces.
    pub interfaces: Vec<Interface>,
    /// Host names and their addresses (`/etc/hosts`).
    pub hosts: HashMap<String, Vec<IpAddr>>,
    /// User names and ids (`/etc/passwd`).
    pub users: HashMap<String, u32>,
    /// Group names and ids (`/etc/group`).
    pub groups: HashMap<String, u32>,
    /// Files `include` and `load anchor` may read, by the name they are given.
    pub files: HashMap<String, String>,
    /// Macros given on pfctl's command line (`-D name=value`): they win over the
    /// file's own definitions of the same name.
    pub defines: HashMap<String, String>,
    /// Read offline without the host's `/etc/passwd` and `/etc/group`: a user or group
    /// name missing from `users`/`groups` is accepted (and listed by
    /// [`super::parse_offline`]) instead of being the error pfctl's failed `getpwnam`
    /// gives.
    pub unknown_names_allowed: bool,
}

/// Whether a name is a user's or a group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// `user NAME`.
    User,
    /// `group NAME`.
    Group,
}

/// A user or group name read without the host's passwd or group file, so without its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedName {
    /// A user's or a group's.
    pub kind: IdKind,
    /// The name as written.
    pub name: String,
    /// The file it is written in.
    pub file: String,
    /// Its line there (1-based).
    pub line: u32,
}

/// The id a rule holds for an [`UnresolvedName`]. The pf engine's `user`/`group` test
/// never depends on its value for the packets whyblocked builds: a packet going in or
/// sent by this host has no socket owner given (Unknown), and a forwarded one is owned
/// by `UID_MAX`, which this is not.
pub const UNRESOLVED_ID: u32 = u32::MAX - 1;

impl Env {
    /// OpenBSD's regress environment of `regress/sbin/pfctl`: `lo0` with 127.0.0.1/8,
    /// ::1 and fe80::1, the interfaces its Makefile creates, `localhost` and the users
    /// and groups of a fresh install.
    pub fn openbsd_regress() -> Env {
        let lo = |name: &str, addresses: Vec<(IpAddr, u8)>| Interface {
            name: name.to_string(),
            groups: vec!["lo".to_string()],
            addresses,
            point_to_point: false,
        };
        let tun = |name: &str| Interface {
            name: name.to_string(),
            groups: vec!["tun".to_string()],
            addresses: Vec::new(),
            point_to_point: true,
        };
        let v6 = |s: &str| -> IpAddr { s.parse::<Ipv6Addr>().expect("literal").into() };
        Env {
            interfaces: vec![
                lo(
                    "lo0",
                    vec![
                        (v6("::1"), 128),
                        (v6("fe80::1"), 64),
                        (IpAddr::from([127, 0, 0, 1]), 8),
                    ],
                ),
                lo("lo1000000", Vec::new()),
                tun("tun1000000"),
                tun("tun1000001"),
                Interface {
                    name: "enc0".to_string(),
                    groups: vec!["enc".to_string()],
                    addresses: Vec::new(),
                    point_to_point: false,
                },
            ],
            hosts: HashMap::from([(
                "localhost".to_string(),
                vec![IpAddr::from([127, 0, 0, 1]), v6("::1")],
            )]),
            users: HashMap::from([
                ("root".to_string(), 0),
                ("daemon".to_string(), 1),
                ("bin".to_string(), 3),
                ("www".to_string(), 67),
                ("nobody".to_string(), 32767),
            ]),
            groups: HashMap::from([
                ("wheel".to_string(), 0),
                ("daemon".to_string(), 1),
                ("bin".to_string(), 7),
                ("sshd".to_string(), 27),
                ("www".to_string(), 67),
                ("nobody".to_string(), 32767),
            ]),
            files: HashMap::new(),
            defines: HashMap::new(),
            unknown_names_allowed: false,
        }
    }

    /// The interfaces of a host's state (when its addresses were given), with the groups
    /// pf gives every interface: its name without the unit number (`em` for `em0`), and
    /// `egress` for those a default route leaves by.
    pub fn from_host(host: &model::Host) -> Env {
        if !host.known.addresses {
            return Env::default();
        }
        let egress: Vec<&str> = host
            .routes
            .iter()
            .filter(|r| r.dst.prefix_len() == 0)
            .filter_map(|r| r.dev.as_deref())
            .collect();
        let interfaces = host
            .interfaces
            .iter()
            .map(|i| {
                let family = i.name.trim_end_matches(|c: char| c.is_ascii_digit());
                let mut groups = Vec::new();
                if !family.is_empty() && family != i.name {
                    groups.push(family.to_string());
                }
                if egress.contains(&i.name.as_str()) {
                    groups.push("egress".to_string());
                }
                Interface {
                    name: i.name.clone(),
                    groups,
                    addresses: i.addrs.iter().map(|a| (a.addr, a.prefix_len)).collect(),
                    point_to_point: false,
                }
            })
            .collect();
        Env {
            interfaces,
            ..Env::default()
        }
    }

    /// Adds the users of an `/etc/passwd` (`name:password:uid:…` lines).
    pub fn read_passwd(&mut self, text: &str) {
        self.users.extend(id_lines(text));
    }

    /// Adds the groups of an `/etc/group` (`name:password:gid:…` lines).
    pub fn read_group(&mut self, text: &str) {
        self.groups.extend(id_lines(text));
    }

    /// The interface called `name`.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The interfaces a name stands for: itself, or the members of the group.
    pub fn members(&self, name: &str) -> Vec<&Interface> {
        if let Some(i) = self.interface(name) {
            return vec![i];
        }
        self.interfaces
            .iter()
            .filter(|i| i.groups.iter().any(|g| g == name))
            .collect()
    }
}

/// `name:x:id:…` lines (passwd and group files share the first three fields); comments
/// and malformed lines are skipped, as `getpwnam` skips them.
fn id_lines(text: &str) -> impl Iterator<Item = (String, u32)> + '_ {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut fields = l.split(':');
            let name = fields.next()?.trim();
            let id = fields.nth(1)?.trim().parse().ok()?;
            (!name.is_empty()).then(|| (name.to_string(), id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::pf::NumOp;

    const CONF: &str = "pass out proto tcp user { _pbuild, 0 } group _x\n";

    #[test]
    fn unknown_names_are_kept_only_when_allowed() {
        let env = Env::default();
        assert!(crate::pf::parse("pf.conf", CONF, &env).is_err());
        let env = Env {
            unknown_names_allowed: true,
            ..Env::default()
        };
        let (ruleset, unresolved) =
            crate::pf::parse_offline("pf.conf", CONF, &env).expect("parses");
        let users: Vec<_> = ruleset.rules().map(|r| r.user).collect();
        assert_eq!(users, [Some(NumOp::Eq(UNRESOLVED_ID)), Some(NumOp::Eq(0))]);
        let names: Vec<_> = unresolved
            .iter()
            .map(|n| (n.kind, n.name.as_str(), n.line))
            .collect();
        assert_eq!(
            names,
            [(IdKind::User, "_pbuild", 1), (IdKind::Group, "_x", 1)]
        );
    }

    #[test]
    fn a_known_name_is_its_id_even_when_unknown_ones_are_allowed() {
        let mut env = Env {
            unknown_names_allowed: true,
            ..Env::default()
        };
        env.read_passwd("# comment\n_pbuild:*:21:21::/var/empty:/sbin/nologin\n");
        env.read_group("_x:*:70:\n");
        let (ruleset, unresolved) =
            crate::pf::parse_offline("pf.conf", CONF, &env).expect("parses");
        assert!(unresolved.is_empty(), "{unresolved:?}");
        let first = ruleset.rules().next().expect("a rule");
        assert_eq!(
            (first.user, first.group),
            (Some(NumOp::Eq(21)), Some(NumOp::Eq(70)))
        );
    }
}
