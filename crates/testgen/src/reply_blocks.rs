//! Random rulesets whose blocking rule hits the reply direction (issue 10, "How it is
//! checked"): the request of a connection passes, its reply does not. For the kernel
//! differential of fixes (`oracle/tests/fix_differential.rs`).
//!
//! Shapes, each in iptables-save or nft text, IPv4 or IPv6, TCP, UDP or ICMP echo:
//! - [`Blocker::NewOnly`]: a chain with policy drop that accepts the request as `ct state
//!   new` (or by interfaces alone) and has no `established,related` accept;
//! - [`Blocker::ReplyDrop`]: policy accept, and a drop of the reply by its source port
//!   (ICMP: of echo replies);
//!
//! on a path that is forwarded (lan0 → wan0 or dmz0, optionally DNAT'd from wan0 to dmz0
//! or MASQUERADEd out of wan0), delivered here (the reply, this host's own, is stopped on
//! output) or sent from here (the reply is stopped on input).
//!
//! Addresses are never the test host's peers' own (`.2`, `.254`, `::2`, `::fe`), so no
//! peer's stack answers a packet of the exchange.

use super::aim::Topology;
use super::Rng;
use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};
use std::fmt::Write as _;
use std::net::IpAddr;

/// What stops the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// Policy drop, the request accepted as new (or by interface), no established accept.
    NewOnly,
    /// A drop of the reply by its source port (or of echo replies).
    ReplyDrop,
}

/// Where the request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Through the router, lan0 to the server's interface.
    Forward,
    /// Through the router, DNAT'd from this host's wan0 address to a server on dmz0.
    Dnat,
    /// Through the router, MASQUERADEd out of wan0.
    Masquerade,
    /// To this host (its reply is generated here).
    Local,
    /// From this host (its reply is delivered here).
    Sent,
}

/// One generated case.
#[derive(Debug, Clone)]
pub struct ReplyBlock {
    /// The rules file's text.
    pub text: String,
    /// Whether the text is nft (else iptables-save).
    pub nft: bool,
    /// The family of the addresses (and of `iptables-restore`).
    pub family: Family,
    /// The connection's first packet.
    pub request: Packet,
    /// What stops the reply.
    pub blocker: Blocker,
    /// Where the request goes.
    pub path: Path,
}

impl ReplyBlock {
    /// The file and the family its loader needs.
    pub fn source(&self) -> (SourceFile, Family) {
        if self.nft {
            (
                SourceFile::new("generated.nft", self.text.clone()),
                Family::Inet,
            )
        } else {
            (
                SourceFile::new("generated.rules", self.text.clone()),
                self.family,
            )
        }
    }

    /// The front end's reading of the text.
    pub fn parse(&self) -> Result<Ruleset, String> {
        let (src, family) = self.source();
        if self.nft {
            frontends::nft::parse_text(&src).map_err(|e| e.to_string())
        } else {
            frontends::iptables_save::parse(&src, Some(family)).map_err(|e| e.to_string())
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
    Echo,
}

/// The case for `seed` on `topo` (the lab topology: lan0, wan0, dmz0).
pub fn generate(seed: u64, topo: &Topology) -> ReplyBlock {
    let mut rng = Rng::new(seed ^ 0x0e91_1ab0);
    let v6 = rng.chance(30);
    let nft = rng.chance(50);
    let proto = *rng.pick(&[Proto::Tcp, Proto::Tcp, Proto::Udp, Proto::Echo]);
    let blocker = *rng.pick(&[Blocker::NewOnly, Blocker::ReplyDrop]);
    let path = *rng.pick(&[
        Path::Forward,
        Path::Forward,
        Path::Dnat,
        Path::Masquerade,
        Path::Local,
        Path::Sent,
    ]);
    let path = if path == Path::Dnat && proto == Proto::Echo {
        Path::Forward
    } else {
        path
    };
    let host_part = rng.range(50, 99) as u16;
    let addr = |iface: &str, local: bool| -> IpAddr {
        let i = topo.iface(iface).expect("lab interface");
        match (v6, local) {
            (false, true) => IpAddr::V4(i.v4.0),
            (true, true) => IpAddr::V6(i.v6.0),
            (false, false) => {
                let o = i.v4.0.octets();
                IpAddr::V4([o[0], o[1], o[2], host_part as u8].into())
            }
            (true, false) => {
                let s = i.v6.0.segments();
                IpAddr::V6([s[0], s[1], s[2], 0, 0, 0, 0, host_part].into())
            }
        }
    };
    let server_if = *rng.pick(&["wan0", "dmz0"]);
    let service = *rng.pick(&[22u16, 53, 80, 443, 8080]);
    let public = 10_000 + rng.below(1000) as u16;
    let client_port = 40_000 + rng.below(20_000) as u16;
    let (src, dst, iif, oif, dport) = match path {
        Path::Forward | Path::Masquerade => (
            addr("lan0", false),
            addr(
                if path == Path::Masquerade {
                    "wan0"
                } else {
                    server_if
                },
                false,
            ),
            Some("lan0"),
            Some(if path == Path::Masquerade {
                "wan0"
            } else {
                server_if
            }),
            service,
        ),
        Path::Dnat => (
            addr("wan0", false),
            addr("wan0", true),
            Some("wan0"),
            None,
            public,
        ),
        Path::Local => (
            addr("lan0", false),
            addr("lan0", true),
            Some("lan0"),
            None,
            service,
        ),
        Path::Sent => (addr("wan0", true), addr("wan0", false), None, None, service),
    };
    let l4 = match (proto, v6) {
        (Proto::Tcp, _) => L4::Tcp {
            sport: client_port,
            dport,
            flags: TcpFlags::SYN,
        },
        (Proto::Udp, _) => L4::Udp {
            sport: client_port,
            dport,
        },
        (Proto::Echo, false) => L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: client_port,
        },
        (Proto::Echo, true) => L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: client_port,
        },
    };
    let mut request = Packet::new(src, dst, l4);
    request.iif = iif.map(str::to_string);
    request.oif = oif.map(str::to_string);
    let dnat_target = (addr("dmz0", false), service);
    let spec = Spec {
        v6,
        proto,
        path,
        blocker,
        service,
        public,
        dnat_target,
        noise: rng.below(3) as usize,
        by_interface: rng.chance(25),
    };
    ReplyBlock {
        text: if nft { spec.nft() } else { spec.iptables() },
        nft,
        family: if v6 { Family::Ip6 } else { Family::Ip },
        request,
        blocker,
        path,
    }
}

struct Spec {
    v6: bool,
    proto: Proto,
    path: Path,
    blocker: Blocker,
    service: u16,
    public: u16,
    dnat_target: (IpAddr, u16),
    /// Unrelated accepts before the request's (other services).
    noise: usize,
    /// The request accepted by its interfaces alone (no state, no port).
    by_interface: bool,
}

const NOISE_PORTS: [u16; 3] = [25, 110, 995];

impl Spec {
    /// The hooks of the request's chain and the reply's chain.
    fn chains(&self) -> (&'static str, &'static str) {
        match self.path {
            Path::Forward | Path::Dnat | Path::Masquerade => ("FORWARD", "FORWARD"),
            Path::Local => ("INPUT", "OUTPUT"),
            Path::Sent => ("OUTPUT", "INPUT"),
        }
    }

    fn request_port(&self) -> u16 {
        match self.path {
            // Filtering sees the translated destination.
            Path::Dnat => self.dnat_target.1,
            _ => self.service,
        }
    }

    fn iptables(&self) -> String {
        let (req_chain, reply_chain) = self.chains();
        let mut t = String::new();
        if matches!(self.path, Path::Dnat | Path::Masquerade) {
            t.push_str("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
            if self.path == Path::Dnat {
                let (a, p) = self.dnat_target;
                let to = if self.v6 {
                    format!("[{a}]:{p}")
                } else {
                    format!("{a}:{p}")
                };
                let _ = writeln!(
                    t,
                    "-A PREROUTING -i wan0 -p {} --dport {} -j DNAT --to-destination {to}",
                    self.l4_name(),
                    self.public
                );
            } else {
                t.push_str("-A POSTROUTING -o wan0 -j MASQUERADE\n");
            }
            t.push_str("COMMIT\n");
        }
        let policy = |chain: &str| {
            let drops =
                self.blocker == Blocker::NewOnly && (chain == req_chain || chain == reply_chain);
            if drops {
                "DROP"
            } else {
                "ACCEPT"
            }
        };
        let _ = write!(
            t,
            "*filter\n:INPUT {} [0:0]\n:FORWARD {} [0:0]\n:OUTPUT {} [0:0]\n",
            policy("INPUT"),
            policy("FORWARD"),
            policy("OUTPUT")
        );
        for port in NOISE_PORTS.iter().take(self.noise) {
            let _ = writeln!(t, "-A {req_chain} -p tcp --dport {port} -j ACCEPT");
        }
        let icmp = if self.v6 { "ipv6-icmp" } else { "icmp" };
        let icmp_type = if self.v6 { "icmpv6-type" } else { "icmp-type" };
        match self.blocker {
            Blocker::NewOnly => {
                let what = if self.by_interface {
                    self.iptables_ifaces()
                } else {
                    match self.proto {
                        Proto::Echo => format!("-p {icmp} -m {icmp} --{icmp_type} echo-request"),
                        _ => format!(
                            "-p {} --dport {} -m conntrack --ctstate NEW",
                            self.l4_name(),
                            self.request_port()
                        ),
                    }
                };
                let _ = writeln!(t, "-A {req_chain} {what} -j ACCEPT");
            }
            Blocker::ReplyDrop => {
                let what = match self.proto {
                    Proto::Echo => format!("-p {icmp} -m {icmp} --{icmp_type} echo-reply"),
                    _ => format!("-p {} --sport {}", self.l4_name(), self.request_port()),
                };
                let _ = writeln!(t, "-A {reply_chain} {what} -j DROP");
            }
        }
        t.push_str("COMMIT\n");
        t
    }

    /// `-i lan0 -o wan0` for the request's hook (only the sides that hook has).
    fn iptables_ifaces(&self) -> String {
        match self.path {
            Path::Forward | Path::Masquerade => "-i lan0".to_string(),
            Path::Dnat => "-i wan0 -o dmz0".to_string(),
            Path::Local => "-i lan0".to_string(),
            Path::Sent => "-o wan0".to_string(),
        }
    }

    fn l4_name(&self) -> &'static str {
        match self.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Echo if self.v6 => "ipv6-icmp",
            Proto::Echo => "icmp",
        }
    }

    fn nft(&self) -> String {
        let (req_chain, reply_chain) = self.chains();
        let hook = |c: &str| c.to_ascii_lowercase();
        let icmp = if self.v6 { "icmpv6" } else { "icmp" };
        let (req_type, reply_type) = ("echo-request", "echo-reply");
        let mut chains: Vec<(&str, String, Vec<String>)> = Vec::new();
        let mut add = |chain: &'static str, rule: String| {
            if let Some(c) = chains.iter_mut().find(|c| c.0 == chain) {
                c.2.push(rule);
            } else {
                let policy = if self.blocker == Blocker::NewOnly {
                    "drop"
                } else {
                    "accept"
                };
                chains.push((chain, policy.to_string(), vec![rule]));
            }
        };
        for port in NOISE_PORTS.iter().take(self.noise) {
            add(req_chain, format!("tcp dport {port} accept"));
        }
        match self.blocker {
            Blocker::NewOnly => {
                let what = if self.by_interface {
                    match self.path {
                        Path::Dnat => "iifname \"wan0\" oifname \"dmz0\"".to_string(),
                        Path::Sent => "oifname \"wan0\"".to_string(),
                        _ => "iifname \"lan0\"".to_string(),
                    }
                } else {
                    match self.proto {
                        Proto::Echo => format!("{icmp} type {req_type}"),
                        _ => format!(
                            "{} dport {} ct state new",
                            self.l4_name(),
                            self.request_port()
                        ),
                    }
                };
                add(req_chain, format!("{what} accept"));
                if reply_chain != req_chain {
                    // The reply's chain exists with its drop policy and nothing for it.
                    add(reply_chain, format!("tcp dport {} accept", NOISE_PORTS[2]));
                }
            }
            Blocker::ReplyDrop => {
                let what = match self.proto {
                    Proto::Echo => format!("{icmp} type {reply_type}"),
                    _ => format!("{} sport {}", self.l4_name(), self.request_port()),
                };
                add(reply_chain, format!("{what} drop"));
            }
        }
        let table_family = if self.v6 { "ip6" } else { "ip" };
        let mut t = format!("table {table_family} filter {{\n");
        for (chain, policy, rules) in &chains {
            let _ = writeln!(
                t,
                "\tchain {} {{\n\t\ttype filter hook {} priority 0; policy {policy};",
                hook(chain),
                hook(chain)
            );
            for r in rules {
                let _ = writeln!(t, "\t\t{r}");
            }
            t.push_str("\t}\n");
        }
        t.push_str("}\n");
        match self.path {
            Path::Dnat => {
                let (a, p) = self.dnat_target;
                let to = if self.v6 {
                    format!("[{a}]:{p}")
                } else {
                    format!("{a}:{p}")
                };
                let _ = write!(
                    t,
                    "table {table_family} nat {{\n\tchain prerouting {{\n\t\ttype nat hook prerouting priority -100; policy accept;\n\t\tiifname \"wan0\" {} dport {} dnat to {to}\n\t}}\n}}\n",
                    self.l4_name(),
                    self.public
                );
            }
            Path::Masquerade => {
                let _ = write!(
                    t,
                    "table {table_family} nat {{\n\tchain postrouting {{\n\t\ttype nat hook postrouting priority 100; policy accept;\n\t\toifname \"wan0\" masquerade\n\t}}\n}}\n"
                );
            }
            _ => {}
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_text_parses_and_the_request_passes_while_the_reply_does_not() {
        let topo = Topology::lab();
        let host = topo.host();
        let mut reply_blocked = 0;
        for seed in 0..200 {
            let g = generate(seed, &topo);
            let rs = g
                .parse()
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", g.text));
            let e = analysis::remedy::exchange::simulate(
                &rs,
                &host,
                &g.request,
                &engine::Options::default(),
            );
            if e.end == (analysis::remedy::exchange::ExchangeEnd::Stopped { step: 1 }) {
                reply_blocked += 1;
            }
        }
        // Interface-only accepts can let the reply through on the same chain; most cases
        // must be reply blocks.
        assert!(reply_blocked >= 150, "{reply_blocked} of 200");
    }
}
