//! Client-side path validation: paths become lists of raw name components before any round trip.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use bytes::Bytes;
use zerofs_9p_proto::consts::MAX_NAME_LEN;

use crate::error::ZeroFsError;

/// A validated path: its components from the attach root, and a display form for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidPath {
    /// Name components, each valid for the wire.
    pub components: Vec<Bytes>,
    /// The path as the caller wrote it, lossily decoded, for error messages.
    pub display: String,
}

impl ValidPath {
    /// Validates `path`: the root and `.` components are ignored (so `x`, `/x`, `//x` and `/./x`
    /// are the same path), `..` is refused, and every name must be a valid component.
    pub fn new(path: &Path) -> Result<ValidPath, ZeroFsError> {
        let raw = path.as_os_str().as_bytes();
        let display = String::from_utf8_lossy(raw).into_owned();
        let mut components = Vec::new();
        // One copy of the path; every component is a slice of it (no allocation per name).
        let whole = Bytes::copy_from_slice(raw);
        for part in whole.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    return Err(ZeroFsError::invalid(format!(
                        "{display}: `..` components are not supported"
                    )));
                }
                name => {
                    check_name(name)?;
                    components.push(whole.slice_ref(name));
                }
            }
        }
        Ok(ValidPath {
            components,
            display,
        })
    }

    /// Whether this is the attach root.
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The parent's components and the final name; the root has no final name.
    pub fn split_last(&self) -> Result<(&[Bytes], &Bytes), ZeroFsError> {
        match self.components.split_last() {
            Some((name, parent)) => Ok((parent, name)),
            None => Err(ZeroFsError::invalid(format!(
                "{}: operation requires a path with a final name component",
                self.display
            ))),
        }
    }
}

/// Checks one name component (as taken by the `Dir::*_at` methods).
pub(crate) fn check_name(name: &[u8]) -> Result<(), ZeroFsError> {
    let lossy = || String::from_utf8_lossy(name).into_owned();
    if name.is_empty() || name == b"." || name == b".." {
        return Err(ZeroFsError::invalid(format!(
            "invalid name component {:?}",
            lossy()
        )));
    }
    if name.iter().any(|&b| b == 0 || b == b'/') {
        return Err(ZeroFsError::invalid(format!(
            "name component {:?} contains NUL or '/'",
            lossy()
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ZeroFsError::NameTooLong { name: lossy() });
    }
    Ok(())
}

/// `base` joined with a child name, for the display path of a child handle.
pub(crate) fn join_display(base: &str, name: &[u8]) -> String {
    let base = base.trim_end_matches('/');
    format!("{base}/{}", String::from_utf8_lossy(name))
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    fn comps(p: &str) -> Vec<Vec<u8>> {
        ValidPath::new(Path::new(p))
            .unwrap()
            .components
            .iter()
            .map(|c| c.to_vec())
            .collect()
    }

    #[test]
    fn root_dot_and_duplicate_slashes_are_ignored() {
        for p in ["x", "/x", "//x", "/./x", "x/", "./x"] {
            assert_eq!(comps(p), vec![b"x".to_vec()], "{p}");
        }
        assert_eq!(
            comps("/a//b/./c/"),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert!(ValidPath::new(Path::new("/")).unwrap().is_root());
        assert!(ValidPath::new(Path::new("")).unwrap().is_root());
    }

    #[test]
    fn dotdot_nul_and_long_names_are_refused() {
        let err = ValidPath::new(Path::new("/a/../b")).unwrap_err();
        assert!(matches!(err, ZeroFsError::InvalidArgument { .. }));
        let nul = OsStr::from_bytes(b"/a\0b");
        assert!(matches!(
            ValidPath::new(Path::new(nul)),
            Err(ZeroFsError::InvalidArgument { .. })
        ));
        let long = format!("/{}", "n".repeat(256));
        assert!(matches!(
            ValidPath::new(Path::new(&long)),
            Err(ZeroFsError::NameTooLong { .. })
        ));
        let ok = format!("/{}", "n".repeat(255));
        assert_eq!(comps(&ok).len(), 1);
    }

    #[test]
    fn non_utf8_names_are_kept_verbatim() {
        let raw = OsStr::from_bytes(b"/dir/\xff\xfe-not-utf8");
        let p = ValidPath::new(Path::new(raw)).unwrap();
        assert_eq!(&p.components[1][..], b"\xff\xfe-not-utf8");
    }

    #[test]
    fn root_has_no_final_name() {
        let root = ValidPath::new(Path::new("/")).unwrap();
        assert!(matches!(
            root.split_last(),
            Err(ZeroFsError::InvalidArgument { .. })
        ));
        let p = ValidPath::new(Path::new("/a/b")).unwrap();
        let (parent, name) = p.split_last().unwrap();
        assert_eq!(parent.len(), 1);
        assert_eq!(&name[..], b"b");
    }

    #[test]
    fn names_for_at_methods() {
        assert!(check_name(b"ok").is_ok());
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert!(
                matches!(check_name(bad), Err(ZeroFsError::InvalidArgument { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(join_display("/d/", b"x"), "/d/x");
        assert_eq!(join_display("/", b"x"), "/x");
    }
}
