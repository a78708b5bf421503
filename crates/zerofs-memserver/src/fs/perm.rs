//! Credentials and the permission checks ZeroFS applies (owner, group, other bits; root bypasses
//! everything except execute on a node without any execute bit).

use super::errno::{Errno, FsResult};
use super::node::Inode;

/// The identity a fid acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// User id.
    pub uid: u32,
    /// Primary group.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Creds {
    /// The uid that `Tattach` with `n_uname = NONUNAME` maps unknown user names to.
    pub const NOBODY: u32 = 65534;

    /// Credentials as ZeroFS derives them from a numeric uid: gid = uid, member of group uid.
    pub fn from_uid(uid: u32) -> Creds {
        Creds {
            uid,
            gid: uid,
            groups: vec![uid],
        }
    }

    /// Whether the credentials are root.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether `gid` is the primary or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// The access being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read (`r`).
    Read,
    /// Write (`w`).
    Write,
    /// Execute / search (`x`).
    Exec,
}

/// Checks `access` to `node` for `creds`: root passes except for execute on a node without any
/// execute bit; otherwise exactly one class (owner, group, other) decides.
pub fn check(node: &Inode, creds: &Creds, access: Access) -> FsResult<()> {
    if creds.is_root() {
        if access == Access::Exec && node.perm & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        return Ok(());
    }
    let shift = match access {
        Access::Read => 2,
        Access::Write => 1,
        Access::Exec => 0,
    };
    let class = if creds.uid == node.uid {
        6
    } else if creds.in_group(node.gid) {
        3
    } else {
        0
    };
    if node.perm >> class >> shift & 1 == 1 {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// Owner-only operations (chmod, chown): the owner or root, else `EPERM`.
pub fn check_owner(node: &Inode, creds: &Creds) -> FsResult<()> {
    if creds.is_root() || creds.uid == node.uid {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// The sticky-bit rule for removing `target` from `dir`: in a sticky directory only root, the
/// directory's owner or the target's owner may remove an entry (`EACCES` otherwise, as ZeroFS).
pub fn check_sticky(dir: &Inode, target: &Inode, creds: &Creds) -> FsResult<()> {
    if dir.perm & 0o1000 != 0 && !creds.is_root() && creds.uid != dir.uid && creds.uid != target.uid
    {
        return Err(Errno::EACCES);
    }
    Ok(())
}
