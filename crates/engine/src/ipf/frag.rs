//! The fragment cache (`ip_frag.c`): `keep frags` (and a state entry's pass) remembers
//! a fragmented packet's first fragment, and the later fragments of the same packet
//! (same interface, addresses, IP id and copied options) then pass as it did, before the
//! state table and the rules are read.

use std::net::IpAddr;

use super::fin::{flx, Fin};
use super::flags as fr;

/// The options copied into every fragment (`IPF_OPTCOPY`).
const OPTCOPY: u32 = 0x07ff00;

/// One fragmented packet.
#[derive(Debug, Clone, PartialEq)]
pub struct FragEntry {
    interface: String,
    src: IpAddr,
    dst: IpAddr,
    optmsk: u32,
    secmsk: u16,
    auth: u16,
    id: u32,
    /// Where the next fragment is expected (8-byte units).
    next_off: u32,
    /// Where the first fragment's data ends (8-byte units), 0 when not seen.
    first_end: u32,
    seen0: bool,
    /// The flags of the rule that passed the first fragment.
    pub pass: u32,
    /// That rule (index), when known.
    pub rule: Option<usize>,
    /// Its number in its list.
    pub rulen: u32,
}

/// The cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FragTable {
    entries: Vec<FragEntry>,
}

impl FragTable {
    fn key_matches(e: &FragEntry, fin: &Fin, interface: &str) -> bool {
        e.interface == interface
            && e.src == fin.src
            && e.dst == fin.dst
            && e.optmsk == fin.optmsk & OPTCOPY
            && e.secmsk == fin.secmsk
            && e.auth == fin.auth
            && e.id == fin.id
    }

    /// `ipf_frag_new`.
    pub fn add(&mut self, fin: &Fin, interface: &str, pass: u32, rule: Option<(usize, u32)>) {
        if fin.flx & (flx::FRAG | flx::BAD) != flx::FRAG {
            return;
        }
        if pass & fr::FRSTRICT != 0 && fin.off != 0 {
            return;
        }
        if self
            .entries
            .iter()
            .any(|e| FragTable::key_matches(e, fin, interface))
        {
            return;
        }
        // `fin_off >> 3`: both families hold the offset in bytes (`ipf_pr_fragment6`).
        let off = fin.off >> 3;
        let first_end = if off == 0 {
            ((fin.plen - fin.dp as i64).max(0) >> 3) as u32
        } else {
            0
        };
        self.entries.push(FragEntry {
            interface: interface.to_string(),
            src: fin.src,
            dst: fin.dst,
            optmsk: fin.optmsk & OPTCOPY,
            secmsk: fin.secmsk,
            auth: fin.auth,
            id: fin.id,
            next_off: off + (fin.dlen.max(0) >> 3) as u32,
            first_end,
            seen0: off == 0,
            pass,
            rule: rule.map(|(i, _)| i),
            rulen: rule.map_or(0, |(_, n)| n),
        });
    }

    /// `ipf_frag_lookup`: the entry a later fragment belongs to.
    pub fn lookup(&mut self, fin: &mut Fin, interface: &str) -> Option<&FragEntry> {
        if fin.flx & (flx::SHORT | flx::BAD) != 0 {
            return None;
        }
        // `fin_off >> 3`: both families hold the offset in bytes (`ipf_pr_fragment6`).
        let off = fin.off >> 3;
        let mut found = None;
        for (i, e) in self.entries.iter_mut().enumerate() {
            if !FragTable::key_matches(e, fin, interface) {
                continue;
            }
            if e.seen0 {
                if off == 0 {
                    continue;
                }
                if e.first_end != 0 && off < e.first_end {
                    fin.flx |= flx::BAD;
                    return None;
                }
            } else if off == 0 {
                e.seen0 = true;
            }
            if off == e.next_off {
                e.next_off = (fin.dlen.max(0) >> 3) as u32 + off;
            } else if e.pass & fr::FRSTRICT != 0 {
                continue;
            }
            found = Some(i);
            break;
        }
        found.map(|i| &self.entries[i])
    }
}
