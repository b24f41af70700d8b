//! The pull cursor: where in the feed a desk has read up to. Desks treat it as opaque text and
//! only hand back what a pull gave them.
//!
//! Inside it is the feed's id (a database made anew has a new feed, and a cursor from another
//! feed means a full resync, never a silent gap) and a position: `(xid, pos)` — on PostgreSQL
//! the writing transaction's id and the row's sequence number, on SQLite `(0, pos)`. Text
//! form: `c1.` and the unpadded base64url of feed id (16 bytes), xid and pos (8 bytes each,
//! big-endian).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// A place in the feed: every change has one, and the feed is in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// The PostgreSQL transaction id (`xid8`) that wrote the change; 0 on SQLite.
    pub xid: u64,
    /// The change's sequence number.
    pub pos: i64,
}

impl Position {
    /// Before every change.
    pub const START: Position = Position { xid: 0, pos: 0 };
}

/// A position in one particular feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub feed_id: Uuid,
    pub position: Position,
}

/// The text is not a cursor this portal ever made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a cursor this portal made (pass back the next_cursor of a pull, or none to start over)"
)]
pub struct BadCursor;

const PREFIX: &str = "c1.";

impl Cursor {
    /// The text desks store.
    pub fn encode(&self) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(self.feed_id.as_bytes());
        bytes[16..24].copy_from_slice(&self.position.xid.to_be_bytes());
        bytes[24..].copy_from_slice(&self.position.pos.to_be_bytes());
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a cursor's text (only the exact text `encode` makes).
    pub fn decode(text: &str) -> Result<Cursor, BadCursor> {
        let encoded = text.strip_prefix(PREFIX).ok_or(BadCursor)?;
        if encoded.len() != 43 {
            return Err(BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| BadCursor)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| BadCursor)?;
        let cursor = Cursor {
            feed_id: Uuid::from_slice(&bytes[..16]).map_err(|_| BadCursor)?,
            position: Position {
                xid: u64::from_be_bytes(bytes[16..24].try_into().map_err(|_| BadCursor)?),
                pos: i64::from_be_bytes(bytes[24..].try_into().map_err(|_| BadCursor)?),
            },
        };
        // One text per cursor: a non-canonical base64 tail decodes but is not what we made.
        if cursor.encode() != text || cursor.position.pos < 0 {
            return Err(BadCursor);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_anything_else() {
        let cursor = Cursor {
            feed_id: Uuid::now_v7(),
            position: Position {
                xid: 123_456_789,
                pos: 42,
            },
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text), Ok(cursor));
        assert!(Position { xid: 1, pos: 100 } < Position { xid: 2, pos: 1 });
        for bad in [
            String::new(),
            "c1.".into(),
            text[1..].to_string(),
            format!("{text}A"),
            text.replace("c1.", "c2."),
        ] {
            assert_eq!(Cursor::decode(&bad), Err(BadCursor), "{bad}");
        }
        // The last base64 character carries 2 unused bits: other values decode to the same bytes.
        let mut tweaked = text.clone().into_bytes();
        let last = tweaked.len() - 1;
        tweaked[last] = if tweaked[last] == b'A' { b'B' } else { b'A' };
        let tweaked = String::from_utf8(tweaked).unwrap();
        assert_ne!(Cursor::decode(&tweaked), Ok(cursor));
    }
}
