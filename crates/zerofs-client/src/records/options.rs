//! [`OpenOptions`] and [`ConnectOptions`].

use zerofs_session::Identity;

/// How to open a file: access mode, creation and truncation.
///
/// ```
/// use zerofs_client::OpenOptions;
///
/// let opts = OpenOptions::write_only().create(true).truncate(true).mode(0o600);
/// assert!(opts.write && opts.create && opts.truncate && !opts.read);
/// assert_eq!(opts.mode, 0o600);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OpenOptions {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Create the file if it is missing.
    pub create: bool,
    /// Create the file, failing with `AlreadyExists` if it exists.
    pub create_new: bool,
    /// Truncate to zero length when opened for writing.
    pub truncate: bool,
    /// Permission bits of a created file (default 0o644).
    pub mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read: false,
            write: false,
            create: false,
            create_new: false,
            truncate: false,
            mode: 0o644,
        }
    }
}

impl OpenOptions {
    /// Read only.
    pub fn read_only() -> Self {
        OpenOptions {
            read: true,
            ..Self::default()
        }
    }

    /// Write only.
    pub fn write_only() -> Self {
        OpenOptions {
            write: true,
            ..Self::default()
        }
    }

    /// Read and write.
    pub fn read_write() -> Self {
        OpenOptions {
            read: true,
            write: true,
            ..Self::default()
        }
    }

    /// Sets `create`.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Sets `create_new`.
    pub fn create_new(mut self, create_new: bool) -> Self {
        self.create_new = create_new;
        self
    }

    /// Sets `truncate`.
    pub fn truncate(mut self, truncate: bool) -> Self {
        self.truncate = truncate;
        self
    }

    /// Sets the permission bits of a created file.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

/// How to connect: identity, export, message size and timeout.
///
/// Exactly the six public fields of ZeroFS's own client, so a full struct literal written
/// for it compiles here. Settings it does not have (the `.Z` retry horizon, the HA probe
/// timeout, pipelining, backoff) are set on a [`ClientBuilder`](crate::ClientBuilder).
///
/// ```
/// use zerofs_client::ConnectOptions;
///
/// let opts = ConnectOptions {
///     uid: Some(1000),
///     gid: Some(1000),
///     uname: Some("svc".into()),
///     aname: String::new(),
///     msize: 256 * 1024,
///     connect_timeout_ms: Some(5_000),
/// };
/// assert_eq!(opts.effective_uid(), 1000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConnectOptions {
    /// The uid the server enforces permissions as (sent as `n_uname`); `None`: this process's
    /// effective uid.
    pub uid: Option<u32>,
    /// The group of created nodes; `None`: this process's effective gid.
    pub gid: Option<u32>,
    /// The attach user name; `None`: `$USER`, else the uid in decimal.
    pub uname: Option<String>,
    /// The export to attach to (a subtree path on ZeroFS, the export directory on diod).
    pub aname: String,
    /// The largest message to negotiate (default 1 MiB + 4 KiB, so that a 1 MiB read or write
    /// travels in one message with its header).
    pub msize: u32,
    /// Bound on dial + version + attach, in milliseconds (`None`: no bound; default 30 s).
    pub connect_timeout_ms: Option<u32>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            uid: None,
            gid: None,
            uname: None,
            aname: String::new(),
            msize: (1 << 20) + 4096,
            connect_timeout_ms: Some(30_000),
        }
    }
}

impl ConnectOptions {
    /// The uid to attach as: [`uid`](Self::uid), else this process's effective uid.
    pub fn effective_uid(&self) -> u32 {
        self.uid.unwrap_or_else(|| Identity::current().uid)
    }

    /// The gid to create nodes with: [`gid`](Self::gid), else this process's effective gid.
    pub fn effective_gid(&self) -> u32 {
        self.gid.unwrap_or_else(|| Identity::current().gid)
    }

    /// The attach user name: [`uname`](Self::uname), else `$USER`, else the uid in decimal.
    pub fn effective_uname(&self) -> String {
        self.uname
            .clone()
            .unwrap_or_else(|| Identity::uname_for(self.effective_uid()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_reference_client_but_msize() {
        let o = OpenOptions::default();
        assert_eq!(o.mode, 0o644);
        assert!(!o.read && !o.write && !o.create && !o.create_new && !o.truncate);
        let c = ConnectOptions::default();
        assert_eq!(c.msize, (1 << 20) + 4096);
        assert_eq!(c.connect_timeout_ms, Some(30_000));
        assert!(c.aname.is_empty());
    }

    #[test]
    fn explicit_identity_wins() {
        let c = ConnectOptions {
            uid: Some(4242),
            gid: Some(7),
            uname: Some("svc".into()),
            ..Default::default()
        };
        assert_eq!((c.effective_uid(), c.effective_gid()), (4242, 7));
        assert_eq!(c.effective_uname(), "svc");
    }
}
