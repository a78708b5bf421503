//! An async client for ZeroFS 9P servers (and any 9P2000.L server, such as diod).
//!
//! [`Client`] addresses files by path; [`File`] is an open file with positioned I/O;
//! [`Dir`] lists a directory and works on its children by name. Every method is `async`,
//! every handle is `Send + Sync`, and one connection multiplexes any number of concurrent
//! calls. Lost connections are re-established and open handles restored automatically.
//!
//! The API matches ZeroFS's own `zerofs-client` 0.1 (names, signatures, errors), with fewer
//! round trips per operation and pipelined bulk I/O (see `docs/ROUND-TRIPS.md`).
//!
//! Features (all on by default, as in ZeroFS's own client): `tokio-io` ([`File::cursor`],
//! [`io::FileCursor`]), `stream` ([`Dir::entries`], [`DirStream`]), `serde` (derives on the
//! data records). Off by default: `metrics` ([`Client::publish_metrics`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
//! # let target = server.target();
//! use zerofs_client::{Client, ZeroFsError};
//!
//! let client = Client::connect(&target).await?;
//! client.create_dir_all("/logs/2026", 0o755).await?;
//! client.write("/logs/2026/app.log", b"started\n").await?;
//! let at = client.append("/logs/2026/app.log", b"ready\n").await?;
//! assert_eq!(at, 8);
//! let names: Vec<String> = client.read_dir("/logs/2026").await?.into_iter().map(|e| e.name).collect();
//! assert_eq!(names, ["app.log"]);
//! assert!(matches!(client.stat("/nope").await, Err(ZeroFsError::NotFound { .. })));
//! client.remove_dir_all("/logs").await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod client;
mod coalesce;
mod connect_cause;
mod ctx;
mod dir;
mod error;
mod file;
mod listing;
mod lock;
#[cfg(feature = "metrics")]
mod metrics;
mod nodes;
mod open;
mod path;
mod records;
mod resolve;
mod spare;
mod trace;
pub mod transfer;
mod tree;
#[cfg(feature = "stream")]
mod tree_walk;
mod walk;
mod xattr;

#[cfg(feature = "tokio-io")]
pub mod io;
#[cfg(feature = "stream")]
pub mod stream;

pub use bytes::Bytes;

pub use crate::client::{Client, ClientBuilder};
pub use crate::connect_cause::ConnectCause;
pub use crate::dir::Dir;
pub use crate::error::ZeroFsError;
pub use crate::file::File;
pub use crate::lock::{LockConflict, LockKind};
pub use crate::records::*;
#[cfg(feature = "stream")]
pub use crate::stream::DirStream;
#[cfg(feature = "stream")]
pub use crate::tree_walk::{Walk, WalkEntry, WalkOptions};
pub use crate::xattr::XattrFlags;
pub use zerofs_session::Backoff;

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}
