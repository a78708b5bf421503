//! The compatibility program runs, not only builds: against the in-memory server at every
//! generation (the reference client 0.1 speaks no `9P2000.L.Z`, so with the `reference`
//! feature that generation is skipped).

use zerofs_memserver::{Config, Generation, MemServer};

async fn run_on(generation: Generation) {
    let server = MemServer::start(Config::new(generation)).await.unwrap();
    if let Err(e) = zerofs_compat_check::run(&server.target()).await {
        panic!("{generation:?}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain() {
    run_on(Generation::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen1() {
    run_on(Generation::Gen1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen2() {
    run_on(Generation::Gen2).await;
}

#[cfg(not(feature = "reference"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn z() {
    run_on(Generation::Z).await;
}
