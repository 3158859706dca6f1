//! sprig's encodings and checksums: base64, base32, sha1/sha256/sha512, adler32.

use super::{Arity::Exact, Func};
use crate::template::value::TValue;

pub(super) static FUNCS: &[Func] = &[
    Func::new("b64enc", Exact(1), |c| Ok(TValue::str(base64_encode(c.str(0).as_bytes())))),
    Func::new("b64dec", Exact(1), |c| {
        Ok(TValue::str(match base64_decode(&c.str(0)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(at) => format!("illegal base64 data at input byte {at}"),
        }))
    }),
    Func::new("b32enc", Exact(1), |c| Ok(TValue::str(base32_encode(c.str(0).as_bytes())))),
    Func::new("b32dec", Exact(1), |c| {
        Ok(TValue::str(match base32_decode(&c.str(0)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(at) => format!("illegal base32 data at input byte {at}"),
        }))
    }),
    Func::new("sha1sum", Exact(1), |c| {
        use sha1::Digest;
        Ok(TValue::str(hex(&sha1::Sha1::digest(c.str(0).as_bytes()))))
    }),
    Func::new("sha256sum", Exact(1), |c| {
        use sha2::Digest;
        Ok(TValue::str(hex(&sha2::Sha256::digest(c.str(0).as_bytes()))))
    }),
    Func::new("sha512sum", Exact(1), |c| {
        use sha2::Digest;
        Ok(TValue::str(hex(&sha2::Sha512::digest(c.str(0).as_bytes()))))
    }),
    Func::new("adler32sum", Exact(1), |c| Ok(TValue::str(adler32(c.str(0).as_bytes()).to_string()))),
];

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's StdEncoding.DecodeString: padding required; Err is the offset of the first bad byte.
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, usize> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        let at = bytes.len() - bytes.len() % 4;
        // Go reports the first invalid character, or where the input ended too early.
        if let Some(bad) = bytes.iter().position(|b| !B64.contains(b) && *b != b'=') {
            return Err(bad);
        }
        return Err(at);
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (q, quad) in bytes.chunks(4).enumerate() {
        let mut n = 0u32;
        let mut pad = 0;
        for (k, &b) in quad.iter().enumerate() {
            let v = if b == b'=' {
                if k < 2 || q * 4 + 4 != bytes.len() {
                    return Err(q * 4 + k);
                }
                pad += 1;
                0
            } else {
                if pad > 0 {
                    return Err(q * 4 + k);
                }
                B64.iter().position(|&x| x == b).ok_or(q * 4 + k)? as u32
            };
            n = (n << 6) | v;
        }
        let got = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&got[..3 - pad]);
    }
    Ok(out)
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[(n >> (35 - 5 * i) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's base32 StdEncoding.DecodeString; Err is the offset of the first bad byte.
fn base32_decode(text: &str) -> Result<Vec<u8>, usize> {
    let bytes = text.as_bytes();
    if bytes.len() % 8 != 0 {
        return Err(bytes.len() - bytes.len() % 8);
    }
    let mut out = Vec::new();
    for (q, block) in bytes.chunks(8).enumerate() {
        let pad = block.iter().rev().take_while(|&&b| b == b'=').count();
        let data = &block[..8 - pad];
        if !matches!(pad, 0 | 1 | 3 | 4 | 6) || (pad > 0 && q * 8 + 8 != bytes.len()) {
            return Err(q * 8 + 8 - pad);
        }
        let mut n = 0u64;
        for (k, &b) in data.iter().enumerate() {
            n = (n << 5) | B32.iter().position(|&x| x == b).ok_or(q * 8 + k)? as u64;
        }
        n <<= 5 * pad;
        let full = [(n >> 32) as u8, (n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = match pad {
            0 => 5,
            1 => 4,
            3 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&full[..keep]);
    }
    Ok(out)
}
