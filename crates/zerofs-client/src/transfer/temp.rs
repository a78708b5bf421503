//! Temporary destination names, removed unless the copy completes.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::task::JoinHandle;

use crate::client::Client;

/// Removals of server-side temporaries started by dropped guards.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Pending {
    fn push(&self, task: JoinHandle<()>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Waits for every removal started so far (and any started meanwhile).
    pub(crate) async fn settle(&self) {
        loop {
            let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
            if tasks.is_empty() {
                return;
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }
}

/// A temporary name beside `dest`: `.NAME.zfpart-PID-N` (the name cut to keep it short).
pub(crate) fn temp_name(dest: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = super::side::name_bytes(dest);
    let mut t = b".".to_vec();
    t.extend_from_slice(&name[..name.len().min(200)]);
    t.extend_from_slice(
        format!(
            ".zfpart-{:x}-{:x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
        .as_bytes(),
    );
    dest.with_file_name(OsString::from_vec(t))
}

/// Removes a temporary file when dropped, unless [`keep`](Self::keep) was called.
pub(crate) struct TempGuard<'a> {
    path: Option<PathBuf>,
    remote: Option<Arc<Client>>,
    pending: &'a Pending,
}

impl<'a> TempGuard<'a> {
    pub(crate) fn new(path: PathBuf, remote: Option<Arc<Client>>, pending: &'a Pending) -> Self {
        TempGuard {
            path: Some(path),
            remote,
            pending,
        }
    }

    /// The file is complete (renamed): nothing to remove.
    pub(crate) fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for TempGuard<'_> {
    fn drop(&mut self) {
        let Some(path) = self.path.take() else {
            return;
        };
        match &self.remote {
            None => {
                let _ = std::fs::remove_file(&path);
            }
            Some(client) => {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let client = client.clone();
                    self.pending.push(rt.spawn(async move {
                        if let Err(e) = client.remove_file(&path).await {
                            tracing::debug!(path = %path.display(), error = %e, "temporary file not removed");
                        }
                    }));
                }
            }
        }
    }
}
