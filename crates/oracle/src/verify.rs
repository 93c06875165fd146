//! `whyblocked verify`: one packet through the engine and through the real kernel, compared.

use analysis::agree::Verification;
use model::{Family, Host, Packet, Ruleset, SourceFile};
use netlink::LiveError;

/// Proves a prediction against the kernel: builds a throwaway test host for `host` (network
/// namespaces; the host's own firewall is never touched), loads `rules` (each file with the
/// family its `iptables-restore` needs: `Ip` or `Ip6`; nft files are recognised by their
/// text), sends `packet`, reads the kernel's trace and compares it with the engine's
/// simulation of `ruleset` (the same files, parsed). Needs root.
#[cfg(target_os = "linux")]
pub fn verify(
    rules: &[(SourceFile, Family)],
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
) -> Result<Verification, LiveError> {
    use crate::netns::TestHost;
    use crate::run::Oracle;
    if !netlink::is_root() {
        return Err(LiveError::NotRoot);
    }
    crate::netns::sweep_stale()?;
    let test_host = TestHost::for_packets(host, std::slice::from_ref(packet))?;
    let notes = test_host.notes.clone();
    let mut oracle = Oracle::new(test_host)?;
    oracle.load(rules)?;
    let kernel = oracle
        .run(ruleset, std::slice::from_ref(packet))?
        .pop()
        .ok_or_else(|| LiveError::Setup("the oracle returned no walk for the packet".into()))?;
    drop(oracle);
    Ok(Verification::judge(ruleset, host, packet, kernel, notes))
}

/// Not available: the kernel oracle needs Linux network namespaces.
#[cfg(not(target_os = "linux"))]
pub fn verify(
    _rules: &[(SourceFile, Family)],
    _ruleset: &Ruleset,
    _host: &Host,
    _packet: &Packet,
) -> Result<Verification, LiveError> {
    Err(LiveError::Unsupported(
        "`whyblocked verify` (the kernel oracle)",
    ))
}
