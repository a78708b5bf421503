//! Renames whose outcome is not known yet, so that replay can prove them applied.
//!
//! On a plain 9P2000.L server (no `Trebind`, no de-duplication) replay re-walks the recorded
//! path of every fid. If a rename applied but its reply was lost with the connection, the paths
//! beneath its source are gone; replay then also tries the path as the rename would have
//! rewritten it, and accepts it only if it reaches the fid's recorded qid: proof that the rename
//! applied. The rename is then marked applied, every recorded path beneath the source is moved,
//! and its resend is answered with success instead of being sent again (it would fail with
//! `ENOENT`, or apply twice). Pure data, no I/O: the fid table holds it.

use bytes::Bytes;

/// One rename in flight: `from` and `to` are paths from the attach fid `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingRename {
    id: u64,
    root: u32,
    from: Vec<Bytes>,
    to: Vec<Bytes>,
    applied: bool,
}

/// The renames in flight.
#[derive(Debug, Clone, Default)]
pub(crate) struct PendingRenames {
    list: Vec<PendingRename>,
    next: u64,
}

impl PendingRenames {
    /// Records a rename about to be sent; `None` if there is nothing to move (`from` empty).
    pub(crate) fn begin(&mut self, root: u32, from: Vec<Bytes>, to: Vec<Bytes>) -> Option<u64> {
        if from.is_empty() || from == to {
            return None;
        }
        self.next += 1;
        self.list.push(PendingRename {
            id: self.next,
            root,
            from,
            to,
            applied: false,
        });
        Some(self.next)
    }

    /// The rename's request is finished (answered, failed or dropped).
    pub(crate) fn end(&mut self, id: u64) {
        self.list.retain(|r| r.id != id);
    }

    /// Whether replay proved the rename applied.
    pub(crate) fn applied(&self, id: u64) -> bool {
        self.list.iter().any(|r| r.id == id && r.applied)
    }

    /// Where `path` (from `root`) would be if an unproven rename in flight applied: the rename's
    /// id and the rewritten path.
    pub(crate) fn alternative(&self, root: u32, path: &[Bytes]) -> Option<(u64, Vec<Bytes>)> {
        self.list
            .iter()
            .filter(|r| !r.applied && r.root == root && path.starts_with(&r.from))
            .max_by_key(|r| r.from.len())
            .map(|r| {
                let tail = &path[r.from.len()..];
                (r.id, r.to.iter().chain(tail).cloned().collect())
            })
    }

    /// Marks the rename applied; returns its (root, from, to) for moving recorded paths, once.
    pub(crate) fn mark_applied(&mut self, id: u64) -> Option<(u32, Vec<Bytes>, Vec<Bytes>)> {
        let r = self.list.iter_mut().find(|r| r.id == id && !r.applied)?;
        r.applied = true;
        Some((r.root, r.from.clone(), r.to.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(names: &[&'static str]) -> Vec<Bytes> {
        names
            .iter()
            .map(|n| Bytes::from_static(n.as_bytes()))
            .collect()
    }

    #[test]
    fn alternatives_follow_the_longest_matching_rename_and_stop_once_applied() {
        let mut r = PendingRenames::default();
        assert_eq!(
            r.begin(1, p(&[]), p(&["x"])),
            None,
            "the root itself never moves"
        );
        let a = r.begin(1, p(&["d"]), p(&["e"])).unwrap();
        let b = r.begin(1, p(&["d", "sub"]), p(&["f"])).unwrap();
        assert_eq!(r.alternative(1, &p(&["d", "x"])), Some((a, p(&["e", "x"]))));
        assert_eq!(
            r.alternative(1, &p(&["d", "sub", "y"])),
            Some((b, p(&["f", "y"])))
        );
        assert_eq!(r.alternative(1, &p(&["dd"])), None, "whole names only");
        assert_eq!(r.alternative(2, &p(&["d"])), None, "another attach root");
        assert!(!r.applied(a));
        assert_eq!(r.mark_applied(a), Some((1, p(&["d"]), p(&["e"]))));
        assert_eq!(r.mark_applied(a), None, "moved once");
        assert!(r.applied(a));
        assert_eq!(r.alternative(1, &p(&["d", "x"])), None);
        r.end(a);
        r.end(b);
        assert!(!r.applied(a));
        assert_eq!(r.alternative(1, &p(&["d", "sub"])), None);
    }
}
