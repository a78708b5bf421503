//! Object paths ⇄ server paths, staging names, and which directory entries are objects.
//!
//! An object `a/b/c.parquet` under the store's root `/lake` is the file `/lake/a/b/c.parquet`:
//! each segment of the [`Path`] (already percent-encoded by `object_store` where it has to
//! be) is one file name, byte for byte, exactly as `LocalFileSystem` maps them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use object_store::Result;
use object_store::path::{Path, PathPart};

use crate::error::generic;

/// A normalised store root: `""` for the attach root, else `/a/b` (no trailing `/`).
pub(crate) fn normalize_root(prefix: &str) -> Result<String> {
    let mut root = String::new();
    for part in prefix.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(generic(format!("prefix {prefix:?}: `..` is not allowed"))),
            name => {
                root.push('/');
                root.push_str(name);
            }
        }
    }
    Ok(root)
}

/// The server path of the directory `prefix` names under `root` (`/` for the root itself).
pub(crate) fn dir_path(root: &str, prefix: Option<&Path>) -> String {
    match prefix {
        Some(p) if !p.is_root() => format!("{root}/{}", p.as_ref()),
        _ if root.is_empty() => "/".to_owned(),
        _ => root.to_owned(),
    }
}

/// The server path of the object `location`, refusing paths no object can have: the root,
/// and names ending in `#` + digits (reserved for staging files, as in `LocalFileSystem`).
pub(crate) fn object_path(root: &str, location: &Path) -> Result<String> {
    match location.filename() {
        None => Err(generic("the root is not an object")),
        Some(name) if is_staging_name(name) => Err(generic(format!(
            "object names ending in `#` and digits are reserved for uploads in progress: {location}"
        ))),
        Some(_) => Ok(format!("{root}/{}", location.as_ref())),
    }
}

/// The parent directory of a server path (`/` for a top-level name).
pub(crate) fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

/// Whether `name` is a staging name: it ends in `#` followed by one or more ASCII digits.
pub(crate) fn is_staging_name(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((_, digits)) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// A fresh staging path next to `dest`: `dest#<digits>`. Random per process and counted
/// within it, so two clients writing the same object pick different names; the create is
/// exclusive anyway, and a collision just draws again.
pub(crate) fn staging_path(dest: &str) -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{dest}#{}", mix(seed.wrapping_add(n)))
}

/// The SplitMix64 finaliser (a bijection on u64).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The path segment a directory entry named `name` stands for, or `None` (with a warning)
/// when no object path can represent it: not UTF-8, or a control character, which
/// `object_store`'s [`PathPart`] refuses. Such entries are skipped, never a panic.
pub(crate) fn entry_part<'a>(dir: &str, name: &'a [u8]) -> Option<PathPart<'a>> {
    let Ok(text) = std::str::from_utf8(name) else {
        tracing::warn!(
            dir,
            name = %String::from_utf8_lossy(name),
            "skipping a directory entry whose name is not UTF-8: no object path can name it"
        );
        return None;
    };
    match PathPart::parse(text) {
        Ok(part) => Some(part),
        Err(e) => {
            tracing::warn!(dir, name = text, error = %e, "skipping a directory entry no object path can name");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_normalised_and_dotdot_refused() {
        assert_eq!(normalize_root("").unwrap(), "");
        assert_eq!(normalize_root("/").unwrap(), "");
        assert_eq!(normalize_root("lake//a/./b/").unwrap(), "/lake/a/b");
        assert!(normalize_root("/a/../b").is_err());
    }

    #[test]
    fn object_and_dir_paths_join_the_root() {
        let p = Path::from_iter(["a", "b/c", "d.parquet"]);
        assert_eq!(object_path("", &p).unwrap(), "/a/b%2Fc/d.parquet");
        assert_eq!(object_path("/lake", &p).unwrap(), "/lake/a/b%2Fc/d.parquet");
        assert!(object_path("/lake", &Path::ROOT).is_err());
        // `Path::from` encodes `#`; only a parsed path can spell a staging name.
        assert_eq!(object_path("", &Path::from("x#12")).unwrap(), "/x%2312");
        assert!(object_path("", &Path::parse("x#12").unwrap()).is_err());
        assert_eq!(
            object_path("", &Path::parse("x#a1").unwrap()).unwrap(),
            "/x#a1"
        );
        assert_eq!(dir_path("", None), "/");
        assert_eq!(dir_path("/lake", Some(&Path::ROOT)), "/lake");
        assert_eq!(dir_path("/lake", Some(&Path::from("a/b"))), "/lake/a/b");
        assert_eq!(parent_of("/x"), "/");
        assert_eq!(parent_of("/lake/a/x"), "/lake/a");
    }

    #[test]
    fn staging_names_are_recognised_and_distinct() {
        assert!(is_staging_name("f.parquet#123"));
        assert!(!is_staging_name("f.parquet#"));
        assert!(!is_staging_name("f#12x"));
        assert!(!is_staging_name("plain"));
        let (a, b) = (staging_path("/d/f"), staging_path("/d/f"));
        assert_ne!(a, b);
        let name = a.rsplit('/').next().unwrap();
        assert!(name.starts_with("f#") && is_staging_name(name), "{a}");
    }

    #[test]
    fn entries_no_path_can_name_are_skipped() {
        assert_eq!(entry_part("/", b"ok.txt").unwrap().as_ref(), "ok.txt");
        assert_eq!(entry_part("/", "🙀".as_bytes()).unwrap().as_ref(), "🙀");
        assert!(entry_part("/", b"\xff\xfe").is_none());
        assert!(entry_part("/", b"tab\there").is_none());
        // Percent sequences are kept verbatim, as LocalFileSystem keeps them.
        assert_eq!(entry_part("/", b"a%2Fb").unwrap().as_ref(), "a%2Fb");
    }
}
