//! The path-MTU black hole in words: the table's columns, what the capture shows, what it
//! means, and the usual cure.

use super::{plural, secs};
use evidence::classify::Finding;
use evidence::pcap::Interface;
use evidence::pmtu::{PmtuVerdict, TooBig, TooBigFate};
use evidence::tls::Side;

/// The table's "what" column.
pub(super) fn headline(v: &PmtuVerdict) -> &'static str {
    match v.too_big {
        TooBigFate::NotCaptured => "path-MTU black hole: full-size segments vanish",
        TooBigFate::NotTaken { .. } => "path-MTU black hole: too big, not taken",
        TooBigFate::OneSideOnly { .. } => "path-MTU black hole: too big lost on the way",
    }
}

/// The table's "answered by" column.
pub(super) fn answered_by(v: &PmtuVerdict) -> String {
    match &v.too_big {
        TooBigFate::NotCaptured => "nobody (no too-big error)".to_string(),
        TooBigFate::NotTaken { error, .. } => format!("{} (too big; not taken)", error.from),
        TooBigFate::OneSideOnly { error, .. } => {
            format!("{} (too big; on one side only)", error.from)
        }
    }
}

/// What the capture shows: the handshake, the stuck segment, what got through, and the
/// too-big error (or its absence).
pub(super) fn summary(f: &Finding, v: &PmtuVerdict, interfaces: &[Interface]) -> String {
    let (sender, receiver) = ends(v.sender);
    let through = match v.largest_acked {
        Some((len, _)) => format!("the {sender}'s segments of up to {len} bytes were acknowledged"),
        None => format!("none of the {sender}'s data was acknowledged"),
    };
    let mss = match v.receiver_mss {
        Some(m) => format!(", under the {receiver}'s MSS of {m}"),
        None => ", larger than any acknowledged; no MSS announced".to_string(),
    };
    let mut s = format!(
        "the handshake completed and {through}; its full-size segment at seq {} ({} bytes of \
         data, IP length {}{mss}) was sent {} times over {} s and never acknowledged",
        v.seq,
        v.len,
        v.ip_len,
        v.sends,
        secs(v.span_ns)
    );
    if v.dup_acks > 0 {
        s.push_str(&format!(
            "; {} duplicate ACK{} from the {receiver} show{} later, smaller segments arriving",
            v.dup_acks,
            plural(u64::from(v.dup_acks)),
            if v.dup_acks == 1 { "s" } else { "" }
        ));
    }
    s.push_str(&match &v.too_big {
        TooBigFate::NotCaptured => format!("; no {} about it in the capture", too_big_name(f)),
        TooBigFate::NotTaken { error, sends_after } => format!(
            "; {} from {} reached the capture point{} (first at frame {}), yet the {sender} \
             sent the segment at full size {sends_after} more time{}",
            error_name(error),
            error.from,
            times(error.count),
            error.frame,
            plural(u64::from(*sends_after))
        ),
        TooBigFate::OneSideOnly {
            error,
            seen_on,
            missing_on,
        } => format!(
            "; {} from {} was captured on {}{} and never on {}, where the connection was \
             captured too",
            error_name(error),
            error.from,
            names(seen_on, interfaces),
            times(error.count),
            names(missing_on, interfaces)
        ),
    });
    s
}

/// What the signature usually means.
pub(super) fn meaning(f: &Finding, v: &PmtuVerdict, interfaces: &[Interface]) -> String {
    let (sender, _) = ends(v.sender);
    let head = "path-MTU black hole: the handshake works, full-size segments vanish";
    match &v.too_big {
        TooBigFate::NotCaptured => format!(
            "{head}; the {} that would make the {sender} shrink them never reaches the capture \
             point (a firewall on the way back drops it, or the hop with the smaller MTU never \
             sends it)",
            too_big_name(f)
        ),
        TooBigFate::NotTaken { .. } => format!(
            "{head}; the too-big error arrives but is not taken: a firewall on the {sender} \
             drops it before TCP sees it (INPUT), or it does not match the connection there (a \
             NAT on the way did not translate it back)"
        ),
        TooBigFate::OneSideOnly {
            seen_on,
            missing_on,
            ..
        } => format!(
            "{head}; the too-big error is lost between {} and {}: whatever lies between these \
             capture points drops it (the firewall of the host they belong to, when both are \
             its interfaces)",
            names(seen_on, interfaces),
            names(missing_on, interfaces)
        ),
    }
}

/// The usual cures, as words (the remedies that check them are elsewhere).
pub(super) fn cure(f: &Finding) -> Vec<String> {
    let (tables, icmp) = if f.client.0.is_ipv6() {
        ("ip6tables", "ICMPv6 packet too big (type 2)")
    } else {
        ("iptables", "ICMP fragmentation needed (type 3 code 4)")
    };
    vec![
        format!(
            "clamp the MSS on the router before the smaller link: {tables} -t mangle -A FORWARD \
             -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu (nft: tcp flags syn \
             tcp option maxseg size set rt mtu)"
        ),
        format!("or let {icmp} through on its way back to the sender"),
    ]
}

/// The roles of the stuck segment's sender and receiver.
fn ends(sender: Side) -> (&'static str, &'static str) {
    match sender {
        Side::Client => ("client", "server"),
        Side::Server => ("server", "client"),
    }
}

fn too_big_name(f: &Finding) -> &'static str {
    if f.client.0.is_ipv6() {
        "ICMPv6 packet too big"
    } else {
        "ICMP fragmentation needed"
    }
}

fn error_name(e: &TooBig) -> String {
    let name = if e.v6 {
        "ICMPv6 packet too big"
    } else {
        "ICMP fragmentation needed"
    };
    match e.mtu {
        0 => format!("{name} (no MTU given)"),
        m => format!("{name} (MTU {m})"),
    }
}

fn times(n: u32) -> String {
    if n > 1 {
        format!(" {n} times")
    } else {
        String::new()
    }
}

/// Capture interfaces by name (`lan0`), or by number when the capture names none.
fn names(indices: &[usize], interfaces: &[Interface]) -> String {
    let one = |i: &usize| match interfaces.get(*i).and_then(|x| x.name.as_deref()) {
        Some(n) => n.to_string(),
        None => format!("interface {i}"),
    };
    indices.iter().map(one).collect::<Vec<_>>().join(", ")
}
