//! [`SealedKey`]: sealing, opening and the armored text form (see the crate docs for the format).

use std::fmt;
use std::str::FromStr;

use argon2::{Algorithm, Argon2, Version};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use data_encoding::BASE64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{BEGIN_LINE, END_LINE, FORMAT_VERSION, KdfParams, VaultError};

/// Minimum passphrase length in characters (Unicode scalar values), enforced when sealing.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
/// Maximum key name length in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 100;

const SEED_LEN: usize = 32;
const TAG_LEN: usize = 16;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const AAD_CONTEXT: &[u8] = b"License Desk encrypted signing key\0";

/// An Ed25519 signing key encrypted under a passphrase, with its public metadata.
///
/// Holds no secret: the seed is only present as ciphertext. Obtain one with [`seal`] or by
/// parsing the armored text ([`SealedKey::from_armored`] / [`str::parse`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    name: String,
    public_key: [u8; 32],
    created_at: i64,
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: [u8; SEED_LEN],
    tag: [u8; TAG_LEN],
}

/// Generates a fresh Ed25519 signing key from the OS random source.
///
/// # Errors
/// [`VaultError::Crypto`] when the OS random source fails.
pub fn generate_signing_key() -> Result<SigningKey, VaultError> {
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    random_fill(seed.as_mut())?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Encrypts `key` under `passphrase` with fresh random salt and nonce.
///
/// `created_at` is unix seconds (the caller's injected clock).
///
/// # Errors
/// [`VaultError::InvalidName`], [`VaultError::WeakPassphrase`] (fewer than
/// [`MIN_PASSPHRASE_CHARS`] characters), [`VaultError::KdfParamsOutOfRange`], or
/// [`VaultError::Crypto`] if randomness or Argon2 fails.
pub fn seal(
    name: &str,
    key: &SigningKey,
    passphrase: &str,
    params: KdfParams,
    created_at: i64,
) -> Result<SealedKey, VaultError> {
    check_name(name)?;
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::WeakPassphrase {
            min_chars: MIN_PASSPHRASE_CHARS,
        });
    }
    params.check()?;

    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    random_fill(&mut salt)?;
    random_fill(&mut nonce)?;

    let mut sealed = SealedKey {
        name: name.to_owned(),
        public_key: key.verifying_key().to_bytes(),
        created_at,
        kdf: params,
        salt,
        nonce,
        ciphertext: [0u8; SEED_LEN],
        tag: [0u8; TAG_LEN],
    };

    let cipher = sealed.cipher(passphrase)?;
    let mut buf = Zeroizing::new([0u8; SEED_LEN]);
    buf.copy_from_slice(key.as_bytes());
    let tag = cipher
        .encrypt_inout_detached(
            &XNonce::from(sealed.nonce),
            &sealed.aad(),
            (&mut buf[..]).into(),
        )
        .map_err(|_| VaultError::Crypto("encryption failed".to_owned()))?;
    // `buf` now holds ciphertext (and is still wiped on drop).
    sealed.ciphertext.copy_from_slice(&buf[..]);
    sealed.tag.copy_from_slice(&tag);
    Ok(sealed)
}

impl SealedKey {
    /// Decrypts the signing key.
    ///
    /// The KDF parameters are checked before any Argon2 work; after decryption the seed's public
    /// key must equal the recorded one.
    ///
    /// # Errors
    /// [`VaultError::KdfParamsOutOfRange`], [`VaultError::WrongPassphrase`] (wrong passphrase
    /// or altered file), [`VaultError::PublicKeyMismatch`], or [`VaultError::Crypto`] if Argon2
    /// fails (e.g. cannot allocate its memory).
    pub fn open(&self, passphrase: &str) -> Result<SigningKey, VaultError> {
        self.kdf.check()?;
        let cipher = self.cipher(passphrase)?;
        let mut seed = Zeroizing::new(self.ciphertext);
        let tag = Tag::from(self.tag);
        cipher
            .decrypt_inout_detached(
                &XNonce::from(self.nonce),
                &self.aad(),
                (&mut seed[..]).into(),
                &tag,
            )
            .map_err(|_| VaultError::WrongPassphrase)?;
        let key = SigningKey::from_bytes(&seed);
        if key.verifying_key().as_bytes() != &self.public_key {
            return Err(VaultError::PublicKeyMismatch);
        }
        Ok(key)
    }

    /// Re-encrypts the key under `new` passphrase and `params` (fresh salt and nonce), keeping
    /// the name, public key and creation time.
    ///
    /// # Errors
    /// Any error of [`SealedKey::open`] for `old`, then any error of [`seal`] for `new`.
    pub fn change_passphrase(
        &self,
        old: &str,
        new: &str,
        params: KdfParams,
    ) -> Result<SealedKey, VaultError> {
        // Check the cheap requirements first so a weak new passphrase costs no Argon2 run.
        if new.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(VaultError::WeakPassphrase {
                min_chars: MIN_PASSPHRASE_CHARS,
            });
        }
        params.check()?;
        let key = self.open(old)?;
        seal(&self.name, &key, new, params, self.created_at)
    }

    /// The key's display name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-byte Ed25519 public key (the key's identity).
    #[must_use]
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The public key as an `ed25519_dalek` verifying key.
    ///
    /// # Errors
    /// Cannot fail for a key from [`seal`] or the parser (both validate the point); kept as a
    /// `Result` rather than panicking.
    pub fn verifying_key(&self) -> Result<VerifyingKey, VaultError> {
        VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| VaultError::Malformed("public key is not a valid Ed25519 point".into()))
    }

    /// Creation time, unix seconds.
    #[must_use]
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// The Argon2id parameters this key was sealed with.
    #[must_use]
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf
    }

    /// The armored "encrypted key file" text; also the form stored in the database.
    #[must_use]
    pub fn to_armored(&self) -> String {
        format!(
            "{BEGIN_LINE}\n\
             Version: {FORMAT_VERSION}\n\
             Name: {}\n\
             Public-Key: {}\n\
             Created: {}\n\
             Kdf: {}\n\
             Salt: {}\n\
             Nonce: {}\n\
             \n\
             {}\n\
             {END_LINE}\n",
            self.name,
            BASE64.encode(&self.public_key),
            self.created_at,
            self.kdf,
            BASE64.encode(&self.salt),
            BASE64.encode(&self.nonce),
            BASE64.encode(&self.ct_and_tag()),
        )
    }

    /// Parses the armored text; accepts exactly the form [`SealedKey::to_armored`] writes.
    ///
    /// # Errors
    /// [`VaultError::Malformed`] with the reason, [`VaultError::UnsupportedVersion`], or
    /// [`VaultError::KdfParamsOutOfRange`]. Never panics on any input.
    pub fn from_armored(text: &str) -> Result<SealedKey, VaultError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("text must end with a single newline after the END line"))?;
        let mut lines = body.split('\n');
        let mut line_no = 0usize;
        let mut next_line = || {
            line_no += 1;
            lines
                .next()
                .map(|l| (line_no, l))
                .ok_or_else(|| malformed(format!("line {line_no}: missing (file is truncated)")))
        };

        let (n, l) = next_line()?;
        if l != BEGIN_LINE {
            return Err(malformed(format!("line {n}: expected `{BEGIN_LINE}`")));
        }

        let version: u32 = parse_decimal("Version", header(next_line()?, "Version")?)?;
        if version != FORMAT_VERSION {
            return Err(VaultError::UnsupportedVersion(version));
        }

        let name = header(next_line()?, "Name")?;
        check_name(name).map_err(|e| malformed(format!("Name: {e}")))?;

        let public_key: [u8; 32] = parse_base64("Public-Key", header(next_line()?, "Public-Key")?)?;
        if VerifyingKey::from_bytes(&public_key).is_err() {
            return Err(malformed("Public-Key: not a valid Ed25519 public key"));
        }

        let created_at: i64 = parse_decimal("Created", header(next_line()?, "Created")?)?;
        let kdf = parse_kdf(header(next_line()?, "Kdf")?)?;
        kdf.check()?;
        let salt: [u8; SALT_LEN] = parse_base64("Salt", header(next_line()?, "Salt")?)?;
        let nonce: [u8; NONCE_LEN] = parse_base64("Nonce", header(next_line()?, "Nonce")?)?;

        let (n, l) = next_line()?;
        if !l.is_empty() {
            return Err(malformed(format!(
                "line {n}: expected an empty line after the headers"
            )));
        }

        let (_, l) = next_line()?;
        let ct: [u8; SEED_LEN + TAG_LEN] = parse_base64("ciphertext", l)?;

        let (n, l) = next_line()?;
        if l != END_LINE {
            return Err(malformed(format!("line {n}: expected `{END_LINE}`")));
        }
        if lines.next().is_some() {
            return Err(malformed("trailing data after the END line"));
        }

        let mut ciphertext = [0u8; SEED_LEN];
        let mut tag = [0u8; TAG_LEN];
        ciphertext.copy_from_slice(&ct[..SEED_LEN]);
        tag.copy_from_slice(&ct[SEED_LEN..]);
        let sealed = SealedKey {
            name: name.to_owned(),
            public_key,
            created_at,
            kdf,
            salt,
            nonce,
            ciphertext,
            tag,
        };
        // Belt and braces: exactly one accepted encoding.
        if sealed.to_armored() != text {
            return Err(malformed("not in canonical form"));
        }
        Ok(sealed)
    }

    fn ct_and_tag(&self) -> [u8; SEED_LEN + TAG_LEN] {
        let mut out = [0u8; SEED_LEN + TAG_LEN];
        out[..SEED_LEN].copy_from_slice(&self.ciphertext);
        out[SEED_LEN..].copy_from_slice(&self.tag);
        out
    }

    /// Associated data binding all public fields (layout in the crate docs).
    pub(crate) fn aad(&self) -> Vec<u8> {
        let name = self.name.as_bytes();
        let mut aad = Vec::with_capacity(AAD_CONTEXT.len() + 4 + 4 + name.len() + 32 + 8 + 12 + 40);
        aad.extend_from_slice(AAD_CONTEXT);
        aad.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        // Names are at most MAX_NAME_BYTES, so the length always fits in a u32.
        let name_len = u32::try_from(name.len()).unwrap_or(u32::MAX);
        aad.extend_from_slice(&name_len.to_be_bytes());
        aad.extend_from_slice(name);
        aad.extend_from_slice(&self.public_key);
        aad.extend_from_slice(&self.created_at.to_be_bytes());
        aad.extend_from_slice(&self.kdf.m_cost_kib.to_be_bytes());
        aad.extend_from_slice(&self.kdf.t_cost.to_be_bytes());
        aad.extend_from_slice(&self.kdf.p_cost.to_be_bytes());
        aad.extend_from_slice(&self.salt);
        aad.extend_from_slice(&self.nonce);
        aad
    }

    /// Derives the AEAD key with Argon2id and builds the cipher (which wipes its key on drop).
    pub(crate) fn cipher(&self, passphrase: &str) -> Result<XChaCha20Poly1305, VaultError> {
        self.kdf.check()?;
        let params = argon2::Params::new(
            self.kdf.m_cost_kib,
            self.kdf.t_cost,
            self.kdf.p_cost,
            Some(32),
        )
        .map_err(|e| VaultError::Crypto(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), &self.salt, &mut key[..])
            .map_err(|e| VaultError::Crypto(format!("argon2: {e}")))?;
        XChaCha20Poly1305::new_from_slice(&key[..])
            .map_err(|_| VaultError::Crypto("bad AEAD key length".to_owned()))
    }

    #[cfg(test)]
    pub(crate) fn fields_mut(&mut self) -> TestFields<'_> {
        TestFields {
            name: &mut self.name,
            public_key: &mut self.public_key,
            created_at: &mut self.created_at,
            kdf: &mut self.kdf,
            salt: &mut self.salt,
            nonce: &mut self.nonce,
            ciphertext: &mut self.ciphertext,
            tag: &mut self.tag,
        }
    }
}

/// Mutable access to every field, for tamper tests.
#[cfg(test)]
pub(crate) struct TestFields<'a> {
    pub name: &'a mut String,
    pub public_key: &'a mut [u8; 32],
    pub created_at: &'a mut i64,
    pub kdf: &'a mut KdfParams,
    pub salt: &'a mut [u8; SALT_LEN],
    pub nonce: &'a mut [u8; NONCE_LEN],
    pub ciphertext: &'a mut [u8; SEED_LEN],
    pub tag: &'a mut [u8; TAG_LEN],
}

impl fmt::Debug for SealedKey {
    /// Public metadata only (the ciphertext is not secret, but is left out as noise).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedKey")
            .field("name", &self.name)
            .field("public_key", &BASE64.encode(&self.public_key))
            .field("created_at", &self.created_at)
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SealedKey {
    /// The armored text ([`SealedKey::to_armored`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_armored())
    }
}

impl FromStr for SealedKey {
    type Err = VaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SealedKey::from_armored(s)
    }
}

fn malformed(reason: impl Into<String>) -> VaultError {
    VaultError::Malformed(reason.into())
}

fn random_fill(buf: &mut [u8]) -> Result<(), VaultError> {
    getrandom::fill(buf).map_err(|e| VaultError::Crypto(format!("OS random source: {e}")))
}

fn check_name(name: &str) -> Result<(), VaultError> {
    if name.is_empty() {
        return Err(VaultError::InvalidName("empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(VaultError::InvalidName("longer than 100 bytes"));
    }
    if name
        .chars()
        .any(|c| c != ' ' && (c.is_control() || c.is_whitespace()))
    {
        return Err(VaultError::InvalidName(
            "contains a control character or whitespace other than a space",
        ));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(VaultError::InvalidName("leading or trailing space"));
    }
    Ok(())
}

/// `Field: value` on line `n`; returns the value.
fn header<'a>((n, line): (usize, &'a str), field: &str) -> Result<&'a str, VaultError> {
    line.strip_prefix(field)
        .and_then(|rest| rest.strip_prefix(": "))
        .ok_or_else(|| malformed(format!("line {n}: expected `{field}: …`")))
}

/// Canonical decimal: whatever Rust's parser accepts, re-printed identically (rejects `+1`,
/// `01`, `-0`, spaces).
fn parse_decimal<T: FromStr + ToString>(field: &str, s: &str) -> Result<T, VaultError> {
    let v: T = s
        .parse()
        .map_err(|_| malformed(format!("{field}: not a decimal number in range")))?;
    if v.to_string() != s {
        return Err(malformed(format!("{field}: non-canonical number")));
    }
    Ok(v)
}

fn parse_base64<const N: usize>(field: &str, s: &str) -> Result<[u8; N], VaultError> {
    let bytes = BASE64
        .decode(s.as_bytes())
        .map_err(|e| malformed(format!("{field}: invalid base64 ({e})")))?;
    let out: [u8; N] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| malformed(format!("{field}: expected {N} bytes, got {}", bytes.len())))?;
    if BASE64.encode(&out) != s {
        return Err(malformed(format!("{field}: non-canonical base64")));
    }
    Ok(out)
}

fn parse_kdf(s: &str) -> Result<KdfParams, VaultError> {
    let bad = || malformed("Kdf: expected `argon2id m=<KiB> t=<passes> p=<lanes>`");
    let rest = s.strip_prefix("argon2id ").ok_or_else(bad)?;
    let mut parts = rest.split(' ');
    let mut field = |prefix: &str| -> Result<u32, VaultError> {
        let part = parts.next().ok_or_else(bad)?;
        let v = part.strip_prefix(prefix).ok_or_else(bad)?;
        parse_decimal("Kdf", v)
    };
    let m_cost_kib = field("m=")?;
    let t_cost = field("t=")?;
    let p_cost = field("p=")?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(KdfParams {
        m_cost_kib,
        t_cost,
        p_cost,
    })
}
