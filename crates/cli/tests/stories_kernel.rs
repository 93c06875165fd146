//! The user stories' answers proven against the real kernel: each story's packet goes
//! through `whyblocked verify`, which builds the host in throwaway network namespaces, loads
//! the same ruleset with iptables-restore, injects the packet and compares the kernel's own
//! trace with the simulation step by step. Needs root: skips loudly otherwise, and fails
//! instead under `CI=true`.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use testgen::kernel_tests::kernel_tests_enabled;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `whyblocked verify` and asserts the kernel and the simulation agree.
fn assert_kernel_agrees(test: &str, rules: &str, host: &Path, packet: &str) {
    if !kernel_tests_enabled(test) {
        return;
    }
    let mut args = vec!["verify", "--rules", rules, "--host"];
    let host = host.to_string_lossy().into_owned();
    args.push(&host);
    args.extend(packet.split_whitespace());
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(&args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(0) && stdout.contains("AGREE") && !stdout.contains("DISAGREE"),
        "{test}: kernel and simulation must agree on `{packet}`\n{stdout}\n{stderr}"
    );
}

const UFW_RULES: &str = "examples/ufw-router/iptables-save.txt";
const STORIES: &str = "crates/cli/tests/fixtures/stories";

fn ufw_host() -> PathBuf {
    repo().join("examples/ufw-router/host")
}

fn loopback_host() -> PathBuf {
    repo().join("crates/frontends/tests/fixtures/host/loopback")
}

/// The loopback host with one sysctl changed, in a temporary directory.
struct HostVariant(PathBuf);

impl HostVariant {
    fn with_sysctl(name: &str, key: &str, value: &str) -> HostVariant {
        let dir = std::env::temp_dir().join(format!("wb-story-host-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(loopback_host()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        let sysctl = dir.join("sysctl.txt");
        let text = std::fs::read_to_string(&sysctl).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with(key))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&sysctl, format!("{kept}{key} = {value}\n")).unwrap();
        HostVariant(dir)
    }
}

impl Drop for HostVariant {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn story(name: &str) -> String {
    format!("{STORIES}/{name}")
}

#[test]
fn kernel_agrees_story1_ufw_router_rejects_with_icmp_from_router() {
    let test = "kernel_agrees_story1_ufw_router_rejects_with_icmp_from_router";
    assert_kernel_agrees(
        test,
        UFW_RULES,
        &ufw_host(),
        "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0",
    );
}

#[test]
fn kernel_agrees_story1_ping_is_forwarded() {
    let test = "kernel_agrees_story1_ping_is_forwarded";
    assert_kernel_agrees(
        test,
        UFW_RULES,
        &ufw_host(),
        "icmp 10.1.1.2 10.1.0.2 in tap0 type echo-request",
    );
}

#[test]
fn kernel_agrees_story3_dnat_then_filter_input_rule_11() {
    let test = "kernel_agrees_story3_dnat_then_filter_input_rule_11";
    let rules = story("story3-dnat.rules");
    assert_kernel_agrees(
        test,
        &rules,
        &loopback_host(),
        "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0",
    );
}

#[test]
fn kernel_agrees_story4_closed_port_firewall_reset_and_raw_drop() {
    let test = "kernel_agrees_story4_closed_port_firewall_reset_and_raw_drop";
    let packet = "tcp 198.51.100.7:40000 192.0.2.10:8080 in eth0";
    for rules in [
        "story4-accept-all.rules",
        "story4-reset.rules",
        "story4-raw-drop.rules",
    ] {
        assert_kernel_agrees(test, &story(rules), &loopback_host(), packet);
    }
}

#[test]
fn kernel_agrees_story5_tcp_loose_decides_a_mid_stream_ack() {
    let test = "kernel_agrees_story5_tcp_loose_decides_a_mid_stream_ack";
    let rules = story("story5-conntrack.rules");
    let packet = "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0 flags A";
    for value in ["0", "1"] {
        let host = HostVariant::with_sysctl(value, "net.netfilter.nf_conntrack_tcp_loose", value);
        assert_kernel_agrees(test, &rules, &host.0, packet);
    }
}

#[test]
fn kernel_agrees_story5_notrack_is_untracked() {
    let test = "kernel_agrees_story5_notrack_is_untracked";
    let rules = story("story5-conntrack.rules");
    assert_kernel_agrees(
        test,
        &rules,
        &loopback_host(),
        "udp 198.51.100.7:5353 192.0.2.10:5353 in eth0",
    );
}

#[test]
fn kernel_agrees_story7_reject_on_loopback() {
    let test = "kernel_agrees_story7_reject_on_loopback";
    let rules = story("story7-loopback.rules");
    for packet in [
        "tcp 127.0.0.1:40000 127.0.0.1:5432",
        "tcp 127.0.0.1:40001 127.0.0.1:5433",
    ] {
        assert_kernel_agrees(test, &rules, &loopback_host(), packet);
    }
}

#[test]
fn kernel_agrees_story2_port_forward_dropped_in_allowed_dnats() {
    let test = "kernel_agrees_story2_port_forward_dropped_in_allowed_dnats";
    let host = repo().join("crates/cli/tests/fixtures/story2-host");
    for rules in [
        "crates/frontends/tests/fixtures/nft/story2.nft",
        "crates/frontends/tests/fixtures/nft/story2.json",
    ] {
        assert_kernel_agrees(
            test,
            rules,
            &host,
            "tcp 203.0.113.5:40000 10.1.2.3:1222 in wan0",
        );
    }
}

#[test]
fn kernel_agrees_a_reject_answer_is_stopped_by_an_output_drop_policy() {
    let test = "kernel_agrees_a_reject_answer_is_stopped_by_an_output_drop_policy";
    let rules = story("answer-output-drop.rules");
    for packet in [
        "tcp 198.51.100.7:40000 192.0.2.10:23 in eth0",
        "tcp 198.51.100.7:40000 192.0.2.10:24 in eth0",
    ] {
        assert_kernel_agrees(test, &rules, &loopback_host(), packet);
    }
}

/// Runs `whyblocked verify --fix` and returns its exit code and output.
fn verify_fix(rules: &str, host: &Path, packet: &str) -> (Option<i32>, String) {
    let host = host.to_string_lossy().into_owned();
    let mut args = vec!["verify", "--fix", "--rules", rules, "--host", &host];
    args.extend(packet.split_whitespace());
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(&args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn story1_verify_fix_proves_the_ufw_command_for_the_whole_connection() {
    if !kernel_tests_enabled("story1_verify_fix_proves_the_ufw_command_for_the_whole_connection") {
        return;
    }
    let (code, out) = verify_fix(
        UFW_RULES,
        &ufw_host(),
        "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0",
    );
    assert_eq!(code, Some(0), "{out}");
    for needle in [
        "fix (ufw)\n  ufw route allow in on tap0 out on eno1 to 10.1.0.2 port 2175 proto tcp",
        "-A ufw-user-forward -i tap0 -o eno1 -p tcp -d 10.1.0.2 --dport 2175 -j ACCEPT",
        "reply     tcp 10.1.0.2:2175 -> 10.1.1.2:1050",
        "data back",
        "VERIFIED",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
}

#[test]
fn verify_fix_refuses_a_packet_that_passes() {
    if !kernel_tests_enabled("verify_fix_refuses_a_packet_that_passes") {
        return;
    }
    let (code, out) = verify_fix(
        UFW_RULES,
        &ufw_host(),
        "tcp 10.1.1.2:1050 10.1.1.1:22 in tap0",
    );
    assert_eq!(code, Some(2), "{out}");
}

/// A forwarded SYN passes and its SYN/ACK is dropped (no rule lets answers back): the
/// answer says ANSWER LOST, and its fix — the missing `ct state established,related
/// accept` — is applied in the kernel and the whole connection sent through it.
#[test]
fn an_answer_lost_gets_the_established_accept_proved_for_the_whole_connection() {
    if !kernel_tests_enabled(
        "an_answer_lost_gets_the_established_accept_proved_for_the_whole_connection",
    ) {
        return;
    }
    let rules = repo().join("crates/cli/tests/fixtures/answer-ground/no-way-back.v4");
    let (code, out) = verify_fix(
        &rules.to_string_lossy(),
        &ufw_host(),
        "tcp 10.1.1.2:1050 10.1.0.2:80 in tap0",
    );
    assert_eq!(code, Some(0), "{out}");
    for needle in [
        "iptables -I FORWARD 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "reply     tcp 10.1.0.2:80 -> 10.1.1.2:1050",
        "data back",
        "VERIFIED",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
}
