//! A signed license and its two text forms (serial key and license file).

use ed25519_dalek::SigningKey;

use crate::error::{Error, Result, malformed};
use crate::keys::{KeyId, KeyRing};
use crate::payload::{FORMAT_VERSION, LEGACY_FORMAT_VERSION, LicensePayload};
use crate::signature::{self, SIGNATURE_LEN};
use crate::text::{MAX_LICENSE_TEXT_LEN, check_len};
use crate::verify::{Verified, VerifyContext, check_rules};
use crate::{license_file, serial};

/// Domain-separation context of license signatures (every payload version;
/// the version byte inside the signed payload tells the versions apart).
pub const LICENSE_CONTEXT: &str = "LicenseDesk/license/v1";

/// Payload version bytes that verify.
pub(crate) const LICENSE_VERSIONS: [u8; 2] = [LEGACY_FORMAT_VERSION, FORMAT_VERSION];

/// A license payload with its Ed25519 signature.
///
/// Values from `parse_*` are *not* verified yet: call [`SignedLicense::verify`]
/// (or use [`crate::verify`] on the text directly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLicense {
    payload: LicensePayload,
    payload_bytes: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl SignedLicense {
    /// Signs `payload` with `key`.
    ///
    /// Sets `payload.key_id` to the key's id and puts the payload in canonical
    /// form first ([`LicensePayload::normalize`]). Fails with
    /// [`Error::Invalid`] for a payload that breaks a format rule, that is not
    /// of the current [`FORMAT_VERSION`] (version 1 is only verified), or whose
    /// serial would exceed [`MAX_LICENSE_TEXT_LEN`].
    pub fn sign(mut payload: LicensePayload, key: &SigningKey) -> Result<Self> {
        if payload.format_version != FORMAT_VERSION {
            return Err(Error::Invalid(format!(
                "only version {FORMAT_VERSION} licenses are signed; version {} is verify-only",
                payload.format_version
            )));
        }
        payload.key_id = KeyId::of(&key.verifying_key());
        payload.normalize();
        let payload_bytes = payload.encode()?;
        let signature = signature::sign(LICENSE_CONTEXT, &payload_bytes, key);
        let license = Self {
            payload,
            payload_bytes,
            signature,
        };
        // The serial is the longer form; if it fits, so does the license file.
        let serial_len = license.to_serial().len();
        if serial_len > MAX_LICENSE_TEXT_LEN {
            return Err(Error::Invalid(format!(
                "license too large: its serial would be {serial_len} bytes, at most {MAX_LICENSE_TEXT_LEN} are accepted"
            )));
        }
        Ok(license)
    }

    /// The license content.
    pub fn payload(&self) -> &LicensePayload {
        &self.payload
    }

    /// The canonical payload bytes that were signed (after the context string).
    pub fn payload_bytes(&self) -> &[u8] {
        &self.payload_bytes
    }

    /// The 64-byte Ed25519 signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// `payload bytes || signature`: what the serial and the license file carry.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.payload_bytes.clone();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses `payload bytes || signature` (signature not checked).
    pub fn from_bytes(blob: &[u8]) -> Result<Self> {
        let (body, signature) = signature::split(blob)?;
        Ok(Self {
            payload: LicensePayload::decode(body)?,
            payload_bytes: body.to_vec(),
            signature,
        })
    }

    /// The serial key (`LD1-XXXXX-...`).
    pub fn to_serial(&self) -> String {
        serial::encode(&self.to_bytes())
    }

    /// The armored license file (LF line ends, ends with a newline).
    pub fn to_license_file(&self) -> String {
        license_file::encode(&self.to_bytes())
    }

    /// Parses a serial key (checksum checked, signature not).
    pub fn parse_serial(text: &str) -> Result<Self> {
        check_len(text, MAX_LICENSE_TEXT_LEN, "serial")?;
        Self::from_bytes(&serial::decode(text)?)
    }

    /// Parses a license file (signature not checked).
    pub fn parse_license_file(text: &str) -> Result<Self> {
        check_len(text, MAX_LICENSE_TEXT_LEN, "license file")?;
        Self::from_bytes(&license_file::decode(text)?)
    }

    /// Parses either form, told apart by the serial prefix or the armor line.
    pub fn parse(text: &str) -> Result<Self> {
        Self::from_bytes(&decode_text(text)?)
    }

    /// Checks only that one of `keys` signed the license (format version, key id and
    /// signature), not whether it holds now: what a license manager checks of a license
    /// another desk issued before storing it. Returns the key id.
    pub fn check_signature(&self, keys: &KeyRing) -> Result<crate::KeyId> {
        signature::check(
            LICENSE_CONTEXT,
            &LICENSE_VERSIONS,
            &self.payload_bytes,
            &self.signature,
            keys,
        )
    }

    /// Checks key id, signature and all license rules; see [`crate::verify`].
    pub fn verify(&self, keys: &KeyRing, ctx: &VerifyContext<'_>) -> Result<Verified> {
        signature::check(
            LICENSE_CONTEXT,
            &LICENSE_VERSIONS,
            &self.payload_bytes,
            &self.signature,
            keys,
        )?;
        check_rules(self.payload.clone(), ctx)
    }
}

/// Serial or license file text to signed license bytes.
pub(crate) fn decode_text(text: &str) -> Result<Vec<u8>> {
    check_len(text, MAX_LICENSE_TEXT_LEN, "license text")?;
    if serial::looks_like_serial(text) {
        serial::decode(text)
    } else if license_file::looks_like_license_file(text) {
        license_file::decode(text)
    } else {
        Err(malformed(format!(
            "neither a serial key ({}) nor a license file",
            serial::SERIAL_PREFIX
        )))
    }
}
