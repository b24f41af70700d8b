//! Hybrid logical clock timestamps: physical milliseconds plus a counter, so every change a
//! desk makes is ordered after everything it has made or seen, even when its wall clock steps
//! back. With the desk id as the last tie-breaker, `(hlc, desk_id)` is a total order over all
//! changes of all desks; desks use it to pick the newest state of an entity, and the portal
//! uses it to know which change of an entity is the latest when compacting.
//!
//! On the wire an HLC is 21 characters: 12 lower-case hex digits of Unix milliseconds, `-`,
//! 8 hex digits of the counter (`019ad1e2f3a4-00000000`). Fixed width, so text order is time
//! order and the database can sort the text.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One hybrid logical clock reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    /// Unix milliseconds (at most 48 bits).
    pub ms: u64,
    /// Events within the same millisecond.
    pub counter: u32,
}

/// The largest millisecond value the text form holds (12 hex digits: year 10889).
pub const MAX_MS: u64 = 0xffff_ffff_ffff;

/// Why a text is not an HLC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an HLC is 12 lower-case hex digits, '-', 8 lower-case hex digits (019ad1e2f3a4-00000000)")]
pub struct BadHlc;

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}-{:08x}", self.ms, self.counter)
    }
}

impl FromStr for Hlc {
    type Err = BadHlc;

    /// Only the canonical text: exactly 21 characters, lower-case hex.
    fn from_str(text: &str) -> Result<Self, BadHlc> {
        let bytes = text.as_bytes();
        let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if bytes.len() != 21
            || bytes[12] != b'-'
            || !bytes[..12].iter().all(hex)
            || !bytes[13..].iter().all(hex)
        {
            return Err(BadHlc);
        }
        let ms = u64::from_str_radix(&text[..12], 16).map_err(|_| BadHlc)?;
        let counter = u32::from_str_radix(&text[13..], 16).map_err(|_| BadHlc)?;
        Ok(Hlc { ms, counter })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A desk's clock: hands out HLCs that only go forward. The desk keeps the last one it handed
/// out (and every one it saw in a pull) in its database, so a restart never goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HlcClock {
    last: Option<Hlc>,
}

impl HlcClock {
    /// A clock that has seen `last` (the value the desk stored), or nothing yet.
    pub fn new(last: Option<Hlc>) -> Self {
        Self { last }
    }

    /// The latest value handed out or observed.
    pub fn last(&self) -> Option<Hlc> {
        self.last
    }

    /// A new timestamp for a local change, after every earlier one: the wall clock's
    /// milliseconds when they are ahead, else the last value's with the counter moved on.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let now_ms = now_ms.min(MAX_MS);
        let next = match self.last {
            Some(last) if last.ms >= now_ms => match last.counter.checked_add(1) {
                Some(counter) => Hlc {
                    ms: last.ms,
                    counter,
                },
                None => Hlc {
                    ms: (last.ms + 1).min(MAX_MS),
                    counter: 0,
                },
            },
            _ => Hlc {
                ms: now_ms,
                counter: 0,
            },
        };
        self.last = Some(next);
        next
    }

    /// Takes in a timestamp seen on another desk's change, so the next local change is
    /// ordered after it.
    pub fn observe(&mut self, seen: Hlc) {
        if self.last.is_none_or(|last| seen > last) {
            self.last = Some(seen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_width_and_strict() {
        let hlc = Hlc {
            ms: 0x019a_d1e2_f3a4,
            counter: 7,
        };
        assert_eq!(hlc.to_string(), "019ad1e2f3a4-00000007");
        assert_eq!("019ad1e2f3a4-00000007".parse(), Ok(hlc));
        for bad in [
            "",
            "019AD1E2F3A4-00000007",
            "19ad1e2f3a4-00000007",
            "019ad1e2f3a4_00000007",
            "019ad1e2f3a4-0000007",
            "019ad1e2f3a4-000000070",
            "+19ad1e2f3a4-00000007",
            "019ad1e2f3a4-+0000007",
        ] {
            assert_eq!(bad.parse::<Hlc>(), Err(BadHlc), "{bad}");
        }
    }

    #[test]
    fn text_order_is_value_order() {
        let a = Hlc {
            ms: 5,
            counter: 0xffff_ffff,
        };
        let b = Hlc { ms: 6, counter: 0 };
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn clock_never_goes_back() {
        let mut clock = HlcClock::new(None);
        let first = clock.tick(1000);
        assert_eq!(
            first,
            Hlc {
                ms: 1000,
                counter: 0
            }
        );
        let same_ms = clock.tick(1000);
        assert_eq!(
            same_ms,
            Hlc {
                ms: 1000,
                counter: 1
            }
        );
        let wall_went_back = clock.tick(900);
        assert_eq!(
            wall_went_back,
            Hlc {
                ms: 1000,
                counter: 2
            }
        );
        clock.observe(Hlc {
            ms: 5000,
            counter: 3,
        });
        assert_eq!(
            clock.tick(1001),
            Hlc {
                ms: 5000,
                counter: 4
            }
        );
        clock.observe(Hlc { ms: 10, counter: 0 });
        assert_eq!(
            clock.tick(6000),
            Hlc {
                ms: 6000,
                counter: 0
            }
        );
        let mut full = HlcClock::new(Some(Hlc {
            ms: 1,
            counter: u32::MAX,
        }));
        assert_eq!(full.tick(0), Hlc { ms: 2, counter: 0 });
    }
}
