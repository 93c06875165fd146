//! What a pf `block` rule sends back.
//!
//! From OpenBSD `sys/net/pf.c` `pf_test_rule` (after the last matching rule is known) and
//! `sbin/pfctl/parse.y` (`blockspec` and the `pfrule` action switch):
//! - `return-rst` and `return` answer a TCP segment that is not itself a RST with a RST
//!   (`pf_send_tcp(... TH_RST|TH_ACK ...)`).
//! - Otherwise an IPv4 packet gets the rule's `return_icmp`, unless it is an ICMP message of
//!   an error type (`ICMP_INFOTYPE`: only echo, router, timestamp, information and mask
//!   messages are answered); an IPv6 packet gets `return_icmp6`, unless it is an ICMPv6 error
//!   (type below 128) or a redirect (137).
//! - `return` and `return-icmp` set `return_icmp` to unreachable/port (3/3) and
//!   `return_icmp6` to unreachable/no-port (1/4), `return-icmp(code)` the IPv4 code,
//!   `return-icmp6(code)` the IPv6 one; `return-rst` sets neither, so a UDP packet blocked by
//!   `return-rst` is dropped silently. `return-icmp` on TCP sends the ICMP error, not a RST.
//! - A plain `block` takes `set block-policy` at the point pfctl read it: `drop` (the
//!   default) leaves both ICMP fields 0 and the flags clear, so nothing is sent; `return`
//!   makes it a `block return`.

use model::packet::{TcpFlags, L4};
use model::pf::{BlockPolicy, BlockPolicyOption};
use model::Packet;

use crate::bsd::BlockAnswer;

/// ICMP unreachable and its port-unreachable code (`returnicmpdefault`).
const ICMP_UNREACH: u8 = 3;
const ICMP_UNREACH_PORT: u8 = 3;
/// ICMPv6 destination unreachable, no port (`returnicmp6default`).
const ICMP6_DST_UNREACH: u8 = 1;
const ICMP6_DST_UNREACH_NOPORT: u8 = 4;

/// The answer `policy` (as written on the rule) asks for `packet`, with `default` the
/// `set block-policy` in force where the rule was written.
pub fn block_answer(
    policy: BlockPolicy,
    default: BlockPolicyOption,
    packet: &Packet,
) -> Option<BlockAnswer> {
    let policy = match (policy, default) {
        (BlockPolicy::Default, BlockPolicyOption::Drop) => BlockPolicy::Drop,
        (BlockPolicy::Default, BlockPolicyOption::Return) => BlockPolicy::Return,
        (written, _) => written,
    };
    let (rst, icmp4, icmp6) = match policy {
        BlockPolicy::Default | BlockPolicy::Drop => return None,
        BlockPolicy::Return => (
            true,
            Some(ICMP_UNREACH_PORT),
            Some(ICMP6_DST_UNREACH_NOPORT),
        ),
        BlockPolicy::ReturnRst { .. } => (true, None, None),
        BlockPolicy::ReturnIcmp { code4, code6, .. } => (
            false,
            Some(code4.unwrap_or(ICMP_UNREACH_PORT)),
            Some(code6.unwrap_or(ICMP6_DST_UNREACH_NOPORT)),
        ),
    };
    if let L4::Tcp { flags, .. } = packet.l4 {
        if rst && flags.0 & TcpFlags::RST.0 == 0 {
            return Some(BlockAnswer::Rst);
        }
    }
    let icmp = |icmp_type, code| BlockAnswer::Icmp {
        icmp_type,
        code,
        as_dest: false,
    };
    if packet.src.is_ipv4() {
        let answerable = match packet.l4 {
            L4::Icmp { icmp_type, .. } => icmp_info_type(icmp_type),
            _ => true,
        };
        icmp4
            .filter(|_| answerable)
            .map(|code| icmp(ICMP_UNREACH, code))
    } else {
        let answerable = match packet.l4 {
            L4::Icmpv6 { icmp_type, .. } => icmp_type >= 128 && icmp_type != 137,
            _ => true,
        };
        icmp6
            .filter(|_| answerable)
            .map(|code| icmp(ICMP6_DST_UNREACH, code))
    }
}

/// `ICMP_INFOTYPE` (netinet/ip_icmp.h): the query and reply types, which may be answered
/// with an error; errors never are.
fn icmp_info_type(t: u8) -> bool {
    matches!(t, 0 | 8 | 9 | 10 | 13 | 14 | 15 | 16 | 17 | 18)
}
