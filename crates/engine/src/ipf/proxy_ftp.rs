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
        let data = bytes.get(tcp + tcpsz as usize..).ok_or_else(lost)?;
        return Err(unknown(&format!(
            "ftp proxy: a control segment's data ({:?})",
            valid(rv, data)
        )));
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

/// What `ipf_p_ftp_valid` makes of a side's data: its `FTPXY_JUNK_*` verdict and,
/// for a whole line, the command (`ftps_cmd`) the rest of the proxy acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    /// `FTPXY_JUNK_OK`: a whole line; the client's command or the server's reply code.
    Line(Command),
    /// Fewer than five bytes, waited for: the same return value as `NoEol` (2), with
    /// its own debug line.
    Short,
    /// `FTPXY_JUNK_BAD`: not a command or reply; the side is given up on.
    Bad,
    /// `FTPXY_JUNK_EOL`: a valid start without a CRLF in this data.
    NoEol,
    /// `FTPXY_JUNK_CONT`: a multi-line reply (`123-`) goes on.
    Continued,
}

/// `ftps_cmd` after a whole line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// The client's `PASV` (`FTPXY_C_PASV`).
    Pasv,
    /// The client's `EPSV` (`FTPXY_C_EPSV`).
    Epsv,
    /// Any other client command (`ftps_cmd` 0).
    Other,
    /// The server's reply code.
    Reply(u16),
    /// A server line starting with a space (a multi-line reply's inner line).
    ReplyText,
}

/// `ipf_p_ftp_valid`: side 0 is the client, 1 the server. Only the data is read: the
/// side's earlier verdict (`ftps_junk`: after `Bad` every line is `Bad`; after
/// `Continued` a bad or space-led server line is `Continued`) is the caller's to apply.
fn valid(side: usize, data: &[u8]) -> Validity {
    if data.len() < 5 {
        return Validity::Short;
    }
    if side == 0 {
        client_valid(data)
    } else {
        server_valid(data)
    }
}

/// The first CRLF at or after byte `from` ends the line (the search of both `_valid`s).
fn ends_line(data: &[u8], from: usize) -> bool {
    data.get(from.saturating_sub(1)..)
        .is_some_and(|rest| rest.windows(2).any(|w| w == b"\r\n"))
}

/// `ipf_p_ftp_client_valid`: three or four letters, then a space or CR, then a line end.
fn client_valid(data: &[u8]) -> Validity {
    let letters = data
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if letters < 3 || !matches!(data[letters], b' ' | b'\r') {
        return Validity::Bad;
    }
    if !ends_line(data, letters + 1) {
        return Validity::NoEol;
    }
    let cmd = data[..letters].to_ascii_uppercase();
    Validity::Line(match cmd.as_slice() {
        b"PASV" => Command::Pasv,
        b"EPSV" => Command::Epsv,
        _ => Command::Other,
    })
}

/// `ipf_p_ftp_server_valid`: three digits then a space (a `-` continues the reply), or
/// a line starting with a space, then a line end.
fn server_valid(data: &[u8]) -> Validity {
    if data[0] == b' ' {
        return if ends_line(data, 1) {
            Validity::Line(Command::ReplyText)
        } else {
            Validity::NoEol
        };
    }
    if !data[..3].iter().all(u8::is_ascii_digit) {
        return Validity::Bad;
    }
    match data[3] {
        b'-' => Validity::Continued,
        b' ' if ends_line(data, 4) => Validity::Line(Command::Reply(
            data[..3]
                .iter()
                .fold(0, |n, d| n * 10 + u16::from(d - b'0')),
        )),
        b' ' => Validity::NoEol,
        _ => Validity::Bad,
    }
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

    #[test]
    fn client_lines_are_read_as_ipf_p_ftp_client_valid_reads_them() {
        assert_eq!(valid(0, b"PASV\r\n"), Validity::Line(Command::Pasv));
        assert_eq!(valid(0, b"epsv\r\n"), Validity::Line(Command::Epsv));
        assert_eq!(
            valid(0, b"PORT 1,2,3,4,5,6\r\n"),
            Validity::Line(Command::Other)
        );
        assert_eq!(valid(0, b"CWD /\r\n"), Validity::Line(Command::Other));
        assert_eq!(valid(0, b"USER anonymous"), Validity::NoEol);
        assert_eq!(valid(0, b"US\r\n"), Validity::Short);
        assert_eq!(valid(0, b"1USER x\r\n"), Validity::Bad);
        assert_eq!(valid(0, b"USERS x\r\n"), Validity::Bad);
    }

    #[test]
    fn server_lines_are_read_as_ipf_p_ftp_server_valid_reads_them() {
        assert_eq!(
            valid(1, b"227 Entering Passive Mode (1,2,3,4,5,6)\r\n"),
            Validity::Line(Command::Reply(227))
        );
        assert_eq!(valid(1, b"220-welcome\r\n"), Validity::Continued);
        assert_eq!(
            valid(1, b" more text\r\n"),
            Validity::Line(Command::ReplyText)
        );
        assert_eq!(valid(1, b"220 ready"), Validity::NoEol);
        assert_eq!(valid(1, b"22x ready\r\n"), Validity::Bad);
        assert_eq!(valid(1, b"2200 ready\r\n"), Validity::Bad);
    }
}
