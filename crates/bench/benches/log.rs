//! `cargo bench -p whyblocked-bench --bench log [-- LINES [DISTINCT_FLOWS]]`: what
//! `whyblocked log FILE --rules R --host H` does, on a generated ufw.log (2,000,000 lines and
//! 10,000 distinct flows by default), in lines/s and MB/s beside named baselines measured in
//! the same run on the same bytes:
//! - *copy*: the generator's bytes copied to a sink, no parsing (the floor);
//! - *lines*: the same bytes split into lines by a `BufReader` and each searched for `IN=`
//!   (the cheap test the scan makes before parsing: the cost of touching every line).
//!
//! Measured: the scan (`evidence::log_file::scan`: unwrapping syslog, parsing every kernel
//! LOG line, grouping into flows), then the simulation of each distinct flow once on the
//! ufw-router example (`analysis::flows::logs::explain_flows`), as the command does. The
//! log: syslog lines as ufw writes them, one in eight not from the firewall (CRON), a quarter
//! of the flows to the router itself over UDP; the generator writes into the scan's reader
//! directly: nothing touches the disk.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

/// A ufw.log of `lines` lines, generated as it is read.
struct Generator {
    lines: u64,
    distinct: u64,
    done: u64,
    /// Firewall lines written so far.
    firewall: u64,
    pending: Vec<u8>,
    pos: usize,
}

impl Generator {
    fn new(lines: u64, distinct: u64) -> Generator {
        Generator {
            lines,
            distinct: distinct.max(1),
            done: 0,
            firewall: 0,
            pending: Vec::with_capacity(512),
            pos: 0,
        }
    }

    fn next_line(&mut self) {
        use std::io::Write;
        let i = self.done;
        self.done += 1;
        self.pending.clear();
        self.pos = 0;
        let secs = i / 1000;
        let stamp = format!(
            "Nov 22 {:02}:{:02}:{:02} router",
            10 + secs / 3600 % 12,
            secs / 60 % 60,
            secs % 60
        );
        let p = &mut self.pending;
        if i % 8 == 7 {
            let _ = writeln!(
                p,
                "{stamp} CRON[{}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
                800 + i % 100
            );
            return;
        }
        let k = self.firewall % self.distinct;
        self.firewall += 1;
        let (host, sport) = (k % 250 + 1, 1024 + k / 250);
        let _ = write!(
            p,
            "{stamp} kernel: [{}.{:06}] [UFW BLOCK] ",
            12345 + secs,
            i % 1_000_000
        );
        if k % 4 == 3 {
            let _ = writeln!(
                p,
                "IN=tap0 OUT= MAC=1a:a0:0e:97:bf:63:52:54:00:65:43:21:08:00 SRC=10.1.1.{host} DST=10.1.1.1 LEN=76 TOS=0x00 PREC=0x00 TTL=64 ID={} PROTO=UDP SPT={sport} DPT=161 LEN=56",
                i % 65536
            );
        } else {
            let _ = writeln!(
                p,
                "IN=tap0 OUT=eno1 MAC=1a:a0:0e:97:bf:63:52:54:00:65:43:21:08:00 SRC=10.1.1.{host} DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID={} DF PROTO=TCP SPT={sport} DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0",
                i % 65536
            );
        }
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.pos == self.pending.len() {
                if self.done >= self.lines {
                    break;
                }
                self.next_line();
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
    let lines = numbers.first().copied().unwrap_or(2_000_000);
    let distinct = numbers.get(1).copied().unwrap_or(10_000);
    let mb = |bytes: u64, secs: f64| bytes as f64 / 1e6 / secs.max(1e-9);
    let per_s = |n: u64, secs: f64| n as f64 / secs.max(1e-9);

    // The copy, through a buffer of BufReader's size, each chunk touched once.
    let start = Instant::now();
    let mut copied = 0u64;
    let mut g = Generator::new(lines, distinct);
    let mut buf = vec![0u8; 8192];
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

    // Lines: split and searched for IN=, nothing parsed.
    let start = Instant::now();
    let mut reader = BufReader::new(Generator::new(lines, distinct));
    let mut line = Vec::with_capacity(512);
    let (mut counted, mut with_in) = (0u64, 0u64);
    while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        counted += 1;
        if line.windows(3).any(|w| w == b"IN=") {
            with_in += 1;
        }
        line.clear();
    }
    std::hint::black_box(with_in);
    let splitting = start.elapsed().as_secs_f64();

    // The scan, as `whyblocked log` does it.
    let start = Instant::now();
    let scan = evidence::log_file::scan(
        "generated.log",
        BufReader::new(Generator::new(lines, distinct)),
        &evidence::log_file::ScanOptions::default(),
        &mut |_| {},
    )
    .expect("scan");
    let scanning = start.elapsed().as_secs_f64();

    // Each distinct flow simulated once on the ufw-router example, as `--rules --host` does.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ufw-router");
    let path = example.join("iptables-save.txt");
    let source = model::SourceFile::new(
        path.display().to_string(),
        std::fs::read_to_string(&path).expect("examples/ufw-router/iptables-save.txt"),
    );
    let ruleset = frontends::iptables_save::parse(&source, Some(model::Family::Ip))
        .expect("the example parses");
    let host = frontends::host::host_dir::load(&example.join("host"))
        .expect("the example's host state")
        .host;
    let start = Instant::now();
    let answers = analysis::flows::logs::explain_flows(
        &ruleset,
        &host,
        &scan.flows,
        &engine::Options::default(),
    );
    let simulating = start.elapsed().as_secs_f64();
    std::hint::black_box(&answers);

    println!(
        "log: {} lines ({:.0} MB) generated, {} firewall lines in {} flows, {} other, {} malformed",
        scan.lines,
        copied as f64 / 1e6,
        scan.records,
        scan.flows.len(),
        scan.other,
        scan.malformed
    );
    assert_eq!(counted, scan.lines);
    println!(
        "{:<38} {:>10.0} MB/s  {:>11.0} lines/s  ({:.2} s)",
        "baseline: copy (no parsing)",
        mb(copied, copy),
        per_s(lines, copy),
        copy
    );
    println!(
        "{:<38} {:>10.0} MB/s  {:>11.0} lines/s  ({:.2} s, {:.2}x the copy's time)",
        "baseline: lines (split, find IN=)",
        mb(copied, splitting),
        per_s(counted, splitting),
        splitting,
        splitting / copy
    );
    println!(
        "{:<38} {:>10.0} MB/s  {:>11.0} lines/s  ({:.2} s, {:.2}x the lines baseline's time)",
        "scan (parse and group, no simulation)",
        mb(scan.bytes, scanning),
        per_s(scan.lines, scanning),
        scanning,
        scanning / splitting
    );
    println!(
        "{:<38} {:>10.0} flows/s ({:.2} s for {} flows)",
        "simulate each distinct flow once",
        per_s(answers.len() as u64, simulating),
        simulating,
        answers.len()
    );
    let total = scanning + simulating;
    println!(
        "{:<38} {:>10.0} MB/s  {:>11.0} lines/s  ({:.2} s, {:.2}x the lines baseline's time)",
        "log command (scan + simulation)",
        mb(scan.bytes, total),
        per_s(scan.lines, total),
        total,
        total / splitting
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak resident memory: {rss:.0} MiB");
    }
}
