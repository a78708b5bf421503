//! A sans-IO encoder and decoder for 9P2000.L and every ZeroFS protocol dialect.
//!
//! This crate does no I/O and keeps no clocks: it turns bytes into typed [`Frame`]s and back.
//! A transport (the `zerofs-session` crate, a server, a proxy) feeds it bytes and writes what it
//! produces.
//!
//! - [`FrameDecoder`] splits a byte stream into frames, refusing bad sizes before buffering.
//! - [`Frame::decode`] parses one complete frame in a [`Dialect`]; data payloads and names are
//!   zero-copy slices of the frame.
//! - [`Frame::encode`] writes a frame into any [`bytes::BufMut`] with an exact
//!   [`Frame::encoded_len`]; [`Frame::encode_head`] leaves the data payload out so a 1 MiB
//!   `Twrite` is sent as header + caller's buffer, never copied into a frame buffer.
//! - [`Message`] has one variant per message; [`consts`] names every constant.
//!
//! Bad input yields a precise [`Error`], never a panic.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use zerofs_9p_proto::{consts, Dialect, Frame, FrameDecoder, Message, Twalk};
//!
//! // Encode a walk and feed it back through the stream framer.
//! let walk = Frame::new(1, Message::Twalk(Twalk {
//!     fid: 0,
//!     newfid: 1,
//!     wnames: vec![Bytes::from_static(b"etc"), Bytes::from_static(b"hosts")],
//! }));
//! let mut stream = BytesMut::new();
//! walk.encode(Dialect::Zerofs2, &mut stream)?;
//!
//! let mut framer = FrameDecoder::new(consts::MAX_MSIZE);
//! let bytes = framer.decode(&mut stream)?.expect("a whole frame");
//! assert_eq!(Frame::decode(bytes, Dialect::Zerofs2)?, walk);
//! # Ok::<(), zerofs_9p_proto::Error>(())
//! ```
#![warn(missing_docs)]

pub mod coding;
pub mod consts;
mod dialect;
mod error;
mod frame;
mod framer;
mod message;
mod types;

pub use bytes;

pub use crate::coding::{Codec, Source};
pub use crate::dialect::Dialect;
pub use crate::error::{Error, Result};
pub use crate::frame::{Frame, Header};
pub use crate::framer::FrameDecoder;
pub use crate::message::*;
pub use crate::types::*;
