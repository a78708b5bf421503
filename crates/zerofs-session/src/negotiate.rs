//! Version negotiation (PROTOCOL.md §4.3): get the best dialect every server generation offers.
//!
//! 1. Propose `9P2000.L.Z`. An echo of it is `.Z` (then `Tgetlineage`).
//! 2. `9P2000.L` means a pre-2.1 server: propose `9P2000.L.zerofs2`; its echo `.zerofs2` is gen 2,
//!    `.zerofs` gen 1, `9P2000.L` plain (anything else: fall through to step 3).
//! 3. `unknown`, `Rlerror` (diod answers that to anything but exactly `9P2000.L`) or any other
//!    answer: propose exactly `9P2000.L`, which must be echoed.
//!
//! Only what the echoed token grants is used; msize = min(reply, request), at least 4096.

use std::sync::Arc;

use bytes::Bytes;
use zerofs_9p_proto::consts::MIN_MSIZE;
use zerofs_9p_proto::{Dialect, Message, Rgetlineage, Tversion};

use crate::conn::{Conn, VERSION_TAG};
use crate::effects::Effect;
use crate::request::{Ticket, once};

/// The outcome of a negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The dialect the server echoed.
    pub dialect: Dialect,
    /// min(server's msize, requested).
    pub msize: u32,
    /// `.Z` only: the lineage token and writer epoch from `Rgetlineage`.
    pub lineage: Option<Lineage>,
}

/// A `.Z` server's lineage (from `Rgetlineage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage {
    /// Token naming the server's current data lineage.
    pub token: u64,
    /// Writer epoch (0 on a standalone server), copied into mutation envelopes.
    pub writer_epoch: u64,
}

/// Why negotiation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateError {
    /// The connection died or answered garbage.
    #[error("connection lost during version negotiation")]
    Lost,
    /// Even `9P2000.L` was refused.
    #[error("server refused 9P2000.L (answered {0})")]
    Refused(String),
    /// The negotiated msize is below 4096.
    #[error("negotiated msize {0} is below the minimum of 4096")]
    MsizeTooSmall(u32),
    /// The server answered `ENOTCONN`: it is not the serving leader of its HA set.
    #[error("server is not the serving leader")]
    NotLeader,
    /// `Tgetlineage` failed in a `.Z` session.
    #[error("Tgetlineage failed: {0}")]
    Lineage(String),
}

enum Answer {
    Version(Dialect, u32),
    Other(String),
}

async fn propose(conn: &Arc<Conn>, msize: u32, version: Dialect) -> Result<Answer, NegotiateError> {
    let msg = Message::Tversion(Tversion {
        msize,
        version: Bytes::from_static(version.version().as_bytes()),
    });
    let ticket = Ticket::background(conn.core().clone(), Effect::None);
    match once(conn, msg, ticket, Some(VERSION_TAG))
        .await
        .ok_or(NegotiateError::Lost)?
    {
        Message::Rversion(r) => Ok(match Dialect::from_version(&r.version) {
            Some(d) => Answer::Version(d, r.msize),
            None => Answer::Other(String::from_utf8_lossy(&r.version).into_owned()),
        }),
        Message::Rlerror(e) => Ok(Answer::Other(format!("Rlerror({})", e.ecode))),
        other => Ok(Answer::Other(other.name().to_owned())),
    }
}

/// Runs the negotiation on a fresh connection and records the result on it.
pub(crate) async fn negotiate(conn: &Arc<Conn>, msize: u32) -> Result<Negotiated, NegotiateError> {
    let first = propose(conn, msize, Dialect::Z).await?;
    let chosen = match first {
        Answer::Version(Dialect::Z, m) => Some((Dialect::Z, m)),
        Answer::Version(Dialect::Plain, _) => match propose(conn, msize, Dialect::Zerofs2).await? {
            Answer::Version(d @ (Dialect::Zerofs2 | Dialect::Zerofs | Dialect::Plain), m) => {
                Some((d, m))
            }
            _ => None,
        },
        _ => None,
    };
    let (dialect, server_msize) = match chosen {
        Some(c) => c,
        None => match propose(conn, msize, Dialect::Plain).await? {
            Answer::Version(Dialect::Plain, m) => (Dialect::Plain, m),
            Answer::Version(d, _) => return Err(NegotiateError::Refused(d.version().to_owned())),
            Answer::Other(s) => return Err(NegotiateError::Refused(s)),
        },
    };
    let msize = server_msize.min(msize);
    if msize < MIN_MSIZE {
        return Err(NegotiateError::MsizeTooSmall(msize));
    }
    conn.set_params(dialect, msize);
    let lineage = if dialect == Dialect::Z {
        let ticket = Ticket::background(conn.core().clone(), Effect::None);
        match once(conn, Message::Tgetlineage, ticket, None)
            .await
            .ok_or(NegotiateError::Lost)?
        {
            Message::Rgetlineage(Rgetlineage {
                token,
                writer_epoch,
            }) => Some(Lineage {
                token,
                writer_epoch,
            }),
            Message::Rlerror(e) if e.ecode == zerofs_9p_proto::consts::errno::ENOTCONN => {
                return Err(NegotiateError::NotLeader);
            }
            other => return Err(NegotiateError::Lineage(format!("{other:?}"))),
        }
    } else {
        None
    };
    tracing::debug!(conn = conn.id, %dialect, msize, "negotiated");
    Ok(Negotiated {
        dialect,
        msize,
        lineage,
    })
}
