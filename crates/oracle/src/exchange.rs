//! A whole connection through the real kernel: the request from the peer it comes from,
//! the reply from the other side addressed as the kernel's own conntrack expects it (the
//! request's headers after NAT, mirrored), then data both ways, one packet at a time, each
//! read back as the kernel's walk. It is the kernel's side of
//! `analysis::remedy::exchange::simulate`, and [`compare`] sets the two side by side.
//!
//! The test rig's endpoints are not real sockets. Where this host is an endpoint (a request
//! delivered here, or sent from here), its stack would answer the injected packets with a
//! reset or a port unreachable, and a reset can end the conntrack entry under test. An
//! [`ENDPOINT_TABLE`] (ours, on output before conntrack and before tracing) drops those
//! answers, as a listening application would never send them; the peers' stacks are kept
//! silent the same way ([`silence_peers`]).

use crate::run::Oracle;
use analysis::agree::Listing;
use analysis::remedy::exchange::{starts_a_connection, Exchange, StepRole};
use analysis::FixRule;
use model::kernel_walk::{KernelFate, KernelWalk};
use model::{Packet, Ruleset, TcpFlags, L4};
use netlink::LiveError;

/// The table that stands for listening applications on the test host (see the module).
pub const ENDPOINT_TABLE: &str = "wbendpoint";

/// One packet of the exchange as the kernel handled it.
#[derive(Debug, Clone)]
pub struct KernelExchangeStep {
    /// Which packet it is.
    pub role: StepRole,
    /// The packet as injected.
    pub packet: Packet,
    /// Its walk through the kernel.
    pub walk: KernelWalk,
}

impl KernelExchangeStep {
    /// Whether the kernel let it through (delivered, forwarded or sent).
    pub fn passed(&self) -> bool {
        matches!(
            self.walk.fate,
            KernelFate::Delivered | KernelFate::Forwarded { .. } | KernelFate::Sent { .. }
        )
    }
}

/// The connection as the kernel handled it; it stops at the first packet that did not pass.
#[derive(Debug, Clone)]
pub struct KernelExchange {
    /// The packets sent, in order.
    pub steps: Vec<KernelExchangeStep>,
    /// How many packets the whole exchange has (4 for TCP, 2 for UDP and echo, 1 for a
    /// packet that opens nothing).
    pub length: usize,
}

impl KernelExchange {
    /// Whether every packet of the connection got through.
    pub fn works(&self) -> bool {
        self.steps.len() == self.length && self.steps.iter().all(KernelExchangeStep::passed)
    }

    /// The first packet the kernel stopped.
    pub fn first_failure(&self) -> Option<&KernelExchangeStep> {
        self.steps.iter().find(|s| !s.passed())
    }
}

/// How many packets the exchange `request` starts has.
pub fn exchange_length(request: &Packet) -> usize {
    match request.l4 {
        _ if !starts_a_connection(request) => 1,
        L4::Tcp { .. } => 4,
        _ => 2,
    }
}

fn endpoint_table(rules: &str) -> String {
    format!(
        "table inet {ENDPOINT_TABLE} {{\n\
         \tchain out {{ type filter hook output priority -360; policy accept; {rules} }}\n\
         }}\n"
    )
}

/// Adds the [`ENDPOINT_TABLE`] to the router (after [`Oracle::load`], which flushes it).
pub fn add_endpoints(oracle: &Oracle) -> Result<(), LiveError> {
    let router = endpoint_table(
        "tcp flags & rst == rst drop; \
         icmp type destination-unreachable drop; \
         icmpv6 type destination-unreachable drop;",
    );
    oracle
        .host
        .router
        .exec("nft", &["-f", "-"], Some(router.as_bytes()))?;
    Ok(())
}

/// Keeps every peer's stack silent, once per test host: a peer may own an address of the
/// exchange (the test host gives peers the packet's addresses when the host's routes are
/// unknown), and its reset or echo reply would meet the entry under test. Frames the
/// oracle injects from a peer bypass the peer's own hooks.
pub fn silence_peers(oracle: &Oracle) -> Result<(), LiveError> {
    let peer = endpoint_table(
        "meta l4proto { tcp, udp, icmp } drop; \
         icmpv6 type { destination-unreachable, echo-reply } drop;",
    );
    for p in &oracle.host.peers {
        p.ns.exec("nft", &["-f", "-"], Some(peer.as_bytes()))?;
    }
    Ok(())
}

/// Runs a remedy's rules in the router, as the admin would type them (`iptables ...`,
/// `nft ...`, through `sh -c`), then re-reads the kernel's listing so the walks place the
/// new rules. A command the kernel refuses is an error naming it.
pub fn apply(oracle: &mut Oracle, rules: &[FixRule]) -> Result<(), LiveError> {
    for r in rules {
        oracle
            .host
            .router
            .exec("sh", &["-c", &r.command], None)
            .map_err(|e| LiveError::Setup(format!("applying `{}`: {e}", r.command)))?;
    }
    let json = oracle
        .host
        .router
        .exec("nft", &["-a", "-j", "list", "ruleset"], None)?;
    oracle.listing = Listing::parse(&json).map_err(LiveError::Setup)?;
    Ok(())
}

/// Sends the exchange `request` starts through the loaded ruleset (parsed as `ruleset`),
/// one packet at a time on a fresh conntrack table, and reads each walk back.
pub fn run(
    oracle: &mut Oracle,
    ruleset: &Ruleset,
    request: &Packet,
) -> Result<KernelExchange, LiveError> {
    oracle.flush_conntrack()?;
    let length = exchange_length(request);
    let mut steps = Vec::with_capacity(length);
    let done = |steps| Ok(KernelExchange { steps, length });
    if !send(
        oracle,
        ruleset,
        &mut steps,
        StepRole::Request,
        request.clone(),
    )? || length == 1
    {
        return done(steps);
    }
    let Some(reply) = reply_to(request, &steps[0].walk) else {
        return done(steps);
    };
    if !send(oracle, ruleset, &mut steps, StepRole::Reply, reply.clone())? || length == 2 {
        return done(steps);
    }
    if send(
        oracle,
        ruleset,
        &mut steps,
        StepRole::DataForward,
        ack(request),
    )? {
        send(oracle, ruleset, &mut steps, StepRole::DataBack, ack(&reply))?;
    }
    done(steps)
}

/// Sends one packet and records its walk; whether it passed.
fn send(
    oracle: &mut Oracle,
    ruleset: &Ruleset,
    steps: &mut Vec<KernelExchangeStep>,
    role: StepRole,
    packet: Packet,
) -> Result<bool, LiveError> {
    let walk = oracle
        .run(ruleset, std::slice::from_ref(&packet))?
        .pop()
        .ok_or_else(|| LiveError::Setup("the oracle returned no walk".into()))?;
    let step = KernelExchangeStep { role, packet, walk };
    let passed = step.passed();
    steps.push(step);
    Ok(passed)
}

/// The reply the other end sends: the request's headers as they left the kernel's last
/// hook (after NAT), mirrored; entering where the request left (from the peer there), or
/// generated by the router when the request was delivered to it. `None` when the walk
/// shows no headers to mirror.
fn reply_to(request: &Packet, walk: &KernelWalk) -> Option<Packet> {
    let h = walk.final_headers.as_ref()?;
    let (sport, dport) = h.ports.map_or((0, 0), |(s, d)| (d, s));
    let l4 = match request.l4 {
        L4::Tcp { .. } => L4::Tcp {
            sport,
            dport,
            flags: TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
        },
        L4::Udp { .. } => L4::Udp { sport, dport },
        L4::Sctp { .. } => L4::Sctp { sport, dport },
        L4::Icmp { id, .. } => L4::Icmp {
            icmp_type: 0,
            code: 0,
            id: h.icmp_id.unwrap_or(id),
        },
        L4::Icmpv6 { id, .. } => L4::Icmpv6 {
            icmp_type: 129,
            code: 0,
            id: h.icmp_id.unwrap_or(id),
        },
        L4::Other(p) => L4::Other(p),
    };
    let mut reply = Packet::new(h.dst, h.src, l4);
    reply.iif = match &walk.fate {
        KernelFate::Forwarded { oif } | KernelFate::Sent { oif } => Some(oif.clone()),
        _ => None,
    };
    Some(reply)
}

/// The same TCP segment with only ACK set.
fn ack(p: &Packet) -> Packet {
    let mut p = p.clone();
    if let L4::Tcp { flags, .. } = &mut p.l4 {
        *flags = TcpFlags::ACK;
    }
    p
}

/// One step of the exchange, simulated and in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepAgreement {
    /// Which packet.
    pub role: StepRole,
    /// Whether the simulation let it through (`None`: not simulated, or undecided).
    pub simulated: Option<bool>,
    /// Whether the kernel let it through (`None`: the kernel exchange stopped before it).
    pub kernel: Option<bool>,
}

/// The simulation of an exchange against the kernel's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeAgreement {
    /// Step by step.
    pub steps: Vec<StepAgreement>,
    /// Whether the firewall lets the whole exchange through in the simulation.
    pub simulated_passes: bool,
    /// Whether it does in the kernel.
    pub kernel_passes: bool,
}

impl ExchangeAgreement {
    /// Both say the same of every step.
    pub fn agree(&self) -> bool {
        self.simulated_passes == self.kernel_passes
            && self.steps.iter().all(|s| s.simulated == s.kernel)
    }
}

/// Sets the simulated exchange and the kernel's side by side, step by step. The kernel's
/// exchange passes when every packet got through; the simulation's when the firewall let
/// every packet through (an exchange that passes to no listener counts as passing: the
/// rig's endpoints stand for a listener).
pub fn compare(simulated: &Exchange, kernel: &KernelExchange) -> ExchangeAgreement {
    let n = simulated.steps.len().max(kernel.steps.len());
    let steps = (0..n)
        .map(|i| {
            let sim = simulated.steps.get(i);
            let ker = kernel.steps.get(i);
            StepAgreement {
                role: sim
                    .map(|s| s.role)
                    .or(ker.map(|k| k.role))
                    .unwrap_or(StepRole::Request),
                simulated: sim.and_then(|s| s.fate.as_ref().map(engine::Fate::passed)),
                kernel: ker.map(KernelExchangeStep::passed),
            }
        })
        .collect();
    ExchangeAgreement {
        steps,
        simulated_passes: simulated.firewall_passes(),
        kernel_passes: kernel.works(),
    }
}

/// `whyblocked verify --fix`: builds a throwaway test host for `host` (the packets of
/// `simulated` decide the interfaces it needs), loads `rules`, applies `fix` and runs the
/// exchange `request` starts. Needs root; the host's own firewall is never touched.
pub fn verify_fix(
    rules: &[(model::SourceFile, model::Family)],
    ruleset: &Ruleset,
    host: &model::Host,
    request: &Packet,
    simulated: &Exchange,
    fix: &[FixRule],
) -> Result<KernelExchange, LiveError> {
    use crate::netns::TestHost;
    if !netlink::is_root() {
        return Err(LiveError::NotRoot);
    }
    crate::netns::sweep_stale()?;
    let packets: Vec<Packet> = std::iter::once(request.clone())
        .chain(simulated.steps.iter().map(|s| s.packet.clone()))
        .collect();
    let mut oracle = Oracle::new(TestHost::for_packets(host, &packets)?)?;
    silence_peers(&oracle)?;
    oracle.load(rules)?;
    add_endpoints(&oracle)?;
    apply(&mut oracle, fix)?;
    run(&mut oracle, ruleset, request)
}
