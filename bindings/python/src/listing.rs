//! `scandir` iterators: the directory is opened on the first step and read one server batch
//! at a time, so a huge directory never sits in memory whole.

use std::collections::VecDeque;
use std::sync::Arc;

use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use tokio::sync::Mutex;
use zerofs_client::{Client as RClient, Dir, DirEntry as REntry, ZeroFsError as RError};

use crate::convert::{DirEntry, PathArg};
use crate::errors::to_py;
use crate::run::run;

/// The cursor both iterators share.
#[derive(Debug)]
struct Cursor {
    client: Arc<RClient>,
    path: PathArg,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    dir: Option<Arc<Dir>>,
    queue: VecDeque<REntry>,
    done: bool,
}

/// An entry on its way to Python (converted once the GIL is held).
#[derive(Debug)]
struct Out {
    entry: REntry,
    dir: Arc<Cursor>,
}

impl<'py> IntoPyObject<'py> for Out {
    type Target = DirEntry;
    type Output = Bound<'py, DirEntry>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let p = &self.dir.path;
        Bound::new(py, DirEntry::new(py, &p.raw, p.bytes, self.entry)?)
    }
}

impl Cursor {
    /// The next entry, or `None` at the end.
    async fn next(self: Arc<Cursor>) -> Result<Option<Out>, RError> {
        let mut st = self.state.lock().await;
        loop {
            if let Some(entry) = st.queue.pop_front() {
                drop(st);
                return Ok(Some(Out { entry, dir: self }));
            }
            if st.done {
                // Release the directory fid as soon as the listing ends.
                st.dir = None;
                return Ok(None);
            }
            let dir = match &st.dir {
                Some(d) => d.clone(),
                None => {
                    let d = self.client.open_dir(self.path.path()).await?;
                    st.dir = Some(d.clone());
                    d
                }
            };
            let batch = dir.next_batch(None).await?;
            st.done = batch.is_empty();
            st.queue.extend(batch);
        }
    }
}

fn cursor(client: Arc<RClient>, path: PathArg) -> Arc<Cursor> {
    Arc::new(Cursor {
        client,
        path,
        state: Mutex::new(State::default()),
    })
}

/// `async for entry in client.scandir(path)`.
#[pyclass(module = "zerofs9p", frozen)]
#[derive(Debug)]
pub(crate) struct AsyncScandir(Arc<Cursor>);

impl AsyncScandir {
    pub fn new(client: Arc<RClient>, path: PathArg) -> AsyncScandir {
        AsyncScandir(cursor(client, path))
    }
}

#[pymethods]
impl AsyncScandir {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.0.clone();
        let f = c.path.filename(py);
        run(py, false, async move {
            match c.next().await {
                Ok(Some(out)) => Ok(out),
                Ok(None) => Err(PyStopAsyncIteration::new_err(())),
                Err(e) => Err(to_py(e, f)),
            }
        })
    }
}

/// `for entry in client.scandir(path)`.
#[pyclass(module = "zerofs9p", frozen)]
#[derive(Debug)]
pub(crate) struct Scandir(Arc<Cursor>);

impl Scandir {
    pub fn new(client: Arc<RClient>, path: PathArg) -> Scandir {
        Scandir(cursor(client, path))
    }
}

#[pymethods]
impl Scandir {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.0.clone();
        let f = c.path.filename(py);
        run(py, true, async move {
            match c.next().await {
                Ok(Some(out)) => Ok(out),
                Ok(None) => Err(PyStopIteration::new_err(())),
                Err(e) => Err(to_py(e, f)),
            }
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, _t: Option<Py<PyAny>>, _v: Option<Py<PyAny>>, _tb: Option<Py<PyAny>>) {}
}
