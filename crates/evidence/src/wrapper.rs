//! What tools put in front of a kernel message: removed, with the timestamp kept.
//!
//! A kernel log line reaches the user inside one of these wrappers, which [`unwrap`] removes:
//!
//! | source                     | looks like                                                   |
//! |----------------------------|--------------------------------------------------------------|
//! | `dmesg`                    | `[ 1234.567890] MSG`                                         |
//! | `dmesg -T`                 | `[Fri Nov 22 10:00:00 2024] MSG`                             |
//! | `dmesg -x`                 | `kern  :warn  : [ 1234.567890] MSG`                          |
//! | syslog, ufw.log, journal short | `Nov 22 10:00:00 host kernel: [ 1234.567890] MSG`        |
//! | RFC 5424 / `short-iso`     | `2024-11-22T10:00:00.123456+00:00 host kernel: MSG`          |
//! | journal `short-monotonic`  | `[ 1234.567890] host kernel: MSG`                            |
//! | journal `-o json`          | `{"__REALTIME_TIMESTAMP":"1732269600000000","MESSAGE":"MSG",...}` |
//!
//! The message is borrowed from the line (with its byte offset, so spans stay exact) except
//! for JSON, whose `MESSAGE` is unescaped into an owned string.

use std::borrow::Cow;
use std::fmt;

/// When a line was written, as precisely as the wrapper said.
#[derive(Debug, Clone, PartialEq)]
pub enum Stamp {
    /// Seconds since boot (`dmesg`, the kernel's own `[ 1234.567890]`).
    Boot { secs: f64 },
    /// Wall-clock time as printed (`Nov 22 10:00:00`, `2024-11-22T10:00:00+00:00`):
    /// syslog omits the year, so it is kept as text, not reinterpreted.
    Wall { text: String },
    /// Microseconds since the Unix epoch (journal JSON `__REALTIME_TIMESTAMP`).
    Unix { micros: u64 },
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stamp::Boot { secs } => write!(f, "{secs:.6}s after boot"),
            Stamp::Wall { text } => f.write_str(text),
            Stamp::Unix { micros } => f.write_str(&iso_utc(*micros)),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for microseconds since the epoch (proleptic Gregorian).
pub fn iso_utc(micros: u64) -> String {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A line without its wrapper.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrapped<'a> {
    /// The kernel message (what the LOG target or the tracer wrote).
    pub message: Cow<'a, str>,
    /// Byte offset of `message` in the line, when it is borrowed from it.
    pub offset: Option<usize>,
    /// The wall-clock stamp if the wrapper had one, else the boot-time stamp.
    pub stamp: Option<Stamp>,
}

/// Removes the wrapper of one line (see the module doc); a line without one is returned whole.
pub fn unwrap(line: &str) -> Unwrapped<'_> {
    if line.trim_start().starts_with('{') {
        if let Some(u) = journal_json(line) {
            return u;
        }
    }
    let mut at = 0;
    let mut stamp = None;
    // `dmesg -x`: `kern  :warn  : `.
    if let Some(n) = facility_level(line) {
        at = n;
    }
    // `[ 1234.5678] ` or `[Fri Nov 22 10:00:00 2024] ` (dmesg, journal short-monotonic).
    if let Some((s, n)) = bracket_stamp(&line[at..]) {
        stamp = Some(s);
        at += n;
    }
    // A syslog header: a date, a host, a tag ending in `: ` (`kernel: `, `ulogd[12]: `).
    if let Some((s, n)) = syslog_header(&line[at..]) {
        if stamp.is_none() || matches!(stamp, Some(Stamp::Boot { .. })) {
            stamp = Some(s);
        }
        at += n;
    } else if stamp.is_some() {
        // journal short-monotonic: `[ 12.3] host kernel: `.
        if let Some(n) = host_and_tag(&line[at..]) {
            at += n;
        }
    }
    // The kernel's own timestamp inside a syslog line (`kernel: [ 1234.5678] `).
    if let Some((s, n)) = bracket_stamp(&line[at..]) {
        if stamp.is_none() {
            stamp = Some(s);
        }
        at += n;
    }
    Unwrapped {
        message: Cow::Borrowed(&line[at..]),
        offset: Some(at),
        stamp,
    }
}

/// `kern  :warn  : ` (dmesg -x): the length to skip.
fn facility_level(line: &str) -> Option<usize> {
    let (fac, rest) = line.split_once(':')?;
    let (lvl, _) = rest.split_once(':')?;
    let word = |s: &str| {
        let t = s.trim();
        !t.is_empty() && t.len() <= 8 && t.chars().all(|c| c.is_ascii_lowercase())
    };
    if !(word(fac) && word(lvl)) {
        return None;
    }
    let n = fac.len() + 1 + lvl.len() + 1;
    Some(n + (line[n..].len() - line[n..].trim_start_matches(' ').len()))
}

/// `[ 1234.567890] ` or `[Fri Nov 22 10:00:00 2024] ` at the start: the stamp and the length.
fn bracket_stamp(s: &str) -> Option<(Stamp, usize)> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    let text = &inner[..close];
    let stamp = if !text.trim().is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ' ')
    {
        Stamp::Boot {
            secs: text.trim().parse().ok()?,
        }
    } else if text.contains(':') && text.len() >= 20 && text.ends_with(|c: char| c.is_ascii_digit())
    {
        Stamp::Wall {
            text: text.to_string(),
        }
    } else {
        return None;
    };
    let n = 1 + close + 1;
    Some((
        stamp,
        n + (s[n..].len() - s[n..].trim_start_matches(' ').len()),
    ))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Nov 22 10:00:00[.123456] host tag: ` or `2024-11-22T10:00:00+00:00 host tag: `.
fn syslog_header(s: &str) -> Option<(Stamp, usize)> {
    let date_len = if MONTHS.iter().any(|m| s.starts_with(m)) && s.get(3..4) == Some(" ") {
        // `Nov 22 10:00:00` or `Nov  2 10:00:00`, optionally `.123456`.
        let rest = s[4..].trim_start_matches(' ');
        let day_at = s.len() - rest.len();
        let (day, rest) = rest.split_once(' ')?;
        if day.is_empty() || day.len() > 2 || !day.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let time = rest.split(' ').next()?;
        if time.len() < 8 || time.as_bytes().get(2) != Some(&b':') {
            return None;
        }
        day_at + day.len() + 1 + time.len()
    } else if s.len() >= 19
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[10] == b'T'
        && s[..4].chars().all(|c| c.is_ascii_digit())
    {
        s.find(' ')?
    } else {
        return None;
    };
    let text = s[..date_len].to_string();
    let n = date_len + 1 + host_and_tag(s.get(date_len + 1..)?)?;
    Some((Stamp::Wall { text }, n))
}

/// `host tag: ` (the tag ends in `:`; a pid in brackets may precede it): the length.
fn host_and_tag(s: &str) -> Option<usize> {
    let (host, rest) = s.split_once(' ')?;
    if host.is_empty() || host.contains('=') {
        return None;
    }
    let (tag, _) = rest.split_once(' ')?;
    if !tag.ends_with(':') || tag.len() < 2 || tag.contains('=') {
        return None;
    }
    Some(host.len() + 1 + tag.len() + 1)
}

/// One line of `journalctl -o json`.
fn journal_json(line: &str) -> Option<Unwrapped<'_>> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let message = match &v["MESSAGE"] {
        serde_json::Value::String(s) => s.clone(),
        // Non-UTF-8 messages are arrays of bytes.
        serde_json::Value::Array(bytes) => {
            let b: Vec<u8> = bytes
                .iter()
                .filter_map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => return None,
    };
    let micros = |key: &str| v[key].as_str().and_then(|s| s.parse::<u64>().ok());
    let stamp = micros("__REALTIME_TIMESTAMP")
        .map(|micros| Stamp::Unix { micros })
        .or_else(|| {
            micros("_SOURCE_MONOTONIC_TIMESTAMP").map(|m| Stamp::Boot {
                secs: m as f64 / 1e6,
            })
        });
    Some(Unwrapped {
        message: Cow::Owned(message),
        offset: None,
        stamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2";

    fn msg(line: &str) -> (String, Option<Stamp>) {
        let u = unwrap(line);
        (u.message.into_owned(), u.stamp)
    }

    #[test]
    fn plain_message_is_returned_whole() {
        assert_eq!(msg(MSG), (MSG.to_string(), None));
    }

    #[test]
    fn dmesg_boot_stamp() {
        let (m, s) = msg(&format!("[ 1234.567890] {MSG}"));
        assert_eq!(m, MSG);
        assert_eq!(s, Some(Stamp::Boot { secs: 1234.56789 }));
    }

    #[test]
    fn dmesg_t_wall_stamp() {
        let (m, s) = msg(&format!("[Fri Nov 22 10:00:00 2024] {MSG}"));
        assert_eq!(m, MSG);
        assert_eq!(s.unwrap().to_string(), "Fri Nov 22 10:00:00 2024");
    }

    #[test]
    fn dmesg_x_facility_and_level() {
        let (m, s) = msg(&format!("kern  :warn  : [  12.5] {MSG}"));
        assert_eq!(m, MSG);
        assert_eq!(s, Some(Stamp::Boot { secs: 12.5 }));
    }

    #[test]
    fn syslog_with_kernel_stamp_prefers_wall_clock() {
        let line = format!("Nov  2 10:00:00 router kernel: [12345.678901] {MSG}");
        let u = unwrap(&line);
        assert_eq!(u.message, MSG);
        assert_eq!(u.offset, Some(line.len() - MSG.len()));
        assert_eq!(u.stamp.unwrap().to_string(), "Nov  2 10:00:00");
    }

    #[test]
    fn journal_short_precise_and_iso() {
        let (m, s) = msg(&format!("Nov 22 10:00:00.123456 router kernel: {MSG}"));
        assert_eq!(m, MSG);
        assert_eq!(s.unwrap().to_string(), "Nov 22 10:00:00.123456");
        let (m, s) = msg(&format!("2024-11-22T10:00:00+0000 router kernel: {MSG}"));
        assert_eq!(m, MSG);
        assert_eq!(s.unwrap().to_string(), "2024-11-22T10:00:00+0000");
    }

    #[test]
    fn journal_short_monotonic() {
        let (m, s) = msg(&format!("[ 5.000001] router kernel: {MSG}"));
        assert_eq!(m, MSG);
        assert_eq!(s, Some(Stamp::Boot { secs: 5.000001 }));
    }

    #[test]
    fn journal_json_message_and_realtime() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1732269600000000","_HOSTNAME":"r","MESSAGE":"[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2"}"#;
        let u = unwrap(line);
        assert_eq!(u.message, MSG);
        assert_eq!(u.offset, None);
        assert_eq!(u.stamp.unwrap().to_string(), "2024-11-22T10:00:00.000000Z");
    }

    #[test]
    fn journal_json_byte_array_message() {
        let u = unwrap(r#"{"MESSAGE":[73,78,61,97]}"#);
        assert_eq!(u.message, "IN=a");
    }

    #[test]
    fn prefix_with_colon_is_not_a_syslog_tag() {
        // `filter_IN_public_REJECT: IN=...` has no date: kept whole.
        let line = "filter_IN_public_REJECT: IN=eth0 OUT=";
        assert_eq!(msg(line).0, line);
    }

    #[test]
    fn epoch_formats() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso_utc(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "[",
            "[]",
            "{",
            "{\"MESSAGE\":1}",
            "Nov",
            "Nov 2",
            "2024-11-22T",
            "a:b:",
            "é:é: [é]",
            "Nov 22 10:00:00",
        ] {
            let _ = unwrap(t);
        }
    }
}
