//! The facts an answer shows beside the simulation itself, computed once before rendering
//! so that `report` only puts them into words: how the deciding rule was reached (the jumps
//! active when it matched), on a mixed host the accept in another table that did not save
//! the packet, and what the answer concludes: what the connection experiences, unless the
//! input gives no ground for an all-clear.

use crate::callstack::{call_stack, Frame};
use crate::cross_table::{self, CrossTable};
use crate::remedy::exchange::{self, ExchangeEnd, ExchangeStep, StepRole};
use engine::{Connection, Decider, Event, Options, Outcome};
use model::tool_config::ToolConfig;
use model::{Family, Hook, Host, Packet, Ruleset, Tool};
use owners::firewalld::{zone_of, Direction, ZoneChoice};

/// What the answer says about its primary trace, beyond the trace.
#[derive(Debug, Clone)]
pub struct AnswerFacts {
    /// The jumps that led to the deciding rule, outermost first (empty when a base chain's
    /// own rule or something other than a rule decided).
    pub reached_via: Vec<Frame>,
    /// An accept in an earlier base chain on the same hook that did not save the packet
    /// from the drop that decided it.
    pub cross_table: Option<CrossTable>,
    /// When firewalld's rule or policy decided: the zone the packet lands in and why
    /// (a source binding, its interface, the default zone).
    pub firewalld_zone: Option<ZoneChoice>,
    /// What the connection experiences, as simulated ([`Outcome::connection`]).
    pub connection: Connection,
    /// The packet's family (`ip` or `ip6`) when no rules of it were given and nothing
    /// shows the family has no firewall, and the simulation lets the connection through:
    /// an all-clear would rest on rules nobody looked at.
    pub no_rules_of_family: Option<Family>,
    /// An ICMP error, no conntrack table given: the simulation took it as RELATED to the
    /// flow it quotes; quoting no tracked flow it is INVALID, and then the connection
    /// would be this instead. `None` when that changes nothing (or does not apply).
    pub if_quoting_no_flow: Option<Connection>,
    /// The answer to a packet that passed (a SYN/ACK, a reply datagram, an echo reply),
    /// simulated meeting the conntrack entry the packet created, when it does not get
    /// through this host: a rule, a policy or routing stops it (its `fate`; the
    /// connection's answer is lost, [`Connection::AnswerLost`]), or its fate cannot be
    /// decided offline (`fate` is `None`; the connection is undecided).
    pub reply_not_through: Option<ExchangeStep>,
}

impl AnswerFacts {
    /// The facts of `outcome`'s primary trace on `ruleset`.
    pub fn of(ruleset: &Ruleset, outcome: &Outcome) -> AnswerFacts {
        let trace = outcome.primary();
        let reached_via = match trace.decider {
            Decider::Rule(at) => call_stack(trace, at),
            _ => Vec::new(),
        };
        AnswerFacts {
            reached_via,
            cross_table: cross_table::explain(ruleset, trace),
            firewalld_zone: None,
            connection: outcome.connection(),
            no_rules_of_family: None,
            if_quoting_no_flow: None,
            reply_not_through: None,
        }
    }

    /// What the connection experiences beyond the packet itself, simulated again where
    /// the one packet does not tell:
    /// - a packet that opens a connection and got through: the answer to it through this
    ///   host (the exchange a fix is verified by). When a rule, a policy or routing stops
    ///   the answer, the connection's answer is lost; when the answer's fate cannot be
    ///   decided offline, neither can the connection's.
    /// - an ICMP error simulated without the host's conntrack table (taken as RELATED to a
    ///   tracked flow, as the engine warns): again against an empty table, where the kernel
    ///   finds no flow it quotes and it is INVALID. When the connection differs, the
    ///   answer rests on the unknown table.
    pub fn with_connection(
        mut self,
        ruleset: &Ruleset,
        host: &Host,
        packet: &Packet,
        options: &Options,
    ) -> AnswerFacts {
        if engine::reject::is_icmp_error(packet) {
            if !host.known.conntrack {
                let mut empty_table = host.clone();
                empty_table.known.conntrack = true;
                empty_table.conntrack.clear();
                let invalid = engine::simulate(ruleset, &empty_table, packet, options).connection();
                self.if_quoting_no_flow = (invalid != self.connection).then_some(invalid);
            }
            return self;
        }
        if !self.connection.succeeds() || !exchange::starts_a_connection(packet) {
            return self;
        }
        let exchange = exchange::simulate(ruleset, host, packet, options);
        let (step, connection) = match exchange.end {
            ExchangeEnd::Stopped { step } => (step, Connection::AnswerLost),
            ExchangeEnd::Undecided { step } => (step, Connection::Undecided),
            ExchangeEnd::Works | ExchangeEnd::NoListener => return self,
        };
        if let Some(reply) = exchange
            .steps
            .get(step)
            .filter(|s| s.role == StepRole::Reply)
        {
            self.connection = connection;
            self.reply_not_through = Some(reply.clone());
        }
        self
    }

    /// Records that no rules of the packet's `family` were given (and nothing shows the
    /// family has no firewall). Only a connection the simulation lets through loses its
    /// ground: a missing firewall can stop a packet, never let one through that routing or
    /// the stack stops.
    pub fn without_rules_of_family(mut self, family: Family) -> AnswerFacts {
        if self.connection.succeeds() {
            self.no_rules_of_family = Some(family);
        }
        self
    }

    /// What the answer concludes: the connection as simulated, or
    /// [`Connection::Undecided`] when it has no ground (see
    /// [`AnswerFacts::no_rules_of_family`] and [`AnswerFacts::if_quoting_no_flow`]).
    pub fn conclusion(&self) -> Connection {
        if self.no_rules_of_family.is_some() || self.if_quoting_no_flow.is_some() {
            Connection::Undecided
        } else {
            self.connection
        }
    }

    /// Adds the firewalld zone of the packet when firewalld decided, read from the
    /// dispatch chains and the zone configuration in `config`.
    pub fn with_firewalld_zone(
        mut self,
        ruleset: &Ruleset,
        config: &ToolConfig,
        outcome: &Outcome,
    ) -> AnswerFacts {
        let trace = outcome.primary();
        let decided_by_firewalld = match &trace.decider {
            Decider::Rule(at) => ruleset
                .tables
                .get(at.table)
                .and_then(|t| t.chains.get(at.chain)?.rules.get(at.rule))
                .and_then(|r| r.origin.owner.as_ref()),
            Decider::Policy(c) => owners::owner_of_chain(ruleset, *c),
            _ => None,
        }
        .is_some_and(|o| o.tool == Tool::Firewalld);
        if !decided_by_firewalld {
            return self;
        }
        let hooks = |h: Hook| {
            trace
                .events
                .iter()
                .any(|e| matches!(e, Event::Hook(x) if *x == h))
        };
        let direction = if hooks(Hook::Forward) {
            Direction::Forward
        } else if hooks(Hook::Input) {
            Direction::Input
        } else {
            Direction::Output
        };
        self.firewalld_zone = zone_of(ruleset, config, &trace.packet, direction);
        self
    }
}
