//! The host state of a BSD or Solaris system (interfaces, addresses, routes) from the
//! commands its admins run: `ifconfig -a` ([`ifconfig`]) and `netstat -rn` ([`netstat`]),
//! in the formats of FreeBSD, OpenBSD, NetBSD, Solaris and illumos.

pub mod ifconfig;
pub mod netstat;

use model::diag::ParseError;
use model::{Host, SourceFile};

/// A [`Host`] from `ifconfig -a` and `netstat -rn` output, either of which may be missing:
/// `host.known` says which were given.
pub fn host(
    ifconfig: Option<&SourceFile>,
    netstat: Option<&SourceFile>,
) -> Result<Host, ParseError> {
    let mut host = Host::default();
    if let Some(source) = ifconfig {
        host.interfaces = ifconfig::parse(source)?;
        host.known.addresses = true;
    }
    if let Some(source) = netstat {
        host.routes = netstat::parse_with(source, &host.interfaces)?;
        host.known.routes = true;
    }
    Ok(host)
}

#[cfg(test)]
mod tests;
