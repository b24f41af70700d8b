//! Lists of any length over SQLite: the table asks for the rows it can see, and they come in
//! chunks from indexed queries, each chunk keyset-paged from the one before it (OFFSET only
//! for a jump far down the list). Counts are read once and kept until something changes; the
//! database is never queried for a frame that shows nothing new.

use crate::store::StoreResult;
use rusqlite::Connection;
use std::collections::HashMap;

/// Rows per fetch.
pub const CHUNK: u64 = 100;
/// Chunks kept in memory; those farthest from what is on screen go first.
const KEEP_CHUNKS: usize = 12;

/// Where a list's rows come from.
pub trait RowSource {
    type Row: Clone;

    /// Up to `limit` rows: right after `after` in the list's order when it is given (keyset),
    /// otherwise from `offset`.
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&Self::Row>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<Self::Row>>;

    /// How many rows the list has, counting no further than `cap`.
    fn count(&self, db: &Connection, cap: u64) -> StoreResult<u64>;

    /// The most rows this list shows; past it, it asks for a narrower filter.
    fn cap(&self) -> u64 {
        u64::MAX
    }
}

/// A cached, chunked view of a [`RowSource`].
pub struct Paged<S: RowSource> {
    source: S,
    total: Option<u64>,
    chunks: HashMap<u64, Vec<S::Row>>,
    error: Option<String>,
}

impl<S: RowSource> Paged<S> {
    /// A list over `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            total: None,
            chunks: HashMap::new(),
            error: None,
        }
    }

    /// The query behind the list.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Replaces the query (a new filter or order) and forgets every row.
    pub fn set_source(&mut self, source: S) {
        self.source = source;
        self.invalidate();
    }

    /// Forgets every row and the count (after a change the worker reported).
    pub fn invalidate(&mut self) {
        self.total = None;
        self.chunks.clear();
        self.error = None;
    }

    /// How many rows the list shows (at most the cap), read once.
    pub fn total(&mut self, db: &Connection) -> u64 {
        let cap = self.source.cap();
        if self.total.is_none() {
            match self.source.count(db, cap.saturating_add(1)) {
                Ok(n) => self.total = Some(n),
                Err(e) => {
                    self.error = Some(e.to_string());
                    self.total = Some(0);
                }
            }
        }
        self.total.unwrap_or(0).min(cap)
    }

    /// True when there are more rows than the list will show.
    pub fn is_capped(&self) -> bool {
        self.total.is_some_and(|n| n > self.source.cap())
    }

    /// The last read error, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Row `index`, fetching its chunk if needed.
    pub fn get(&mut self, db: &Connection, index: u64) -> Option<&S::Row> {
        let chunk = index / CHUNK;
        if !self.chunks.contains_key(&chunk) {
            let rows = {
                let after = chunk
                    .checked_sub(1)
                    .and_then(|previous| self.chunks.get(&previous))
                    .filter(|rows| rows.len() as u64 == CHUNK)
                    .and_then(|rows| rows.last());
                self.source.fetch(db, after, chunk * CHUNK, CHUNK as usize)
            };
            match rows {
                Ok(rows) => {
                    self.chunks.insert(chunk, rows);
                    self.evict(chunk);
                }
                Err(e) => {
                    self.error = Some(e.to_string());
                    return None;
                }
            }
        }
        self.chunks
            .get(&chunk)
            .and_then(|rows| rows.get(usize::try_from(index % CHUNK).ok()?))
    }

    /// The first row, if any (for lists that show a single "latest" item).
    pub fn first(&mut self, db: &Connection) -> Option<S::Row> {
        self.get(db, 0).cloned()
    }

    fn evict(&mut self, near: u64) {
        while self.chunks.len() > KEEP_CHUNKS {
            let Some(far) = self.chunks.keys().copied().max_by_key(|c| c.abs_diff(near)) else {
                return;
            };
            self.chunks.remove(&far);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Numbers 0..n; counts fetches and whether they were keyset or offset.
    struct Numbers {
        n: u64,
        keyset: Cell<u32>,
        offset: Cell<u32>,
    }

    impl RowSource for Numbers {
        type Row = u64;
        fn fetch(
            &self,
            _db: &Connection,
            after: Option<&u64>,
            offset: u64,
            limit: usize,
        ) -> StoreResult<Vec<u64>> {
            let start = match after {
                Some(last) => {
                    self.keyset.set(self.keyset.get() + 1);
                    last + 1
                }
                None => {
                    self.offset.set(self.offset.get() + 1);
                    offset
                }
            };
            Ok((start..self.n).take(limit).collect())
        }
        fn count(&self, _db: &Connection, cap: u64) -> StoreResult<u64> {
            Ok(self.n.min(cap))
        }

        fn cap(&self) -> u64 {
            10_000
        }
    }

    #[test]
    fn scrolling_fetches_by_keyset_and_jumps_by_offset() {
        let db = Connection::open_in_memory().unwrap();
        let mut list = Paged::new(Numbers {
            n: 100_000,
            keyset: Cell::new(0),
            offset: Cell::new(0),
        });
        assert_eq!(list.total(&db), 10_000);
        assert!(list.is_capped());
        for i in 0..1_000 {
            assert_eq!(list.get(&db, i), Some(&i));
        }
        assert_eq!(
            list.source().offset.get(),
            1,
            "only the first chunk by offset"
        );
        assert_eq!(list.source().keyset.get(), 9);
        assert_eq!(list.get(&db, 9_500), Some(&9_500));
        assert_eq!(list.source().offset.get(), 2, "a far jump reads by offset");
        assert!(list.chunks.len() <= KEEP_CHUNKS);
        // Reading the same rows again costs nothing.
        let before = list.source().keyset.get() + list.source().offset.get();
        assert_eq!(list.get(&db, 9_501), Some(&9_501));
        assert_eq!(
            list.source().keyset.get() + list.source().offset.get(),
            before
        );
    }
}
