//! [`Identity`]: who the client attaches as when the options do not say. The one place that
//! decides it, for the session's defaults and every layer above.

/// A uid, a gid for creates, and an attach user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The uid sent as `n_uname` in `Tattach`.
    pub uid: u32,
    /// The gid of created nodes.
    pub gid: u32,
    /// The attach user name.
    pub uname: String,
}

impl Identity {
    /// This process's effective uid and gid (from the kernel, through `rustix`), and `$USER`
    /// (else the uid in decimal) as the user name. Never guesses: the ids are the process's
    /// own, so a client never attaches as root unless the process runs as root.
    pub fn current() -> Identity {
        let uid = rustix::process::geteuid().as_raw();
        Identity {
            uid,
            gid: rustix::process::getegid().as_raw(),
            uname: Identity::uname_for(uid),
        }
    }

    /// The attach name for `uid` when none is given: `$USER` if set and non-empty, else the
    /// uid in decimal.
    pub fn uname_for(uid: u32) -> String {
        std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| uid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_identity_is_the_process_owner() {
        let me = Identity::current();
        // /proc/self is owned by the effective ids (Linux); elsewhere just check consistency.
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata("/proc/self").expect("procfs");
            assert_eq!((me.uid, me.gid), (m.uid(), m.gid()));
        }
        assert!(!me.uname.is_empty());
        assert_eq!(Identity::current(), me);
    }
}
