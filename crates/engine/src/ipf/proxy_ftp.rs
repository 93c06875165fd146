//! The ftp proxy (`ip_ftp_pxy.c`), as far as it is followed here: the control
//! connection's segments that carry no data. `ipf_p_ftp_process` keeps, for each side
//! (client 0, server 1), the sequence numbers its next data may start at
//! (`ftps_seq[0]`, `ftps_seq[1]`) and checks every segment's acknowledgement against the
//! other side's; a segment carrying data is read for commands and replies (PORT, EPRT,
//! 227, 229: rewritten, with the sequence numbers shifted and a data connection opened),
//! which is not modelled: such a segment, and a segment the proxy would refuse, is
//! Undetermined.

use super::fin::Fin;
use super::nat::{unknown, NatOutcome, NatState, Session};
use super::proxy::{flow, Flow};

/// `TH_OPENING` (`ip_state.h`): SYN and ACK.
const TH_OPENING: u8 = 0x12;
/// `TH_FIN`.
const TH_FIN: u8 = 0x01;

/// A control connection's proxy session (`ftpinfo_t`): each side's `ftps_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ftp {
    session: Flow,
    seq: [[u32; 2]; 2],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `ipf_p_ftp_out` and `ipf_p_ftp_in`: a packet of control session `s` going `out` or
/// in, read by `ipf_p_ftp_process` from the side that sent it.
pub(super) fn inout(
    fin: &Fin,
    bytes: &[u8],
    state: &mut NatState,
    s: &Session,
    out: bool,
) -> Result<(), NatOutcome> {
    let at = match state.proxy.ftp.iter().position(|f| f.session == flow(s)) {
        Some(at) => at,
        // `ipf_p_ftp_new`: both sides start at zero.
        None => {
            state.proxy.ftp.push(Ftp {
                session: flow(s),
                seq: [[0; 2]; 2],
            });
            state.proxy.ftp.len() - 1
        }
    };
    let rv = usize::from(out != s.outbound);
    process(fin, bytes, &mut state.proxy.ftp[at], rv)
}

/// `ipf_p_ftp_process` for a segment from side `rv`, while no data was rewritten (every
/// `aps_seqoff`/`aps_ackoff` is zero).
fn process(fin: &Fin, bytes: &[u8], ftp: &mut Ftp, rv: usize) -> Result<(), NatOutcome> {
    let lost = || unknown("ftp proxy: a control segment it cannot follow");
    let tcp = fin.dp;
    let tcpsz = i64::from(*bytes.get(tcp + 12).ok_or_else(lost)? >> 4) * 4;
    let flags = *bytes.get(tcp + 13).ok_or_else(lost)?;
    let thseq = be32(bytes, tcp + 4).ok_or_else(lost)?;
    let thack = be32(bytes, tcp + 8).ok_or_else(lost)?;
    let mlen = fin.dlen - tcpsz;
    let t = 1 - rv;
    if mlen == 0 && flags & TH_OPENING == TH_OPENING {
        ftp.seq[rv][0] = thseq.wrapping_add(1);
        ftp.seq[t][0] = thack;
        return Ok(());
    }
    if mlen < 0 {
        return Ok(());
    }
    if mlen > 0 {
        return Err(unknown("ftp proxy: a control segment's data"));
    }
    // The first acknowledgement seen, or one of the other side's second sequence
    // number, becomes its first.
    if ftp.seq[t][0] == 0 || ftp.seq[t][1] == thack {
        ftp.seq[t][0] = thack;
    }
    // An acknowledgement of neither is refused (`APR_ERR(1)`): not followed here.
    if ftp.seq[t][0] != thack && ftp.seq[t][1] != thack {
        return Err(lost());
    }
    if flags & TH_FIN != 0 {
        if thseq != ftp.seq[rv][1] {
            return Err(lost());
        }
        ftp.seq[rv][0] = ftp.seq[rv][1];
        ftp.seq[rv][1] = thseq.wrapping_add(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP segment (20-byte headers) with `flags`, `seq`, `ack` and `data`: the rcmd
    /// tests' segment with its acknowledgement and flags set.
    fn segment(flags: u8, seq: u32, ack: u32, data: &[u8]) -> (Fin, Vec<u8>) {
        let (_, mut b) = super::super::proxy::tests::segment(seq, data);
        b[28..32].copy_from_slice(&ack.to_be_bytes());
        b[33] = flags;
        super::super::wire::refill_checksums(&mut b);
        (Fin::decode(&b, 0).expect("a TCP segment"), b)
    }

    fn fresh() -> Ftp {
        Ftp {
            session: (true, [0, 0, 0, 0].into(), [0, 0, 0, 0].into(), 0, 0),
            seq: [[0; 2]; 2],
        }
    }

    #[test]
    fn the_handshake_sets_where_each_side_starts() {
        let mut ftp = fresh();
        let (fin, b) = segment(0x02, 100, 0, b"");
        assert!(process(&fin, &b, &mut ftp, 0).is_ok(), "SYN");
        let (fin, b) = segment(0x12, 500, 101, b"");
        assert!(process(&fin, &b, &mut ftp, 1).is_ok(), "SYN-ACK");
        assert_eq!(ftp.seq, [[101, 0], [501, 0]]);
        let (fin, b) = segment(0x10, 101, 501, b"");
        assert!(process(&fin, &b, &mut ftp, 0).is_ok(), "ACK");
    }

    #[test]
    fn an_acknowledgement_of_neither_sequence_is_not_followed() {
        let mut ftp = fresh();
        let (fin, b) = segment(0x12, 500, 101, b"");
        assert!(process(&fin, &b, &mut ftp, 1).is_ok());
        let (fin, b) = segment(0x10, 101, 777, b"");
        assert!(process(&fin, &b, &mut ftp, 0).is_err());
    }

    #[test]
    fn a_segment_with_data_is_not_followed() {
        let mut ftp = fresh();
        let (fin, b) = segment(0x18, 101, 501, b"USER anonymous\r\n");
        assert!(process(&fin, &b, &mut ftp, 0).is_err());
    }
}
