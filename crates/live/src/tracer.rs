//! `whyblocked trace`: the kernel's own trace of real packets on this host, annotated with
//! the rules' text and lines.
//!
//! How it stays harmless:
//! - the trace table `inet wbtrace` is created with `flags owner` by an `nft -i` child that
//!   whyblocked spawns (under `setpriv --pdeathsig KILL`): the kernel deletes an owner table
//!   when the netlink socket that created it closes, so the table goes away when the child
//!   exits — on a normal exit (stdin closed); on SIGINT or SIGTERM, which the CLI catches
//!   whatever disposition it inherited (`Options::catch_signals`: the run stops, shows what
//!   is under way and closes the table); and on SIGKILL of whyblocked (the child gets
//!   SIGKILL as its parent dies, and its stdin reaches EOF anyway);
//! - its chains only *set* `meta nftrace` (prerouting and output at priority -350, under a
//!   `limit rate R/second`, for packets matching the selector) or observe the end of each
//!   hook at priority 1000 with policy accept: no verdict of the host changes. The only side
//!   effect is the limit's and the chains' own bookkeeping;
//! - events are read with [`TraceReader`] (subscribing changes nothing).
//!
//! Rule text comes from a snapshot of the rule sources (iptables-save lines, nft text) and
//! the handle mapping of `nft -a -j list ruleset`; both are re-read when an event names a
//! rule the cached listing does not know (the ruleset changed: nft never reuses a handle in
//! a table's lifetime).

use crate::walks::Walks;
use analysis::agree::{walk, Listing, Offline, TracedPacket};
use model::kernel_walk::{
    CtEvent, Headers, KernelFate, KernelWalk, Placement, StepKind, TRACE_TABLE,
};
use model::packet::{Mac, PktType};
use model::{Family, Host, Packet, RuleRef, Ruleset, TcpFlags, Verdict, L4};
use netlink::nftrace::{Message, TraceEvent, TraceReader};
use netlink::LiveError;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which packets to trace: an nft match for the prerouting chain and one for the output
/// chain (`None`: that chain traces nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub pre: Option<String>,
    pub out: Option<String>,
}

impl Selector {
    /// Raw nft match syntax, used on both chains (`tcp dport 2175`).
    pub fn nft(expr: &str) -> Result<Selector, String> {
        if expr.contains(['{', '}', ';', '\n', '#']) && !expr.contains("{ ") {
            return Err(format!(
                "--nft `{expr}`: only a match expression is allowed (no `;`, braces or comments)"
            ));
        }
        if expr.contains(';') || expr.contains('\n') {
            return Err(format!("--nft `{expr}`: one match expression, no `;`"));
        }
        Ok(Selector {
            pre: Some(expr.trim().to_string()),
            out: Some(expr.trim().to_string()),
        })
    }

    /// The packet-spec grammar with wildcards: `PROTO SRC DST [in IFACE] [out IFACE]`, where
    /// PROTO may be `any`, SRC/DST are `any`, `ADDR`, `ADDR/LEN`, `ADDR:PORT`, `any:PORT`,
    /// `[V6]:PORT` or `[V6/LEN]:any`.
    pub fn parse(words: &[String]) -> Result<Selector, String> {
        let mut w = words.iter().map(String::as_str);
        let proto = w.next().ok_or("a selector needs PROTO SRC DST")?;
        let src = w
            .next()
            .ok_or("a selector needs PROTO SRC DST (SRC missing)")?;
        let dst = w
            .next()
            .ok_or("a selector needs PROTO SRC DST (DST missing)")?;
        let (mut iif, mut oif) = (None, None);
        while let Some(k) = w.next() {
            let v = w.next().ok_or(format!("`{k}` needs an interface name"))?;
            if !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@:".contains(c))
                || v.is_empty()
            {
                return Err(format!("`{v}` is not an interface name"));
            }
            match k {
                "in" => iif = Some(v.to_string()),
                "out" => oif = Some(v.to_string()),
                other => {
                    return Err(format!(
                        "expected `in IFACE` or `out IFACE`, found `{other}`"
                    ))
                }
            }
        }
        let proto_match = match proto {
            "any" | "*" => None,
            "tcp" | "udp" | "sctp" | "icmp" | "icmpv6" | "dccp" | "udplite" | "esp" | "ah"
            | "gre" => Some(proto.to_string()),
            p if p.parse::<u8>().is_ok() => Some(p.to_string()),
            p => {
                return Err(format!(
                    "unknown protocol `{p}` (tcp, udp, sctp, icmp, icmpv6, a number or any)"
                ))
            }
        };
        let (saddr, sport) = endpoint(src)?;
        let (daddr, dport) = endpoint(dst)?;
        let v6 = match (saddr, daddr) {
            (Some(a), Some(b)) if a.addr().is_ipv6() != b.addr().is_ipv6() => {
                return Err("source and destination are of different families".into())
            }
            (Some(a), _) | (None, Some(a)) => Some(a.addr().is_ipv6()),
            _ => None,
        };
        if (sport.is_some() || dport.is_some())
            && !matches!(
                proto_match.as_deref(),
                Some("tcp" | "udp" | "sctp" | "dccp" | "udplite")
            )
        {
            return Err("ports need PROTO tcp, udp or sctp".into());
        }
        let mut m = Vec::new();
        match v6 {
            Some(true) => m.push("meta nfproto ipv6".to_string()),
            Some(false) => m.push("meta nfproto ipv4".to_string()),
            None => {}
        }
        if let Some(p) = &proto_match {
            m.push(format!("meta l4proto {p}"));
        }
        let ipk = if v6 == Some(true) { "ip6" } else { "ip" };
        if let Some(a) = saddr {
            m.push(format!("{ipk} saddr {a}"));
        }
        if let Some(a) = daddr {
            m.push(format!("{ipk} daddr {a}"));
        }
        let l4 = proto_match.clone().unwrap_or_default();
        if let Some(p) = sport {
            m.push(format!("{l4} sport {p}"));
        }
        if let Some(p) = dport {
            m.push(format!("{l4} dport {p}"));
        }
        let common = m.join(" ");
        let join = |extra: Vec<String>| {
            let mut v = vec![common.clone()];
            v.extend(extra);
            v.retain(|s| !s.is_empty());
            v.join(" ")
        };
        let pre = {
            let mut e = Vec::new();
            if let Some(i) = &iif {
                e.push(format!("iifname \"{i}\""));
            }
            if let Some(o) = &oif {
                e.push(format!("fib daddr oifname \"{o}\""));
            }
            Some(join(e))
        };
        // A packet that arrives on an interface is never in the output hook.
        let out = match (&iif, &oif) {
            (Some(_), _) => None,
            (None, Some(o)) => Some(join(vec![format!("oifname \"{o}\"")])),
            (None, None) => Some(join(vec![])),
        };
        Ok(Selector { pre, out })
    }
}

/// `any`, `ADDR`, `ADDR/LEN`, `ADDR:PORT`, `any:PORT`, `[V6]:PORT`.
fn endpoint(s: &str) -> Result<(Option<ipnet::IpNet>, Option<u16>), String> {
    let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']').ok_or(format!("`{s}`: missing `]`"))?;
        (a, p.strip_prefix(':'))
    } else if s.matches(':').count() == 1 {
        let (a, p) = s.split_once(':').unwrap_or((s, ""));
        (a, Some(p))
    } else {
        (s, None)
    };
    let port = match port {
        None | Some("any") | Some("*") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("`{p}` is not a port (0-65535 or any)"))?,
        ),
    };
    let addr = match addr {
        "any" | "*" | "" => None,
        a => Some(match a.parse::<ipnet::IpNet>() {
            Ok(n) => n.trunc(),
            Err(_) => {
                let ip: IpAddr = a
                    .parse()
                    .map_err(|_| format!("`{a}` is not an address, a prefix or `any`"))?;
                ipnet::IpNet::from(ip)
            }
        }),
    };
    Ok((addr, port))
}

/// The commands that create the trace table, in order.
pub fn table_command_list(sel: &Selector, rate: u32) -> Vec<String> {
    let t = format!("inet {TRACE_TABLE}");
    let rate = rate.max(1);
    let mut v = vec![format!("add table {t} {{ flags owner; }}")];
    for (chain, hook, m) in [("pre", "prerouting", &sel.pre), ("out", "output", &sel.out)] {
        v.push(format!(
            "add chain {t} {chain} {{ type filter hook {hook} priority -350; policy accept; }}"
        ));
        if let Some(m) = m {
            v.push(format!("add rule {t} {chain} {m} limit rate {rate}/second burst {rate} packets meta nftrace set 1"));
        }
    }
    for (chain, hook) in [
        ("pre_end", "prerouting"),
        ("in_end", "input"),
        ("fwd_end", "forward"),
        ("out_end", "output"),
        ("post_end", "postrouting"),
    ] {
        v.push(format!(
            "add chain {t} {chain} {{ type filter hook {hook} priority 1000; policy accept; }}"
        ));
    }
    v
}

/// The `nft -i` input that creates the trace table: one line, so one transaction. (One
/// command per line would be one transaction each: packets traced while the end-of-hook
/// chains are still missing would seem to vanish.)
pub fn table_commands(sel: &Selector, rate: u32) -> String {
    table_command_list(sel, rate).join("; ") + "\n"
}

/// The temporary trace table, owned by an `nft -i` child. Dropping it closes the child's
/// stdin (it exits, the kernel deletes the table), waits a bounded time, then kills the child
/// by its pid.
#[derive(Debug)]
pub struct TraceTable {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
}

fn table_exists() -> bool {
    netlink::cmd::run(
        "nft",
        &["list", "table", "inet", TRACE_TABLE],
        None,
        Duration::from_secs(5),
    )
    .is_ok_and(|o| o.success && o.stdout.contains("chain post_end"))
}

impl TraceTable {
    /// Creates the table (fails if one of that name exists: another trace is running).
    pub fn install(sel: &Selector, rate: u32) -> Result<TraceTable, LiveError> {
        if netlink::cmd::run(
            "nft",
            &["list", "table", "inet", TRACE_TABLE],
            None,
            Duration::from_secs(5),
        )?
        .success
        {
            return Err(LiveError::Setup(format!(
                "a table inet {TRACE_TABLE} already exists: another `whyblocked trace` is running here (or `nft delete table inet {TRACE_TABLE}` if it is a leftover)"
            )));
        }
        // setpriv makes the child die with us (PR_SET_PDEATHSIG); without it, EOF on its
        // stdin still ends it when we die.
        let mut cmd = if crate::snapshot::which("setpriv") {
            let mut c = Command::new("setpriv");
            c.args(["--pdeathsig", "KILL", "nft", "-i"]);
            c
        } else {
            let mut c = Command::new("nft");
            c.arg("-i");
            c
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => LiveError::MissingTool {
                    tool: "nft".into(),
                    package: netlink::cmd::package_of("nft").map(str::to_string),
                },
                _ => LiveError::io("spawn nft -i", e),
            })?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut e) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = e.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let mut stdin = child.stdin.take();
        let mut t = TraceTable {
            child,
            stdin: None,
            stderr,
        };
        if let Some(s) = stdin.as_mut() {
            s.write_all(table_commands(sel, rate).as_bytes())
                .and_then(|()| s.flush())
                .map_err(|e| LiveError::io("writing to nft -i", e))?;
        }
        t.stdin = stdin;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let err = t.stderr.lock().map(|s| s.clone()).unwrap_or_default();
            if err.contains("Error") {
                return Err(LiveError::Command {
                    what: "nft -i (creating the trace table)".into(),
                    status: "error".into(),
                    stderr: err,
                });
            }
            if let Ok(Some(st)) = t.child.try_wait() {
                return Err(LiveError::Command {
                    what: "nft -i (creating the trace table)".into(),
                    status: st.to_string(),
                    stderr: err,
                });
            }
            if table_exists() {
                return Ok(t);
            }
            if Instant::now() > deadline {
                return Err(LiveError::Timeout {
                    what: "creating the trace table".into(),
                    millis: 5000,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pid of the `nft -i` child (for tests).
    pub fn child_pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TraceTable {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Only the child we spawned, by its pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Limits of one trace run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after this many packets.
    pub count: usize,
    pub timeout: Duration,
    /// Traced packets per second (per chain), a limit the kernel enforces.
    pub rate: u32,
    /// Simulate each packet offline on a snapshot of this host, and flag divergences.
    pub compare: bool,
    /// Stop as soon as this flag is set (checked every 100 ms). The events already
    /// received are read and every walk under way is emitted first, finished or not: set
    /// it once the traffic of interest has been handled by the kernel.
    pub stop: Option<Arc<AtomicBool>>,
    /// Stop the same way on SIGINT or SIGTERM, caught for the run whatever disposition was
    /// inherited (the CLI's; off for a library caller, as the handlers are process-wide).
    pub catch_signals: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            count: 10,
            timeout: Duration::from_secs(60),
            rate: 10,
            compare: false,
            stop: None,
            catch_signals: false,
        }
    }
}

/// What a run saw. Every traced packet is in `packets`, `lost` or `not_shown`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Packets given to the sink.
    pub packets: usize,
    /// Packets traced but not shown: their events lacked the headers to rebuild them.
    pub lost: usize,
    /// Packets traced after `count` was reached.
    pub not_shown: usize,
    /// Events of no packet (it started before the trace was read).
    pub stray_events: usize,
    pub events: usize,
    pub elapsed: Duration,
    pub listing_refreshes: usize,
    pub stopped_by: String,
}

/// The host's rules and handles, re-read when they change.
struct Context {
    ruleset: Ruleset,
    host: Host,
    listing: Listing,
    ifaces: HashMap<u32, String>,
    macs: HashMap<u32, Mac>,
    last_refresh: Instant,
}

/// Interface names and MAC addresses by index (`ip -j link`).
fn ifaces() -> (HashMap<u32, String>, HashMap<u32, Mac>) {
    let (mut names, mut macs) = (HashMap::new(), HashMap::new());
    if let Ok(o) = netlink::cmd::run("ip", &["-j", "link"], None, Duration::from_secs(5)) {
        if let Ok(serde_json::Value::Array(v)) = serde_json::from_str(&o.stdout) {
            for l in v {
                let Some(i) = l["ifindex"].as_u64() else {
                    continue;
                };
                if let Some(n) = l["ifname"].as_str() {
                    names.insert(i as u32, n.to_string());
                }
                if let Some(m) = l["address"].as_str().and_then(Mac::parse) {
                    macs.insert(i as u32, m);
                }
            }
        }
    }
    (names, macs)
}

impl Context {
    fn load(with_host: bool) -> Result<Context, LiveError> {
        let mut o = crate::snapshot::Options {
            config_files: false,
            conntrack_max: 1000,
            ..Default::default()
        };
        o.timeout = Duration::from_secs(20);
        let snap = if with_host {
            crate::snapshot::collect(&o)
        } else {
            crate::counters::rules_snapshot(&o)?
        };
        let loaded = frontends::host::snapshot::load("live", &snap)
            .map_err(|e| LiveError::Setup(format!("reading this host's state: {e}")))?;
        let (ruleset, _, _) = frontends::host::snapshot::ruleset(&loaded.rules)
            .map_err(|e| LiveError::Setup(format!("reading this host's ruleset: {e}")))?;
        let json = netlink::cmd::run_ok("nft", &["-a", "-j", "list", "ruleset"], None)?;
        let listing = Listing::parse(&json).map_err(LiveError::Setup)?;
        let (ifaces, macs) = ifaces();
        Ok(Context {
            ruleset,
            host: loaded.state.host,
            listing,
            ifaces,
            macs,
            last_refresh: Instant::now(),
        })
    }

    /// Whether the listing knows every rule handle of these events.
    fn knows(&self, events: &[TraceEvent]) -> bool {
        events.iter().all(|e| {
            e.table == TRACE_TABLE
                || e.handle.is_none()
                || e.family.is_none_or(|f| {
                    self.listing
                        .position(f, &e.table, &e.chain, e.handle.unwrap_or(0))
                        .is_some()
                })
        })
    }

    /// The user's rule for a kernel rule (see [`Listing::rule_ref_by_handle`]).
    fn rule_for(&self, family: Family, table: &str, chain: &str, handle: u64) -> Option<RuleRef> {
        self.listing
            .rule_ref_by_handle(&self.ruleset, family, table, chain, handle)
    }
}

/// The packet its first headers describe.
pub fn packet_of(h: &Headers, iif: Option<String>) -> Packet {
    let (sport, dport) = h.ports.unwrap_or((0, 0));
    let l4 = match h.proto {
        6 => L4::Tcp {
            sport,
            dport,
            flags: h.tcp_flags.unwrap_or(TcpFlags::SYN),
        },
        17 => L4::Udp { sport, dport },
        132 => L4::Sctp { sport, dport },
        1 => L4::Icmp {
            icmp_type: h.icmp.map_or(8, |x| x.0),
            code: h.icmp.map_or(0, |x| x.1),
            id: 0,
        },
        58 => L4::Icmpv6 {
            icmp_type: h.icmp.map_or(128, |x| x.0),
            code: h.icmp.map_or(0, |x| x.1),
            id: 0,
        },
        p => L4::Other(model::packet::IpProto::from_number(p)),
    };
    let mut p = Packet::new(h.src, h.dst, l4);
    p.iif = iif;
    p.ttl = h.ttl;
    p.tos = h.tos;
    if h.len > 0 {
        p.len = h.len;
    }
    p.id = h.tag;
    p.dont_fragment = h.dont_fragment;
    if let (Some(id), L4::Icmp { id: x, .. } | L4::Icmpv6 { id: x, .. }) = (h.icmp_id, &mut p.l4) {
        *x = id;
    }
    p
}

/// The packet the first event of a walk describes: its headers ([`packet_of`]), the skb
/// mark, and for a received packet the link layer (MAC addresses, and the packet type the
/// kernel derived from the destination MAC; `iface_mac` is the receiving interface's).
pub fn packet_of_event(
    ev: &TraceEvent,
    h: &Headers,
    iif: Option<String>,
    iface_mac: Option<Mac>,
) -> Packet {
    let received = iif.is_some();
    let mut p = packet_of(h, iif);
    p.mark = ev.mark.unwrap_or(0);
    if let Some(ll) = ev
        .ll_header
        .as_deref()
        .filter(|l| received && l.len() >= 14)
    {
        let mac = |b: &[u8]| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&b[..6]);
            Mac(m)
        };
        let (dst, src) = (mac(&ll[0..6]), mac(&ll[6..12]));
        p.src_mac = Some(src);
        p.dst_mac = Some(dst);
        p.pkttype = if dst.0 == [0xff; 6] {
            PktType::Broadcast
        } else if dst.0[0] & 1 == 1 {
            PktType::Multicast
        } else if iface_mac.is_some_and(|m| m != dst) {
            PktType::OtherHost
        } else {
            PktType::Unicast
        };
    }
    p
}

/// What the sender sees for the kernel's fate (engine's reject and symptom functions).
fn sender_sees(cx: &Context, p: &Packet, k: &KernelWalk) -> Option<engine::SenderView> {
    let fate = match &k.fate {
        KernelFate::Rejected { step, with } => {
            let r = with.or_else(|| k.steps.get(*step).and_then(|s| s.rejects))?;
            engine::Fate::Rejected { with: r }
        }
        KernelFate::Dropped { .. } => engine::Fate::Dropped,
        _ => return None,
    };
    let hook = match &k.fate {
        KernelFate::Rejected { step, .. } | KernelFate::Dropped { step } => {
            k.steps.get(*step).and_then(|s| s.hook)
        }
        _ => None,
    };
    let local = p.iif.is_none();
    let resp = engine::reject::response(&cx.host, p, p, &fate, hook, None);
    Some(engine::symptom::sender_view_at(
        &cx.host,
        p,
        &fate,
        resp.as_ref(),
        local,
        hook,
    ))
}

fn finish(
    cx: &Context,
    number: usize,
    events: Vec<TraceEvent>,
    cts: &[CtEvent],
    compare: bool,
) -> Option<TracedPacket> {
    let first = events.iter().find_map(|e| e.headers())?;
    let first_ev = events.iter().find(|e| e.headers().is_some())?;
    let local = first_ev.table == TRACE_TABLE && first_ev.chain == "out";
    let iif = if local {
        None
    } else {
        first_ev.iif.and_then(|i| cx.ifaces.get(&i).cloned())
    };
    let mac = first_ev.iif.and_then(|i| cx.macs.get(&i).copied());
    let packet = packet_of_event(first_ev, &first, iif.clone(), mac);
    let names = |i: u32| cx.ifaces.get(&i).cloned();
    let events = events.iter().map(TraceEvent::to_walk_event).collect();
    let k = walk::analyse(
        &cx.ruleset,
        &cx.listing,
        &names,
        &packet,
        first.tag,
        events,
        Vec::new(),
    );
    // Placed again by the nft handle the host's listing carries (see
    // `Listing::rule_ref_by_handle`), and the REJECT rules known by their model rule.
    let mut k = k;
    for step in &mut k.steps {
        let e = &step.event;
        let rule = match (e.kind, e.family, e.rule.handle) {
            (StepKind::Rule, Some(f), Some(h)) => cx.rule_for(f, &e.table, &e.chain, h),
            _ => None,
        };
        if let Some(r) = rule {
            step.at = Placement::Rule(r);
            step.rejects = match cx.ruleset.rule_at(r).verdict() {
                Some(Verdict::Reject(x)) => Some(*x),
                _ => None,
            };
        }
    }
    // The fate again, now that REJECT rules are known by their model rule.
    if let KernelFate::Dropped { step } = k.fate {
        if let Some(r) = k.steps.get(step).and_then(|s| s.rejects) {
            k.fate = KernelFate::Rejected {
                step,
                with: Some(analysis::agree::reject_on_wire(r, packet.is_ipv6())),
            };
        }
    }
    let ct_ids: Vec<u32> = k.events.iter().filter_map(|e| e.ct_id).collect();
    let conntrack = cts
        .iter()
        .filter(|c| c.id.is_some_and(|i| ct_ids.contains(&i)))
        .cloned()
        .collect();
    let sender = sender_sees(cx, &packet, &k);
    let offline = compare.then(|| offline_of(cx, &packet, &k));
    Some(TracedPacket {
        number,
        packet,
        headers: first,
        iif,
        kernel: k,
        conntrack,
        sender_sees: sender,
        offline,
    })
}

/// The offline simulation of `packet` on the snapshot, compared with the kernel's walk.
fn offline_of(cx: &Context, packet: &Packet, k: &KernelWalk) -> Offline {
    match analysis::agree::simulate_guarded(&cx.ruleset, &cx.host, packet) {
        Ok(out) => {
            let t = out.primary();
            Offline {
                fate: Ok(t.fate.clone()),
                unknown: analysis::agree::depends_on_unknown(&out),
                comparison: Some(analysis::agree::compare(&cx.ruleset, k, t)),
            }
        }
        Err(e) => Offline {
            fate: Err(e),
            unknown: false,
            comparison: None,
        },
    }
}

/// Traces packets matching `sel` on this host (the caller's network namespace) until
/// `o.count` packets or `o.timeout`; `sink` gets each packet as it completes, with the
/// ruleset its steps are placed in.
pub fn run(
    sel: &Selector,
    o: &Options,
    sink: &mut dyn FnMut(&TracedPacket, &Ruleset),
) -> Result<Summary, LiveError> {
    if !netlink::is_root() {
        return Err(LiveError::NotRoot);
    }
    let start = Instant::now();
    // Caught before anything is set up, so that a stop request is never missed.
    let signals = o
        .catch_signals
        .then(netlink::sys::StopSignals::catch)
        .transpose()
        .map_err(|e| LiveError::io("installing the SIGINT and SIGTERM handlers", e))?;
    let mut cx = Context::load(o.compare)?;
    let mut reader = TraceReader::open_here(true)?;
    let table = TraceTable::install(sel, o.rate)?;
    let mut walks = Walks::default();
    let mut cts: Vec<CtEvent> = Vec::new();
    let mut summary = Summary::default();
    let deadline = start + o.timeout;
    let idle = Duration::from_millis(300);
    // When the socket was last found empty: a walk under way is complete only if nothing
    // of it can still be queued (its packet's events are made within microseconds, but
    // this loop may have been busy simulating other packets meanwhile).
    let mut drained_at: Option<Instant> = None;
    let stopped_by = loop {
        let now = Instant::now();
        let stop = if summary.packets >= o.count {
            Some(format!("{} packets", o.count))
        } else if now >= deadline {
            Some(format!("timeout ({} s)", o.timeout.as_secs()))
        } else if let Some(sig) = signals.as_ref().and_then(|s| s.caught()) {
            Some(signal_name(sig).to_string())
        } else if o.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            Some("a stop request".to_string())
        } else {
            None
        };
        // Stopping: everything queued is read, then every walk emitted, once.
        let stopping = stop.is_some();
        let batch = if stopping {
            reader.drain(Duration::from_millis(1))?
        } else {
            reader.recv((deadline - now).min(Duration::from_millis(100)))?
        };
        if batch.is_empty() || stopping {
            drained_at = Some(Instant::now());
        }
        for m in batch {
            match m {
                Message::Trace(ev) => {
                    summary.events += 1;
                    walks.push(ev, Instant::now());
                }
                Message::Conntrack(c) => {
                    cts.push(c);
                    if cts.len() > 10_000 {
                        cts.drain(..5_000);
                    }
                }
                Message::Other(_) => {}
            }
        }
        // Emit finished walks, oldest first.
        for events in walks.ready(Instant::now(), idle, drained_at, stopping) {
            if summary.packets >= o.count {
                summary.not_shown += 1;
                continue;
            }
            if !cx.knows(&events) && cx.last_refresh.elapsed() > Duration::from_millis(500) {
                cx = Context::load(o.compare)?;
                summary.listing_refreshes += 1;
            }
            match finish(&cx, summary.packets + 1, events, &cts, o.compare) {
                Some(p) => {
                    summary.packets += 1;
                    sink(&p, &cx.ruleset);
                }
                None => summary.lost += 1,
            }
        }
        if let Some(why) = stop {
            break why;
        }
    };
    drop(table);
    drop(signals);
    summary.stray_events = walks.stray_events;
    summary.elapsed = start.elapsed();
    summary.stopped_by = stopped_by;
    Ok(summary)
}

/// How the summary names a stop signal.
fn signal_name(signal: netlink::sys::StopSignal) -> &'static str {
    match signal {
        netlink::sys::StopSignal::Int => "SIGINT",
        netlink::sys::StopSignal::Term => "SIGTERM",
    }
}

/// Where [`run_in`] sends each traced packet, with the ruleset its steps are placed in.
pub type Sink = Box<dyn FnMut(&TracedPacket, &Ruleset) + Send>;

/// Like [`run`], inside network namespace `netns` (`/run/netns/NAME`), on a thread that
/// joined it: the table, the reader and every command live there.
pub fn run_in(
    netns: &str,
    sel: Selector,
    o: Options,
    mut sink: Sink,
) -> Result<Summary, LiveError> {
    netlink::sys::in_netns(netns, move || Ok(run(&sel, &o, &mut *sink)))
        .map_err(|e| LiveError::io(format!("joining namespace {netns}"), e))?
}

/// The kernel log route for iptables-legacy hosts: the commands to run (not run here).
pub fn legacy_help(sel_words: &[String]) -> String {
    let spec = sel_words.join(" ");
    format!(
        "This host's iptables rules use the legacy backend (iptables-legacy): the kernel reports their\n\
         trace to the kernel log, not over netlink, so `whyblocked trace` cannot follow them.\n\
         To trace by hand (these change the firewall; remove them afterwards):\n\
         \x20 iptables-legacy -t raw -I PREROUTING 1 <match for {spec}> -j TRACE\n\
         \x20 iptables-legacy -t raw -I OUTPUT 1 <match for {spec}> -j TRACE\n\
         \x20 sysctl -w net.netfilter.nf_log_all_netns=1   # only needed inside a network namespace\n\
         \x20 dmesg -w | grep 'TRACE:'                       # or journalctl -k -f\n\
         then delete the two rules (iptables-legacy -t raw -D PREROUTING 1; ... -D OUTPUT 1).\n\
         Each TRACE line names the rule as table:chain:rule:N (N counts the chain's rules from 1,\n\
         as `iptables-legacy -L --line-numbers` shows them). Save the lines and let whyblocked\n\
         explain them with each rule's text and line, and compare them with the simulation:\n\
         \x20 iptables-legacy-save > rules.v4; dmesg | grep 'TRACE:' > trace.txt\n\
         \x20 whyblocked explain-trace trace.txt --rules rules.v4 [--host DIR]\n"
    )
}

/// Whether iptables rules live in the legacy backend (and none in nf_tables).
pub fn legacy_only() -> bool {
    let legacy = netlink::cmd::run("iptables-legacy-save", &[], None, Duration::from_secs(10))
        .is_ok_and(|o| o.success && o.stdout.lines().any(|l| l.starts_with("-A ")));
    let nft = netlink::cmd::run("nft", &["list", "ruleset"], None, Duration::from_secs(10))
        .is_ok_and(|o| o.success && o.stdout.contains("chain "));
    legacy && !nft
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walks::tests::{first, udp};

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn selectors() {
        let s = Selector::parse(&w("tcp any 10.1.0.2:2175 in tap0")).unwrap();
        assert_eq!(
            s.pre.as_deref(),
            Some("meta nfproto ipv4 meta l4proto tcp ip daddr 10.1.0.2/32 tcp dport 2175 iifname \"tap0\"")
        );
        assert_eq!(s.out, None);
        let s = Selector::parse(&w("udp [2001:db8::/64]:any any:53")).unwrap();
        assert_eq!(
            s.out.as_deref(),
            Some("meta nfproto ipv6 meta l4proto udp ip6 saddr 2001:db8::/64 udp dport 53")
        );
        let s = Selector::parse(&w("any any any out eth0")).unwrap();
        assert_eq!(s.pre.as_deref(), Some("fib daddr oifname \"eth0\""));
        assert_eq!(s.out.as_deref(), Some("oifname \"eth0\""));
    }

    #[test]
    fn bad_selectors() {
        for bad in [
            "tcp",
            "tcp any",
            "icmp any:22 any",
            "foo any any",
            "tcp 10.0.0.1 ::1",
            "tcp any any in",
            "tcp any any in a;b",
            "tcp any any sideways x",
            "tcp any:99999 any",
        ] {
            assert!(Selector::parse(&w(bad)).is_err(), "{bad} accepted");
        }
        assert!(Selector::nft("tcp dport 22; flush ruleset").is_err());
        assert!(Selector::nft("tcp dport 22").is_ok());
    }

    #[test]
    fn the_packet_is_rebuilt_from_its_first_event() {
        // TOS, length, mark and the link layer decide matches (`-m tos`, `-m length`,
        // `-m mark`, `-m pkttype`, `-m mac`): the simulation must get them.
        let mut p = udp("10.1.1.2", "10.1.0.2");
        p.tos = 0x28;
        p.len = 300;
        let mut e = first(1, "pre", &p, Some(2), None);
        let router = Mac([2, 0, 0, 0, 0, 1]);
        let peer = [2, 0, 0, 0, 0, 9];
        let mut ll = vec![0xff; 6];
        ll.extend(peer);
        ll.extend([0x08, 0x00]);
        e.ll_header = Some(ll);
        let h = e.headers().unwrap();
        let q = packet_of_event(&e, &h, Some("lan0".into()), Some(router));
        assert_eq!((q.tos, q.len, q.id), (0x28, 300, 0x4242));
        assert_eq!(q.pkttype, PktType::Broadcast);
        assert_eq!(q.src_mac, Some(Mac(peer)));
        assert_eq!(q.iif.as_deref(), Some("lan0"));
        // To the router's own MAC: unicast; to another host's: otherhost.
        let mut ll = router.0.to_vec();
        ll.extend(peer);
        ll.extend([0x08, 0x00]);
        e.ll_header = Some(ll);
        let q = packet_of_event(&e, &h, Some("lan0".into()), Some(router));
        assert_eq!(q.pkttype, PktType::Unicast);
        let q = packet_of_event(&e, &h, Some("lan0".into()), Some(Mac([2, 0, 0, 0, 0, 7])));
        assert_eq!(q.pkttype, PktType::OtherHost);
        // Locally generated: the socket's mark, no link layer.
        let mut e = first(1, "out", &p, None, Some(3));
        e.mark = Some(0x11);
        let q = packet_of_event(&e, &h, None, None);
        assert_eq!(
            (q.mark, q.src_mac, q.pkttype),
            (0x11, None, PktType::Unicast)
        );
    }

    #[test]
    fn table_is_owned_and_only_sets_nftrace() {
        let sel = Selector::nft("tcp dport 22").unwrap();
        let t = table_commands(&sel, 10);
        assert!(t.starts_with("add table inet wbtrace { flags owner; }"));
        // One line: one transaction, the table appears whole or not at all.
        assert_eq!(t.lines().count(), 1);
        assert!(t
            .trim_end()
            .ends_with("hook postrouting priority 1000; policy accept; }"));
        let list = table_command_list(&sel, 10);
        assert_eq!(list.len(), 10);
        for l in list.iter().filter(|l| l.starts_with("add rule")) {
            assert!(
                l.ends_with("limit rate 10/second burst 10 packets meta nftrace set 1"),
                "{l}"
            );
        }
        assert!(!t.contains("drop") && !t.contains("reject") && !t.contains("policy drop"));
    }
}
