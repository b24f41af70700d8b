#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chacha20poly1305::XNonce;
use chacha20poly1305::aead::AeadInOut;
use data_encoding::{BASE64, HEXLOWER, HEXUPPER};
use ed25519_dalek::{Signer, SigningKey, Verifier};

use crate::*;

const PASS: &str = "correct horse battery";
const T: KdfParams = KdfParams::TEST_ONLY;

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32])
}

fn sealed(byte: u8) -> SealedKey {
    seal("Signing key 2026", &key(byte), PASS, T, 1_767_225_600).unwrap()
}

/// Deterministic xorshift64* PRNG for the garbage tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn seal_open_round_trip() {
    let k = generate_signing_key().unwrap();
    let s = seal("Production", &k, PASS, T, 42).unwrap();
    assert_eq!(s.name(), "Production");
    assert_eq!(s.created_at(), 42);
    assert_eq!(s.kdf_params(), T);
    assert_eq!(s.public_key(), k.verifying_key().as_bytes());
    let opened = s.open(PASS).unwrap();
    assert_eq!(opened.to_bytes(), k.to_bytes());
    let sig = opened.sign(b"license payload");
    s.verifying_key()
        .unwrap()
        .verify(b"license payload", &sig)
        .unwrap();
}

#[test]
fn seal_uses_fresh_salt_and_nonce() {
    let a = sealed(1);
    let b = sealed(1);
    assert_ne!(a, b);
    assert_ne!(a.to_armored(), b.to_armored());
}

#[test]
fn generated_keys_differ() {
    let a = generate_signing_key().unwrap();
    let b = generate_signing_key().unwrap();
    assert_ne!(a.to_bytes(), b.to_bytes());
}

#[test]
fn wrong_passphrase() {
    let s = sealed(2);
    assert_eq!(
        s.open("correct horse battery!"),
        Err(VaultError::WrongPassphrase)
    );
    assert_eq!(s.open(""), Err(VaultError::WrongPassphrase));
}

#[test]
fn tampering_any_field_fails() {
    let original = sealed(3);
    type Tamper = fn(&mut SealedKey);
    let tampers: [(&str, Tamper); 8] = [
        ("name", |s| s.fields_mut().name.push('x')),
        ("public key", |s| {
            *s.fields_mut().public_key = key(4).verifying_key().to_bytes();
        }),
        ("created", |s| *s.fields_mut().created_at += 1),
        ("kdf t", |s| s.fields_mut().kdf.t_cost = 2),
        ("salt", |s| s.fields_mut().salt[0] ^= 1),
        ("nonce", |s| s.fields_mut().nonce[23] ^= 0x80),
        ("ciphertext", |s| s.fields_mut().ciphertext[5] ^= 4),
        ("tag", |s| s.fields_mut().tag[15] ^= 1),
    ];
    for (what, tamper) in tampers {
        let mut s = original.clone();
        tamper(&mut s);
        assert_ne!(s, original, "{what}");
        // It still serializes canonically, so the edit could come from an edited file.
        assert_eq!(SealedKey::from_armored(&s.to_armored()).unwrap(), s);
        assert_eq!(s.open(PASS), Err(VaultError::WrongPassphrase), "{what}");
    }
}

#[test]
fn tampered_name_in_file_fails() {
    let s = sealed(5);
    let text = s
        .to_armored()
        .replace("Name: Signing key 2026", "Name: Signing key 2027");
    let t = SealedKey::from_armored(&text).unwrap();
    assert_eq!(t.open(PASS), Err(VaultError::WrongPassphrase));
}

#[test]
fn public_key_mismatch_detected() {
    // Encrypt key 6's seed, but record (and authenticate) key 7's public key.
    let mut s = sealed(6);
    *s.fields_mut().public_key = key(7).verifying_key().to_bytes();
    let cipher = s.cipher(PASS).unwrap();
    let mut buf = key(6).to_bytes();
    let tag = cipher
        .encrypt_inout_detached(
            &XNonce::from(*s.fields_mut().nonce),
            &s.aad(),
            (&mut buf[..]).into(),
        )
        .unwrap();
    *s.fields_mut().ciphertext = buf;
    s.fields_mut().tag.copy_from_slice(&tag);
    assert_eq!(s.open(PASS), Err(VaultError::PublicKeyMismatch));
}

#[test]
fn armored_round_trip_and_shape() {
    let s = sealed(8);
    let text = s.to_armored();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 12, "11 lines + empty after final newline");
    assert_eq!(lines[0], BEGIN_LINE);
    assert_eq!(lines[1], "Version: 1");
    assert_eq!(lines[2], "Name: Signing key 2026");
    assert_eq!(
        lines[3],
        format!(
            "Public-Key: {}",
            BASE64.encode(key(8).verifying_key().as_bytes())
        )
    );
    assert_eq!(lines[4], "Created: 1767225600");
    assert_eq!(lines[5], "Kdf: argon2id m=8192 t=1 p=1");
    assert!(lines[6].starts_with("Salt: ") && lines[6].len() == 6 + 24);
    assert!(lines[7].starts_with("Nonce: ") && lines[7].len() == 7 + 32);
    assert_eq!(lines[8], "");
    assert_eq!(lines[9].len(), 64);
    assert_eq!(lines[10], END_LINE);
    assert_eq!(lines[11], "");

    let parsed = SealedKey::from_armored(&text).unwrap();
    assert_eq!(parsed, s);
    assert_eq!(parsed.to_armored(), text);
    assert_eq!(text.parse::<SealedKey>().unwrap(), s);
    assert_eq!(s.to_string(), text);
    assert_eq!(parsed.open(PASS).unwrap().to_bytes(), [8; 32]);
}

#[test]
fn negative_and_zero_created_round_trip() {
    for created in [0, -1, i64::MIN, i64::MAX] {
        let mut s = sealed(9);
        *s.fields_mut().created_at = created;
        assert_eq!(SealedKey::from_armored(&s.to_armored()).unwrap(), s);
    }
}

fn assert_malformed(text: &str, why: &str) {
    match SealedKey::from_armored(text) {
        Err(VaultError::Malformed(_)) => {}
        other => panic!("{why}: expected Malformed, got {other:?}"),
    }
}

#[test]
fn strict_parsing_rejects_variants() {
    let s = sealed(10);
    let text = s.to_armored();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let join = |ls: &[String]| ls.join("\n") + "\n";
    assert_eq!(join(&lines), text);

    assert_malformed("", "empty");
    assert_malformed("\n", "just a newline");
    assert_malformed(text.trim_end(), "no final newline");
    assert_malformed(&format!("{text}\n"), "extra blank line at end");
    assert_malformed(&format!("{text}x\n"), "trailing garbage");
    assert_malformed(&format!("\n{text}"), "leading blank line");
    assert_malformed(&format!(" {text}"), "leading space");
    assert_malformed(&format!("\u{feff}{text}"), "BOM");
    assert_malformed(&text.replace('\n', "\r\n"), "CRLF");
    assert_malformed(&text.replace("Name: ", "Name:  "), "double space");
    assert_malformed(&text.replace("Name: ", "Name:"), "no space");
    assert_malformed(&text.replace("Name: ", "name: "), "lowercase field");
    assert_malformed(&text.replace("Created: ", "Created: +"), "plus sign");
    assert_malformed(&text.replace("Created: ", "Created: 0"), "leading zero");
    assert_malformed(&text.replace("Version: 1", "Version: 01"), "version 01");
    assert_malformed(&text.replace("Version: 1", "Version: x"), "version x");
    assert_malformed(&text.replace("m=8192", "m=08192"), "kdf leading zero");
    assert_malformed(&text.replace("argon2id", "argon2i"), "kdf algorithm");
    assert_malformed(&text.replace(" t=1", "  t=1"), "kdf double space");
    assert_malformed(&text.replace(" p=1", " p=1 "), "kdf trailing space");
    assert_malformed(&text.replace(" p=1", " p=1 x=2"), "kdf extra field");
    assert_malformed(&text.replace(" p=1", ""), "kdf missing field");
    assert_malformed(&text.replace("BEGIN LICENSE", "BEGIN  LICENSE"), "begin");
    assert_malformed(&text.replace("END LICENSE", "END LICENSE "), "end");

    for i in 0..lines.len() {
        let mut ls = lines.clone();
        ls.remove(i);
        assert_malformed(&join(&ls), &format!("missing line {i}"));
        let mut ls = lines.clone();
        ls[i].push(' ');
        assert_malformed(&join(&ls), &format!("trailing space on line {i}"));
        let mut ls = lines.clone();
        ls.insert(i, String::new());
        assert_malformed(&join(&ls), &format!("blank line before line {i}"));
        if i + 1 < lines.len() {
            let mut ls = lines.clone();
            ls.swap(i, i + 1);
            assert_malformed(&join(&ls), &format!("lines {i} and {} swapped", i + 1));
        }
    }

    // base64: unpadded, non-canonical trailing bits, wrong alphabet, wrong length.
    let salt_line = lines[6].clone();
    let salt_b64 = salt_line.strip_prefix("Salt: ").unwrap();
    let unpadded = salt_b64.trim_end_matches('=');
    assert_malformed(
        &text.replace(&salt_line, &format!("Salt: {unpadded}")),
        "unpadded",
    );
    // 16 bytes = 22 significant chars; the last one carries 4 unused bits.
    let mut chars: Vec<char> = salt_b64.chars().collect();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let idx = alphabet.find(chars[21]).unwrap();
    chars[21] = alphabet
        .chars()
        .nth((idx & !0xF) | ((idx + 1) & 0xF))
        .unwrap();
    let noncanon: String = chars.into_iter().collect();
    assert_malformed(
        &text.replace(&salt_line, &format!("Salt: {noncanon}")),
        "trailing bits",
    );
    let urlsafe = BASE64
        .encode(&[0xfb; 16])
        .replace('+', "-")
        .replace('/', "_");
    assert_malformed(
        &text.replace(&salt_line, &format!("Salt: {urlsafe}")),
        "url-safe",
    );
    let short = BASE64.encode(&[1; 15]);
    assert_malformed(
        &text.replace(&salt_line, &format!("Salt: {short}")),
        "15-byte salt",
    );

    // Not a valid Ed25519 point (y = 2 does not decompress).
    let mut bad = [0u8; 32];
    bad[0] = 2;
    assert_malformed(
        &text.replace(&lines[3], &format!("Public-Key: {}", BASE64.encode(&bad))),
        "invalid point",
    );

    // Names that seal() would refuse are refused when parsed as well.
    assert_malformed(
        &text.replace("Name: Signing key 2026", "Name: "),
        "empty name",
    );
    assert_malformed(
        &text.replace("Name: Signing", "Name:  Signing"),
        "leading space",
    );
    assert_malformed(&text.replace("key 2026", "key\t2026"), "tab in name");
    let long = "n".repeat(MAX_NAME_BYTES + 1);
    assert_malformed(&text.replace("Signing key 2026", &long), "long name");
}

#[test]
fn version_and_kdf_errors_are_distinct() {
    let text = sealed(11).to_armored();
    assert_eq!(
        SealedKey::from_armored(&text.replace("Version: 1", "Version: 2")),
        Err(VaultError::UnsupportedVersion(2))
    );
    // A future version's body may differ; the version error wins over whatever follows.
    let future = format!("{BEGIN_LINE}\nVersion: 7\nSomething-Else: ?\n");
    assert_eq!(
        SealedKey::from_armored(&future),
        Err(VaultError::UnsupportedVersion(7))
    );
    let hostile = text.replace("m=8192 t=1", "m=4294967295 t=4294967295");
    assert_eq!(
        SealedKey::from_armored(&hostile),
        Err(VaultError::KdfParamsOutOfRange(KdfParams {
            m_cost_kib: u32::MAX,
            t_cost: u32::MAX,
            p_cost: 1
        }))
    );
    assert_malformed(&text.replace("m=8192", "m=4294967296"), "m overflows u32");
}

#[test]
fn kdf_bounds() {
    assert!(KdfParams::INTERACTIVE.check().is_ok());
    assert!(KdfParams::IMPORT_FLOOR.check().is_ok());
    assert!(KdfParams::INTERACTIVE.at_least(&KdfParams::IMPORT_FLOOR));
    assert!(!KdfParams::TEST_ONLY.at_least(&KdfParams::IMPORT_FLOOR));
    let fewer_passes = KdfParams {
        t_cost: 2,
        ..KdfParams::IMPORT_FLOOR
    };
    assert!(!fewer_passes.at_least(&KdfParams::IMPORT_FLOOR));
    assert!(KdfParams::TEST_ONLY.check().is_ok());
    let max = KdfParams {
        m_cost_kib: 1024 * 1024,
        t_cost: 10,
        p_cost: 4,
    };
    assert!(max.check().is_ok());
    let bad = [
        KdfParams {
            m_cost_kib: 8191,
            ..T
        },
        KdfParams {
            m_cost_kib: 1024 * 1024 + 1,
            ..T
        },
        KdfParams { t_cost: 0, ..T },
        KdfParams { t_cost: 11, ..T },
        KdfParams { p_cost: 0, ..T },
        KdfParams { p_cost: 5, ..T },
    ];
    for p in bad {
        assert_eq!(p.check(), Err(VaultError::KdfParamsOutOfRange(p)));
        assert_eq!(
            seal("k", &key(12), PASS, p, 0).unwrap_err(),
            VaultError::KdfParamsOutOfRange(p)
        );
    }
}

#[test]
fn hostile_kdf_params_refused_before_argon2() {
    let mut s = sealed(13);
    // If this reached Argon2 it would try to allocate 4 TiB and run 4 billion passes.
    let hostile = KdfParams {
        m_cost_kib: u32::MAX,
        t_cost: u32::MAX,
        p_cost: u32::MAX,
    };
    *s.fields_mut().kdf = hostile;
    let start = Instant::now();
    assert_eq!(s.open(PASS), Err(VaultError::KdfParamsOutOfRange(hostile)));
    assert_eq!(
        s.change_passphrase(PASS, "another long passphrase", T),
        Err(VaultError::KdfParamsOutOfRange(hostile))
    );
    let mut session = Session::new(Duration::from_secs(60));
    assert_eq!(
        session.unlock(&s, PASS, Instant::now()),
        Err(VaultError::KdfParamsOutOfRange(hostile))
    );
    assert!(session.is_empty());
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[test]
fn weak_passphrase_and_bad_names_refused_on_seal() {
    let k = key(14);
    assert_eq!(
        seal("k", &k, "123456789", T, 0).unwrap_err(),
        VaultError::WeakPassphrase { min_chars: 10 }
    );
    assert_eq!(
        seal("k", &k, "", T, 0).unwrap_err(),
        VaultError::WeakPassphrase { min_chars: 10 }
    );
    // Counted in characters, not bytes: 9 two-byte characters are still too short.
    assert!(matches!(
        seal("k", &k, "ééééééééé", T, 0),
        Err(VaultError::WeakPassphrase { .. })
    ));
    for name in [
        "",
        " lead",
        "trail ",
        "new\nline",
        "tab\t",
        "nul\0",
        "\u{2028}",
    ] {
        assert!(
            matches!(seal(name, &k, PASS, T, 0), Err(VaultError::InvalidName(_))),
            "{name:?}"
        );
    }
    assert!(matches!(
        seal(&"x".repeat(101), &k, PASS, T, 0),
        Err(VaultError::InvalidName(_))
    ));
    // Unicode names and passphrases are fine; opening does not enforce the minimum.
    let s = seal("Schlüssel: 本番", &k, "ééééééééééé", T, 0).unwrap();
    let s = SealedKey::from_armored(&s.to_armored()).unwrap();
    assert_eq!(s.name(), "Schlüssel: 本番");
    assert_eq!(s.open("ééééééééééé").unwrap().to_bytes(), k.to_bytes());
}

#[test]
fn change_passphrase_works() {
    let s = sealed(15);
    const NEW: &str = "a different passphrase";
    assert_eq!(
        s.change_passphrase(PASS, "short", T),
        Err(VaultError::WeakPassphrase { min_chars: 10 })
    );
    assert_eq!(
        s.change_passphrase("not the passphrase", NEW, T),
        Err(VaultError::WrongPassphrase)
    );
    let c = s.change_passphrase(PASS, NEW, T).unwrap();
    assert_eq!(c.name(), s.name());
    assert_eq!(c.public_key(), s.public_key());
    assert_eq!(c.created_at(), s.created_at());
    assert_ne!(c.fields_mut_clone_salt(), s.fields_mut_clone_salt());
    assert_eq!(c.open(NEW).unwrap().to_bytes(), [15; 32]);
    assert_eq!(c.open(PASS), Err(VaultError::WrongPassphrase));
    // The original is untouched.
    assert_eq!(s.open(PASS).unwrap().to_bytes(), [15; 32]);
}

impl SealedKey {
    fn fields_mut_clone_salt(&self) -> [u8; 16] {
        *self.clone().fields_mut().salt
    }
}

#[test]
fn garbage_never_panics_and_edits_never_alias() {
    let original = sealed(16);
    let text = original.to_armored();
    let bytes = text.as_bytes();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed_ok = 0;
    let mut check = |candidate: &[u8]| {
        let Ok(s) = std::str::from_utf8(candidate) else {
            return;
        };
        if let Ok(k) = SealedKey::from_armored(s) {
            // Exactly one encoding per key: any accepted edit is a different key and
            // re-serializes to exactly the edited text.
            assert_eq!(k.to_armored(), s);
            if s != text {
                assert_ne!(k, original);
                parsed_ok += 1;
            }
        }
    };

    // Every truncation.
    for len in 0..bytes.len() {
        check(&bytes[..len]);
    }
    // Single bit flips at random positions.
    for _ in 0..3000 {
        let mut b = bytes.to_vec();
        let i = rng.below(b.len());
        b[i] ^= 1 << rng.below(8);
        check(&b);
    }
    // Byte insertions, deletions and multi-byte corruption.
    for _ in 0..2000 {
        let mut b = bytes.to_vec();
        match rng.below(3) {
            0 => b.insert(rng.below(b.len() + 1), rng.next() as u8),
            1 => {
                b.remove(rng.below(b.len()));
            }
            _ => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(b.len());
                    b[i] = rng.next() as u8;
                }
            }
        }
        check(&b);
    }
    // Pure garbage, printable and not.
    for _ in 0..500 {
        let len = rng.below(600);
        let b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&b);
        let s: String = (0..len)
            .map(|_| char::from(b' ' + (rng.next() % 95) as u8))
            .collect();
        check(s.as_bytes());
    }
    // Some bit flips land in base64 or digits and still parse; that path must be exercised.
    assert!(parsed_ok > 0);
}

#[test]
fn session_unlock_use_and_idle_lock() {
    let t0 = Instant::now();
    let min = Duration::from_secs(60);
    let s = sealed(17);
    let pk = *s.public_key();
    let mut session = Session::new(Duration::from_secs(15 * 60));

    assert!(!session.is_unlocked(&pk));
    assert!(session.signing_key(&pk, t0).is_none());
    assert_eq!(
        session.unlock(&s, "wrong passphrase", t0),
        Err(VaultError::WrongPassphrase)
    );
    assert!(session.is_empty());

    assert_eq!(session.unlock(&s, PASS, t0).unwrap(), pk);
    assert!(session.is_unlocked(&pk));
    assert_eq!(
        session.unlocked(),
        vec![(pk, "Signing key 2026".to_owned())]
    );

    // A second key, opened elsewhere and handed over, used later.
    let pk2 = session.insert("second", key(18), t0 + 5 * min);
    assert_eq!(session.len(), 2);

    // Use at t0+4min refreshes key 1.
    let sig = session.signing_key(&pk, t0 + 4 * min).unwrap().sign(b"x");
    s.verifying_key().unwrap().verify(b"x", &sig).unwrap();

    // Nothing idle yet.
    assert_eq!(session.lock_if_idle(t0 + 10 * min, 10 * min), 0);
    // Key 1 idle 10 min at t0+14min (>= idle locks), key 2 only 9 min.
    assert_eq!(session.lock_if_idle(t0 + 14 * min, 10 * min), 1);
    assert!(!session.is_unlocked(&pk));
    assert!(session.is_unlocked(&pk2));
    assert!(session.signing_key(&pk, t0 + 14 * min).is_none());

    // A clock that appears to go backwards does not extend or break anything.
    assert!(session.signing_key(&pk2, t0).is_some());
    assert_eq!(session.lock_if_idle(t0 + 15 * min, 10 * min), 1);
    assert!(session.is_empty());

    // lock / lock_all.
    session.insert("a", key(19), t0);
    let pk3 = session.insert("b", key(20), t0);
    assert!(session.lock(&pk3));
    assert!(!session.lock(&pk3));
    session.insert("b", key(20), t0);
    assert_eq!(session.lock_all(), 2);
    assert_eq!(session.lock_all(), 0);
}

#[test]
fn session_enforces_its_idle_timeout_without_a_tick() {
    let t0 = Instant::now();
    let mut session = Session::new(Duration::from_secs(300));
    let pk = session.insert("k", key(21), t0);
    assert!(
        session
            .signing_key(&pk, t0 + Duration::from_secs(299))
            .is_some()
    );
    // Refreshed at 299 s, so 598 s is still fine.
    assert!(
        session
            .signing_key(&pk, t0 + Duration::from_secs(598))
            .is_some()
    );
    // 300 s after the last use: refused and locked.
    assert!(
        session
            .signing_key(&pk, t0 + Duration::from_secs(898))
            .is_none()
    );
    assert!(!session.is_unlocked(&pk));

    session.insert("k", key(21), t0);
    session.set_idle_timeout(Duration::from_secs(10));
    assert_eq!(session.idle_timeout(), Duration::from_secs(10));
    assert!(
        session
            .signing_key(&pk, t0 + Duration::from_secs(10))
            .is_none()
    );
}

#[test]
fn debug_output_never_contains_the_seed() {
    let seed: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let k = SigningKey::from_bytes(&seed);
    let s = seal("debug test", &k, PASS, T, 0).unwrap();
    let mut session = Session::new(Duration::from_secs(60));
    session.unlock(&s, PASS, Instant::now()).unwrap();
    let pk = *s.public_key();
    let outputs = [
        format!("{s:?}"),
        format!("{s:#?}"),
        format!("{session:?}"),
        format!("{session:#?}"),
        format!("{:?}", session.signing_key(&pk, Instant::now()).unwrap()),
        format!("{:?}", VaultError::WrongPassphrase),
        s.to_armored(),
    ];
    let forbidden = [
        HEXLOWER.encode(&seed),
        HEXUPPER.encode(&seed),
        BASE64.encode(&seed),
        format!("{:?}", &seed[..8]).trim_end_matches(']').to_owned(),
        format!("{:#?}", &seed[..4])
            .trim_end_matches(']')
            .to_owned(),
    ];
    for out in &outputs {
        for f in &forbidden {
            assert!(!out.contains(f.as_str()), "{out} contains {f}");
        }
    }
    assert!(format!("{session:?}").contains(&BASE64.encode(&pk)));
}

#[test]
fn aad_layout_matches_the_documented_format() {
    let s = sealed(22);
    let aad = s.aad();
    let mut expected = b"License Desk encrypted signing key\0".to_vec();
    assert_eq!(expected.len(), 35);
    expected.extend_from_slice(&1u32.to_be_bytes());
    expected.extend_from_slice(&16u32.to_be_bytes());
    expected.extend_from_slice(b"Signing key 2026");
    expected.extend_from_slice(key(22).verifying_key().as_bytes());
    expected.extend_from_slice(&1_767_225_600i64.to_be_bytes());
    for v in [8192u32, 1, 1] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    let mut c = s.clone();
    expected.extend_from_slice(c.fields_mut().salt);
    expected.extend_from_slice(c.fields_mut().nonce);
    assert_eq!(aad, expected);
}
