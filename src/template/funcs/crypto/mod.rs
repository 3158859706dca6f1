//! sprig's random and crypto functions, for real: random strings, bytes and UUIDs from the OS
//! generator; RSA, ECDSA P-256 and Ed25519 keys; X.509 certificates built and signed as sprig
//! builds them (crypto/x509 templates written out in DER here); bcrypt, htpasswd, AES-CBC and
//! Master Password's derivePassword. Nothing reaches the network.
//!
//! A render here serves to find images and to show what Helm would print, and renders repeat
//! (scan probes values many times), so each kind of key is generated once per process and reused;
//! every certificate is still built and signed anew. Repeatable renders (scan's and the
//! planner's, never installed) use one 1024-bit RSA key for every RSA key (`keys.rs`). `dsa` keys
//! are not supported.
//!
//! This file holds the table, random values and passwords; `keys` the private keys, `certs` the
//! certificates, `der` the bytes they are written in.

use std::cell::RefCell;

use rand::rngs::{OsRng, StdRng};
use rand::{RngCore, SeedableRng};

use super::encoding::{base64_decode, base64_encode};
use super::{check_size, Arity::Exact, Call, Func, Res};
use crate::template::value::TValue;
use certs::{build_custom_cert, cert_object, certificate, CertSpec, Issuer};
use keys::Key;

mod certs;
mod der;
mod keys;

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
        fill_random(&mut bytes);
        Ok(TValue::str(base64_encode(&bytes)))
    }),
    Func::new("uuidv4", Exact(0), |_| {
        let mut b = [0u8; 16];
        fill_random(&mut b);
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

thread_local! {
    /// Set while a render must come out the same each time it is made (the planner's and scan's):
    /// random values are then drawn from a generator seeded for the template being rendered.
    static REPEATABLE: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// Runs `render` with random values (`randAlphaNum`, `uuidv4`, `randInt`, certificate serials)
/// drawn from a generator seeded by `seed`, so a template rendered again with the same values draws
/// the same ones: a name made with `randAlphaNum` names the same object in every probe render, and
/// an overlay's comments naming it do not change from run to run. Helm draws anew each time; any
/// one draw is a render Helm could make. Keys are generated once per process either way.
pub fn with_repeatable_random<T>(seed: u64, render: impl FnOnce() -> T) -> T {
    struct Restore(Option<StdRng>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            REPEATABLE.with(|r| *r.borrow_mut() = previous);
        }
    }
    let _restore = Restore(REPEATABLE.with(|r| r.replace(Some(StdRng::seed_from_u64(seed)))));
    render()
}

/// True inside `with_repeatable_random`.
pub(super) fn repeatable() -> bool {
    REPEATABLE.with(|r| r.borrow().is_some())
}

/// Random bytes: from the seeded generator inside `with_repeatable_random`, else from the OS.
pub(super) fn fill_random(bytes: &mut [u8]) {
    REPEATABLE.with(|r| match r.borrow_mut().as_mut() {
        Some(seeded) => seeded.fill_bytes(bytes),
        None => OsRng.fill_bytes(bytes),
    });
}

/// A random number for `randInt`.
pub(super) fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    fill_random(&mut bytes);
    u64::from_le_bytes(bytes)
}

fn rand_string(c: &mut Call, alphabet: &[u8]) -> Res {
    let n = c.int(0).max(0) as u128;
    check_size(n)?;
    let mut bytes = vec![0u8; n as usize];
    fill_random(&mut bytes);
    // 256 is not a multiple of every alphabet's size; the slight bias does not matter for
    // passwords a chart generates, which Helm would generate anew anyway.
    Ok(TValue::str(bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect::<String>()))
}

fn bcrypt_hash(password: &str) -> Result<String, String> {
    // A repeatable render hashes each password once per process (bcrypt at Go's cost takes tens
    // of milliseconds, and the planner renders a chart several times); its salt is random anyway.
    static HASHED: std::sync::Mutex<Option<std::collections::HashMap<String, String>>> = std::sync::Mutex::new(None);
    let repeat = repeatable();
    if repeat {
        if let Some(hash) = HASHED.lock().ok().and_then(|m| m.as_ref()?.get(password).cloned()) {
            return Ok(hash);
        }
    }
    // golang.org/x/crypto/bcrypt's DefaultCost, in the $2a$ form Go writes.
    let parts = bcrypt::hash_with_result(password, 10).map_err(|e| e.to_string())?;
    let hash = parts.format_for_version(bcrypt::Version::TwoA);
    if repeat {
        if let Ok(mut cache) = HASHED.lock() {
            cache.get_or_insert_with(Default::default).insert(password.to_string(), hash.clone());
        }
    }
    Ok(hash)
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
    fill_random(&mut iv);
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
