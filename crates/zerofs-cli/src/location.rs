//! Where a path argument points: the local file system or a server.
//!
//! `zerofs://host:port/path` names a server and a path on it; `:path` a path on the default
//! server (`--target`, else `ZEROFS_TARGET`); anything else is local for `cp` and `sync`, and
//! a server path for the commands that only work on the server.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// A parsed path argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local path.
    Local(PathBuf),
    /// A path on a server: `None` is the default target.
    Remote(Option<String>, PathBuf),
}

impl Location {
    /// Parses `arg`; bare paths are local when `bare_is_local`, else server paths.
    pub fn parse(arg: &OsStr, bare_is_local: bool) -> Result<Location, String> {
        let b = arg.as_bytes();
        if let Some(rest) = b.strip_prefix(b"zerofs://") {
            let slash = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
            let host = std::str::from_utf8(&rest[..slash])
                .map_err(|_| "the host in a zerofs:// URL must be UTF-8".to_owned())?;
            if host.is_empty() {
                return Err(format!("no host in {:?}", crate::names::show(arg)));
            }
            return Ok(Location::Remote(
                Some(host.to_owned()),
                server_path(&rest[slash..]),
            ));
        }
        if let Some(rest) = b.strip_prefix(b":") {
            return Ok(Location::Remote(None, server_path(rest)));
        }
        if bare_is_local {
            Ok(Location::Local(PathBuf::from(arg)))
        } else {
            Ok(Location::Remote(None, server_path(b)))
        }
    }

    /// The path.
    pub fn path(&self) -> &PathBuf {
        match self {
            Location::Local(p) | Location::Remote(_, p) => p,
        }
    }

    /// Whether the argument ended with `/` (a directory to copy into).
    pub fn names_dir(arg: &OsStr) -> bool {
        arg.as_bytes().ends_with(b"/")
    }

    /// This location with `name` appended.
    pub fn join(&self, name: &OsStr) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(name)),
            Location::Remote(t, p) => Location::Remote(t.clone(), p.join(name)),
        }
    }
}

/// An absolute server path (a relative one is taken from the root).
fn server_path(b: &[u8]) -> PathBuf {
    let mut v = Vec::with_capacity(b.len() + 1);
    if !b.starts_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(b);
    PathBuf::from(OsString::from_vec(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, local: bool) -> Location {
        Location::parse(OsStr::new(s), local).unwrap()
    }

    #[test]
    fn urls_colons_and_bare_paths() {
        assert_eq!(
            p("zerofs://h:5564/a/b", true),
            Location::Remote(Some("h:5564".into()), "/a/b".into())
        );
        assert_eq!(
            p("zerofs://h", true),
            Location::Remote(Some("h".into()), "/".into())
        );
        assert_eq!(p(":x/y", true), Location::Remote(None, "/x/y".into()));
        assert_eq!(p(":", true), Location::Remote(None, "/".into()));
        assert_eq!(p("x/y", true), Location::Local("x/y".into()));
        assert_eq!(p("x/y", false), Location::Remote(None, "/x/y".into()));
        assert!(Location::parse(OsStr::new("zerofs:///p"), true).is_err());
        let raw = OsStr::from_bytes(b":\xff");
        assert_eq!(
            Location::parse(raw, true)
                .unwrap()
                .path()
                .as_os_str()
                .as_bytes(),
            b"/\xff"
        );
    }
}
