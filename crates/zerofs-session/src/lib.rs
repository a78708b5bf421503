//! A live, shared, self-healing 9P2000.L / ZeroFS session.
//!
//! [`Session`] turns the `zerofs-9p-proto` codec into one multiplexed connection: any number of
//! concurrent requests matched by tag, batched vectored writes, zero-copy reads, RAII [`Fid`]
//! guards with background clunks, pipelined bulk I/O, and, after any connection loss,
//! a supervisor that redials, renegotiates and replays every fid before waiting calls resume.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zerofs_session::SessionError> {
//! use zerofs_session::{Options, Session};
//! use zerofs_session::proto::{bytes::Bytes, consts::open};
//!
//! let session = Session::connect("127.0.0.1:5564", Options::default()).await?;
//! let (fid, _qids) = session.walk(session.root(), &[Bytes::from_static(b"hello.txt")]).await?;
//! session.lopen(&fid, open::RDONLY).await?;
//! let data = session.read(&fid, 0, 1 << 20).await?;
//! # let _ = data; Ok(()) }
//! ```
#![warn(missing_docs)]

mod bulk;
mod conn;
mod core;
mod dial;
mod effects;
mod error;
mod fid_guard;
mod fids;
mod followups;
mod ha;
mod hash;
mod identity;
mod liveness;
mod lower;
mod negotiate;
mod ops;
mod options;
mod overdue;
mod read_buffer;
mod renames;
mod replay;
mod request;
mod resend;
mod session;
mod stats;
mod supervisor;
mod tags;
mod target;
mod transport;
mod typed;
mod verify;

#[cfg(test)]
mod tests;

pub use zerofs_9p_proto as proto;

pub use crate::bulk::Z_READ_PIECE;
pub use crate::error::{ConnectStage, SessionError};
pub use crate::fid_guard::Fid;
pub use crate::ha::TargetSet;
pub use crate::identity::Identity;
pub use crate::negotiate::{Lineage, NegotiateError, Negotiated};
pub use crate::options::{Backoff, Options};
pub use crate::read_buffer::ReadBuffer;
pub use crate::session::Session;
pub use crate::stats::Stats;
pub use crate::target::{Target, TargetError};
pub use crate::transport::{BoxRead, BoxWrite};
pub use crate::transport::{Connector, Transport};
pub use crate::typed::Entries;
