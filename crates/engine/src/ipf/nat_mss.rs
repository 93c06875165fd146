//! `mssclamp N` (`ipf_nat_mssclamp` in `ip_nat.c`): the MSS option of a translated TCP
//! SYN is lowered to N when it is larger, so the far end sends segments that fit.

/// Lowers the MSS option of the TCP segment at `tcp` in `bytes` to `max` when the
/// segment is a SYN and its MSS is larger; the caller refills the checksums.
pub(super) fn clamp(bytes: &mut [u8], tcp: usize, max: u32) {
    let Some(&flags) = bytes.get(tcp + 13) else {
        return;
    };
    if flags & 0x02 == 0 {
        return;
    }
    let hlen = usize::from(bytes.get(tcp + 12).copied().unwrap_or(0) >> 4) * 4;
    let end = (tcp + hlen).min(bytes.len());
    let mut at = tcp + 20;
    while at < end {
        match bytes[at] {
            0 => break,
            1 => {
                at += 1;
                continue;
            }
            _ => {}
        }
        if at + 1 >= end {
            break;
        }
        let advance = usize::from(bytes[at + 1]);
        if advance == 0 || at + advance > end {
            break;
        }
        if bytes[at] == 2 && advance == 4 {
            let mss = u32::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
            if mss > max {
                bytes[at + 2] = (max / 256) as u8;
                bytes[at + 3] = (max & 0xff) as u8;
            }
        }
        at += advance;
    }
}
