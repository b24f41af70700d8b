//! Fuzz-style robustness: no input, however broken, makes a parser or
//! `verify` panic. A deterministic xorshift PRNG drives truncations, bit
//! flips, byte replacements, splices and random text over valid artifacts of
//! every type; `cargo fuzz` (crates/licensekey/fuzz) explores further.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use licensekey::{
    ClockGuard, KeyRing, LicenseRequest, RevocationList, SignedLicense, SignedRevocationList,
    VerifyContext, parse_public_key, verify, verify_revocation_list,
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

fn exercise(text: &str, ring: &KeyRing, ctx: &VerifyContext<'_>) {
    let _ = verify(text, ring, ctx);
    let _ = SignedLicense::parse(text);
    let _ = SignedLicense::parse_serial(text);
    let _ = SignedLicense::parse_license_file(text);
    let _ = LicenseRequest::parse(text);
    let _ = SignedRevocationList::parse(text);
    let _ = verify_revocation_list(text, ring, Some(1));
    let _ = parse_public_key(text);
    let _ = ClockGuard::new(b"k", 60).check(Some(text), T0);
}

#[test]
fn mutated_artifacts_never_panic() {
    let lic = pro();
    let ring = KeyRing::new().with(key(1).verifying_key());
    let fps = fingerprints();
    let list = verify_revocation_list(
        &SignedRevocationList::sign(
            RevocationList::new(1, T0, vec![licensekey::Uuid::nil()]),
            &key(1),
        )
        .unwrap()
        .to_file(),
        &ring,
        None,
    )
    .unwrap();
    let ctx = VerifyContext::at(T0 + DAY)
        .with_cluster(cluster())
        .with_fingerprints(&fps)
        .with_revocations(&list);
    let seeds: Vec<String> = vec![
        lic.to_serial(),
        lic.to_license_file(),
        LicenseRequest::for_this_machine(Some(cluster()), T0)
            .unwrap()
            .to_file()
            .unwrap(),
        SignedRevocationList::sign(
            RevocationList::new(1, T0, vec![lic.payload().license_id]),
            &key(1),
        )
        .unwrap()
        .to_file(),
        licensekey::public_key_pem(&key(1).verifying_key()),
        ClockGuard::new(b"k", 60).seal(T0).unwrap(),
    ];
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut cases = 0;
    for round in 0..20_000 {
        let seed = seeds[round % seeds.len()].as_bytes();
        let mut input = mutate(&mut rng, seed);
        if rng.below(3) == 0 {
            input = mutate(&mut rng, &input);
        }
        let text = String::from_utf8_lossy(&input);
        exercise(&text, &ring, &ctx);
        cases += 1;
    }
    assert_eq!(cases, 20_000);
}

#[test]
fn mutated_binary_never_panics() {
    let lic = pro();
    let ring = KeyRing::new().with(key(1).verifying_key());
    let ctx = VerifyContext::at(T0);
    let blobs = [
        lic.to_bytes(),
        lic.payload_bytes().to_vec(),
        SignedRevocationList::sign(
            RevocationList::new(9, T0, vec![licensekey::Uuid::nil()]),
            &key(1),
        )
        .unwrap()
        .to_bytes(),
        LicenseRequest::for_this_machine(None, T0)
            .unwrap()
            .encode()
            .unwrap(),
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..30_000 {
        let b = mutate(&mut rng, &blobs[round % blobs.len()]);
        if let Ok(l) = SignedLicense::from_bytes(&b) {
            let _ = l.verify(&ring, &ctx);
            let _ = (l.to_serial(), l.to_license_file());
        }
        let _ = licensekey::LicensePayload::decode(&b);
        let _ = RevocationList::decode(&b);
        let _ = LicenseRequest::decode(&b);
    }
}
