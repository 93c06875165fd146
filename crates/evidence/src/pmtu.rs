//! The path-MTU black hole, told from a capture: the handshake works, then a full-size
//! segment is sent again and again and never acknowledged, while smaller ones get through,
//! and the ICMP "fragmentation needed" / ICMPv6 "packet too big" that would make its sender
//! shrink it is not in the capture (or is, and the sender does not take it).
//!
//! A [`SegmentWatch`] follows one TCP connection in bounded memory (a few dozen bytes a
//! side): each side's initial sequence number and announced MSS, how far the other side
//! acknowledged it, the largest segment of it that was acknowledged, the segment it is
//! stuck on (the lowest retransmitted one), the duplicate ACKs that show later segments
//! arriving, and the too-big errors about the connection with the interfaces they were
//! seen on. [`SegmentWatch::black_hole`] reads the signature off it at the end.
//!
//! Sequence numbers are kept relative to each side's SYN and compared modulo 2^32, so a
//! connection longer than 4 GiB is followed too. Segments are counted on one interface of
//! the capture only (the flow's first): a capture holding both sides of a router sees each
//! segment twice.

use crate::tls::Side;
use model::packet::TcpFlags;
use std::net::IpAddr;

/// Room TCP options may take in a segment: a segment whose data is within this of the MSS
/// its receiver announced is full-size (Linux sends 1448 bytes under an MSS of 1460, the
/// timestamps option taking 12).
pub const OPTIONS_ROOM: u16 = 40;
/// Sends of the same segment (the first and two retransmissions) before it is taken as
/// stuck: one retransmission is ordinary loss.
pub const STUCK_AFTER_SENDS: u32 = 3;
/// Distinct segment sizes remembered per side while unacknowledged (a hello, a full-size
/// segment, and room for a bigger offloaded one).
const SIZES_KEPT: usize = 4;
/// Recent new segments remembered per side, to find a retransmission's first sending (a
/// head segment is usually followed by two or three more before it is sent again).
const RECENT_KEPT: usize = 4;
/// Interface indices beyond this share the last bit of the interface masks.
const MAX_IFACE_BIT: usize = 63;

/// One TCP segment as the watch needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Data length on the wire.
    pub len: u16,
    /// The datagram's IP length.
    pub ip_len: u16,
    /// IPv4 "don't fragment" (IPv6 routers never fragment: always true there).
    pub dont_fragment: bool,
    /// The MSS option, when the segment carries one.
    pub mss: Option<u16>,
    pub frame: u64,
    pub ts: u64,
}

/// A too-big error about the connection: ICMP 3/4 or ICMPv6 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig {
    pub frame: u64,
    pub ts: u64,
    /// The hop that sent it.
    pub from: IpAddr,
    pub v6: bool,
    /// The MTU it announces (0: the hop did not say, as old routers do not).
    pub mtu: u32,
    /// How many too-big errors about the connection were captured.
    pub count: u32,
}

/// The segment a side is stuck on: the lowest one it sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stuck {
    /// Relative to the side's SYN.
    seq: u32,
    /// The largest data length sent at this sequence number, and its IP length.
    len: u16,
    ip_len: u16,
    dont_fragment: bool,
    sends: u32,
    first_frame: u64,
    first_ts: u64,
    last_frame: u64,
    last_ts: u64,
    /// Sends after a too-big error was captured, larger than the MTU it announced.
    sends_after_too_big: u32,
}

/// What is known of one side's data.
#[derive(Debug, Clone, Default)]
struct SideWatch {
    isn: Option<u32>,
    /// The MSS this side announced in its SYN.
    mss: Option<u16>,
    /// The end of the highest data sent (relative).
    next: u32,
    /// How far the other side acknowledged it (relative).
    acked: u32,
    /// The largest data length of this side that was acknowledged, with its IP length.
    largest_acked: Option<(u16, u16)>,
    /// Unacknowledged segments (end, data length, IP length), data lengths strictly
    /// increasing: the first ones the next acknowledgement covers are the largest acked.
    /// The first `sizes_len` are held (fixed arrays: a watch per TCP flow, no allocation).
    sizes: [(u32, u16, u16); SIZES_KEPT],
    sizes_len: usize,
    /// The last new segments (seq, frame, ts): `recent_len` of them, written in turn at
    /// `recent_next`.
    recent: [(u32, u64, u64); RECENT_KEPT],
    recent_len: usize,
    recent_next: usize,
    stuck: Option<Stuck>,
    /// Acknowledgements of this side's data that did not move it on, while data was
    /// outstanding: the receiver got something after a gap.
    dup_acks: u32,
}

/// One TCP connection's segments, followed for the path-MTU signature.
#[derive(Debug, Clone, Default)]
pub struct SegmentWatch {
    sides: [SideWatch; 2],
    /// The interfaces (bit per capture interface index) the connection was seen on.
    interfaces: u64,
    too_big: Option<TooBig>,
    /// The interfaces a too-big error about it was seen on.
    too_big_interfaces: u64,
}

/// Whether `a` comes before `b` in sequence space.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn bit(interface: usize) -> u64 {
    1 << interface.min(MAX_IFACE_BIT)
}

fn index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}

impl SegmentWatch {
    /// Notes that the connection was seen on `interface` (any packet of it).
    pub fn seen_on(&mut self, interface: usize) {
        self.interfaces |= bit(interface);
    }

    /// A segment from `side`, captured on the interface the connection is counted on.
    pub fn segment(&mut self, side: Side, s: &Segment) {
        let i = index(side);
        if s.flags & TcpFlags::SYN.0 != 0 {
            let w = &mut self.sides[i];
            w.isn = Some(s.seq);
            w.mss = s.mss.or(w.mss);
            // The SYN takes one sequence number.
            w.next = 1;
            w.acked = 0;
        }
        if s.flags & TcpFlags::ACK.0 != 0 {
            self.acknowledged(other(side), s);
        }
        if s.len > 0 && s.flags & (TcpFlags::SYN.0 | TcpFlags::RST.0) == 0 {
            self.data(side, s);
        }
    }

    /// An acknowledgement (sent by the other side) of `side`'s data.
    fn acknowledged(&mut self, side: Side, s: &Segment) {
        let w = &mut self.sides[index(side)];
        let Some(isn) = w.isn else { return };
        let ack = s.ack.wrapping_sub(isn);
        if before(w.acked, ack) {
            // Beyond what was seen sent: the capture missed segments the receiver got.
            if before(w.next, ack) {
                w.next = ack;
            }
            w.acked = ack;
            w.dup_acks = 0;
            let covered = w.sizes[..w.sizes_len]
                .iter()
                .take_while(|(end, _, _)| !before(ack, *end))
                .count();
            if let Some(&(_, len, ip_len)) = w.sizes[..covered].last() {
                // Lengths increase along the array: the last covered is the largest.
                if w.largest_acked.is_none_or(|(l, _)| l < len) {
                    w.largest_acked = Some((len, ip_len));
                }
            }
            w.sizes.copy_within(covered..w.sizes_len, 0);
            w.sizes_len -= covered;
            if w.stuck.is_some_and(|st| before(st.seq, ack)) {
                w.stuck = None;
            }
        } else if ack == w.acked
            && before(w.acked, w.next)
            && s.len == 0
            && s.flags & (TcpFlags::SYN.0 | TcpFlags::FIN.0 | TcpFlags::RST.0) == 0
        {
            w.dup_acks = w.dup_acks.saturating_add(1);
        }
    }

    /// Data from `side`: new, or sent again.
    fn data(&mut self, side: Side, s: &Segment) {
        let too_big_mtu = self.too_big.map(|t| t.mtu);
        let w = &mut self.sides[index(side)];
        let Some(isn) = w.isn else { return };
        let seq = s.seq.wrapping_sub(isn);
        let end = seq.wrapping_add(u32::from(s.len));
        if !before(seq, w.next) {
            // New data.
            w.next = end;
            let held = &w.sizes[..w.sizes_len];
            if held.last().is_none_or(|&(_, l, _)| l < s.len) && w.sizes_len < SIZES_KEPT {
                w.sizes[w.sizes_len] = (end, s.len, s.ip_len);
                w.sizes_len += 1;
            }
            w.recent[w.recent_next] = (seq, s.frame, s.ts);
            w.recent_next = (w.recent_next + 1) % RECENT_KEPT;
            w.recent_len = (w.recent_len + 1).min(RECENT_KEPT);
            return;
        }
        // Sent again, and not all of it acknowledged yet.
        if before(w.acked, end) {
            let after_too_big = match too_big_mtu {
                // An MTU of 0 says nothing: any size sent again counts.
                Some(mtu) => mtu == 0 || u32::from(s.ip_len) > mtu,
                None => false,
            };
            resent(w, seq, s, after_too_big);
        }
    }

    /// A too-big error about the connection, captured on `interface`.
    pub fn too_big(&mut self, error: TooBig, interface: usize) {
        self.too_big_interfaces |= bit(interface);
        match &mut self.too_big {
            Some(t) => t.count = t.count.saturating_add(1),
            None => self.too_big = Some(error),
        }
    }

    /// The path-MTU black hole, when the connection shows it.
    pub fn black_hole(&self) -> Option<PmtuVerdict> {
        // The handshake completed: both sides' SYNs were seen.
        if self.sides.iter().any(|w| w.isn.is_none()) {
            return None;
        }
        [Side::Client, Side::Server]
            .into_iter()
            .find_map(|side| self.stuck_side(side))
    }

    fn stuck_side(&self, side: Side) -> Option<PmtuVerdict> {
        let w = &self.sides[index(side)];
        let st = w.stuck?;
        let receiver_mss = self.sides[index(other(side))].mss;
        let full_size = match receiver_mss {
            Some(mss) => st.len.saturating_add(OPTIONS_ROOM) >= mss,
            // Without the MSS, full-size is only "larger than what got through".
            None => true,
        };
        let larger_than_acked = w.largest_acked.is_none_or(|(l, _)| l < st.len);
        let smaller_got_through = w.largest_acked.is_some() || w.dup_acks > 0;
        if st.sends < STUCK_AFTER_SENDS
            || before(st.seq, w.acked)
            || !full_size
            || !larger_than_acked
            || !smaller_got_through
        {
            return None;
        }
        let too_big = match self.too_big {
            None => TooBigFate::NotCaptured,
            Some(error) => {
                let missing = self.interfaces & !self.too_big_interfaces;
                if missing != 0 {
                    TooBigFate::OneSideOnly {
                        error,
                        seen_on: interfaces(self.too_big_interfaces),
                        missing_on: interfaces(missing),
                    }
                } else if st.sends_after_too_big > 0 {
                    TooBigFate::NotTaken {
                        error,
                        sends_after: st.sends_after_too_big,
                    }
                } else {
                    // It came after the last retransmission: nothing says it was not taken.
                    return None;
                }
            }
        };
        Some(PmtuVerdict {
            sender: side,
            seq: st.seq,
            len: st.len,
            ip_len: st.ip_len,
            dont_fragment: st.dont_fragment,
            sends: st.sends,
            first_frame: st.first_frame,
            last_frame: st.last_frame,
            span_ns: st.last_ts.saturating_sub(st.first_ts),
            receiver_mss,
            largest_acked: w.largest_acked,
            dup_acks: w.dup_acks,
            too_big,
        })
    }
}

/// A segment sent again at `seq` (relative): counted on the stuck one, or it becomes the
/// stuck one when lower (or the stuck one was acknowledged since).
fn resent(w: &mut SideWatch, seq: u32, s: &Segment, after_too_big: bool) {
    match &mut w.stuck {
        Some(st) if st.seq == seq => {
            st.sends = st.sends.saturating_add(1);
            if s.len > st.len {
                (st.len, st.ip_len, st.dont_fragment) = (s.len, s.ip_len, s.dont_fragment);
            }
            st.last_frame = s.frame;
            st.last_ts = s.ts;
            st.sends_after_too_big += u32::from(after_too_big);
        }
        Some(st) if !before(seq, st.seq) => {}
        _ => {
            // The first sending, when it is among the last new segments.
            let first = w.recent[..w.recent_len].iter().find(|(r, _, _)| *r == seq);
            let (sends, first_frame, first_ts) = match first {
                Some(&(_, frame, ts)) => (2, frame, ts),
                None => (1, s.frame, s.ts),
            };
            w.stuck = Some(Stuck {
                seq,
                len: s.len,
                ip_len: s.ip_len,
                dont_fragment: s.dont_fragment,
                sends,
                first_frame,
                first_ts,
                last_frame: s.frame,
                last_ts: s.ts,
                sends_after_too_big: u32::from(after_too_big),
            });
        }
    }
}

fn interfaces(mask: u64) -> Vec<usize> {
    (0..=MAX_IFACE_BIT)
        .filter(|i| mask & bit(*i) != 0)
        .collect()
}

/// The path-MTU black hole signature on one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmtuVerdict {
    /// The side whose full-size segments vanish.
    pub sender: Side,
    /// The stuck segment's sequence number, relative to its sender's SYN (as Wireshark
    /// shows it).
    pub seq: u32,
    /// Its data length and IP length on the wire, and whether it may not be fragmented.
    pub len: u16,
    pub ip_len: u16,
    pub dont_fragment: bool,
    /// How many times it was captured being sent (the first and the retransmissions).
    pub sends: u32,
    pub first_frame: u64,
    pub last_frame: u64,
    /// From its first sending to its last.
    pub span_ns: u64,
    /// The MSS the receiver announced in its SYN, when it did.
    pub receiver_mss: Option<u16>,
    /// The largest data length (and IP length) of the sender that was acknowledged.
    pub largest_acked: Option<(u16, u16)>,
    /// Duplicate acknowledgements while it was stuck: later, smaller segments arrived.
    pub dup_acks: u32,
    pub too_big: TooBigFate,
}

/// What the capture shows of the error that should have shrunk the segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooBigFate {
    /// No fragmentation-needed / packet-too-big about the connection in the capture: it
    /// never reached the capture point (dropped on the way back, or never sent).
    NotCaptured,
    /// Captured, and the sender kept sending segments larger than the MTU it announced:
    /// it arrived and was not taken (dropped by the sender's own firewall, or ignored).
    NotTaken {
        error: TooBig,
        /// Sends of the stuck segment after the error, above its MTU.
        sends_after: u32,
    },
    /// Captured on some of the interfaces that carry the connection and not on the others:
    /// lost between them.
    OneSideOnly {
        error: TooBig,
        /// Capture interface indices.
        seen_on: Vec<usize>,
        missing_on: Vec<usize>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_ISN: u32 = 0xffff_f000;
    const S_ISN: u32 = 1000;

    fn seg(flags: u8, seq: u32, ack: u32, len: u16, frame: u64) -> Segment {
        Segment {
            flags,
            seq,
            ack,
            len,
            ip_len: len + 52,
            dont_fragment: true,
            mss: (flags & TcpFlags::SYN.0 != 0).then_some(1460),
            frame,
            ts: frame * 200_000_000,
        }
    }

    /// A handshake (the client's sequence numbers wrap around 2^32), 100 bytes acked, then
    /// 2 full-size segments and a smaller one: the first full-size one is sent `sends`
    /// times, the smaller one draws a duplicate ACK.
    fn stalled(sends: u32, shrink_at_last: bool) -> SegmentWatch {
        let mut w = SegmentWatch::default();
        let c = |w: &mut SegmentWatch, s: Segment| w.segment(Side::Client, &s);
        let srv = |w: &mut SegmentWatch, s: Segment| w.segment(Side::Server, &s);
        c(&mut w, seg(TcpFlags::SYN.0, C_ISN, 0, 0, 1));
        srv(
            &mut w,
            seg(TcpFlags::SYN.0 | TcpFlags::ACK.0, S_ISN, C_ISN + 1, 0, 2),
        );
        c(&mut w, seg(TcpFlags::ACK.0, C_ISN + 1, S_ISN + 1, 0, 3));
        c(&mut w, seg(TcpFlags::ACK.0, C_ISN + 1, S_ISN + 1, 100, 4));
        srv(
            &mut w,
            seg(TcpFlags::ACK.0, S_ISN + 1, C_ISN.wrapping_add(101), 0, 5),
        );
        let big = C_ISN.wrapping_add(101);
        c(&mut w, seg(TcpFlags::ACK.0, big, S_ISN + 1, 1448, 6));
        c(
            &mut w,
            seg(TcpFlags::ACK.0, big.wrapping_add(1448), S_ISN + 1, 1448, 7),
        );
        c(
            &mut w,
            seg(TcpFlags::ACK.0, big.wrapping_add(2896), S_ISN + 1, 900, 8),
        );
        srv(&mut w, seg(TcpFlags::ACK.0, S_ISN + 1, big, 0, 9));
        for n in 1..sends {
            let len = if shrink_at_last && n + 1 == sends {
                1348
            } else {
                1448
            };
            c(
                &mut w,
                seg(TcpFlags::ACK.0, big, S_ISN + 1, len, 9 + u64::from(n)),
            );
        }
        w
    }

    #[test]
    fn a_full_size_segment_sent_three_times_and_never_acked_is_a_black_hole() {
        let v = stalled(3, false).black_hole().expect("black hole");
        assert_eq!(
            (v.sender, v.seq, v.len, v.ip_len, v.sends),
            (Side::Client, 101, 1448, 1500, 3)
        );
        assert_eq!((v.first_frame, v.last_frame), (6, 11));
        assert_eq!(v.span_ns, 5 * 200_000_000);
        assert_eq!(
            (v.receiver_mss, v.largest_acked),
            (Some(1460), Some((100, 152)))
        );
        assert_eq!((v.dup_acks, v.too_big), (1, TooBigFate::NotCaptured));
    }

    #[test]
    fn one_retransmission_is_ordinary_loss() {
        assert_eq!(stalled(2, false).black_hole(), None);
    }

    /// The sender shrank the segment (it took an error, or probed) and was acknowledged.
    #[test]
    fn a_segment_acknowledged_in_the_end_is_no_black_hole() {
        let mut w = stalled(4, true);
        let acked = C_ISN.wrapping_add(101 + 1348);
        w.segment(Side::Server, &seg(TcpFlags::ACK.0, S_ISN + 1, acked, 0, 20));
        assert_eq!(w.black_hole(), None);
    }

    /// A too-big error captured before the last retransmissions, which stay above its MTU:
    /// it arrived and was not taken. Seen on one of two interfaces: lost between them.
    #[test]
    fn a_too_big_error_not_taken_or_seen_on_one_side_only() {
        let error = TooBig {
            frame: 7,
            ts: 7,
            from: "10.1.1.1".parse().unwrap(),
            v6: false,
            mtu: 1400,
            count: 1,
        };
        let c = |w: &mut SegmentWatch, s: Segment| w.segment(Side::Client, &s);
        let mut all = stalled(1, false);
        all.seen_on(0);
        all.too_big(error, 0);
        let big = C_ISN.wrapping_add(101);
        for f in 10..13 {
            c(&mut all, seg(TcpFlags::ACK.0, big, S_ISN + 1, 1448, f));
        }
        let v = all.black_hole().expect("not taken");
        assert_eq!(
            v.too_big,
            TooBigFate::NotTaken {
                error,
                sends_after: 3
            }
        );
        all.seen_on(1);
        let v = all.black_hole().expect("one side only");
        assert_eq!(
            v.too_big,
            TooBigFate::OneSideOnly {
                error,
                seen_on: vec![0],
                missing_on: vec![1]
            }
        );
    }

    /// An acknowledgement beyond what the capture shows sent (the capture missed segments)
    /// still acknowledges the stuck one.
    #[test]
    fn an_ack_beyond_the_captured_data_acknowledges_the_stuck_segment() {
        let mut w = stalled(4, false);
        let far = C_ISN.wrapping_add(101 + 20_000);
        w.segment(Side::Server, &seg(TcpFlags::ACK.0, S_ISN + 1, far, 0, 30));
        assert_eq!(w.black_hole(), None);
    }

    /// Every segment lost, small ones too (the receiver went away): not a size problem.
    #[test]
    fn nothing_acknowledged_and_no_duplicate_ack_is_not_a_size_problem() {
        let mut w = SegmentWatch::default();
        w.segment(Side::Client, &seg(TcpFlags::SYN.0, C_ISN, 0, 0, 1));
        w.segment(
            Side::Server,
            &seg(TcpFlags::SYN.0 | TcpFlags::ACK.0, S_ISN, C_ISN + 1, 0, 2),
        );
        for f in 3..7 {
            w.segment(
                Side::Client,
                &seg(TcpFlags::ACK.0, C_ISN + 1, S_ISN + 1, 1448, f),
            );
        }
        assert_eq!(w.black_hole(), None);
    }
}
