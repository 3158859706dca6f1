//! X.509 certificates built and signed as sprig builds them (crypto/x509's templates written out
//! in DER), the certificate objects templates see, and buildCustomCert.

use super::der;
use super::keys::Key;
use crate::template::funcs::encoding::{base64_decode, base64_encode};
use crate::template::funcs::{Call, Res};
use crate::template::value::{Kind, TValue};

/// What goes into one certificate.
pub(super) struct CertSpec {
    common_name: String,
    days: i64,
    ips: Vec<[u8; 4]>,
    dns: Vec<String>,
    is_ca: bool,
}

impl CertSpec {
    pub(super) fn ca(common_name: &str, days: i64) -> CertSpec {
        CertSpec { common_name: common_name.to_string(), days, ips: Vec::new(), dns: Vec::new(), is_ca: true }
    }

    /// The (cn, ips, alternateDNS, daysValid) arguments starting at `first`.
    pub(super) fn leaf(c: &Call, first: usize) -> Result<CertSpec, String> {
        let strings = |i: usize| -> Result<Vec<String>, String> {
            Ok(c.list(i)?.iter().map(crate::template::format::plain_string).collect())
        };
        let mut ips = Vec::new();
        for ip in strings(first + 1)? {
            let octets: Vec<u8> = ip.split('.').filter_map(|p| p.parse().ok()).collect();
            match <[u8; 4]>::try_from(octets) {
                Ok(o) => ips.push(o),
                Err(_) => return Err(format!("error parsing ip: {ip}")),
            }
        }
        Ok(CertSpec { common_name: c.str(first), days: c.int(first + 3), ips, dns: strings(first + 2)?, is_ca: false })
    }
}

/// The CA that signs a certificate: its subject and key.
pub(super) struct Issuer {
    subject: Vec<u8>,
    key: Key,
}

impl Issuer {
    /// sprig reads a CA object's `Cert` and `Key` PEMs.
    pub(super) fn from_object(ca: &TValue) -> Result<Issuer, String> {
        let Kind::Map(m) = ca.kind() else {
            return Err("error parsing ca: not a certificate object".into());
        };
        let field = |name: &str| m.borrow().get(name).map(crate::template::format::plain_string).unwrap_or_default();
        let cert = pem_body(&field("Cert")).ok_or("error parsing ca certificate: no PEM data")?;
        let subject =
            der::certificate_subject(&cert).ok_or("error parsing ca certificate: x509: malformed certificate")?;
        Ok(Issuer { subject, key: Key::from_pem(&field("Key"))? })
    }
}

pub(super) fn cert_object(cert: String, key: String) -> TValue {
    TValue::map(vec![("Cert".into(), TValue::str(cert)), ("Key".into(), TValue::str(key))])
}

/// Builds and signs a certificate as crypto/x509 does for sprig's templates; PEM out.
pub(super) fn certificate(spec: &CertSpec, key: &Key, issuer: Option<&Issuer>) -> Result<String, String> {
    let mut serial = [0u8; 16];
    super::fill_random(&mut serial);
    serial[0] &= 0x7f;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let subject = der::name(&spec.common_name);
    let (issuer_name, signer) = match issuer {
        Some(ca) => (ca.subject.clone(), &ca.key),
        None => (subject.clone(), key),
    };
    // digitalSignature | keyEncipherment, plus keyCertSign for a CA.
    let key_usage = if spec.is_ca { der::bit_string(&[0xa4], 2) } else { der::bit_string(&[0xa0], 5) };
    let mut extensions = vec![
        der::extension(&[2, 5, 29, 15], true, &key_usage),
        der::extension(
            &[2, 5, 29, 37],
            false,
            &der::seq(&[der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]), der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2])]),
        ),
        der::extension(
            &[2, 5, 29, 19],
            true,
            &der::seq(&if spec.is_ca { vec![vec![0x01, 0x01, 0xff]] } else { Vec::new() }),
        ),
    ];
    if !spec.dns.is_empty() || !spec.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = spec.dns.iter().map(|d| der::tlv(0x82, d.as_bytes())).collect();
        names.extend(spec.ips.iter().map(|ip| der::tlv(0x87, ip)));
        extensions.push(der::extension(&[2, 5, 29, 17], false, &der::seq(&names)));
    }
    let tbs = der::seq(&[
        der::tlv(0xa0, &der::integer(&[2])),
        der::integer(&serial),
        signer.signature_algorithm(),
        issuer_name,
        der::seq(&[der::time(now), der::time(now + spec.days.clamp(-36_500, 36_500) * 86_400)]),
        subject,
        key.public_key_der(),
        der::tlv(0xa3, &der::seq(&extensions)),
    ]);
    let signature = signer.sign(&tbs);
    let cert = der::seq(&[tbs, signer.signature_algorithm(), der::bit_string(&signature, 0)]);
    Ok(pem_encode("CERTIFICATE", &cert))
}

pub(super) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block of `text`.
pub(super) fn pem_body(text: &str) -> Option<Vec<u8>> {
    let start = text.find("-----BEGIN ")?;
    let after = &text[start..];
    let body_start = after.find('\n')? + 1;
    let end = after.find("-----END ")?;
    let body: String = after.get(body_start..end)?.chars().filter(|c| !c.is_whitespace()).collect();
    base64_decode(&body).ok()
}

/// sprig's buildCustomCert: a certificate and key given base64-encoded PEM, checked as Go parses
/// them, returned as the certificate object the gen* functions return.
pub(super) fn build_custom_cert(c: &mut Call) -> Res {
    let cert = base64_decode(&c.str(0)).map_err(|at| format!("illegal base64 data at input byte {at}"))?;
    let key = base64_decode(&c.str(1)).map_err(|at| format!("illegal base64 data at input byte {at}"))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let der = pem_body(&cert).ok_or("error decoding cert")?;
    if der::certificate_subject(&der).is_none() {
        return Err("error parsing certificate: decodedCert.Bytes: x509: malformed certificate".into());
    }
    pem_body(&key).ok_or("error decoding key")?;
    Key::from_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_object(cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (to-be-signed bytes, signature) of a DER certificate.
    fn split(cert: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (_, body, _) = der_read(cert);
        let (_, _, after_tbs) = der_read(body);
        let tbs = body[..body.len() - after_tbs.len()].to_vec();
        let (_, _, after_alg) = der_read(after_tbs);
        let (_, sig, _) = der_read(after_alg);
        (tbs, sig[1..].to_vec())
    }

    fn der_read(data: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, header) = if data[1] < 0x80 {
            (usize::from(data[1]), 2)
        } else {
            let n = usize::from(data[1] & 0x7f);
            (data[2..2 + n].iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)), 2 + n)
        };
        (data[0], &data[header..header + len], &data[header + len..])
    }

    /// A certificate signed by a generated CA names the CA as issuer and verifies with its key.
    #[test]
    fn signed_certificates_verify_with_their_ca() {
        use rsa::signature::Verifier;
        let ca_key = Key::rsa2048();
        let ca = certificate(&CertSpec::ca("my-ca", 365), &ca_key, None).unwrap();
        let issuer = Issuer { subject: der::name("my-ca"), key: ca_key.clone() };
        for leaf_key in [Key::rsa2048(), Key::ecdsa(), Key::ed25519()] {
            let spec = CertSpec {
                common_name: "foo.com".into(),
                days: 30,
                ips: vec![[10, 0, 0, 1]],
                dns: vec!["foo.com".into()],
                is_ca: false,
            };
            let pem = certificate(&spec, &leaf_key, Some(&issuer)).unwrap();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n"));
            let cert = pem_body(&pem).unwrap();
            let (tbs, sig) = split(&cert);
            let Key::Rsa(k) = &ca_key else { unreachable!() };
            let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.to_public_key());
            verifier.verify(&tbs, &rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap()).unwrap();
            assert!(der::certificate_subject(&cert).is_some());
        }
        assert_eq!(der::certificate_subject(&pem_body(&ca).unwrap()).unwrap(), der::name("my-ca"));
        // A key round-trips through the PEM Go writes.
        for key in [Key::ecdsa(), Key::ed25519(), Key::rsa2048()] {
            assert_eq!(Key::from_pem(&key.pem()).unwrap().pem(), key.pem());
        }
    }
}
