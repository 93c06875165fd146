//! Checksums as ipftest fills them in for text input (`fixv4sums` in `tools/ipftest.c`):
//! the IPv4 header checksum, then TCP, UDP or ICMP over the length the IP header gives.

/// The Internet checksum of `data` with `seed` added (one's complement sum, folded).
pub fn internet_checksum(seed: u32, data: &[u8]) -> u16 {
    let mut sum = seed;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Fills in the IPv4 header checksum and the TCP/UDP/ICMP checksum of `packet`, as
/// `fixv4sums` does (for IPv6, TCP and UDP only).
pub fn fill_checksums(packet: &mut [u8]) {
    let Some(&first) = packet.first() else {
        return;
    };
    let (header_len, proto, total) = match first >> 4 {
        4 if packet.len() >= 20 => {
            let hl = usize::from(first & 0x0f) * 4;
            if packet.len() < hl {
                return;
            }
            packet[10..12].fill(0);
            let sum = internet_checksum(0, &packet[..hl]);
            packet[10..12].copy_from_slice(&sum.to_be_bytes());
            (
                hl,
                packet[9],
                usize::from(u16::from_be_bytes([packet[2], packet[3]])),
            )
        }
        6 if packet.len() >= 40 => (
            40,
            packet[6],
            40 + usize::from(u16::from_be_bytes([packet[4], packet[5]])),
        ),
        _ => return,
    };
    let at = match proto {
        6 => 16,
        17 => 6,
        1 if first >> 4 == 4 => 2,
        _ => return,
    };
    let end = total.min(packet.len());
    if end < header_len + at + 2 {
        return;
    }
    packet[header_len + at..header_len + at + 2].fill(0);
    let seed = match proto {
        1 => 0,
        _ => pseudo_header(packet, proto, end - header_len),
    };
    let sum = internet_checksum(seed, &packet[header_len..end]);
    packet[header_len + at..header_len + at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// The pseudo-header sum (addresses, protocol, transport length).
pub fn pseudo_header(packet: &[u8], proto: u8, len: usize) -> u32 {
    let addrs = if packet[0] >> 4 == 4 {
        &packet[12..20]
    } else {
        &packet[8..40]
    };
    let mut sum = u32::from(proto) + len as u32;
    for pair in addrs.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    sum
}
