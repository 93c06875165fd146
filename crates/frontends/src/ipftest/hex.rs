//! The hex format (`ipft_hx.c`): bytes in hexadecimal, whitespace between bytes, `#`
//! comments; a packet ends at an empty line. A line may start with `[in,IF]`,
//! `[out,IF]`, `[IF]` or `[]`, optionally followed by `+mcast`, `+bcast`, `+mbcast`.
//!
//! ipftest's own quirks are kept, because the regression suite's expected output depends
//! on them: `[out]` (no comma) names an interface `out` and leaves the direction `in`; an
//! empty line with no bytes before it ends the whole input; bytes after the last empty
//! line are dropped (`hex_readip` returns 0 at end of file).

use super::{split_interface, Input, InputPacket, LinkCast};

/// The packet being gathered.
#[derive(Default)]
struct Pending {
    out: bool,
    interface: Option<String>,
    cast: LinkCast,
    bytes: Vec<u8>,
    line: u32,
}

pub(super) fn parse(text: &str) -> Input {
    let mut input = Input::default();
    let mut pending = Pending::default();
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = index as u32 + 1;
        if raw == "\n" {
            if pending.bytes.is_empty() {
                return input;
            }
            let done = std::mem::take(&mut pending);
            let (interface, interface_addr) = match done.interface {
                Some(spec) => {
                    let (name, addr) = split_interface(&spec);
                    (Some(name), addr)
                }
                None => (None, None),
            };
            input.packets.push(InputPacket {
                out: done.out,
                interface,
                interface_addr,
                cast: done.cast,
                bytes: done.bytes,
                line: done.line,
            });
            continue;
        }
        let line = raw.trim_end_matches('\n');
        let line = line.split('#').next().unwrap_or("");
        if line.is_empty() {
            continue;
        }
        if pending.bytes.is_empty() && pending.line == 0 {
            pending.line = line_no;
        }
        let rest = match bracket(line) {
            Some((inside, after)) => {
                apply_bracket(inside, &mut pending);
                link_flags(after, &mut pending.cast)
            }
            None => line,
        };
        read_hex(rest, &mut pending.bytes);
    }
    input
}

/// `[...]` at the start of a line: what is inside and what follows.
fn bracket(line: &str) -> Option<(&str, &str)> {
    let inner = line.strip_prefix('[')?;
    let close = inner.find(']')?;
    Some((&inner[..close], &inner[close + 1..]))
}

fn apply_bracket(inside: &str, pending: &mut Pending) {
    if inside.is_empty() {
        return;
    }
    match inside.split_once(',') {
        Some((dir, interface)) => {
            pending.interface = Some(interface.to_string());
            match dir.as_bytes().first() {
                Some(b'i') => pending.out = false,
                Some(b'o') => pending.out = true,
                _ => {}
            }
        }
        None => pending.interface = Some(inside.to_string()),
    }
}

/// `+mcast`, `+bcast`, `+mbcast` after the bracket; returns the text left for bytes.
/// As `hex_readip` does, one character after the bracket (or after the last flag) is
/// consumed whatever it is.
fn link_flags<'a>(mut after: &'a str, cast: &mut LinkCast) -> &'a str {
    loop {
        let Some(first) = after.chars().next() else {
            return "";
        };
        after = &after[first.len_utf8()..];
        if first != '+' {
            return after;
        }
        for word in ["mcast", "bcast", "mbcast"] {
            if after
                .get(..word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
            {
                set_flag(word, cast);
                after = &after[word.len()..];
            }
        }
    }
}

fn set_flag(word: &str, cast: &mut LinkCast) {
    match word {
        "mcast" => cast.multicast = true,
        "bcast" => cast.broadcast = true,
        _ => cast.mbcast = true,
    }
}

/// `readhex`: pairs of hex digits make bytes, whitespace ends a half-read byte, anything
/// else stops the line.
fn read_hex(text: &str, out: &mut Vec<u8>) {
    let mut half = false;
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            half = false;
            continue;
        }
        let Some(nibble) = c.to_digit(16) else {
            break;
        };
        if half {
            if let Some(last) = out.last_mut() {
                *last |= nibble as u8;
            }
            half = false;
        } else {
            out.push((nibble as u8) << 4);
            half = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_name_the_direction_interface_address_and_cast() {
        let text = "# a comment\n[out,nic0=192.168.1.188]+mcast\n4500 0014\n 0000 4000 # tail\n\n[in]\n45 00\n\n";
        let input = parse(text);
        assert_eq!(input.packets.len(), 2);
        let first = &input.packets[0];
        assert!(first.out);
        assert_eq!(first.interface.as_deref(), Some("nic0"));
        assert_eq!(first.interface_addr, Some("192.168.1.188".parse().unwrap()));
        assert!(first.cast.multicast);
        assert_eq!(first.bytes, [0x45, 0, 0, 0x14, 0, 0, 0x40, 0]);
        // `[in]` names an interface `in`, as ipftest reads it, and leaves the direction in.
        assert!(!input.packets[1].out);
        assert_eq!(input.packets[1].interface.as_deref(), Some("in"));
    }

    #[test]
    fn bytes_after_the_last_empty_line_are_dropped_as_ipftest_drops_them() {
        let input = parse("4500 0014\n\n4500 0028\n");
        assert_eq!(input.packets.len(), 1);
    }
}
