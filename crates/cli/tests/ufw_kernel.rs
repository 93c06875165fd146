//! User story 1 with the real ufw: ufw runs in a `wb` network namespace exactly as
//! `scripts/gen-ufw-example.sh` runs it (private bind-mounted copies of /etc/ufw, /lib/ufw
//! and /etc/default/ufw, a private /run, no sysctl or module loading), the router rejects
//! routed traffic, whyblocked names ufw's routed default policy and suggests
//! `ufw route allow ... to 10.1.0.2 port 2175 proto tcp` (and, broader, `ufw route allow
//! in on tap0 out on eno1`); then each suggestion is run for real and (a) ufw generates
//! exactly the rules the remedy's patched ruleset predicted, (b) the simulated connection
//! works on what ufw loaded, (c) the whole connection (SYN forwarded, SYN/ACK back, data
//! both ways) passes in the kernel with what ufw loaded, as the simulation says.
#![allow(clippy::print_stderr)]

use analysis::remedy::{exchange, remedies, Language, Remedy, Step};
use model::kernel_walk::KernelFate;
use model::owner::{UfwDirection, UfwRole};
use model::tool_config::ToolConfig;
use model::{Family, Host, Packet, Role, Ruleset, SourceFile};
use oracle::exchange as kx;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The story-1 router's namespaces, deleted when dropped (also on a failed assertion).
struct Router {
    ns: String,
    peers: String,
    dir: PathBuf,
}

impl Router {
    fn new() -> Router {
        let id = std::process::id();
        let r = Router {
            ns: format!("wbh1ufw-{id}"),
            peers: format!("wbh1ufwp-{id}"),
            dir: std::env::temp_dir().join(format!("wbh1ufw-{id}")),
        };
        std::fs::create_dir_all(r.dir.join("host")).unwrap();
        for ns in [&r.ns, &r.peers] {
            sh(&format!("ip netns add {ns}"));
        }
        sh(&format!(
            "ip -n {ns} link add tap0 type veth peer name zos0 netns {p} && \
             ip -n {ns} link add eno1 type veth peer name laptop0 netns {p} && \
             ip -n {p} link set zos0 up && ip -n {p} link set laptop0 up",
            ns = r.ns,
            p = r.peers
        ));
        r
    }

    /// Runs `script` in the router namespace with ufw's private configuration (copied on
    /// the first call, kept in `dir` between calls); `$1` is `dir`.
    fn ufw(&self, script: &str) -> String {
        let prelude = r#"
          mount --make-rprivate /
          cfg="$1/ufw-config"
          if [ ! -d "$cfg" ]; then
            mkdir -p "$cfg"
            cp -a /etc/ufw "$cfg/etc-ufw"; cp -a /lib/ufw "$cfg/lib-ufw"; cp /etc/default/ufw "$cfg/default-ufw"
            sed -i "s|^IPT_SYSCTL=.*|IPT_SYSCTL=/dev/null|; s|^IPT_MODULES=.*|IPT_MODULES=\"\"|" "$cfg/default-ufw"
          fi
          mount --bind "$cfg/etc-ufw" /etc/ufw
          mount --bind "$cfg/lib-ufw" /lib/ufw
          mount --bind "$cfg/default-ufw" /etc/default/ufw
          mount -t tmpfs tmpfs /run
        "#;
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.ns, "unshare", "-m", "bash", "-euo", "pipefail", "-c",
            ])
            .arg(format!("{prelude}\n{script}"))
            .arg("_")
            .arg(&self.dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// iptables-save and ufw's own files, as a snapshot records them.
    fn capture(&self) -> (Ruleset, ToolConfig) {
        self.ufw(
            r#"iptables-save | sed "/^#/d" > "$1/iptables-save.txt"
               cp /etc/ufw/user.rules "$1/user.rules"; cp /etc/ufw/user6.rules "$1/user6.rules"
               cp /etc/default/ufw "$1/default-ufw"
               ufw status numbered > "$1/status.txt""#,
        );
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap();
        let source = SourceFile::new("iptables-save.txt", read("iptables-save.txt"));
        let ruleset = frontends::iptables_save::parse(&source, Some(Family::Ip)).unwrap();
        let config = ToolConfig {
            files: [
                ("/etc/ufw/user.rules", "user.rules"),
                ("/etc/ufw/user6.rules", "user6.rules"),
                ("/etc/default/ufw", "default-ufw"),
                ("ufw status numbered", "status.txt"),
            ]
            .iter()
            .map(|(host_path, file)| SourceFile::new(*host_path, read(file)))
            .collect(),
        };
        (ruleset, config)
    }

    fn host(&self) -> Host {
        self.ufw(
            r#"ip -j addr > "$1/host/ip-addr.json"
               ip -j route show table all > "$1/host/ip-route.json"
               ip -6 -j route show table all > "$1/host/ip6-route.json"
               ip -j rule > "$1/host/ip-rule.json"
               ip -6 -j rule > "$1/host/ip6-rule.json"
               sysctl -a 2>/dev/null | grep -E "^net\.ipv4\.(ip_forward|conf\.(all|default|lo|tap0|eno1)\.(forwarding|rp_filter|accept_local|route_localnet)) " > "$1/host/sysctl.txt""#,
        );
        frontends::host::host_dir::load(&self.dir.join("host"))
            .unwrap()
            .host
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        for ns in [&self.ns, &self.peers] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sh(script: &str) {
    let status = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

fn ufw_installed() -> bool {
    Path::new("/usr/sbin/ufw").exists() && Path::new("/lib/ufw/ufw-init").exists()
}

fn packet(spec: &str) -> Packet {
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    frontends::packet_spec::parse(&args).unwrap().packet
}

fn commands(r: &Remedy) -> Vec<String> {
    r.steps
        .iter()
        .filter_map(|s| match s {
            Step::Run(c) => Some(c.clone()),
            Step::AddLine { .. } => None,
        })
        .collect()
}

/// The bodies (matches and actions) of a chain's rules, for comparing what ufw loaded
/// with what the remedy predicted.
fn bodies(rs: &Ruleset, chain: &str) -> Vec<Vec<model::ruleset::Step>> {
    let table = rs.tables.iter().find(|t| t.name == "filter").unwrap();
    table.chains[table.chain(chain).unwrap()]
        .rules
        .iter()
        .map(|r| r.body.clone())
        .collect()
}

#[test]
fn story_1_with_the_real_ufw_route_allow_is_suggested_and_works_in_the_kernel() {
    let test = "story_1_with_the_real_ufw_route_allow_is_suggested_and_works_in_the_kernel";
    if !testgen::kernel_tests::kernel_tests_enabled(test) {
        return;
    }
    if !ufw_installed() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{test}: ufw is not installed (scripts/test installs it as root)"
        );
        eprintln!("SKIP: {test} needs the Debian package ufw");
        return;
    }
    let router = Router::new();
    router.ufw(
        "ip link set lo up; ip link set tap0 up; ip link set eno1 up
         ip addr add 10.1.1.1/24 dev tap0
         ip addr add 10.1.0.1/24 dev eno1
         sysctl -qw net.ipv4.ip_forward=1
         ufw --force enable >/dev/null
         ufw default reject routed >/dev/null
         ufw allow 22/tcp >/dev/null
         ufw deny 23/tcp >/dev/null",
    );
    let host = router.host();
    let (mut before, config) = router.capture();
    let before_save = std::fs::read_to_string(router.dir.join("iptables-save.txt")).unwrap();
    owners::recognise(&mut before, &config);

    // whyblocked's answer: ufw's routed default, fixed in ufw's language.
    let syn = packet("tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");
    let options = engine::Options::default();
    let outcome = engine::simulate(&before, &host, &syn, &options);
    let answer = remedies(&before, &host, &syn, &outcome, &options, &config).unwrap();
    assert_eq!(
        answer.owner.as_ref().map(|o| &o.role),
        Some(&Role::Ufw(UfwRole::DefaultPolicy {
            direction: UfwDirection::Routed,
            policy: "reject".into()
        }))
    );
    let primary = answer.primary().unwrap();
    assert_eq!(primary.language, Language::Ufw, "{primary:?}");
    assert!(primary.verified());
    assert!(
        answer.ladder.iter().all(|r| r
            .kernel_rules
            .iter()
            .all(|k| !k.chain.starts_with("ufw-") || k.chain.starts_with("ufw-user-"))),
        "a suggestion writes into ufw's own chains by hand: {:?}",
        answer.ladder
    );
    let path_command = "ufw route allow in on tap0 out on eno1";
    let path = answer
        .ladder
        .iter()
        .find(|r| commands(r) == [path_command])
        .unwrap_or_else(|| panic!("`{path_command}` not suggested: {:?}", answer.ladder));
    let primary_commands = commands(primary);
    let [primary_command] = primary_commands.as_slice() else {
        panic!("the primary is not one ufw command: {primary:?}");
    };
    assert_ne!(
        primary_command, path_command,
        "the primary is narrower than the whole path"
    );

    // The kernel, with the whole connection: before any fix the SYN is rejected.
    let packets: Vec<Packet> = std::iter::once(syn.clone())
        .chain(
            primary
                .exchange
                .iter()
                .flat_map(|e| e.steps.iter().map(|s| s.packet.clone())),
        )
        .collect();
    let test_host = oracle::netns::TestHost::for_packets(&host, &packets).unwrap();
    let mut kernel = oracle::Oracle::new(test_host).unwrap();
    kx::silence_peers(&kernel).unwrap();
    let mut kernel_exchange = |save: String, parsed: &Ruleset| {
        kernel
            .load(&[(SourceFile::new("iptables-save.txt", save), Family::Ip)])
            .unwrap();
        kx::add_endpoints(&kernel).unwrap();
        kx::run(&mut kernel, parsed, &syn).unwrap()
    };
    let refused = kernel_exchange(before_save, &before);
    assert!(
        matches!(
            refused.steps.as_slice(),
            [step] if matches!(step.walk.fate, KernelFate::Rejected { .. })
        ),
        "the kernel did not reject the SYN before the fix: {:?}",
        refused.steps.first().map(|s| &s.walk.fate)
    );

    // Each suggestion run for real (the previous one deleted first, with ufw's own
    // `delete`), then checked against ufw's rules and the kernel.
    let mut previous: Option<&str> = None;
    for (command, remedy) in [(primary_command.as_str(), primary), (path_command, path)] {
        if let Some(p) = previous {
            let delete = p.replacen("ufw route allow", "ufw route delete allow", 1);
            router.ufw(&format!("{delete} >/dev/null"));
        }
        previous = Some(command);
        router.ufw(&format!("{command} >/dev/null"));
        let (mut after, config_after) = router.capture();
        owners::recognise(&mut after, &config_after);

        // (a) ufw generated exactly the predicted rules: the chain as it was, then the
        // remedy's rules (what its patched ruleset holds and `verify --fix` would load).
        let mut predicted = bodies(&before, "ufw-user-forward");
        for rule in &remedy.kernel_rules {
            assert_eq!(rule.chain, "ufw-user-forward");
            assert_eq!(rule.position, analysis::Position::Append);
            let body = rule
                .command
                .strip_prefix("iptables ")
                .unwrap_or_else(|| panic!("{}", rule.command));
            let text = format!("*filter\n:ufw-user-forward - [0:0]\n{body}\nCOMMIT\n");
            let parsed =
                frontends::iptables_save::parse(&SourceFile::new("fix", text), Some(Family::Ip))
                    .unwrap();
            predicted.extend(bodies(&parsed, "ufw-user-forward"));
        }
        assert_eq!(bodies(&after, "ufw-user-forward"), predicted, "{command}");
        assert_eq!(predicted.len(), 1, "{command}");

        // (b) The simulated connection works on what ufw loaded.
        let on_loaded = exchange::simulate(&after, &host, &syn, &options);
        assert!(on_loaded.works(), "{command}: {on_loaded:?}");

        // (c) The kernel, with what ufw loaded, passes the whole connection: the SYN
        // forwarded, the SYN/ACK back with the entry the SYN made, data both ways; and
        // agrees with the simulation step by step.
        let save = std::fs::read_to_string(router.dir.join("iptables-save.txt")).unwrap();
        let in_kernel = kernel_exchange(save, &after);
        assert_eq!(
            in_kernel.steps.first().map(|s| &s.walk.fate),
            Some(&KernelFate::Forwarded { oif: "eno1".into() }),
            "{command}"
        );
        assert!(
            in_kernel.works(),
            "{command}: the kernel stopped {:?}",
            in_kernel.first_failure().map(|s| (s.role, &s.walk.fate))
        );
        let agreement = kx::compare(&on_loaded, &in_kernel);
        assert!(agreement.agree(), "{command}: {agreement:?}");
        eprintln!(
            "{command}: {} packets through the kernel",
            in_kernel.steps.len()
        );
    }
}
