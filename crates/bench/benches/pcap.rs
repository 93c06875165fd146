//! `cargo bench -p whyblocked-bench --bench pcap [-- SIZE_MIB [SEGMENT_BYTES]]`: a generated capture
//! (1 GiB by default) streamed through `evidence::capture::analyze` (reading, decoding,
//! flows, TLS, classification; no simulation), in bounded memory, in MB/s beside named
//! baselines measured in the same run on the same bytes:
//! - *copy*: the generator's bytes copied to a sink, no parsing (the floor: generating and
//!   moving the bytes);
//! - *frames*: the capture reader alone (records framed, nothing decoded).
//!
//! The traffic: 4,096 TCP connections open at a time, interleaved, each a handshake, 24
//! segments (1448 payload bytes, or SEGMENT_BYTES) and a close; every 16th connection is refused by RST, every 32nd
//! gets no answer, every 64th is a UDP query answered by ICMP port unreachable. The
//! generator writes into the reader's `Read` directly: nothing touches the disk.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use evidence::capture::{analyze, Options};
use evidence::pcap::CaptureReader;
use std::io::{self, Read};
use std::time::Instant;

const CONCURRENT: usize = 4096;
const DATA_SEGMENTS: u32 = 24;

/// Templates of Ethernet frames; ports and sequence numbers are patched per packet.
struct Templates {
    syn: Vec<u8>,
    synack: Vec<u8>,
    ack: Vec<u8>,
    data: Vec<u8>,
    fin: Vec<u8>,
    rst: Vec<u8>,
    udp: Vec<u8>,
    icmp: Vec<u8>,
}

fn frame(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    let total = (20 + l4.len()) as u16;
    f.extend([0x45, 0, 0, 0]);
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f.extend([0, 1, 0x40, 0, 64, proto, 0, 0]);
    f.extend(src);
    f.extend(dst);
    f.extend(l4);
    f
}

fn tcp(flags: u8, payload: usize) -> Vec<u8> {
    let mut t = vec![
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0,
    ];
    t.extend(std::iter::repeat_n(0x17, payload));
    t
}

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 9, 9];

impl Templates {
    fn new(segment: usize) -> Templates {
        let mut udp = vec![0, 0, 0, 53, 0, 40, 0, 0];
        udp.extend([0u8; 32]);
        let quoted = frame(CLIENT, SERVER, 17, &udp)[14..14 + 28].to_vec();
        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend(&quoted);
        Templates {
            syn: frame(CLIENT, SERVER, 6, &tcp(0x02, 0)),
            synack: frame(SERVER, CLIENT, 6, &tcp(0x12, 0)),
            ack: frame(CLIENT, SERVER, 6, &tcp(0x10, 0)),
            data: frame(SERVER, CLIENT, 6, &tcp(0x18, segment)),
            fin: frame(CLIENT, SERVER, 6, &tcp(0x11, 0)),
            rst: frame(SERVER, CLIENT, 6, &tcp(0x14, 0)),
            udp: frame(CLIENT, SERVER, 17, &udp),
            icmp: frame([10, 0, 0, 254], CLIENT, 1, &icmp),
        }
    }
}

/// A pcap stream of about `total` bytes, generated as it is read.
struct Generator {
    t: Templates,
    total: u64,
    produced: u64,
    header_done: bool,
    pending: Vec<u8>,
    pos: usize,
    /// Per active connection: its number and the next step.
    slots: Vec<(u32, u32)>,
    next_conn: u32,
    turn: usize,
    ts: u32,
}

impl Generator {
    fn new(total: u64, segment: usize) -> Generator {
        let slots = (0..CONCURRENT as u32).map(|i| (i, 0)).collect();
        Generator {
            t: Templates::new(segment),
            total,
            produced: 0,
            header_done: false,
            pending: Vec::with_capacity(2048),
            pos: 0,
            slots,
            next_conn: CONCURRENT as u32,
            turn: 0,
            ts: 0,
        }
    }

    /// The next record into `pending`.
    fn next_record(&mut self) {
        self.pending.clear();
        self.pos = 0;
        if !self.header_done {
            self.header_done = true;
            self.pending.extend(0xa1b2_c3d4u32.to_le_bytes());
            self.pending.extend([2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            self.pending.extend(65535u32.to_le_bytes());
            self.pending.extend(1u32.to_le_bytes());
            return;
        }
        let slot = self.turn % CONCURRENT;
        self.turn += 1;
        let (conn, step) = self.slots[slot];
        let kind = if conn % 64 == 63 {
            2
        } else if conn % 32 == 31 {
            1
        } else if conn % 16 == 15 {
            3
        } else {
            0
        };
        // (template, done after this packet)
        let (tpl, last) = match (kind, step) {
            (2, 0) => (&self.t.udp, false),
            (2, _) => (&self.t.icmp, true),
            (1, 0) => (&self.t.syn, false),
            (1, _) => (&self.t.syn, true),
            (3, 0) => (&self.t.syn, false),
            (3, _) => (&self.t.rst, true),
            (_, 0) => (&self.t.syn, false),
            (_, 1) => (&self.t.synack, false),
            (_, 2) => (&self.t.ack, false),
            (_, s) if s < 3 + DATA_SEGMENTS => (&self.t.data, false),
            (_, _) => (&self.t.fin, true),
        };
        self.ts = self.ts.wrapping_add(1);
        let len = tpl.len() as u32;
        self.pending.extend((self.ts / 100_000).to_le_bytes());
        self.pending.extend((self.ts % 100_000 * 10).to_le_bytes());
        self.pending.extend(len.to_le_bytes());
        self.pending.extend(len.to_le_bytes());
        let start = self.pending.len();
        self.pending.extend_from_slice(tpl);
        // Client port from the connection number; TCP sequence from the step.
        let cport = 1024 + (conn % 60_000) as u16;
        let b = &mut self.pending[start..];
        let client_is_src = b[26..30] == CLIENT;
        match b[23] {
            6 | 17 => {
                let (sp, dp) = if client_is_src { (34, 36) } else { (36, 34) };
                b[sp..sp + 2].copy_from_slice(&cport.to_be_bytes());
                if b[dp..dp + 2] == [0, 0] {
                    b[dp..dp + 2].copy_from_slice(&443u16.to_be_bytes());
                }
                if b[23] == 6 {
                    let seq = 1 + step.saturating_sub(3) * (b.len() as u32 - 54);
                    b[38..42].copy_from_slice(&seq.to_be_bytes());
                }
            }
            _ => {
                // ICMP: the quoted UDP's source port (8 + 20 bytes into the ICMP payload).
                b[34 + 8 + 20..34 + 8 + 22].copy_from_slice(&cport.to_be_bytes());
            }
        }
        if last {
            self.slots[slot] = (self.next_conn, 0);
            self.next_conn = self.next_conn.wrapping_add(1);
        } else {
            self.slots[slot].1 = step + 1;
        }
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.pos == self.pending.len() {
                if self.produced >= self.total {
                    break;
                }
                self.next_record();
                self.produced += self.pending.len() as u64;
            }
            let take = (self.pending.len() - self.pos).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.pending[self.pos..self.pos + take]);
            self.pos += take;
            n += take;
        }
        Ok(n)
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let mib = numbers.first().copied().unwrap_or(1024);
    let segment = numbers.get(1).copied().unwrap_or(1448).min(1448) as usize;
    let total = mib << 20;
    let mb = |bytes: u64, secs: f64| bytes as f64 / 1e6 / secs.max(1e-9);

    // The copy: the same bytes read through a buffer of the reader's size, each chunk
    // touched once so it cannot be optimised away.
    let start = Instant::now();
    let mut copied = 0u64;
    let mut g = Generator::new(total, segment);
    let mut buf = vec![0u8; evidence::pcap::BUFFER_LEN];
    let mut checksum = 0u8;
    loop {
        match g.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                copied += n as u64;
                checksum ^= std::hint::black_box(&buf[..n])[n / 2];
            }
        }
    }
    std::hint::black_box(checksum);
    let copy = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut frames = 0u64;
    let mut reader = CaptureReader::new(Generator::new(total, segment)).expect("generated header");
    while let Ok(Some(_)) = reader.next_frame() {
        frames += 1;
    }
    let framing = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let a = analyze(
        Generator::new(total, segment),
        &Options::default(),
        &mut |_| {},
    )
    .expect("analysis");
    let full = start.elapsed().as_secs_f64();

    println!(
        "capture: {:.0} MiB generated ({segment}-byte segments), {} frames, {} flows ({} failed or suspicious, {} evicted early)",
        copied as f64 / 1048576.0,
        frames,
        a.table.flows,
        a.findings.len() as u64 + a.findings_not_kept,
        a.table.evicted
    );
    println!(
        "{:<34} {:>10.0} MB/s  ({:.2} s)",
        "baseline: copy (no parsing)",
        mb(copied, copy),
        copy
    );
    println!(
        "{:<34} {:>10.0} MB/s  ({:.2} s, {:.2}x the copy's time)",
        "baseline: frames (reader only)",
        mb(copied, framing),
        framing,
        framing / copy
    );
    println!(
        "{:<34} {:>10.0} MB/s  ({:.2} s, {:.2}x the copy's time; {:.2} M packets/s)",
        "classify (no simulation)",
        mb(a.bytes, full),
        full,
        full / copy,
        frames as f64 / full / 1e6
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak resident memory: {rss:.0} MiB (the capture is {mib} MiB)");
    }
}
