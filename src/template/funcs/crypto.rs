//! sprig's random and crypto functions, for real: random strings, bytes and UUIDs from the OS
//! generator; RSA, ECDSA P-256 and Ed25519 keys; X.509 certificates built and signed as sprig
//! builds them (crypto/x509 templates written out in DER here); bcrypt, htpasswd, AES-CBC and
//! Master Password's derivePassword. Nothing reaches the network.
//!
//! A render here serves to find images and to show what Helm would print, and renders repeat
//! (scan probes values many times), so each kind of key is generated once per process and reused;
//! every certificate is still built and signed anew. `dsa` keys are not supported.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use rand::rngs::OsRng;
use rand::RngCore;

use super::encoding::{base64_decode, base64_encode};
use super::{check_size, Arity::Exact, Call, Func, Res};
use crate::template::value::{Kind, TValue};

pub(super) static FUNCS: &[Func] = &[
    Func::new("randAlphaNum", Exact(1), |c| {
        rand_string(c, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    }),
    Func::new("randAlpha", Exact(1), |c| rand_string(c, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")),
    Func::new("randNumeric", Exact(1), |c| rand_string(c, b"0123456789")),
    Func::new("randAscii", Exact(1), |c| {
        let printable: Vec<u8> = (32u8..=126).collect();
        rand_string(c, &printable)
    }),
    Func::new("randBytes", Exact(1), |c| {
        let n = c.int(0).max(0) as u128;
        check_size(n)?;
        let mut bytes = vec![0u8; n as usize];
        OsRng.fill_bytes(&mut bytes);
        Ok(TValue::str(base64_encode(&bytes)))
    }),
    Func::new("uuidv4", Exact(0), |_| {
        let mut b = [0u8; 16];
        OsRng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex = super::encoding::hex(&b);
        Ok(TValue::str(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])))
    }),
    Func::new("genCA", Exact(2), |c| {
        let key = Key::rsa2048();
        let cert = certificate(&CertSpec::ca(&c.str(0), c.int(1)), &key, None)?;
        Ok(cert_object(cert, key.pem()))
    }),
    Func::new("genCAWithKey", Exact(3), |c| {
        let key = Key::from_pem(&c.str(2))?;
        let cert = certificate(&CertSpec::ca(&c.str(0), c.int(1)), &key, None)?;
        Ok(cert_object(cert, c.str(2)))
    }),
    Func::new("genSelfSignedCert", Exact(4), |c| {
        let key = Key::rsa2048();
        let cert = certificate(&CertSpec::leaf(c, 0)?, &key, None)?;
        Ok(cert_object(cert, key.pem()))
    }),
    Func::new("genSelfSignedCertWithKey", Exact(5), |c| {
        let key = Key::from_pem(&c.str(4))?;
        let cert = certificate(&CertSpec::leaf(c, 0)?, &key, None)?;
        Ok(cert_object(cert, c.str(4)))
    }),
    Func::new("genSignedCert", Exact(5), |c| {
        let key = Key::rsa2048();
        let ca = Issuer::from_object(&c.value(4))?;
        let cert = certificate(&CertSpec::leaf(c, 0)?, &key, Some(&ca))?;
        Ok(cert_object(cert, key.pem()))
    }),
    Func::new("genSignedCertWithKey", Exact(6), |c| {
        let key = Key::from_pem(&c.str(5))?;
        let ca = Issuer::from_object(&c.value(4))?;
        let cert = certificate(&CertSpec::leaf(c, 0)?, &key, Some(&ca))?;
        Ok(cert_object(cert, c.str(5)))
    }),
    Func::new("buildCustomCert", Exact(2), build_custom_cert),
    Func::new("genPrivateKey", Exact(1), |c| match c.str(0).as_str() {
        "rsa" => Ok(TValue::str(Key::rsa4096().pem())),
        "ecdsa" => Ok(TValue::str(Key::ecdsa().pem())),
        "ed25519" => Ok(TValue::str(Key::ed25519().pem())),
        "dsa" => Err("dsa keys are not supported by helm-retarget's engine".into()),
        other => Ok(TValue::str(format!("Unknown type {other}"))),
    }),
    Func::new("derivePassword", Exact(5), derive_password),
    Func::new("htpasswd", Exact(2), |c| {
        let user = c.str(0);
        if user.contains(':') {
            return Ok(TValue::str("invalid username: ".to_string() + &user));
        }
        Ok(TValue::str(format!("{user}:{}", bcrypt_hash(&c.str(1))?)))
    }),
    Func::new("bcrypt", Exact(1), |c| Ok(TValue::str(bcrypt_hash(&c.str(0))?))),
    Func::new("encryptAES", Exact(2), encrypt_aes),
    Func::new("decryptAES", Exact(2), decrypt_aes),
];

/// A fast non-cryptographic stream for `randInt` and `shuffle`-like uses.
pub(super) fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish() ^ OsRng.next_u64()
}

fn rand_string(c: &mut Call, alphabet: &[u8]) -> Res {
    let n = c.int(0).max(0) as u128;
    check_size(n)?;
    let mut bytes = vec![0u8; n as usize];
    OsRng.fill_bytes(&mut bytes);
    // 256 is not a multiple of every alphabet's size; the slight bias does not matter for
    // passwords a chart generates, which Helm would generate anew anyway.
    Ok(TValue::str(bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect::<String>()))
}

fn bcrypt_hash(password: &str) -> Result<String, String> {
    // golang.org/x/crypto/bcrypt's DefaultCost, in the $2a$ form Go writes.
    let parts = bcrypt::hash_with_result(password, 10).map_err(|e| e.to_string())?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

/// The AES-256 key sprig makes of a password: its bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

fn encrypt_aes(c: &mut Call) -> Res {
    use cbc::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
    let plaintext = c.str(1);
    if plaintext.is_empty() {
        return Ok(TValue::str(""));
    }
    let mut iv = [0u8; 16];
    OsRng.fill_bytes(&mut iv);
    let encrypted = cbc::Encryptor::<aes::Aes256>::new(&aes_key(&c.str(0)).into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    let mut out = iv.to_vec();
    out.extend(encrypted);
    Ok(TValue::str(base64_encode(&out)))
}

fn decrypt_aes(c: &mut Call) -> Res {
    use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
    let text = c.str(1);
    if text.is_empty() {
        return Ok(TValue::str(""));
    }
    let data = base64_decode(&text).map_err(|at| format!("illegal base64 data at input byte {at}"))?;
    if data.len() < 32 || data.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let (iv, body) = data.split_at(16);
    let iv: [u8; 16] = iv.try_into().expect("16 bytes");
    let mut plain = cbc::Decryptor::<aes::Aes256>::new(&aes_key(&c.str(0)).into(), &iv.into())
        .decrypt_padded_vec_mut::<NoPadding>(body)
        .map_err(|e| e.to_string())?;
    // sprig strips as many bytes as the last one says, unchecked.
    let pad = usize::from(*plain.last().unwrap_or(&0)).min(plain.len());
    plain.truncate(plain.len() - pad);
    Ok(TValue::str(String::from_utf8_lossy(&plain).into_owned()))
}

/// Master Password's algorithm, as sprig implements it.
fn derive_password(c: &mut Call) -> Res {
    use hmac::Mac;
    let counter = c.int(0) as u32;
    let (kind, password, user, site) = (c.str(1), c.str(2), c.str(3), c.str(4));
    let Some(templates) = password_templates(&kind) else {
        return Ok(TValue::str(format!("cannot find password template {kind}")));
    };
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let mut salt = SEED.to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).map_err(|e| e.to_string())?;
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key).map_err(|e| e.to_string())?;
    let mut message = SEED.to_vec();
    message.extend((site.len() as u32).to_be_bytes());
    message.extend(site.as_bytes());
    message.extend(counter.to_be_bytes());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    let out: String = template
        .chars()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_characters(class).as_bytes();
            chars[usize::from(seed[i + 1]) % chars.len()] as char
        })
        .collect();
    Ok(TValue::str(out))
}

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(class: char) -> &'static str {
    match class {
        'V' => "AEIOU",
        'C' => "BCDFGHJKLMNPQRSTVWXYZ",
        'v' => "aeiou",
        'c' => "bcdfghjklmnpqrstvwxyz",
        'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        'n' => "0123456789",
        'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
        _ => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// A private key of one of the kinds sprig makes.
#[derive(Clone)]
enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::SecretKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

// Process-wide, not per thread: renders run on worker threads that end with each render.
static RSA_2048: OnceLock<Key> = OnceLock::new();
static RSA_4096: OnceLock<Key> = OnceLock::new();

impl Key {
    fn rsa(bits: usize) -> Key {
        Key::Rsa(Box::new(rsa::RsaPrivateKey::new(&mut OsRng, bits).expect("RSA key generation")))
    }

    /// The key genCA and the gen*Cert functions make (2048 bits), generated once per process.
    fn rsa2048() -> Key {
        RSA_2048.get_or_init(|| Key::rsa(2048)).clone()
    }

    /// genPrivateKey "rsa" (4096 bits), generated once per process.
    fn rsa4096() -> Key {
        RSA_4096.get_or_init(|| Key::rsa(4096)).clone()
    }

    fn ecdsa() -> Key {
        Key::Ecdsa(p256::SecretKey::random(&mut OsRng))
    }

    fn ed25519() -> Key {
        Key::Ed25519(Box::new(ed25519_dalek::SigningKey::generate(&mut OsRng)))
    }

    /// PEM as Go writes it: PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for Ed25519.
    fn pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let lf = rsa::pkcs8::LineEnding::LF;
        match self {
            Key::Rsa(k) => k.to_pkcs1_pem(lf).map(|p| p.to_string()).unwrap_or_default(),
            Key::Ecdsa(k) => k.to_sec1_pem(lf).map(|p| p.to_string()).unwrap_or_default(),
            Key::Ed25519(k) => k.to_pkcs8_pem(lf).map(|p| p.to_string()).unwrap_or_default(),
        }
    }

    /// sprig's parsePrivateKeyPEM: PKCS#1, SEC 1, or PKCS#8 (RSA, ECDSA P-256, Ed25519).
    fn from_pem(text: &str) -> Result<Key, String> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let text = text.trim();
        if text.contains("BEGIN RSA PRIVATE KEY") {
            return rsa::RsaPrivateKey::from_pkcs1_pem(text)
                .map(|k| Key::Rsa(Box::new(k)))
                .map_err(|e| format!("error parsing PEM key: {e}"));
        }
        if text.contains("BEGIN EC PRIVATE KEY") {
            return p256::SecretKey::from_sec1_pem(text)
                .map(Key::Ecdsa)
                .map_err(|e| format!("error parsing PEM key: {e}"));
        }
        if text.contains("BEGIN PRIVATE KEY") {
            if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(text) {
                return Ok(Key::Rsa(Box::new(k)));
            }
            if let Ok(k) = p256::SecretKey::from_pkcs8_pem(text) {
                return Ok(Key::Ecdsa(k));
            }
            if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(text) {
                return Ok(Key::Ed25519(Box::new(k)));
            }
        }
        Err("no PEM data found".into())
    }

    /// The SubjectPublicKeyInfo, DER.
    fn public_key_der(&self) -> Vec<u8> {
        use rsa::pkcs8::EncodePublicKey;
        match self {
            Key::Rsa(k) => k.to_public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()),
            Key::Ecdsa(k) => k.public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()),
            Key::Ed25519(k) => k.verifying_key().to_public_key_der().map(|d| d.as_bytes().to_vec()),
        }
        .unwrap_or_default()
    }

    /// The AlgorithmIdentifier of this key's signatures, as Go picks it (SHA-256).
    fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            Key::Rsa(_) => der::seq(&[der::oid(&[1, 2, 840, 113_549, 1, 1, 11]), vec![0x05, 0x00]]),
            Key::Ecdsa(_) => der::seq(&[der::oid(&[1, 2, 840, 10_045, 4, 3, 2])]),
            Key::Ed25519(_) => der::seq(&[der::oid(&[1, 3, 101, 112])]),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        use rsa::signature::{SignatureEncoding, Signer};
        match self {
            Key::Rsa(k) => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone()).sign(message).to_vec(),
            Key::Ecdsa(k) => {
                let signature: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k).sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Key::Ed25519(k) => ed25519_dalek::Signer::sign(k.as_ref(), message).to_bytes().to_vec(),
        }
    }
}

/// What goes into one certificate.
struct CertSpec {
    common_name: String,
    days: i64,
    ips: Vec<[u8; 4]>,
    dns: Vec<String>,
    is_ca: bool,
}

impl CertSpec {
    fn ca(common_name: &str, days: i64) -> CertSpec {
        CertSpec { common_name: common_name.to_string(), days, ips: Vec::new(), dns: Vec::new(), is_ca: true }
    }

    /// The (cn, ips, alternateDNS, daysValid) arguments starting at `first`.
    fn leaf(c: &Call, first: usize) -> Result<CertSpec, String> {
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
struct Issuer {
    subject: Vec<u8>,
    key: Key,
}

impl Issuer {
    /// sprig reads a CA object's `Cert` and `Key` PEMs.
    fn from_object(ca: &TValue) -> Result<Issuer, String> {
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

fn cert_object(cert: String, key: String) -> TValue {
    TValue::map(vec![("Cert".into(), TValue::str(cert)), ("Key".into(), TValue::str(key))])
}

/// Builds and signs a certificate as crypto/x509 does for sprig's templates; PEM out.
fn certificate(spec: &CertSpec, key: &Key, issuer: Option<&Issuer>) -> Result<String, String> {
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
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

fn pem_encode(label: &str, der: &[u8]) -> String {
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
fn pem_body(text: &str) -> Option<Vec<u8>> {
    let start = text.find("-----BEGIN ")?;
    let after = &text[start..];
    let body_start = after.find('\n')? + 1;
    let end = after.find("-----END ")?;
    let body: String = after.get(body_start..end)?.chars().filter(|c| !c.is_whitespace()).collect();
    base64_decode(&body).ok()
}

/// sprig's buildCustomCert: a certificate and key given base64-encoded PEM, checked as Go parses
/// them, returned as the certificate object the gen* functions return.
fn build_custom_cert(c: &mut Call) -> Res {
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

/// Just enough DER to write X.509 certificates and read a CA's subject back.
mod der {
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
