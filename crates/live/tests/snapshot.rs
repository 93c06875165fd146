//! `whyblocked snapshot` on a namespace host: the file read back gives the same answers as
//! the original inputs and as the kernel; redaction keeps them while no address remains.
#![allow(clippy::print_stderr)]
mod common;

use engine::{Decider, Fate};
use frontends::host::snapshot::Snapshot;
use live::redact::Redactor;
use model::{Family, Host, Packet, Ruleset, SourceFile};
use oracle::netns::{Plan, TestHost};

const RULES: &str = "\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i lan0 -p tcp --dport 1222 -j DNAT --to-destination 10.1.0.10:22
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:checks - [0:0]
-A INPUT -s 10.1.1.0/24 -p tcp --dport 2222 -j REJECT --reject-with tcp-reset
-A FORWARD -p tcp --dport 22 -j ACCEPT
-A FORWARD -p tcp --dport 23 -j DROP
-A FORWARD -p tcp --dport 24 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp --dport 25 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -j checks
-A checks -p tcp --dport 80 -j RETURN
-A checks -p tcp --dport 81 -j ACCEPT
COMMIT
";

fn packets() -> Vec<Packet> {
    let fwd = |proto: &str, dport: u16| match proto {
        "tcp" => common::tcp(
            "10.1.1.2",
            30000 + dport,
            "10.1.0.10",
            dport,
            "S",
            Some("lan0"),
            Some("wan0"),
        ),
        _ => common::udp(
            "10.1.1.2",
            30000 + dport,
            "10.1.0.10",
            dport,
            Some("lan0"),
            Some("wan0"),
        ),
    };
    vec![
        fwd("tcp", 22),
        fwd("tcp", 23),
        fwd("tcp", 24),
        fwd("udp", 25),
        fwd("tcp", 80),
        fwd("tcp", 81),
        common::tcp("10.1.1.2", 31222, "10.1.1.1", 1222, "S", Some("lan0"), None),
        common::tcp("10.1.1.2", 32222, "10.1.1.1", 2222, "S", Some("lan0"), None),
    ]
}

/// (fate kind, deciding rule as chain + position) of a simulation.
fn answer(rs: &Ruleset, host: &Host, p: &Packet) -> (String, String) {
    let out = engine::simulate(rs, host, p, &engine::Options::default());
    let t = out.primary();
    let fate = match &t.fate {
        Fate::Delivered { .. } => "delivered".to_string(),
        Fate::Forwarded { oif, .. } => format!("forwarded {oif}"),
        Fate::Dropped => "dropped".into(),
        Fate::Rejected { with } => format!("rejected {with}"),
        other => format!("{other:?}"),
    };
    let decider = match &t.decider {
        Decider::Rule(r) => {
            let t = &rs.tables[r.table];
            format!("{} {} #{}", t.name, t.chains[r.chain].name, r.rule + 1)
        }
        Decider::Policy(c) => {
            let t = &rs.tables[c.table];
            format!("{} {} policy", t.name, t.chains[c.chain].name)
        }
        other => format!("{other:?}"),
    };
    (fate, decider)
}

fn snapshot_inputs(name: &str, snap: &Snapshot) -> (Ruleset, Host) {
    let loaded = frontends::host::snapshot::load(name, snap).unwrap();
    assert!(loaded.rules_known, "{:?}", loaded.notes);
    let (mut rs, _, _) = frontends::host::snapshot::ruleset(&loaded.rules).unwrap();
    rs.ipsets.extend(loaded.state.ipsets);
    (rs, loaded.state.host)
}

#[test]
fn a_snapshot_of_a_namespace_host_answers_like_the_host() {
    if !common::kernel_tests_enabled("a_snapshot_of_a_namespace_host_answers_like_the_host") {
        return;
    }
    let packets = packets();
    let host = TestHost::build(&Plan::new(&common::router(), &packets)).unwrap();
    let src = SourceFile::new("rules.v4", RULES);
    oracle::load::load(host.router.name(), &src, Family::Ip).unwrap();
    // A neighbour entry to collect: the first peer, resolved by one echo request (IPv4:
    // no wait for the link watcher).
    let peer = host.peers[0]
        .addrs
        .iter()
        .find(|a| a.addr().is_ipv4())
        .expect("an IPv4 peer")
        .addr();
    let peer_mac = host.peers[0].mac;
    host.router
        .exec("ping", &["-c1", "-W2", &peer.to_string()], None)
        .unwrap();
    let o = live::snapshot::Options {
        netns: Some(host.router.name().to_string()),
        config_files: false,
        ..Default::default()
    };
    let snap = live::snapshot::collect(&o);
    assert!(snap.unreadable().is_empty(), "{:?}", snap.unreadable());

    // Round trip of the format.
    let text = snap.render();
    let back = Snapshot::parse(&SourceFile::new("snap", text.clone())).unwrap();
    assert_eq!(back, snap);

    // Same answers as the original rules on the host model the namespace was built from.
    let original = frontends::iptables_save::parse(&src, Some(Family::Ip)).unwrap();
    let (rs, h) = snapshot_inputs("snap", &back);
    assert!(h.known.addresses && h.known.routes && h.known.sysctls && h.known.sockets);
    assert!(h.known.links && h.known.neighbours);
    assert!(h.interface("lan0").is_some() && h.interface("wan0").is_some());
    let lan0 = h.interface("lan0").unwrap();
    assert_eq!(
        (lan0.kind.as_deref(), lan0.lower_up),
        (Some("veth"), Some(true)),
        "from `ip -j -d link`"
    );
    assert!(
        h.neighbours
            .iter()
            .any(|n| n.addr == peer && n.lladdr == Some(peer_mac) && n.resolved()),
        "from `ip -j neigh`: {:?}",
        h.neighbours
    );
    for p in &packets {
        let want = answer(&original, &common::router(), p);
        let got = answer(&rs, &h, p);
        eprintln!("{p:?}\n  original {want:?}\n  snapshot {got:?}");
        assert_eq!(got, want, "packet {p:?}");
    }

    // Redacted: the same answers for the redacted packets, and no original address left.
    let r = Redactor::new();
    let mut red = snap.clone();
    live::snapshot::redact(&mut red, &r);
    let red_text = red.render();
    let mut originals: Vec<String> = vec![
        "10.1.1.1".into(),
        "10.1.0.1".into(),
        "10.1.1.2".into(),
        "10.1.0.10".into(),
    ];
    for i in &h.interfaces {
        for a in &i.addrs {
            if !a.addr.is_loopback() {
                originals.push(a.addr.to_string());
            }
        }
        if let Some(m) = i.mac {
            if m.0 != [0; 6] {
                originals.push(m.to_string());
            }
        }
    }
    for n in &h.neighbours {
        originals.push(n.addr.to_string());
        if let Some(m) = n.lladdr {
            originals.push(m.to_string());
        }
    }
    for peer in &host.peers {
        for a in &peer.addrs {
            originals.push(a.addr().to_string());
        }
    }
    for o in &originals {
        let word = |s: &str| {
            s.match_indices(o.as_str()).any(|(i, _)| {
                let after = s.as_bytes().get(i + o.len()).copied().unwrap_or(b' ');
                let before = if i == 0 { b' ' } else { s.as_bytes()[i - 1] };
                !after.is_ascii_alphanumeric()
                    && !before.is_ascii_alphanumeric()
                    && before != b'.'
                    && after != b':'
            })
        };
        assert!(!word(&red_text), "{o} is still in the redacted snapshot");
    }
    let red_back = Snapshot::parse(&SourceFile::new("red", red_text)).unwrap();
    let (rrs, rh) = snapshot_inputs("red", &red_back);
    for p in &packets {
        let mut q = p.clone();
        q.src = r.ip(p.src);
        q.dst = r.ip(p.dst);
        assert_ne!(q.src, p.src);
        let want = answer(&rs, &h, p);
        let got = answer(&rrs, &rh, &q);
        assert_eq!(got, want, "redacted packet {q:?} (from {p:?})");
    }
}
