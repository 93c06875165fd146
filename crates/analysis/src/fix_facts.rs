//! What a suggested [`Fix`](crate::Fix) lets through and what the user should know about
//! it, as values: the words are made by `report`, the only crate that writes prose.

use model::{packet::IpProto, Family};
use std::net::IpAddr;
use std::sync::Arc;

/// What a fix lets through; `report` puts it into words.
#[derive(Debug, Clone, PartialEq)]
pub enum Opens {
    /// ACCEPT rules for exactly this flow.
    Flow(FlowOpening),
    /// An element of an nft set: whatever matches it, wherever the set is looked up.
    SetElement(ElementOpening),
    /// Replies and related packets of every connection already let through, in this
    /// table and chain (`ct state established,related accept`).
    Replies { table: String, chain: String },
    /// A class of traffic a tool's rule (or a removed ban or deny) lets through.
    Traffic(TrafficOpening),
    /// A port of a tool's zone or policy (firewalld `--add-port`, `--add-service`, a rich
    /// rule): every address of the host in that zone, from `src` or from anything.
    ZonePort(ZoneOpening),
}

/// A firewalld zone or policy, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneScope {
    /// `--zone=NAME`.
    Zone(String),
    /// `--policy=NAME`.
    Policy(String),
}

/// What a port opened in a tool's zone or policy lets through.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneOpening {
    /// The zone or policy.
    pub scope: ZoneScope,
    pub proto: IpProto,
    /// First and last port (equal for one port).
    pub ports: (u16, u16),
    /// `None`: from any source.
    pub src: Option<IpAddr>,
}

/// The traffic a tool-level change lets through (`ufw route allow in on tap0 out on eno1
/// to 10.1.0.2 port 2175 proto tcp`, an unban): each field is `None` when the change does
/// not constrain it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficOpening {
    /// `None`: any protocol.
    pub proto: Option<IpProto>,
    /// `None`: any source.
    pub src: Option<IpAddr>,
    /// `None`: any destination.
    pub dst: Option<IpAddr>,
    /// `None`: any destination port (or a protocol without ports).
    pub dport: Option<u16>,
    pub iif: Option<String>,
    pub oif: Option<String>,
}

/// The traffic an ACCEPT rule of a fix matches, as the deciding hook saw the packet.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowOpening {
    pub proto: IpProto,
    /// `None`: from any source.
    pub src: Option<IpAddr>,
    /// `None`: to any of this host's addresses.
    pub dst: Option<IpAddr>,
    /// The destination port or ICMP type matched (any source port).
    pub service: Service,
    pub iif: Option<String>,
    pub oif: Option<String>,
}

/// What a flow's rule matches beyond the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// TCP, UDP and SCTP: this destination port.
    Port(u16),
    /// ICMP and ICMPv6: this type.
    IcmpType(u8),
    /// Other protocols: the protocol alone.
    Any,
}

/// What an added set element lets through: each field is `None` when no key of the set
/// constrains it (the protocol, the source address) or the packet has no value for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementOpening {
    /// The set the element goes into.
    pub set: String,
    /// `None`: any protocol.
    pub proto: Option<IpProto>,
    /// `None`: any source.
    pub src: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dst: Option<IpAddr>,
    pub dport: Option<u16>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// How many rules of the table look the set up (the element opens all of them).
    pub lookups: usize,
    /// The accept-on-lookup rule the packet failed before it was dropped.
    pub failed_lookup: RuleSite,
}

/// A rule named by where the user reads it: table, chain, number and source line.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSite {
    pub family: Family,
    pub table: String,
    pub chain: String,
    /// 1-based, as in the user's listing.
    pub number: usize,
    /// Empty for rules built in code.
    pub file: Arc<str>,
    pub line: u32,
}

/// What still decides the packet's fate with the fix in place, when it does not pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Blocker {
    /// A rule (`None` if the reference does not resolve).
    Rule(Option<RuleSite>),
    /// A base chain's policy: table and chain (`None` if the reference does not resolve).
    Policy(Option<(String, String)>),
    Routing,
    Stack,
    Conntrack,
}

/// Something the user should know about a fix, besides what it opens.
#[derive(Debug, Clone, PartialEq)]
pub enum FixCaveat {
    /// The packet is blocked in this many places: one rule for each.
    SeveralRules { blocks: usize },
    /// Even with every rule added, this still blocks the packet.
    StillBlockedBy(Blocker),
    /// With the rules added, the fate depends on matches that cannot be decided offline.
    Undecidable,
    /// Placed in this calling chain before the jump, because an ACCEPT just before the
    /// deciding rule did not let the packet through.
    PlacedBeforeJump { chain: String },
    /// Placed in this (non-base) chain just before the deciding rule, so every earlier
    /// rule still applies.
    PlacedBeforeDecidingRule { chain: String },
    /// The set is also updated from the packet path, so an element added by hand may
    /// time out.
    SetUpdatedFromPacketPath { set: String },
    /// The chain drops replies too: the change includes `ct state established,related
    /// accept` at the top of this table's chain, which opens the replies of every
    /// connection already let through.
    AlsoReplies { table: String, chain: String },
    /// A ban lifted: fail2ban bans the address again if it keeps failing the jail's filter.
    MayBeBannedAgain { jail: String },
    /// The destination port is a NodePort that a host socket or another service also
    /// claims: the cause is the clash, not a missing rule.
    NodePortClash(owners::kube::node_ports::NodePortClash),
    /// ufw is present and the traffic goes to a port Docker publishes: Docker's DNAT
    /// happens in prerouting, so the packet is forwarded to the container and ufw's input
    /// rules (`ufw allow`, `ufw deny`) never see it.
    PublishedPortBypassesUfw { port: model::owner::PublishedPort },
}
