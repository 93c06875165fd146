//! What a fail2ban object is: each jail has a chain (`f2b-sshd`) or set, and a ban is a
//! reject or drop of one address in it.

use std::net::IpAddr;

/// The object's part in fail2ban's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Fail2banRole {
    /// A jail's chain or set.
    Jail(String),
    /// A banned address of a jail.
    Ban {
        /// The jail.
        jail: String,
        /// The banned address.
        address: IpAddr,
    },
}
