//! Several hosts and the links between them: the network `whyblocked path` walks a packet
//! across, there and back.
//!
//! A [`Topology`] is made of [`Node`]s (a Linux host with its state and firewall, or a
//! *stub*: a system that is not Linux, known by its addresses and routes only) and
//! [`Link`]s (a segment several interfaces share: a cable, a bridge, a Wi-Fi network). Each
//! link says how it is known ([`LinkEvidence`]): declared in a topology file, or inferred
//! from addresses and neighbour tables, so the answer can say why it thinks two hosts
//! are neighbours.

use crate::host::Host;
use crate::note::InputNote;
use crate::ruleset::{Family, Ruleset};
use crate::source::SourceFile;
use crate::tool_config::ToolConfig;
use ipnet::IpNet;
use std::net::IpAddr;

/// Hosts and the links between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Topology {
    /// The hosts, in the order given; a [`LinkEnd::node`] is an index into it.
    pub nodes: Vec<Node>,
    /// The links.
    pub links: Vec<Link>,
}

/// One host of a topology.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The name the user calls it by (the topology file's key, a snapshot's hostname, a
    /// host directory's name), unique in the topology.
    pub name: String,
    /// Linux with a firewall, or a stub.
    pub kind: NodeKind,
    /// Interfaces, addresses, routes, sysctls, neighbours... (a stub's from its description).
    pub host: Host,
    /// The firewall (empty for a stub, or a Linux host given without rules).
    pub ruleset: Ruleset,
    /// The firewall tools' own files (for remedies in the owner's language).
    pub tool_config: ToolConfig,
    /// Where the node was read from (a file or directory), for the answer.
    pub source: String,
    /// Whether any firewall rules were given for it (a Linux host without them is
    /// simulated without a firewall, and the answer says so).
    pub rules_given: bool,
    /// The iptables-save files of [`Node::ruleset`] with the family each was read as, and
    /// its nft files, as read: what a test host loads into the kernel.
    pub iptables_sources: Vec<(SourceFile, Family)>,
    /// The nft files (text or JSON) of [`Node::ruleset`], as read.
    pub nft_sources: Vec<SourceFile>,
    /// How the node's inputs were read when it was a guess.
    pub notes: Vec<InputNote>,
}

/// What kind of system a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A Linux host: the engine walks packets through its kernel path and firewall.
    Linux,
    /// A system that is not Linux (a z/OS host, a router appliance, a phone): only its
    /// addresses and routes are known. It forwards by longest prefix when it has routes to
    /// forward by, and it answers what reaches its own addresses as [`StubAnswers`] says.
    Stub(StubAnswers),
}

/// How a stub answers a packet for one of its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StubAnswers {
    /// TCP ports something listens on; `None`: not said (a connection is assumed to be
    /// accepted, and the answer says so).
    pub tcp: Option<Vec<u16>>,
    /// UDP ports something listens on; `None`: not said.
    pub udp: Option<Vec<u16>>,
    /// Whether it answers echo requests (default: yes).
    pub ping: bool,
}

/// A segment several interfaces share.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// A name for the answer (`lan`, or `laptop:wlan0 -- router:tap0` when inferred).
    pub name: String,
    /// The interfaces on it.
    pub ends: Vec<LinkEnd>,
    /// How the link is known.
    pub evidence: LinkEvidence,
    /// Whether every system on the segment is one of [`Link::ends`]: true for a link a
    /// topology file declares; false for an inferred one (other machines may share the
    /// subnet, so a neighbour nobody here owns may still answer).
    pub complete: bool,
}

/// One interface on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEnd {
    /// Index into [`Topology::nodes`].
    pub node: usize,
    /// The node's interface name.
    pub iface: String,
}

/// Why whyblocked thinks a link exists.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvidence {
    /// Declared in a topology file, at this line.
    Declared {
        /// The file.
        file: String,
        /// Its 1-based line.
        line: usize,
    },
    /// The interfaces have addresses in the same subnet.
    SharedSubnet {
        /// The subnet.
        net: IpNet,
    },
    /// One host's neighbour table lists an address (often link-local) that another
    /// host's interface carries.
    Neighbour {
        /// The node whose neighbour table says so.
        node: usize,
        /// Its interface.
        iface: String,
        /// The neighbour's address, owned by the other end.
        addr: IpAddr,
    },
}

impl Topology {
    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }
    /// The link `node`'s interface `iface` is on.
    pub fn link_of(&self, node: usize, iface: &str) -> Option<usize> {
        self.links
            .iter()
            .position(|l| l.ends.iter().any(|e| e.node == node && e.iface == iface))
    }
    /// The nodes (with their interface) that carry `addr` on their own interfaces.
    pub fn owners_of(&self, addr: IpAddr) -> Vec<LinkEnd> {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.host
                    .interfaces
                    .iter()
                    .filter(move |f| f.addrs.iter().any(|a| a.addr == addr))
                    .map(move |f| LinkEnd {
                        node: i,
                        iface: f.name.clone(),
                    })
            })
            .collect()
    }
}
