//! sprig's random and crypto functions. Random strings, bytes and UUIDs are random with the
//! right alphabet and length. Keys and certificates are fixed placeholders in PEM armour: they
//! carry no image reference, and a real key would cost seconds per render.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use super::encoding::{base64_decode, base64_encode};
use super::{check_size, Arity::*, Call, Func, Res};
use crate::template::value::TValue;

pub(super) static FUNCS: &[Func] = &[
    Func::new("randAlphaNum", Exact(1), |c| rand_string(c, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
    Func::new("randAlpha", Exact(1), |c| rand_string(c, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")),
    Func::new("randNumeric", Exact(1), |c| rand_string(c, b"0123456789")),
    Func::new("randAscii", Exact(1), |c| {
        let printable: Vec<u8> = (32u8..=126).collect();
        rand_string(c, &printable)
    }),
    Func::new("randBytes", Exact(1), |c| {
        let n = c.int(0).max(0) as u128;
        check_size(n)?;
        let bytes: Vec<u8> = (0..n).map(|_| random_u64() as u8).collect();
        Ok(TValue::str(base64_encode(&bytes)))
    }),
    Func::new("uuidv4", Exact(0), |_| {
        let (a, b) = (random_u64(), random_u64());
        let hi = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000;
        let lo = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        let hex = format!("{hi:016x}{lo:016x}");
        Ok(TValue::str(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])))
    }),
    Func::new("genCA", Exact(2), |_| Ok(cert_pair())),
    Func::new("genCAWithKey", Exact(3), |c| Ok(cert_with_key(c, 2))),
    Func::new("genSelfSignedCert", Exact(4), |_| Ok(cert_pair())),
    Func::new("genSelfSignedCertWithKey", Exact(5), |c| Ok(cert_with_key(c, 4))),
    Func::new("genSignedCert", Exact(5), |_| Ok(cert_pair())),
    Func::new("genSignedCertWithKey", Exact(6), |c| Ok(cert_with_key(c, 5))),
    Func::new("buildCustomCert", Exact(2), build_custom_cert),
    Func::new("genPrivateKey", Exact(1), |c| match c.str(0).as_str() {
        "rsa" => Ok(TValue::str(pem("RSA PRIVATE KEY"))),
        "ecdsa" => Ok(TValue::str(pem("EC PRIVATE KEY"))),
        "ed25519" => Ok(TValue::str(pem("PRIVATE KEY"))),
        "dsa" => Ok(TValue::str(pem("DSA PRIVATE KEY"))),
        other => Ok(TValue::str(format!("Unknown type {other}"))),
    }),
    Func::new("derivePassword", Exact(5), |_| Ok(TValue::str("placeholder-derived-password"))),
    Func::new("htpasswd", Exact(2), |c| {
        Ok(TValue::str(format!("{}:$2a$10$placeholderplaceholderplaceholderplaceholderpla", c.str(0))))
    }),
    Func::new("bcrypt", Exact(1), |_| Ok(TValue::str("$2a$10$placeholderplaceholderplaceholderplaceholderpla"))),
    Func::new("encryptAES", Exact(2), |_| Ok(TValue::str(base64_encode(b"placeholder")))),
    Func::new("decryptAES", Exact(2), |_| Ok(TValue::str(""))),
];

thread_local! {
    static RNG: Cell<u64> = Cell::new(RandomState::new().build_hasher().finish() | 1);
}

/// A splitmix64 stream seeded per thread from the OS-seeded hasher keys: random enough for
/// passwords a chart generates at install time, never used for keys.
pub(super) fn random_u64() -> u64 {
    RNG.with(|state| {
        let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

fn rand_string(c: &mut Call, alphabet: &[u8]) -> Res {
    let n = c.int(0).max(0) as u128;
    check_size(n)?;
    Ok(TValue::str((0..n).map(|_| alphabet[(random_u64() % alphabet.len() as u64) as usize] as char).collect::<String>()))
}

fn pem(kind: &str) -> String {
    format!("-----BEGIN {kind}-----\nUExBQ0VIT0xERVI=\n-----END {kind}-----\n")
}

fn cert_pair() -> TValue {
    TValue::map(vec![
        ("Cert".into(), TValue::str(pem("CERTIFICATE"))),
        ("Key".into(), TValue::str(pem("RSA PRIVATE KEY"))),
    ])
}

/// The `...WithKey` forms return the key they were given.
fn cert_with_key(c: &Call, key_arg: usize) -> TValue {
    TValue::map(vec![("Cert".into(), TValue::str(pem("CERTIFICATE"))), ("Key".into(), c.value(key_arg))])
}

/// sprig's buildCustomCert: a certificate and key given base64-encoded, decoded into the
/// certificate object the gen* functions return.
fn build_custom_cert(c: &mut Call) -> Res {
    let cert = base64_decode(&c.str(0)).map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = base64_decode(&c.str(1)).map_err(|_| "unable to decode base64 private key".to_string())?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    if !cert.contains("-----BEGIN") {
        return Err("error decoding cert".into());
    }
    if !key.contains("-----BEGIN") {
        return Err("error decoding key".into());
    }
    Ok(TValue::map(vec![("Cert".into(), TValue::str(cert)), ("Key".into(), TValue::str(key))]))
}
