//! The license file: the same signed bytes as the serial, armored for email
//! and for carrying across an air gap on a USB stick.
//!
//! No checksum of its own: base64 carries no typed input, and the signature
//! already covers every byte.

use crate::armor;
use crate::error::Result;

/// Armor label of a license file.
pub const LICENSE_LABEL: &str = "LICENSE DESK LICENSE";

pub(crate) fn encode(blob: &[u8]) -> String {
    armor::encode(LICENSE_LABEL, blob)
}

pub(crate) fn looks_like_license_file(text: &str) -> bool {
    armor::has_label(LICENSE_LABEL, text)
}

pub(crate) fn decode(text: &str) -> Result<Vec<u8>> {
    armor::decode(LICENSE_LABEL, text)
}
