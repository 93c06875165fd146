//! `whyblocked ipftest`'s output, as IPFilter's `ipftest` prints it (`print_result` and
//! `test_usermode` in `tools/ipftest.c`, `printpacket`/`printpacket6`, `mb_hexdump`), so
//! scripts that read ipftest's output read ours.

use engine::ipf::flags as fr;
use engine::ipf::Check;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// How ipftest was asked to print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// `-b`: the verdict only.
    pub brief: bool,
    /// `-N` was given: print the packet after translation instead of the verdict.
    pub nat: bool,
    /// `-x`: packets in hex.
    pub hex: bool,
}

/// ipftest's word for a result (`ipf_check_result`, then `print_result`).
pub fn verdict(check: &Check) -> &'static str {
    let pass = check.pass;
    if pass & fr::NOMATCH != 0 {
        return if check.freed { "bad-packet" } else { "nomatch" };
    }
    match pass & fr::RETMASK {
        fr::RETRST => return "block return-rst",
        fr::RETICMP => return "block return-icmp",
        fr::FAKEICMP => return "block return-icmp-as-dest",
        _ => {}
    }
    match pass & fr::CMDMASK {
        fr::PASS => "pass",
        fr::BLOCK => "block",
        fr::AUTH => "auth",
        fr::ACCOUNT => "account",
        fr::PREAUTH => "preauth",
        _ => "unrecognised return",
    }
}

/// What ipftest prints for one packet, including its line ends. `out`: the direction;
/// `interface`: the interface name it printed the packet on.
pub fn result(check: &Check, out: bool, interface: &str, opts: PrintOptions) -> String {
    let mut s = String::new();
    if !opts.nat {
        s.push_str(verdict(check));
    }
    if !opts.brief {
        s.push(' ');
        s.push_str(&packet(&check.bytes, out, interface, opts.hex));
        s.push_str("--------------");
    } else if opts.nat {
        if check.freed {
            s.push_str("0\n");
        } else {
            s.push_str(&packet(&check.bytes, out, interface, opts.hex));
        }
    }
    if !(opts.brief && opts.nat) {
        s.push('\n');
    }
    s
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b.get(at).copied().unwrap_or(0), b.get(at + 1).copied().unwrap_or(0)])
}

/// `printpacket`: one line (hex: `mb_hexdump` and an empty line).
pub fn packet(bytes: &[u8], out: bool, interface: &str, hex: bool) -> String {
    let mut s = String::new();
    if hex {
        let mut i = 0;
        while i < bytes.len() {
            let _ = write!(s, "{:02x}", bytes[i]);
            if bytes.len() - i > 1 {
                i += 1;
                let _ = write!(s, "{:02x}", bytes[i]);
            }
            s.push(' ');
            i += 1;
        }
        s.push_str("\n\n");
        return s;
    }
    s.push_str(if out { "> " } else { "< " });
    s.push_str(interface);
    s.push(' ');
    if bytes.first().map(|b| b >> 4) == Some(6) {
        packet6(bytes, &mut s);
        return s;
    }
    let hl = usize::from(bytes.first().copied().unwrap_or(0) & 0x0f) * 4;
    let off = be16(bytes, 6);
    let p = bytes.get(9).copied().unwrap_or(0);
    let addr = |at: usize| {
        Ipv4Addr::new(
            bytes.get(at).copied().unwrap_or(0),
            bytes.get(at + 1).copied().unwrap_or(0),
            bytes.get(at + 2).copied().unwrap_or(0),
            bytes.get(at + 3).copied().unwrap_or(0),
        )
    };
    let _ = write!(s, "ip #{} {}({}) {}", be16(bytes, 4), be16(bytes, 2), hl, p);
    let frag_off = off & 0x1fff;
    if frag_off != 0 {
        let _ = write!(s, " @{}", u32::from(off) << 3);
    }
    let _ = write!(s, " {}", addr(12));
    if frag_off == 0 && (p == 6 || p == 17) {
        let _ = write!(s, ",{}", be16(bytes, hl));
    }
    let _ = write!(s, " > {}", addr(16));
    if frag_off == 0 {
        if p == 6 || p == 17 {
            let _ = write!(s, ",{}", be16(bytes, hl + 2));
        }
        let flags = bytes.get(hl + 13).copied().unwrap_or(0);
        if p == 6 && flags != 0 {
            s.push(' ');
            for (bit, c) in [
                (0x01, 'F'),
                (0x02, 'S'),
                (0x04, 'R'),
                (0x08, 'P'),
                (0x10, 'A'),
                (0x20, 'U'),
                (0x40, 'E'),
                (0x80, 'C'),
            ] {
                if flags & bit != 0 {
                    s.push(c);
                }
            }
        }
    }
    s.push('\n');
    s
}

/// `printpacket6`.
fn packet6(b: &[u8], s: &mut String) {
    let p = b.get(6).copied().unwrap_or(0);
    let flow = (u32::from(be16(b, 0)) << 16 | u32::from(be16(b, 2))) & 0xfffff;
    let plen = be16(b, 4);
    if flow == 0 {
        let _ = write!(s, "ip6/{} {} 0 {}", b[0] & 0x0f, plen, p);
    } else {
        let _ = write!(s, "ip6/{} {} {:#x} {}", b[0] & 0x0f, plen, flow, p);
    }
    let addr = |at: usize| {
        (0..8)
            .map(|k| format!("{:x}", be16(b, at + 2 * k)))
            .collect::<Vec<_>>()
            .join(":")
    };
    let ports = plen >= 4 && (p == 6 || p == 17);
    let _ = write!(s, " {}", addr(8));
    if ports {
        let _ = write!(s, ",{}", be16(b, 40));
    }
    let _ = write!(s, " > {}", addr(24));
    if ports {
        let _ = write!(s, ",{}", be16(b, 42));
    }
    s.push('\n');
}
