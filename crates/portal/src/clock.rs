//! The portal's one reading of the wall clock. Everything else takes the time as a parameter,
//! so rules that depend on it (retention, the HLC skew check) are tested with fixed times.

/// Milliseconds since the Unix epoch, now.
#[allow(clippy::disallowed_methods)] // the one place the portal reads the wall clock
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
