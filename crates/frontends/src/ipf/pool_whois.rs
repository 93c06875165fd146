//! The networks of a whois reply (`read_whoisfile` in `ippool_y.y`, each line through
//! `lib/parsewhoisline.c`): a line `… (NET-…) A.B.C.D - E.F.G.H` gives the network
//! from A.B.C.D to E.F.G.H when that range is one prefix; every other line is skipped.

use std::net::{IpAddr, Ipv4Addr};

use model::ipf::pool::PoolEntry;
use model::ipf::Masked;

/// The networks of `text`, in the order written.
pub fn networks(text: &str) -> Vec<PoolEntry> {
    text.lines()
        .filter_map(network)
        .map(|net| PoolEntry {
            negated: false,
            net,
            group: None,
        })
        .collect()
}

/// `parsewhoisline`: only the line's first `(` is looked at. An `(NET6` line gives
/// nothing: the function hands `inet_pton` the text from the space after `)`, which it
/// never accepts.
fn network(line: &str) -> Option<Masked> {
    let open = line.find('(')?;
    let at_paren = &line[open..];
    if at_paren.as_bytes().get(4) == Some(&b'6') {
        return None;
    }
    let close = at_paren.find(')')?;
    let rest = at_paren[close + 1..].strip_prefix(' ')?;
    let (first, rest) = inet_aton_prefix(rest)?;
    let last_text = rest.strip_prefix(" - ")?;
    let (last, _) = inet_aton_prefix(last_text)?;
    let (a1, a2) = (u32::from(first), u32::from(last));
    let mask = !(a2 ^ a1);
    // `count4bits`: the mask must be contiguous; and the start on its boundary.
    if mask.leading_ones() + mask.trailing_zeros() != 32 || a1 & mask != a1 {
        return None;
    }
    Masked::new(IpAddr::V4(first), IpAddr::V4(Ipv4Addr::from(mask)))
}

/// `inet_aton`'s reading of the address at the start of `s` (which it ends at a space
/// or the line's end): the address and what follows it. Dotted quads only.
fn inet_aton_prefix(s: &str) -> Option<(Ipv4Addr, &str)> {
    let end = s.find(|c: char| c.is_ascii_whitespace()).unwrap_or(s.len());
    let addr = s[..end].parse::<Ipv4Addr>().ok()?;
    Some((addr, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::networks;

    fn printed(text: &str) -> Vec<String> {
        networks(text)
            .iter()
            .map(|e| format!("{}/{}", e.net.addr, e.net.mask))
            .collect()
    }

    #[test]
    fn reads_a_net_line_as_its_prefix() {
        let text = "Microsoft Corp MICROSOFT (NET-131-107-0-0-1) 131.107.0.0 - 131.107.255.255\n";
        assert_eq!(printed(text), ["131.107.0.0/255.255.0.0"]);
    }

    #[test]
    fn skips_lines_without_a_range_and_ranges_that_are_no_prefix() {
        let text = "Microsoft Corp (MSFT) \n\
                    Microsoft Corp (AS8068) MICROSOFT-CORP---MSN-AS-BLOCK    8068 - 8075\n\
                    X (NET-1-1-1-0-1) 1.1.1.0 - 1.1.1.2\n\
                    X (NET-1-1-1-1-1) 1.1.1.1 - 1.1.1.2\n\
                    X (NET6-2001-1) 2001:db8:: - 2001:db8::ffff\n\
                    X (NET-2-2-2-0-1) 2.2.2.0 - 2.2.2.255\n";
        assert_eq!(printed(text), ["2.2.2.0/255.255.255.0"]);
    }
}
