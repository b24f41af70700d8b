//! Crockford base32 for serial keys.
//!
//! A serial is read aloud and typed by people, so its alphabet has no
//! look-alikes (no I, L, O, U) and input is folded (lowercase to uppercase,
//! O to 0, I and L to 1) before decoding. Written by hand rather than with a
//! lenient decoder so that the exact rules in `docs/license-format.md` hold:
//! bits are taken most-significant first, there is no padding, and the unused
//! low bits of the last symbol must be zero.

use crate::error::{Error, Result, malformed};

/// The 32 symbols, value 0 to 31.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Encodes bytes as uppercase Crockford base32 without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Value of one input symbol after folding, or `None` if it is not a symbol.
pub(crate) fn symbol_value(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Decodes folded Crockford base32.
///
/// An unknown symbol or an impossible length is `Malformed`; non-zero unused
/// bits in the last symbol are `BadChecksum` (that is almost always a typo in
/// the last symbol).
pub(crate) fn decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for (i, &c) in text.as_bytes().iter().enumerate() {
        let v = symbol_value(c)
            .ok_or_else(|| malformed(format!("character {} is not a base32 symbol", i + 1)))?;
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 5 {
        return Err(malformed("base32 length is not a whole number of bytes"));
    }
    if acc != 0 {
        return Err(Error::BadChecksum);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reference() -> data_encoding::Encoding {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
        spec.encoding().unwrap()
    }

    #[test]
    fn matches_data_encoding_reference() {
        let reference = reference();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..64usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let text = encode(&bytes);
            assert_eq!(text, reference.encode(&bytes));
            assert_eq!(decode(&text).unwrap(), bytes);
            assert_eq!(decode(&text.to_ascii_lowercase()).unwrap(), bytes);
        }
    }

    #[test]
    fn folding_and_rejections() {
        assert_eq!(decode("oIlOiLoL").unwrap(), decode("01101101").unwrap());
        assert!(matches!(decode("0U"), Err(Error::Malformed(_))));
        assert!(matches!(decode("0-"), Err(Error::Malformed(_))));
        // 3 symbols cannot come from whole bytes.
        assert!(matches!(decode("000"), Err(Error::Malformed(_))));
        // "01": the last symbol's two unused bits are not zero.
        assert_eq!(decode("01"), Err(Error::BadChecksum));
        assert_eq!(decode("04").unwrap(), vec![1]);
    }
}
