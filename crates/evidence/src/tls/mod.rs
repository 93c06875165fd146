//! TLS seen from the wire: the handshake records that travel in clear (ClientHello,
//! ServerHello, Certificate, CertificateRequest) and alerts, per direction of a TCP flow.
//!
//! [`TlsTracker`] is fed each TCP segment with its sequence number; it reassembles each
//! direction in order (a gap stops the reading of that direction: what was lost cannot be
//! guessed), walks record headers, and keeps the bodies of handshake and alert records
//! only, in buffers of bounded size. After a side switched to encryption (its
//! ChangeCipherSpec in TLS ≤ 1.2; the ServerHello in TLS 1.3), an alert record is an
//! *encrypted alert*; in TLS 1.3 alerts travel as application data, and a last record of
//! exactly an alert's size (19 bytes with AEAD) is reported as a likely encrypted alert.

mod handshake;
pub mod names;
mod x509;

use handshake::{certificate_list, certificate_request, client_hello, server_hello};

/// Which side of the connection: the one that sent the SYN is the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// What the wire showed of a TLS handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSummary {
    pub client_hello: Option<ClientHello>,
    pub server_hello: Option<ServerHello>,
    /// Certificates sent in clear (TLS ≤ 1.2), in order, at most [`MAX_CERTS`].
    pub certificates: Vec<Certificate>,
    pub certificate_request: Option<CertificateRequest>,
    /// Alerts in order, at most [`MAX_ALERTS`].
    pub alerts: Vec<Alert>,
    /// A direction had a gap (segments missing from the capture): reading stopped there.
    pub gap: bool,
}

pub const MAX_CERTS: usize = 8;
pub const MAX_ALERTS: usize = 8;
const MAX_LIST: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// The record-layer version the hello claims (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The `supported_versions` extension (TLS 1.3 clients), GREASE removed.
    pub supported_versions: Vec<u16>,
    /// Offered cipher suites, GREASE removed, at most 64.
    pub cipher_suites: Vec<u16>,
    /// `server_name` (SNI).
    pub server_name: Option<String>,
    pub frame: u64,
}

impl ClientHello {
    /// The highest version offered.
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .max()
            .unwrap_or(self.legacy_version)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version (`supported_versions` when present).
    pub version: u16,
    pub cipher_suite: u16,
    pub frame: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub sender: Side,
    /// Position in the chain (0: the sender's own certificate).
    pub position: usize,
    pub subject: String,
    pub issuer: String,
    pub frame: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The CAs whose certificates the server accepts (empty: any it trusts).
    pub ca_names: Vec<String>,
    pub frame: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    pub sender: Side,
    pub content: AlertContent,
    pub frame: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertContent {
    /// Level (1 warning, 2 fatal) and description, read in clear.
    Clear { level: u8, description: u8 },
    /// An alert record after the sender switched to encryption: unreadable.
    Encrypted,
    /// TLS 1.3: the sender's last record has exactly an encrypted alert's size.
    LikelyEncrypted,
}

impl Alert {
    pub fn is_fatal(&self) -> bool {
        matches!(self.content, AlertContent::Clear { level: 2, .. })
    }
}

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
/// Largest record body allowed (2^14 + 2048 for ciphertext expansion).
const MAX_RECORD: usize = 16384 + 2048;
/// A handshake message larger than this is read as far as it goes (certificate chains).
const MAX_HANDSHAKE: usize = 32 * 1024;
/// An encrypted alert record: 2 bytes + content type + 16-byte AEAD tag.
const ENCRYPTED_ALERT_LEN: usize = 19;

/// Whether a first client payload looks like a TLS handshake record.
pub fn looks_like_tls(payload: &[u8]) -> bool {
    matches!(payload, [CT_HANDSHAKE, 3, 0..=4, ..])
}

/// One direction's reassembly state.
#[derive(Debug, Default)]
struct Stream {
    next_seq: Option<u32>,
    stopped: bool,
    /// Bytes of the current record header (5).
    header: Vec<u8>,
    /// Content type, length and remaining body length of the current record.
    current: Option<(u8, usize, usize)>,
    /// Body of the current record, when it is kept.
    body: Vec<u8>,
    /// Pending handshake bytes (a message may span records).
    handshake: Vec<u8>,
    encrypted: bool,
    /// Type and length of the last complete record, and its frame.
    last_record: Option<(u8, usize, u64)>,
    /// Application-data records completed.
    app_records: u32,
    /// Length of the first application-data record.
    first_app_len: Option<usize>,
}

/// Reassembles a TLS connection's two directions and collects what is in clear.
#[derive(Debug, Default)]
pub struct TlsTracker {
    streams: [Stream; 2],
    /// Server application-data records sent after the client's first one (TLS 1.3: after
    /// the client's finished flight, a completed handshake brings session tickets or data).
    server_records_after_client: u32,
    pub summary: TlsSummary,
}

impl TlsTracker {
    pub fn new() -> TlsTracker {
        TlsTracker::default()
    }

    /// Feeds one TCP segment's payload, sent by `side`, starting at sequence `seq`.
    pub fn segment(&mut self, side: Side, seq: u32, payload: &[u8], frame: u64) {
        if payload.is_empty() {
            return;
        }
        let s = &mut self.streams[side.index()];
        if s.stopped {
            return;
        }
        let next = *s.next_seq.get_or_insert(seq);
        let offset = seq.wrapping_sub(next);
        let data = if offset == 0 {
            payload
        } else if offset > u32::MAX / 2 {
            // Starts before what was read: a retransmission; keep only the new tail.
            let behind = next.wrapping_sub(seq) as usize;
            match payload.get(behind..) {
                Some(rest) if !rest.is_empty() => rest,
                _ => return,
            }
        } else {
            // A gap: segments missing from the capture.
            s.stopped = true;
            self.summary.gap = true;
            return;
        };
        s.next_seq = Some(next.wrapping_add(data.len() as u32));
        self.bytes(side, data, frame);
    }

    /// The connection ended (or the capture did). TLS 1.3 hides alerts in application
    /// data; two cases still show: the server's last record has an alert's size and it sent
    /// nothing else after the client's finished flight (it refused that flight: typically
    /// the client's certificate), or the client's first encrypted record has an alert's size
    /// (it refused the server's flight: typically the server's certificate). A close_notify
    /// at the end of a working session matches neither.
    pub fn finish(&mut self) {
        if !self.is_tls13() {
            return;
        }
        let server = &self.streams[Side::Server.index()];
        if let Some((CT_APPLICATION_DATA, ENCRYPTED_ALERT_LEN, frame)) = server.last_record {
            if self.server_records_after_client == 1 {
                self.push_alert(Alert {
                    sender: Side::Server,
                    content: AlertContent::LikelyEncrypted,
                    frame,
                });
            }
        }
        let client = &self.streams[Side::Client.index()];
        if client.first_app_len == Some(ENCRYPTED_ALERT_LEN) {
            if let Some((_, _, frame)) = client.last_record {
                self.push_alert(Alert {
                    sender: Side::Client,
                    content: AlertContent::LikelyEncrypted,
                    frame,
                });
            }
        }
    }

    fn is_tls13(&self) -> bool {
        self.summary
            .server_hello
            .is_some_and(|h| h.version == 0x0304 || h.version >> 8 == 0x7f)
    }

    fn push_alert(&mut self, a: Alert) {
        if self.summary.alerts.len() < MAX_ALERTS {
            self.summary.alerts.push(a);
        }
    }

    fn bytes(&mut self, side: Side, mut data: &[u8], frame: u64) {
        // Bounded: each turn consumes at least one byte or returns.
        while !data.is_empty() {
            let s = &mut self.streams[side.index()];
            match s.current {
                None => {
                    let take = (5 - s.header.len()).min(data.len());
                    s.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if s.header.len() < 5 {
                        return;
                    }
                    let ct = s.header[0];
                    let len = usize::from(u16::from_be_bytes([s.header[3], s.header[4]]));
                    s.header.clear();
                    if !(CT_CHANGE_CIPHER_SPEC..=24).contains(&ct) || len > MAX_RECORD {
                        // Not TLS (any more): stop reading this direction.
                        s.stopped = true;
                        return;
                    }
                    s.current = Some((ct, len, len));
                    s.body.clear();
                    if len == 0 {
                        self.record_done(side, frame);
                    }
                }
                Some((ct, len, remaining)) => {
                    let take = remaining.min(data.len());
                    let keep = !s.encrypted && matches!(ct, CT_HANDSHAKE | CT_ALERT);
                    if keep {
                        s.body.extend_from_slice(&data[..take]);
                    }
                    data = &data[take..];
                    s.current = Some((ct, len, remaining - take));
                    if remaining == take {
                        self.record_done(side, frame);
                    }
                }
            }
        }
    }

    fn record_done(&mut self, side: Side, frame: u64) {
        let tls13 = self.is_tls13();
        let s = &mut self.streams[side.index()];
        let Some((ct, len, _)) = s.current.take() else {
            return;
        };
        let body = std::mem::take(&mut s.body);
        let encrypted = s.encrypted;
        s.last_record = Some((ct, len, frame));
        match ct {
            CT_CHANGE_CIPHER_SPEC => {
                // TLS 1.3 sends it only for middlebox compatibility; its switch is the
                // ServerHello (server) and the client's first encrypted record.
                s.encrypted = true;
            }
            CT_ALERT if encrypted => {
                // After the peer sent application data it is most likely close_notify.
                let peer = match side {
                    Side::Client => Side::Server,
                    Side::Server => Side::Client,
                };
                if self.streams[peer.index()].app_records == 0 {
                    self.push_alert(Alert {
                        sender: side,
                        content: AlertContent::Encrypted,
                        frame,
                    });
                }
            }
            CT_ALERT => {
                if let [level, description, ..] = body[..] {
                    self.push_alert(Alert {
                        sender: side,
                        content: AlertContent::Clear { level, description },
                        frame,
                    });
                }
            }
            CT_HANDSHAKE if !encrypted => {
                let s = &mut self.streams[side.index()];
                let room = MAX_HANDSHAKE.saturating_sub(s.handshake.len());
                s.handshake.extend_from_slice(&body[..body.len().min(room)]);
                self.handshake_messages(side, frame);
            }
            CT_APPLICATION_DATA => {
                if tls13 {
                    s.encrypted = true;
                }
                s.app_records = s.app_records.saturating_add(1);
                s.first_app_len.get_or_insert(len);
                if side == Side::Server && self.streams[Side::Client.index()].app_records > 0 {
                    self.server_records_after_client =
                        self.server_records_after_client.saturating_add(1);
                }
            }
            _ => {}
        }
    }

    /// Parses every complete handshake message buffered for `side`.
    fn handshake_messages(&mut self, side: Side, frame: u64) {
        loop {
            let s = &mut self.streams[side.index()];
            let hs = &s.handshake;
            if hs.len() < 4 {
                return;
            }
            let msg_type = hs[0];
            let len = (usize::from(hs[1]) << 16) | (usize::from(hs[2]) << 8) | usize::from(hs[3]);
            let full = hs.len() >= 4 + len;
            let truncated_certificate = !full && hs.len() >= MAX_HANDSHAKE;
            if !full && !truncated_certificate {
                return;
            }
            let end = (4 + len).min(hs.len());
            let msg: Vec<u8> = hs[4..end].to_vec();
            s.handshake.drain(..end);
            self.message(side, msg_type, &msg, frame);
            if truncated_certificate {
                // The rest of an oversized message is not kept.
                self.streams[side.index()].handshake.clear();
                return;
            }
        }
    }

    fn message(&mut self, side: Side, msg_type: u8, m: &[u8], frame: u64) {
        match (side, msg_type) {
            (Side::Client, 1) => {
                if let Some(mut h) = client_hello(m) {
                    h.frame = frame;
                    self.summary.client_hello = Some(h);
                }
            }
            (Side::Server, 2) => {
                if let Some(mut h) = server_hello(m) {
                    h.frame = frame;
                    let tls13 = h.version == 0x0304 || h.version >> 8 == 0x7f;
                    self.summary.server_hello = Some(h);
                    if tls13 {
                        // Everything the server sends after its hello is encrypted.
                        self.streams[Side::Server.index()].encrypted = true;
                        self.streams[Side::Server.index()].handshake.clear();
                    }
                }
            }
            (_, 11) => {
                for (position, der) in certificate_list(m).into_iter().enumerate() {
                    if self.summary.certificates.len() >= MAX_CERTS {
                        break;
                    }
                    if let Some((subject, issuer)) = x509::subject_and_issuer(der) {
                        self.summary.certificates.push(Certificate {
                            sender: side,
                            position,
                            subject,
                            issuer,
                            frame,
                        });
                    }
                }
            }
            (Side::Server, 13) => {
                let tls12 = self
                    .summary
                    .server_hello
                    .is_some_and(|h| h.version >= 0x0303);
                if let Some(mut r) = certificate_request(m, tls12) {
                    r.frame = frame;
                    self.summary.certificate_request = Some(r);
                }
            }
            _ => {}
        }
    }
}
