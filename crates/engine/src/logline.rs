//! The line a LOG rule writes, in the kernel's `nf_log_syslog` format.

use model::expr::Log;
use model::{Host, Packet};

/// `<prefix>IN=tap0 OUT=eno1 MAC=... SRC=... DST=... LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0`
/// for `packet` as the rule's hook sees it; `iif`/`oif` as that hook knows them.
pub fn format(log: &Log, packet: &Packet, iif: Option<&str>, oif: Option<&str>, host: &Host) -> String {
    let _ = (log, packet, iif, oif, host);
    todo!("logline::format")
}
