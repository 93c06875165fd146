//! Packet captures, streamed: classic pcap ([`classic`]) and pcapng ([`ng`]) read from any
//! [`Read`] through one fixed buffer, so a capture of any size is read in bounded memory.
//!
//! [`CaptureReader::next_frame`] hands out one [`Frame`] at a time, borrowed from the
//! buffer. Malformed input never panics:
//! - a record or block whose length cannot be trusted stops the reading with a
//!   [`CaptureError`] naming the byte offset (nothing after it can be found reliably);
//! - a packet that cannot be used (an interface id no block described, a pcapng packet
//!   larger than the buffer) is skipped and counted in [`ReadStats`];
//! - a file cut short in the middle of a record (a `tcpdump` killed mid-write) ends the
//!   reading and is noted in [`ReadStats::truncated_at`], not an error.
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), evidence::pcap::CaptureError> {
//! let mut reader = evidence::pcap::CaptureReader::new(bytes)?;
//! while let Some(frame) = reader.next_frame()? {
//!     let _ = (frame.number, frame.link, frame.data.len());
//! }
//! # Ok(()) }
//! ```

pub mod classic;
pub mod ng;

use std::fmt;
use std::io::{self, Read};

/// The buffer: any classic record (libpcap's largest snap length, 262144, plus its header)
/// and any pcapng packet block up to this size fit; larger pcapng packets are skipped.
pub const BUFFER_LEN: usize = 512 * 1024;
/// libpcap's `MAXIMUM_SNAPLEN`: a classic record claiming more is corrupt.
pub const MAX_CAPLEN: u32 = 262_144;
/// pcapng files describing more interfaces than this are refused (memory stays bounded).
pub const MAX_INTERFACES: usize = 4096;

/// Byte order of a capture's integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    /// The u16 at the start of `b` (which holds at least 2 bytes).
    pub fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        }
    }
    /// The u32 at the start of `b` (which holds at least 4 bytes).
    pub fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }
}

/// `LINKTYPE_*` values (tcpdump.org/linktypes.html) this crate decodes; others are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// 0: BSD loopback, a 4-byte address family first.
    Null,
    /// 1: Ethernet II.
    Ethernet,
    /// 9 and 50: PPP (with or without HDLC address and control bytes).
    Ppp,
    /// 101 (and 12/14 on some systems): raw IPv4 or IPv6.
    Raw,
    /// 108: OpenBSD loopback.
    Loop,
    /// 113: Linux cooked capture v1 (`tcpdump -i any`).
    LinuxSll,
    /// 228: raw IPv4.
    Ipv4,
    /// 229: raw IPv6.
    Ipv6,
    /// 276: Linux cooked capture v2.
    LinuxSll2,
    Unknown(u32),
}

impl LinkType {
    pub fn from_raw(v: u32) -> LinkType {
        match v {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 | 50 => LinkType::Ppp,
            101 | 12 | 14 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            n => LinkType::Unknown(n),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkType::Null => f.write_str("BSD loopback"),
            LinkType::Ethernet => f.write_str("Ethernet"),
            LinkType::Ppp => f.write_str("PPP"),
            LinkType::Raw => f.write_str("raw IP"),
            LinkType::Loop => f.write_str("OpenBSD loopback"),
            LinkType::LinuxSll => f.write_str("Linux cooked v1"),
            LinkType::Ipv4 => f.write_str("raw IPv4"),
            LinkType::Ipv6 => f.write_str("raw IPv6"),
            LinkType::LinuxSll2 => f.write_str("Linux cooked v2"),
            LinkType::Unknown(n) => write!(f, "link type {n}"),
        }
    }
}

/// Which file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    Pcapng,
}

/// An interface the capture was taken on (one for classic pcap; one per pcapng IDB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkType,
    /// pcapng `if_name` (e.g. `lan0`), when written.
    pub name: Option<String>,
    pub snaplen: u32,
    /// Timestamp units per second.
    ticks_per_second: u64,
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based, as Wireshark numbers frames (skipped packets count too).
    pub number: u64,
    /// Byte offset of the record or block in the file.
    pub offset: u64,
    /// Nanoseconds since the epoch (0 for pcapng simple packets, which carry none).
    pub timestamp_ns: u64,
    /// Index into [`CaptureReader::interfaces`].
    pub interface: usize,
    pub link: LinkType,
    /// Length on the wire (`data` may be shorter: the snap length).
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// Counters of what reading met besides packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub frames: u64,
    /// Packets skipped: larger than the buffer, or on an undescribed interface.
    pub skipped_packets: u64,
    /// pcapng blocks skipped as not packets (name resolution, statistics, custom...).
    pub skipped_blocks: u64,
    /// The file ended inside a record at this offset.
    pub truncated_at: Option<u64>,
}

/// Why reading stopped.
#[derive(Debug)]
pub struct CaptureError {
    /// Byte offset in the input where the problem is.
    pub offset: u64,
    pub kind: ErrorKind,
}

#[derive(Debug)]
pub enum ErrorKind {
    /// The first bytes are neither a pcap nor a pcapng magic.
    NotACapture {
        magic: [u8; 4],
    },
    /// The input is shorter than a file header.
    TruncatedHeader,
    /// A classic record claims more bytes than any capture holds.
    HugeCaplen {
        caplen: u32,
    },
    /// A pcapng block length below 12, not a multiple of 4, or unlike its trailing copy.
    BadBlockLength {
        len: u32,
    },
    /// A pcapng block whose contents do not fit its length.
    MalformedBlock {
        block_type: u32,
    },
    /// A pcapng section header without a byte-order magic, or too large to read.
    BadSectionHeader,
    /// More interfaces than [`MAX_INTERFACES`].
    TooManyInterfaces,
    Io(io::Error),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: ", self.offset)?;
        match &self.kind {
            ErrorKind::NotACapture { magic } => write!(
                f,
                "not a pcap or pcapng file (starts with {:02x}{:02x}{:02x}{:02x})",
                magic[0], magic[1], magic[2], magic[3]
            ),
            ErrorKind::TruncatedHeader => f.write_str("the file ends inside its header"),
            ErrorKind::HugeCaplen { caplen } => write!(
                f,
                "a record claims {caplen} captured bytes (more than {MAX_CAPLEN}): the file is corrupt from here"
            ),
            ErrorKind::BadBlockLength { len } => write!(
                f,
                "a pcapng block length of {len} (must be at least 12, a multiple of 4, and equal to its trailing copy)"
            ),
            ErrorKind::MalformedBlock { block_type } => {
                write!(f, "pcapng block type {block_type:#x} does not fit its length")
            }
            ErrorKind::BadSectionHeader => f.write_str("a malformed pcapng section header"),
            ErrorKind::TooManyInterfaces => {
                write!(f, "more than {MAX_INTERFACES} interfaces described")
            }
            ErrorKind::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl std::error::Error for CaptureError {}

enum State {
    Pcap {
        endian: Endian,
        nanos: bool,
    },
    Pcapng {
        endian: Endian,
        /// Interfaces of the current section (a new section starts a new list).
        first_interface: usize,
    },
}

/// A streamed capture reader over a fixed buffer.
pub struct CaptureReader<R: Read> {
    input: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
    state: State,
    format: Format,
    interfaces: Vec<Interface>,
    stats: ReadStats,
    number: u64,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (pcap) or the first section header (pcapng).
    pub fn new(input: R) -> Result<CaptureReader<R>, CaptureError> {
        let mut r = CaptureReader {
            input,
            buf: vec![0u8; BUFFER_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            state: State::Pcap {
                endian: Endian::Little,
                nanos: false,
            },
            format: Format::Pcap,
            interfaces: Vec::new(),
            stats: ReadStats::default(),
            number: 0,
        };
        let have = r.fill(classic::HEADER_LEN)?;
        let head = &r.buf[r.start..r.end];
        if have >= 4 && head[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            r.format = Format::Pcapng;
            r.state = State::Pcapng {
                endian: Endian::Little,
                first_interface: 0,
            };
            // The section header is read as the first block.
            return Ok(r);
        }
        if let Some(m) = classic::magic(head) {
            if have < classic::HEADER_LEN {
                return Err(r.error(ErrorKind::TruncatedHeader));
            }
            let h = classic::Header::new_unchecked(&r.buf[r.start..r.start + classic::HEADER_LEN]);
            r.interfaces.push(Interface {
                link: h.link_type(),
                name: None,
                snaplen: h.snaplen(),
                ticks_per_second: if m.nanos { 1_000_000_000 } else { 1_000_000 },
            });
            r.state = State::Pcap {
                endian: m.endian,
                nanos: m.nanos,
            };
            r.consume(classic::HEADER_LEN);
            return Ok(r);
        }
        let mut magic = [0u8; 4];
        magic[..have.min(4)].copy_from_slice(&head[..have.min(4)]);
        if have < 4 {
            return Err(r.error(ErrorKind::TruncatedHeader));
        }
        Err(r.error(ErrorKind::NotACapture { magic }))
    }

    pub fn format(&self) -> Format {
        self.format
    }
    /// The interfaces described so far.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }
    pub fn stats(&self) -> ReadStats {
        self.stats
    }
    /// Bytes of input consumed so far (for progress).
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// The next packet, `None` at the end of the input.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        match self.state {
            State::Pcap { endian, nanos } => self.next_pcap(endian, nanos),
            State::Pcapng { .. } => self.next_pcapng(),
        }
    }

    fn next_pcap(
        &mut self,
        endian: Endian,
        nanos: bool,
    ) -> Result<Option<Frame<'_>>, CaptureError> {
        let have = self.fill(classic::RECORD_HEADER_LEN)?;
        if have == 0 {
            return Ok(None);
        }
        if have < classic::RECORD_HEADER_LEN {
            return Ok(self.truncated());
        }
        let rec = classic::Record::new_unchecked(
            &self.buf[self.start..self.start + classic::RECORD_HEADER_LEN],
            endian,
        );
        let caplen = rec.incl_len();
        if caplen > MAX_CAPLEN {
            return Err(self.error(ErrorKind::HugeCaplen { caplen }));
        }
        let ts = u64::from(rec.ts_sec()) * 1_000_000_000
            + u64::from(rec.ts_frac()) * if nanos { 1 } else { 1000 };
        let orig_len = rec.orig_len();
        let total = classic::RECORD_HEADER_LEN + caplen as usize;
        if self.fill(total)? < total {
            return Ok(self.truncated());
        }
        let offset = self.offset;
        let data_start = self.start + classic::RECORD_HEADER_LEN;
        self.consume(total);
        self.number += 1;
        self.stats.frames += 1;
        Ok(Some(Frame {
            number: self.number,
            offset,
            timestamp_ns: ts,
            interface: 0,
            link: self
                .interfaces
                .first()
                .map_or(LinkType::Unknown(0), |i| i.link),
            orig_len,
            data: &self.buf[data_start..data_start + caplen as usize],
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        // Bounded: each turn consumes one whole block (at least 12 bytes) or returns.
        loop {
            let have = self.fill(ng::BLOCK_OVERHEAD)?;
            if have == 0 {
                return Ok(None);
            }
            if have < ng::BLOCK_OVERHEAD {
                return Ok(self.truncated());
            }
            let head = &self.buf[self.start..self.start + ng::BLOCK_OVERHEAD];
            let is_shb = head[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
            let endian = if is_shb {
                ng::section_endian(head).ok_or_else(|| self.error(ErrorKind::BadSectionHeader))?
            } else {
                match self.state {
                    State::Pcapng { endian, .. } => endian,
                    State::Pcap { endian, .. } => endian,
                }
            };
            let block_type = endian.u32(&head[0..4]);
            let len = endian.u32(&head[4..8]);
            if len < ng::BLOCK_OVERHEAD as u32 || len & 3 != 0 {
                return Err(self.error(ErrorKind::BadBlockLength { len }));
            }
            let len_usize = len as usize;
            if len_usize > BUFFER_LEN {
                match block_type {
                    ng::SECTION_HEADER | ng::INTERFACE_DESCRIPTION => {
                        return Err(self.error(ErrorKind::MalformedBlock { block_type }))
                    }
                    ng::ENHANCED_PACKET | ng::SIMPLE_PACKET | ng::PACKET_OBSOLETE => {
                        self.number += 1;
                        self.stats.skipped_packets += 1;
                    }
                    _ => self.stats.skipped_blocks += 1,
                }
                if !self.discard(u64::from(len))? {
                    return Ok(self.truncated());
                }
                continue;
            }
            if self.fill(len_usize)? < len_usize {
                return Ok(self.truncated());
            }
            let offset = self.offset;
            let block_start = self.start;
            let block =
                ng::Block::new_checked(&self.buf[block_start..block_start + len_usize], endian)
                    .map_err(|_| CaptureError {
                        offset,
                        kind: ErrorKind::BadBlockLength { len },
                    })?;
            let body = block.body();
            let body_start = block_start + 8;
            match block_type {
                ng::SECTION_HEADER => {
                    if body.len() < 16 {
                        return Err(self.error(ErrorKind::BadSectionHeader));
                    }
                    let first_interface = self.interfaces.len();
                    self.state = State::Pcapng {
                        endian,
                        first_interface,
                    };
                    self.consume(len_usize);
                }
                ng::INTERFACE_DESCRIPTION => {
                    let idb = ng::InterfaceDescription::new_checked(body, endian)
                        .map_err(|_| self.error(ErrorKind::MalformedBlock { block_type }))?;
                    if self.interfaces.len() >= MAX_INTERFACES {
                        return Err(self.error(ErrorKind::TooManyInterfaces));
                    }
                    let interface = Interface {
                        link: LinkType::from_raw(u32::from(idb.link_type())),
                        name: idb.name(),
                        snaplen: idb.snaplen(),
                        // An impossible resolution: timestamps read as microseconds.
                        ticks_per_second: idb.ticks_per_second().unwrap_or(1_000_000),
                    };
                    self.interfaces.push(interface);
                    self.consume(len_usize);
                }
                ng::ENHANCED_PACKET | ng::PACKET_OBSOLETE | ng::SIMPLE_PACKET => {
                    let fields = match block_type {
                        ng::SIMPLE_PACKET => ng::simple_packet_block(body, endian),
                        t => ng::packet_block(body, endian, t == ng::PACKET_OBSOLETE),
                    }
                    .map_err(|_| self.error(ErrorKind::MalformedBlock { block_type }))?;
                    self.number += 1;
                    let first = match self.state {
                        State::Pcapng {
                            first_interface, ..
                        } => first_interface,
                        State::Pcap { .. } => 0,
                    };
                    let index = first.saturating_add(fields.interface as usize);
                    let Some(iface) = self.interfaces.get(index) else {
                        // A packet on an interface no block described: unusable.
                        self.stats.skipped_packets += 1;
                        self.consume(len_usize);
                        continue;
                    };
                    let ts = ticks_to_ns(fields.ts, iface.ticks_per_second);
                    let link = iface.link;
                    self.consume(len_usize);
                    self.stats.frames += 1;
                    return Ok(Some(Frame {
                        number: self.number,
                        offset,
                        timestamp_ns: ts,
                        interface: index,
                        link,
                        orig_len: fields.orig_len,
                        data: &self.buf[body_start + fields.data.0..body_start + fields.data.1],
                    }));
                }
                _ => {
                    self.stats.skipped_blocks += 1;
                    self.consume(len_usize);
                }
            }
        }
    }

    fn error(&self, kind: ErrorKind) -> CaptureError {
        CaptureError {
            offset: self.offset,
            kind,
        }
    }

    /// The input ended inside a record: note where, and end the reading.
    fn truncated<T>(&mut self) -> Option<T> {
        self.stats.truncated_at = Some(self.offset);
        self.start = self.end;
        None
    }

    /// Moves past `n` buffered bytes. The bytes stay in place until the next `fill`, so a
    /// frame handed out just before still borrows valid data.
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Makes at least `need` (≤ [`BUFFER_LEN`]) bytes available unless the input ends first;
    /// returns how many are available.
    fn fill(&mut self, need: usize) -> Result<usize, CaptureError> {
        if self.end - self.start >= need {
            return Ok(self.end - self.start);
        }
        if self.buf.len() - self.start < need {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < need && !self.eof {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(CaptureError {
                        offset: self.offset + (self.end - self.start) as u64,
                        kind: ErrorKind::Io(e),
                    })
                }
            }
        }
        Ok(self.end - self.start)
    }

    /// Skips `n` bytes without keeping them; false when the input ends first.
    fn discard(&mut self, mut n: u64) -> Result<bool, CaptureError> {
        loop {
            let buffered = (self.end - self.start) as u64;
            let take = buffered.min(n);
            self.consume(take as usize);
            n -= take;
            if n == 0 {
                return Ok(true);
            }
            self.start = 0;
            self.end = 0;
            if self.fill(1)? == 0 {
                return Ok(false);
            }
        }
    }
}

/// Interface ticks to nanoseconds, saturating.
fn ticks_to_ns(ticks: u64, per_second: u64) -> u64 {
    if per_second == 0 {
        return 0;
    }
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(per_second);
    u64::try_from(ns).unwrap_or(u64::MAX)
}
