//! Document numbers people see: Q-2026-0001, ORD-2026-0001, INV-2026-0001, CN-2026-0001.
//!
//! Each kind has its own series per calendar year, starting at 1 and with no gaps (the store
//! hands out the next number inside the transaction that finalises the document; this module
//! only says what the next one is and how numbers are written). The sequence is zero-padded to
//! four digits and grows past 9999 without padding ("INV-2026-10000"). Parsing accepts exactly
//! the written form, so one number has one spelling.

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

/// A document number: kind, year and sequence within that year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocNumber {
    pub kind: DocKind,
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
    pub fn first(kind: DocKind, year: i32) -> Result<DocNumber, NumberError> {
        if !(1000..=9999).contains(&year) {
            return Err(NumberError::YearOutOfRange { year });
        }
        Ok(DocNumber { kind, year, seq: 1 })
    }

    /// The number after `last` (the highest issued of that kind, if any) for a document dated
    /// in `year`: the series restarts at 1 each year.
    pub fn next(
        kind: DocKind,
        year: i32,
        last: Option<DocNumber>,
    ) -> Result<DocNumber, NumberError> {
        match last {
            Some(last) if last.kind == kind && last.year == year => {
                let seq = last
                    .seq
                    .checked_add(1)
                    .ok_or(NumberError::SeriesFull { kind, year })?;
                Ok(DocNumber { kind, year, seq })
            }
            _ => DocNumber::first(kind, year),
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
        write!(f, "{}-{}-{:04}", self.kind.prefix(), self.year, self.seq)
    }
}

impl FromStr for DocNumber {
    type Err = NumberError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let malformed = || NumberError::Malformed {
            input: input.to_string(),
        };
        let mut parts = input.split('-');
        let (Some(prefix), Some(year), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
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
        let number = DocNumber { kind, year, seq };
        // One spelling only: no zero sequence, no extra leading zeros.
        if seq == 0 || number.to_string() != input {
            return Err(malformed());
        }
        DocNumber::first(kind, year)?;
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
            let number = DocNumber { kind, year, seq };
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
        let next = |kind, year, last| DocNumber::next(kind, year, last).unwrap().to_string();
        assert_eq!(next(DocKind::Invoice, 2026, Some(last)), "INV-2026-0042");
        assert_eq!(next(DocKind::Invoice, 2027, Some(last)), "INV-2027-0001");
        assert_eq!(next(DocKind::CreditNote, 2026, Some(last)), "CN-2026-0001");
        assert_eq!(next(DocKind::Quote, 2026, None), "Q-2026-0001");
        let full = DocNumber {
            kind: DocKind::Order,
            year: 2026,
            seq: u32::MAX,
        };
        assert_eq!(
            DocNumber::next(DocKind::Order, 2026, Some(full)),
            Err(NumberError::SeriesFull {
                kind: DocKind::Order,
                year: 2026
            })
        );
        assert_eq!(serde_json::to_string(&last).unwrap(), r#""INV-2026-0041""#);
    }
}
