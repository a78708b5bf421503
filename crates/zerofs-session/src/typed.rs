//! Typed calls: a request named by its [`kind`] marker returns its reply's body, so callers
//! never match on a [`Message`] for replies that cannot come.
//!
//! The reader already refuses, on the wire, any reply whose type does not answer the request
//! (a protocol violation: the connection is recycled and the request resent, see
//! `conn::decode_reply`), and `Rlerror` becomes [`SessionError::Server`] in the exchange.
//! What reaches the extraction here is therefore the reply the caller asked for, also when
//! the session rebuilt it itself (a request lowered for a plainer dialect, see `lower.rs`
//! and `followups.rs`; an outcome proven by `verify.rs`). Anything else would be a bug of
//! the session, reported as [`SessionError::Protocol`] naming both messages. The one
//! request whose lowering changes the reply's type, `Treaddirattr` (answered `Rreaddir`
//! by a server without gen 1), goes through [`Session::readdir`] and its [`Entries`].

use futures::FutureExt;
use futures::future::Either;
use zerofs_9p_proto::{
    Message, MessageType, ReplyError, Request, Rreaddir, Rreaddirattr, Treaddir, kind,
};

use crate::error::{SessionError, reply};
use crate::fid_guard::Fid;
use crate::session::Session;

/// A page of directory entries: with their stats (`Treaddirattr`), or without (`Treaddir`,
/// and also a `Treaddirattr` sent after a reconnect to a server without gen 1, which has no
/// stats to give: two reply types are legitimate here, hence the enum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entries {
    /// Entries with stats.
    Stats(Rreaddirattr),
    /// Entries with names, qids and types only.
    Names(Rreaddir),
}

impl Session {
    /// [`call`](Self::call) typed by the request's [`kind`] marker: sends `body` as the
    /// request `R` and returns the body of its reply (`()` for an empty one).
    ///
    /// Everything `call` does holds (fid-creating and -releasing requests are refused with
    /// [`SessionError::Usage`], `Rlerror` is [`SessionError::Server`], reconnects are waited
    /// out, a request is lowered for a plainer dialect and its reply rebuilt). `Treaddirattr`
    /// is refused too: its reply may be an `Rreaddir` (use [`readdir`](Self::readdir)).
    ///
    /// ```no_run
    /// # async fn demo(session: zerofs_session::Session) -> Result<(), zerofs_session::SessionError> {
    /// use zerofs_session::proto::{consts::getattr, kind, Tgetattr};
    ///
    /// let body = Tgetattr { fid: session.root().id(), request_mask: getattr::ALL };
    /// let reply = session.call_typed::<kind::Tgetattr>(body).await?; // an `Rgetattr`
    /// println!("{} bytes", reply.stat.size);
    /// # Ok(()) }
    /// ```
    pub fn call_typed<R: Request>(
        &self,
        body: R::Body,
    ) -> impl Future<Output = Result<R::Reply, SessionError>> + Send + '_ {
        if R::TYPE == MessageType::Treaddirattr {
            return Either::Left(std::future::ready(Err(SessionError::Usage {
                message: R::TYPE,
                instead: "readdir",
            })));
        }
        Either::Right(self.call(R::message(body)).map(|r| r.and_then(reply::<R>)))
    }

    /// [`request`](Self::request) typed by the request's marker.
    pub(crate) fn request_typed<'a, R: Request>(
        &'a self,
        body: R::Body,
        effect: crate::effects::Effect,
        fids: &'a [u32],
    ) -> impl Future<Output = Result<R::Reply, SessionError>> + Send + 'a {
        self.request(R::message(body), effect, fids)
            .map(|r| r.and_then(reply::<R>))
    }

    /// Reads a page of the open directory `fid` from `offset` (at most `count` bytes):
    /// with stats (`Treaddirattr`) when `stats` and the dialect has gen 1, else `Treaddir`.
    /// Entries with stats may still come back without them (see [`Entries`]).
    pub async fn readdir(
        &self,
        fid: &Fid,
        offset: u64,
        count: u32,
        stats: bool,
    ) -> Result<Entries, SessionError> {
        let body = Treaddir {
            fid: fid.id(),
            offset,
            count,
        };
        if !(stats && self.dialect().has_gen1()) {
            return self
                .call_typed::<kind::Treaddir>(body)
                .await
                .map(Entries::Names);
        }
        match self.call(Message::Treaddirattr(body)).await? {
            Message::Rreaddirattr(r) => Ok(Entries::Stats(r)),
            Message::Rreaddir(r) => Ok(Entries::Names(r)),
            other => Err(ReplyError::Unexpected {
                request: MessageType::Treaddirattr,
                reply: other.msg_type(),
            }
            .into()),
        }
    }
}
