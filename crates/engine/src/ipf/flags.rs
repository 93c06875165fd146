//! A rule's flags as IPFilter keeps them (`fr_flags`, the `FR_*` bits of `ip_fil.h`):
//! what a match does, carried through the state and fragment tables and into ipftest's
//! answer (`ipf_check_result` in `tools/ipftest.c`) and its `-D` dumps.

use model::ipf::filter::{Action, BlockReturn, Dir};
use model::ipf::FilterRule;

/// `block`.
pub const BLOCK: u32 = 0x00001;
/// `pass`.
pub const PASS: u32 = 0x00002;
/// `auth`.
pub const AUTH: u32 = 0x00003;
/// `preauth`.
pub const PREAUTH: u32 = 0x00004;
/// `count`.
pub const ACCOUNT: u32 = 0x00005;
/// `skip`.
pub const SKIP: u32 = 0x00006;
/// `decapsulate`.
pub const DECAPSULATE: u32 = 0x00008;
/// `call`.
pub const CALL: u32 = 0x00009;
/// The action bits.
pub const CMDMASK: u32 = 0x0000f;
/// `log`.
pub const LOG: u32 = 0x00010;
/// The log and action bits.
pub const LOGMASK: u32 = LOG | CMDMASK;
/// `call now`.
pub const CALLNOW: u32 = 0x00020;
/// `quick`.
pub const QUICK: u32 = 0x00100;
/// `keep frags`.
pub const KEEPFRAG: u32 = 0x00200;
/// `keep state`.
pub const KEEPSTATE: u32 = 0x00400;
/// `fastroute`.
pub const FASTROUTE: u32 = 0x00800;
/// `return-rst`.
pub const RETRST: u32 = 0x01000;
/// `return-icmp`.
pub const RETICMP: u32 = 0x02000;
/// `return-icmp-as-dest`.
pub const FAKEICMP: u32 = 0x03000;
/// `out` rules.
pub const OUTQUE: u32 = 0x04000;
/// `in` rules.
pub const INQUE: u32 = 0x08000;
/// `log body`.
pub const LOGBODY: u32 = 0x10000;
/// `log first`.
pub const LOGFIRST: u32 = 0x20000;
/// `log or-block`.
pub const LOGORBLOCK: u32 = 0x40000;
/// `keep state (loose)`.
pub const STLOOSE: u32 = 0x80000;
/// `keep frags (strict)`.
pub const FRSTRICT: u32 = 0x100000;
/// `keep state (strict)`.
pub const STSTRICT: u32 = 0x200000;
/// `keep state (newisn)`.
pub const NEWISN: u32 = 0x400000;
/// `keep state (no-icmp-err)`.
pub const NOICMPERR: u32 = 0x800000;
/// `keep state (sync)`.
pub const STATESYNC: u32 = 0x1000000;
/// Set on every rule loaded from user space.
pub const COPIED: u32 = 0x2000000;
/// No rule matched.
pub const NOMATCH: u32 = 0x8000000;
/// The answer bits.
pub const RETMASK: u32 = RETICMP | RETRST | FAKEICMP;

/// The flags `ipf` loads for `rule`.
pub fn of_rule(rule: &FilterRule) -> u32 {
    let mut f = COPIED;
    f |= match &rule.action {
        Action::Pass => PASS,
        Action::Block(ret) => {
            BLOCK
                | match ret {
                    Some(BlockReturn::Rst) => RETRST,
                    Some(BlockReturn::Icmp { as_dest: true, .. }) => FAKEICMP,
                    Some(BlockReturn::Icmp { as_dest: false, .. }) => RETICMP,
                    None => 0,
                }
        }
        Action::Log => LOG,
        Action::Count => ACCOUNT,
        Action::Skip(_) => SKIP,
        Action::Auth => AUTH,
        Action::Preauth => PREAUTH,
        Action::Nomatch => NOMATCH,
        Action::Decapsulate => DECAPSULATE,
        Action::Call { now, .. } => CALL | if *now { CALLNOW } else { 0 },
    };
    if let Some(log) = &rule.log {
        f |= LOG;
        if log.body {
            f |= LOGBODY;
        }
        if log.first {
            f |= LOGFIRST;
        }
        if log.or_block {
            f |= LOGORBLOCK;
        }
    }
    if rule.quick {
        f |= QUICK;
    }
    if let Some(strict) = rule.keep_frags {
        f |= KEEPFRAG;
        if strict {
            f |= FRSTRICT;
        }
    }
    if let Some(ks) = &rule.keep_state {
        f |= KEEPSTATE;
        if ks.loose {
            f |= STLOOSE;
        }
        if ks.strict {
            f |= STSTRICT;
        }
        if ks.newisn {
            f |= NEWISN;
        }
        if ks.no_icmp_err {
            f |= NOICMPERR;
        }
        if ks.sync {
            f |= STATESYNC;
        }
    }
    if rule.fastroute {
        f |= FASTROUTE;
    }
    f |= match rule.direction {
        Dir::In => INQUE,
        Dir::Out => OUTQUE,
    };
    f
}

/// Whether the packet passes (`FR_ISPASS`).
pub fn is_pass(pass: u32) -> bool {
    pass & CMDMASK == PASS
}

/// Whether it is blocked (`FR_ISBLOCK`).
pub fn is_block(pass: u32) -> bool {
    pass & CMDMASK == BLOCK
}
