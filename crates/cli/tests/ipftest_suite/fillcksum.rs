//! A port of the suite's `fillcksum.pl`: `build_test.pl` (`cksumfile`) runs it on a
//! prepared file that still holds `CKSUM` placeholders, and it rewrites every hex
//! packet with its IP, TCP, UDP and ICMP checksums filled in.
//!
//! The port follows the script line by line, quirks included (its TCP header-length
//! check reads the flags byte, a zero UDP checksum is left zero, ICMPv6 is summed
//! without the pseudo-header, an ICMP error's checksum is computed before the quoted
//! header's): the expected outputs were made with it, so its quirks are the truth here.

/// The script's state: the 16-bit words of the packet being read (`@bytes`, whose
/// length is `$#bytes + 1` while `$cnt` counts the words read), and its flags.
#[derive(Default)]
struct Filler {
    bytes: Vec<i64>,
    cnt: usize,
    multi: bool,
    squares: bool,
    pktlen: i64,
    out: String,
}

/// `fillcksum.pl FILE`: the text it prints for `text`.
pub fn fill_checksums(text: &str) -> String {
    let mut filler = Filler::default();
    for line in text.split_inclusive('\n') {
        filler.read_input(line);
    }
    if filler.cnt > 0 {
        filler.ipv4check(0);
        filler.dump();
    }
    filler.out
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn is_lower_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
}

/// `" HH HH"` at `p` (a space, two hex digits, a space, two hex digits), followed by
/// a space when `trailing_space`.
fn pair_at(s: &[u8], p: usize, trailing_space: bool) -> bool {
    let at = |i: usize| s.get(p + i).copied();
    at(0) == Some(b' ')
        && at(1).is_some_and(is_hex)
        && at(2).is_some_and(is_hex)
        && at(3) == Some(b' ')
        && at(4).is_some_and(is_hex)
        && at(5).is_some_and(is_hex)
        && (!trailing_space || at(6) == Some(b' '))
}

/// Perl's `hex()` of a string: its leading hex digits.
fn perl_hex(s: &str) -> i64 {
    s.bytes().take_while(|c| is_hex(*c)).fold(0, |acc, c| {
        acc * 16 + i64::from((c as char).to_digit(16).unwrap_or(0))
    })
}

impl Filler {
    fn get(&self, i: usize) -> i64 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// A Perl array store: storing past the end grows the array.
    fn set(&mut self, i: usize, v: i64) {
        if i >= self.bytes.len() {
            self.bytes.resize(i + 1, 0);
        }
        self.bytes[i] = v;
    }

    /// `(cnt - base) * 2`: the bytes read from `base` on.
    fn left(&self, base: usize) -> i64 {
        (self.cnt as i64 - base as i64) * 2
    }

    /// `dump`: prints the words (only the high byte past the IP length), resets.
    fn dump(&mut self) {
        for (i, word) in self.bytes.iter().enumerate() {
            if (i as i64) * 2 + 2 > self.pktlen {
                self.out.push_str(&format!("{:02x} ", word >> 8));
            } else {
                self.out.push_str(&format!("{word:04x} "));
            }
        }
        self.out.push('\n');
        if self.squares {
            self.out.push('\n');
        }
        self.cnt = 0;
        self.multi = false;
        self.bytes.clear();
    }

    /// `dosum`: the one's-complement sum of words `start..max` plus `seed`, folded once.
    fn dosum(&self, seed: i64, start: usize, max: usize) -> i64 {
        let mut sum = seed;
        for idx in start..max {
            sum += self.get(idx);
        }
        sum = (sum & 0xffff) + (sum >> 16);
        !sum & 0xffff
    }

    fn ipv4addrsum(&self, b: usize) -> i64 {
        (6..10).map(|i| self.get(b + i)).sum()
    }

    fn ipv6addrsum(&self, b: usize) -> i64 {
        (4..20).map(|i| self.get(b + i)).sum()
    }

    /// Stores at `at` the sum computed with `at` zeroed.
    fn refill(&mut self, at: usize, seed: i64, start: usize, max: usize) {
        self.set(at, 0);
        let sum = self.dosum(seed, start, max);
        self.set(at, sum);
    }

    /// `tcpcommon`; `len` is the caller's `$len` (Perl's dynamic scope).
    fn tcpcommon(&mut self, base: usize, hl: usize, seed: i64, len: i64) {
        let thl = (self.get(base + hl + 6) & 0xf0) >> 2;
        let left = self.left(base);
        let hl_words = hl as i64;
        if self.get(base + 1) > left
            || left < hl_words + hl_words
            || left < hl_words + thl
            || len < thl
            || left < 20
        {
            return;
        }
        let tcpat = base + hl;
        if self.dosum(seed, tcpat, self.cnt) != 0 {
            self.refill(tcpat + 8, seed, tcpat, self.cnt);
        }
    }

    /// `udpcommon`; `udpsum` is `udpcheck`'s pseudo-header sum.
    fn udpcommon(&mut self, base: usize, hl: usize, udpsum: i64) {
        let left = self.left(base);
        let header = ((hl as i64) << 1) + 8;
        if self.get(base + 1) > left || self.get(base + 1) < header || left < header {
            return;
        }
        let udpat = base + hl;
        let sum = self.dosum(udpsum, udpat, self.cnt);
        // A zero UDP checksum is valid and stays zero.
        if self.get(udpat + 3) != 0 && sum != 0 {
            self.refill(udpat + 3, udpsum, udpat, self.cnt);
        }
    }

    fn ipv6check(&mut self, base: usize) {
        let version = (self.get(base) / 256) >> 4;
        if base == 0 {
            self.pktlen = self.get(2);
        }
        if version != 6 {
            return;
        }
        match self.get(base + 3) >> 8 {
            6 => self.tcpcheck6(base),
            58 => self.icmpcheck6(base),
            _ => {}
        }
        self.pktlen += 40;
    }

    fn tcpcheck6(&mut self, base: usize) {
        if (self.get(base) / 256) >> 4 != 6 {
            return;
        }
        let len = self.get(base + 2);
        let seed = 6 + len + self.ipv6addrsum(base);
        self.tcpcommon(base, 20, seed, len);
    }

    fn icmpcheck6(&mut self, base: usize) {
        if (self.get(base) / 256) >> 4 != 6 {
            return;
        }
        let hl = 20;
        let left = self.left(base);
        let header = (hl << 1) + 8;
        if self.get(base + 2) > left || self.get(base + 2) < header || left < header {
            return;
        }
        let at = base + hl as usize;
        self.refill(at + 1, 0, at, self.cnt);
    }

    fn ipv4check(&mut self, base: usize) {
        let first = self.get(base) / 256;
        if first >> 4 == 6 {
            self.ipv6check(base);
            return;
        }
        if base == 0 {
            self.pktlen = self.get(1);
        }
        if first >> 4 != 4 {
            return;
        }
        let hl = ((first & 0xf) << 1) as usize;
        if self.dosum(0, base, base + hl) != 0 {
            self.refill(base + 5, 0, base, base + hl);
        }
        let proto = self.get(base + 4) & 0xff;
        if proto == 4 {
            // The script passes its `$hl`, not `$base + $hl`.
            self.ipv4check(hl);
        }
        match proto {
            6 => self.tcpcheck(base),
            17 => self.udpcheck(base),
            1 => self.icmpcheck(base),
            _ => {}
        }
    }

    /// The IPv4 header length in words, when the header at `base` (or, for
    /// `udpcheck`, at 0) is IPv4 and the packet is not a fragment.
    fn unfragmented_v4(&self, base: usize, header_at: usize) -> Option<usize> {
        let first = self.get(header_at) / 256;
        if first >> 4 != 4 || self.get(base + 3) & 0x3fff != 0 {
            return None;
        }
        Some(((first & 0xf) << 1) as usize)
    }

    fn tcpcheck(&mut self, base: usize) {
        let Some(hl) = self.unfragmented_v4(base, base) else {
            return;
        };
        let len = self.get(base + 1) - ((hl as i64) << 1);
        let seed = 6 + len + self.ipv4addrsum(base);
        self.tcpcommon(base, hl, seed, len);
    }

    fn udpcheck(&mut self, base: usize) {
        let Some(hl) = self.unfragmented_v4(base, 0) else {
            return;
        };
        let len = self.get(base + 1) - ((hl as i64) << 1);
        let udpsum = 17 + len + self.ipv4addrsum(base);
        self.udpcommon(base, hl, udpsum);
    }

    fn icmpcheck(&mut self, base: usize) {
        let first = self.get(base) / 256;
        if first >> 4 != 4 || self.get(3) & 0x1fff != 0 {
            return;
        }
        let hl = ((first & 0xf) << 1) as usize;
        let left = self.left(base);
        let header = ((hl as i64) << 1) + 8;
        if self.get(base + 1) > left || self.get(base + 1) < header || left < header {
            return;
        }
        let at = base + hl;
        self.refill(at + 1, 0, at, self.cnt);
        if base == 0 && matches!(self.get(hl) >> 8, 3 | 4 | 5 | 11 | 12) {
            self.ipv4check(hl + 4);
        }
    }

    /// `readinput`: one line of the file.
    fn read_input(&mut self, raw: &str) {
        let mut save = raw.to_string();
        // `chop`: the last character, the newline on every line but perhaps the last.
        let mut line = raw.to_string();
        line.pop();
        if let Some(hash) = line.find('#') {
            line.truncate(hash);
        }
        if line.starts_with('[') {
            self.squares = true;
            self.multi = true;
            if let Some(close) = line.find(']') {
                line.replace_range(..=close, "");
            }
            if let Some(close) = save.find(']') {
                let rest = &save[close + 1..];
                let kept = rest.find('\n').map_or("", |n| &rest[n..]);
                save = format!("{}{kept}", &save[..=close]);
            }
            self.out.push_str(&save);
            save.clear();
        }
        let line = line.trim_start_matches(' ');
        if line.is_empty() {
            if self.cnt == 0 {
                self.out.push_str(&save);
                return;
            }
            self.ipv4check(0);
            self.dump();
            return;
        }
        let b = line.as_bytes();
        let four = b.len() >= 4 && b[..4].iter().all(|c| is_lower_hex(*c));
        let then_word = b.get(4) == Some(&b' ') && b.get(5).is_some_and(|c| is_lower_hex(*c));
        let then_blank = b
            .get(4..)
            .is_some_and(|t| t.iter().all(u8::is_ascii_whitespace));
        if !(four && (then_word || then_blank)) {
            self.out.push_str(&save);
            return;
        }
        let mut words = replace_nic_hexaddr(line)
            .replace("TCPCKSUM", "0000")
            .replace("UDPCKSUM", "0000")
            .replace("IPCKSUM", "0000")
            .replace('\t', " ")
            .into_bytes();
        join_byte_pairs(&mut words);
        self.read_words(&String::from_utf8_lossy(&words));
        if !self.multi && self.cnt > 0 {
            self.ipv4check(0);
            self.dump();
        }
    }

    /// The script's last loops: four hex digits at a time into words, then a
    /// straggler byte as the high byte of one more.
    fn read_words(&mut self, mut rest: &str) {
        while rest.len() >= 4 && rest.as_bytes()[..4].iter().all(|c| is_hex(*c)) {
            let word = perl_hex(&rest[..4]);
            rest = rest[4..].trim_start_matches(' ');
            self.set(self.cnt, word);
            self.cnt += 1;
        }
        if rest.len() >= 2 && rest.as_bytes()[..2].iter().all(|c| is_hex(*c)) {
            let word = perl_hex(rest) * 256;
            self.set(self.cnt, word);
            self.cnt += 1;
        }
    }
}

/// `s/NIC.HEXADDR/0000 0000/g`.
fn replace_nic_hexaddr(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("NIC") {
        let tail = &rest[at + 3..];
        let mut chars = tail.chars();
        match chars.next() {
            Some(c) if chars.as_str().starts_with("HEXADDR") => {
                out.push_str(&rest[..at]);
                out.push_str("0000 0000");
                rest = &tail[c.len_utf8() + "HEXADDR".len()..];
            }
            _ => {
                out.push_str(&rest[..at + 3]);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The script's regex loops that join bytes written `HH HH` into words `HHHH`: at the
/// start of the line, then the leftmost pair followed by a space (again and again),
/// then, in one left-to-right pass, pairs anywhere.
fn join_byte_pairs(s: &mut Vec<u8>) {
    let at_start = |s: &[u8]| {
        s.len() >= 6
            && is_hex(s[0])
            && is_hex(s[1])
            && s[2] == b' '
            && is_hex(s[3])
            && is_hex(s[4])
            && s[5] == b' '
    };
    while at_start(s) {
        s.remove(2);
    }
    while let Some(p) = (0..s.len()).find(|&p| pair_at(s, p, true)) {
        s.remove(p + 3);
    }
    let mut p = 0;
    while p < s.len() {
        if pair_at(s, p, false) {
            s.remove(p + 3);
            p += 5;
        } else {
            p += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fill_checksums;

    /// The IP and TCP checksums `fillcksum.pl` writes for this packet (checked
    /// against the script under perl).
    #[test]
    fn fills_the_ip_and_tcp_checksums_of_a_one_line_packet() {
        let text = "4500 0028 0001 0000 ff06 IPCKSUM 0101 0101 0202 0202 \
                    0065 00cb 0000 0001 1000 0001 5010 2000 TCPCKSUM 0000\n";
        assert_eq!(
            fill_checksums(text),
            "4500 0028 0001 0000 ff06 b5c9 0101 0101 0202 0202 \
             0065 00cb 0000 0001 1000 0001 5010 2000 789d 0000 \n"
        );
    }

    /// A `[dir,nic]` packet spans lines up to a blank one; comments pass through.
    #[test]
    fn joins_a_bracketed_packet_and_keeps_comments() {
        let text = "# a SYN\n[in,nic0]\n4500 0030 5e11 4000 8006 IPCKSUM c0a8 7101 c0a8 01bc\n\
                    05e7 06bb abf0 4aa5 0000 0000 7002 faf0 21a1 0000 0204 05b4 0101 0402\n\n";
        assert_eq!(
            fill_checksums(text),
            "# a SYN\n[in,nic0]\n4500 0030 5e11 4000 8006 a8a8 c0a8 7101 c0a8 01bc \
             05e7 06bb abf0 4aa5 0000 0000 7002 faf0 90e8 0000 0204 05b4 0101 0402 \n\n"
        );
    }

    /// Bytes written one by one are joined into words, an odd last byte printed alone.
    #[test]
    fn joins_single_bytes_into_words() {
        let text = "4500 00 15 00 00 00 00 ff 00 IPCKSUM 01 01 01 01 02 02 02 02 aa\n";
        assert_eq!(
            fill_checksums(text),
            "4500 0015 0000 0000 ff00 b5e3 0101 0101 0202 0202 aa \n"
        );
    }
}
