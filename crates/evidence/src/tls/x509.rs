//! Just enough DER (X.690) to name a certificate's subject and issuer, and the CA names a
//! server's CertificateRequest lists: `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE
//! { [0] version OPTIONAL, serialNumber, signature, issuer Name, validity, subject Name,
//! ... } ... }`; `Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }`.
//! Every length is checked against the bytes that are there; nothing recurses.

/// One TLV: tag, value, and the bytes after it.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, b.get(header..end)?, b.get(end..)?))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const VERSION: u8 = 0xa0;

/// Subject and issuer of a DER certificate, as `CN=..., O=...` (in the order written).
pub fn subject_and_issuer(der: &[u8]) -> Option<(String, String)> {
    let (SEQUENCE, cert, _) = tlv(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = tlv(rest)?;
    if tag == VERSION {
        rest = after;
    }
    let (_, _, rest) = tlv(rest)?; // serialNumber
    let (_, _, rest) = tlv(rest)?; // signature
    let (SEQUENCE, issuer, rest) = tlv(rest)? else {
        return None;
    };
    let (_, _, rest) = tlv(rest)?; // validity
    let (SEQUENCE, subject, _) = tlv(rest)? else {
        return None;
    };
    Some((name(subject)?, name(issuer)?))
}

/// A DER `Name` (the whole SEQUENCE TLV) as text.
pub fn name_der(der: &[u8]) -> Option<String> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    name(body)
}

/// The contents of a `Name` SEQUENCE as text.
fn name(mut rdns: &[u8]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    while !rdns.is_empty() {
        let (SET, mut set, rest) = tlv(rdns)? else {
            return None;
        };
        rdns = rest;
        while !set.is_empty() {
            let (SEQUENCE, atv, rest) = tlv(set)? else {
                return None;
            };
            set = rest;
            let (OID, oid, value) = tlv(atv)? else {
                return None;
            };
            let (vtag, v, _) = tlv(value)?;
            parts.push(format!("{}={}", attribute(oid), string(vtag, v)));
        }
    }
    Some(parts.join(", "))
}

/// Short names of the usual attribute types (2.5.4.x, emailAddress); others as dotted OID.
fn attribute(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x55, 0x04, 0x05] => "serialNumber".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        _ => dotted(oid),
    }
}

fn dotted(oid: &[u8]) -> String {
    let Some((&first, rest)) = oid.split_first() else {
        return "?".into();
    };
    let mut out = format!("{}.{}", first / 40, first % 40);
    let mut acc: u64 = 0;
    for &b in rest {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            out.push_str(&format!(".{acc}"));
            acc = 0;
        }
        if acc > u64::MAX >> 8 {
            return out + ".?";
        }
    }
    out
}

/// A directory string as text: UTF-8, printable, IA5, T61 (as Latin-1), BMP (UTF-16BE);
/// control characters escaped so a hostile name cannot rewrite the terminal.
fn string(tag: u8, v: &[u8]) -> String {
    let s: String = match tag {
        0x1e => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        0x14 => v.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(v).into_owned(),
    };
    s.chars()
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

    /// `SEQUENCE { SET { SEQUENCE { OID CN, UTF8String "Test CA" } } }`.
    fn cn(s: &str) -> Vec<u8> {
        let mut atv = vec![OID, 3, 0x55, 0x04, 0x03, 0x0c, s.len() as u8];
        atv.extend(s.as_bytes());
        let mut seq = vec![SEQUENCE, atv.len() as u8];
        seq.extend(atv);
        let mut set = vec![SET, seq.len() as u8];
        set.extend(seq);
        let mut name = vec![SEQUENCE, set.len() as u8];
        name.extend(set);
        name
    }

    #[test]
    fn names_read() {
        assert_eq!(name_der(&cn("Test CA")).as_deref(), Some("CN=Test CA"));
    }

    #[test]
    fn certificate_subject_and_issuer() {
        let mut tbs = vec![VERSION, 3, 0x02, 1, 2];
        tbs.extend([0x02, 1, 1]); // serial
        tbs.extend([SEQUENCE, 0]); // signature
        tbs.extend(cn("Issuer"));
        tbs.extend([SEQUENCE, 0]); // validity
        tbs.extend(cn("Subject"));
        let mut tbs_tlv = vec![SEQUENCE, tbs.len() as u8];
        tbs_tlv.extend(tbs);
        let mut cert = vec![SEQUENCE, tbs_tlv.len() as u8];
        cert.extend(tbs_tlv);
        assert_eq!(
            subject_and_issuer(&cert),
            Some(("CN=Subject".to_string(), "CN=Issuer".to_string()))
        );
        for n in 0..cert.len() {
            let _ = subject_and_issuer(&cert[..n]);
        }
    }

    #[test]
    fn long_lengths_beyond_buffer() {
        assert_eq!(tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]), None);
        assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
    }

    #[test]
    fn control_characters_escaped() {
        assert_eq!(string(0x0c, b"a\x1b[2Jb"), "a\\u{1b}[2Jb");
    }
}
