//! The serial key: a whole signed license on one line a person can paste or
//! read over the phone.
//!
//! `LD1-` then Crockford base32 of `license bytes || checksum` in groups of
//! five separated by `-`. The 4-byte checksum (SHA-256 of the license bytes,
//! truncated) catches typos before any signature work, so the user is told
//! "typo" rather than "forged".

use sha2::{Digest, Sha256};

use crate::armor::is_outer_space;
use crate::base32;
use crate::error::{Error, Result, malformed};

/// The prefix every serial starts with (matched case-insensitively on input).
pub const SERIAL_PREFIX: &str = "LD1-";

/// Symbols per group.
pub const GROUP_LEN: usize = 5;

/// Checksum bytes appended before encoding.
pub const CHECKSUM_LEN: usize = 4;

fn checksum(blob: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(blob);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// Encodes signed license bytes as a serial.
pub(crate) fn encode(blob: &[u8]) -> String {
    let mut bytes = blob.to_vec();
    bytes.extend_from_slice(&checksum(blob));
    let symbols = base32::encode(&bytes);
    let groups: Vec<&str> = symbols
        .as_bytes()
        .chunks(GROUP_LEN)
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    format!("{SERIAL_PREFIX}{}", groups.join("-"))
}

/// True when `text` (after surrounding whitespace) starts with the serial prefix.
pub(crate) fn looks_like_serial(text: &str) -> bool {
    text.trim_start_matches(is_outer_space)
        .get(..SERIAL_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(SERIAL_PREFIX))
}

/// Decodes a serial to signed license bytes, checking the checksum.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>> {
    let text = text.trim_matches(is_outer_space);
    let body = text
        .get(..SERIAL_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(SERIAL_PREFIX))
        .and_then(|_| text.get(SERIAL_PREFIX.len()..))
        .ok_or_else(|| malformed(format!("serial must start with {SERIAL_PREFIX}")))?;
    let symbols = if body.contains('-') {
        let groups: Vec<&str> = body.split('-').collect();
        let last = groups.len() - 1;
        for (i, g) in groups.iter().enumerate() {
            let ok = if i == last {
                (1..=GROUP_LEN).contains(&g.len())
            } else {
                g.len() == GROUP_LEN
            };
            if !ok {
                return Err(malformed(format!(
                    "serial group {} must have {GROUP_LEN} characters (the last 1 to {GROUP_LEN})",
                    i + 1
                )));
            }
        }
        groups.concat()
    } else {
        body.to_owned()
    };
    let bytes = base32::decode(&symbols)?;
    if bytes.len() <= CHECKSUM_LEN {
        return Err(malformed("serial too short"));
    }
    let (blob, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if sum != checksum(blob) {
        return Err(Error::BadChecksum);
    }
    Ok(blob.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_input_rules() {
        let blob: Vec<u8> = (0..90u8).collect();
        let serial = encode(&blob);
        assert!(serial.starts_with("LD1-"));
        assert_eq!(decode(&serial).unwrap(), blob);
        assert_eq!(
            decode(&format!("  {}\r\n", serial.to_lowercase())).unwrap(),
            blob
        );
        assert_eq!(
            decode(&serial.replace('-', "").replacen("LD1", "LD1-", 1)).unwrap(),
            blob
        );
        let body = &serial[SERIAL_PREFIX.len()..];
        let folded = format!("ld1-{}", body.replace('0', "o").replace('1', "l"));
        assert_eq!(decode(&folded).unwrap(), blob);
        // Misplaced dash, inner space, double dash.
        assert!(matches!(
            decode(&serial.replacen("-", "", 2)),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            decode(&serial.replacen("-", " ", 2)),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            decode(&serial.replacen("-", "--", 2)),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(decode("XX1-00000"), Err(Error::Malformed(_))));
    }

    #[test]
    fn every_single_symbol_typo_is_caught() {
        let blob: Vec<u8> = (0..90u8).map(|b| b.wrapping_mul(37)).collect();
        let serial = encode(&blob);
        for (i, c) in serial.char_indices().skip(SERIAL_PREFIX.len()) {
            if c == '-' {
                continue;
            }
            for &s in base32::ALPHABET {
                if base32::symbol_value(c as u8) == base32::symbol_value(s) {
                    continue;
                }
                let mut typo = serial.clone();
                typo.replace_range(i..i + 1, &char::from(s).to_string());
                assert_eq!(decode(&typo), Err(Error::BadChecksum), "{typo}");
            }
        }
    }
}
