//! Feeds arbitrary bytes to every parser and to `verify`; any panic is a bug.
//! Run with `cargo +nightly fuzz run parse_artifacts -- -max_total_time=60`
//! from crates/licensekey.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensekey::{
    ClockGuard, KeyRing, LicensePayload, LicenseRequest, MachineInfo, RevocationCheck,
    RevocationList, RevocationState, SignedLicense, SignedRevocationList, SigningKey,
    VerifyContext, parse_public_key, text_from_bytes, verify, verify_revocation_list,
};

fuzz_target!(|data: &[u8]| {
    let Ok(ring) = KeyRing::new().with(SigningKey::from_bytes(&[1; 32]).verifying_key()) else {
        return;
    };
    let Ok(machine) = MachineInfo::from_values([("machine-id", "abc"), ("hostname", "h1")]) else {
        return;
    };
    let ctx = VerifyContext::for_product("Storage", 1_767_225_600).with_machine(&machine);
    let state = RevocationState::sequence_only(1);
    let check = RevocationCheck::at(1_767_225_600).max_age_days(30).after(&state);

    let _ = LicensePayload::decode(data);
    if let Ok(list) = RevocationList::decode(data) {
        let _ = list.state();
    }
    let _ = LicenseRequest::decode(data);
    if let Ok(l) = SignedLicense::from_bytes(data) {
        let _ = l.verify(&ring, &ctx);
        let _ = SignedLicense::parse(&l.to_serial());
    }

    let _ = text_from_bytes(data);
    let text = String::from_utf8_lossy(data);
    let _ = verify(&text, &ring, &ctx);
    let _ = SignedLicense::parse(&text);
    let _ = LicenseRequest::parse(&text);
    let _ = SignedRevocationList::parse(&text);
    let _ = verify_revocation_list(&text, &ring, &check);
    let _ = parse_public_key(&text);
    let _ = ClockGuard::new(b"k", 60).check(Some(&text), 0);
    let _ = text.parse::<RevocationState>();
});
