//! Live progress of `upload`/`download`: the engine's progress watch, read while the copy
//! runs and handed to a Python callable at most once per interval (and once at the end).
//!
//! Where the callable runs: for the blocking `Client`, in the calling thread (the copy runs
//! there, under `block_on`); for `AsyncClient`, on the event loop's thread through
//! `call_soon_threadsafe` (like any asyncio callback). Either way the copy waits while a
//! call runs, and the GIL is taken only for the call. A callable that raises stops the
//! copy: its future is dropped (which cancels it), its temporary files are removed, and the
//! exception is what `upload`/`download` raise.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_async_runtimes::TaskLocals;
use tokio::sync::{oneshot, watch};
use zerofs_client::transfer::Progress;

/// Counts of a running `upload`/`download`, as the `progress` callable receives them.
///
/// `files_total` and `bytes_total` grow while the walk discovers the tree (`scan_done`
/// says when they are final); `bytes_done` counts bytes copied (and holes skipped).
#[pyclass(module = "zerofs9p", name = "TransferProgress", frozen, eq)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PyProgress {
    /// Files (and symlinks) copied so far.
    #[pyo3(get)]
    files_done: u64,
    /// Files (and symlinks) found so far.
    #[pyo3(get)]
    files_total: u64,
    /// Bytes copied so far.
    #[pyo3(get)]
    bytes_done: u64,
    /// Bytes of the files found so far.
    #[pyo3(get)]
    bytes_total: u64,
    /// Whether the walk has finished (the totals are final).
    #[pyo3(get)]
    scan_done: bool,
}

impl From<Progress> for PyProgress {
    fn from(p: Progress) -> PyProgress {
        PyProgress {
            files_done: p.files_done,
            files_total: p.files_total,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            scan_done: p.scan_done,
        }
    }
}

#[pymethods]
impl PyProgress {
    /// The counts as a dict (`files_done`, `files_total`, `bytes_done`, `bytes_total`,
    /// `scan_done`).
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("files_done", self.files_done)?;
        d.set_item("files_total", self.files_total)?;
        d.set_item("bytes_done", self.bytes_done)?;
        d.set_item("bytes_total", self.bytes_total)?;
        d.set_item("scan_done", self.scan_done)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "TransferProgress(files_done={}, files_total={}, bytes_done={}, bytes_total={}, scan_done={})",
            self.files_done,
            self.files_total,
            self.bytes_done,
            self.bytes_total,
            if self.scan_done { "True" } else { "False" }
        )
    }
}

/// The default of `progress_interval`, in seconds.
pub(crate) const DEFAULT_INTERVAL: f64 = 0.1;

/// A progress callable, how often to call it, and where.
#[derive(Debug)]
pub(crate) struct Reporter {
    f: Py<PyAny>,
    every: Duration,
    /// The event loop to call on (`AsyncClient`); `None`: call in the running thread.
    on_loop: Option<TaskLocals>,
    /// What the callable was last called with (no call repeats it).
    last: Arc<Mutex<Option<Progress>>>,
}

impl Reporter {
    /// A reporter for the `progress`/`progress_interval` arguments (`None` without a
    /// callable). For an `AsyncClient` (`!blocking`) it remembers the running event loop.
    pub(crate) fn new(
        py: Python<'_>,
        f: Option<Py<PyAny>>,
        interval: f64,
        blocking: bool,
    ) -> PyResult<Option<Reporter>> {
        if !(interval.is_finite() && interval >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "progress_interval must be a number of seconds >= 0, not {interval}"
            )));
        }
        let Some(f) = f else { return Ok(None) };
        if !f.bind(py).is_callable() {
            return Err(PyTypeError::new_err("progress must be callable"));
        }
        let on_loop = if blocking {
            None
        } else {
            Some(pyo3_async_runtimes::tokio::get_current_locals(py)?)
        };
        Ok(Some(Reporter {
            f,
            every: Duration::from_secs_f64(interval),
            on_loop,
            last: Arc::default(),
        }))
    }

    /// Runs `copy` to its end, reporting the changes of `rx` meanwhile: the first one at
    /// once, then at most one per interval. `copy` is not polled while a report runs (the
    /// callable may take its time; the copy waits, as it does for the blocking client's
    /// inline call), so with a zero interval every pause of the copy that changed the
    /// counts is reported. `Err`: the callable raised, and `copy` was dropped (cancelled).
    pub(crate) async fn drive<T>(
        &mut self,
        copy: impl Future<Output = T>,
        mut rx: watch::Receiver<Progress>,
    ) -> PyResult<T> {
        let mut copy = std::pin::pin!(copy);
        let mut next = Instant::now();
        loop {
            // Unconstrained: `changed()` counts against tokio's cooperative budget, which a
            // busy copy (many replies ready at once) can use up at every poll, so that a
            // budgeted watch would see no change until the copy is over.
            let changed = tokio::task::unconstrained(async {
                // (The timer's resolution is a millisecond: no timer when the time is up.)
                if next > Instant::now() {
                    tokio::time::sleep_until(next).await;
                }
                if rx.changed().await.is_err() {
                    // The engine is gone: nothing more will change.
                    std::future::pending::<()>().await;
                }
            });
            tokio::select! {
                biased;
                out = &mut copy => return Ok(out),
                () = changed => {}
            }
            let p = *rx.borrow_and_update();
            self.report(p).await?;
            next = Instant::now() + self.every;
        }
    }

    /// Calls the callable with `p`, unless it saw `p` last.
    ///
    /// On the event loop, a call still queued when its report is dropped (the copy ended or
    /// was cancelled meanwhile) does not run: `Deliver` checks, under the `last` lock, that
    /// its report still waits before it records `p` and calls. So the final report, which
    /// comes after the dropped one, neither misses the final counts nor repeats them.
    pub(crate) async fn report(&mut self, p: Progress) -> PyResult<()> {
        if *lock(&self.last) == Some(p) {
            return Ok(());
        }
        let arg = PyProgress::from(p);
        let Some(locals) = &self.on_loop else {
            *lock(&self.last) = Some(p);
            return Python::attach(|py| self.f.call1(py, (arg,)).map(drop));
        };
        let (tx, rx) = oneshot::channel();
        Python::attach(|py| {
            let call = Deliver {
                f: self.f.clone_ref(py),
                p,
                last: self.last.clone(),
                ack: Mutex::new(Some(tx)),
            };
            let kwargs = PyDict::new(py);
            kwargs.set_item("context", locals.context(py))?;
            locals
                .event_loop(py)
                .call_method("call_soon_threadsafe", (call,), Some(&kwargs))
                .map(drop)
        })?;
        // The loop drops a call it will never run only when it is closed, and then nobody
        // awaits this copy's result: go on without a report.
        rx.await.unwrap_or(Ok(()))
    }
}

/// The lock, even if a panic poisoned it (it guards a plain value).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One call of the progress callable on the event loop, and the channel that hands its
/// outcome back to the copy.
#[pyclass(frozen)]
struct Deliver {
    f: Py<PyAny>,
    p: Progress,
    last: Arc<Mutex<Option<Progress>>>,
    ack: Mutex<Option<oneshot::Sender<PyResult<()>>>>,
}

#[pymethods]
impl Deliver {
    fn __call__(&self, py: Python<'_>) {
        let Some(tx) = lock(&self.ack).take() else {
            return;
        };
        {
            let mut last = lock(&self.last);
            // The report was dropped while this call waited in the loop's queue (the copy
            // ended or was cancelled): report nothing.
            if tx.is_closed() {
                return;
            }
            *last = Some(self.p);
        }
        let _ = tx.send(self.f.call1(py, (PyProgress::from(self.p),)).map(drop));
    }
}
