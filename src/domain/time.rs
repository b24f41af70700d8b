//! Time as stored and as shown, in one place.
//!
//! Every time is stored as unix seconds in UTC (`i64`) and comes from the injected clock
//! (`crate::clock`), never read here. People see it in their local time zone; files and the
//! command line use RFC 3339 in UTC so that scripts read one form.

use chrono::{DateTime, Local, NaiveDate, Utc};

fn utc(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// The local calendar date of a moment ("2026-11-23"); out-of-range times show as seconds.
pub fn date(secs: i64) -> String {
    utc(secs)
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// Local date and time to the minute ("2026-11-23 13:00").
pub fn date_time(secs: i64) -> String {
    utc(secs)
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// RFC 3339 in UTC to the second ("2026-11-23T12:00:00Z"), for files and the command line.
pub fn rfc3339(secs: i64) -> String {
    utc(secs)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

/// The UTC calendar date of a moment (for rules that count days).
pub fn utc_date(secs: i64) -> Option<NaiveDate> {
    utc(secs).map(|t| t.date_naive())
}

/// Parses a time typed on the command line: RFC 3339 ("2027-01-31T12:00:00Z") or unix seconds.
pub fn parse(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if !text.is_empty()
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
        && let Ok(secs) = text.parse::<i64>()
    {
        return Ok(secs);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| {
            format!("'{text}' is neither RFC 3339 (2027-01-31T12:00:00Z) nor unix seconds")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_each() {
        assert_eq!(rfc3339(1_801_396_800), "2027-01-31T12:00:00Z");
        assert_eq!(parse("2027-01-31T12:00:00Z"), Ok(1_801_396_800));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-5"), Ok(-5));
        assert!(parse("+5").is_err());
        assert!(parse("tomorrow").is_err());
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        assert_eq!(date(1_801_396_800).len(), 10);
        assert_eq!(
            utc_date(1_801_396_800),
            NaiveDate::from_ymd_opt(2027, 1, 31)
        );
    }
}
