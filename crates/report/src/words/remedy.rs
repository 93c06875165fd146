//! A remedy ladder in words: the steps to type, what each opens, whether it survives a
//! reload, and what the whole connection does with it.

use analysis::remedy::exchange::{Exchange, ExchangeEnd, ExchangeStep, StepRole};
use analysis::remedy::{Breadth, Durability, Language, Remedy, Step};
use engine::Fate;
use model::packet::TcpFlags;
use model::L4;

/// `fix (ufw)`: the label of the primary remedy.
pub fn remedy_label(remedy: &Remedy) -> String {
    format!("fix ({})", language(&remedy.language))
}

/// How the ladder names a remedy other than the primary: `narrower`, `broader`, ...
pub fn rung_label(remedy: &Remedy, primary: &Remedy) -> &'static str {
    match remedy.breadth {
        Breadth::Structural => "structural",
        Breadth::Cause => "the cause",
        b if b < primary.breadth => "narrower",
        b if b > primary.breadth => "broader",
        _ => "also",
    }
}

/// The language's name as the label shows it.
pub fn language(l: &Language) -> String {
    match l {
        Language::Iptables => "iptables".into(),
        Language::Nft => "nft".into(),
        Language::Ufw => "ufw".into(),
        Language::FirewallCmd => "firewalld".into(),
        Language::Fail2banClient => "fail2ban".into(),
        Language::Kubernetes => "kubernetes".into(),
        Language::ToolSetting(tool) => format!("{tool} setting"),
    }
}

/// A snake_case name for the JSON.
pub fn breadth_code(b: Breadth) -> &'static str {
    match b {
        Breadth::Flow => "flow",
        Breadth::Service => "service",
        Breadth::Path => "path",
        Breadth::Structural => "structural",
        Breadth::Cause => "cause",
    }
}

/// A snake_case name for the JSON.
pub fn language_code(l: &Language) -> String {
    match l {
        Language::Iptables => "iptables".into(),
        Language::Nft => "nft".into(),
        Language::Ufw => "ufw".into(),
        Language::FirewallCmd => "firewall_cmd".into(),
        Language::Fail2banClient => "fail2ban_client".into(),
        Language::Kubernetes => "kubernetes".into(),
        Language::ToolSetting(tool) => format!("{tool}_setting"),
    }
}

/// One step as the admin reads it.
pub fn step(s: &Step) -> String {
    match s {
        Step::Run(command) => command.clone(),
        Step::AddLine {
            file,
            table,
            chain,
            line,
        } => format!(
            "and in {} ({table}/{chain}): {line}",
            super::persistent_file(file)
        ),
    }
}

/// Whether it survives a reload; `None` when it does (nothing to say).
pub fn durability(d: &Durability) -> Option<String> {
    match d {
        Durability::Durable => None,
        Durability::RuntimeOnly => Some("runtime only: gone at reboot".into()),
        Durability::LostOnReload(tool) => Some(format!(
            "{tool} rewrites this chain: the rule is gone at its next reload (no place of \
             {tool}'s own works)"
        )),
    }
}

/// `SYN forwarded, SYN/ACK forwarded back, data both ways (simulated)` or what failed.
pub fn exchange_summary(exchange: &Exchange) -> String {
    let mut parts: Vec<String> = Vec::new();
    let data = exchange
        .steps
        .iter()
        .filter(|s| matches!(s.role, StepRole::DataForward | StepRole::DataBack))
        .count();
    for s in &exchange.steps {
        if matches!(s.role, StepRole::DataForward | StepRole::DataBack) && data == 2 && s.passed() {
            continue;
        }
        parts.push(step_words(s));
    }
    if data == 2 && exchange.steps.iter().all(ExchangeStep::passed) {
        parts.push("data both ways".into());
    }
    let mut s = parts.join(", ");
    if exchange.end == ExchangeEnd::NoListener {
        s.push_str("; but nothing listens on the port: the host answers with a reset");
    }
    if !exchange.tracked {
        s.push_str("; untracked: each packet is judged on its own");
    }
    s
}

/// `SYN forwarded` / `SYN/ACK dropped by filter/FORWARD's policy`.
fn step_words(s: &ExchangeStep) -> String {
    let what = packet_name(s);
    match &s.fate {
        Some(f) if f.passed() => format!("{what} {}", passed_word(f, s.role)),
        Some(f) => format!("{what} {}", super::fate_kind(f)),
        None => format!("{what} undecided offline"),
    }
}

fn passed_word(f: &Fate, role: StepRole) -> &'static str {
    let back = matches!(role, StepRole::Reply | StepRole::DataBack);
    match (f, back) {
        (Fate::Forwarded { .. }, false) => "forwarded",
        (Fate::Forwarded { .. }, true) => "forwarded back",
        (Fate::Delivered { .. }, _) => "delivered",
        (Fate::Sent { .. }, _) => "sent",
        _ => "passed",
    }
}

/// The exchange's name for a packet: SYN, SYN/ACK, data, reply, request.
pub fn packet_name(s: &ExchangeStep) -> &'static str {
    match (s.role, s.packet.l4) {
        (StepRole::Request, L4::Tcp { flags, .. }) if flags.contains(TcpFlags::SYN) => "SYN",
        (StepRole::Reply, L4::Tcp { .. }) => "SYN/ACK",
        (StepRole::Request, L4::Icmp { .. } | L4::Icmpv6 { .. }) => "echo request",
        (StepRole::Reply, L4::Icmp { .. } | L4::Icmpv6 { .. }) => "echo reply",
        (StepRole::Request, _) => "request",
        (StepRole::Reply, _) => "reply",
        (StepRole::DataForward, _) => "data",
        (StepRole::DataBack, _) => "data back",
    }
}

/// A snake_case name of a step's role for the JSON.
pub fn step_role_code(r: StepRole) -> &'static str {
    match r {
        StepRole::Request => "request",
        StepRole::Reply => "reply",
        StepRole::DataForward => "data_forward",
        StepRole::DataBack => "data_back",
    }
}
