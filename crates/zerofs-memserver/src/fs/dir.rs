//! Directories: entries kept by a per-directory, monotonically increasing cookie, so a listing
//! resumed from any cookie is stable across concurrent inserts and removals.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

/// Cookie of `.`.
pub const COOKIE_DOT: u64 = 1;
/// Cookie of `..`.
pub const COOKIE_DOTDOT: u64 = 2;
/// First cookie of a real entry (as ZeroFS).
pub const COOKIE_FIRST: u64 = 3;

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name bytes (opaque, never interpreted).
    pub name: Bytes,
    /// Inode the name points to.
    pub ino: u64,
}

/// The entries of a directory.
#[derive(Debug, Clone)]
pub struct Directory {
    by_cookie: BTreeMap<u64, Entry>,
    by_name: HashMap<Bytes, u64>,
    next_cookie: u64,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            by_cookie: BTreeMap::new(),
            by_name: HashMap::new(),
            next_cookie: COOKIE_FIRST,
        }
    }
}

impl Directory {
    /// Number of entries (`.` and `..` not counted).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_cookie.len()
    }

    /// Whether the directory has no entries.
    pub fn is_empty(&self) -> bool {
        self.by_cookie.is_empty()
    }

    /// The inode `name` points to.
    pub fn get(&self, name: &[u8]) -> Option<u64> {
        self.by_name.get(name).map(|c| self.by_cookie[c].ino)
    }

    /// The cookie of `name`.
    #[cfg(test)]
    pub fn cookie_of(&self, name: &[u8]) -> Option<u64> {
        self.by_name.get(name).copied()
    }

    /// Adds `name` under a fresh cookie (the caller checked it is absent).
    pub fn insert(&mut self, name: Bytes, ino: u64) -> u64 {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.insert_at(cookie, name, ino);
        cookie
    }

    /// Adds `name` under a cookie it had before (a rename inside the directory keeps the
    /// cookie, so a listing in progress sees the entry once).
    pub fn insert_at(&mut self, cookie: u64, name: Bytes, ino: u64) {
        self.by_name.insert(name.clone(), cookie);
        self.by_cookie.insert(cookie, Entry { name, ino });
    }

    /// Removes `name`, returning its cookie and inode.
    pub fn remove(&mut self, name: &[u8]) -> Option<(u64, u64)> {
        let cookie = self.by_name.remove(name)?;
        let entry = self.by_cookie.remove(&cookie)?;
        Some((cookie, entry.ino))
    }

    /// Entries with a cookie greater than `after`, in cookie order.
    pub fn after(&self, after: u64) -> impl Iterator<Item = (u64, &Entry)> + '_ {
        self.by_cookie
            .range(after.saturating_add(1)..)
            .map(|(c, e)| (*c, e))
    }

    /// Whether some entry points to `ino`.
    pub fn contains_ino(&self, ino: u64) -> bool {
        self.by_cookie.values().any(|e| e.ino == ino)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    fn name(i: u32) -> Bytes {
        Bytes::from(format!("n{i}"))
    }

    #[test]
    fn cookies_start_at_three_and_never_repeat() {
        let mut d = Directory::default();
        assert_eq!(d.insert(name(1), 10), COOKIE_FIRST);
        d.remove(b"n1").unwrap();
        assert_eq!(d.insert(name(1), 11), COOKIE_FIRST + 1);
        assert_eq!(d.get(b"n1"), Some(11));
        assert_eq!(d.after(0).count(), 1);
    }

    #[test]
    fn a_kept_cookie_keeps_the_listing_position() {
        let mut d = Directory::default();
        let c = d.insert(name(1), 1);
        d.insert(name(2), 2);
        let (old, ino) = d.remove(b"n1").unwrap();
        d.insert_at(old, name(9), ino);
        assert_eq!(d.cookie_of(b"n9"), Some(c));
        let names: Vec<_> = d.after(0).map(|(_, e)| e.name.clone()).collect();
        assert_eq!(names, vec![name(9), name(2)]);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Page(usize),
        Insert,
        Remove(usize),
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// During a paged listing with random inserts and removals, every entry present for the
        /// whole listing is seen exactly once, and nothing is ever seen twice.
        #[test]
        fn paged_listing_is_stable(
            initial in 0u32..40,
            steps in proptest::collection::vec(
                prop_oneof![
                    (1usize..6).prop_map(Step::Page),
                    Just(Step::Insert),
                    (0usize..100).prop_map(Step::Remove),
                ],
                0..80,
            ),
        ) {
            let mut d = Directory::default();
            let mut next = 0u32;
            for _ in 0..initial { d.insert(name(next), u64::from(next)); next += 1; }
            let start: HashSet<Bytes> = d.after(0).map(|(_, e)| e.name.clone()).collect();
            let mut removed: HashSet<Bytes> = HashSet::new();
            let mut seen: Vec<Bytes> = Vec::new();
            let mut cookie = 0u64;
            let mut done = false;
            let run = |d: &mut Directory, n: usize, cookie: &mut u64, seen: &mut Vec<Bytes>| {
                let page: Vec<(u64, Bytes)> = d.after(*cookie).take(n).map(|(c, e)| (c, e.name.clone())).collect();
                if page.is_empty() { return true; }
                for (c, nm) in page { *cookie = c; seen.push(nm); }
                false
            };
            for step in steps {
                match step {
                    Step::Page(n) => if !done { done = run(&mut d, n, &mut cookie, &mut seen); },
                    Step::Insert => { d.insert(name(next), u64::from(next)); next += 1; }
                    Step::Remove(k) => {
                        let names: Vec<Bytes> = d.after(0).map(|(_, e)| e.name.clone()).collect();
                        if !names.is_empty() {
                            let nm = names[k % names.len()].clone();
                            d.remove(&nm).unwrap();
                            removed.insert(nm);
                        }
                    }
                }
            }
            // Finish the listing (bounded: at most one page per entry plus one).
            for _ in 0..=d.len() + 1 { if done { break; } done = run(&mut d, 3, &mut cookie, &mut seen); }
            prop_assert!(done);
            let unique: HashSet<Bytes> = seen.iter().cloned().collect();
            prop_assert_eq!(unique.len(), seen.len(), "an entry was listed twice");
            for nm in start.difference(&removed) {
                prop_assert!(unique.contains(nm), "{:?} present throughout but not listed", nm);
            }
        }
    }
}
