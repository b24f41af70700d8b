//! Document numbers people see: Q-2026-0001, ORD-2026-0001, INV-2026-0001, CN-2026-0001, and
//! on a desk with a series of its own INV-B-2026-0001.
//!
//! Each kind has its own series per desk and calendar year, starting at 1 and with no gaps (the
//! store hands out the next number inside the transaction that finalises the document; this
//! module only says what the next one is and how numbers are written). A desk alone, or the
//! first desk of a portal, numbers in the main series (no letters); every other desk syncing
//! with the portal has a [`Series`] of 1–3 capital letters, so two desks never take the same
//! number (`docs/sync-protocol.md`, "Document series"). The sequence is zero-padded to four
//! digits and grows past 9999 without padding ("INV-2026-10000"). Parsing accepts exactly the
//! written form, so one number has one spelling.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The kind of document a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Quote,
    Order,
    Invoice,
    CreditNote,
}

impl DocKind {
    pub const ALL: [DocKind; 4] = [
        DocKind::Quote,
        DocKind::Order,
        DocKind::Invoice,
        DocKind::CreditNote,
    ];

    /// The prefix of its numbers.
    pub const fn prefix(self) -> &'static str {
        match self {
            DocKind::Quote => "Q",
            DocKind::Order => "ORD",
            DocKind::Invoice => "INV",
            DocKind::CreditNote => "CN",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            DocKind::Quote => "quote",
            DocKind::Order => "order",
            DocKind::Invoice => "invoice",
            DocKind::CreditNote => "credit note",
        }
    }

    /// The label with its article ("an invoice").
    pub const fn with_article(self) -> &'static str {
        match self {
            DocKind::Quote => "a quote",
            DocKind::Order => "an order",
            DocKind::Invoice => "an invoice",
            DocKind::CreditNote => "a credit note",
        }
    }
}

/// A desk's document series: the main series (no letters) or 1–3 capital letters A–Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Series([u8; 3]);

impl Series {
    /// The series of a desk alone, or of the first desk of a portal.
    pub const MAIN: Series = Series([0; 3]);

    /// Reads a series as written: empty for the main series, else 1–3 capital letters.
    pub fn parse(text: &str) -> Option<Series> {
        let bytes = text.as_bytes();
        if bytes.len() > 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        let mut letters = [0; 3];
        letters[..bytes.len()].copy_from_slice(bytes);
        Some(Series(letters))
    }

    /// The series of the desk whose first block from the portal is the `n`-th granted
    /// (from 0): A–Z, then AA–ZZ, then AAA–ZZZ; None past ZZZ.
    pub fn nth(n: u64) -> Option<Series> {
        let (mut len, mut rest) = (1, n);
        while rest >= 26u64.pow(len) {
            rest -= 26u64.pow(len);
            len += 1;
            if len > 3 {
                return None;
            }
        }
        let mut letters = [0; 3];
        for i in (0..len as usize).rev() {
            letters[i] = b'A' + (rest % 26) as u8;
            rest /= 26;
        }
        Some(Series(letters))
    }

    pub fn is_main(self) -> bool {
        self == Series::MAIN
    }

    /// The letters ("" for the main series).
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().take_while(|b| **b != 0).count();
        std::str::from_utf8(&self.0[..len]).unwrap_or("")
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document number: kind, series, year and sequence within that year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocNumber {
    pub kind: DocKind,
    pub series: Series,
    pub year: i32,
    pub seq: u32,
}

/// A number that cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("'{input}' is not a document number (like INV-2026-0001)")]
    Malformed { input: String },
    #[error("'{input}' is {found} number, not {expected} number", found = found.with_article(), expected = expected.with_article())]
    WrongKind {
        input: String,
        expected: DocKind,
        found: DocKind,
    },
    #[error("the {kind} series for {year} is full", kind = kind.label())]
    SeriesFull { kind: DocKind, year: i32 },
    #[error("year {year} is outside 1000–9999")]
    YearOutOfRange { year: i32 },
}

impl DocNumber {
    /// The first number of a series.
    pub fn first(kind: DocKind, series: Series, year: i32) -> Result<DocNumber, NumberError> {
        if !(1000..=9999).contains(&year) {
            return Err(NumberError::YearOutOfRange { year });
        }
        Ok(DocNumber {
            kind,
            series,
            year,
            seq: 1,
        })
    }

    /// The number after `last` (the highest issued of that kind in `series`, if any) for a
    /// document dated in `year`: the series restarts at 1 each year.
    pub fn next(
        kind: DocKind,
        series: Series,
        year: i32,
        last: Option<DocNumber>,
    ) -> Result<DocNumber, NumberError> {
        match last {
            Some(last) if last.kind == kind && last.series == series && last.year == year => {
                let seq = last
                    .seq
                    .checked_add(1)
                    .ok_or(NumberError::SeriesFull { kind, year })?;
                Ok(DocNumber { seq, ..last })
            }
            _ => DocNumber::first(kind, series, year),
        }
    }

    /// Reads a number of a known kind ("INV-2026-0001").
    pub fn parse_kind(kind: DocKind, input: &str) -> Result<DocNumber, NumberError> {
        let number: DocNumber = input.parse()?;
        if number.kind != kind {
            return Err(NumberError::WrongKind {
                input: input.to_string(),
                expected: kind,
                found: number.kind,
            });
        }
        Ok(number)
    }
}

impl fmt::Display for DocNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.series.is_main() {
            write!(f, "{}-{}-{:04}", self.kind.prefix(), self.year, self.seq)
        } else {
            let (prefix, series) = (self.kind.prefix(), self.series);
            write!(f, "{prefix}-{series}-{}-{:04}", self.year, self.seq)
        }
    }
}

impl FromStr for DocNumber {
    type Err = NumberError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let malformed = || NumberError::Malformed {
            input: input.to_string(),
        };
        let parts: Vec<&str> = input.split('-').collect();
        let (prefix, series, year, seq) = match parts[..] {
            [prefix, year, seq] => (prefix, Series::MAIN, year, seq),
            [prefix, series, year, seq] if !series.is_empty() => (
                prefix,
                Series::parse(series).ok_or_else(malformed)?,
                year,
                seq,
            ),
            _ => return Err(malformed()),
        };
        let kind = DocKind::ALL
            .into_iter()
            .find(|k| k.prefix() == prefix)
            .ok_or_else(malformed)?;
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if !digits(year) || year.len() != 4 || !digits(seq) {
            return Err(malformed());
        }
        let year: i32 = year.parse().map_err(|_| malformed())?;
        let seq: u32 = seq.parse().map_err(|_| malformed())?;
        let number = DocNumber {
            kind,
            series,
            year,
            seq,
        };
        // One spelling only: no zero sequence, no extra leading zeros.
        if seq == 0 || number.to_string() != input {
            return Err(malformed());
        }
        DocNumber::first(kind, series, year)?;
        Ok(number)
    }
}

impl TryFrom<String> for DocNumber {
    type Error = NumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DocNumber> for String {
    fn from(value: DocNumber) -> String {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numbers_are_written_and_read_one_way() {
        let cases = [
            (DocKind::Quote, 2026, 1, "Q-2026-0001"),
            (DocKind::Order, 2026, 42, "ORD-2026-0042"),
            (DocKind::Invoice, 2026, 9999, "INV-2026-9999"),
            (DocKind::Invoice, 2026, 10000, "INV-2026-10000"),
            (DocKind::CreditNote, 2027, 7, "CN-2027-0007"),
        ];
        for (kind, year, seq, text) in cases {
            let number = DocNumber {
                kind,
                series: Series::MAIN,
                year,
                seq,
            };
            assert_eq!(number.to_string(), text);
            assert_eq!(text.parse::<DocNumber>(), Ok(number));
            assert_eq!(DocNumber::parse_kind(kind, text), Ok(number));
        }
        for bad in [
            "INV-2026-1",
            "INV-2026-00001",
            "INV-2026-0000",
            "inv-2026-0001",
            "INV-26-0001",
            "INV-2026-0001-1",
            "INV-2026",
            "XX-2026-0001",
            "INV-2026-+001",
            " INV-2026-0001",
            "INV-0999-0001",
            "INV--2026-0001",
            "INV-b-2026-0001",
            "INV-ABCD-2026-0001",
            "INV-A1-2026-0001",
        ] {
            assert!(bad.parse::<DocNumber>().is_err(), "{bad}");
        }
        assert_eq!(
            DocNumber::parse_kind(DocKind::Invoice, "CN-2026-0001")
                .unwrap_err()
                .to_string(),
            "'CN-2026-0001' is a credit note number, not an invoice number"
        );
    }

    #[test]
    fn series_run_per_kind_and_year() {
        let last = DocNumber::parse_kind(DocKind::Invoice, "INV-2026-0041").unwrap();
        let main = Series::MAIN;
        let next = |kind, year, last| DocNumber::next(kind, main, year, last).unwrap().to_string();
        assert_eq!(next(DocKind::Invoice, 2026, Some(last)), "INV-2026-0042");
        assert_eq!(next(DocKind::Invoice, 2027, Some(last)), "INV-2027-0001");
        assert_eq!(next(DocKind::CreditNote, 2026, Some(last)), "CN-2026-0001");
        assert_eq!(next(DocKind::Quote, 2026, None), "Q-2026-0001");
        let b = Series::parse("B").unwrap();
        assert_eq!(
            DocNumber::next(DocKind::Invoice, b, 2026, Some(last))
                .unwrap()
                .to_string(),
            "INV-B-2026-0001",
            "another series starts at 1"
        );
        let full = DocNumber {
            kind: DocKind::Order,
            series: main,
            year: 2026,
            seq: u32::MAX,
        };
        assert_eq!(
            DocNumber::next(DocKind::Order, main, 2026, Some(full)),
            Err(NumberError::SeriesFull {
                kind: DocKind::Order,
                year: 2026
            })
        );
        assert_eq!(serde_json::to_string(&last).unwrap(), r#""INV-2026-0041""#);
    }

    #[test]
    fn a_desk_series_is_written_between_kind_and_year() {
        let number: DocNumber = "INV-AB-2026-0007".parse().unwrap();
        assert_eq!(number.series.as_str(), "AB");
        assert_eq!((number.year, number.seq), (2026, 7));
        assert_eq!(number.to_string(), "INV-AB-2026-0007");
        assert_ne!(number, "INV-2026-0007".parse().unwrap());
        assert_eq!(
            serde_json::from_str::<DocNumber>(r#""CN-Z-2027-10000""#)
                .unwrap()
                .to_string(),
            "CN-Z-2027-10000"
        );
    }

    #[test]
    fn the_nth_granted_block_names_a_series_of_its_own() {
        let name = |n| Series::nth(n).map(|s| s.as_str().to_string());
        assert_eq!(name(0).as_deref(), Some("A"));
        assert_eq!(name(25).as_deref(), Some("Z"));
        assert_eq!(name(26).as_deref(), Some("AA"));
        assert_eq!(name(26 + 675).as_deref(), Some("ZZ"));
        assert_eq!(name(26 + 676).as_deref(), Some("AAA"));
        assert_eq!(name(26 + 676 + 17_575).as_deref(), Some("ZZZ"));
        assert_eq!(name(26 + 676 + 17_576), None);
        let all: std::collections::HashSet<_> = (0..26 + 676 + 17_576).map(name).collect();
        assert_eq!(all.len(), 26 + 676 + 17_576, "no two blocks share a series");
        assert_eq!(Series::parse(""), Some(Series::MAIN));
        assert_eq!(Series::parse("ABCD"), None);
    }
}
