//! Fuzz-style robustness: no input, however broken, makes a parser or
//! `verify` panic. A deterministic xorshift PRNG drives truncations, bit
//! flips, byte replacements, splices and random text over valid artifacts of
//! every type; `cargo fuzz` (crates/licensekey/fuzz) explores further.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use licensekey::{
    ClockGuard, KeyRing, LicenseRequest, RevocationCheck, RevocationList, RevocationState,
    SignedLicense, SignedRevocationList, VerifyContext, parse_public_key, text_from_bytes, verify,
    verify_revocation_list,
};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZabcxyzOILU+/=-\r\n \t\x00\xff\xc3";

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    match rng.below(6) {
        0 => b.truncate(rng.below(b.len() + 1)),
        1 => {
            for _ in 0..=rng.below(4) {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let i = rng.below(b.len());
            if let Some(x) = b.get_mut(i) {
                *x = ALPHABET[rng.below(ALPHABET.len())];
            }
        }
        3 => {
            let i = rng.below(b.len() + 1);
            b.insert(i, ALPHABET[rng.below(ALPHABET.len())]);
        }
        4 => {
            let i = rng.below(b.len());
            if i < b.len() {
                b.remove(i);
            }
        }
        _ => {
            b = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0 {
                let mut prefix = seed[..seed.len().min(40)].to_vec();
                prefix.extend(b);
                b = prefix;
            }
        }
    }
    b
}

fn exercise(text: &str, ring: &KeyRing, ctx: &VerifyContext<'_>, state: &RevocationState) {
    let _ = verify(text, ring, ctx);
    let _ = SignedLicense::parse(text);
    let _ = SignedLicense::parse_serial(text);
    let _ = SignedLicense::parse_license_file(text);
    let _ = LicenseRequest::parse(text);
    let _ = SignedRevocationList::parse(text);
    let check = RevocationCheck::at(T0).max_age_days(30).after(state);
    let _ = verify_revocation_list(text, ring, &check);
    let _ = parse_public_key(text);
    let _ = ClockGuard::new(b"k", 60).check(Some(text), T0);
    let _ = text.parse::<RevocationState>();
}

fn revocation_list() -> SignedRevocationList {
    let mut list = RevocationList::new(
        1,
        T0,
        T0 + 30 * DAY,
        vec![licensekey::Uuid::from_bytes([4; 16])],
    );
    list.revoked_keys = vec![licensekey::KeyId([9; 8])];
    SignedRevocationList::sign(list, &key(1)).unwrap()
}

#[test]
fn mutated_artifacts_never_panic() {
    let lic = pro();
    let ring = KeyRing::new().with(key(1).verifying_key()).unwrap();
    let m = machine();
    let list = verify_revocation_list(
        &revocation_list().to_file(),
        &ring,
        &RevocationCheck::at(T0),
    )
    .unwrap();
    let state = list.state().unwrap();
    let ctx = VerifyContext::for_product(PRODUCT, T0 + DAY)
        .with_cluster(cluster())
        .with_machine(&m)
        .with_revocations(&list);
    let seeds: Vec<String> = vec![
        lic.to_serial(),
        lic.to_license_file(),
        legacy_pro().to_serial(),
        legacy_pro().to_license_file(),
        request().to_file().unwrap(),
        revocation_list().to_file(),
        licensekey::public_key_pem(&key(1).verifying_key()),
        licensekey::public_key_base64(&key(1).verifying_key()),
        ClockGuard::new(b"k", 60).seal(T0).unwrap(),
        state.to_string(),
    ];
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut cases = 0;
    for round in 0..20_000 {
        let seed = seeds[round % seeds.len()].as_bytes();
        let mut input = mutate(&mut rng, seed);
        if rng.below(3) == 0 {
            input = mutate(&mut rng, &input);
        }
        let _ = text_from_bytes(&input);
        let text = String::from_utf8_lossy(&input);
        exercise(&text, &ring, &ctx, &state);
        cases += 1;
    }
    assert_eq!(cases, 20_000);
}

#[test]
fn mutated_binary_never_panics() {
    let lic = pro();
    let ring = KeyRing::new().with(key(1).verifying_key()).unwrap();
    let m = machine();
    let ctx = VerifyContext::for_product(PRODUCT, T0).with_machine(&m);
    let blobs = [
        lic.to_bytes(),
        lic.payload_bytes().to_vec(),
        legacy_pro().to_bytes(),
        legacy_pro().payload_bytes().to_vec(),
        revocation_list().to_bytes(),
        request().encode().unwrap(),
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..30_000 {
        let b = mutate(&mut rng, &blobs[round % blobs.len()]);
        if let Ok(l) = SignedLicense::from_bytes(&b) {
            let _ = l.verify(&ring, &ctx);
            let _ = (l.to_serial(), l.to_license_file());
        }
        let _ = licensekey::LicensePayload::decode(&b);
        if let Ok(list) = RevocationList::decode(&b) {
            let _ = list.state();
        }
        let _ = LicenseRequest::decode(&b);
    }
}
