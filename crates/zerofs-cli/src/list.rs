//! Listing commands: ls, tree, stat, du, df, find.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{Stream, StreamExt, TryStreamExt};
use serde_json::{Value, json};
use zerofs_client::{Client, FileType, Metadata, WalkOptions, ZeroFsError};

use crate::app::{App, Out};
use crate::args::FindType;
use crate::fmt;
use crate::names::{escape, json_name};
use crate::report::Failure;

/// One named node.
pub struct Item {
    pub path: PathBuf,
    pub meta: Metadata,
}

impl Item {
    fn name(&self) -> &[u8] {
        self.path.file_name().map_or(b"/", |n| n.as_bytes())
    }
}

/// The entries of a directory with their metadata (stat'ed where the listing lacks it),
/// sorted by name bytes.
pub async fn list(c: &Arc<Client>, dir: &Path) -> Result<Vec<Item>, ZeroFsError> {
    let entries = c.read_dir(dir).await?;
    let mut items: Vec<Item> = futures::stream::iter(entries)
        .map(|e| async move {
            let path = dir.join(std::ffi::OsStr::from_bytes(&e.name_bytes));
            let meta = match e.metadata {
                Some(m) => m,
                None => c.stat(&path).await?,
            };
            Ok::<_, ZeroFsError>(Item { path, meta })
        })
        .buffered(32)
        .try_collect()
        .await?;
    items.sort_by(|a, b| {
        a.path
            .as_os_str()
            .as_bytes()
            .cmp(b.path.as_os_str().as_bytes())
    });
    Ok(items)
}

/// The JSON object of a node.
pub fn item_json(path: &Path, m: &Metadata, target: Option<&Path>) -> Value {
    let (p, esc) = json_name(path.as_os_str().as_bytes());
    let name = path.file_name().map_or(b"/" as &[u8], |n| n.as_bytes());
    let (name, _) = json_name(name);
    let mut v = json!({
        "path": p,
        "name": name,
        "type": fmt::type_word(m.file_type),
        "size": m.size,
        "mode": format!("{:04o}", m.mode & 0o7777),
        "uid": m.uid,
        "gid": m.gid,
        "nlink": m.nlink,
        "ino": m.ino,
        "mtime": m.mtime.secs as f64 + f64::from(m.mtime.nanos) / 1e9,
    });
    if esc {
        v["escaped"] = json!(true);
    }
    if let Some(t) = target {
        v["target"] = json!(json_name(t.as_os_str().as_bytes()).0);
    }
    v
}

fn is_hidden(item: &Item) -> bool {
    item.name().starts_with(b".")
}

pub struct LsOpts {
    pub long: bool,
    pub all: bool,
    pub recursive: bool,
    pub human: bool,
}

pub async fn ls(app: &App, paths: &[OsString], o: LsOpts) -> Result<(), Failure> {
    let mut out = Out::new();
    let many = paths.len() > 1 || o.recursive;
    for (i, raw) in paths.iter().enumerate() {
        let Some((c, root, meta)) = app.stat_arg("ls", raw).await? else {
            continue;
        };
        if !meta.is_dir() {
            let item = Item { path: root, meta };
            print_item(&c, &mut out, app, &item, &o).await;
            continue;
        }
        if many && !app.g.json {
            if i > 0 {
                out.line("");
            }
            out.line(&format!("{}:", escape(root.as_os_str().as_bytes())));
        }
        if !o.recursive {
            match list(&c, &root).await {
                Ok(items) => {
                    for it in items.iter().filter(|it| o.all || !is_hidden(it)) {
                        print_item(&c, &mut out, app, it, &o).await;
                    }
                }
                Err(e) => app.fail("ls", e.into()),
            }
            continue;
        }
        // Each directory's entries, then its subdirectories in turn: one block per
        // directory (empty ones too), in the order they are reached.
        let all = o.all;
        let opts = WalkOptions::new()
            .sorted(true)
            .contents_first(true)
            .filter(move |e| all || !e.name_bytes.starts_with(b"."));
        let mut found = std::pin::pin!(walk(app, "ls", &c, &root, opts));
        let header = |out: &mut Out, dir: &Path| {
            if !app.g.json {
                out.line("");
                out.line(&format!("{}:", escape(dir.as_os_str().as_bytes())));
            }
        };
        // The directory whose block is being printed, and per open level the directories
        // announced there whose blocks are still to come (in walk order).
        let mut current = root.clone();
        let mut to_come: Vec<VecDeque<PathBuf>> = vec![VecDeque::new()];
        while let Some(f) = found.next().await {
            let parent = f.item.path.parent().unwrap_or(Path::new("/"));
            if parent != current {
                // The next block: directories before it had nothing to list.
                while let Some(level) = to_come.last_mut() {
                    let Some(next) = level.pop_front() else {
                        to_come.pop();
                        continue;
                    };
                    header(&mut out, &next);
                    if next == parent {
                        to_come.push(VecDeque::new());
                        break;
                    }
                }
                current = parent.to_path_buf();
            }
            if f.walked_into
                && let Some(level) = to_come.last_mut()
            {
                level.push_back(f.item.path.clone());
            }
            print_item(&c, &mut out, app, &f.item, &o).await;
        }
        for dir in to_come.iter().rev().flatten() {
            header(&mut out, dir);
        }
    }
    Ok(())
}

async fn print_item(c: &Arc<Client>, out: &mut Out, app: &App, it: &Item, o: &LsOpts) {
    let target = if it.meta.is_symlink() && (o.long || app.g.json) {
        c.read_link(&it.path).await.ok()
    } else {
        None
    };
    if app.g.json {
        out.json(&item_json(&it.path, &it.meta, target.as_deref()));
        return;
    }
    let name = escape(it.name());
    if !o.long {
        out.line(&name);
        return;
    }
    let m = &it.meta;
    let mut line = format!(
        "{} {:>3} {:>5} {:>5} {:>8} {} {}",
        fmt::mode_string(m),
        m.nlink,
        m.uid,
        m.gid,
        fmt::size(m.size, o.human),
        fmt::date(m.mtime.secs),
        name
    );
    if let Some(t) = target {
        line.push_str(" -> ");
        line.push_str(&escape(t.as_os_str().as_bytes()));
    }
    out.line(&line);
}

pub async fn stat(app: &App, paths: &[OsString]) -> Result<(), Failure> {
    let mut out = Out::new();
    for raw in paths {
        let Some((c, p, m)) = app.stat_arg("stat", raw).await? else {
            continue;
        };
        let target = if m.is_symlink() {
            c.read_link(&p).await.ok()
        } else {
            None
        };
        if app.g.json {
            out.json(&item_json(&p, &m, target.as_deref()));
            continue;
        }
        let shown = escape(p.as_os_str().as_bytes());
        match &target {
            Some(t) => out.line(&format!(
                "  File: {shown} -> {}",
                escape(t.as_os_str().as_bytes())
            )),
            None => out.line(&format!("  File: {shown}")),
        }
        out.line(&format!(
            "  Size: {:<12} Blocks: {:<8} IO Block: {:<6} {}",
            m.size,
            m.blocks,
            m.block_size,
            fmt::type_word(m.file_type)
        ));
        out.line(&format!("Inode: {:<12} Links: {}", m.ino, m.nlink));
        out.line(&format!(
            "Access: ({:04o}/{})  Uid: {}  Gid: {}",
            m.mode & 0o7777,
            fmt::mode_string(&m),
            m.uid,
            m.gid
        ));
        for (what, t) in [
            ("Access", m.atime),
            ("Modify", m.mtime),
            ("Change", m.ctime),
        ] {
            out.line(&format!(
                "{what}: {} UTC (+{}ns)",
                fmt::date(t.secs),
                t.nanos
            ));
        }
    }
    Ok(())
}

pub async fn tree(
    app: &App,
    raw: &OsString,
    all: bool,
    level: Option<usize>,
) -> Result<(), Failure> {
    let loc = app.loc(raw, false)?;
    let (c, root) = app.remote(&loc).await?;
    let meta = c.stat(&root).await?;
    let mut out = Out::new();
    let mut counts = (0u64, 0u64);
    if app.g.json {
        out.json(&item_json(&root, &meta, None));
    } else {
        out.line(&escape(root.as_os_str().as_bytes()));
    }
    if meta.is_dir() && level != Some(0) {
        let opts = WalkOptions::new()
            .sorted(true)
            .max_depth(level)
            .filter(move |e| all || !e.name_bytes.starts_with(b"."));
        let mut found = std::pin::pin!(walk(app, "tree", &c, &root, opts));
        // Per ancestor level: whether that ancestor was the last of its directory.
        let mut lasts: Vec<bool> = Vec::new();
        while let Some(f) = found.next().await {
            if f.item.meta.is_dir() {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
            lasts.truncate(f.depth - 1);
            if app.g.json {
                let mut v = item_json(&f.item.path, &f.item.meta, None);
                v["depth"] = json!(f.depth);
                out.json(&v);
            } else {
                let prefix: String = lasts
                    .iter()
                    .map(|&l| if l { "    " } else { "│   " })
                    .collect();
                let branch = if f.last { "└── " } else { "├── " };
                out.line(&format!("{prefix}{branch}{}", escape(f.item.name())));
            }
            lasts.push(f.last);
        }
    }
    if !app.g.json {
        out.line("");
        out.line(&format!("{} directories, {} files", counts.0, counts.1));
    }
    Ok(())
}

/// A node a walk found below the walked directory.
struct Found {
    item: Item,
    depth: usize,
    /// The last entry its directory yields.
    last: bool,
    /// A directory by its listing: the walk lists it too (unless a depth limit stops it).
    walked_into: bool,
}

/// Every node below `root` (not `root` itself), walked by the client's tree walker (the one
/// `remove_dir_all` uses): symlinks are not followed; metadata comes with the listing, or
/// from one `stat` per entry where the server's listing lacks it (32 at once, in order);
/// a directory or entry that fails is reported (exit code 1) and the walk goes on.
fn walk<'a>(
    app: &'a App,
    cmd: &'a str,
    c: &'a Arc<Client>,
    root: &Path,
    opts: WalkOptions,
) -> impl Stream<Item = Found> + 'a {
    let entries = match c.walk_with(root, opts.keep_going(true)) {
        Ok(w) => w.left_stream(),
        Err(e) => futures::stream::iter([Err(e)]).right_stream(),
    };
    entries
        .map(move |r| async move {
            let e = r?;
            let meta = match e.entry.metadata {
                Some(m) => m,
                None => c.stat(&e.path).await?,
            };
            let walked_into = e.entry.file_type == FileType::Dir;
            Ok::<_, ZeroFsError>(Found {
                item: Item { path: e.path, meta },
                depth: e.depth,
                last: e.last,
                walked_into,
            })
        })
        .buffered(32)
        .filter_map(move |r| async move {
            match r {
                Ok(f) => Some(f),
                Err(e) => {
                    app.fail(cmd, e.into());
                    None
                }
            }
        })
}

pub async fn du(
    app: &App,
    paths: &[OsString],
    summarize: bool,
    human: bool,
) -> Result<(), Failure> {
    let mut out = Out::new();
    for raw in paths {
        let Some((c, root, meta)) = app.stat_arg("du", raw).await? else {
            continue;
        };
        // Sizes per directory, summed up the tree at the end (children before parents).
        let mut dirs: Vec<(PathBuf, u64)> = vec![(root.clone(), 0)];
        let (mut files, mut total) = (0u64, 0u64);
        if meta.is_dir() {
            let opts = WalkOptions::new().sorted(true);
            let mut found = std::pin::pin!(walk(app, "du", &c, &root, opts));
            while let Some(Found { item: it, .. }) = found.next().await {
                if it.meta.is_dir() {
                    dirs.push((it.path, 0));
                } else {
                    files += 1;
                    total += it.meta.size;
                    if let Some(parent) = it.path.parent()
                        && let Some(d) = dirs.iter_mut().rev().find(|(p, _)| p == parent)
                    {
                        d.1 += it.meta.size;
                    }
                }
            }
        } else {
            files = 1;
            total = meta.size;
            dirs[0].1 = meta.size;
        }
        if !summarize {
            // Roll each directory's bytes into its ancestors, deepest first.
            dirs.sort_by_key(|d| std::cmp::Reverse(d.0.components().count()));
            for i in 0..dirs.len() {
                let (p, n) = dirs[i].clone();
                if p == root {
                    continue;
                }
                if let Some(parent) = p.parent()
                    && let Some(d) = dirs.iter_mut().find(|(q, _)| q == parent)
                {
                    d.1 += n;
                }
                print_du(&mut out, app, &p, n, None, human);
            }
        }
        print_du(&mut out, app, &root, total, Some(files), human);
    }
    Ok(())
}

fn print_du(out: &mut Out, app: &App, p: &Path, bytes: u64, files: Option<u64>, human: bool) {
    if app.g.json {
        let mut v = json!({"path": json_name(p.as_os_str().as_bytes()).0, "bytes": bytes});
        if let Some(f) = files {
            v["files"] = json!(f);
        }
        out.json(&v);
    } else {
        out.line(&format!(
            "{}\t{}",
            fmt::size(bytes, human),
            escape(p.as_os_str().as_bytes())
        ));
    }
}

pub async fn df(app: &App, human: bool) -> Result<(), Failure> {
    let c = app.client(None).await?;
    let s = c.statfs().await?;
    let bs = u64::from(s.block_size);
    let (total, free, avail) = (s.blocks * bs, s.blocks_free * bs, s.blocks_available * bs);
    let mut out = Out::new();
    if app.g.json {
        out.json(&json!({
            "block_size": s.block_size, "blocks": s.blocks, "bytes_total": total,
            "bytes_used": total.saturating_sub(free), "bytes_free": free, "bytes_available": avail,
            "files": s.files, "files_free": s.files_free, "name_max": s.max_name_len,
        }));
    } else {
        out.line(&format!(
            "{:>12} {:>12} {:>12} {:>5} {:>12} {:>12}",
            "Size", "Used", "Avail", "Use%", "Inodes", "IFree"
        ));
        let pct = ((total - free) * 100).checked_div(total).unwrap_or(0);
        out.line(&format!(
            "{:>12} {:>12} {:>12} {:>4}% {:>12} {:>12}",
            fmt::size(total, human),
            fmt::size(total.saturating_sub(free), human),
            fmt::size(avail, human),
            pct,
            s.files,
            s.files_free
        ));
    }
    Ok(())
}

pub struct FindOpts {
    pub name: Option<OsString>,
    pub kind: Option<FindType>,
    pub size: Option<String>,
    pub maxdepth: Option<usize>,
}

pub async fn find(app: &App, raw: &OsString, o: FindOpts) -> Result<(), Failure> {
    let loc = app.loc(raw, false)?;
    let (c, root) = app.remote(&loc).await?;
    let size = o.size.as_deref().map(fmt::size_filter).transpose()?;
    let name = o
        .name
        .map(|n| crate::names::arg(&n, app.g.escaped))
        .transpose()?;
    let matches = |it: &Item| {
        name.as_ref()
            .is_none_or(|g| fmt::glob(g.as_bytes(), it.name()))
            && o.kind.is_none_or(|k| {
                matches!(
                    (k, it.meta.file_type),
                    (FindType::F, FileType::File)
                        | (FindType::D, FileType::Dir)
                        | (FindType::L, FileType::Symlink)
                )
            })
            && size.as_ref().is_none_or(|f| f(it.meta.size))
    };
    let meta = c.stat(&root).await?;
    let mut out = Out::new();
    let mut emit = |it: &Item| {
        if !matches(it) {
            return;
        }
        if app.g.json {
            out.json(&item_json(&it.path, &it.meta, None));
        } else {
            out.line(&escape(it.path.as_os_str().as_bytes()));
        }
    };
    let top = Item {
        path: root.clone(),
        meta,
    };
    emit(&top);
    if meta.is_dir() && o.maxdepth != Some(0) {
        // Pre-order, as find(1): each directory followed by what it contains.
        let opts = WalkOptions::new().sorted(true).max_depth(o.maxdepth);
        let mut found = std::pin::pin!(walk(app, "find", &c, &root, opts));
        while let Some(f) = found.next().await {
            emit(&f.item);
        }
    }
    Ok(())
}
