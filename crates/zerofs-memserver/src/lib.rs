//! An in-memory 9P2000.L server speaking every ZeroFS dialect: the embedded default server of
//! zerofs-client and the test bed that proves it.
//!
//! It behaves as a chosen ZeroFS [`Generation`] — plain `9P2000.L` like the published 0.19.1,
//! gen 1 (`9P2000.L.zerofs`), gen 2 (`9P2000.L.zerofs2`) or `9P2000.L.Z` — following
//! `PROTOCOL.md`: version negotiation, message gating, frame limits, `Tflush` behaviour, the
//! private messages and the `.Z` mutation ledger. The filesystem is a POSIX tree kept in
//! memory (sparse files, hard links, symlinks, device nodes, permissions, byte-range locks).
//!
//! Tests get a [`ServerHandle`] with the address and fault injection: drop every connection,
//! stop and resume listening, lose the reply of a chosen request after applying it, delay
//! replies, and count frames per message type.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use zerofs_9p_proto::MessageType;
//! use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};
//!
//! let server = MemServer::start(Config::new(Generation::Gen2).ephemeral_unix()).await?;
//! println!("connect to {} or {:?}", server.target(), server.unix_target());
//! server.set_reply_delay_for(MessageType::Tread, Some(Duration::from_millis(5)));
//! server.lose_reply_after(ReplyLoss::next(MessageType::Tmkdir));
//! assert_eq!(server.counters().connections_accepted(), 0);
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod config;
mod conn;
mod counters;
mod dispatch;
mod faults;
mod fs;
mod ha;
mod ledger;
mod negotiate;
mod payload;
mod server;
mod switches;

pub use zerofs_9p_proto;

pub use crate::config::{Config, Generation, ParseGenerationError};
pub use crate::counters::Counters;
pub use crate::faults::{Recorded, ReplyLoss};
pub use crate::server::{MemServer, ServerHandle};

/// The `iounit` 0.19.1 puts in Rlopen/Rlcreate (1.2+ servers send 0).
pub const PLAIN_IOUNIT: u32 = 256 * 1024;

/// The most bytes one Tread/Treaddir returns from a plain server. 0.19.1 does not clamp the
/// count to the msize; the memserver bounds it here so a hostile count cannot exhaust memory.
pub const PLAIN_READ_LIMIT: u32 = 16 * 1024 * 1024;
