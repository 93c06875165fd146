//! `ipf_fastroute` (`ip_fil.c`, the userland build ipftest links): a packet a rule
//! with a `to` passed (or a state entry such a rule made) is sent out of that
//! interface and printed there, and `ipf_check` frees it. A packet coming in is
//! checked again as it leaves: the state table (`ipf_state_check`) and NAT
//! (`ipf_nat_checkout`) on the `to` interface; a packet going out was checked already
//! and leaves as it is.

use super::dstlist::{unmodelled, Forwarded};
use super::nat::NatOutcome;
use model::expr::Undecidable;

impl super::Ipf {
    /// `ipf_fastroute` for the packet `ipf_check` decided: fills `check.forwarded`
    /// and frees the packet. Accounting rules (`ipf_acctpkt`) on the way out, and ICMP
    /// with state entries present, are not modelled: Unknown.
    pub(super) fn fastroute(
        &self,
        pkt: &super::Pkt<'_>,
        pass: u32,
        check: &mut super::Check,
        tables: &mut super::IpfState,
    ) {
        let index = match check.decided {
            super::Decided::Rule { index, .. } => index,
            super::Decided::State {
                created_by: Some(index),
            } => index,
            _ => return,
        };
        let rule = &self.lists.rules[index];
        if !super::fr::is_pass(pass) || rule.fastroute {
            return;
        }
        if pkt.out && !self.nat.rules.is_empty() {
            // `ipf_nat_checkout` took the rule's `fr_tifs` pointer as the interface: for a
            // destination list that is the list, not an interface. Not modelled.
            let listed = [&rule.route_to, &rule.reply_to]
                .iter()
                .any(|r| r.as_ref().is_some_and(|r| r.dstlist));
            if listed {
                check.undetermined = check.undetermined.take().or(Some(unmodelled(
                    "NAT of a packet going out whose rule's `to` is a destination list",
                )));
                return;
            }
        }
        let destination = match self.destination(index, pkt, check, tables) {
            Ok(Some(interface)) => interface,
            Ok(None) => return,
            Err(u) => {
                check.undetermined = check.undetermined.take().or(Some(u));
                return;
            }
        };
        let mut bytes = pkt.bytes.clone();
        if !pkt.out {
            match self.check_leaving(index, pkt, &destination, &mut bytes, tables) {
                Ok(true) => {}
                // `ipf_nat_checkout` failed: the packet is not sent (`goto done`).
                Ok(false) => return,
                Err(u) => {
                    check.undetermined = check.undetermined.take().or(Some(u));
                    return;
                }
            }
        }
        if pkt.fin.v == 4 && bytes.len() >= 12 {
            bytes[10] = 0;
            bytes[11] = 0;
        }
        check.forwarded = Some(Forwarded {
            interface: destination,
            bytes,
        });
        // `ipf_check`: `m = *mp = NULL` after `ipf_fastroute`.
        check.freed = true;
    }

    /// The checks `ipf_fastroute` makes of a packet coming in as it leaves by
    /// `destination` (`fin_out = 1`, `fin_ifp` the `to` interface): the state table
    /// unless the rule returns (`FR_RETMASK`), then `ipf_nat_checkout`, which may
    /// rewrite `bytes`. `Ok(false)` when NAT fails and the packet is not sent.
    fn check_leaving(
        &self,
        index: usize,
        pkt: &super::Pkt<'_>,
        destination: &str,
        bytes: &mut Vec<u8>,
        tables: &mut super::IpfState,
    ) -> Result<bool, Undecidable> {
        let accounting = self
            .lists
            .rules
            .iter()
            .any(|r| r.action == model::ipf::filter::Action::Count);
        let icmp = pkt.fin.p == 1 || pkt.fin.p == 58;
        if accounting || (icmp && !tables.state.entries.is_empty()) {
            return Err(unmodelled("the checks of a packet a `to` rule sends out"));
        }
        let mut fin = pkt.fin.clone();
        if self.flags[index] & super::fr::RETMASK == 0 {
            fin.flx &= !super::flx::STATE;
            let hit = tables
                .state
                .lookup(&mut fin, bytes, true, destination, &mut |_| false);
            if let Some(hit) = hit {
                tables.state.count(hit, &fin, true);
            }
        }
        if self.nat.rules.is_empty() {
            return Ok(true);
        }
        match self
            .nat
            .outbound(&pkt.fin, bytes, destination, &mut tables.nat)
        {
            NatOutcome::Failed => Ok(false),
            NatOutcome::Undetermined(u) => Err(u),
            NatOutcome::None | NatOutcome::Translated(_) => Ok(true),
        }
    }

    /// The interface the packet leaves by: the state entry's when one passed it (and
    /// the one it is given when this packet made it), else the rule's `to`.
    fn destination(
        &self,
        index: usize,
        pkt: &super::Pkt<'_>,
        check: &super::Check,
        tables: &mut super::IpfState,
    ) -> Result<Option<String>, Undecidable> {
        let rule = &self.lists.rules[index];
        let by_state = matches!(check.decided, super::Decided::State { .. });
        if let Some(hit) = pkt.state_hit.filter(|_| by_state) {
            let entry = &tables.state.entries[hit.index];
            return Ok(entry.to[usize::from(hit.rev)].clone());
        }
        if check.keeps_state {
            let to = self.pick(rule.route_to.as_ref(), pkt, tables)?;
            let reply_to = self.pick(rule.reply_to.as_ref(), pkt, tables)?;
            if let Some(entry) = tables.state.entries.last_mut() {
                entry.to = [to.clone(), reply_to];
            }
            return Ok(to);
        }
        self.pick(rule.route_to.as_ref(), pkt, tables)
    }

    /// `ipf_nat_checkout` of a packet going out translates it as if on the `to`
    /// interface of the rule that passed it (`fr_tifs[fin_rev]` of `fin_fr`), when
    /// that names one.
    pub(super) fn nat_out_interface(
        &self,
        pkt: &super::Pkt<'_>,
        check: &super::Check,
    ) -> Option<String> {
        let (index, rev) = match check.decided {
            super::Decided::Rule { index, .. } => (index, false),
            super::Decided::State {
                created_by: Some(index),
            } => (index, pkt.state_hit.is_some_and(|hit| hit.rev)),
            _ => return None,
        };
        let rule = &self.lists.rules[index];
        let route = if rev { &rule.reply_to } else { &rule.route_to };
        route
            .as_ref()
            .filter(|r| !r.dstlist && r.interface != "-")
            .map(|r| r.interface.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use model::packet::TcpFlags;

    use super::super::tests::{tcp, with_nat};
    use super::super::IpfState;
    use crate::bsd::{Direction, FilterPass, PassVerdict};

    /// As the regression suite's ni21: the packet going out by em0 is translated as if
    /// on its rule's `to` interface em1 (the map's second), and the reply coming in by
    /// em0 (the map's first) finds the session.
    #[test]
    fn a_packet_going_out_is_translated_on_its_to_interface_and_the_reply_returns() {
        let f = with_nat(
            "pass out on em0 to em1:192.0.2.1 from 10.0.0.5 to any\n",
            "map em0,em1 10.0.0.5/32 -> 203.0.113.1/32\n",
        );
        let mut state = IpfState::default();
        let syn = tcp("10.0.0.5", 40000, "198.51.100.7", 443, TcpFlags::SYN);
        let out = f.pass(&syn, Direction::Out, "em0", &mut state);
        assert_eq!(out.verdict, PassVerdict::Pass);
        assert_eq!(out.packet.src, "203.0.113.1".parse::<IpAddr>().unwrap());
        let reply = tcp("198.51.100.7", 443, "203.0.113.1", 40000, TcpFlags(0x12));
        let back = f.pass(&reply, Direction::In, "em0", &mut state);
        assert_eq!(back.packet.dst, "10.0.0.5".parse::<IpAddr>().unwrap());
    }
}
