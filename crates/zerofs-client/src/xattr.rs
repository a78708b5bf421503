//! Extended attributes on [`Client`] (by path) and [`File`]: `Txattrwalk` + reads to get and
//! list, `Txattrcreate` + write + clunk to set and remove, as the Linux kernel's 9P client
//! does. ZeroFS has no xattrs: every call there fails with `Io { errno: EOPNOTSUPP }`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::{ENOSYS, EOPNOTSUPP, ERANGE};
use zerofs_session::{Fid, SessionError};

use crate::client::Client;
use crate::ctx::{Ctx, OrPath, SResult};
use crate::error::ZeroFsError;
use crate::file::File;
use crate::path::ValidPath;

/// The largest attribute value or name list read (Linux's `XATTR_SIZE_MAX`); a server
/// announcing more is answered with `ERANGE` rather than trusted with an allocation.
const XATTR_SIZE_MAX: u64 = 64 * 1024;

/// `setxattr(2)`'s `XATTR_CREATE`.
const XATTR_CREATE: u32 = 1;
/// `setxattr(2)`'s `XATTR_REPLACE`.
const XATTR_REPLACE: u32 = 2;

/// How [`Client::set_xattr`] treats an existing attribute (`setxattr(2)`'s flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum XattrFlags {
    /// Create the attribute or replace its value (flags 0).
    #[default]
    CreateOrReplace,
    /// Fail with `AlreadyExists` if it exists (`XATTR_CREATE`).
    Create,
    /// Fail with `Io { errno: ENODATA }` if it does not exist (`XATTR_REPLACE`).
    Replace,
}

impl XattrFlags {
    fn wire(self) -> u32 {
        match self {
            XattrFlags::CreateOrReplace => 0,
            XattrFlags::Create => XATTR_CREATE,
            XattrFlags::Replace => XATTR_REPLACE,
        }
    }
}

/// The attribute name as sent: non-empty (an empty name means "the list") and NUL-free.
fn wire_name(name: &OsStr) -> Result<Bytes, ZeroFsError> {
    let b = name.as_bytes();
    if b.is_empty() || b.contains(&0) {
        return Err(ZeroFsError::invalid(format!(
            "invalid extended attribute name {name:?}"
        )));
    }
    Ok(Bytes::copy_from_slice(b))
}

/// A value to set: 9P2000.L has no way to send an empty one (`Txattrcreate` of size 0 is
/// a removal), so it is refused rather than silently removing the attribute.
fn wire_value(value: Bytes) -> Result<Bytes, ZeroFsError> {
    if value.is_empty() {
        return Err(ZeroFsError::invalid(
            "an empty extended attribute value cannot be set over 9P2000.L (size 0 removes)",
        ));
    }
    Ok(value)
}

/// Servers without xattrs refuse `Txattrcreate` as an unknown message (`ENOSYS`); report it
/// as `Txattrwalk`'s refusal is reported, `EOPNOTSUPP`.
fn no_xattrs(e: SessionError) -> SessionError {
    match e {
        SessionError::Server(ENOSYS) => SessionError::Server(EOPNOTSUPP),
        e => e,
    }
}

impl Ctx {
    /// The value of `name` (empty: the NUL-separated name list) on the file `fid` names.
    async fn xattr_read(&self, fid: &Fid, name: Bytes) -> SResult<Bytes> {
        let (xfid, size) = self.session.xattrwalk(fid, name).await?;
        if size > XATTR_SIZE_MAX {
            return Err(SessionError::Server(ERANGE));
        }
        if size == 0 {
            return Ok(Bytes::new());
        }
        // `size` is at most XATTR_SIZE_MAX: the cast is exact.
        self.session.read(&xfid, 0, size as usize).await
    }

    /// The attribute names on the file `fid` names.
    async fn xattr_list(&self, fid: &Fid) -> SResult<Vec<OsString>> {
        let list = self.xattr_read(fid, Bytes::new()).await?;
        Ok(list
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| OsString::from_vec(n.to_vec()))
            .collect())
    }

    /// Sets (or, with `value` `None`, removes) `name` on the file `fid` names: a clone of
    /// `fid` becomes the attribute, receives the value, and its clunk applies it.
    async fn xattr_write(
        &self,
        fid: &Fid,
        name: Bytes,
        value: Option<Bytes>,
        flags: u32,
    ) -> SResult<()> {
        let (value, flags) = match value {
            Some(v) => (v, flags),
            // Removal, as the Linux kernel sends it: size 0 with XATTR_REPLACE.
            None => (Bytes::new(), XATTR_REPLACE),
        };
        let xfid = self.session.clone_fid(fid).await?;
        let size = value.len() as u64;
        self.session
            .xattrcreate(&xfid, name, size, flags)
            .await
            .map_err(no_xattrs)?;
        if !value.is_empty() {
            self.session.write(&xfid, 0, value).await?;
        }
        self.session.clunk_checked(xfid).await
    }
}

impl Client {
    /// The value of the extended attribute `name` of `path` itself (a symlink is not
    /// followed, as `lgetxattr(2)`). A missing attribute is `Io { errno: ENODATA }`; a server
    /// without xattrs (ZeroFS) gives `Io { errno: EOPNOTSUPP }`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
    /// # let client = zerofs_client::Client::connect(&server.target()).await?;
    /// client.write("/f", "x").await?;
    /// match client.get_xattr("/f", "user.tag").await {
    ///     Ok(value) => println!("{value:?}"),
    ///     // ZeroFS (and this example's in-memory server) has no extended attributes.
    ///     Err(e) => assert!(matches!(e, zerofs_client::ZeroFsError::Io { errno: 95, .. })),
    /// }
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(level = "debug", name = "get_xattr", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn get_xattr(
        &self,
        path: impl AsRef<Path>,
        name: impl AsRef<OsStr>,
    ) -> Result<Bytes, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let name = wire_name(name.as_ref())?;
        let d = p.display.as_str();
        let fid = cx.at(cx.session.root(), &p.components).await.at(d)?;
        cx.xattr_read(&fid, name).await.at(d)
    }

    /// The names of the extended attributes of `path` itself (`llistxattr(2)`).
    #[tracing::instrument(level = "debug", name = "list_xattr", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn list_xattr(&self, path: impl AsRef<Path>) -> Result<Vec<OsString>, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let d = p.display.as_str();
        let fid = cx.at(cx.session.root(), &p.components).await.at(d)?;
        cx.xattr_list(&fid).await.at(d)
    }

    /// Sets the extended attribute `name` of `path` itself to `value` (`lsetxattr(2)`);
    /// `flags` says whether it must or must not exist already. An empty `value` is
    /// `InvalidArgument`: 9P2000.L sends a size of 0 only to remove an attribute.
    #[tracing::instrument(level = "debug", name = "set_xattr", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn set_xattr(
        &self,
        path: impl AsRef<Path>,
        name: impl AsRef<OsStr>,
        value: impl Into<Bytes>,
        flags: XattrFlags,
    ) -> Result<(), ZeroFsError> {
        let value = wire_value(value.into())?;
        self.write_xattr(path.as_ref(), name.as_ref(), Some(value), flags)
            .await
    }

    /// Removes the extended attribute `name` of `path` itself (`lremovexattr(2)`); a missing
    /// attribute is `Io { errno: ENODATA }`.
    #[tracing::instrument(level = "debug", name = "remove_xattr", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn remove_xattr(
        &self,
        path: impl AsRef<Path>,
        name: impl AsRef<OsStr>,
    ) -> Result<(), ZeroFsError> {
        self.write_xattr(path.as_ref(), name.as_ref(), None, XattrFlags::Replace)
            .await
    }

    async fn write_xattr(
        &self,
        path: &Path,
        name: &OsStr,
        value: Option<Bytes>,
        flags: XattrFlags,
    ) -> Result<(), ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path)?;
        let name = wire_name(name)?;
        let d = p.display.as_str();
        let fid = cx.at(cx.session.root(), &p.components).await.at(d)?;
        cx.xattr_write(&fid, name, value, flags.wire()).await.at(d)
    }
}

impl File {
    /// The value of this file's extended attribute `name` (see [`Client::get_xattr`]).
    #[tracing::instrument(level = "debug", name = "file.get_xattr", skip_all, fields(path = %self.path()), err(level = "debug", Display))]
    pub async fn get_xattr(&self, name: impl AsRef<OsStr>) -> Result<Bytes, ZeroFsError> {
        self.check()?;
        let name = wire_name(name.as_ref())?;
        let (cx, fid) = self.parts();
        cx.xattr_read(fid, name).await.at(self.path())
    }

    /// The names of this file's extended attributes (see [`Client::list_xattr`]).
    #[tracing::instrument(level = "debug", name = "file.list_xattr", skip_all, fields(path = %self.path()), err(level = "debug", Display))]
    pub async fn list_xattr(&self) -> Result<Vec<OsString>, ZeroFsError> {
        self.check()?;
        let (cx, fid) = self.parts();
        cx.xattr_list(fid).await.at(self.path())
    }

    /// Sets this file's extended attribute `name` (see [`Client::set_xattr`]).
    #[tracing::instrument(level = "debug", name = "file.set_xattr", skip_all, fields(path = %self.path()), err(level = "debug", Display))]
    pub async fn set_xattr(
        &self,
        name: impl AsRef<OsStr>,
        value: impl Into<Bytes>,
        flags: XattrFlags,
    ) -> Result<(), ZeroFsError> {
        self.check()?;
        let name = wire_name(name.as_ref())?;
        let value = wire_value(value.into())?;
        let (cx, fid) = self.parts();
        cx.xattr_write(fid, name, Some(value), flags.wire())
            .await
            .at(self.path())
    }

    /// Removes this file's extended attribute `name` (see [`Client::remove_xattr`]).
    #[tracing::instrument(level = "debug", name = "file.remove_xattr", skip_all, fields(path = %self.path()), err(level = "debug", Display))]
    pub async fn remove_xattr(&self, name: impl AsRef<OsStr>) -> Result<(), ZeroFsError> {
        self.check()?;
        let name = wire_name(name.as_ref())?;
        let (cx, fid) = self.parts();
        cx.xattr_write(fid, name, None, XATTR_REPLACE)
            .await
            .at(self.path())
    }
}
