//! The private keys sprig makes (RSA, ECDSA P-256, Ed25519): generated, read from PEM and
//! written as Go writes them, and signing.

use std::sync::OnceLock;

use rand::rngs::OsRng;

use super::der;

/// A private key of one of the kinds sprig makes.
#[derive(Clone)]
pub(super) enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::SecretKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

// Process-wide, not per thread: renders run on worker threads that end with each render.
static RSA_2048: OnceLock<Key> = OnceLock::new();
static RSA_4096: OnceLock<Key> = OnceLock::new();
static RSA_PLANNING: OnceLock<Key> = OnceLock::new();

/// The size of the one RSA key repeatable renders use for every RSA key a template asks for.
const PLANNING_RSA_BITS: usize = 1024;

impl Key {
    fn rsa(bits: usize) -> Key {
        Key::Rsa(Box::new(rsa::RsaPrivateKey::new(&mut OsRng, bits).expect("RSA key generation")))
    }

    /// In a repeatable render (scan's and the planner's, which find images and are never
    /// installed) every RSA key is one 1024-bit key: generating a 4096-bit key in this crate took
    /// 1 to 4 s (a chart with one `genPrivateKey "rsa"` planned 4.6 s where `helm template` took
    /// 0.4 s). The key's text is in no output; `template` makes keys of sprig's sizes.
    fn planning_rsa() -> Option<Key> {
        super::repeatable().then(|| RSA_PLANNING.get_or_init(|| Key::rsa(PLANNING_RSA_BITS)).clone())
    }

    /// The key genCA and the gen*Cert functions make (2048 bits), generated once per process.
    pub(super) fn rsa2048() -> Key {
        Key::planning_rsa().unwrap_or_else(|| RSA_2048.get_or_init(|| Key::rsa(2048)).clone())
    }

    /// genPrivateKey "rsa" (4096 bits), generated once per process.
    pub(super) fn rsa4096() -> Key {
        Key::planning_rsa().unwrap_or_else(|| RSA_4096.get_or_init(|| Key::rsa(4096)).clone())
    }

    pub(super) fn ecdsa() -> Key {
        Key::Ecdsa(p256::SecretKey::random(&mut OsRng))
    }

    pub(super) fn ed25519() -> Key {
        Key::Ed25519(Box::new(ed25519_dalek::SigningKey::generate(&mut OsRng)))
    }

    /// PEM as Go writes it: PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 for Ed25519.
    pub(super) fn pem(&self) -> String {
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
    pub(super) fn from_pem(text: &str) -> Result<Key, String> {
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
    pub(super) fn public_key_der(&self) -> Vec<u8> {
        use rsa::pkcs8::EncodePublicKey;
        match self {
            Key::Rsa(k) => k.to_public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()),
            Key::Ecdsa(k) => k.public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()),
            Key::Ed25519(k) => k.verifying_key().to_public_key_der().map(|d| d.as_bytes().to_vec()),
        }
        .unwrap_or_default()
    }

    /// The AlgorithmIdentifier of this key's signatures, as Go picks it (SHA-256).
    pub(super) fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            Key::Rsa(_) => der::seq(&[der::oid(&[1, 2, 840, 113_549, 1, 1, 11]), vec![0x05, 0x00]]),
            Key::Ecdsa(_) => der::seq(&[der::oid(&[1, 2, 840, 10_045, 4, 3, 2])]),
            Key::Ed25519(_) => der::seq(&[der::oid(&[1, 3, 101, 112])]),
        }
    }

    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
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
