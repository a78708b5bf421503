//! The zerofs-client conformance suite: scenarios written against a [`Fixture`], run against
//! the in-memory server at every generation, and against an external server (diod, ZeroFS
//! 0.19.1) named by `ZEROFS_TARGET`.
//!
//! Each scenario is an `async fn(Fixture)`; [`conformance_tests!`] turns a list of them into
//! one test per (scenario, generation) plus an `external` test per scenario, ignored unless
//! run with `--run-ignored` and `ZEROFS_TARGET` set. A scenario that needs something only
//! some servers have checks [`Fixture::caps`] explicitly and records what it skipped with
//! [`Fixture::skip`] / [`Fixture::skip_part`] (to stderr and to `$ZEROFS_SKIP_LOG`, which
//! `cargo xtask interop --report` turns into `docs/INTEROP.md`).
//!
//! [`realserver`] starts private diod / ZeroFS processes for the restart test, [`proxy`] is
//! the connection-cutting TCP proxy of the connection-loss test.
#![allow(clippy::print_stderr)]

pub mod fixture;
pub mod proxy;
pub mod realserver;
pub mod scenarios;

pub use fixture::{Caps, Fixture};

/// Generates one test per scenario and generation, and the external-server hook.
#[macro_export]
macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $crate::conformance_tests!(@gen plain, Plain; $($name),*);
        $crate::conformance_tests!(@gen gen1, Gen1; $($name),*);
        $crate::conformance_tests!(@gen gen2, Gen2; $($name),*);
        $crate::conformance_tests!(@gen z, Z; $($name),*);
        mod external {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs ZEROFS_TARGET (and ZEROFS_SERVER=diod|zerofs-0.19.1|memserver)"]
                async fn $name() {
                    let fx = $crate::Fixture::external()
                        .expect("ZEROFS_TARGET must be set for external tests")
                        .named(stringify!($name));
                    $crate::scenarios::$name(fx).await;
                }
            )*
        }
    };
    (@gen $module:ident, $generation:ident; $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fx = $crate::Fixture::memserver(zerofs_memserver::Generation::$generation)
                        .await
                        .named(stringify!($name));
                    $crate::scenarios::$name(fx).await;
                }
            )*
        }
    };
}
