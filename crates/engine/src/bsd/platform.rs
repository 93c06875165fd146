//! The operating systems the BSD/Solaris path runs on, and the per-system facts it needs:
//! which filters run, whether loopback traffic is filtered and how a block's answer on
//! loopback behaves, and what a client's socket call returns for each answer.
//!
//! Every fact comes from the sources or manuals cited in `docs/platforms.md` (no BSD or
//! Solaris kernel runs here). A fact the sources read did not settle is `None` or
//! [`IcmpEffect::Unknown`], and the path reports it as unknown rather than guessing.

use super::Filter;
use crate::trace::Errno;
use model::ipf::filter::TunableValue;
use model::ipf::IpfRules;

/// An operating system (and, where it matters, a release) a BSD/Solaris path runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    /// Solaris 10 up to 11/06 (update 3): IPFilter runs as the `pfil` STREAMS module on
    /// the NICs only; loopback traffic is never filtered.
    Solaris10Pfil,
    /// Solaris 10 from 8/07 (update 4, packet filter hooks) without the loopback fix:
    /// loopback can be filtered (`set intercept_loopback true;`), but a `return-rst` /
    /// `return-icmp` there has no NIC to leave by and only drops (user story 7).
    Solaris10,
    /// Solaris 10 with the kernel patch that brings `fr_make_rst()`/`fr_make_icmp()`:
    /// a blocked loopback SYN/FIN is turned into the RST itself.
    Solaris10Fixed,
    /// Solaris 11 (ONNV after the fix, like illumos).
    Solaris11,
    /// illumos (OpenIndiana, OmniOS, SmartOS): illumos-gate `ip_fil_solaris.c`.
    Illumos,
    /// FreeBSD 13 and later (IPFilter and pf through `pfil(9)`).
    FreeBsd,
    /// NetBSD (IPFilter through `pfil(9)`).
    NetBsd,
    /// OpenBSD (pf).
    OpenBsd,
}

impl Os {
    /// Every system, in the order `docs/platforms.md` lists them.
    pub const ALL: [Os; 8] = [
        Os::Solaris10Pfil,
        Os::Solaris10,
        Os::Solaris10Fixed,
        Os::Solaris11,
        Os::Illumos,
        Os::FreeBsd,
        Os::NetBsd,
        Os::OpenBsd,
    ];

    /// The name `--os` takes.
    pub fn name(self) -> &'static str {
        match self {
            Os::Solaris10Pfil => "solaris10-pfil",
            Os::Solaris10 => "solaris10",
            Os::Solaris10Fixed => "solaris10-fixed",
            Os::Solaris11 => "solaris11",
            Os::Illumos => "illumos",
            Os::FreeBsd => "freebsd",
            Os::NetBsd => "netbsd",
            Os::OpenBsd => "openbsd",
        }
    }

    /// The system `--os NAME` names (case-insensitive; `smartos`, `omnios` and
    /// `openindiana` are illumos).
    pub fn from_name(name: &str) -> Option<Os> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "smartos" | "omnios" | "openindiana" => return Some(Os::Illumos),
            _ => {}
        }
        Os::ALL.into_iter().find(|os| os.name() == lower)
    }

    /// Whether this is Solaris or illumos (the Solaris network stack).
    pub fn is_solaris(self) -> bool {
        matches!(
            self,
            Os::Solaris10Pfil | Os::Solaris10 | Os::Solaris10Fixed | Os::Solaris11 | Os::Illumos
        )
    }

    /// The packet filters the system ships, in the order the path composes them.
    pub fn filters(self) -> &'static [Filter] {
        match self {
            Os::FreeBsd => &[Filter::Ipf, Filter::Pf],
            Os::OpenBsd => &[Filter::Pf],
            _ => &[Filter::Ipf],
        }
    }

    /// Whether `filter` sees packets on the loopback interface on this system.
    pub fn loopback_filtering(self, filter: Filter) -> LoopbackFiltering {
        match (self, filter) {
            (Os::Solaris10Pfil, _) => LoopbackFiltering::Never,
            (os, Filter::Ipf) if os.is_solaris() => LoopbackFiltering::InterceptLoopback,
            _ => LoopbackFiltering::Always,
        }
    }

    /// What becomes of a block's answer (`return-rst`, `return-icmp`, pf `return`) to a
    /// packet blocked on the loopback interface.
    pub fn loopback_answer(self, filter: Filter) -> LoopbackAnswer {
        match (self, filter) {
            (Os::Solaris10Pfil | Os::Solaris10, _) => LoopbackAnswer::Dropped,
            (Os::Solaris10Fixed | Os::Solaris11 | Os::Illumos, _) => {
                LoopbackAnswer::RewrittenInPlace
            }
            (_, Filter::Ipf) => LoopbackAnswer::Sent {
                refiltered_in: true,
            },
            (_, Filter::Pf) => LoopbackAnswer::Sent {
                refiltered_in: false,
            },
        }
    }

    /// The same system on the other side of the loopback fix, where a loopback block's
    /// answer differs: Solaris 10 with and without the patch.
    pub fn other_loopback_release(self) -> Option<Os> {
        match self {
            Os::Solaris10 => Some(Os::Solaris10Fixed),
            Os::Solaris10Fixed => Some(Os::Solaris10),
            _ => None,
        }
    }

    /// The interface name loopback traffic is filtered on.
    pub fn loopback_interface(self) -> &'static str {
        "lo0"
    }

    /// How long a TCP `connect()` keeps retransmitting its SYN when nothing comes back,
    /// before it fails (with `ETIMEDOUT`, or the error an ICMP message recorded).
    pub fn connect_timeout_secs(self) -> u32 {
        if self.is_solaris() {
            // tcp_ip_abort_cinterval, 180000 ms.
            180
        } else {
            // TCPTV_KEEP_INIT, net.inet.tcp.keepinit: 75 s.
            75
        }
    }

    /// About how long after the first SYN a recorded ICMP error ([`IcmpEffect::Soft`])
    /// ends `connect()`.
    pub fn soft_error_after_secs(self) -> u32 {
        match self {
            // tcp_notify() drops once t_rxtshift > 3: the fourth SYN retransmit, one
            // second apart (tcp_syn_backoff), draws the ICMP that ends it.
            Os::FreeBsd => 4,
            // tcp_client_errno is reported when the connection attempt is abandoned.
            _ => self.connect_timeout_secs(),
        }
    }

    /// What the socket call of a locally generated packet returns when a filter blocks
    /// it on its way out (`None`: not settled by the sources read).
    pub fn blocked_send_errno(self) -> Option<Errno> {
        match self {
            // ip_output_pfil(): PFIL_DROPPED -> EPERM.
            Os::FreeBsd => Some(Errno::Eperm),
            _ => None,
        }
    }

    /// The ICMP (or ICMPv6) error, type and code, a router sends back for a packet it has
    /// no route for (`None`: not settled by the sources read). The BSDs keep 4.4BSD's
    /// `ip_forward()`: no route -> `icmp_error(m, ICMP_UNREACH, ICMP_UNREACH_HOST, ...)`
    /// (OpenBSD after `route_mpath()`, NetBSD, FreeBSD); their KAME `ip6_forward()`:
    /// `icmp6_error(..., ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, 0)`.
    pub fn no_route_error(self, v6: bool) -> Option<(u8, u8)> {
        match self {
            Os::FreeBsd | Os::NetBsd | Os::OpenBsd if v6 => Some((1, 0)),
            Os::FreeBsd | Os::NetBsd | Os::OpenBsd => Some((3, 1)),
            _ => None,
        }
    }

    /// What an ICMP (or ICMPv6) error does to a TCP connection in `SYN_SENT`.
    pub fn tcp_icmp_effect(self, v6: bool, icmp_type: u8, code: u8) -> IcmpEffect {
        if self.is_solaris() {
            return solaris_tcp_icmp(v6, icmp_type, code);
        }
        match self {
            Os::FreeBsd => freebsd_tcp_icmp(v6, icmp_type, code),
            _ => IcmpEffect::Unknown,
        }
    }

    /// What an ICMP (or ICMPv6) error does to a connected UDP socket: the error its next
    /// `recv()` returns, `None` when the message is ignored.
    pub fn udp_icmp_errno(self, v6: bool, icmp_type: u8, code: u8) -> IcmpEffect {
        let port_unreachable = if v6 {
            icmp_type == 1 && code == 4
        } else {
            icmp_type == 3 && (code == 3 || code == 2)
        };
        if port_unreachable {
            // Solaris udp_icmp_error(); BSD udp_ctlinput() with inetctlerrmap.
            return IcmpEffect::Immediate(Errno::Econnrefused);
        }
        if self.is_solaris() {
            // Everything else is a transient error udp_icmp_error() drops.
            IcmpEffect::Ignored
        } else {
            IcmpEffect::Unknown
        }
    }
}

/// The platform a path runs on: the system, and the switches of its configuration that
/// change the path (read from the rules files by their front end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// The system.
    pub os: Os,
    /// IPFilter's `set intercept_loopback true;` (Solaris, illumos; off by default).
    pub intercept_loopback: bool,
}

impl Platform {
    /// `os` with its defaults (loopback interception off).
    pub fn new(os: Os) -> Platform {
        Platform {
            os,
            intercept_loopback: false,
        }
    }

    /// `os` with the switches an IPFilter configuration sets: `set intercept_loopback
    /// true;` (`ipf -T ipf_loopback`), the last one written winning.
    pub fn with_ipf(os: Os, rules: &IpfRules) -> Platform {
        let intercept_loopback = rules
            .tunables
            .iter()
            .rfind(|t| matches!(t.name.as_str(), "intercept_loopback" | "ipf_loopback"))
            .is_some_and(|t| match t.value {
                TunableValue::Bool(on) => on,
                TunableValue::Number(n) => n != 0,
            });
        Platform {
            os,
            intercept_loopback,
        }
    }

    /// Whether `filter` sees packets on the loopback interface here.
    pub fn filters_loopback(&self, filter: Filter) -> bool {
        match self.os.loopback_filtering(filter) {
            LoopbackFiltering::Never => false,
            LoopbackFiltering::InterceptLoopback => self.intercept_loopback,
            LoopbackFiltering::Always => true,
        }
    }
}

/// Whether a filter sees the loopback interface's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackFiltering {
    /// Never: the filter is not hooked there.
    Never,
    /// Only with `set intercept_loopback true;` in the IPFilter configuration (Solaris,
    /// illumos: the loopback hooks are registered only when `ipf_loopback` is set).
    InterceptLoopback,
    /// Always, like any other interface (pf's `set skip on lo0` is a rule, not this).
    Always,
}

/// What becomes of a block's answer to a packet blocked on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackAnswer {
    /// Nothing is sent: the filter can only send by a NIC; the packet is just dropped and
    /// a local client waits until its timeout.
    Dropped,
    /// The blocked packet itself is turned into the answer in the loopback-in event
    /// (Solaris `fr_make_rst()` / `fr_make_icmp()`): only inbound, and for TCP only a
    /// SYN or FIN; the answer comes from the packet's destination address.
    RewrittenInPlace,
    /// Sent through the stack like any other: it crosses the loopback interface inbound,
    /// where the filter sees it again when `refiltered_in` (IPFilter's fast route skips
    /// the out rules, not the in rules); pf's own answers are tagged and never filtered.
    Sent {
        /// The answer passes through the filter's `in on lo0` rules.
        refiltered_in: bool,
    },
}

/// What an ICMP error does to a client's socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpEffect {
    /// The call fails at once with this error.
    Immediate(Errno),
    /// The error is only recorded: the client retransmits and, when it finally gives up,
    /// fails with this error instead of `ETIMEDOUT`.
    Soft(Errno),
    /// Ignored: the client waits as if nothing came back.
    Ignored,
    /// Not settled by the sources read for this system.
    Unknown,
}

/// `tcp_icmp_input()` / `tcp_icmp_error_ipv6()` (illumos `tcp_input.c`).
fn solaris_tcp_icmp(v6: bool, icmp_type: u8, code: u8) -> IcmpEffect {
    match (v6, icmp_type, code) {
        (false, 3, 2 | 3) => IcmpEffect::Immediate(Errno::Econnrefused),
        (false, 3, 1) => IcmpEffect::Soft(Errno::Ehostunreach),
        (false, 3, 0) => IcmpEffect::Soft(Errno::Enetunreach),
        (true, 1, 4) => IcmpEffect::Immediate(Errno::Econnrefused),
        (true, 1, 0..=3) => IcmpEffect::Soft(Errno::Ehostunreach),
        _ => IcmpEffect::Ignored,
    }
}

/// `tcp_ctlinput()` (FreeBSD `tcp_subr.c`): the errors `icmp_errmap()` maps to
/// `ECONNREFUSED` drop a connection in `SYN_SENT` at once (`net.inet.tcp.icmp_may_rst`,
/// default 1); the others are recorded by `tcp_notify()`.
fn freebsd_tcp_icmp(v6: bool, icmp_type: u8, code: u8) -> IcmpEffect {
    match (v6, icmp_type, code) {
        (false, 3, 2 | 3 | 13) => IcmpEffect::Immediate(Errno::Econnrefused),
        (false, 3, 4) => IcmpEffect::Ignored,
        (false, 3, _) => IcmpEffect::Soft(Errno::Ehostunreach),
        (true, 1, 4) => IcmpEffect::Immediate(Errno::Econnrefused),
        (true, 1, _) => IcmpEffect::Soft(Errno::Ehostunreach),
        _ => IcmpEffect::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back() {
        for os in Os::ALL {
            assert_eq!(Os::from_name(os.name()), Some(os));
        }
        assert_eq!(Os::from_name("OmniOS"), Some(Os::Illumos));
        assert_eq!(Os::from_name("solaris9"), None);
    }

    #[test]
    fn story_7_loopback_answers_differ_by_release() {
        assert_eq!(
            Os::Solaris10.loopback_answer(Filter::Ipf),
            LoopbackAnswer::Dropped
        );
        assert_eq!(
            Os::Solaris11.loopback_answer(Filter::Ipf),
            LoopbackAnswer::RewrittenInPlace
        );
        assert_eq!(
            Os::Solaris10Pfil.loopback_filtering(Filter::Ipf),
            LoopbackFiltering::Never
        );
        assert_eq!(
            Os::Illumos.loopback_filtering(Filter::Ipf),
            LoopbackFiltering::InterceptLoopback
        );
        assert_eq!(
            Os::FreeBsd.loopback_filtering(Filter::Ipf),
            LoopbackFiltering::Always
        );
    }

    #[test]
    fn solaris_records_host_unreachable_until_timeout() {
        assert_eq!(
            Os::Illumos.tcp_icmp_effect(false, 3, 1),
            IcmpEffect::Soft(Errno::Ehostunreach)
        );
        assert_eq!(
            Os::Illumos.tcp_icmp_effect(false, 3, 13),
            IcmpEffect::Ignored
        );
        assert_eq!(
            Os::FreeBsd.tcp_icmp_effect(false, 3, 13),
            IcmpEffect::Immediate(Errno::Econnrefused)
        );
        assert_eq!(
            Os::OpenBsd.tcp_icmp_effect(false, 3, 3),
            IcmpEffect::Unknown
        );
    }
}
