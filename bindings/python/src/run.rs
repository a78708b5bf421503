//! One tokio runtime for the whole process, and the two ways an operation runs on it:
//! as an asyncio awaitable (`AsyncClient`) or blocking with the GIL released (`Client`).

use std::future::Future;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use tokio::runtime::Runtime;

/// Sets up the shared runtime: two worker threads (the client's work is I/O-bound; the
/// session pipelines requests, it does not need a thread per call).
pub(crate) fn init_runtime() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(2)
        .thread_name("zerofs9p-rt")
        .enable_all();
    pyo3_async_runtimes::tokio::init(builder);
}

/// The shared runtime.
pub(crate) fn runtime() -> &'static Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `fut` on the shared runtime: if `blocking`, waits for it with the GIL released and
/// returns its value; otherwise returns an asyncio awaitable for it (cancelling the awaitable
/// drops `fut`).
pub(crate) fn run<F, T>(py: Python<'_>, blocking: bool, fut: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    if blocking {
        let value = py.detach(|| runtime().block_on(interruptible(fut)))?;
        value.into_py_any(py)
    } else {
        let fut = pyo3_async_runtimes::tokio::future_into_py(py, fut)?;
        Ok(coroutine(py)?.call1((fut,))?.unbind())
    }
}

/// How often a blocking call looks for a pending signal (Ctrl-C).
const SIGNAL_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// `fut`, abandoned (dropped, like a cancelled asyncio task) when a Python signal handler
/// raises, so Ctrl-C interrupts a blocking call that waits on a slow or silent server.
async fn interruptible<T>(fut: impl Future<Output = PyResult<T>>) -> PyResult<T> {
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            () = tokio::time::sleep(SIGNAL_POLL) => Python::attach(|py| py.check_signals())?,
        }
    }
}

/// `async def wrap(f): return await f`: turns the asyncio future into a coroutine, so the
/// operations work with `asyncio.create_task`, `asyncio.run` and `inspect.iscoroutine`
/// like any `async def` method. Cancelling the task cancels the future, which drops the
/// Rust future.
fn coroutine(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static WRAP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    WRAP.get_or_try_init(py, || {
        let m = PyModule::from_code(
            py,
            c"async def wrap(f):\n    return await f\n",
            c"<zerofs9p>",
            c"zerofs9p._aio",
        )?;
        Ok::<_, PyErr>(m.getattr("wrap")?.unbind())
    })
    .map(|w| w.bind(py))
}

/// `None` in Python (`()` would become an empty tuple).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit;

impl From<()> for Unit {
    fn from((): ()) -> Unit {
        Unit
    }
}

impl<'py> IntoPyObject<'py> for Unit {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = std::convert::Infallible;
    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(py.None().into_bound(py))
    }
}
