//! Where raw file bytes become artifact text, and how much text is accepted.
//!
//! Every text artifact is UTF-8 without a byte order mark. A program that
//! reads a license, request or revocation list from a file hands the raw
//! bytes to [`text_from_bytes`], so a BOM or invalid UTF-8 is reported as
//! [`Error::Malformed`] like any other damage, not as an I/O error. Each
//! artifact also has a size cap, checked before any decoding, so a parser
//! never allocates more than a small multiple of what the cap allows.

use crate::error::{Error, Result, malformed};

/// Largest serial key or license file text accepted, in bytes (surrounding whitespace included).
///
/// [`crate::SignedLicense::sign`] refuses a license whose serial would be longer,
/// so every license that can be signed can also be verified in both forms.
pub const MAX_LICENSE_TEXT_LEN: usize = 65_536;

/// Largest license request file accepted, in bytes.
pub const MAX_REQUEST_TEXT_LEN: usize = 16_384;

/// Largest revocation list file accepted, in bytes (about 387,000 revoked license ids).
pub const MAX_REVOCATION_TEXT_LEN: usize = 8_388_608;

/// Largest public key text (base64 or PEM) accepted, in bytes.
pub const MAX_PUBLIC_KEY_TEXT_LEN: usize = 1_024;

/// The UTF-8 byte order mark, refused at the start of any artifact.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Turns the raw bytes of an artifact file into its text.
///
/// Fails with [`Error::Malformed`] when the bytes start with a UTF-8 byte
/// order mark or are not valid UTF-8. Nothing else is changed: the artifact's
/// own parser applies its whitespace rules and size cap.
pub fn text_from_bytes(bytes: &[u8]) -> Result<&str> {
    if bytes.starts_with(BOM) {
        return Err(malformed(
            "text starts with a byte order mark (save it as UTF-8 without BOM)",
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        malformed(format!(
            "text is not valid UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Refuses `text` longer than `max` bytes, before anything is decoded.
pub(crate) fn check_len(text: &str, max: usize, what: &str) -> Result<()> {
    if text.len() > max {
        Err(Error::Malformed(format!(
            "{what} is {} bytes; at most {max} are accepted",
            text.len()
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bom_and_invalid_utf8_are_malformed() {
        assert_eq!(text_from_bytes(b"LD1-0000").unwrap(), "LD1-0000");
        assert_eq!(text_from_bytes("h\u{e9}".as_bytes()).unwrap(), "h\u{e9}");
        assert!(matches!(
            text_from_bytes(b"\xef\xbb\xbfLD1-0000"),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            text_from_bytes(b"LD1-\xff"),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(text_from_bytes(b"\xc3"), Err(Error::Malformed(_))));
    }

    #[test]
    fn caps() {
        assert!(check_len("abc", 3, "x").is_ok());
        assert!(matches!(
            check_len("abcd", 3, "x"),
            Err(Error::Malformed(_))
        ));
    }
}
