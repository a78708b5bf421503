//! One tokio runtime for the whole process, and the two ways an operation runs on it:
//! as an asyncio awaitable (`AsyncClient`) or blocking with the GIL released (`Client`).

use std::future::Future;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
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
        let value = py.detach(|| runtime().block_on(fut))?;
        value.into_py_any(py)
    } else {
        Ok(pyo3_async_runtimes::tokio::future_into_py(py, fut)?.unbind())
    }
}
