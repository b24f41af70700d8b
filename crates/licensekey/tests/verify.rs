//! End-to-end behaviour of signing and verification: every error variant,
//! grace, key rotation, revocation replay and non-malleability.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use licensekey::{
    Error, KeyRing, LicenseStatus, RevocationList, SignedLicense, SignedRevocationList,
    VerifyContext, verify, verify_revocation_list,
};

fn ring() -> KeyRing {
    KeyRing::new().with(key(1).verifying_key())
}

fn here<'a>(now: i64, fps: &'a [licensekey::Fingerprint]) -> VerifyContext<'a> {
    VerifyContext::at(now)
        .with_cluster(cluster())
        .with_ip("10.1.2.3".parse().unwrap())
        .with_fingerprints(fps)
}

#[test]
fn serial_and_file_verify_and_round_trip() {
    let lic = pro();
    let fps = fingerprints();
    for text in [lic.to_serial(), lic.to_license_file()] {
        let v = verify(&text, &ring(), &here(T0 + DAY, &fps)).unwrap();
        assert_eq!(v.status, LicenseStatus::Valid);
        assert_eq!(&v.payload, lic.payload());
        assert_eq!(SignedLicense::parse(&text).unwrap(), lic);
    }
    assert!(
        lic.payload().features.windows(2).all(|w| w[0] < w[1]),
        "sorted when signed"
    );
    assert_eq!(
        lic.verify(&ring(), &here(T0 + DAY, &fps)).unwrap().status,
        LicenseStatus::Valid
    );
}

#[test]
fn time_rules_and_grace() {
    let serial = pro().to_serial();
    let fps = fingerprints();
    let exp = T0 + 365 * DAY;
    assert!(matches!(
        verify(&serial, &ring(), &here(T0 - 1, &fps)),
        Err(Error::NotYetValid { .. })
    ));
    assert_eq!(
        verify(&serial, &ring(), &here(exp - 1, &fps))
            .unwrap()
            .status,
        LicenseStatus::Valid
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp, &fps)).unwrap().status,
        LicenseStatus::InGrace { days_left: 7 }
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp + 7 * DAY - 1, &fps))
            .unwrap()
            .status,
        LicenseStatus::InGrace { days_left: 1 }
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp + 7 * DAY, &fps)),
        Err(Error::Expired {
            expires_at: exp,
            grace_ended_at: exp + 7 * DAY
        })
    );
}

#[test]
fn binding_rules() {
    let serial = pro().to_serial();
    let fps = fingerprints();
    let two = [fps[0], fps[2]];
    let one = [fps[1]];
    let now = T0 + DAY;
    assert!(verify(&serial, &ring(), &here(now, &two)).is_ok());
    assert!(matches!(
        verify(&serial, &ring(), &here(now, &one)),
        Err(Error::WrongBinding(_))
    ));
    let other_cluster = here(now, &fps).with_cluster(licensekey::Uuid::from_bytes([2; 16]));
    assert!(matches!(
        verify(&serial, &ring(), &other_cluster),
        Err(Error::WrongBinding(_))
    ));
    let other_ip = here(now, &fps).with_ip("10.1.2.4".parse().unwrap());
    assert!(matches!(
        verify(&serial, &ring(), &other_ip),
        Err(Error::WrongBinding(_))
    ));
    assert!(matches!(
        verify(&serial, &ring(), &VerifyContext::at(now)),
        Err(Error::WrongBinding(_))
    ));
}

#[test]
fn keys_signatures_and_rotation() {
    let lic = pro();
    let fps = fingerprints();
    let ctx = here(T0 + DAY, &fps);
    let other = KeyRing::new().with(key(2).verifying_key());
    assert!(matches!(
        verify(&lic.to_serial(), &other, &ctx),
        Err(Error::UnknownKeyId(_))
    ));
    // Rotation: a ring with old and new keys accepts licenses from both.
    let both = ring().with(key(2).verifying_key());
    let newer = SignedLicense::sign(pro_payload(), &key(2)).unwrap();
    assert!(verify(&lic.to_serial(), &both, &ctx).is_ok());
    assert!(verify(&newer.to_serial(), &both, &ctx).is_ok());
    // Swapping the key id for another trusted key breaks the signature.
    let mut blob = newer.to_bytes();
    blob[1..9].copy_from_slice(&lic.payload().key_id.0);
    let forged = SignedLicense::from_bytes(&blob).unwrap();
    assert_eq!(forged.verify(&both, &ctx), Err(Error::BadSignature));
}

#[test]
fn any_changed_blob_byte_fails() {
    let lic = pro();
    let fps = fingerprints();
    let ctx = here(T0 + DAY, &fps);
    let blob = lic.to_bytes();
    for i in 0..blob.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = blob.clone();
            b[i] ^= bit;
            let r = SignedLicense::from_bytes(&b).and_then(|l| l.verify(&ring(), &ctx));
            assert!(r.is_err(), "byte {i} bit {bit:#x} accepted");
        }
    }
}

#[test]
fn text_changes_either_fail_or_keep_the_same_license() {
    let lic = pro();
    let fps = fingerprints();
    let ctx = here(T0 + DAY, &fps);
    let serial_repl: &[u8] = b"Aa0O-= \n+";
    let file_repl: &[u8] = b"Aa0O-= \n+";
    for (text, replacements) in [
        (lic.to_license_file(), file_repl),
        (lic.to_serial(), serial_repl),
    ] {
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            for &replacement in replacements {
                if bytes[i] == replacement {
                    continue;
                }
                let mut t = bytes.to_vec();
                t[i] = replacement;
                let Ok(t) = String::from_utf8(t) else {
                    continue;
                };
                if let Ok(v) = verify(&t, &ring(), &ctx) {
                    assert_eq!(&v.payload, lic.payload(), "changed text accepted: {t}");
                }
            }
        }
    }
}

#[test]
fn revocation_lists() {
    let lic = pro();
    let fps = fingerprints();
    let list = SignedRevocationList::sign(
        RevocationList::new(
            3,
            T0,
            vec![lic.payload().license_id, licensekey::Uuid::nil()],
        ),
        &key(1),
    )
    .unwrap();
    let text = list.to_file();
    let accepted = verify_revocation_list(&text, &ring(), Some(2)).unwrap();
    assert_eq!(accepted.sequence, 3);
    assert_eq!(
        verify_revocation_list(&text, &ring(), Some(4)),
        Err(Error::StaleRevocationList { seen: 4, got: 3 })
    );
    assert!(matches!(
        verify_revocation_list(&text, &KeyRing::new(), None),
        Err(Error::UnknownKeyId(_))
    ));
    let ctx = here(T0 + DAY, &fps).with_revocations(&accepted);
    assert_eq!(verify(&lic.to_serial(), &ring(), &ctx), Err(Error::Revoked));
    // A license signature is not a revocation list signature (domain separation).
    let as_list = text.replace("REVOCATION LIST", "LICENSE");
    assert!(verify(&as_list, &ring(), &ctx).is_err());
    assert_eq!(SignedRevocationList::parse(&text).unwrap(), list);
}

#[test]
fn invalid_payloads_are_refused_when_signing() {
    let mut p = pro_payload();
    p.binding.min_fingerprint_matches = 4;
    assert!(matches!(
        SignedLicense::sign(p, &key(1)),
        Err(Error::Invalid(_))
    ));
    let mut p = pro_payload();
    p.customer = "x".repeat(70_000);
    assert!(matches!(
        SignedLicense::sign(p, &key(1)),
        Err(Error::Invalid(_))
    ));
}
