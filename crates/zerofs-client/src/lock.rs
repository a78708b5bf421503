//! Advisory byte-range locks on a [`File`] (POSIX `fcntl` record locks, over `Tlock` and
//! `Tgetlock`). The session records held locks and takes them again after a reconnect.

use std::time::Duration;

use bytes::Bytes;
use zerofs_9p_proto::consts::{errno, lock_flags};
use zerofs_9p_proto::{LockStatus, LockType, Tgetlock, Tlock, kind};

use crate::ctx::OrPath;
use crate::error::ZeroFsError;
use crate::file::File;

/// Longest pause between polls while [`File::lock`] waits for a conflicting lock to go.
const MAX_POLL: Duration = Duration::from_millis(200);

/// The kind of an advisory lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LockKind {
    /// A read lock: any number may hold one, none while a write lock is held.
    Shared,
    /// A write lock: held by one owner alone.
    Exclusive,
}

impl LockKind {
    fn wire(self) -> LockType {
        match self {
            LockKind::Shared => LockType::Read,
            LockKind::Exclusive => LockType::Write,
        }
    }
}

/// A lock held elsewhere that conflicts with one asked about (see
/// [`File::conflicting_lock`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockConflict {
    /// Its kind.
    pub kind: LockKind,
    /// First byte.
    pub start: u64,
    /// Length in bytes (0: to the end of the file).
    pub len: u64,
    /// The owner's process id, as its client reported it.
    pub proc_id: u32,
}

impl File {
    /// Takes an exclusive lock on the whole file, waiting while another owner holds a
    /// conflicting one (as `std::fs::File::lock`). Advisory: it only excludes other lockers.
    #[tracing::instrument(level = "debug", name = "file.lock", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn lock(&self) -> Result<(), ZeroFsError> {
        self.lock_range(LockKind::Exclusive, 0, 0, true)
            .await
            .map(drop)
    }

    /// Takes a shared lock on the whole file, waiting while an exclusive one is held
    /// elsewhere (as `std::fs::File::lock_shared`).
    #[tracing::instrument(level = "debug", name = "file.lock_shared", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn lock_shared(&self) -> Result<(), ZeroFsError> {
        self.lock_range(LockKind::Shared, 0, 0, true)
            .await
            .map(drop)
    }

    /// Takes an exclusive lock on the whole file if no other owner holds a conflicting one;
    /// `Ok(false)` if one does.
    #[tracing::instrument(level = "debug", name = "file.try_lock", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn try_lock(&self) -> Result<bool, ZeroFsError> {
        self.lock_range(LockKind::Exclusive, 0, 0, false).await
    }

    /// Takes a shared lock on the whole file unless an exclusive one is held elsewhere;
    /// `Ok(false)` if it is.
    #[tracing::instrument(level = "debug", name = "file.try_lock_shared", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn try_lock_shared(&self) -> Result<bool, ZeroFsError> {
        self.lock_range(LockKind::Shared, 0, 0, false).await
    }

    /// Releases this file's locks on the whole file.
    #[tracing::instrument(level = "debug", name = "file.unlock", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn unlock(&self) -> Result<(), ZeroFsError> {
        self.unlock_range(0, 0).await
    }

    /// Locks `len` bytes from `start` (`len` 0: to the end of the file, however it grows).
    /// With `wait`, waits while a conflicting lock is held elsewhere and returns `Ok(true)`;
    /// without, returns `Ok(false)` at once if one is.
    #[tracing::instrument(level = "debug", name = "file.lock_range", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn lock_range(
        &self,
        kind: LockKind,
        start: u64,
        len: u64,
        wait: bool,
    ) -> Result<bool, ZeroFsError> {
        let mut pause = Duration::from_millis(5);
        loop {
            let flags = if wait { lock_flags::BLOCK } else { 0 };
            match self.send_lock(kind.wire(), flags, start, len).await {
                Ok(LockStatus::Success) => return Ok(true),
                Ok(LockStatus::Blocked) | Ok(LockStatus::Grace) if wait => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_POLL);
                }
                Ok(LockStatus::Blocked) => return Ok(false),
                Err(ZeroFsError::Io { errno: e, .. }) if e == errno::EAGAIN as i32 && !wait => {
                    return Ok(false);
                }
                Ok(status) => {
                    return Err(ZeroFsError::Io {
                        errno: errno::ENOLCK as i32,
                        path: self.display().to_owned(),
                        message: format!("lock refused ({status:?})"),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Releases this file's locks on `len` bytes from `start` (0: to the end of the file).
    #[tracing::instrument(level = "debug", name = "file.unlock_range", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn unlock_range(&self, start: u64, len: u64) -> Result<(), ZeroFsError> {
        self.send_lock(LockType::Unlock, 0, start, len)
            .await
            .map(drop)
    }

    /// A lock held elsewhere that would conflict with a `kind` lock on `len` bytes from
    /// `start`, or `None` (as `fcntl(F_GETLK)`).
    #[tracing::instrument(level = "debug", name = "file.conflicting_lock", skip_all, fields(path = %self.display()), err(level = "debug", Display))]
    pub async fn conflicting_lock(
        &self,
        kind: LockKind,
        start: u64,
        len: u64,
    ) -> Result<Option<LockConflict>, ZeroFsError> {
        self.check()?;
        let (cx, fid) = self.parts();
        let body = Tgetlock {
            fid: fid.id(),
            ty: kind.wire(),
            start,
            length: len,
            proc_id: std::process::id(),
            client_id: client_id(),
        };
        let r = cx
            .session
            .call_typed::<kind::Tgetlock>(body)
            .await
            .at(self.display())?;
        Ok(match r.ty {
            LockType::Unlock => None,
            ty => Some(LockConflict {
                kind: if ty == LockType::Read {
                    LockKind::Shared
                } else {
                    LockKind::Exclusive
                },
                start: r.start,
                len: r.length,
                proc_id: r.proc_id,
            }),
        })
    }

    async fn send_lock(
        &self,
        ty: LockType,
        flags: u32,
        start: u64,
        len: u64,
    ) -> Result<LockStatus, ZeroFsError> {
        self.check()?;
        let (cx, fid) = self.parts();
        let body = Tlock {
            fid: fid.id(),
            ty,
            flags,
            start,
            length: len,
            proc_id: std::process::id(),
            client_id: client_id(),
        };
        let r = cx
            .session
            .call_typed::<kind::Tlock>(body)
            .await
            .at(self.display())?;
        Ok(r.status)
    }
}

/// The client id locks carry.
fn client_id() -> Bytes {
    Bytes::from_static(b"zerofs-client")
}
