//! Handshake message bodies (RFC 5246 §7.4, RFC 8446 §4): ClientHello, ServerHello,
//! Certificate, CertificateRequest. Each reader checks every length against the bytes
//! there and gives `None` on anything that does not fit.

use super::{names, x509, CertificateRequest, ClientHello, ServerHello, MAX_CERTS, MAX_LIST};

/// A cursor over a byte slice; every read is checked.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.b.get(..n)?, self.b.get(n..)?);
        self.b = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    /// A vector with a `n`-byte length prefix.
    fn vec(&mut self, n: usize) -> Option<&'a [u8]> {
        let len = match n {
            1 => usize::from(self.u8()?),
            2 => usize::from(self.u16()?),
            _ => self.u24()?,
        };
        self.take(len)
    }
}

/// Extensions as `(type, data)`, until the block ends or does not parse.
fn extensions(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut c = Cursor { b };
    std::iter::from_fn(move || {
        let t = c.u16()?;
        let d = c.vec(2)?;
        Some((t, d))
    })
}

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

pub(super) fn client_hello(m: &[u8]) -> Option<ClientHello> {
    let mut c = Cursor { b: m };
    let legacy_version = c.u16()?;
    c.take(32)?;
    c.vec(1)?;
    let suites = c.vec(2)?;
    c.vec(1)?;
    let cipher_suites = suites
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .filter(|s| !names::is_grease(*s))
        .take(MAX_LIST)
        .collect();
    let mut hello = ClientHello {
        legacy_version,
        cipher_suites,
        ..ClientHello::default()
    };
    let Some(exts) = c.vec(2) else {
        return Some(hello);
    };
    for (t, d) in extensions(exts) {
        match t {
            EXT_SERVER_NAME => {
                let mut e = Cursor { b: d };
                let mut list = Cursor {
                    b: e.vec(2).unwrap_or(&[]),
                };
                while let (Some(kind), Some(name)) = (list.u8(), list.vec(2)) {
                    if kind == 0 {
                        hello.server_name = Some(printable(name));
                        break;
                    }
                }
            }
            EXT_SUPPORTED_VERSIONS => {
                let mut e = Cursor { b: d };
                if let Some(v) = e.vec(1) {
                    hello.supported_versions = v
                        .chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]))
                        .filter(|v| !names::is_grease(*v))
                        .take(MAX_LIST)
                        .collect();
                }
            }
            _ => {}
        }
    }
    Some(hello)
}

pub(super) fn server_hello(m: &[u8]) -> Option<ServerHello> {
    let mut c = Cursor { b: m };
    let mut version = c.u16()?;
    c.take(32)?;
    c.vec(1)?;
    let cipher_suite = c.u16()?;
    c.u8()?;
    if let Some(exts) = c.vec(2) {
        for (t, d) in extensions(exts) {
            if t == EXT_SUPPORTED_VERSIONS && d.len() == 2 {
                version = u16::from_be_bytes([d[0], d[1]]);
            }
        }
    }
    Some(ServerHello {
        version,
        cipher_suite,
        frame: 0,
    })
}

/// The DER certificates of a TLS ≤ 1.2 Certificate message, at most [`MAX_CERTS`]; a
/// message cut short yields the certificates that are whole.
pub(super) fn certificate_list(m: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut c = Cursor { b: m };
    let Some(_total) = c.u24() else {
        return out;
    };
    while out.len() < MAX_CERTS {
        match c.vec(3) {
            Some(der) => out.push(der),
            None => break,
        }
    }
    out
}

pub(super) fn certificate_request(m: &[u8], tls12: bool) -> Option<CertificateRequest> {
    let mut c = Cursor { b: m };
    c.vec(1)?;
    if tls12 {
        c.vec(2)?;
    }
    let mut cas = Cursor { b: c.vec(2)? };
    let mut ca_names = Vec::new();
    while ca_names.len() < MAX_LIST {
        let Some(dn) = cas.vec(2) else { break };
        ca_names.push(x509::name_der(dn).unwrap_or_else(|| "(unreadable name)".to_string()));
    }
    Some(CertificateRequest { ca_names, frame: 0 })
}

/// A host name as text, control characters escaped.
fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello_with_sni(name: &str) -> Vec<u8> {
        let mut m = vec![3, 3];
        m.extend([0u8; 32]);
        m.push(0);
        m.extend([0, 4, 0x13, 0x01, 0x0a, 0x0a]);
        m.extend([1, 0]);
        let mut sni = vec![0u8];
        sni.extend((name.len() as u16).to_be_bytes());
        sni.extend(name.as_bytes());
        let mut list = (sni.len() as u16).to_be_bytes().to_vec();
        list.extend(sni);
        let mut ext = vec![0, 0];
        ext.extend((list.len() as u16).to_be_bytes());
        ext.extend(list);
        ext.extend([0, 43, 0, 5, 4, 3, 4, 3, 3]);
        m.extend((ext.len() as u16).to_be_bytes());
        m.extend(ext);
        m
    }

    #[test]
    fn client_hello_fields() {
        let h = client_hello(&hello_with_sni("server.test")).unwrap();
        assert_eq!(h.server_name.as_deref(), Some("server.test"));
        assert_eq!(h.cipher_suites, vec![0x1301]);
        assert_eq!(h.supported_versions, vec![0x0304, 0x0303]);
        assert_eq!(h.max_version(), 0x0304);
    }

    #[test]
    fn every_prefix_is_safe() {
        let m = hello_with_sni("a.example");
        for n in 0..m.len() {
            let _ = client_hello(&m[..n]);
            let _ = server_hello(&m[..n]);
            let _ = certificate_list(&m[..n]);
            let _ = certificate_request(&m[..n], true);
        }
    }
}
