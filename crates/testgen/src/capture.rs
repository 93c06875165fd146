//! Packet captures written in the test: a classic little-endian pcap (Ethernet) of IPv4
//! datagrams, so that tests of the capture reader's bounds can make thousands of flows
//! without a fixture file. Checksums are left 0 (the reader does not check them).

use std::net::Ipv4Addr;

/// TCP flag bits, as on the wire.
pub mod tcp {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// A classic pcap being written; each packet 1 ms after the one before (unless paused).
#[derive(Debug, Clone)]
pub struct PcapWriter {
    bytes: Vec<u8>,
    packets: u32,
    /// Time added by [`PcapWriter::pause_secs`].
    pause_ms: u64,
}

impl Default for PcapWriter {
    fn default() -> PcapWriter {
        PcapWriter::new()
    }
}

impl PcapWriter {
    /// The file header: microsecond timestamps, Ethernet.
    pub fn new() -> PcapWriter {
        let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        bytes.extend([0u8; 8]);
        bytes.extend(65_535u32.to_le_bytes());
        bytes.extend(1u32.to_le_bytes());
        PcapWriter {
            bytes,
            packets: 0,
            pause_ms: 0,
        }
    }

    /// A TCP segment with `flags` and `payload` bytes of data.
    pub fn tcp(
        &mut self,
        (src, sport): (Ipv4Addr, u16),
        (dst, dport): (Ipv4Addr, u16),
        flags: u8,
        payload: usize,
    ) -> &mut PcapWriter {
        let mut l4 = Vec::with_capacity(20 + payload);
        l4.extend(sport.to_be_bytes());
        l4.extend(dport.to_be_bytes());
        l4.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        l4.resize(20 + payload, 0x42);
        self.ipv4(src, dst, 6, 64, &l4)
    }

    /// An IPv4 datagram of protocol `proto` carrying `l4`.
    pub fn ipv4(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
        ttl: u8,
        l4: &[u8],
    ) -> &mut PcapWriter {
        let total = u16::try_from(20 + l4.len()).expect("a datagram under 64 KiB");
        let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
        frame.extend(total.to_be_bytes());
        frame.extend([0, 1, 0x40, 0, ttl, proto, 0, 0]);
        frame.extend(src.octets());
        frame.extend(dst.octets());
        frame.extend(l4);
        let micros = (u64::from(self.packets) + self.pause_ms) * 1000;
        let secs = 1_700_000_000 + u32::try_from(micros / 1_000_000).expect("in range");
        let frac = u32::try_from(micros % 1_000_000).expect("under a second");
        let len = u32::try_from(frame.len()).expect("a small frame");
        self.bytes.extend(secs.to_le_bytes());
        self.bytes.extend(frac.to_le_bytes());
        self.bytes.extend(len.to_le_bytes());
        self.bytes.extend(len.to_le_bytes());
        self.bytes.extend(frame);
        self.packets += 1;
        self
    }

    /// Leaves `secs` seconds before the next packet.
    pub fn pause_secs(&mut self, secs: u32) -> &mut PcapWriter {
        self.pause_ms += u64::from(secs) * 1000;
        self
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
