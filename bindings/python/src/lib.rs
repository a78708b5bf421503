//! `zerofs9p._native`: the PyO3 half of the `zerofs9p` Python package.
//!
//! Every operation is written once (in [`client`] and [`file`]) and exposed twice by a
//! macro: on `AsyncClient`/`AsyncFile`, where it returns an asyncio awaitable running on the
//! shared tokio runtime, and on `Client`/`File`, where it blocks on that same runtime with the
//! GIL released. The Python package (python/zerofs9p) adds the fsspec filesystem, the
//! `testing` module and the type stubs.

mod client;
mod convert;
mod errors;
mod file;
mod large;
mod listing;
mod memserver;
mod progress;
mod run;
mod transfer;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    run::init_runtime();
    m.add_class::<client::AsyncClient>()?;
    m.add_class::<client::Client>()?;
    m.add_class::<file::AsyncFile>()?;
    m.add_class::<file::File>()?;
    m.add_class::<listing::AsyncScandir>()?;
    m.add_class::<listing::Scandir>()?;
    m.add_class::<convert::Stat>()?;
    m.add_class::<convert::DirEntry>()?;
    m.add_class::<convert::StatFs>()?;
    m.add_class::<memserver::MemServer>()?;
    m.add_class::<progress::PyProgress>()?;
    errors::register(m)?;
    Ok(())
}
