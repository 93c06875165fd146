//! A guard against running out of memory on a huge `nft -j` file (issue 11 B7: a 1 GB file
//! aborted the process at ~7 GiB with "memory allocation failed"; Rust aborts when an
//! allocation fails, so the only clear ending is to stop before that).
//!
//! While the objects are read, the memory grown so far is projected over the bytes still
//! to read, plus a share for lowering into the model; when that exceeds what the process
//! may still use (the system's available memory, the cgroup's limit, the address-space
//! limit), reading stops with the size read so far. Where `/proc` cannot be read the guard
//! does nothing.

use std::fs;

/// How often (in objects) the guard looks at memory: reading `/proc` costs microseconds.
pub(super) const EVERY: usize = 8192;

/// Lowering makes the model while the syntax tree is freed rule by rule: it needs about a
/// quarter more than reading did at its peak (measured on 300,000 rules).
const LOWERING_SHARE: u64 = 4;

/// What the guard saw when it stopped reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shortfall {
    /// Memory grown since reading started.
    pub used: u64,
    /// Memory projected to finish reading and lowering.
    pub needed: u64,
    /// Memory the process may still use.
    pub available: u64,
}

/// Memory in use when reading started.
pub(super) struct MemoryGuard {
    start: Option<u64>,
}

impl MemoryGuard {
    pub(super) fn new() -> MemoryGuard {
        MemoryGuard {
            start: resident_bytes(),
        }
    }

    /// After `read` of `total` bytes: a shortfall when the rest will not fit.
    pub(super) fn check(&self, read: usize, total: usize) -> Option<Shortfall> {
        let used = resident_bytes()?.saturating_sub(self.start?);
        shortfall(used, read as u64, total as u64, available_bytes()?)
    }
}

/// The projection: memory per byte read so far, times the bytes left, plus lowering's share.
pub(super) fn shortfall(used: u64, read: u64, total: u64, available: u64) -> Option<Shortfall> {
    if read == 0 {
        return None;
    }
    let rest = u128::from(used) * u128::from(total.saturating_sub(read)) / u128::from(read);
    let finish = u64::try_from(rest).unwrap_or(u64::MAX);
    let needed = finish.saturating_add((used.saturating_add(finish)) / LOWERING_SHARE);
    (needed > available).then_some(Shortfall {
        used,
        needed,
        available,
    })
}

/// `VmRSS` of this process.
fn resident_bytes() -> Option<u64> {
    status_kb("VmRSS:")
}

fn status_kb(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    kb_field(&status, field)
}

fn kb_field(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The least of: the system's available memory, what the cgroup still allows, and the
/// address space left under `ulimit -v`.
fn available_bytes() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    let mut available = kb_field(&meminfo, "MemAvailable:")?;
    let cgroup = |f: &str| {
        fs::read_to_string(format!("/sys/fs/cgroup/{f}"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    if let (Some(max), Some(current)) = (cgroup("memory.max"), cgroup("memory.current")) {
        available = available.min(max.saturating_sub(current));
    }
    if let (Some(limit), Some(size)) = (address_space_limit(), status_kb("VmSize:")) {
        available = available.min(limit.saturating_sub(size));
    }
    Some(available)
}

/// The soft `Max address space` of `/proc/self/limits`; None when unlimited.
fn address_space_limit() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    line["Max address space".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    /// Issue 11 B7: the projection stops a read whose rest will not fit, and lets one that
    /// fits go on.
    #[test]
    fn b7_projection_stops_a_read_that_will_not_fit() {
        // 100 MB used for the first 10% of 1,000 MB: 900 MB more to read, plus lowering.
        let s = shortfall(100 * MB, 100 * MB, 1000 * MB, 800 * MB).expect("does not fit");
        assert_eq!(s.used, 100 * MB);
        assert_eq!(s.needed, 900 * MB + 250 * MB);
        assert_eq!(shortfall(100 * MB, 100 * MB, 1000 * MB, 2000 * MB), None);
        assert_eq!(shortfall(0, 0, 1000 * MB, 0), None);
    }

    #[test]
    fn b7_reads_proc_fields() {
        let t = "Name:\tx\nVmSize:\t  2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(kb_field(t, "VmRSS:"), Some(1024 * 1024));
        assert_eq!(kb_field(t, "VmSize:"), Some(2048 * 1024));
        assert!(resident_bytes().is_some_and(|r| r > 0));
    }
}
