//! ASCII armor: binary artifacts as text that survives email and copy-paste.
//!
//! The rules are deliberately narrow so that each artifact has one accepted
//! body: canonical padded base64, lines of exactly [`LINE_WIDTH`] characters
//! (the last one 1 to 64), no comment or header lines, nothing ignored. Only
//! whitespace around the whole block and a CR before each LF are tolerated,
//! because mail clients add those; neither changes the decoded bytes.
//!
//! Base64 is decoded by [`decode_base64`], not by a general-purpose decoder
//! alone: `data-encoding` also accepts padding at inner 4-character block
//! boundaries (`xQ==Bw==` decodes like `xQc=`), which would give one artifact
//! many accepted texts. `=` is accepted only as the final padding.

use data_encoding::BASE64;

use crate::error::{Result, malformed};

/// Base64 characters per body line.
pub const LINE_WIDTH: usize = 64;

/// Wraps `bytes` in `-----BEGIN {label}-----` / `-----END {label}-----` with LF line ends.
pub(crate) fn encode(label: &str, bytes: &[u8]) -> String {
    let body = BASE64.encode(bytes);
    let mut out =
        String::with_capacity(body.len() + body.len() / LINE_WIDTH + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(LINE_WIDTH) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The only whitespace the formats tolerate (around a whole artifact): space, tab, CR, LF.
pub(crate) fn is_outer_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Returns true when `text` (after outer whitespace) starts with this label's BEGIN line.
pub(crate) fn has_label(label: &str, text: &str) -> bool {
    let t = text.trim_start_matches(is_outer_space);
    t.strip_prefix("-----BEGIN ")
        .and_then(|t| t.strip_prefix(label))
        .is_some_and(|t| t.starts_with("-----"))
}

/// Decodes canonical padded base64 (RFC 4648 section 4) and nothing else.
///
/// The length is a multiple of 4; `=` appears only at the very end (at most
/// two); the unused bits before the padding are zero. Equivalently: the text
/// is exactly what encoding the decoded bytes gives back. `what` names the
/// field in the error.
pub(crate) fn decode_base64(text: &str, what: &str) -> Result<Vec<u8>> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 || body.contains('=') {
        return Err(malformed(format!(
            "{what}: base64 '=' is only allowed as final padding"
        )));
    }
    let bytes = BASE64
        .decode(text.as_bytes())
        .map_err(|e| malformed(format!("{what}: base64: {e}")))?;
    // Catches anything else a lenient decoder lets through (non-zero trailing bits, ...).
    if BASE64.encode(&bytes) != text {
        return Err(malformed(format!("{what}: base64 is not canonical")));
    }
    Ok(bytes)
}

/// Unwraps an armored block with exactly this label; see the module docs for the rules.
pub(crate) fn decode(label: &str, text: &str) -> Result<Vec<u8>> {
    let text = text.trim_matches(is_outer_space);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect::<Vec<_>>();
    if lines.len() < 3 {
        return Err(malformed("armor: needs BEGIN line, body and END line"));
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    if lines.first().copied() != Some(begin.as_str()) {
        return Err(malformed(format!("armor: first line must be {begin}")));
    }
    if lines.last().copied() != Some(end.as_str()) {
        return Err(malformed(format!("armor: last line must be {end}")));
    }
    lines.remove(0);
    lines.pop();
    let last = lines.len() - 1;
    let mut body = String::with_capacity(lines.len() * LINE_WIDTH);
    for (i, line) in lines.iter().enumerate() {
        let ok = if i == last {
            (1..=LINE_WIDTH).contains(&line.len())
        } else {
            line.len() == LINE_WIDTH
        };
        if !ok {
            return Err(malformed(format!(
                "armor: body line {} has {} characters",
                i + 1,
                line.len()
            )));
        }
        body.push_str(line);
    }
    decode_base64(&body, "armor")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_line_widths() {
        for n in [1usize, 47, 48, 49, 96, 200] {
            let bytes: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let text = encode("X", &bytes);
            assert!(
                text.lines()
                    .all(|l| l.len() <= LINE_WIDTH || l.starts_with("-----"))
            );
            assert_eq!(decode("X", &text).unwrap(), bytes);
            let crlf = text.replace('\n', "\r\n");
            assert_eq!(decode("X", &format!("\n  {crlf}\n\n")).unwrap(), bytes);
        }
    }

    #[test]
    fn rejects_variants() {
        let bytes = [7u8; 100];
        let text = encode("X", &bytes);
        assert!(decode("Y", &text).is_err());
        // Re-wrapped at another width.
        let body = BASE64.encode(&bytes);
        let rewrapped = format!(
            "-----BEGIN X-----\n{}\n{}\n-----END X-----\n",
            &body[..60],
            &body[60..]
        );
        assert!(decode("X", &rewrapped).is_err());
        // Comment line, trailing space, blank line inside, non-canonical base64.
        assert!(decode("X", &text.replacen("\n", "\nComment: hi\n", 1)).is_err());
        assert!(decode("X", &text.replacen("\n", " \n", 2)).is_err());
        assert!(decode("X", &text.replacen("\n", "\n\n", 1)).is_err());
        assert!(decode("X", "-----BEGIN X-----\nAB==\n-----END X-----").is_err());
        assert_eq!(
            decode("X", "-----BEGIN X-----\nAA==\n-----END X-----").unwrap(),
            vec![0]
        );
        // Lone CR is not a line end.
        assert!(decode("X", "-----BEGIN X-----\rAA==\n-----END X-----").is_err());
        assert!(has_label("X", "\n-----BEGIN X-----\n"));
        assert!(
            !has_label("X", "\u{feff}-----BEGIN X-----\n"),
            "a BOM is not whitespace"
        );
    }

    /// Padded pieces glued together decode with a lenient decoder; here they are refused.
    #[test]
    fn padding_only_at_the_end() {
        assert_eq!(BASE64.decode(b"xQ==Bw==").unwrap(), vec![0xc5, 0x07]);
        let err = decode_base64("xQ==Bw==", "t").unwrap_err().to_string();
        assert!(err.contains("only allowed as final padding"), "{err}");
        let err = decode_base64("AA===", "t").unwrap_err().to_string();
        assert!(err.contains("only allowed as final padding"), "{err}");
        assert!(decode_base64("xQc=", "t").is_ok());
        for bad in [
            "AA==AA==", "AA=A", "A===", "====", "AAA=AAA=", "AB==", "AAB=",
        ] {
            assert!(decode_base64(bad, "t").is_err(), "{bad}");
        }
        assert_eq!(decode_base64("", "t").unwrap(), Vec::<u8>::new());
        // Every byte its own padded block, re-wrapped at 64 columns: refused.
        let bytes: Vec<u8> = (0..40).collect();
        let glued: String = bytes.iter().map(|b| BASE64.encode(&[*b])).collect();
        assert_eq!(BASE64.decode(glued.as_bytes()).unwrap(), bytes);
        let lines: Vec<&str> = glued
            .as_bytes()
            .chunks(LINE_WIDTH)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!("-----BEGIN X-----\n{}\n-----END X-----\n", lines.join("\n"));
        assert!(decode("X", &text).is_err());
        assert!(!has_label("X", "-----BEGIN XY-----\n"));
    }
}
