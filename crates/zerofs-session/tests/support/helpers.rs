//! Shorthand shared by the session tests: options, names, requests and bounded waiting.

use std::time::Duration;

use bytes::Bytes;
use zerofs_session::proto::consts::{getattr, open};
use zerofs_session::proto::{Message, Tgetattr};
use zerofs_session::{Fid, Options, Session};

/// Options for the scripted and automatic responders: uid 1000, 64 KiB msize.
pub fn opts() -> Options {
    Options {
        uid: 1000,
        uname: "t".into(),
        msize: 65536,
        ..Options::default()
    }
}

/// Walk names from string literals.
pub fn names(list: &[&'static str]) -> Vec<Bytes> {
    list.iter()
        .map(|n| Bytes::from_static(n.as_bytes()))
        .collect()
}

/// A `Tgetattr` of every attribute of `fid`.
pub fn getattr_of(fid: u32) -> Message {
    Message::Tgetattr(Tgetattr {
        fid,
        request_mask: getattr::ALL,
    })
}

/// Waits until `f` holds, checking it each time the runtime has nothing left to run; whether
/// it held. Needs a paused clock (`#[tokio::test(start_paused = true)]`) and in-memory
/// transports: a paused clock moves only once every task is idle, so each check sees the
/// state after all pending work (replies, background clunks, reconnects, timers due) settled,
/// whatever the machine's load. The bound (10,000 quiescent points, 1 ms of simulated time
/// apart) costs no wall-clock time. Panics on a running clock, where it would be a poll.
pub async fn settled(mut f: impl FnMut() -> bool) -> bool {
    // Panics unless the clock is paused.
    tokio::time::advance(Duration::ZERO).await;
    for _ in 0..10_000 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}

/// Waits (bounded: about 4 s of wall-clock time) until `f` holds, polling every millisecond;
/// whether it held. Only for tests that cannot pause the clock: a multi-thread runtime, or
/// real sockets (a paused clock would fire every timer while the kernel moves bytes). Prefer
/// [`settled`].
pub async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..4000 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}

/// `f`'s output, or a panic if it takes a minute (a hang guard, not a timing assertion).
pub async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("bounded")
}

/// Creates `name` (mode 0644) in the attach root and returns the fid open on it for reading
/// and writing (a clone of the root turned into the file by `Tlcreate`).
pub async fn create_file(s: &Session, name: &'static str) -> Fid {
    let fid = s.clone_fid(s.root()).await.unwrap();
    s.lcreate(
        &fid,
        Bytes::from_static(name.as_bytes()),
        open::RDWR | open::CREAT,
        0o100644,
        0,
    )
    .await
    .unwrap();
    fid
}

/// Dials the memserver through its in-memory connector: no sockets, same server behaviour.
#[derive(Debug, Clone)]
pub struct InMemory(pub zerofs_memserver::ServerHandle);

impl zerofs_session::Connector for InMemory {
    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'_, std::io::Result<zerofs_session::Transport>> {
        Box::pin(async move { Ok(zerofs_session::Transport::new(self.0.connect_in_memory()?)) })
    }

    fn describe(&self) -> String {
        format!("in-memory {}", self.0.generation())
    }
}

/// Options for the memserver tests: root (uid 0, gid 0), 128 KiB msize, quick backoff.
pub fn root_opts() -> Options {
    Options {
        uid: 0,
        gid: 0,
        uname: "root".into(),
        msize: 128 * 1024,
        backoff: zerofs_session::Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            jitter: 0.5,
        },
        ..Options::default()
    }
}

/// A memserver of `generation` and a session on it through the in-memory connector.
pub async fn in_memory(
    generation: zerofs_memserver::Generation,
    opts: Options,
) -> (zerofs_memserver::ServerHandle, Session) {
    let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(generation))
        .await
        .unwrap();
    let s = Session::connect_with(InMemory(server.clone()), opts)
        .await
        .unwrap();
    (server, s)
}
