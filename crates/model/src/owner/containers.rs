//! What an object of a container or VM network tool, a VPN or a router firewall is
//! (Docker, netavark, LXD, libvirt, tailscale, OpenWrt's fw4, wg-quick).

use std::net::IpAddr;

/// The object's part in the tool's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContainerRole {
    /// The chain the tool leaves to the admin and never flushes (`DOCKER-USER`).
    UserChain,
    /// The tool's isolation between its networks (`DOCKER-ISOLATION-STAGE-*`).
    Isolation,
    /// A port published to a container or VM (a DNAT rule and its forward accept).
    Published(PublishedPort),
    /// A zone of a router firewall (fw4 `input_lan`, `reject_from_wan`): the zone's name.
    Zone(String),
    /// A network ACL of the named network (LXD/Incus `acl.lxdbr0`), set with the tool's
    /// `network acl` commands and the network's `security.acls.*` keys.
    Acl(String),
    /// The tool's guard against spoofed or misdirected traffic (Docker's direct-access
    /// drop, tailscale's CGNAT-range drop, wg-quick's `preraw` drop, LXD's per-instance
    /// filtering).
    SourceFilter,
    /// The tool's other chains and rules.
    Infrastructure,
}

/// A published port, read from its DNAT rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublishedPort {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host port.
    pub host_port: u16,
    /// The container's address.
    pub container: IpAddr,
    /// The container's port.
    pub container_port: u16,
}
