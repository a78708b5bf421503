//! A `Pair` (after quinn's `tests/util.rs`): a session on a memserver through the in-memory
//! connector, no sockets; the server's counters, fault switches and tree stay in reach.

use bytes::Bytes;
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};
use zerofs_session::proto::consts::errno;
use zerofs_session::proto::{Frame, Message, MessageType};
use zerofs_session::{Options, Session};

use super::{InMemory, opts};

/// A session and the memserver it talks to.
pub struct Pair {
    pub server: ServerHandle,
    pub session: Session,
}

/// The server's switches, as the tests name them.
pub trait ServerExt {
    /// Requests of type `ty` received.
    fn seen(&self, ty: MessageType) -> u64;
    /// Every recorded request's payload bytes for `Twrite`.
    fn written(&self) -> usize;
    /// The largest recorded `Tread` count or `Twrite` payload.
    fn largest_io(&self) -> u32;
}

impl ServerExt for ServerHandle {
    fn seen(&self, ty: MessageType) -> u64 {
        self.counters().frames(ty)
    }

    fn written(&self) -> usize {
        self.recorded()
            .iter()
            .map(|r| match &r.frame.message {
                Message::Twrite(w) => w.data.len(),
                _ => 0,
            })
            .sum()
    }

    fn largest_io(&self) -> u32 {
        self.recorded()
            .iter()
            .filter_map(|r| match &r.frame.message {
                Message::Tread(t) => Some(t.count),
                Message::Twrite(w) => Some(w.data.len() as u32),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

impl Pair {
    /// A memserver of `generation` listening nowhere, whose root belongs to the test user
    /// (uid 1000, as [`opts`]), recording requests and serving `Tremove` and `Txattrwalk`
    /// as diod does (a refusal rule restores ZeroFS's answers), and a session on it with
    /// [`opts`].
    pub async fn start(generation: Generation) -> Pair {
        Pair::start_with(generation, |_| {}, opts()).await
    }

    /// As [`Pair::start`], with `prepare` run on the server before the session dials and
    /// `options` for the session.
    pub async fn start_with(
        generation: Generation,
        prepare: impl FnOnce(&ServerHandle),
        options: Options,
    ) -> Pair {
        let config = Config::new(generation).in_memory();
        let server = server(config.serve_tremove(true).serve_xattrs(true)).await;
        prepare(&server);
        let session = Session::connect_with(InMemory(server.clone()), options)
            .await
            .unwrap_or_else(|e| panic!("{generation}: {e}"));
        Pair { server, session }
    }

    /// A diod-like server: negotiates as diod (`Rlerror(EIO)` to anything but exactly
    /// `9P2000.L`), answers a partial walk with a partial `Rwalk`, serves `Tremove`.
    pub async fn diod() -> Pair {
        Pair::start_with(Generation::Z, diod, opts()).await
    }
}

/// A memserver (no listener) started from `config`, its root owned by the test user,
/// recording requests.
pub async fn server(config: Config) -> ServerHandle {
    let server = MemServer::start(config.root_owner(1000, 1000))
        .await
        .expect("memserver starts");
    server.set_recording(true);
    server
}

/// Makes a `.Z` memserver negotiate as diod does (a 2.1+ server grants exactly `9P2000.L`
/// or `9P2000.L.Z`; diod refuses everything but the first with `EIO`).
pub fn diod(server: &ServerHandle) {
    server.refuse(
        ReplyLoss::matching(
            u32::MAX,
            |f: &Frame| matches!(&f.message, Message::Tversion(v) if &v.version[..] != b"9P2000.L"),
        ),
        errno::EIO,
    );
}

/// Size of the files the tests seed with [`pattern`] bytes.
pub const FILE_SIZE: u64 = 300_000;

/// The byte at `offset` of every seeded file.
pub fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// A [`FILE_SIZE`]-byte file of [`pattern`] bytes at `path`, its directories created.
pub fn seed_file(server: &ServerHandle, path: &str) -> u64 {
    if let Some((dir, _)) = path.rsplit_once('/') {
        server.create_dir_all(dir).expect("seed directories");
    }
    let data: Vec<u8> = (0..FILE_SIZE).map(pattern).collect();
    server.write_file(path, &data).expect("seed file")
}

/// The bytes of a seeded file in `range`.
pub fn expected(range: std::ops::Range<u64>) -> Bytes {
    range.map(pattern).collect::<Vec<u8>>().into()
}
