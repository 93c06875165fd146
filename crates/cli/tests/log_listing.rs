//! Issue 11 C3: `whyblocked log` on a long log is readable: flows most lines first, a
//! summary per deciding rule, `--top N` (a default cut of a long table, saying what is left
//! out), and a divergence names only the LOG rules of the line's family.

mod support;

use support::run_in_repo;

/// `whyblocked log - ARGS` with `log` on standard input: (exit code, stdout).
fn log(log: &str, args: &[&str]) -> (Option<i32>, String) {
    run_in_repo(&[&["log", "-"], args].concat(), log)
}

const RULES: [&str; 4] = [
    "--rules",
    "examples/ufw-router/iptables-save.txt",
    "--rules",
    "examples/ufw-router/ip6tables-save.txt",
];

/// A ufw line: `fwd` a forwarded SYN to 10.1.0.2:2175 from port `sport` (REJECTED by
/// ufw-reject-forward), else a SYN to this host's port 3306 (the INPUT policy drops it).
fn line(second: u32, sport: u16, fwd: bool) -> String {
    let (dir, dst, dport, ttl) = if fwd {
        ("IN=tap0 OUT=eno1", "10.1.0.2", 2175, 63)
    } else {
        ("IN=eno1 OUT=", "10.1.0.1", 3306, 64)
    };
    format!(
        "Nov 22 10:{:02}:{:02} router kernel: [UFW BLOCK] {dir} SRC=10.1.1.2 DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL={ttl} ID=1 DF PROTO=TCP SPT={sport} DPT={dport} WINDOW=64240 RES=0x00 SYN URGP=0\n",
        second / 60,
        second % 60
    )
}

/// `flows` flows, flow `k` with `1 + k % 5` lines, one in four of them to this host; lines
/// interleaved as in a real log.
fn long_log(flows: u16) -> String {
    let mut out = String::new();
    let mut second = 0;
    for round in 0..5u16 {
        for k in 0..flows {
            if k % 5 >= round {
                out.push_str(&line(second, 30_000 + k, k % 4 != 0));
                second += 1;
            }
        }
    }
    out
}

#[test]
fn c3_log_lists_flows_by_count_under_a_summary_per_deciding_rule() {
    let (code, text) = log(&long_log(12), &[&RULES[..], &["--top", "4"]].concat());
    assert_eq!(code, Some(0), "{text}");
    insta::assert_snapshot!(text, @r"
    <stdin>: 33 lines, 33 firewall log lines in 12 flows, 0 malformed, 0 other lines

    by deciding rule:
      FLOWS  LINES  FATE      DECIDING RULE
          9     23  REJECTED  filter/ufw-reject-forward #1 (examples/ufw-router/iptables-save.txt:94)
          3     10  DROPPED   the policy of filter/INPUT (examples/ufw-router/iptables-save.txt:2)

    FLOW                                           COUNT  FIRST SEEN       LAST SEEN        PREFIX       FATE      DECIDING RULE
    tcp 10.1.1.2:30004 -> 10.1.0.1:3306 in eno1        5  Nov 22 10:00:04  Nov 22 10:00:31  [UFW BLOCK]  DROPPED   the policy of filter/INPUT (examples/ufw-router/iptables-save.txt:2)
    tcp 10.1.1.2:30009 -> 10.1.0.2:2175 tap0>eno1      5  Nov 22 10:00:09  Nov 22 10:00:32  [UFW BLOCK]  REJECTED  filter/ufw-reject-forward #1 (examples/ufw-router/iptables-save.txt:94)
        rule: -A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable
    tcp 10.1.1.2:30003 -> 10.1.0.2:2175 tap0>eno1      4  Nov 22 10:00:03  Nov 22 10:00:27  [UFW BLOCK]  REJECTED  filter/ufw-reject-forward #1 (examples/ufw-router/iptables-save.txt:94)
        rule: -A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable
    tcp 10.1.1.2:30008 -> 10.1.0.1:3306 in eno1        4  Nov 22 10:00:08  Nov 22 10:00:29  [UFW BLOCK]  DROPPED   the policy of filter/INPUT (examples/ufw-router/iptables-save.txt:2)
    ... and 8 more flows not shown (15 lines): --top N lists more, --top 0 all
    ");
}

#[test]
fn c3_a_long_log_is_cut_by_default_saying_how_many_flows_are_left_out() {
    let flows = 300;
    let text = long_log(flows);
    let lines = text.lines().count();
    let (code, out) = log(&text, &RULES);
    assert_eq!(code, Some(0));
    let rows = out.lines().filter(|l| l.starts_with("tcp ")).count();
    assert_eq!(rows, 50, "{out}");
    assert!(out.contains("... and 250 more flows not shown ("), "{out}");
    // The summary counts every flow and line, shown or not.
    let summary: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("by deciding rule"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    let (f, l) = summary.iter().fold((0, 0), |(f, l), row| {
        let mut n = row.split_whitespace().map(|c| c.parse::<usize>().unwrap());
        (f + n.next().unwrap(), l + n.next().unwrap())
    });
    assert_eq!((f, l), (usize::from(flows), lines), "{out}");
    // --top 0 lists all; JSON lists all unless --top is given.
    let (_, all) = log(&text, &[&RULES[..], &["--top", "0"]].concat());
    assert_eq!(all.lines().filter(|l| l.starts_with("tcp ")).count(), 300);
    let (_, json) = log(&text, &[&RULES[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["flows"].as_array().unwrap().len(), 300);
    assert_eq!(v["flows_not_shown"], 0);
    let counts: Vec<u64> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert_eq!(v["by_decider"][0]["fate"], "rejected");
    let (_, json) = log(&text, &[&RULES[..], &["--json", "--top", "10"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["flows"].as_array().unwrap().len(), 10);
    assert_eq!(v["flows_not_shown"], 290);
}

/// A forwarded ping the ruleset accepts, logged with ufw's BLOCK prefix: the path passes no
/// LOG rule of that prefix, and the divergence names only the IPv4 ones.
#[test]
fn c3_diverges_names_only_log_rules_of_the_packets_family() {
    let ping = "Nov 22 10:00:00 router kernel: [UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2 DST=10.1.0.2 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1\n";
    let (_, text) = log(ping, &RULES);
    let diverges = text
        .lines()
        .find(|l| l.contains("DIVERGES"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(diverges.contains("iptables-save.txt:62"), "{diverges}");
    assert!(!diverges.contains("ip6tables-save.txt"), "{diverges}");
}
