//! The resend policy of one request, as pure decisions: what each outcome of an attempt
//! (sent, refused for lack of a tag, lost with its connection, answered "resend") means for the
//! next one, and how long the caller may wait for a connection to make it. No clock and no
//! tokio: time comes in as arguments, so every rule is tested in simulated time; `request.rs`
//! (`exchange_into`) is the driver that waits, sends and carries the verdicts out.
//!
//! The rules: a request waits for a connection for as long as it takes, except
//! - a de-duplicated `.Z` mutation whose attempt may have been seen unanswered: within its
//!   retry horizon of the first such attempt, then [`SessionError::OutcomeUnknown`];
//! - a request a server refused as "not the leader": within the horizon of that first
//!   refusal, then [`SessionError::NotLeader`].
//!
//! A written request lost with its connection is resent, unless it may not be (a `Tremove`
//! already written: [`SessionError::Ambiguous`]).

use std::time::{Duration, Instant};

use crate::error::SessionError;

/// A `.Z` error answer that asks for a resend rather than being the request's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// `ENOTCONN`: refused before dispatch by a server that is not the serving leader; safe
    /// to send elsewhere unchanged.
    NotLeader,
    /// `ESHUTDOWN`: leadership lost mid-request; the outcome is unknown, resend with RETRY.
    Shutdown,
    /// `ESTALE` to a RETRY: the server never saw the op-id (the lost attempt never reached
    /// it), so the operation was not applied; resend it as a first attempt with the same
    /// op-id (a late original is still de-duplicated by it).
    UnseenRetry,
}

/// What happened so far to one request's attempts.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    /// When an attempt was first possibly seen without an answer.
    unknown_since: Option<Instant>,
    /// When a server first answered "not the leader".
    rerouting_since: Option<Instant>,
    /// The connection's tag space was full: wait a moment before trying again.
    busy: bool,
    /// The last attempt was written to a connection that was then lost.
    lost: bool,
}

/// A bound on the wait for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    /// When the wait ends.
    pub(crate) at: Instant,
    /// Whether it ends for a possibly seen attempt (else for a missing leader).
    unknown_outcome: bool,
}

impl Deadline {
    /// The error a caller gets at the deadline.
    pub(crate) fn error(&self, horizon: Duration) -> SessionError {
        if self.unknown_outcome {
            SessionError::OutcomeUnknown { horizon }
        } else {
            SessionError::NotLeader
        }
    }
}

/// What the driver does after a "resend" answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AfterResend {
    /// Close the connection for this reason (so the supervisor finds the leader).
    pub(crate) kill: Option<&'static str>,
    /// The ticket's "may have been seen" flag for the next attempt, if it changes.
    pub(crate) sent_before: Option<bool>,
}

/// A pause before retrying after every tag was pending.
pub(crate) const BUSY_PAUSE: Duration = Duration::from_millis(1);

impl Attempts {
    /// Whether the driver must pause ([`BUSY_PAUSE`]) before the next attempt.
    pub(crate) fn take_busy(&mut self) -> bool {
        std::mem::take(&mut self.busy)
    }

    /// Every tag of the connection was pending.
    pub(crate) fn busy(&mut self) {
        self.busy = true;
    }

    /// Whether the driver may take the current connection without waiting.
    pub(crate) fn unhindered(&self) -> bool {
        self.unknown_since.is_none() && self.rerouting_since.is_none()
    }

    /// How long the caller may wait for a connection; `None`: for as long as it takes.
    /// `deduplicates`: the request carries a `.Z` op-id.
    pub(crate) fn deadline(&self, horizon: Duration, deduplicates: bool) -> Option<Deadline> {
        match (
            self.unknown_since.filter(|_| deduplicates),
            self.rerouting_since,
        ) {
            (Some(since), _) => Some(Deadline {
                at: since + horizon,
                unknown_outcome: true,
            }),
            (None, Some(since)) => Some(Deadline {
                at: since + horizon,
                unknown_outcome: false,
            }),
            (None, None) => None,
        }
    }

    /// The attempt was handed to a connection. True if it resends one lost after it was
    /// written (the driver counts resends).
    pub(crate) fn sent(&mut self) -> bool {
        std::mem::take(&mut self.lost)
    }

    /// The reply broke the protocol (the connection is closed for it): the attempt may have
    /// applied.
    pub(crate) fn violation(&mut self, now: impl FnOnce() -> Instant) {
        self.unknown_since.get_or_insert_with(now);
    }

    /// A `.Z` answer asking for a resend.
    pub(crate) fn resend(&mut self, why: Resend, now: impl FnOnce() -> Instant) -> AfterResend {
        match why {
            Resend::NotLeader => {
                self.rerouting_since.get_or_insert_with(now);
                AfterResend {
                    kill: Some("server is not the serving leader"),
                    sent_before: None,
                }
            }
            Resend::Shutdown => {
                self.unknown_since.get_or_insert_with(now);
                AfterResend {
                    kill: Some("server answered ESHUTDOWN"),
                    sent_before: Some(true),
                }
            }
            Resend::UnseenRetry => AfterResend {
                kill: None,
                sent_before: Some(false),
            },
        }
    }

    /// The attempt's connection was lost before an answer. `written`: the writer took it;
    /// `resendable`: the request may be sent again after that.
    pub(crate) fn lost(
        &mut self,
        written: bool,
        resendable: bool,
        now: impl FnOnce() -> Instant,
    ) -> Result<(), SessionError> {
        if !written {
            return Ok(());
        }
        if !resendable {
            return Err(SessionError::Ambiguous);
        }
        self.unknown_since.get_or_insert_with(now);
        self.lost = true;
        Ok(())
    }
}
