//! Bad inputs, one table (issue 11, "How it is checked"): each bad file is handed to every
//! subcommand that reads that kind of file (the main answer, `counters`, `log`, `conntrack`,
//! `explain-trace`, `pcap`; rules and host state through `--rules` and `--host` too), and
//! each run must end with the exit code and the first line the row gives, print a bounded
//! amount, and never panic (no "panicked", no exit 101, no signal).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("wb-bad-inputs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../evidence/tests/fixtures")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// The packet every answer is asked about (`DROP.v4` drops it).
const PACKET: [&str; 5] = ["tcp", "1.2.3.4:1000", "10.0.0.1:22", "in", "eth0"];
const DROP_V4: &str = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n";

/// Which commands read the bad file, and how (`{}` is its path).
#[derive(Clone, Copy)]
enum Reads {
    /// A rules file: `--rules` of every command, and both listings of `counters`.
    Rules,
    /// A host directory: `--host` of the answer and of the evidence commands.
    Host,
    /// A text evidence file: `log`, `conntrack`, `explain-trace` (and `pcap`, which
    /// wants a capture).
    Evidence,
}

/// The commands that read a file of `reads`, each with `{}` where the file goes; the
/// good files they also need are real fixtures.
fn commands(reads: Reads, good_rules: &str) -> Vec<(&'static str, Vec<String>)> {
    let with = |name: &'static str, args: &[&str]| {
        (
            name,
            args.iter()
                .map(|a| a.replace("{rules}", good_rules))
                .collect(),
        )
    };
    let packet = PACKET.join(" ");
    let packet: Vec<&str> = packet.split(' ').collect();
    let log = fixture("ufw.log");
    let events = fixture("conntrack-events.txt");
    let trace = fixture("trace-legacy.txt");
    let capture = fixture("pcap/drop.pcap");
    match reads {
        Reads::Rules => vec![
            with("answer", &[&["--rules", "{}"][..], &packet].concat()),
            with("counters", &["counters", "{}", "{}"]),
            with("log", &["log", &log, "--rules", "{}"]),
            with("conntrack", &["conntrack", &events, "--rules", "{}"]),
            with("explain-trace", &["explain-trace", &trace, "--rules", "{}"]),
            with("pcap", &["pcap", &capture, "--rules", "{}"]),
        ],
        Reads::Host => vec![
            with(
                "answer",
                &[&["--rules", "{rules}", "--host", "{}"][..], &packet].concat(),
            ),
            with("log", &["log", &log, "--rules", "{rules}", "--host", "{}"]),
            with(
                "conntrack",
                &["conntrack", &events, "--rules", "{rules}", "--host", "{}"],
            ),
            with(
                "explain-trace",
                &[
                    "explain-trace",
                    &trace,
                    "--rules",
                    "{rules}",
                    "--host",
                    "{}",
                ],
            ),
            with(
                "pcap",
                &["pcap", &capture, "--rules", "{rules}", "--host", "{}"],
            ),
        ],
        Reads::Evidence => vec![
            with("log", &["log", "{}"]),
            with("conntrack", &["conntrack", "{}"]),
            with("explain-trace", &["explain-trace", "{}"]),
            with("pcap", &["pcap", "{}"]),
        ],
    }
}

/// One bad input and what each command that reads it must do: per command name, the exit
/// code and the start of the first line (of stderr for exit 2, of stdout otherwise; `{}`
/// is the file's path). A command the row does not name must refuse it with `default`.
struct Row {
    input: &'static str,
    reads: Reads,
    /// Writes the input (a file, or a directory for `Reads::Host`) and returns its path.
    make: fn(&Scratch) -> PathBuf,
    default: Option<(i32, &'static str)>,
    per_command: &'static [(&'static str, i32, &'static str)],
    /// Text each named command (`*`: every one) must print somewhere (`{}` is the path).
    shows: &'static [(&'static str, &'static str)],
}

fn binary() -> Vec<u8> {
    (0..4096u32).map(|i| (i * 7 % 251) as u8).collect()
}

const GZIP: &[u8] = &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0xff, 0xff];
const PCAP_HEADER: &[u8] = &[
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];

fn rows() -> Vec<Row> {
    vec![
        Row {
            input: "empty rules file",
            reads: Reads::Rules,
            make: |s| s.write("rules.v4", b""),
            default: Some((2, "error: {} is empty: it holds no rules")),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "whitespace-only rules file",
            reads: Reads::Rules,
            make: |s| s.write("rules.v4", b"\n  \n\t\n"),
            default: Some((2, "error: {} is empty: it holds no rules")),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "comment-only rules file",
            reads: Reads::Rules,
            make: |s| s.write("rules.v4", b"# Generated by iptables-save\n# nothing\n"),
            default: Some((2, "error: {}: cannot tell which rules language this is")),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "binary rules file",
            reads: Reads::Rules,
            make: |s| s.write("rules.v4", &binary()),
            default: Some((2, "error: {} is not a ruleset")),
            per_command: &[],
            shows: &[("*", "it looks like binary data (it holds NUL bytes)")],
        },
        Row {
            input: "gzip-compressed rules file",
            reads: Reads::Rules,
            make: |s| s.write("rules.v4.gz", GZIP),
            default: Some((2, "error: {} is not a ruleset")),
            per_command: &[],
            shows: &[("*", "it looks like gzip-compressed data (decompress it first")],
        },
        Row {
            input: "capture given as rules",
            reads: Reads::Rules,
            make: |s| s.write("rules.pcap", &std::fs::read(fixture("pcap/drop.pcap")).unwrap()),
            default: Some((2, "error: {} is not a ruleset")),
            per_command: &[],
            shows: &[("*", "it looks like a pcap capture (read it with `whyblocked pcap`)")],
        },
        Row {
            input: "non-UTF-8 comment (Latin-1, as iptables accepts)",
            reads: Reads::Rules,
            make: |s| {
                s.write(
                    "rules.v4",
                    b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -m comment \
                      --comment \"caf\xe9\" -j DROP\nCOMMIT\n",
                )
            },
            default: None,
            per_command: &[
                ("answer", 1, "DROPPED  tcp 1.2.3.4:1000 -> 10.0.0.1:22"),
                ("counters", 0, "note: 1 iptables rules of {} have no counters and were not compared"),
                ("log", 0, ""),
                ("conntrack", 0, ""),
                ("explain-trace", 1, ""),
                ("pcap", 1, ""),
            ],
            shows: &[],
        },
        Row {
            input: "non-UTF-8 byte in a name",
            reads: Reads::Rules,
            make: |s| {
                s.write(
                    "rules.v4",
                    b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i eth\xe9 -j DROP\nCOMMIT\n",
                )
            },
            default: Some((2, "error: invalid byte `<E9>`: not UTF-8")),
            per_command: &[],
            shows: &[("*", "{}:3:16\n")],
        },
        Row {
            input: "wrong family (an IPv4 address in an ip6tables-save file)",
            reads: Reads::Rules,
            make: |s| {
                s.write(
                    "rules.v6",
                    b"# Generated by ip6tables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n\
                      -A INPUT -s 10.0.0.9/32 -j DROP\nCOMMIT\n",
                )
            },
            default: Some((
                2,
                "error: invalid address `10.0.0.9/32`: an IPv4 address in an IPv6 (ip6tables) \
                 ruleset",
            )),
            per_command: &[],
            shows: &[("*", "--> {}:4:13")],
        },
        Row {
            input: "10 MB line (a comment)",
            reads: Reads::Rules,
            make: |s| {
                let rules = format!(
                    "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -m comment \
                     --comment \"{}\" -j DROP\nCOMMIT\n",
                    "a".repeat(10_000_000)
                );
                s.write("rules.v4", rules.as_bytes())
            },
            default: None,
            per_command: &[
                ("answer", 1, "DROPPED  tcp 1.2.3.4:1000 -> 10.0.0.1:22"),
                ("counters", 0, "note: 1 iptables rules of {} have no counters and were not compared"),
                ("log", 0, ""),
                ("conntrack", 0, ""),
                ("explain-trace", 1, ""),
                ("pcap", 1, ""),
            ],
            shows: &[],
        },
        Row {
            input: "10 MB line (a parse error at its end)",
            reads: Reads::Rules,
            make: |s| {
                let rules = format!(
                    "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"{}\" -j NOPE\n\
                     COMMIT\n",
                    "a".repeat(10_000_000)
                );
                s.write("rules.v4", rules.as_bytes())
            },
            default: Some((2, "error: undefined chain `NOPE`")),
            per_command: &[],
            shows: &[("*", "\n3 | …aaa")],
        },
        Row {
            input: "garbage JSON (cut short)",
            reads: Reads::Rules,
            make: |s| s.write("ruleset.json", b"{\"nftables\": [{\"table\": {\"family\""),
            default: Some((2, "error: JSON: EOF while parsing")),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "nft comment longer than nft loads",
            reads: Reads::Rules,
            make: |s| {
                let nft = format!(
                    "table ip t {{\n chain c {{\n  type filter hook input priority 0;\n  \
                     accept comment \"{}\"\n }}\n}}\n",
                    "a".repeat(300)
                );
                s.write("ruleset.nft", nft.as_bytes())
            },
            default: Some((
                2,
                "error: invalid comment `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…`: 300 bytes; \
                 nft loads comments of at most 128 bytes",
            )),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "host directory of misnamed files only",
            reads: Reads::Host,
            make: |s| {
                s.write("host/addr.json", b"[]");
                s.write("host/routes.json", b"[]");
                s.0.join("host")
            },
            default: Some((
                2,
                "error: cannot read the host state: {}: no file of a host directory in it \
                 (found: addr.json (meant ip-addr.json?), routes.json (meant ip-route.json?))",
            )),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "host directory half recognised",
            reads: Reads::Host,
            make: |s| {
                s.write("host/addr.json", b"[]");
                s.write("host/sysctl.txt", b"net.ipv4.ip_forward = 0\n");
                s.0.join("host")
            },
            default: None,
            per_command: &[
                ("answer", 1, "DROPPED  tcp 1.2.3.4:1000 -> 10.0.0.1:22"),
                ("log", 0, ""),
                ("conntrack", 0, ""),
                ("explain-trace", 1, ""),
                ("pcap", 1, ""),
            ],
            // The answer notes it; the evidence commands do not print input notes.
            shows: &[],
        },
        Row {
            input: "`ip addr` text saved as ip-addr.json",
            reads: Reads::Host,
            make: |s| {
                s.write(
                    "host/ip-addr.json",
                    b"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    \
                      inet 127.0.0.1/8 scope host lo\n",
                );
                s.0.join("host")
            },
            default: Some((
                2,
                "error: expected the JSON that `ip -j addr` prints; it looks like `ip addr` text \
                 output (save `ip -j addr` into this file)",
            )),
            per_command: &[],
            shows: &[("*", "--> {}/ip-addr.json:1:1")],
        },
        Row {
            input: "binary host file",
            reads: Reads::Host,
            make: |s| {
                s.write("host/ip-route.json", GZIP);
                s.0.join("host")
            },
            default: Some((
                2,
                "error: cannot read the host state: {}/ip-route.json is not the output of `ip -j \
                 route show table all`: it looks like gzip-compressed data",
            )),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "garbage JSON host file",
            reads: Reads::Host,
            make: |s| {
                s.write("host/ip-route.json", b"[{\"dst\": \"10.0.0.0/8\", ");
                s.0.join("host")
            },
            default: Some((2, "error: JSON: unterminated value")),
            per_command: &[],
            shows: &[],
        },
        Row {
            input: "empty evidence file",
            reads: Reads::Evidence,
            make: |s| s.write("evidence.txt", b""),
            default: None,
            per_command: &[
                ("log", 2, "error: {} is empty (expected a kernel log)"),
                ("conntrack", 2, "error: {} is empty (expected conntrack events"),
                ("explain-trace", 2, "error: {} is empty (expected a packet trace)"),
                ("pcap", 2, "error: {}: at byte 0: the file ends inside its header"),
            ],
            shows: &[],
        },
        Row {
            input: "comment-only evidence file",
            reads: Reads::Evidence,
            make: |s| s.write("evidence.txt", b"# nothing here\n# at all\n"),
            default: None,
            per_command: &[
                ("log", 0, "{}: 2 lines, 0 firewall log lines in 0 flows"),
                ("conntrack", 2, "error: {}: no conntrack event or entry found ("),
                ("explain-trace", 2, "error: {}: no trace lines found"),
                ("pcap", 2, "error: {}: at byte 0: not a pcap or pcapng file"),
            ],
            shows: &[],
        },
        Row {
            input: "binary evidence file",
            reads: Reads::Evidence,
            make: |s| s.write("evidence.bin", &binary()),
            default: None,
            per_command: &[
                ("log", 2, "error: {} is not a kernel log: it looks like binary data"),
                ("conntrack", 2, "error: {} is not conntrack events or a conntrack -L listing: it looks like binary data"),
                ("explain-trace", 2, "error: {} is not a packet trace: it looks like binary data"),
                ("pcap", 2, "error: {}: at byte 0: not a pcap or pcapng file"),
            ],
            shows: &[],
        },
        Row {
            input: "gzip-compressed log (a rotated syslog.2.gz)",
            reads: Reads::Evidence,
            make: |s| s.write("syslog.2.gz", GZIP),
            default: None,
            per_command: &[
                ("log", 2, "error: {} is not a kernel log: it looks like gzip-compressed data"),
                ("conntrack", 2, "error: {} is not conntrack events or a conntrack -L listing: it looks like gzip"),
                ("explain-trace", 2, "error: {} is not a packet trace: it looks like gzip"),
                ("pcap", 2, "error: {}: at byte 0: not a pcap or pcapng file"),
            ],
            shows: &[],
        },
        Row {
            input: "capture given as a text evidence file",
            reads: Reads::Evidence,
            make: |s| s.write("capture.pcap", &std::fs::read(fixture("pcap/drop.pcap")).unwrap()),
            default: None,
            per_command: &[
                ("log", 2, "error: {} is not a kernel log: it looks like a pcap capture"),
                ("conntrack", 2, "error: {} is not conntrack events or a conntrack -L listing: it looks like a pcap capture"),
                ("explain-trace", 2, "error: {} is not a packet trace: it looks like a pcap capture"),
                ("pcap", 1, "capture   {} (pcap, Ethernet): 3 frames"),
            ],
            shows: &[],
        },
        Row {
            input: "non-UTF-8 log prefix",
            reads: Reads::Evidence,
            make: |s| {
                s.write(
                    "kern.log",
                    b"Nov 22 10:00:00 router kernel: [1.0] d\xe9ny IN=eth0 OUT= MAC= SRC=1.2.3.4 \
                      DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=1000 \
                      DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0\n",
                )
            },
            default: None,
            per_command: &[
                ("log", 0, "{}: 1 lines, 1 firewall log lines in 1 flows"),
                ("conntrack", 2, "error: {}: no conntrack event or entry found ("),
                ("explain-trace", 2, "error: {}: no trace lines found"),
                ("pcap", 2, "error: {}: at byte 0: not a pcap or pcapng file"),
            ],
            shows: &[],
        },
        Row {
            input: "10 MB line in evidence",
            reads: Reads::Evidence,
            make: |s| {
                let mut text = String::from("TRACE: ");
                text.push_str(&"x".repeat(10_000_000));
                text.push_str(" IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.1\n");
                s.write("evidence.txt", text.as_bytes())
            },
            default: None,
            per_command: &[
                ("log", 0, "{}: 1 lines, 0 firewall log lines in 0 flows"),
                ("conntrack", 2, "error: {}: no conntrack event or entry found ("),
                ("explain-trace", 2, "error: {}: no traced packet could be read (1 malformed trace lines"),
                ("pcap", 2, "error: {}: at byte 0: not a pcap or pcapng file"),
            ],
            shows: &[],
        },
        Row {
            input: "truncated capture (cut inside its second record)",
            reads: Reads::Evidence,
            make: |s| {
                let bytes = std::fs::read(fixture("pcap/drop.pcap")).unwrap();
                // 24-byte file header, then 16-byte record headers: cut 20 bytes into the
                // second record.
                let first_len = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
                s.write("cut.pcap", &bytes[..24 + 16 + first_len + 20])
            },
            default: None,
            per_command: &[
                ("log", 2, "error: {} is not a kernel log: it looks like a pcap capture"),
                ("conntrack", 2, "error: {} is not conntrack events or a conntrack -L listing: it looks like a pcap capture"),
                ("explain-trace", 2, "error: {} is not a packet trace: it looks like a pcap capture"),
                ("pcap", 1, "capture   {} (pcap, Ethernet): 1 frame, 1 flow"),
            ],
            shows: &[("pcap", "the file ends inside a record at byte 114 (cut short)")],
        },
        Row {
            input: "capture header cut short",
            reads: Reads::Evidence,
            make: |s| s.write("header.pcap", &PCAP_HEADER[..10]),
            default: None,
            per_command: &[
                ("log", 2, "error: {} is not a kernel log: it looks like a pcap capture"),
                (
                    "conntrack",
                    2,
                    "error: {} is not conntrack events or a conntrack -L listing: it looks like a \
                     pcap capture",
                ),
                ("explain-trace", 2, "error: {} is not a packet trace: it looks like a pcap capture"),
                ("pcap", 2, "error: {}: at byte 0: the file ends inside its header"),
            ],
            shows: &[],
        },
        Row {
            input: "trace whose every line is malformed",
            reads: Reads::Evidence,
            make: |s| s.write("bad.trace", b"TRACE: raw:PREROUTING:policy:2 IN=eth0 garbage\n"),
            default: None,
            per_command: &[
                (
                    "explain-trace",
                    2,
                    "error: {}: no traced packet could be read (1 malformed trace lines; the first shown above)",
                ),
                ("log", 0, "{}: 1 lines, 0 firewall log lines in 0 flows, 0 malformed, 1 other lines"),
                (
                    "conntrack",
                    2,
                    "error: {}: no conntrack event or entry found (1 malformed, 0 other lines;",
                ),
                ("pcap", 2, "error: {}: at byte 0: not a pcap or pcapng file"),
            ],
            shows: &[("explain-trace", "expected `SRC=` in the log line")],
        },
        Row {
            input: "capture without a packet (header only, or cut inside its first record)",
            reads: Reads::Evidence,
            make: |s| s.write("empty.pcap", PCAP_HEADER),
            default: None,
            per_command: &[
                ("log", 2, "error: {} is not a kernel log: it looks like a pcap capture"),
                (
                    "conntrack",
                    2,
                    "error: {} is not conntrack events or a conntrack -L listing: it looks like a \
                     pcap capture",
                ),
                ("explain-trace", 2, "error: {} is not a packet trace: it looks like a pcap capture"),
                ("pcap", 3, "capture   {} (pcap, Ethernet): 0 frames, 0 flows"),
            ],
            shows: &[("pcap", "no IP packet in the capture: nothing to judge")],
        },
    ]
}

/// What one run printed.
struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(args: &[String]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run whyblocked");
    let code = out.status.code().unwrap_or_else(|| {
        panic!("{args:?}: killed by a signal ({:?})", out.status);
    });
    Run {
        code,
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// At most this much is printed for any bad input, a 10 MB line included.
const MAX_OUTPUT: usize = 64 * 1024;

#[test]
fn bad_inputs_end_with_their_exit_code_and_first_line_never_a_panic() {
    let scratch = Scratch::new("table");
    let good_rules = scratch.write("drop.v4", DROP_V4.as_bytes());
    let good_rules = good_rules.to_string_lossy().into_owned();
    let mut failures = Vec::new();
    let mut runs = 0;
    for row in rows() {
        let path = (row.make)(&scratch);
        let path = path.to_string_lossy().into_owned();
        for (command, args) in commands(row.reads, &good_rules) {
            let expected = row
                .per_command
                .iter()
                .find(|(c, _, _)| *c == command)
                .map(|(_, code, first)| (*code, *first))
                .or(row.default)
                .unwrap_or_else(|| panic!("{}: no expectation for {command}", row.input));
            let args: Vec<String> = args.iter().map(|a| a.replace("{}", &path)).collect();
            let got = run(&args);
            runs += 1;
            let (code, first) = (expected.0, expected.1.replace("{}", &path));
            let shown = if got.code == 2 { &got.err } else { &got.out };
            let first_line = shown.lines().next().unwrap_or("");
            let mut wrong = Vec::new();
            if got.code != code {
                wrong.push(format!("exit {} (wanted {code})", got.code));
            }
            if !first_line.starts_with(&first) {
                wrong.push(format!("first line `{first_line}` (wanted `{first}...`)"));
            }
            if got.err.contains("panicked") || got.code == 101 {
                wrong.push("panicked".to_string());
            }
            if got.out.len() + got.err.len() > MAX_OUTPUT {
                wrong.push(format!("printed {} bytes", got.out.len() + got.err.len()));
            }
            for (_, text) in row.shows.iter().filter(|(c, _)| *c == "*" || *c == command) {
                let text = text.replace("{}", &path);
                if !got.out.contains(&text) && !got.err.contains(&text) {
                    wrong.push(format!("does not show `{text}`"));
                }
            }
            if !wrong.is_empty() {
                let cut: String = shown.chars().take(600).collect();
                failures.push(format!(
                    "{} | {command} {args:?}: {}\n{cut}",
                    row.input,
                    wrong.join("; ")
                ));
            }
        }
        let _ = std::fs::remove_dir_all(scratch.0.join("host"));
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs wrong:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a3_a_half_recognised_host_directory_is_noted_in_the_answer_text_and_json() {
    let scratch = Scratch::new("a3");
    let rules = scratch.write("drop.v4", DROP_V4.as_bytes());
    scratch.write("host/addr.json", b"[]");
    scratch.write("host/sysctl.txt", b"net.ipv4.ip_forward = 0\n");
    let host = scratch.0.join("host");
    let args = |json: bool| {
        let mut a = vec![
            "--rules".to_string(),
            rules.to_string_lossy().into_owned(),
            "--host".to_string(),
            host.to_string_lossy().into_owned(),
        ];
        if json {
            a.push("--json".into());
        }
        a.extend(PACKET.iter().map(|s| s.to_string()));
        a
    };
    let note = format!(
        "--host {}: read sysctl.txt; not read (unknown names): addr.json (meant ip-addr.json, \
         from `ip -j addr`?)",
        host.display()
    );
    let text = run(&args(false));
    assert_eq!(text.code, 1, "{}", text.err);
    assert!(text.out.contains(&note), "{}", text.out);
    let json = run(&args(true));
    let v: serde_json::Value = serde_json::from_str(&json.out).unwrap();
    let texts: Vec<&str> = v["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["text"].as_str())
        .collect();
    assert!(texts.contains(&note.as_str()), "{texts:?}");
}

/// A `wb` network namespace of this test, deleted on drop (even when the test fails).
struct Namespace(String);

impl Namespace {
    fn new(tag: &str) -> Namespace {
        let name = format!("wb{}_{tag}", std::process::id());
        let made = Command::new("ip").args(["netns", "add", &name]).status();
        assert!(made.is_ok_and(|s| s.success()), "ip netns add {name}");
        Namespace(name)
    }

    /// `program args` inside the namespace with `stdin`, bounded by a 20 s timeout: whether
    /// it succeeded, and its stdout.
    fn run(&self, program: &str, args: &[&str], stdin: &[u8]) -> (bool, String) {
        use std::io::Write;
        let mut child = Command::new("timeout")
            .args(["20", "ip", "netns", "exec", &self.0, program])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run in the namespace");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The comment of the rule that decides `PACKET`, as whyblocked reads `rules`, or its exit
/// code when it refuses them.
fn comment_read(scratch: &Scratch, name: &str, rules: &str) -> Result<String, i32> {
    let path = scratch.write(name, rules.as_bytes());
    let mut args = vec![
        "--json".to_string(),
        "--no-fix".to_string(),
        "--rules".to_string(),
        path.to_string_lossy().into_owned(),
    ];
    args.extend(PACKET.iter().map(|s| s.to_string()));
    let got = run(&args);
    if got.code == 2 {
        return Err(2);
    }
    let v: serde_json::Value = serde_json::from_str(&got.out).expect(&got.err);
    Ok(v["deciding_rule"]["comment"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// An nft file kind: its name, `nft`'s arguments to load it, the file with a comment of N
/// bytes, and the longest comment that loads and one byte more.
type NftCase<'a> = (
    &'a str,
    &'a [&'a str],
    &'a dyn Fn(usize) -> String,
    [usize; 2],
);

/// B7: what the kernel's loaders do with a comment longer than the kernel holds, and that
/// whyblocked reads the same file the same way. iptables (both backends) keeps the first
/// 255 bytes of a longer comment (`XT_MAX_COMMENT_LEN` 256 with the NUL) and loads the rule;
/// `nft -f` refuses a comment of more than 128 bytes, `nft -j -f` one of more than 253.
#[test]
fn b7_a_long_comment_is_read_as_iptables_and_nft_load_it() {
    if !testgen::kernel_tests::kernel_tests_enabled(
        "b7_a_long_comment_is_read_as_iptables_and_nft_load_it",
    ) {
        return;
    }
    let scratch = Scratch::new("b7");
    let iptables = |n: usize| {
        format!(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -m comment --comment \
             \"{}\" -j DROP\nCOMMIT\n",
            "a".repeat(n)
        )
    };
    for backend in ["iptables-nft", "iptables-legacy"] {
        for n in [255, 256, 300] {
            let ns = Namespace::new("b7");
            let (loaded, _) = ns.run(&format!("{backend}-restore"), &[], iptables(n).as_bytes());
            assert!(loaded, "{backend}-restore refused a {n}-byte comment");
            let (_, saved) = ns.run(&format!("{backend}-save"), &[], b"");
            let kept = saved
                .split_whitespace()
                .skip_while(|w| *w != "--comment")
                .nth(1)
                .map_or(0, |c| c.trim_matches('"').len());
            assert_eq!(kept, n.min(255), "{backend}: {saved}");
            let read = comment_read(&scratch, "rules.v4", &iptables(n)).unwrap();
            assert_eq!(read.len(), kept, "whyblocked vs {backend}, {n} bytes");
        }
    }
    let nft = |n: usize| {
        format!(
            "table ip t {{\n chain c {{\n  type filter hook input priority 0;\n  tcp dport 22 \
             drop comment \"{}\"\n }}\n}}\n",
            "a".repeat(n)
        )
    };
    let nft_json = |n: usize| {
        format!(
            "{{\"nftables\": [{{\"table\": {{\"family\": \"ip\", \"name\": \"t\"}}}}, \
             {{\"chain\": {{\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\", \"type\": \
             \"filter\", \"hook\": \"input\", \"prio\": 0, \"policy\": \"accept\"}}}}, \
             {{\"rule\": {{\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"comment\": \
             \"{}\", \"expr\": [{{\"match\": {{\"op\": \"==\", \"left\": {{\"payload\": \
             {{\"protocol\": \"tcp\", \"field\": \"dport\"}}}}, \"right\": 22}}}}, \
             {{\"drop\": null}}]}}}}]}}",
            "a".repeat(n)
        )
    };
    let cases: [NftCase; 2] = [
        ("ruleset.nft", &["-f", "-"], &nft, [128, 129]),
        ("ruleset.json", &["-j", "-f", "-"], &nft_json, [253, 254]),
    ];
    for (name, args, file, [fits, too_long]) in cases {
        for n in [fits, too_long] {
            let ns = Namespace::new("b7");
            let (loaded, _) = ns.run("nft", args, file(n).as_bytes());
            let read = comment_read(&scratch, name, &file(n));
            assert_eq!(loaded, n == fits, "nft {args:?} with a {n}-byte comment");
            match read {
                Ok(comment) => {
                    assert!(loaded, "whyblocked read a {n}-byte comment nft refuses");
                    assert_eq!(comment.len(), n);
                }
                Err(code) => assert!(!loaded, "whyblocked refused ({code}) what nft loads"),
            }
        }
    }
}
