//! The `opt` word of the text format: IP options built as `lib/buildopts.c` and
//! `lib/addipopt.c` build them (each option takes its table size; `rr`, `ts`, `lsrr`,
//! `ssrr` get length 7; `sec-class=LEVEL` sets the classification byte; `lsrr=ADDR` and
//! `ssrr=ADDR` the first address; the list is padded with NOPs and ended with EOL).

/// Name, option type and the room it takes (`lib/ionames.c`).
const OPTIONS: [(&str, u8, usize); 25] = [
    ("nop", 1, 1),
    ("rr", 7, 8),
    ("zsu", 10, 4),
    ("mtup", 11, 4),
    ("mtur", 12, 4),
    ("encode", 15, 4),
    ("ts", 68, 8),
    ("tr", 82, 4),
    ("sec", 130, 12),
    ("sec-class", 130, 12),
    ("lsrr", 131, 8),
    ("e-sec", 133, 8),
    ("cipso", 134, 8),
    ("satid", 136, 4),
    ("ssrr", 137, 8),
    ("addext", 147, 4),
    ("visa", 142, 4),
    ("imitd", 144, 4),
    ("eip", 145, 4),
    ("finn", 205, 4),
    ("dps", 151, 4),
    ("sdb", 149, 4),
    ("nsapa", 150, 4),
    ("rtralrt", 148, 4),
    ("ump", 152, 4),
];

/// IPSO classification levels (`lib/ipoptsec.c`, values from `ip_compat.h`).
const LEVELS: [(&str, u8); 8] = [
    ("reserv-4", 0x01),
    ("topsecret", 0x3d),
    ("secret", 0x5a),
    ("reserv-3", 0x66),
    ("confid", 0x96),
    ("unclass", 0xab),
    ("reserv-2", 0xcc),
    ("reserv-1", 0xf1),
];

/// The option bytes for `spec` (`lsrr,sec-class=topsecret`), or the name not known.
pub(super) fn build_options(spec: &str) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new();
    let mut seen: Vec<u8> = Vec::new();
    for item in spec.split(',').filter(|s| !s.is_empty()) {
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        let Some(&(_, kind, size)) = OPTIONS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        else {
            return Err(name.to_string());
        };
        // `buildopts` matches a name only once; `sec` and `sec-class` share a bit.
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        if out.len() + size > 48 {
            continue;
        }
        let start = out.len();
        out.resize(start + size, 0);
        out[start] = kind;
        if size > 1 {
            out[start + 1] = size as u8;
            out[start + 2] = 4;
            match kind {
                130 => {
                    out[start + 2] = LEVELS
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(value))
                        .map_or(0, |(_, v)| *v);
                }
                7 | 68 => out[start + 2] = 7,
                131 | 137 => {
                    out[start + 2] = 7;
                    let addr: std::net::Ipv4Addr =
                        value.parse().unwrap_or(std::net::Ipv4Addr::BROADCAST);
                    out[start + 3..start + 7].copy_from_slice(&addr.octets());
                }
                136 => {
                    // ipftest copies the id's two bytes in the host's order (little-endian
                    // here) from the option's fourth byte: the second lands past the
                    // 4-byte option, where the next option or the padding overwrites it.
                    let n = value.parse::<u16>().unwrap_or(0);
                    out[start + 3] = n.to_le_bytes()[0];
                }
                _ => {}
            }
        }
    }
    while out.len() & 3 != 3 {
        out.push(1);
    }
    out.push(0);
    Ok(out)
}
