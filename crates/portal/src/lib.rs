//! The License Desk sync portal: the server (`license-portal`) that stores the changes desks
//! push and hands them out again by cursor, and the client a desk uses to talk to it.
//!
//! The portal keeps envelopes, not entities: it validates each change's envelope (known entity,
//! allowed operation, supported body version, well-formed ids, a JSON object body under the
//! size cap), makes pushes idempotent by change id, refuses a second, different version of an
//! insert-only fact, and gives every stored change a position in one commit-ordered feed.
//! What a body means is the desks' business. `docs/sync-protocol.md` is the contract.
//!
//! - [`protocol`]: the wire types and version rules, shared by the server and the client.
//! - [`entities`]: the one table of entity names, their operations, id forms and versions.
//! - [`hlc`]: the hybrid logical clock desks stamp their changes with.
//! - [`client`]: the blocking client a desk wires into its sync worker.
//! - [`store`]: SQLite (default) and PostgreSQL storage behind one type.
//! - [`server`]: the axum application, its limits, TLS and the listener.
//!
//! Without default features only the protocol is built (`protocol`, `entities`, `hlc`,
//! `validate`): what a desk needs to write changes the portal accepts. Feature `client` adds
//! the client, `server` the rest.

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod cursor;
pub mod entities;
pub mod hlc;
#[cfg(feature = "server")]
pub mod openapi;
pub mod protocol;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod token;
pub mod validate;
