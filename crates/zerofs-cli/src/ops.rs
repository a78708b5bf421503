//! Commands that change or read single paths: mkdir, rm, mv, ln, touch, chmod, cat.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use zerofs_client::{Client, FileType, OpenOptions, SetTime, WalkOptions, ZeroFsError};

use crate::app::{App, Out};
use crate::location::Location;
use crate::names::escape;
use crate::report::Failure;

fn shown(p: &Path) -> String {
    escape(p.as_os_str().as_bytes())
}

pub async fn mkdir(app: &App, paths: &[OsString], parents: bool, mode: u32) -> Result<(), Failure> {
    for raw in paths {
        let (c, p) = app.remote(&app.loc(raw, false)?).await?;
        let r = if parents {
            c.create_dir_all(&p, mode).await
        } else {
            c.create_dir(&p, mode).await.map(drop)
        };
        if let Err(e) = r {
            app.fail("mkdir", e.into());
        }
    }
    Ok(())
}

pub async fn rm(
    app: &App,
    paths: &[OsString],
    recursive: bool,
    force: bool,
) -> Result<(), Failure> {
    for raw in paths {
        let (c, p) = app.remote(&app.loc(raw, false)?).await?;
        let m = match c.stat(&p).await {
            Ok(m) => m,
            Err(ZeroFsError::NotFound { .. }) if force => continue,
            Err(e) => {
                app.fail("rm", e.into());
                continue;
            }
        };
        if m.is_dir() && !recursive {
            app.fail(
                "rm",
                Failure(format!("{}: is a directory (use -r) (EISDIR)", shown(&p))),
            );
            continue;
        }
        if app.g.dry_run {
            app.note(&format!(
                "would remove {}{}",
                shown(&p),
                if m.is_dir() { "/" } else { "" }
            ));
            continue;
        }
        let r = if m.is_dir() {
            c.remove_dir_all(&p).await
        } else {
            c.remove_file(&p).await
        };
        match r {
            Err(ZeroFsError::NotFound { .. }) if force => {}
            Err(e) => app.fail("rm", e.into()),
            Ok(()) => {}
        }
    }
    Ok(())
}

pub async fn mv(app: &App, args: &[OsString]) -> Result<(), Failure> {
    let (srcs, dst) = args.split_at(args.len() - 1);
    let dloc = app.loc(&dst[0], false)?;
    let (dc, dpath) = app.remote(&dloc).await?;
    let into = srcs.len() > 1
        || Location::names_dir(&dst[0])
        || dc.metadata(&dpath).await.is_ok_and(|m| m.is_dir());
    for raw in srcs {
        let (c, p) = app.remote(&app.loc(raw, false)?).await?;
        if !std::sync::Arc::ptr_eq(&c, &dc) {
            app.fail(
                "mv",
                Failure("mv works within one server; use cp and rm across servers".into()),
            );
            continue;
        }
        let to = match (into, p.file_name()) {
            (true, Some(n)) => dpath.join(n),
            (true, None) => {
                app.fail("mv", Failure("cannot move the root".into()));
                continue;
            }
            (false, _) => dpath.clone(),
        };
        if app.g.dry_run {
            app.note(&format!("would move {} -> {}", shown(&p), shown(&to)));
            continue;
        }
        if let Err(e) = c.rename(&p, &to).await {
            app.fail("mv", e.into());
        }
    }
    Ok(())
}

pub async fn ln(
    app: &App,
    symbolic: bool,
    target: &OsString,
    link: &OsString,
) -> Result<(), Failure> {
    let (c, lp) = app.remote(&app.loc(link, false)?).await?;
    let target = crate::names::arg(target, app.g.escaped)?;
    let r = if symbolic {
        c.symlink(PathBuf::from(target), &lp).await.map(drop)
    } else {
        let (c2, tp) = app.remote(&Location::parse(&target, false)?).await?;
        if !std::sync::Arc::ptr_eq(&c, &c2) {
            return Err(Failure("a hard link must stay on one server".into()));
        }
        c.hard_link(&tp, &lp).await.map(drop)
    };
    if let Err(e) = r {
        app.fail("ln", e.into());
    }
    Ok(())
}

pub async fn touch(app: &App, paths: &[OsString], no_create: bool) -> Result<(), Failure> {
    for raw in paths {
        let (c, p) = app.remote(&app.loc(raw, false)?).await?;
        let r = match c.stat(&p).await {
            Ok(_) => c
                .set_times(&p, Some(SetTime::Now), Some(SetTime::Now))
                .await
                .map(drop),
            Err(ZeroFsError::NotFound { .. }) if no_create => Ok(()),
            Err(ZeroFsError::NotFound { .. }) => c
                .open(&p, OpenOptions::write_only().create(true))
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            app.fail("touch", e.into());
        }
    }
    Ok(())
}

pub async fn chmod(
    app: &App,
    mode: u32,
    paths: &[OsString],
    recursive: bool,
) -> Result<(), Failure> {
    for raw in paths {
        let (c, p) = app.remote(&app.loc(raw, false)?).await?;
        chmod_one(app, &c, mode, &p).await;
        if !recursive || !c.stat(&p).await.is_ok_and(|m| m.is_dir()) {
            continue;
        }
        // The client's tree walker, each directory's entries first: a directory is changed
        // before it is listed. Symlinks are neither changed nor followed.
        let opts = WalkOptions::new().contents_first(true).keep_going(true);
        let mut found = match c.walk_with(&p, opts) {
            Ok(w) => w,
            Err(e) => {
                app.fail("chmod", e.into());
                continue;
            }
        };
        while let Some(r) = found.next().await {
            match r {
                Ok(e) if e.entry.file_type == FileType::Symlink => {}
                Ok(e) => chmod_one(app, &c, mode, &e.path).await,
                Err(e) => app.fail("chmod", e.into()),
            }
        }
    }
    Ok(())
}

async fn chmod_one(app: &App, c: &Client, mode: u32, p: &Path) {
    if app.g.dry_run {
        app.note(&format!("would chmod {mode:04o} {}", shown(p)));
    } else if let Err(e) = c.chmod(p, mode).await {
        app.fail("chmod", e.into());
    }
}

/// Bytes per read while streaming a file to stdout (pipelined by the session).
const CAT_BLOCK: u32 = 4 << 20;

pub async fn cat(app: &App, paths: &[OsString]) -> Result<(), Failure> {
    let mut out = Out::new();
    for raw in paths {
        let (c, p) = app.remote(&app.loc(raw, false)?).await?;
        let f = match c.open(&p, OpenOptions::read_only()).await {
            Ok(f) => f,
            Err(e) => {
                app.fail("cat", e.into());
                continue;
            }
        };
        // Each block is one pipelined read of several chunks.
        let mut off = 0u64;
        let mut next = Some(Box::pin(f.read_at(0, CAT_BLOCK)));
        while let Some(fut) = next.take() {
            match fut.await {
                Ok(b) if b.is_empty() => break,
                Ok(b) => {
                    off += b.len() as u64;
                    if b.len() == CAT_BLOCK as usize {
                        next = Some(Box::pin(f.read_at(off, CAT_BLOCK)));
                    }
                    out.bytes(&b);
                }
                Err(e) => {
                    app.fail("cat", e.into());
                    break;
                }
            }
        }
        out.flush();
    }
    Ok(())
}
