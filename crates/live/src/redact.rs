//! Consistent redaction of addresses, MACs and host names, for sharing a snapshot in a bug
//! report while the answers it gives stay the same.
//!
//! IP addresses are mapped prefix-preservingly (the Crypto-PAn construction with a keyed
//! hash): bit *i* of the result is bit *i* of the address flipped by a keyed function of the
//! bits before it. So the same address always gets the same replacement, two addresses that
//! share an *n*-bit prefix map to two that share exactly an *n*-bit prefix, and every
//! network maps onto a network of the same length: routes, interface subnets, `-s 10.0.0.0/8`
//! and set prefixes keep matching exactly the addresses they matched. The key is random per
//! redaction and never written.
//!
//! Kept as they are, because the kernel treats them specially or they identify nothing:
//! IPv4 `0/8`, `127/8`, `224/3` (multicast, reserved, broadcast) and the first octet of
//! every other address (so private `10/8` stays private); IPv6 `::`, `::1`, `ff00::/8`, the
//! first 16 bits of every other address and the upper 64 bits of `fe80::/64`; an
//! IPv4-mapped IPv6 address maps its IPv4 part like IPv4.
//!
//! Not exact: an address *range* (`10.0.0.5-10.0.0.9`) is mapped endpoint by endpoint, which
//! is not the image of the range. [`Redactor::redact`] counts such ranges so the snapshot
//! can say so.
//!
//! MACs: unicast ones become locally administered addresses (`02:...`) by a keyed hash;
//! multicast and all-zero ones are kept. Host names, of any length, are replaced by fixed
//! words wherever they stand as whole words.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One redaction key and the names to hide.
#[derive(Debug, Clone)]
pub struct Redactor {
    key: RandomState,
    /// (original, replacement), longest first.
    names: Vec<(String, String)>,
}

/// What [`Redactor::redact`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub addresses: usize,
    pub macs: usize,
    pub names: usize,
    /// `A-B` address ranges (mapped endpoint by endpoint: not exact).
    pub ranges: usize,
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::new()
    }
}

impl Redactor {
    /// A redactor with a fresh random key.
    pub fn new() -> Redactor {
        Redactor {
            key: RandomState::new(),
            names: Vec::new(),
        }
    }

    /// Also replaces `name` (a host name, of any length; `localhost` names no host and is
    /// kept), wherever it stands as a whole word (see [`replace_names`]).
    pub fn hide_name(&mut self, name: &str, replacement: &str) {
        let name = name.trim();
        if name.is_empty() || name == "localhost" || self.names.iter().any(|(n, _)| n == name) {
            return;
        }
        self.names.push((name.to_string(), replacement.to_string()));
        self.names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    }

    fn bit(&self, family: u8, len: u32, prefix: u128) -> u128 {
        let mut h = self.key.build_hasher();
        h.write_u8(family);
        h.write_u32(len);
        h.write_u128(prefix);
        (h.finish() & 1) as u128
    }

    /// Flips bits `keep..width` of `v` (a `width`-bit value) prefix-preservingly.
    fn pan(&self, family: u8, v: u128, width: u32, keep: u32) -> u128 {
        let mut out = v;
        for i in keep..width {
            let prefix = if i == 0 { 0 } else { v >> (width - i) };
            out ^= self.bit(family, i, prefix) << (width - 1 - i);
        }
        out
    }

    pub fn v4(&self, a: Ipv4Addr) -> Ipv4Addr {
        let o = a.octets()[0];
        if o == 0 || o == 127 || o >= 224 {
            return a;
        }
        Ipv4Addr::from(self.pan(4, u32::from(a) as u128, 32, 8) as u32)
    }

    pub fn v6(&self, a: Ipv6Addr) -> Ipv6Addr {
        let v = u128::from(a);
        if v <= 1 || a.segments()[0] >> 8 == 0xff {
            return a;
        }
        if let Some(v4) = a.to_ipv4_mapped() {
            return self.v4(v4).to_ipv6_mapped();
        }
        let keep = if a.segments()[0] & 0xffc0 == 0xfe80 {
            64
        } else {
            16
        };
        Ipv6Addr::from(self.pan(6, v, 128, keep))
    }

    pub fn ip(&self, a: IpAddr) -> IpAddr {
        match a {
            IpAddr::V4(a) => IpAddr::V4(self.v4(a)),
            IpAddr::V6(a) => IpAddr::V6(self.v6(a)),
        }
    }

    pub fn mac(&self, m: [u8; 6]) -> [u8; 6] {
        if m[0] & 1 == 1 || m == [0; 6] {
            return m;
        }
        let mut h = self.key.build_hasher();
        h.write(b"mac");
        h.write(&m);
        let x = h.finish().to_be_bytes();
        [x[0] & 0xfc | 0x02, x[1], x[2], x[3], x[4], x[5]]
    }

    /// `text` with every address, MAC and host name replaced.
    pub fn redact(&self, text: &str, stats: &mut Stats) -> String {
        let (named, replaced) = replace_names(text, &self.names);
        stats.names += replaced;
        let s = named.as_str();
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut last_end_was_addr: Option<usize> = None;
        while i < b.len() {
            if !is_run(b[i]) || (i > 0 && is_word(b[i - 1]) && !is_run(b[i - 1])) {
                let ch = s[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&s[i..i + ch]);
                i += ch;
                continue;
            }
            let start = i;
            while i < b.len() && is_run(b[i]) {
                i += 1;
            }
            if i < b.len() && is_word(b[i]) {
                // Part of a longer word (`eth0`, `deadbeefcafe`): not an address.
                while i < b.len() && (is_word(b[i]) || is_run(b[i])) {
                    i += 1;
                }
                out.push_str(&s[start..i]);
                continue;
            }
            let run = &s[start..i];
            // `ADDR/LEN`: the prefix's image, host bits cleared.
            let prefix_len = (b.get(i) == Some(&b'/'))
                .then(|| {
                    let digits: String = s[i + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    digits.parse::<u8>().ok()
                })
                .flatten();
            let (mapped, was_addr) = self.token(run, prefix_len, stats);
            if was_addr {
                if let Some(end) = last_end_was_addr {
                    if end + 1 == start && b[end] == b'-' {
                        stats.ranges += 1;
                    }
                }
                last_end_was_addr = Some(i);
            }
            out.push_str(&mapped);
        }
        out
    }

    /// One run of address characters: (its replacement, whether it held an address).
    fn token(&self, run: &str, prefix_len: Option<u8>, stats: &mut Stats) -> (String, bool) {
        let trimmed = run.trim_end_matches(['.', ':']);
        for cand in [run, trimmed] {
            let Ok(a) = cand.parse::<Ipv6Addr>() else {
                continue;
            };
            if cand.len() > 2 {
                stats.addresses += 1;
                let m = self.v6(a);
                let m = match prefix_len {
                    Some(l) if l <= 128 => mask6(m, l),
                    _ => m,
                };
                return (format!("{m}{}", &run[cand.len()..]), true);
            }
        }
        let tail = &run[trimmed.len()..];
        if let Some(m) = parse_mac(trimmed) {
            stats.macs += 1;
            let r = self.mac(m);
            let upper = trimmed.chars().any(|c| c.is_ascii_uppercase());
            let text = r
                .iter()
                .map(|x| {
                    if upper {
                        format!("{x:02X}")
                    } else {
                        format!("{x:02x}")
                    }
                })
                .collect::<Vec<_>>()
                .join(":");
            return (format!("{text}{tail}"), true);
        }
        if let Ok(a) = trimmed.parse::<Ipv4Addr>() {
            stats.addresses += 1;
            let m = self.v4(a);
            let m = match prefix_len {
                Some(l) if l <= 32 => mask4(m, l),
                _ => m,
            };
            return (format!("{m}{tail}"), true);
        }
        // `10.1.1.2:1050`, `[...]` was already split at the bracket.
        if let Some((addr, port)) = trimmed.rsplit_once(':') {
            if let Ok(a) = addr.parse::<Ipv4Addr>() {
                if port.chars().all(|c| c.is_ascii_digit()) {
                    stats.addresses += 1;
                    return (format!("{}:{port}{tail}", self.v4(a)), true);
                }
            }
        }
        (run.to_string(), false)
    }
}

/// `text` with every name of `names` (longest first) replaced where it stands as a whole
/// word (no letter, digit or `_` right before or after it), in one pass so that a
/// replacement is never replaced again; and how many were replaced. Whole words only, so
/// that a short host name (`db`) is replaced where it is the name and not inside `dbus`.
fn replace_names(text: &str, names: &[(String, String)]) -> (String, usize) {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !is_word(b[i - 1]);
        let hit = names.iter().find(|(n, _)| {
            let end = i + n.len();
            starts_word && text[i..].starts_with(n.as_str()) && (end == b.len() || !is_word(b[end]))
        });
        if let Some((n, r)) = hit {
            out.push_str(r);
            i += n.len();
            count += 1;
            continue;
        }
        let ch = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch]);
        i += ch;
    }
    (out, count)
}

fn mask4(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    let m = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    Ipv4Addr::from(u32::from(a) & m)
}

fn mask6(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let m = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    Ipv6Addr::from(u128::from(a) & m)
}

fn is_run(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn same_address_same_replacement() {
        let r = Redactor::new();
        assert_eq!(r.v4(v4("10.1.1.2")), r.v4(v4("10.1.1.2")));
        assert_ne!(r.v4(v4("10.1.1.2")), r.v4(v4("10.1.1.3")));
    }

    #[test]
    fn prefixes_are_preserved() {
        let r = Redactor::new();
        let common = |a: Ipv4Addr, b: Ipv4Addr| (u32::from(a) ^ u32::from(b)).leading_zeros();
        for (a, b) in [
            ("10.1.1.2", "10.1.1.200"),
            ("10.1.1.2", "10.1.0.2"),
            ("10.1.1.2", "10.9.1.2"),
        ] {
            let (a, b) = (v4(a), v4(b));
            assert_eq!(common(a, b), common(r.v4(a), r.v4(b)));
        }
        assert_eq!(r.v4(v4("10.1.1.2")).octets()[0], 10);
    }

    #[test]
    fn special_addresses_are_kept() {
        let r = Redactor::new();
        for a in ["127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1"] {
            assert_eq!(r.v4(v4(a)), v4(a));
        }
        for a in ["::", "::1", "ff02::1"] {
            let a: Ipv6Addr = a.parse().unwrap();
            assert_eq!(r.v6(a), a);
        }
        let ll: Ipv6Addr = "fe80::1234:56ff:fe78:9abc".parse().unwrap();
        let m = r.v6(ll);
        assert_eq!(m.segments()[..4], ll.segments()[..4]);
        assert_ne!(m, ll);
        let mapped: Ipv6Addr = "::ffff:10.1.1.2".parse().unwrap();
        assert_eq!(r.v6(mapped).to_ipv4_mapped(), Some(r.v4(v4("10.1.1.2"))));
    }

    #[test]
    fn text_is_redacted_in_place() {
        let mut r = Redactor::new();
        r.hide_name("web1.example.org", "redacted-host.invalid");
        r.hide_name("web1", "redacted-host");
        let mut st = Stats::default();
        let t = "-A INPUT -s 10.1.1.0/24 -d 10.1.1.1 -j ACCEPT\nsrc=10.1.1.2 dport=22 \
                 lladdr 02:aa:bb:cc:dd:ee web1.example.org eth0 1.8.9 10.0.0.1:22 \
                 fe80::1/64 -m iprange --src-range 10.1.1.5-10.1.1.9";
        let out = r.redact(t, &mut st);
        for orig in [
            "10.1.1.1 ",
            "10.1.1.2",
            "02:aa:bb",
            "web1",
            "10.0.0.1:",
            "10.1.1.5",
        ] {
            assert!(!out.contains(orig), "{orig} survived in {out}");
        }
        assert!(out.contains(" eth0 1.8.9 "), "{out}");
        let net = format!("-s {}/24", mask4(r.v4(v4("10.1.1.77")), 24));
        assert!(out.contains(&net), "{out} lacks {net}");
        assert_eq!(st.ranges, 1);
        assert_eq!(st.macs, 1);
        // Redacting twice with one key is stable on the original text.
        assert_eq!(out, r.redact(t, &mut Stats::default()));
    }

    #[test]
    fn d6_every_host_name_is_replaced_even_a_short_one() {
        for name in ["db", "x", "fw1"] {
            let mut r = Redactor::new();
            r.hide_name(name, "redacted-host");
            let mut st = Stats::default();
            let t = format!(
                "hostname {name}\n-A INPUT -m comment --comment \"ssh from {name}\" -j ACCEPT\n\
                 {name}.lan {name}-eth0 dbus sudb x11 fw10"
            );
            let out = r.redact(&t, &mut st);
            assert_eq!(st.names, 4, "{name}: {out}");
            assert!(out.starts_with("hostname redacted-host\n"), "{out}");
            assert!(out.contains("\"ssh from redacted-host\""), "{out}");
            assert!(
                out.contains("redacted-host.lan redacted-host-eth0 dbus sudb x11 fw10"),
                "{out}"
            );
        }
        // A replacement is not replaced again, whatever the name.
        let mut r = Redactor::new();
        r.hide_name("host.invalid", "redacted-host.invalid");
        r.hide_name("host", "redacted-host");
        let out = r.redact("host host.invalid", &mut Stats::default());
        assert_eq!(out, "redacted-host redacted-host.invalid");
        // `localhost` is no host's name.
        let mut r = Redactor::new();
        r.hide_name("localhost", "redacted-host");
        assert_eq!(r.redact("localhost", &mut Stats::default()), "localhost");
    }
}
