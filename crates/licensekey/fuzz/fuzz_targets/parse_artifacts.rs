//! Feeds arbitrary bytes to every parser and to `verify`; any panic is a bug.
//! Run with `cargo +nightly fuzz run parse_artifacts -- -max_total_time=60`
//! from crates/licensekey.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensekey::{
    ClockGuard, KeyRing, LicensePayload, LicenseRequest, RevocationList, SignedLicense,
    SignedRevocationList, SigningKey, VerifyContext, parse_public_key, verify,
    verify_revocation_list,
};

fuzz_target!(|data: &[u8]| {
    let ring = KeyRing::new().with(SigningKey::from_bytes(&[1; 32]).verifying_key());
    let ctx = VerifyContext::at(1_767_225_600);

    let _ = LicensePayload::decode(data);
    let _ = RevocationList::decode(data);
    let _ = LicenseRequest::decode(data);
    if let Ok(l) = SignedLicense::from_bytes(data) {
        let _ = l.verify(&ring, &ctx);
        let _ = SignedLicense::parse(&l.to_serial());
    }

    let text = String::from_utf8_lossy(data);
    let _ = verify(&text, &ring, &ctx);
    let _ = SignedLicense::parse(&text);
    let _ = LicenseRequest::parse(&text);
    let _ = SignedRevocationList::parse(&text);
    let _ = verify_revocation_list(&text, &ring, Some(1));
    let _ = parse_public_key(&text);
    let _ = ClockGuard::new(b"k", 60).check(Some(&text), 0);
});
