//! `whyblocked verify`: one packet through the engine and through the real kernel, compared.

use crate::compare::Comparison;
use crate::error::LiveError;
use crate::kernel::KernelTrace;
use model::{Family, Host, Packet, Ruleset, SourceFile};
use std::fmt;

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub packet: Packet,
    /// The kernel's walk, rules mapped to the user's.
    pub kernel: KernelTrace,
    /// The engine's prediction; `None` when the engine failed (see `engine_error`).
    pub engine: Option<engine::Outcome>,
    pub engine_error: Option<String>,
    /// Present when the engine produced a trace.
    pub comparison: Option<Comparison>,
    /// Kernel and engine agree on path, fate, NAT and conntrack state.
    pub agree: bool,
    /// What the test host could not reproduce exactly.
    pub notes: Vec<String>,
    /// The ruleset the rule positions refer to (for rendering).
    pub ruleset: Ruleset,
}

impl VerifyReport {
    /// The first divergence, rendered.
    pub fn first_divergence(&self) -> Option<String> {
        self.comparison
            .as_ref()?
            .first()
            .map(|d| d.render(&self.ruleset))
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.packet;
        write!(f, "packet   {p}")?;
        if let Some(i) = &p.iif {
            write!(f, " in {i}")?;
        }
        if let Some(o) = &p.oif {
            write!(f, " out {o}")?;
        }
        writeln!(f)?;
        writeln!(f, "kernel   {}", self.kernel.fate)?;
        match (&self.engine, &self.engine_error) {
            (Some(o), _) => writeln!(
                f,
                "engine   {}",
                crate::compare::fate_text(&o.primary().fate)
            )?,
            (None, Some(e)) => writeln!(f, "engine   failed: {e}")?,
            (None, None) => writeln!(f, "engine   (not run)")?,
        }
        if self.agree {
            writeln!(f, "AGREE")?;
        } else {
            writeln!(f, "DISAGREE")?;
            if let Some(c) = &self.comparison {
                for d in &c.divergences {
                    writeln!(f, "  {}", d.render(&self.ruleset))?;
                }
            }
        }
        if let Some(c) = &self.comparison {
            writeln!(f, "\npath")?;
            f.write_str(&c.side_by_side(&self.ruleset))?;
        } else {
            writeln!(f, "\nkernel path")?;
            write!(f, "{}", self.kernel)?;
        }
        if let Some(h) = &self.kernel.final_headers {
            writeln!(f, "kernel: leaves as {h}")?;
        }
        for (i, r) in self.kernel.responses.iter().enumerate() {
            writeln!(f, "kernel: answered with {r}{}", self.kernel.answer_note(i))?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

/// Runs the engine, turning a panic into an error message.
pub fn simulate_guarded(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
) -> Result<engine::Outcome, String> {
    let run = std::panic::AssertUnwindSafe(|| {
        engine::simulate(ruleset, host, packet, &engine::Options::default())
    });
    std::panic::catch_unwind(run).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())
    })
}

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
) -> Result<VerifyReport, LiveError> {
    use crate::netns::TestHost;
    use crate::oracle::Oracle;
    if !crate::sys::is_root() {
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
        .expect("one trace per packet");
    drop(oracle);
    Ok(report(ruleset, host, packet, kernel, notes))
}

/// Compares an already-traced kernel walk with the engine's simulation.
pub fn report(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    kernel: KernelTrace,
    notes: Vec<String>,
) -> VerifyReport {
    let (engine, engine_error) = match simulate_guarded(ruleset, host, packet) {
        Ok(o) => (Some(o), None),
        Err(e) => (None, Some(e)),
    };
    let comparison = engine
        .as_ref()
        .map(|o| crate::compare::compare(ruleset, &kernel, o.primary()));
    let agree = comparison.as_ref().is_some_and(Comparison::agree);
    VerifyReport {
        packet: packet.clone(),
        kernel,
        engine,
        engine_error,
        comparison,
        agree,
        notes,
        ruleset: ruleset.clone(),
    }
}

/// Not available: the kernel oracle needs Linux network namespaces.
#[cfg(not(target_os = "linux"))]
pub fn verify(
    _rules: &[(SourceFile, Family)],
    _ruleset: &Ruleset,
    _host: &Host,
    _packet: &Packet,
) -> Result<VerifyReport, LiveError> {
    Err(LiveError::Unsupported(
        "`whyblocked verify` (the kernel oracle)",
    ))
}
