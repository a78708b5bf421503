//! Namespace operations: create, mkdir, symlink, mknod, link, unlink and rename.

use bytes::Bytes;
use zerofs_9p_proto::consts::MAX_NAME_LEN;

use super::perm::{self, Access, Creds};
use super::{Directory, Errno, FileData, Fs, FsResult, Inode, Kind, MAX_LINKS, ROOT, Special};

impl Fs {
    /// The checks of every create: name length, write and search permission on `dir`, `dir` a
    /// directory, the name free.
    fn check_create(&self, creds: &Creds, dir: u64, name: &[u8]) -> FsResult<()> {
        if name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let node = self.get(dir)?;
        perm::check(node, creds, Access::Write)?;
        perm::check(node, creds, Access::Exec)?;
        let d = node.dir().ok_or(Errno::ENOTDIR)?;
        if name.is_empty() {
            return Err(Errno::ENOENT);
        }
        if name == b"." || name == b".." || d.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        Ok(())
    }

    fn alloc(&mut self, node: Inode) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(ino, node);
        ino
    }

    fn add_child(&mut self, dir: u64, name: &[u8], node: Inode) -> FsResult<u64> {
        let is_dir = node.is_dir();
        let ino = self.alloc(node);
        let parent = self.get_mut(dir)?;
        parent
            .dir_mut()
            .ok_or(Errno::ENOTDIR)?
            .insert(Bytes::copy_from_slice(name), ino);
        if is_dir {
            parent.nlink += 1;
        }
        parent.touch_modified();
        Ok(ino)
    }

    /// Creates a regular file with permission bits `mode & 0o7777`, owned by `creds.uid:gid`.
    pub fn create_file(
        &mut self,
        creds: &Creds,
        dir: u64,
        name: &[u8],
        mode: u32,
        gid: u32,
    ) -> FsResult<u64> {
        self.check_create(creds, dir, name)?;
        let node = Inode::new(
            Kind::File(FileData::default()),
            mode & 0o7777,
            creds.uid,
            gid,
            dir,
        );
        self.add_child(dir, name, node)
    }

    /// Creates a directory (inheriting the set-gid bit of its parent).
    pub fn mkdir(
        &mut self,
        creds: &Creds,
        dir: u64,
        name: &[u8],
        mode: u32,
        gid: u32,
    ) -> FsResult<u64> {
        self.check_create(creds, dir, name)?;
        let mut perm = mode & 0o7777;
        if self.get(dir)?.perm & 0o2000 != 0 {
            perm |= 0o2000;
        }
        let node = Inode::new(Kind::Dir(Directory::default()), perm, creds.uid, gid, dir);
        self.add_child(dir, name, node)
    }

    /// Creates a symbolic link (mode `0o777`) holding `target` verbatim.
    pub fn symlink(
        &mut self,
        creds: &Creds,
        dir: u64,
        name: &[u8],
        target: &[u8],
        gid: u32,
    ) -> FsResult<u64> {
        self.check_create(creds, dir, name)?;
        let node = Inode::new(
            Kind::Symlink(Bytes::copy_from_slice(target)),
            0o777,
            creds.uid,
            gid,
            dir,
        );
        self.add_child(dir, name, node)
    }

    /// Creates a fifo, socket or device node.
    pub fn mknod(
        &mut self,
        creds: &Creds,
        dir: u64,
        name: &[u8],
        special: Special,
        mode: u32,
        gid: u32,
    ) -> FsResult<u64> {
        self.check_create(creds, dir, name)?;
        let kind = match special {
            Special::Fifo => Kind::Fifo,
            Special::Socket => Kind::Socket,
            Special::Char(major, minor) => Kind::Char { major, minor },
            Special::Block(major, minor) => Kind::Block { major, minor },
        };
        let node = Inode::new(kind, mode & 0o7777, creds.uid, gid, dir);
        self.add_child(dir, name, node)
    }

    /// Adds hard link `dir/name` to `target` (not a directory or symlink: `EINVAL`, as ZeroFS).
    pub fn link(&mut self, creds: &Creds, dir: u64, name: &[u8], target: u64) -> FsResult<()> {
        if name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let d = self.get(dir)?;
        perm::check(d, creds, Access::Write)?;
        perm::check(d, creds, Access::Exec)?;
        self.check_ancestors(creds, target)?;
        let d = d.dir().ok_or(Errno::ENOTDIR)?;
        let t = self.get(target)?;
        if matches!(t.kind, Kind::Dir(_) | Kind::Symlink(_)) {
            return Err(Errno::EINVAL);
        }
        if name.is_empty() {
            return Err(Errno::ENOENT);
        }
        if name == b"." || name == b".." || d.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        if t.nlink >= MAX_LINKS {
            return Err(Errno::EMLINK);
        }
        let t = self.get_mut(target)?;
        t.nlink += 1;
        t.parent = None;
        t.touch_changed();
        let parent = self.get_mut(dir)?;
        parent
            .dir_mut()
            .ok_or(Errno::ENOTDIR)?
            .insert(Bytes::copy_from_slice(name), target);
        parent.touch_modified();
        Ok(())
    }

    /// Drops one link of `ino`; a node without links is gone.
    fn drop_link(&mut self, ino: u64) {
        let Some(node) = self.inodes.get_mut(&ino) else {
            return;
        };
        if !node.is_dir() && node.nlink > 1 {
            node.nlink -= 1;
            node.touch_changed();
        } else {
            self.inodes.remove(&ino);
        }
    }

    /// `unlinkat`: removes `dir/name`; `removedir` asks for a directory (rmdir).
    pub fn unlinkat(
        &mut self,
        creds: &Creds,
        dir: u64,
        name: &[u8],
        removedir: bool,
    ) -> FsResult<()> {
        let child = self.lookup(creds, dir, name)?;
        let child_node = self.get(child)?;
        match (removedir, child_node.is_dir()) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            _ => {}
        }
        if name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let d = self.get(dir)?;
        perm::check(d, creds, Access::Write)?;
        perm::check(d, creds, Access::Exec)?;
        perm::check_sticky(d, child_node, creds)?;
        if child_node.dir().is_some_and(|cd| !cd.is_empty()) {
            return Err(Errno::ENOTEMPTY);
        }
        let is_dir = child_node.is_dir();
        let parent = self.get_mut(dir)?;
        parent.dir_mut().ok_or(Errno::ENOTDIR)?.remove(name);
        if is_dir {
            parent.nlink = parent.nlink.saturating_sub(1);
        }
        parent.touch_modified();
        self.drop_link(child);
        Ok(())
    }

    /// Whether directory `ancestor` is `ino` or one of its ancestors.
    fn is_ancestor(&self, ancestor: u64, ino: u64) -> bool {
        let mut cur = Some(ino);
        for _ in 0..=self.inodes.len() {
            match cur {
                Some(c) if c == ancestor => return true,
                Some(ROOT) | None => return false,
                Some(c) => cur = self.inodes.get(&c).and_then(|n| n.parent),
            }
        }
        false
    }

    /// Renames `from_dir/from` to `to_dir/to`, replacing an existing target (an empty directory
    /// or any non-directory, whatever the source's type, as ZeroFS).
    pub fn rename(
        &mut self,
        creds: &Creds,
        from_dir: u64,
        from: &[u8],
        to_dir: u64,
        to: &[u8],
    ) -> FsResult<()> {
        if from.is_empty() || to.is_empty() {
            return Err(Errno::EINVAL);
        }
        if from.len() > MAX_NAME_LEN || to.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        if from == b"." || from == b".." {
            return Err(Errno::EINVAL);
        }
        if to == b"." || to == b".." {
            return Err(Errno::EEXIST);
        }
        if from_dir == to_dir && from == to {
            return Ok(());
        }
        let src = self
            .get(from_dir)
            .ok()
            .and_then(Inode::dir)
            .and_then(|d| d.get(from))
            .ok_or(Errno::ENOENT)?;
        if to_dir == src {
            return Err(Errno::EINVAL);
        }
        let target = self
            .get(to_dir)
            .ok()
            .and_then(Inode::dir)
            .and_then(|d| d.get(to));
        if target == Some(src) {
            // Two links to the same node: nothing to do (POSIX).
            return Ok(());
        }
        let src_node = self.get(src)?;
        let src_is_dir = src_node.is_dir();
        if src_is_dir && self.is_ancestor(src, to_dir) {
            return Err(Errno::EINVAL);
        }
        let fd = self.get(from_dir)?;
        let td = self.get(to_dir)?;
        perm::check(fd, creds, Access::Write)?;
        perm::check(fd, creds, Access::Exec)?;
        if from_dir != to_dir {
            perm::check(td, creds, Access::Write)?;
            perm::check(td, creds, Access::Exec)?;
        }
        perm::check_sticky(fd, src_node, creds)?;
        if from_dir != to_dir
            && src_is_dir
            && fd.perm & 0o1000 != 0
            && !creds.is_root()
            && creds.uid != src_node.uid
        {
            return Err(Errno::EACCES);
        }
        if !td.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut target_is_dir = false;
        if let Some(t) = target {
            let tn = self.get(t)?;
            if tn.dir().is_some_and(|d| !d.is_empty()) {
                return Err(Errno::ENOTEMPTY);
            }
            perm::check_sticky(td, tn, creds)?;
            target_is_dir = tn.is_dir();
        }
        // Apply.
        if let Some(t) = target {
            let tdn = self.get_mut(to_dir)?;
            tdn.dir_mut().ok_or(Errno::ENOTDIR)?.remove(to);
            if target_is_dir {
                tdn.nlink = tdn.nlink.saturating_sub(1);
            }
            self.drop_link(t);
        }
        let fdn = self.get_mut(from_dir)?;
        let (cookie, _) = fdn
            .dir_mut()
            .ok_or(Errno::ENOTDIR)?
            .remove(from)
            .ok_or(Errno::ENOENT)?;
        if src_is_dir && from_dir != to_dir {
            fdn.nlink = fdn.nlink.saturating_sub(1);
        }
        fdn.touch_modified();
        let tdn = self.get_mut(to_dir)?;
        let d = tdn.dir_mut().ok_or(Errno::ENOTDIR)?;
        if from_dir == to_dir {
            d.insert_at(cookie, Bytes::copy_from_slice(to), src);
        } else {
            d.insert(Bytes::copy_from_slice(to), src);
            if src_is_dir {
                tdn.nlink += 1;
            }
        }
        tdn.touch_modified();
        if from_dir != to_dir {
            if let Some(node) = self.inodes.get_mut(&src) {
                if node.is_dir() || node.nlink == 1 {
                    node.parent = Some(to_dir);
                }
            }
        }
        Ok(())
    }
}
