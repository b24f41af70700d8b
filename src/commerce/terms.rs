//! Subscription terms and their real lengths in days.
//!
//! A term is a whole number of calendar months. Its end is found by adding months to the start
//! date; when the start day does not exist in the end month the date is clamped to that month's
//! last day (31 Jan + 1 month = 28 Feb, or 29 Feb in a leap year). Consecutive terms are always
//! counted from the subscription's first start (the anchor), never from the previous clamped
//! end, so a subscription that starts on 31 Jan renews 29 Feb → 31 Mar → 30 Apr and does not
//! drift to the 28th. A period runs from its start date (included) to its end date (excluded):
//! the end date is the first day no longer covered, so its length in days is `end − start`.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// How long one paid term lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    Monthly,
    Quarterly,
    Annual,
    /// Three years.
    Triennial,
}

/// A term or period that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermError {
    #[error("a period must end after it starts ({start} to {end})")]
    EmptyPeriod { start: NaiveDate, end: NaiveDate },
    #[error("the number of terms must be at least 1")]
    ZeroTerms,
    #[error("{months} months after {start} is beyond the supported calendar")]
    OutOfCalendar { start: NaiveDate, months: u64 },
    #[error("{date} is not within the term {start} to {end}")]
    OutsidePeriod {
        date: NaiveDate,
        start: NaiveDate,
        end: NaiveDate,
    },
}

impl Term {
    /// Every term, shortest first (for pickers).
    pub const ALL: [Term; 4] = [
        Term::Monthly,
        Term::Quarterly,
        Term::Annual,
        Term::Triennial,
    ];

    /// Calendar months in one term.
    pub const fn months(self) -> u32 {
        match self {
            Term::Monthly => 1,
            Term::Quarterly => 3,
            Term::Annual => 12,
            Term::Triennial => 36,
        }
    }

    /// The name people see.
    pub const fn label(self) -> &'static str {
        match self {
            Term::Monthly => "Monthly",
            Term::Quarterly => "Quarterly",
            Term::Annual => "Annual",
            Term::Triennial => "3 years",
        }
    }

    /// The end (exclusive) of `count` consecutive terms starting at `anchor`.
    pub fn end_after(self, anchor: NaiveDate, count: u32) -> Result<NaiveDate, TermError> {
        if count == 0 {
            return Err(TermError::ZeroTerms);
        }
        let months = u64::from(self.months()) * u64::from(count);
        add_months(anchor, months)
    }

    /// The one term starting at `start`.
    pub fn period(self, start: NaiveDate) -> Result<TermPeriod, TermError> {
        TermPeriod::new(start, self.end_after(start, 1)?)
    }

    /// The `n`th term (1-based) of a subscription that started at `anchor`; each boundary is
    /// counted from the anchor so clamped month ends do not drift.
    pub fn nth_period(self, anchor: NaiveDate, n: u32) -> Result<TermPeriod, TermError> {
        let start = if n <= 1 {
            anchor
        } else {
            self.end_after(anchor, n - 1)?
        };
        TermPeriod::new(start, self.end_after(anchor, n.max(1))?)
    }

    /// Days in the term starting at `start`: 28–31 monthly, 89–92 quarterly, 365 or 366
    /// annual, 1095 or 1096 for three years.
    pub fn days_from(self, start: NaiveDate) -> Result<u32, TermError> {
        Ok(self.period(start)?.days())
    }
}

fn add_months(start: NaiveDate, months: u64) -> Result<NaiveDate, TermError> {
    u32::try_from(months)
        .ok()
        // chrono clamps to the last day of the target month when the day does not exist.
        .and_then(|m| start.checked_add_months(Months::new(m)))
        .ok_or(TermError::OutOfCalendar { start, months })
}

/// A span of days: `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TermPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl TermPeriod {
    /// A period; `end` must be after `start`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<TermPeriod, TermError> {
        if end <= start {
            return Err(TermError::EmptyPeriod { start, end });
        }
        Ok(TermPeriod { start, end })
    }

    /// Days covered (`end − start`).
    pub fn days(&self) -> u32 {
        u32::try_from((self.end - self.start).num_days()).unwrap_or(u32::MAX)
    }

    /// True when `date` is covered (start ≤ date < end).
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date < self.end
    }

    /// Days from `date` to the end, `date` itself counted: for a change on 20 Jul 2025 in a
    /// term ending (exclusive) 1 Jan 2026 that is 165.
    pub fn remaining_days_from(&self, date: NaiveDate) -> Result<u32, TermError> {
        if !self.contains(date) {
            return Err(TermError::OutsidePeriod {
                date,
                start: self.start,
                end: self.end,
            });
        }
        Ok(u32::try_from((self.end - date).num_days()).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn golden_term_lengths() {
        let cases: &[(Term, NaiveDate, NaiveDate, u32)] = &[
            // leap-year February: a monthly term from 1 Feb 2028 is 29 days
            (Term::Monthly, d(2028, 2, 1), d(2028, 3, 1), 29),
            (Term::Monthly, d(2027, 2, 1), d(2027, 3, 1), 28),
            // 31-day months
            (Term::Monthly, d(2026, 1, 1), d(2026, 2, 1), 31),
            (Term::Monthly, d(2026, 7, 15), d(2026, 8, 15), 31),
            (Term::Monthly, d(2026, 4, 1), d(2026, 5, 1), 30),
            // clamping: 31 Jan + 1 month is the last day of February
            (Term::Monthly, d(2028, 1, 31), d(2028, 2, 29), 29),
            (Term::Monthly, d(2027, 1, 31), d(2027, 2, 28), 28),
            (Term::Quarterly, d(2026, 1, 1), d(2026, 4, 1), 90),
            (Term::Quarterly, d(2028, 1, 1), d(2028, 4, 1), 91),
            (Term::Quarterly, d(2026, 7, 1), d(2026, 10, 1), 92),
            (Term::Quarterly, d(2026, 11, 30), d(2027, 2, 28), 90),
            (Term::Annual, d(2025, 1, 1), d(2026, 1, 1), 365),
            (Term::Annual, d(2028, 1, 1), d(2029, 1, 1), 366),
            (Term::Annual, d(2028, 2, 29), d(2029, 2, 28), 365),
            // a triennial term spanning 29 Feb 2028 is 1096 days
            (Term::Triennial, d(2026, 1, 1), d(2029, 1, 1), 1096),
            (Term::Triennial, d(2029, 3, 1), d(2032, 3, 1), 1096),
            (Term::Triennial, d(2029, 1, 1), d(2032, 1, 1), 1095),
        ];
        for (term, start, end, days) in cases {
            let period = term.period(*start).unwrap();
            assert_eq!(period.end, *end, "{term:?} from {start}");
            assert_eq!(period.days(), *days, "{term:?} from {start}");
            assert_eq!(term.days_from(*start).unwrap(), *days);
        }
    }

    #[test]
    fn every_start_day_gives_a_length_in_range() {
        let ranges = [
            (Term::Monthly, 28..=31),
            (Term::Quarterly, 89..=92),
            (Term::Annual, 365..=366),
            (Term::Triennial, 1095..=1096),
        ];
        let mut day = d(2024, 1, 1);
        while day < d(2032, 1, 1) {
            for (term, range) in &ranges {
                let days = term.days_from(day).unwrap();
                assert!(range.contains(&days), "{term:?} from {day}: {days}");
            }
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn consecutive_terms_count_from_the_anchor() {
        let anchor = d(2028, 1, 31);
        let ends: Vec<_> = (1..=4)
            .map(|n| Term::Monthly.nth_period(anchor, n).unwrap())
            .map(|p| (p.start, p.end))
            .collect();
        assert_eq!(
            ends,
            [
                (d(2028, 1, 31), d(2028, 2, 29)),
                (d(2028, 2, 29), d(2028, 3, 31)),
                (d(2028, 3, 31), d(2028, 4, 30)),
                (d(2028, 4, 30), d(2028, 5, 31)),
            ]
        );
        assert_eq!(Term::Annual.end_after(d(2025, 3, 1), 3), Ok(d(2028, 3, 1)));
        assert_eq!(
            Term::Annual.end_after(d(2025, 3, 1), 0),
            Err(TermError::ZeroTerms)
        );
        assert!(matches!(
            Term::Triennial.end_after(NaiveDate::MAX, 1),
            Err(TermError::OutOfCalendar { .. })
        ));
    }

    #[test]
    fn remaining_days_count_the_day_of_change() {
        let term = TermPeriod::new(d(2025, 1, 1), d(2026, 1, 1)).unwrap();
        assert_eq!(term.remaining_days_from(d(2025, 7, 20)), Ok(165));
        assert_eq!(term.remaining_days_from(d(2025, 1, 1)), Ok(365));
        assert_eq!(term.remaining_days_from(d(2025, 12, 31)), Ok(1));
        assert!(term.remaining_days_from(d(2026, 1, 1)).is_err());
        assert!(term.remaining_days_from(d(2024, 12, 31)).is_err());
        assert!(TermPeriod::new(d(2025, 1, 1), d(2025, 1, 1)).is_err());
    }
}
