//! The session: connect, the shared state, raw calls, and observability.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use zerofs_9p_proto::consts::{NOFID, READ_OVERHEAD};
use zerofs_9p_proto::{Dialect, Envelope, Frame, Message, Qid, Tattach, kind};

use crate::core::{Core, Death, Link};
use crate::dial::{AttemptError, dial};
use crate::effects::{BindHow, Effect, effect_of, referenced_fids, typed_only};
use crate::error::{ConnectStage, SessionError};
use crate::fid_guard::Fid;
use crate::ha::TargetSet;
use crate::liveness::LivenessConfig;
use crate::negotiate::{Lineage, NegotiateError, Negotiated};
use crate::options::Options;
use crate::request::{Ticket, exchange_into, once};
use crate::stats::Stats;
use crate::supervisor::Supervised;
use crate::target::Target;
use crate::transport::Connector;

/// A live, shared, self-healing 9P session: one connection multiplexing any number of
/// concurrent requests, redialled and replayed after every loss.
///
/// Cloning is cheap; all clones share the connection. The connection closes when the last
/// clone drops (fids still held then are simply forgotten with the socket).
#[derive(Clone)]
pub struct Session {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) core: Arc<Core>,
    pub(crate) opts: Options,
    pub(crate) connector: Arc<dyn Connector>,
    in_flight: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    pub(crate) lineage: Arc<Mutex<Option<Lineage>>>,
    /// The lineage token writes since the last acknowledged change were made under.
    durability_token: AtomicU64,
    root: Fid,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(conn) = self.core.current_conn() {
            conn.kill("session dropped".into());
        }
        self.core.link.send_replace(Link::Down);
        self.core.shutdown.send_replace(true);
        let _ = self.core.death.send(Death::Shutdown);
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.shared.connector.describe())
            .field("connected", &self.shared.core.current_conn().is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to a target string (see [`Target`]) with `opts`. A comma-separated list
    /// (`node-a:5564,node-b:5564`) is an HA set (see [`Session::connect_multi`]).
    pub async fn connect(target: &str, opts: Options) -> Result<Session, SessionError> {
        let refused = |e: crate::target::TargetError| SessionError::Connect {
            target: target.to_owned(),
            message: e.to_string(),
            errno: None,
            stage: ConnectStage::Target,
            source: None,
        };
        if target.contains(',') {
            let set = TargetSet::parse(target).map_err(refused)?;
            return Session::connect_with(set, opts).await;
        }
        let t = Target::parse(target).map_err(refused)?;
        Session::connect_with(t, opts).await
    }

    /// Connects to the serving leader of an HA set: every target is probed (a server that
    /// answers `ENOTCONN` is not the leader), and after any disconnect the set is probed
    /// again. While no server of the set leads, the first connection keeps probing (every
    /// backoff delay) until the connect timeout.
    pub async fn connect_multi(targets: &[String], opts: Options) -> Result<Session, SessionError> {
        let parsed = targets
            .iter()
            .map(|t| Target::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .and_then(TargetSet::new)
            .map_err(|e| SessionError::Connect {
                target: targets.join(","),
                message: e.to_string(),
                errno: None,
                stage: ConnectStage::Target,
                source: None,
            })?;
        Session::connect_with(parsed, opts).await
    }

    /// Connects through any [`Connector`] (the supervisor redials through it after a loss).
    pub async fn connect_with(
        connector: impl Connector,
        opts: Options,
    ) -> Result<Session, SessionError> {
        let opts = opts.normalized();
        let connector: Arc<dyn Connector> = Arc::new(connector);
        let (core, deaths) = Core::new(
            opts.clunk_linger,
            LivenessConfig {
                stall: opts.stall_timeout,
                window: opts.liveness_timeout,
                request: opts.request_timeout,
            },
        );
        let target = connector.describe();
        let attempt = initial_until_leader(&core, &*connector, &opts);
        let result = match opts.connect_timeout {
            Some(d) => tokio::time::timeout(d, attempt)
                .await
                .unwrap_or(Err(AttemptError::TimedOut(d))),
            None => attempt.await,
        };
        let (root, negotiated) = result.map_err(|e| e.into_connect(target.clone()))?;
        let shared = Arc::new(Shared {
            core,
            in_flight: Arc::new(Semaphore::new(opts.max_in_flight)),
            bytes: Arc::new(Semaphore::new(opts.max_buffered_bytes)),
            opts,
            connector,
            durability_token: AtomicU64::new(negotiated.lineage.map_or(0, |l| l.token)),
            lineage: Arc::new(Mutex::new(negotiated.lineage)),
            root,
        });
        let supervised = Supervised {
            core: shared.core.clone(),
            connector: shared.connector.clone(),
            opts: shared.opts.clone(),
            lineage: Arc::downgrade(&shared.lineage),
        };
        tokio::spawn(crate::supervisor::supervise(supervised, deaths));
        tracing::info!(%target, dialect = %negotiated.dialect, msize = negotiated.msize, "connected");
        Ok(Session { shared })
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.shared.core
    }

    /// The options in force (normalized).
    pub fn options(&self) -> &Options {
        &self.shared.opts
    }

    /// The attach fid of the session's own identity (uid, uname, aname from the options).
    pub fn root(&self) -> &Fid {
        &self.shared.root
    }

    /// The dialect of the current (or last) connection.
    pub fn dialect(&self) -> Dialect {
        self.core().params().0
    }

    /// The msize of the current (or last) connection: a live snapshot (it can only shrink).
    pub fn msize(&self) -> u32 {
        self.core().params().1
    }

    /// The `.Z` lineage of the current connection, if any.
    pub fn lineage(&self) -> Option<Lineage> {
        *self
            .shared
            .lineage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// `.Z`: the lineage token to send in `Tfsyncdur`: the token of the first connection, kept
    /// across reconnects (writes made under it may be lost if the server's lineage changed,
    /// which the barrier then reports with `ESTALE`) until
    /// [`refresh_lineage`](Self::refresh_lineage). 0 outside `.Z`.
    pub fn durability_token(&self) -> u64 {
        self.shared.durability_token.load(Ordering::Acquire)
    }

    /// Asks the server for its current lineage (`Tgetlineage`, `.Z` only) and adopts it for
    /// later barriers: called after a barrier failed with `ESTALE` and the caller was told
    /// that earlier writes may not be durable.
    pub async fn refresh_lineage(&self) -> Result<Lineage, SessionError> {
        let r = self.call_typed::<kind::Tgetlineage>(()).await?;
        let l = Lineage {
            token: r.token,
            writer_epoch: r.writer_epoch,
        };
        *self
            .shared
            .lineage
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(l);
        self.shared
            .durability_token
            .store(l.token, Ordering::Release);
        Ok(l)
    }

    /// Whether a connection is published right now.
    pub fn is_connected(&self) -> bool {
        self.core().current_conn().is_some()
    }

    /// Counters: bytes, requests, reconnects, requests in flight.
    pub fn stats(&self) -> Stats {
        self.core().counters.snapshot()
    }

    /// Fids allocated and not yet recycled (root, held guards, in flight, awaiting clunk).
    pub fn outstanding_fids(&self) -> usize {
        self.core().fids().outstanding()
    }

    /// Tears the current connection down as if it had failed (for tests and operators); the
    /// supervisor reconnects and replays.
    pub fn force_reconnect(&self) {
        if let Some(c) = self.core().current_conn() {
            c.kill("reconnect requested".into());
        }
    }

    /// Acquires backpressure permits for a request costing `cost` bytes.
    pub(crate) async fn permits(
        &self,
        cost: usize,
    ) -> Result<Vec<OwnedSemaphorePermit>, SessionError> {
        let closed = |_| SessionError::Protocol("session closed".into());
        let a = self
            .shared
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(closed)?;
        let n = cost
            .clamp(1, self.shared.opts.max_buffered_bytes)
            .min(u32::MAX as usize) as u32;
        let b = self
            .shared
            .bytes
            .clone()
            .acquire_many_owned(n)
            .await
            .map_err(closed)?;
        Ok(vec![a, b])
    }

    /// Sends a request with a fid effect, referencing `fids`; waits out reconnects.
    pub(crate) fn request<'a>(
        &'a self,
        msg: Message,
        effect: Effect,
        fids: &'a [u32],
    ) -> impl Future<Output = Result<Message, SessionError>> + Send + 'a {
        self.request_into(msg, effect, fids, None)
            .map(|r| r.map(|(m, _)| m))
    }

    /// [`request`](Self::request) for a `Tread` whose large payload may be received straight
    /// into `sink`, which comes back (filled, and the `Rread` has empty data; or still empty).
    ///
    /// Plain functions returning futures rather than `async fn`s, and the ticket built in a
    /// block that ends before the exchange is awaited: every request's future (and every
    /// future above it) carries this state, and an `async fn` would hold its arguments twice.
    pub(crate) fn request_into<'a>(
        &'a self,
        msg: Message,
        effect: Effect,
        fids: &'a [u32],
        sink: Option<BytesMut>,
    ) -> impl Future<Output = Result<(Message, Option<BytesMut>), SessionError>> + Send + 'a {
        let span = tracing::trace_span!("9p.request", ty = msg.name());
        async move {
            let permits = self.permits(request_cost(&msg)).await?;
            let exchange = {
                let mut ticket = Ticket::new(self.core().clone(), effect, fids, permits)?;
                ticket.horizon = self.shared.opts.retry_horizon;
                ticket.sink = sink;
                if Dialect::Z.has_envelope(msg.msg_type()) {
                    // A fresh op-id per operation, kept (with the epoch) across every resend.
                    ticket.envelope = Envelope {
                        op_id: self.core().op_ids.next(),
                        flags: 0,
                        origin_epoch: self.lineage().map_or(0, |l| l.writer_epoch),
                    };
                }
                exchange_into(self.core(), Frame::new(0, msg), ticket)
            };
            exchange.await
        }
        .instrument(span)
    }

    /// Sends any request that neither creates nor releases fids and returns its reply
    /// (`Rlerror` becomes [`SessionError::Server`]). Fid-creating and -releasing messages are
    /// refused: use the typed operations, which keep the fid records right. `Tlopen`,
    /// `Tlcreate`, `Tlock` and renames update the records used by replay.
    ///
    /// Cancel-safe: dropping the future withdraws the request if it was not yet written;
    /// otherwise its tag stays reserved until the reply arrives, which is then discarded.
    /// After a connection loss the request is resent once the session has reconnected and
    /// replayed (outside `.Z`, a non-idempotent request may then apply twice, except where
    /// the server's state proves the first attempt applied: see the session's `verify.rs`).
    /// If the new connection's dialect lacks the message (a server downgraded across the
    /// reconnect), it is sent in the plain form that does its work and the reply is rebuilt
    /// with follow-up requests (`Tmkdirattr` becomes `Tmkdir` and a stat of the new name);
    /// `Treaddirattr` is then answered `Rreaddir`, and a message with no plain form
    /// (`Tfallocate`, `Tgetlineage`) fails with `EOPNOTSUPP`, as a server would refuse it.
    #[allow(clippy::manual_async_fn)] // an `async fn` would keep `msg` twice in its state
    pub fn call(
        &self,
        msg: Message,
    ) -> impl Future<Output = Result<Message, SessionError>> + Send + '_ {
        // An `async move` block rather than an `async fn`: `msg` is kept once, not twice.
        async move {
            let ty = msg.msg_type();
            if let Some(instead) = typed_only(ty) {
                return Err(SessionError::Usage {
                    message: ty,
                    instead,
                });
            }
            let fids = referenced_fids(&msg);
            let effect = {
                let t = self.core().fids();
                effect_of(&msg, |fid| t.get(fid).map_or(0, |r| r.generation))
            };
            self.request(msg, effect, &fids).await
        }
    }

    /// Allocates a fid guard (not yet known to the server).
    pub(crate) fn alloc_fid(&self) -> Fid {
        let (id, generation) = self.core().fids().alloc();
        Fid::new(self.core().clone(), id, generation)
    }

    /// Attaches another identity; the new attach fid roots walks for it.
    pub async fn attach(
        &self,
        uname: &str,
        aname: &str,
        n_uname: u32,
    ) -> Result<(Fid, Qid), SessionError> {
        let fid = self.alloc_fid();
        let (uname, aname) = (
            Bytes::copy_from_slice(uname.as_bytes()),
            Bytes::copy_from_slice(aname.as_bytes()),
        );
        let how = BindHow::Attach {
            uname: uname.clone(),
            aname: aname.clone(),
            n_uname,
        };
        let effect = Effect::Bind {
            fid: fid.id(),
            generation: fid.generation(),
            how,
        };
        let body = Tattach {
            fid: fid.id(),
            afid: NOFID,
            uname,
            aname,
            n_uname,
        };
        let ids = [fid.id()];
        let r = self
            .request_typed::<kind::Tattach>(body, effect, &ids)
            .await?;
        Ok((fid, r.qid))
    }
}

/// Bytes a request may buffer: the request plus the largest reply it can bring.
fn request_cost(m: &Message) -> usize {
    let reply = match m {
        Message::Tread(r) => r.count,
        Message::Treaddir(r) | Message::Treaddirattr(r) => r.count,
        Message::Tlopenatread(r) => r.count,
        _ => 0,
    };
    m.body_len() + 64 + reply as usize + READ_OVERHEAD as usize
}

/// How often the first connection is dialled again after losing its connection during the
/// attach (a server that went silent and was declared dead), before the error is returned.
const MAX_SILENT_ATTACH_RETRIES: u32 = 3;

/// First connection; with an HA set, keeps probing (backoff between rounds) while no server
/// is the leader.
async fn initial_until_leader(
    core: &Arc<Core>,
    connector: &dyn Connector,
    opts: &Options,
) -> Result<(Fid, Negotiated), AttemptError> {
    let mut jitter = crate::supervisor::Jitter::seeded();
    let mut round = 0u32;
    loop {
        match initial(core, connector, opts).await {
            Err(AttemptError::Negotiate(NegotiateError::NotLeader))
                if connector.candidates() > 1 =>
            {
                tracing::debug!(round, "no server of the set is the leader yet");
            }
            Err(AttemptError::Attach(Some(zerofs_9p_proto::consts::errno::ENOTCONN)))
                if connector.candidates() > 1 =>
            {
                connector.not_leader();
            }
            // A server that accepted and did not answer in time (or went silent during the
            // attach): closed; dial again after the backoff delay, within the connect timeout.
            Err(AttemptError::Dial(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                tracing::debug!(round, error = %e, "no answer; dialling again");
            }
            Err(AttemptError::Attach(None)) if round < MAX_SILENT_ATTACH_RETRIES => {
                tracing::debug!(round, "connection lost during attach; dialling again");
            }
            other => return other,
        }
        tokio::time::sleep(opts.backoff.delay(round, jitter.unit())).await;
        round = round.saturating_add(1);
    }
}

/// First connection: dial, negotiate, attach the root, publish.
async fn initial(
    core: &Arc<Core>,
    connector: &dyn Connector,
    opts: &Options,
) -> Result<(Fid, Negotiated), AttemptError> {
    let (handle, negotiated) = dial(core, connector, opts.msize, opts.probe_timeout).await?;
    let (id, generation) = core.fids().alloc();
    let root = Fid::new(core.clone(), id, generation);
    let (uname, aname) = (
        Bytes::from(opts.uname.clone()),
        Bytes::from(opts.aname.clone()),
    );
    let how = BindHow::Attach {
        uname: uname.clone(),
        aname: aname.clone(),
        n_uname: opts.uid,
    };
    let effect = Effect::Bind {
        fid: id,
        generation,
        how,
    };
    let ticket = Ticket::new(core.clone(), effect, &[id], Vec::new())
        .map_err(|e| AttemptError::Replay(e.to_string()))?;
    let msg = Message::Tattach(Tattach {
        fid: id,
        afid: NOFID,
        uname,
        aname,
        n_uname: opts.uid,
    });
    match once(handle.conn(), msg, ticket, None).await {
        Some(Message::Rattach(_)) => {
            // Liveness probes of every later connection name this fid.
            core.probe_fid
                .store(id, std::sync::atomic::Ordering::Release);
        }
        Some(Message::Rlerror(e)) => return Err(AttemptError::Attach(Some(e.ecode))),
        _ => return Err(AttemptError::Attach(None)),
    }
    handle.publish()?;
    Ok((root, negotiated))
}
