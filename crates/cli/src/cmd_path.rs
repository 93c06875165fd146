//! `whyblocked path`: a packet walked across several hosts, there and back.

use crate::args::ColorChoice;
use crate::{Conclusion, Error};
use frontends::topology::TopologyError;
use model::topology::Topology;
use model::Packet;
use network::{Bind, Outcome, Query};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

/// The grammar of the packet, shown by `whyblocked path --help`.
const PATH_HELP: &str = "\
PACKET:
  PROTO FROM TO [flags FLAGS] [type ICMPTYPE [code N]] [mark N] [ttl N]

  PROTO   ping (an echo request of the addresses' family), tcp, udp, sctp, icmp, icmpv6
  FROM    a host's name (its kernel chooses the source address; NAME:PORT for a source
          port, else 40000), or an address (ADDR, ADDR:PORT, [V6ADDR]:PORT) of one host
  TO      an address (ADDR, ADDR:PORT, [V6ADDR]:PORT), or a host's name (NAME, NAME:PORT):
          its first global address of the family
  the rest as for a one-host packet (see `whyblocked --help`)

Examples:
  whyblocked path --topology lab.toml tcp laptop 10.1.1.2:2175
  whyblocked path --host a.snap --host b.snap --json tcp 10.0.0.5:40000 10.9.0.7:443 --size 1900
  whyblocked path --host laptop.snap --host server.snap ping 2001:db8::7 2001:db8:1::9

Exit status (as for one host):
  0  the exchange works: the request arrives and its answer gets back
  1  it fails on the way there or back, or the destination refuses it
  2  usage or input error (with --json, also a JSON `error` object on stdout)
  3  undecidable offline: a hop's verdict depends on what the input does not tell, or
     the packet leaves the hosts given";

/// Walk a packet across several hosts, there and back: where and why it fails.
///
/// At every hop the routing decision, the firewall walk, NAT and conntrack (the one-host
/// answer), then neighbour resolution, the link and its MTU; the destination's answer walks
/// back through the state the way there left. Says at which hop and in which direction the
/// exchange fails, why, what the sender sees, and the fix on the host where it belongs.
#[derive(Debug, clap::Args)]
#[command(after_long_help = PATH_HELP)]
pub struct PathArgs {
    /// A topology file (TOML: hosts, stubs, links; see docs/topology.md).
    #[arg(long, value_name = "FILE", conflicts_with = "host")]
    pub topology: Option<PathBuf>,

    /// A host: a `whyblocked snapshot` file, a host directory, or a topology file of one
    /// host or more. Repeat for each; links are inferred from shared subnets and
    /// neighbour tables.
    #[arg(long, value_name = "FILE|DIR", required_unless_present = "topology")]
    pub host: Vec<PathBuf>,

    /// The IP length of a full-size packet, header included (what an MTU limits): the
    /// echo request or datagram itself; for TCP a data segment sent after the handshake.
    /// `ping -s N` sends N+28 bytes over IPv4, N+48 over IPv6.
    #[arg(long, value_name = "BYTES")]
    pub size: Option<u16>,

    /// Forbid fragmenting the sender's packets, as `ping -M do`: one too big for the
    /// sender's own way out fails to send (EMSGSIZE), and a "fragmentation needed" from
    /// the way is the answer. Without it the sender fragments, or sends smaller after a
    /// "too big", as ping's default and the kernel do.
    #[arg(long = "dont-fragment", alias = "df")]
    pub dont_fragment: bool,

    /// Bind the sender as `ping -I` does: to one of its addresses (the source), or to
    /// one of its interfaces (only routes leaving by it; the kernel picks the source).
    #[arg(short = 'I', value_name = "ADDR|IFACE")]
    pub bind: Option<String>,

    /// Print the answer as JSON (schema: docs/path.schema.json).
    #[arg(long)]
    pub json: bool,

    /// Do not search for a fix.
    #[arg(long = "no-fix")]
    pub no_fix: bool,

    /// When to use colours (`auto`: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// The packet (see PACKET below).
    #[arg(value_name = "PACKET", required = true)]
    pub packet: Vec<String>,
}

/// `whyblocked path`.
pub fn run<W: Write>(a: &PathArgs, out: &mut W) -> Result<Conclusion, Error> {
    let mut topology = match &a.topology {
        Some(file) => frontends::topology::load_file(file),
        None => frontends::topology::from_hosts(&a.host),
    }
    .map_err(topology_error)?;
    // Which tool wrote each rule: the answer names it, and a fix speaks its language.
    for node in &mut topology.nodes {
        owners::recognise(&mut node.ruleset, &node.tool_config);
    }
    let query = query(&topology, a)?;
    let walk = network::walk(&topology, &query);
    let fix = if a.no_fix {
        None
    } else {
        network::fix::fix(&topology, &query, &walk)
    };
    let facts = report::path::PathFacts::of(&topology, &walk, fix);
    let answer = report::path::PathAnswer {
        topology: &topology,
        walk: &walk,
        sender: query.from,
        facts: &facts,
        size: a.size,
    };
    if a.json {
        report::path::json::render(out, &answer)
    } else {
        let color = crate::config::paints_stdout(a.color);
        report::path::text::render(out, &answer, &report::TextOptions { color })
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(match walk.outcome {
        Outcome::Works => Conclusion::Passed,
        Outcome::Refused | Outcome::Fails { .. } => Conclusion::Blocked,
        Outcome::Undecided { .. } => Conclusion::Undecided,
    })
}

fn topology_error(e: TopologyError) -> Error {
    match e {
        TopologyError::Parse(p) => Error::Parse(p),
        other => Error::Input(other.to_string()),
    }
}

/// An endpoint word: a host's name or an address, with its port.
enum End {
    Node(usize, Option<u16>),
    Addr(String),
}

/// The query the words and options ask for.
fn query(topology: &Topology, a: &PathArgs) -> Result<Query, Error> {
    let [proto, from, to, rest @ ..] = a.packet.as_slice() else {
        return Err(Error::Input(
            "path: the packet is PROTO FROM TO (e.g. `tcp laptop 10.1.1.2:2175`)".to_string(),
        ));
    };
    let from_end = end(topology, from)?;
    let to_end = end(topology, to)?;
    let bound = a.bind.as_deref();
    // The family: from an address given, else IPv4 when both ends have it.
    let given_family = [&from_end, &to_end]
        .into_iter()
        .find_map(|e| match e {
            End::Addr(w) => Some(addr_of_word(w).is_some_and(|x| x.is_ipv6())),
            End::Node(..) => None,
        })
        .or(bound
            .and_then(|b| b.parse::<IpAddr>().ok())
            .map(|b| b.is_ipv6()));
    let v6 = given_family.unwrap_or_else(|| {
        ![&from_end, &to_end].iter().all(|e| match e {
            End::Node(n, _) => first_global(topology, *n, false).is_some(),
            End::Addr(_) => true,
        })
    });
    let ping = proto == "ping";
    let proto_word = match (ping, v6) {
        (true, true) => "icmpv6".to_string(),
        (true, false) => "icmp".to_string(),
        (false, _) => proto.clone(),
    };
    let ports = matches!(proto_word.as_str(), "tcp" | "udp" | "sctp");
    let (sender, src_word) = match &from_end {
        End::Node(n, port) => {
            let any = if v6 { "[::]" } else { "0.0.0.0" };
            let word = match (ports, port) {
                (true, p) => format!("{any}:{}", p.unwrap_or(40000)),
                (false, _) => any.trim_matches(['[', ']']).to_string(),
            };
            (*n, word)
        }
        End::Addr(w) => {
            let addr = addr_of_word(w).ok_or_else(|| {
                Error::Input(format!("path: {w} is neither a host's name nor an address"))
            })?;
            (owner(topology, addr)?, w.clone())
        }
    };
    let dst_word = match &to_end {
        End::Addr(w) => w.clone(),
        End::Node(n, port) => {
            let addr = first_global(topology, *n, v6).ok_or_else(|| {
                Error::Input(format!(
                    "path: {} has no global {} address to send to",
                    topology.nodes[*n].name,
                    if v6 { "IPv6" } else { "IPv4" }
                ))
            })?;
            match (ports, port, addr) {
                (true, None, _) => {
                    return Err(Error::Input(format!(
                        "path: {proto_word} needs a destination port: write {}:PORT",
                        topology.nodes[*n].name
                    )))
                }
                (true, Some(p), IpAddr::V6(x)) => format!("[{x}]:{p}"),
                (true, Some(p), x) => format!("{x}:{p}"),
                (false, _, x) => x.to_string(),
            }
        }
    };
    let mut words = vec![proto_word, src_word, dst_word];
    words.extend(rest.iter().cloned());
    let spec = frontends::packet_spec::parse(&words).map_err(Error::Parse)?;
    if spec.given_in.is_some() || spec.given_out.is_some() {
        return Err(Error::Input(
            "path: `in` and `out` do not apply: every hop's routing decides the way".to_string(),
        ));
    }
    let mut packet: Packet = spec.into_packet();
    if ping && a.size.is_none() {
        // ping's default: 56 bytes of data.
        packet.len = if v6 { 104 } else { 84 };
    }
    let mut bind = match from_end {
        End::Addr(_) => Bind::Address(packet.src),
        End::Node(..) => Bind::None,
    };
    if let Some(b) = bound {
        let sender_host = &topology.nodes[sender].host;
        bind = match b.parse::<IpAddr>() {
            Ok(addr) if sender_host.owner_of(addr).is_some() => Bind::Address(addr),
            Ok(addr) => {
                return Err(Error::Input(format!(
                    "path: -I {addr}: not an address of {}",
                    topology.nodes[sender].name
                )))
            }
            Err(_) if sender_host.interface(b).is_some() => Bind::Device(b.to_string()),
            Err(_) => {
                return Err(Error::Input(format!(
                    "path: -I {b}: neither an address nor an interface of {}",
                    topology.nodes[sender].name
                )))
            }
        };
    }
    Ok(Query {
        bind,
        dont_fragment: a.dont_fragment,
        size: a.size,
        ..Query::new(sender, packet)
    })
}

/// A word as a host's name (`laptop`, `laptop:40000`) or an address word.
fn end(topology: &Topology, word: &str) -> Result<End, Error> {
    if let Some(n) = topology.node(word) {
        return Ok(End::Node(n, None));
    }
    if let Some((name, port)) = word.rsplit_once(':') {
        if let Some(n) = topology.node(name) {
            let port = port.parse().map_err(|_| {
                Error::Input(format!("path: {word}: `{port}` is not a port number"))
            })?;
            return Ok(End::Node(n, Some(port)));
        }
    }
    Ok(End::Addr(word.to_string()))
}

/// The address of an address word (`10.0.0.5`, `10.0.0.5:40000`, `[2001:db8::7]:443`,
/// `2001:db8::7`).
fn addr_of_word(word: &str) -> Option<IpAddr> {
    if let Ok(a) = word.parse() {
        return Some(a);
    }
    if let Some(rest) = word.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    word.rsplit_once(':')?.0.parse().ok()
}

/// The one node that owns `addr`.
fn owner(topology: &Topology, addr: IpAddr) -> Result<usize, Error> {
    let owners = topology.owners_of(addr);
    let mut nodes: Vec<usize> = owners.iter().map(|e| e.node).collect();
    nodes.dedup();
    match nodes.as_slice() {
        [n] => Ok(*n),
        [] => Err(Error::Input(format!(
            "path: no host given has {addr}; the hosts are: {}",
            names(topology)
        ))),
        several => Err(Error::Input(format!(
            "path: several hosts have {addr} ({}): name the sender instead",
            several
                .iter()
                .map(|n| topology.nodes[*n].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn names(topology: &Topology) -> String {
    topology
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A node's first global address of the family.
fn first_global(topology: &Topology, node: usize, v6: bool) -> Option<IpAddr> {
    topology.nodes[node]
        .host
        .interfaces
        .iter()
        .flat_map(|i| &i.addrs)
        .find(|a| a.addr.is_ipv6() == v6 && a.scope == model::host::Scope::Universe)
        .map(|a| a.addr)
}
