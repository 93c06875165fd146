//! What a firewalld object is: firewalld names its chains after the zone or policy and the
//! part of it they implement (`filter_IN_public_allow`, `filter_FWD_policy_x_deny`).

/// A firewalld object's part in firewalld's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FirewalldRole {
    /// A chain or rule of a zone.
    Zone {
        /// The zone's name (`public`).
        zone: String,
        /// Which part of the zone.
        part: FirewalldPart,
    },
    /// A chain or rule of a policy (`--new-policy`).
    Policy {
        /// The policy's name.
        policy: String,
        /// Which part of the policy.
        part: FirewalldPart,
    },
    /// firewalld's own dispatch and housekeeping (zone dispatch, rpfilter, invalid drop).
    Infrastructure,
}

/// Which part of a zone or policy a chain or rule implements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FirewalldPart {
    /// The zone's default target (`%%REJECT%%`, `DROP`, ...), as firewalld spells it.
    Target(String),
    /// An allowed service.
    Service(String),
    /// An allowed port (`8080/tcp`).
    Port(String),
    /// A rich rule, as `--list-rich-rules` prints it.
    RichRule(String),
    /// An allowed protocol.
    Protocol(String),
    /// ICMP blocks.
    IcmpBlock,
    /// A forward port.
    ForwardPort(String),
    /// Masquerading.
    Masquerade,
    /// A chain holding several of the above (`_allow`, `_deny`, `_log`, `_pre`, `_post`).
    Chain(String),
}
