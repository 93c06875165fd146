//! Remedies an admin can act on: in the language of the tool that owns the blocking rule,
//! durable, as broad as the admin means, and proven for the whole connection.
//!
//! ## The pipeline
//! 1. [`Blocked::of`]: the blocked packet, its deciding rule or policy and that object's
//!    owner (filled by the `owners` crate).
//! 2. Candidates: every owner module (`ufw`, `firewalld`, `docker`, `kube`, `fail2ban`,
//!    `own_table`) offers changes in its tool's language, each with the ruleset as the
//!    kernel would hold it afterwards; `kernel_rules` offers plain `iptables`/`nft` rules at
//!    each [`Breadth`] (with the line for the persistent file when the rules are
//!    hand-written).
//! 3. Each candidate's patched ruleset is run through the whole [`exchange`] (request,
//!    reply with the entry the request created, data both ways).
//! 4. A rule typed into a chain its owner rewrites is offered only when nothing in the
//!    owner's language works, and then says it will not survive a reload.
//! 5. The ladder is ordered narrow to broad; the primary is the one the evidence points
//!    to: a dropped reply or established packet → the structural fix, a first packet →
//!    the service.

pub mod exchange;

use crate::fix::FixRule;
use crate::fix_facts::{FixCaveat, Opens};
use engine::{Fate, Options, Outcome, Trace};
use exchange::Exchange;
use model::owner::PersistentFile;
use model::tool_config::ToolConfig;
use model::{Host, Owner, Packet, Ruleset, Tool};

/// What to do about one blocked packet: a short ladder of remedies.
#[derive(Debug, Clone, PartialEq)]
pub struct Remedies {
    /// The owner of the deciding rule or policy.
    pub owner: Option<Owner>,
    /// Whether the blocked packet was a reply or part of an established connection (the
    /// evidence for a structural fix).
    pub hit_reply: bool,
    /// The remedies, narrow to broad; owner-language ones before plain kernel rules.
    pub ladder: Vec<Remedy>,
    /// Index into `ladder` of the one the evidence points to.
    pub primary: usize,
}

impl Remedies {
    /// The remedy the evidence points to.
    pub fn primary(&self) -> Option<&Remedy> {
        self.ladder.get(self.primary)
    }
}

/// One change, what it opens, and what the simulation says the connection does with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Remedy {
    /// How much it opens.
    pub breadth: Breadth,
    /// The language the steps are written in.
    pub language: Language,
    /// What the admin types or edits, in order.
    pub steps: Vec<Step>,
    /// Whether it survives a reload and a reboot.
    pub durability: Durability,
    /// What it lets through.
    pub opens: Opens,
    /// The rules the kernel holds afterwards, as `iptables`/`nft` commands (what
    /// `verify --fix` applies in a namespace); empty when the change is not a rule.
    pub kernel_rules: Vec<FixRule>,
    /// The whole connection with the change in place; `None` when the change is outside
    /// the ruleset (an endpoint to start, a setting of another system) and cannot be
    /// simulated.
    pub exchange: Option<Exchange>,
    /// What the admin should know besides what it opens.
    pub caveats: Vec<FixCaveat>,
    /// The ruleset with the change in place (`None` when the change is not a rule): what a
    /// walk across several hosts runs again to prove it for the whole path.
    pub patched: Option<Ruleset>,
}

impl Remedy {
    /// Whether the simulation shows the firewall letting the whole connection through
    /// with it (a missing listener is the answer's own finding, not the remedy's).
    pub fn verified(&self) -> bool {
        self.exchange
            .as_ref()
            .is_some_and(Exchange::firewall_passes)
    }
}

/// How much a remedy opens, narrow to broad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Breadth {
    /// This flow: this source, this destination, this port.
    Flow,
    /// The service: the port (or protocol) for every source on that interface or zone.
    Service,
    /// Everything between the interfaces or zones (`ufw route allow in on A out on B`).
    Path,
    /// The missing structure: `ct state established,related accept` where a reply or an
    /// established packet was dropped.
    Structural,
    /// Not a rule: the cause is elsewhere (no endpoints, a ban, a setting).
    Cause,
}

/// The language a remedy's steps are written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Language {
    /// `iptables` / `ip6tables` commands.
    Iptables,
    /// `nft` commands.
    Nft,
    /// `ufw` commands.
    Ufw,
    /// `firewall-cmd` commands.
    FirewallCmd,
    /// `fail2ban-client` commands.
    Fail2banClient,
    /// `kubectl` and the cluster's objects.
    Kubernetes,
    /// A setting of the named tool (its configuration file or command).
    ToolSetting(Tool),
}

/// One thing the admin does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run this command.
    Run(String),
    /// Add this line to a persistent file so the change survives a reboot.
    AddLine {
        /// The file.
        file: PersistentFile,
        /// Where in it: the table and chain the line belongs to.
        table: String,
        /// The chain.
        chain: String,
        /// The line as it goes into the file.
        line: String,
    },
}

/// Whether a remedy survives a reload of the owning tool and a reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// It is in the owner's own configuration (or its steps include the persistent file).
    Durable,
    /// A runtime change only: gone at reboot unless the steps' persistent line is added.
    RuntimeOnly,
    /// A rule in a chain the tool rewrites: gone at its next reload. Offered only when no
    /// change in the tool's language works.
    LostOnReload(Tool),
}

/// A blocked packet and what decided it, as every owner module sees it.
pub(crate) struct Blocked<'a> {
    pub ruleset: &'a Ruleset,
    pub host: &'a Host,
    pub packet: &'a Packet,
    pub outcome: &'a Outcome,
    pub options: &'a Options,
    pub config: &'a ToolConfig,
    /// The primary trace (the decided one).
    pub trace: &'a Trace,
    /// The owner of the deciding rule or policy.
    pub owner: Option<&'a Owner>,
}

impl<'a> Blocked<'a> {
    /// `None` unless the packet was dropped or rejected (by any branch's agreement).
    pub fn of(
        ruleset: &'a Ruleset,
        host: &'a Host,
        packet: &'a Packet,
        outcome: &'a Outcome,
        options: &'a Options,
        config: &'a ToolConfig,
    ) -> Option<Blocked<'a>> {
        let fate = outcome.decided_fate()?;
        if !matches!(fate, Fate::Dropped | Fate::Rejected { .. }) {
            return None;
        }
        let trace = outcome.primary();
        let owner = match &trace.decider {
            engine::Decider::Rule(at) => ruleset
                .tables
                .get(at.table)
                .and_then(|t| t.chains.get(at.chain))
                .and_then(|c| c.rules.get(at.rule))
                .and_then(|r| r.origin.owner.as_ref()),
            engine::Decider::Policy(c) => owners::owner_of_chain(ruleset, *c),
            _ => None,
        };
        Some(Blocked {
            ruleset,
            host,
            packet,
            outcome,
            options,
            config,
            trace,
            owner,
        })
    }
}

/// A change an owner module offers, before it is verified.
pub(crate) struct Candidate {
    pub breadth: Breadth,
    pub language: Language,
    pub steps: Vec<Step>,
    pub durability: Durability,
    pub opens: Opens,
    pub caveats: Vec<FixCaveat>,
    /// The ruleset as the kernel holds it after the steps; `None` when the change is not
    /// in the ruleset (then it is not simulated).
    pub patched: Option<Ruleset>,
    pub kernel_rules: Vec<FixRule>,
}

mod docker;
mod fail2ban;
mod firewalld;
mod kernel_rules;
mod kube;
mod own_table;
mod removal;
mod ufw;

/// The remedies for a blocked packet, verified for the whole connection; `None` when the
/// packet was not blocked by a rule or policy decision that a change can address.
pub fn remedies(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    outcome: &Outcome,
    options: &Options,
    config: &ToolConfig,
) -> Option<Remedies> {
    let blocked = Blocked::of(ruleset, host, packet, outcome, options, config)?;
    let mut owned: Vec<Candidate> = Vec::new();
    owned.extend(ufw::candidates(&blocked));
    owned.extend(firewalld::candidates(&blocked));
    owned.extend(docker::candidates(&blocked));
    owned.extend(kube::candidates(&blocked));
    owned.extend(fail2ban::candidates(&blocked));
    owned.extend(own_table::candidates(&blocked));
    let mut ladder: Vec<Remedy> = owned.into_iter().map(|c| verify(&blocked, c)).collect();
    // A cause named in the owner's language (no endpoints, a policy) is its answer too.
    let owner_works = ladder
        .iter()
        .any(|r| r.verified() || r.breadth == Breadth::Cause);
    for c in kernel_rules::candidates(&blocked) {
        // A rule in a chain its owner rewrites only when nothing durable works.
        if matches!(c.durability, Durability::LostOnReload(_)) && owner_works {
            continue;
        }
        ladder.push(verify(&blocked, c));
    }
    if ladder.is_empty() {
        return None;
    }
    let hit_reply = hit_reply(&blocked);
    let primary = primary(&ladder, hit_reply);
    Some(Remedies {
        owner: kube::packet_owner(&blocked),
        hit_reply,
        ladder,
        primary,
    })
}

/// Remedies for a connection whose request passes and whose answer this host stops (the
/// answer's `ANSWER LOST`): the answer, meeting the conntrack entry its request created, is
/// the blocked packet, and every candidate is verified over the whole exchange from the
/// request (the exchange of a packet of a known connection starts at its first packet).
pub fn remedies_for_lost_answer(
    ruleset: &Ruleset,
    host: &Host,
    request: &Packet,
    options: &Options,
    config: &ToolConfig,
) -> Option<Remedies> {
    let (reply, with_entry) = exchange::answer_to(ruleset, host, request, options)?;
    let outcome = engine::simulate(ruleset, &with_entry, &reply, options);
    remedies(ruleset, &with_entry, &reply, &outcome, options, config)
}

/// Runs the whole exchange through the candidate's ruleset.
fn verify(blocked: &Blocked<'_>, c: Candidate) -> Remedy {
    let exchange = c
        .patched
        .as_ref()
        .map(|rs| exchange::simulate(rs, blocked.host, blocked.packet, blocked.options));
    Remedy {
        breadth: c.breadth,
        language: c.language,
        steps: c.steps,
        durability: c.durability,
        opens: c.opens,
        kernel_rules: c.kernel_rules,
        exchange,
        caveats: c.caveats,
        patched: c.patched,
    }
}

/// Whether the blocked packet was a reply or belonged to an established connection.
pub(crate) fn hit_reply(blocked: &Blocked<'_>) -> bool {
    use engine::CtState;
    let state = blocked.trace.conntrack.state;
    matches!(state, Some(CtState::Established | CtState::Related))
        || !exchange::starts_a_connection(blocked.packet)
}

/// The remedy the evidence points to, in order of preference:
/// 1. a verified durable remedy of the breadth the evidence wants (the structural fix for
///    a reply, the service for a first packet), else any verified durable one;
/// 2. a durable cause (not a rule: no endpoints, a ban, a setting): the owner's answer;
/// 3. a verified rule its owner rewrites (it works until the next reload);
/// 4. the first.
fn primary(ladder: &[Remedy], hit_reply: bool) -> usize {
    let want = if hit_reply {
        Breadth::Structural
    } else {
        Breadth::Service
    };
    let durable = |r: &Remedy| !matches!(r.durability, Durability::LostOnReload(_));
    let find = |pred: &dyn Fn(&Remedy) -> bool| ladder.iter().position(pred);
    find(&|r| r.verified() && durable(r) && r.breadth == want)
        .or_else(|| find(&|r| r.verified() && durable(r)))
        .or_else(|| find(&|r| durable(r) && r.breadth == Breadth::Cause))
        .or_else(|| find(&|r| r.verified()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Family, SourceFile};

    fn ruleset(text: &str) -> Ruleset {
        let mut rs =
            frontends::iptables_save::parse(&SourceFile::new("rules", text), Some(Family::Ip))
                .unwrap_or_else(|e| panic!("{e}"));
        owners::recognise(&mut rs, &ToolConfig::default());
        rs
    }

    fn packet(spec: &str) -> Packet {
        frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
    }

    fn remedies_for(rs: &Ruleset, spec: &str) -> Remedies {
        let host = Host::default();
        let p = packet(spec);
        let options = Options::default();
        let outcome = engine::simulate(rs, &host, &p, &options);
        remedies(rs, &host, &p, &outcome, &options, &ToolConfig::default()).expect("remedies")
    }

    fn commands(r: &Remedy) -> Vec<&str> {
        r.steps
            .iter()
            .filter_map(|s| match s {
                Step::Run(c) => Some(c.as_str()),
                Step::AddLine { .. } => None,
            })
            .collect()
    }

    /// A router that accepts ssh forwarded from the LAN but has no rule for replies.
    const NO_ESTABLISHED: &str =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A FORWARD -i lan -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";

    #[test]
    fn a_table_that_drops_replies_gets_the_established_accept_with_every_rung() {
        let rs = ruleset(NO_ESTABLISHED);
        let r = remedies_for(&rs, "tcp 192.168.1.5:40000 203.0.113.9:443 in lan out wan");
        let primary = r.primary().expect("a primary");
        assert_eq!(primary.breadth, Breadth::Service);
        assert!(primary.verified(), "{primary:?}");
        assert_eq!(
            commands(primary),
            [
                "iptables -I FORWARD 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                "iptables -A FORWARD -i lan -o wan -d 203.0.113.9/32 -p tcp -m tcp --dport 443 -j ACCEPT"
            ]
        );
        assert!(primary
            .caveats
            .iter()
            .any(|c| matches!(c, FixCaveat::AlsoReplies { .. })));
        let x = primary.exchange.as_ref().expect("simulated");
        let roles: Vec<_> = x.steps.iter().map(|s| s.role).collect();
        use exchange::StepRole::*;
        assert_eq!(roles, [Request, Reply, DataForward, DataBack]);
    }

    #[test]
    fn a_dropped_reply_points_to_the_structural_fix() {
        let rs = ruleset(NO_ESTABLISHED);
        let r = remedies_for(
            &rs,
            "tcp 203.0.113.9:22 192.168.1.5:40000 flags syn,ack in wan out lan",
        );
        assert!(r.hit_reply);
        let primary = r.primary().expect("a primary");
        assert_eq!(primary.breadth, Breadth::Structural, "{r:?}");
    }

    #[test]
    fn a_first_packet_points_to_the_service_with_the_persistent_line() {
        let rs = ruleset(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
        );
        let r = remedies_for(&rs, "tcp 192.0.2.7:40000 10.0.0.1:53 in eth0");
        assert!(!r.hit_reply);
        let primary = r.primary().expect("a primary");
        assert_eq!(primary.breadth, Breadth::Service);
        assert!(primary.verified(), "{primary:?}");
        assert_eq!(
            commands(primary),
            ["iptables -A INPUT -i eth0 -p tcp -m tcp --dport 53 -j ACCEPT"]
        );
        assert!(primary.steps.iter().any(|s| matches!(
            s,
            Step::AddLine { file: PersistentFile::RulesV4, line, .. }
                if line == "-A INPUT -i eth0 -p tcp -m tcp --dport 53 -j ACCEPT"
        )));
        assert_eq!(primary.durability, Durability::Durable);
    }
}
