//! The handle's test switches beyond lost and delayed replies: refused requests, a silent
//! server, a run-time msize cap, the request log, live fids, and seeding the tree without a
//! client.

use std::io;

use bytes::Bytes;

use crate::conn;
use crate::faults::{Recorded, ReplyLoss, lock};
use crate::fs::{Creds, Errno, FsResult, ROOT, SetAttr};
use crate::server::ServerHandle;

fn io_error(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.0 as i32)
}

/// The `/`-separated components of `path` (empty ones skipped).
fn components(path: &str) -> impl Iterator<Item = &[u8]> {
    path.split('/').filter(|c| !c.is_empty()).map(str::as_bytes)
}

impl ServerHandle {
    /// Adds a refusal rule: a matching request (`Tversion` included) is answered
    /// `Rlerror(errno)` and not applied. Rules apply to requests arriving from now on, on
    /// every connection; a rule made with a count of `u32::MAX` lasts until
    /// [`clear_refusals`](Self::clear_refusals).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use zerofs_9p_proto::consts::errno;
    /// use zerofs_9p_proto::{Frame, Message, MessageType};
    /// use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};
    ///
    /// let server = MemServer::start(Config::new(Generation::Z)).await?;
    /// // Negotiate as diod does: Rlerror(EIO) to anything but exactly "9P2000.L".
    /// server.refuse(
    ///     ReplyLoss::matching(u32::MAX, |f: &Frame| {
    ///         matches!(&f.message, Message::Tversion(v) if &v.version[..] != b"9P2000.L")
    ///     }),
    ///     errno::EIO,
    /// );
    /// // Refuse the next attach.
    /// server.refuse(ReplyLoss::next(MessageType::Tattach), errno::EACCES);
    /// server.clear_refusals();
    /// # server.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn refuse(&self, rule: ReplyLoss, errno: u32) {
        self.inner.shared.faults.add_refusal(rule, errno);
    }

    /// Removes every refusal rule.
    pub fn clear_refusals(&self) {
        self.inner.shared.faults.clear_refusals();
    }

    /// While `silent`, every request is read, counted and recorded, then dropped: neither
    /// applied nor ever answered, and the connections stay open (a wedged server). Turning it
    /// off answers only requests that arrive afterwards.
    pub fn set_silent(&self, silent: bool) {
        self.inner.shared.faults.set_silent(silent);
    }

    /// Caps the msize that later `Tversion`s grant (`None`: the configured cap again), as a
    /// server restarted with another setting would. Connections already negotiated keep theirs;
    /// the inbound frame cap stays the configured one.
    pub fn set_max_msize(&self, max: Option<u32>) {
        self.inner.shared.faults.set_max_msize(max);
    }

    /// Starts (`true`) or stops recording every decoded request, on every connection, in
    /// arrival order (requests dropped while [`silent`](Self::set_silent) or refused
    /// included). Off by default: a log costs a lock per request.
    pub fn set_recording(&self, on: bool) {
        self.inner.shared.faults.set_recording(on);
    }

    /// The requests recorded so far (see [`set_recording`](Self::set_recording)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use zerofs_9p_proto::Message;
    /// use zerofs_memserver::{Config, Generation, MemServer};
    ///
    /// let server = MemServer::start(Config::new(Generation::Plain)).await?;
    /// server.set_recording(true);
    /// // ... a client connects and reads ...
    /// let largest_read = server
    ///     .recorded()
    ///     .iter()
    ///     .filter_map(|r| match &r.frame.message {
    ///         Message::Tread(t) => Some(t.count),
    ///         _ => None,
    ///     })
    ///     .max();
    /// assert_eq!(largest_read, None);
    /// # server.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn recorded(&self) -> Vec<Recorded> {
        self.inner.shared.faults.recorded()
    }

    /// Empties the request log (recording goes on if it was on).
    pub fn clear_recorded(&self) {
        self.inner.shared.faults.clear_recorded();
    }

    /// Fids open on the connections being served (a connection's fids stop counting once the
    /// server has noticed it closed).
    pub fn live_fids(&self) -> usize {
        conn::live_fids(&self.inner.shared)
    }

    /// The credentials seeding acts as: the root's owner.
    fn owner(&self) -> Creds {
        let config = &self.inner.shared.config;
        Creds {
            uid: config.root_uid,
            gid: config.root_gid,
            groups: vec![config.root_gid],
        }
    }

    /// Walks `path`'s parent directory; its inode and the last component.
    fn parent_of<'p>(&self, path: &'p str) -> FsResult<(u64, &'p [u8])> {
        let creds = self.owner();
        let st = lock(&self.inner.shared.state);
        let names: Vec<&[u8]> = components(path).collect();
        let (last, dirs) = names.split_last().ok_or(Errno::EINVAL)?;
        let mut cur = ROOT;
        for name in dirs {
            cur = st.fs.lookup(&creds, cur, name)?;
        }
        Ok((cur, last))
    }

    /// Creates directory `path` (`/`-separated from the root) and its missing parents, mode
    /// `0o755`, owned by the root's owner, without a client (the counters do not move).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use zerofs_memserver::{Config, Generation, MemServer};
    ///
    /// let server = MemServer::start(Config::new(Generation::Gen2)).await?;
    /// server.create_dir_all("a/b")?;
    /// let ino = server.write_file("a/b/f", b"hello")?;
    /// server.remove("a/b/f")?;
    /// assert_ne!(server.write_file("a/b/f", b"new")?, ino, "a new file, a new inode");
    /// # server.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_dir_all(&self, path: &str) -> io::Result<()> {
        let creds = self.owner();
        let mut st = lock(&self.inner.shared.state);
        let mut cur = ROOT;
        for name in components(path) {
            cur = match st.fs.lookup(&creds, cur, name) {
                Ok(ino) => ino,
                Err(Errno::ENOENT) => st
                    .fs
                    .mkdir(&creds, cur, name, 0o755, creds.gid)
                    .map_err(io_error)?,
                Err(e) => return Err(io_error(e)),
            };
        }
        Ok(())
    }

    /// Creates regular file `path` (mode `0o644`, owned by the root's owner; its directory
    /// must exist) or truncates the existing one, and writes `data` into it; returns its inode
    /// (the qid path). Needs no client.
    pub fn write_file(&self, path: &str, data: &[u8]) -> io::Result<u64> {
        let creds = self.owner();
        let (dir, name) = self.parent_of(path).map_err(io_error)?;
        let mut st = lock(&self.inner.shared.state);
        let ino = match st.fs.lookup(&creds, dir, name) {
            Ok(ino) => {
                let truncate = SetAttr {
                    size: Some(0),
                    ..SetAttr::default()
                };
                st.fs.setattr(&creds, ino, &truncate).map_err(io_error)?;
                ino
            }
            Err(Errno::ENOENT) => st
                .fs
                .create_file(&creds, dir, name, 0o644, creds.gid)
                .map_err(io_error)?,
            Err(e) => return Err(io_error(e)),
        };
        st.fs.write(&creds, ino, 0, data).map_err(io_error)?;
        Ok(ino)
    }

    /// Sets extended attribute `name` of `path` to `value`, as
    /// [`Config::serve_xattrs`](crate::Config::serve_xattrs) serves them. Needs no client.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use zerofs_memserver::{Config, Generation, MemServer};
    ///
    /// let server = MemServer::start(Config::new(Generation::Plain).serve_xattrs(true)).await?;
    /// server.write_file("f", b"")?;
    /// server.set_xattr("f", b"user.a", b"value")?;
    /// # server.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_xattr(&self, path: &str, name: &[u8], value: &[u8]) -> io::Result<()> {
        let creds = self.owner();
        let (dir, last) = self.parent_of(path).map_err(io_error)?;
        let mut st = lock(&self.inner.shared.state);
        let ino = st.fs.lookup(&creds, dir, last).map_err(io_error)?;
        st.xattrs
            .entry(ino)
            .or_default()
            .insert(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
        Ok(())
    }

    /// Removes the file or empty directory `path`. Needs no client.
    pub fn remove(&self, path: &str) -> io::Result<()> {
        let creds = self.owner();
        let (dir, name) = self.parent_of(path).map_err(io_error)?;
        let mut st = lock(&self.inner.shared.state);
        let ino = st.fs.lookup(&creds, dir, name).map_err(io_error)?;
        let is_dir = st.fs.get(ino).map_err(io_error)?.is_dir();
        st.fs.unlinkat(&creds, dir, name, is_dir).map_err(io_error)
    }
}
