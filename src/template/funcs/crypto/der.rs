//! Just enough DER to write X.509 certificates and read a CA's subject back.

pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

pub(super) fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

/// A non-negative INTEGER from big-endian bytes.
pub(super) fn integer(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|x| *x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

pub(super) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        body.extend(chunk);
    }
    tlv(0x06, &body)
}

pub(super) fn bit_string(bytes: &[u8], unused: u8) -> Vec<u8> {
    let mut body = vec![unused];
    body.extend_from_slice(bytes);
    tlv(0x03, &body)
}

/// A Name with one CN (empty CN: an empty Name, as Go writes it).
pub(super) fn name(common_name: &str) -> Vec<u8> {
    if common_name.is_empty() {
        return seq(&[]);
    }
    let atv = seq(&[oid(&[2, 5, 4, 3]), tlv(0x0c, common_name.as_bytes())]);
    seq(&[tlv(0x31, &atv)])
}

pub(super) fn extension(id: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, value));
    seq(&parts)
}

/// UTCTime before 2050, GeneralizedTime after (RFC 5280).
pub(super) fn time(unix: i64) -> Vec<u8> {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = super::super::dates::civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if (1950..2050).contains(&y) {
        tlv(0x17, format!("{:02}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z", y % 100).as_bytes())
    } else {
        tlv(0x18, format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z").as_bytes())
    }
}

/// One TLV at the start of `data`: (tag, content, rest).
fn read(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *data.first()?;
    let first = *data.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = data.get(2..2 + n)?.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let content = data.get(header..header + len)?;
    Some((tag, content, &data[header + len..]))
}

/// The subject Name of a DER certificate, whole (tag and length included); None when the
/// outer structure is not a certificate's.
pub(super) fn certificate_subject(cert: &[u8]) -> Option<Vec<u8>> {
    let (tag, body, rest) = read(cert)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag, tbs, after_tbs) = read(body)?;
    let (alg_tag, _, after_alg) = read(after_tbs)?;
    let (sig_tag, _, end) = read(after_alg)?;
    if tag != 0x30 || alg_tag != 0x30 || sig_tag != 0x03 || !end.is_empty() {
        return None;
    }
    let mut fields = tbs;
    if fields.first() == Some(&0xa0) {
        fields = read(fields)?.2;
    }
    // serial, signature, issuer, validity, then the subject.
    for _ in 0..4 {
        fields = read(fields)?.2;
    }
    let (_, _, after_subject) = read(fields)?;
    Some(fields[..fields.len() - after_subject.len()].to_vec())
}
