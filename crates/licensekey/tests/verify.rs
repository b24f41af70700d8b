//! End-to-end behaviour of signing and verification: every error variant,
//! product, grace, key rotation, revocation (ids, keys, replay, freshness),
//! machine binding, old versions and non-malleability.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use licensekey::{
    Error, KeyId, KeyRing, LicenseRequest, LicenseStatus, MachineInfo, RevocationCheck,
    RevocationList, RevocationState, SequenceTag, SignedLicense, SignedRevocationList, Uuid,
    VerifyContext, verify, verify_revocation_list,
};

fn ring() -> KeyRing {
    KeyRing::new().with(key(1).verifying_key()).unwrap()
}

fn here(now: i64, machine: &MachineInfo) -> VerifyContext<'_> {
    VerifyContext::for_product(PRODUCT, now)
        .with_cluster(cluster())
        .with_ip("10.1.2.3".parse().unwrap())
        .with_machine(machine)
}

fn list(sequence: u64, issued_at: i64, revoked: Vec<Uuid>) -> RevocationList {
    RevocationList::new(sequence, issued_at, issued_at + 30 * DAY, revoked)
}

#[test]
fn serial_and_file_verify_and_round_trip() {
    let lic = pro();
    let m = machine();
    for text in [lic.to_serial(), lic.to_license_file()] {
        let v = verify(&text, &ring(), &here(T0 + DAY, &m)).unwrap();
        assert_eq!(v.status, LicenseStatus::Valid);
        assert_eq!(&v.payload, lic.payload());
        assert_eq!(SignedLicense::parse(&text).unwrap(), lic);
    }
    assert!(
        lic.payload().features.windows(2).all(|w| w[0] < w[1]),
        "sorted when signed"
    );
    assert_eq!(lic.payload().format_version, licensekey::FORMAT_VERSION);
    assert_eq!(
        lic.verify(&ring(), &here(T0 + DAY, &m)).unwrap().status,
        LicenseStatus::Valid
    );
}

#[test]
fn a_license_for_another_product_is_refused() {
    let lic = pro();
    let m = machine();
    let other = VerifyContext::for_product("Backup", T0 + DAY)
        .with_cluster(cluster())
        .with_ip("10.1.2.3".parse().unwrap())
        .with_machine(&m);
    assert_eq!(
        verify(&lic.to_serial(), &ring(), &other),
        Err(Error::WrongProduct {
            expected: "Backup".into(),
            found: PRODUCT.into()
        })
    );
    // Byte for byte: no case folding, no trimming.
    for near in ["storage", "Storage ", "STORAGE"] {
        let ctx = VerifyContext::for_product(near, T0 + DAY);
        assert!(matches!(
            verify(&lic.to_serial(), &ring(), &ctx),
            Err(Error::WrongProduct { .. })
        ));
    }
    // The vendor's own tools may look at any product.
    let any = VerifyContext::any_product(T0 + DAY)
        .with_cluster(cluster())
        .with_ip("10.1.2.3".parse().unwrap())
        .with_machine(&m);
    assert!(verify(&lic.to_serial(), &ring(), &any).is_ok());
    // Version 1 licenses name their product too, and are checked the same way.
    let old = legacy_pro();
    assert!(matches!(
        verify(&old.to_serial(), &ring(), &other),
        Err(Error::WrongProduct { .. })
    ));
}

#[test]
fn time_rules_and_grace() {
    let serial = pro().to_serial();
    let m = machine();
    let exp = T0 + 365 * DAY;
    assert!(matches!(
        verify(&serial, &ring(), &here(T0 - 1, &m)),
        Err(Error::NotYetValid { .. })
    ));
    assert_eq!(
        verify(&serial, &ring(), &here(T0, &m)).unwrap().status,
        LicenseStatus::Valid,
        "valid from not_before itself"
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp - 1, &m)).unwrap().status,
        LicenseStatus::Valid
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp, &m)).unwrap().status,
        LicenseStatus::InGrace { days_left: 7 }
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp + 7 * DAY - 1, &m))
            .unwrap()
            .status,
        LicenseStatus::InGrace { days_left: 1 }
    );
    assert_eq!(
        verify(&serial, &ring(), &here(exp + 7 * DAY, &m)),
        Err(Error::Expired {
            expires_at: exp,
            grace_ended_at: exp + 7 * DAY
        })
    );
}

#[test]
fn cluster_and_ip_binding() {
    let serial = pro().to_serial();
    let m = machine();
    let now = T0 + DAY;
    let other_cluster = here(now, &m).with_cluster(Uuid::from_bytes([2; 16]));
    assert!(matches!(
        verify(&serial, &ring(), &other_cluster),
        Err(Error::WrongBinding(_))
    ));
    let other_ip = here(now, &m).with_ip("10.1.2.4".parse().unwrap());
    assert!(matches!(
        verify(&serial, &ring(), &other_ip),
        Err(Error::WrongBinding(_))
    ));
    let mapped = here(now, &m).with_ip("::ffff:10.1.2.3".parse().unwrap());
    assert!(verify(&serial, &ring(), &mapped).is_ok());
    assert!(matches!(
        verify(&serial, &ring(), &VerifyContext::for_product(PRODUCT, now)),
        Err(Error::WrongBinding(_))
    ));
}

/// The rule of `MachineBinding`: every strong identifier (unless lowered), at most one weak part off.
#[test]
fn machine_binding_holds() {
    let serial = pro().to_serial();
    let now = T0 + DAY;
    let check = |m: &MachineInfo| verify(&serial, &ring(), &here(now, m));
    assert!(check(&machine()).is_ok());
    // Hardware change: new CPU. Host renamed. Either one alone passes.
    assert!(check(&machine_with(&[("cpu", "y")])).is_ok());
    assert!(check(&machine_with(&[("hostname", "h2")])).is_ok());
    assert!(
        check(&machine_with(&[("cpu", "")])).is_ok(),
        "CPU unreadable"
    );
    // Both weak parts changed: refused even with the right machine-id.
    assert!(matches!(
        check(&machine_with(&[("cpu", "y"), ("hostname", "h2")])),
        Err(Error::WrongBinding(_))
    ));
    // A clone: another machine-id, same host name and CPU: refused.
    assert!(matches!(
        check(&machine_with(&[("machine-id", "def")])),
        Err(Error::WrongBinding(m)) if m.contains("strong")
    ));
    // No machine-id at all (another OS, a container): refused.
    assert!(check(&machine_with(&[("machine-id", "")])).is_err());
    // The same identifiers under another salt (another request) do not match.
    let mut other_salt = pro_payload();
    other_salt.binding.machine.as_mut().unwrap().salt = [0x77; 16];
    let other = SignedLicense::sign(other_salt, &key(1)).unwrap();
    assert!(verify(&other.to_serial(), &ring(), &here(now, &machine())).is_err());
}

/// Two strong identifiers: all must match by default; the issuer may lower it to 1.
#[test]
fn strong_minimum_can_be_lowered_to_one() {
    let full = MachineInfo::from_values([
        ("machine-id", "abc"),
        ("dmi-product-uuid", "d-1"),
        ("hostname", "h1"),
        ("cpu", "x"),
    ])
    .unwrap();
    let request = LicenseRequest::new(&full, Some(cluster()), T0).unwrap();
    let sign = |min: Option<u16>| {
        let mut p = pro_payload();
        p.binding = request.binding(min).unwrap();
        SignedLicense::sign(p, &key(1)).unwrap().to_serial()
    };
    let reinstalled = MachineInfo::from_values([
        ("machine-id", "new"),
        ("dmi-product-uuid", "d-1"),
        ("hostname", "h1"),
        ("cpu", "x"),
    ])
    .unwrap();
    let ctx = |m| {
        VerifyContext::for_product(PRODUCT, T0 + DAY)
            .with_cluster(cluster())
            .with_ip("10.1.2.3".parse().unwrap())
            .with_machine(m)
    };
    assert!(verify(&sign(None), &ring(), &ctx(&full)).is_ok());
    assert!(verify(&sign(None), &ring(), &ctx(&reinstalled)).is_err());
    assert!(verify(&sign(Some(1)), &ring(), &ctx(&reinstalled)).is_ok());
    assert!(request.binding(Some(0)).is_err());
    assert!(request.binding(Some(3)).is_err());
}

/// Version 1 licenses (unsalted, any 2 of 3) verify exactly as before.
#[test]
fn version_1_licenses_keep_verifying() {
    let old = legacy_pro();
    assert_eq!(old.payload().format_version, 1);
    let now = T0 + DAY;
    for text in [old.to_serial(), old.to_license_file()] {
        let m = machine();
        assert_eq!(
            verify(&text, &ring(), &here(now, &m)).unwrap().status,
            LicenseStatus::Valid
        );
        // Version 1's rule: any two of the three fingerprints.
        let two = machine_with(&[("machine-id", "def")]);
        assert!(verify(&text, &ring(), &here(now, &two)).is_ok());
        let one = machine_with(&[("machine-id", "def"), ("cpu", "y")]);
        assert!(matches!(
            verify(&text, &ring(), &here(now, &one)),
            Err(Error::WrongBinding(_))
        ));
    }
    // Version 1 is never signed again.
    let mut p = old.payload().clone();
    p.format_version = 1;
    assert!(matches!(
        SignedLicense::sign(p, &key(1)),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn keys_signatures_and_rotation() {
    let lic = pro();
    let m = machine();
    let ctx = here(T0 + DAY, &m);
    let other = KeyRing::new().with(key(2).verifying_key()).unwrap();
    assert!(matches!(
        verify(&lic.to_serial(), &other, &ctx),
        Err(Error::UnknownKeyId(_))
    ));
    // Rotation: a ring with old and new keys accepts licenses from both.
    let both = ring().with(key(2).verifying_key()).unwrap();
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
    for lic in [pro(), legacy_pro()] {
        let m = machine();
        let ctx = here(T0 + DAY, &m);
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
}

#[test]
fn text_changes_either_fail_or_keep_the_same_license() {
    let lic = pro();
    let m = machine();
    let ctx = here(T0 + DAY, &m);
    let replacements: &[u8] = b"Aa0O-= \n+\r";
    for text in [lic.to_license_file(), lic.to_serial()] {
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

/// Padded base64 pieces glued together (`xQ==Bw==`) decode with a lenient
/// decoder; every artifact type refuses all three rewrites (12 variants).
#[test]
fn glued_base64_is_refused_everywhere() {
    let lic = pro();
    let revocations =
        SignedRevocationList::sign(list(5, T0, vec![Uuid::from_bytes([3; 16])]), &key(1))
            .unwrap()
            .to_file();
    let request = request().to_file().unwrap();
    let pem = licensekey::public_key_pem(&key(1).verifying_key());
    let m = machine();
    let mut refused = 0;
    for v in glued_variants(licensekey::LICENSE_LABEL, &lic.to_license_file()) {
        assert!(matches!(
            verify(&v, &ring(), &here(T0 + DAY, &m)),
            Err(Error::Malformed(_))
        ));
        refused += 1;
    }
    for v in glued_variants(licensekey::REVOCATION_LABEL, &revocations) {
        assert!(matches!(
            verify_revocation_list(&v, &ring(), &RevocationCheck::at(T0)),
            Err(Error::Malformed(_))
        ));
        assert!(SignedRevocationList::parse(&v).is_err());
        refused += 1;
    }
    for v in glued_variants(licensekey::REQUEST_LABEL, &request) {
        assert!(matches!(
            LicenseRequest::parse(&v),
            Err(Error::Malformed(_))
        ));
        refused += 1;
    }
    for v in glued_variants("PUBLIC KEY", &pem) {
        assert!(matches!(
            licensekey::parse_public_key(&v),
            Err(Error::Malformed(_))
        ));
        refused += 1;
    }
    assert_eq!(refused, 12);
}

#[test]
fn text_encoding_and_size_caps() {
    let lic = pro();
    let m = machine();
    let ctx = here(T0 + DAY, &m);
    let file = lic.to_license_file();
    let text = licensekey::text_from_bytes(file.as_bytes()).unwrap();
    assert!(verify(text, &ring(), &ctx).is_ok());
    let with_bom = format!("\u{feff}{file}");
    assert!(matches!(
        licensekey::text_from_bytes(with_bom.as_bytes()),
        Err(Error::Malformed(_))
    ));
    // Handed over as text anyway, the BOM is not whitespace: still malformed.
    assert!(matches!(
        verify(&with_bom, &ring(), &ctx),
        Err(Error::Malformed(_))
    ));
    let mut latin1 = file.clone().into_bytes();
    latin1.push(0xe9);
    assert!(matches!(
        licensekey::text_from_bytes(&latin1),
        Err(Error::Malformed(_))
    ));
    // Over the cap: refused before decoding, even if only by whitespace.
    let padded = format!("{file}{}", " ".repeat(licensekey::MAX_LICENSE_TEXT_LEN));
    assert!(matches!(
        verify(&padded, &ring(), &ctx),
        Err(Error::Malformed(_))
    ));
    // A license too large for the cap cannot be signed.
    let mut huge = pro_payload();
    huge.features = (0..4_000).map(|i| format!("feature-{i:05}")).collect();
    assert!(matches!(
        SignedLicense::sign(huge, &key(1)),
        Err(Error::Invalid(_))
    ));
    // ... and the largest that can be signed verifies in both forms.
    let mut big = pro_payload();
    big.features = (0..2_000).map(|i| format!("feature-{i:05}")).collect();
    let big = SignedLicense::sign(big, &key(1)).unwrap();
    assert!(big.to_serial().len() <= licensekey::MAX_LICENSE_TEXT_LEN);
    assert!(verify(&big.to_serial(), &ring(), &ctx).is_ok());
    assert!(verify(&big.to_license_file(), &ring(), &ctx).is_ok());
}

#[test]
fn content_rules_are_checked_when_signing() {
    type Edit = fn(&mut licensekey::LicensePayload);
    let edits: [Edit; 6] = [
        |p| p.license_id = Uuid::nil(),
        |p| p.issued_at = p.not_before + 1,
        |p| p.expires_at = Some(p.not_before),
        |p| p.support_until = Some(p.issued_at - 1),
        |p| p.binding.machine.as_mut().unwrap().min_strong_matches = 2,
        |p| p.product.clear(),
    ];
    for edit in edits {
        let mut p = pro_payload();
        edit(&mut p);
        assert!(matches!(
            SignedLicense::sign(p, &key(1)),
            Err(Error::Invalid(_))
        ));
    }
}

/// One IP binding has one encoding: a mapped address is signed as IPv4.
#[test]
fn mapped_addresses_are_signed_as_ipv4() {
    let mut p = pro_payload();
    p.binding.ip = Some("::ffff:10.1.2.3".parse().unwrap());
    let lic = SignedLicense::sign(p, &key(1)).unwrap();
    assert_eq!(lic.payload().binding.ip, Some("10.1.2.3".parse().unwrap()));
    assert_eq!(lic, pro());
}

#[test]
fn revocation_lists() {
    let lic = pro();
    let m = machine();
    let signed = SignedRevocationList::sign(
        list(
            3,
            T0,
            vec![lic.payload().license_id, Uuid::from_bytes([9; 16])],
        ),
        &key(1),
    )
    .unwrap();
    let text = signed.to_file();
    let bytes = signed.to_bytes();
    assert_eq!(SignedRevocationList::from_bytes(&bytes).unwrap(), signed);
    assert!(SignedRevocationList::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(SignedRevocationList::from_bytes(&bytes[16..]).is_err());
    let now = T0 + DAY;
    let accepted = verify_revocation_list(
        &text,
        &ring(),
        &RevocationCheck::at(now).after(&RevocationState::sequence_only(2)),
    )
    .unwrap();
    assert_eq!(accepted.sequence, 3);
    let seen4 = RevocationState::sequence_only(4);
    assert_eq!(
        verify_revocation_list(&text, &ring(), &RevocationCheck::at(now).after(&seen4)),
        Err(Error::StaleRevocationList { seen: 4, got: 3 })
    );
    assert!(matches!(
        verify_revocation_list(&text, &KeyRing::new(), &RevocationCheck::at(now)),
        Err(Error::UnknownKeyId(_))
    ));
    let ctx = here(now, &m).with_revocations(&accepted);
    assert_eq!(verify(&lic.to_serial(), &ring(), &ctx), Err(Error::Revoked));
    // A license signature is not a revocation list signature (domain separation).
    let as_list = text.replace("REVOCATION LIST", "LICENSE");
    assert!(verify(&as_list, &ring(), &ctx).is_err());
    assert_eq!(SignedRevocationList::parse(&text).unwrap(), signed);
}

/// The same sequence with other content is refused; the same list again is fine.
#[test]
fn a_reused_sequence_is_refused() {
    let a =
        SignedRevocationList::sign(list(7, T0, vec![Uuid::from_bytes([1; 16])]), &key(1)).unwrap();
    let b =
        SignedRevocationList::sign(list(7, T0, vec![Uuid::from_bytes([2; 16])]), &key(1)).unwrap();
    let now = T0 + DAY;
    let first = verify_revocation_list(&a.to_file(), &ring(), &RevocationCheck::at(now)).unwrap();
    let state = first.state().unwrap();
    let after = RevocationCheck::at(now).after(&state);
    assert!(verify_revocation_list(&a.to_file(), &ring(), &after).is_ok());
    assert_eq!(
        verify_revocation_list(&b.to_file(), &ring(), &after),
        Err(Error::RevocationSequenceReused { sequence: 7 })
    );
    // Knowing only the sequence (no digest), the other list cannot be told apart.
    let only = RevocationState::sequence_only(7);
    assert!(
        verify_revocation_list(
            &b.to_file(),
            &ring(),
            &RevocationCheck::at(now).after(&only)
        )
        .is_ok()
    );
    // The state survives being stored as text.
    assert_eq!(state.to_string().parse::<RevocationState>().unwrap(), state);
}

/// Desks that share a key pick different sequences (and each one only goes up).
#[test]
fn sequences_from_two_desks_never_collide() {
    let (a, b) = (
        SequenceTag::from_u32(11).unwrap(),
        SequenceTag::from_u32(12).unwrap(),
    );
    let ms = T0 * 1000;
    let mut seen = std::collections::BTreeSet::new();
    let (mut last_a, mut last_b) = (None, None);
    for step in 0..100 {
        let t = ms + step / 3; // several lists in one millisecond
        let sa = a.next_sequence(last_a, t).unwrap();
        let sb = b.next_sequence(last_b, t).unwrap();
        assert!(last_a.is_none_or(|l| sa > l) && last_b.is_none_or(|l| sb > l));
        assert!(seen.insert(sa) && seen.insert(sb));
        (last_a, last_b) = (Some(sa), Some(sb));
    }
}

/// A leaked key: every license it signed is revoked, and it cannot un-revoke itself.
#[test]
fn a_revoked_key_revokes_its_licenses_and_cannot_publish() {
    let ring = ring().with(key(2).verifying_key()).unwrap();
    let m = machine();
    let now = T0 + DAY;
    let by_leaked = SignedLicense::sign(pro_payload(), &key(2)).unwrap();
    let by_good = pro();
    let mut revoking = list(10, T0, Vec::new());
    revoking.revoked_keys = vec![KeyId::of(&key(2).verifying_key())];
    let revoking = SignedRevocationList::sign(revoking, &key(1)).unwrap();
    let accepted =
        verify_revocation_list(&revoking.to_file(), &ring, &RevocationCheck::at(now)).unwrap();
    let ctx = here(now, &m).with_revocations(&accepted);
    assert_eq!(
        verify(&by_leaked.to_serial(), &ring, &ctx),
        Err(Error::Revoked)
    );
    assert!(verify(&by_good.to_serial(), &ring, &ctx).is_ok());
    // The leaked key signs a newer list that revokes nothing: refused.
    let state = accepted.state().unwrap();
    let forged = SignedRevocationList::sign(list(11, T0, Vec::new()), &key(2)).unwrap();
    assert_eq!(
        verify_revocation_list(
            &forged.to_file(),
            &ring,
            &RevocationCheck::at(now).after(&state)
        ),
        Err(Error::RevokedSigningKey(KeyId::of(&key(2).verifying_key())))
    );
    // A list may not revoke the key that signs it.
    let mut own = list(12, T0, Vec::new());
    own.revoked_keys = vec![KeyId::of(&key(1).verifying_key())];
    assert!(matches!(
        SignedRevocationList::sign(own, &key(1)),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn out_of_date_and_too_old_lists_are_refused() {
    let signed = SignedRevocationList::sign(
        RevocationList::new(1, T0, T0 + 7 * DAY, vec![Uuid::from_bytes([1; 16])]),
        &key(1),
    )
    .unwrap();
    let text = signed.to_file();
    assert!(verify_revocation_list(&text, &ring(), &RevocationCheck::at(T0 + 7 * DAY - 1)).is_ok());
    assert_eq!(
        verify_revocation_list(&text, &ring(), &RevocationCheck::at(T0 + 7 * DAY)),
        Err(Error::RevocationListExpired {
            next_update: T0 + 7 * DAY
        })
    );
    let young = RevocationCheck::at(T0 + 3 * DAY).max_age_days(3);
    assert!(verify_revocation_list(&text, &ring(), &young).is_ok());
    let old = RevocationCheck::at(T0 + 3 * DAY + 1).max_age_days(3);
    assert_eq!(
        verify_revocation_list(&text, &ring(), &old),
        Err(Error::RevocationListTooOld {
            issued_at: T0,
            max_age_days: 3
        })
    );
}

/// Version 1 lists (no next update, no revoked keys) still verify and revoke.
#[test]
fn version_1_lists_keep_verifying() {
    let mut body = vec![1u8];
    body.extend_from_slice(&KeyId::of(&key(1).verifying_key()).0);
    body.extend_from_slice(&5u64.to_be_bytes());
    body.extend_from_slice(&T0.to_be_bytes());
    body.extend_from_slice(&1u32.to_be_bytes());
    body.extend_from_slice(pro().payload().license_id.as_bytes());
    let blob = sign_raw(licensekey::REVOCATION_CONTEXT, &body, &key(1));
    let file = armor_body(
        licensekey::REVOCATION_LABEL,
        &data_encoding::BASE64.encode(&blob),
    );
    let far = T0 + 3650 * DAY;
    let old = verify_revocation_list(&file, &ring(), &RevocationCheck::at(far)).unwrap();
    assert_eq!((old.version(), old.sequence, old.next_update), (1, 5, None));
    let m = machine();
    let ctx = here(T0 + DAY, &m).with_revocations(&old);
    assert_eq!(
        verify(&pro().to_serial(), &ring(), &ctx),
        Err(Error::Revoked)
    );
    // A product's age limit applies to them too.
    assert!(matches!(
        verify_revocation_list(&file, &ring(), &RevocationCheck::at(far).max_age_days(30)),
        Err(Error::RevocationListTooOld { .. })
    ));
    // New lists from a tagged desk are always newer than old counter sequences.
    let seq = SequenceTag::from_u32(3)
        .unwrap()
        .next_sequence(None, T0 * 1000)
        .unwrap();
    let state = old.state().unwrap();
    let newer = SignedRevocationList::sign(list(seq, T0, Vec::new()), &key(1)).unwrap();
    assert!(
        verify_revocation_list(
            &newer.to_file(),
            &ring(),
            &RevocationCheck::at(T0).after(&state)
        )
        .is_ok()
    );
}

#[test]
fn requests_carry_salt_and_label_into_the_license() {
    let r = request();
    let text = r.to_file().unwrap();
    let parsed = LicenseRequest::parse(&text).unwrap();
    assert_eq!(parsed, r);
    let lic = pro();
    let bound = lic.payload().binding.machine.as_ref().unwrap();
    assert_eq!(bound.salt, r.salt);
    assert_eq!((&bound.strong, &bound.weak), (&r.strong, &r.weak));
    assert!(!text.contains("h1") && !text.contains("abc"));
}

#[test]
fn invalid_payloads_are_refused_when_signing() {
    let mut p = pro_payload();
    p.binding.machine.as_mut().unwrap().min_strong_matches = 4;
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

#[test]
fn check_signature_says_who_signed_whatever_the_rules_say_today() {
    let lic = pro();
    // Long expired and for no product in particular: the signature still holds.
    assert_eq!(
        lic.check_signature(&ring()).unwrap(),
        KeyId::of(&key(1).verifying_key())
    );
    let other = KeyRing::new().with(key(2).verifying_key()).unwrap();
    assert!(matches!(
        lic.check_signature(&other),
        Err(Error::UnknownKeyId(_))
    ));
    // One flipped bit of the payload and the signature no longer holds.
    let mut bytes = lic.to_bytes();
    let last = bytes.len() - 70;
    bytes[last] ^= 1;
    if let Ok(tampered) = SignedLicense::from_bytes(&bytes) {
        assert!(tampered.check_signature(&ring()).is_err());
    }
}
