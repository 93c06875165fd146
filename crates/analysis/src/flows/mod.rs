//! Evidence joined with simulation: each piece of evidence (a log flow, a traced packet, a
//! conntrack flow) next to what the simulation of the same packet says, divergences flagged.
//!
//! - [`logs`]: each distinct flow of a firewall log simulated once; the LOG rule that wrote
//!   the line found on the simulated path (or its absence flagged);
//! - [`traces`]: a kernel trace placed in the user's ruleset (rule numbers, handles, rule
//!   text), its fate stated, compared step by step with the simulation;
//! - [`conntrack`]: what conntrack events prove about a packet, checked against the
//!   simulation, and the table they leave as host state;
//! - [`implied`]: what each kind of evidence says of the packet's way through the host (a
//!   trace's hooks, a log line's interfaces, an ICMP error's sender and TTL), made into the
//!   assumptions of its simulation and checked against it.

pub mod conntrack;
pub mod implied;
pub mod logs;
pub mod traces;
