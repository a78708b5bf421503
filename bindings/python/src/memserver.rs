//! `zerofs9p.testing.MemServer`: the in-memory 9P server (every ZeroFS generation) running
//! on the shared runtime, so Python code can be tested with no server installed.

use std::sync::Mutex;

use pyo3::prelude::*;
use zerofs_memserver::{Config, Generation, ServerHandle};

use crate::errors::value_error;
use crate::run::runtime;

/// An in-memory server. `generation`: "plain" (9P2000.L, like ZeroFS 0.19), "gen1"
/// (`.zerofs`), "gen2" (`.zerofs2`) or "z" (`9P2000.L.Z`). Listens on 127.0.0.1 (a random
/// port) or, with `unix=True`, on a fresh unix socket. Stops on `stop()`, on leaving a `with`
/// block, or when garbage-collected.
#[pyclass(module = "zerofs9p.testing", frozen)]
#[derive(Debug)]
pub(crate) struct MemServer {
    handle: Mutex<Option<ServerHandle>>,
    target: String,
    generation: &'static str,
}

#[pymethods]
impl MemServer {
    #[new]
    #[pyo3(signature = (generation="z", *, unix=false))]
    fn new(py: Python<'_>, generation: &str, unix: bool) -> PyResult<MemServer> {
        let g: Generation = generation
            .parse()
            .map_err(|e| value_error(format!("{e}")))?;
        let mut config = Config::new(g);
        if unix {
            config = config.tcp(None).ephemeral_unix();
        }
        let handle = py
            .detach(|| runtime().block_on(zerofs_memserver::MemServer::start(config)))
            .map_err(pyo3::exceptions::PyOSError::new_err)?;
        let target = if unix {
            handle.unix_target().unwrap_or_else(|| handle.target())
        } else {
            handle.target()
        };
        Ok(MemServer {
            handle: Mutex::new(Some(handle)),
            target,
            generation: g.name(),
        })
    }

    /// The generations a MemServer can speak.
    #[classattr]
    const GENERATIONS: (&'static str, &'static str, &'static str, &'static str) =
        ("plain", "gen1", "gen2", "z");

    /// What to pass to `connect` ("tcp://127.0.0.1:PORT" or "unix:/path").
    #[getter]
    fn target(&self) -> &str {
        &self.target
    }

    /// The generation's name.
    #[getter]
    fn generation(&self) -> &str {
        self.generation
    }

    /// The fsspec URL prefix for this server ("zerofs://127.0.0.1:PORT"); TCP servers only.
    #[getter]
    fn url(&self) -> Option<String> {
        self.target
            .strip_prefix("tcp://")
            .map(|hp| format!("zerofs://{hp}"))
    }

    /// Closes every live connection (clients reconnect and replay their state).
    fn drop_connections(&self) {
        if let Some(h) = self.handle.lock().expect("server lock").as_ref() {
            h.drop_connections();
        }
    }

    /// Delays every reply by `seconds` (`None`: no delay), to test timeouts and cancellation.
    #[pyo3(signature = (seconds=None))]
    fn set_reply_delay(&self, seconds: Option<f64>) {
        if let Some(h) = self.handle.lock().expect("server lock").as_ref() {
            h.set_reply_delay(seconds.map(std::time::Duration::from_secs_f64));
        }
    }

    /// Stops the server (idempotent).
    fn stop(&self, py: Python<'_>) {
        let handle = self.handle.lock().expect("server lock").take();
        if let Some(h) = handle {
            py.detach(|| runtime().block_on(h.shutdown()));
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<Py<PyAny>>,
        _v: Option<Py<PyAny>>,
        _tb: Option<Py<PyAny>>,
    ) {
        self.stop(py);
    }

    fn __repr__(&self) -> String {
        format!("<MemServer {} {}>", self.generation, self.target)
    }
}
