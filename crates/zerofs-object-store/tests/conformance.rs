//! `object_store`'s own conformance suite (`object_store::integration`) against `ZeroFsStore`:
//! every function `LocalFileSystem` runs in its own tests (`put_opts` without update
//! support, as there), plus the multipart functions that need no `MultipartStore`.
//!
//! The memserver modules run at every generation; `external::*` runs the same cases against
//! a real server named by `ZEROFS_TARGET` (and `ZEROFS_ANAME`), which
//! `cargo xtask ci object-store-interop` sets for diod and ZeroFS 0.19.1 (ignored otherwise).

use object_store::integration;
use zerofs_client::{Client, ConnectOptions};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};
use zerofs_object_store::ZeroFsStore;

/// A memserver of `generation` and a store on it rooted at `/cases/<name>`.
async fn memserver(generation: Generation, name: &str) -> (Option<ServerHandle>, ZeroFsStore) {
    let server = MemServer::start(Config::new(generation))
        .await
        .expect("memserver starts");
    let client = Client::connect(&server.target())
        .await
        .expect("client connects");
    let store = ZeroFsStore::new(client)
        .with_prefix(&format!("/cases/{name}"))
        .expect("valid prefix");
    (Some(server), store)
}

/// A store on the real server `ZEROFS_TARGET`, rooted at a directory of its own (the
/// suite empties the whole store it is given).
// Options are set field by field: the only construction that survives ConnectOptions
// gaining or losing fields.
#[allow(clippy::field_reassign_with_default)]
async fn external(name: &str) -> (Option<ServerHandle>, ZeroFsStore) {
    let target = std::env::var("ZEROFS_TARGET").expect("ZEROFS_TARGET names the server");
    let mut options = ConnectOptions::default();
    options.aname = std::env::var("ZEROFS_ANAME").unwrap_or_default();
    let client = Client::connect_with(&target, options)
        .await
        .expect("client connects");
    let prefix = format!("/objstore-{}-{name}", std::process::id());
    (
        None,
        ZeroFsStore::new(client)
            .with_prefix(&prefix)
            .expect("valid prefix"),
    )
}

/// One test per conformance function; `$fresh(name)` gives a guard and an empty store.
macro_rules! cases {
    ($fresh:expr $(, #[$attr:meta])*) => {
        cases!(@one $fresh, put_get_delete_list, |s| integration::put_get_delete_list(s) $(, #[$attr])*);
        cases!(@one $fresh, list_with_offset_exclusivity, |s| integration::list_with_offset_exclusivity(s) $(, #[$attr])*);
        cases!(@one $fresh, get_opts, |s| integration::get_opts(s) $(, #[$attr])*);
        cases!(@one $fresh, list_uses_directories_correctly, |s| integration::list_uses_directories_correctly(s) $(, #[$attr])*);
        cases!(@one $fresh, list_with_delimiter, |s| integration::list_with_delimiter(s) $(, #[$attr])*);
        cases!(@one $fresh, rename_and_copy, |s| integration::rename_and_copy(s) $(, #[$attr])*);
        cases!(@one $fresh, copy_if_not_exists, |s| integration::copy_if_not_exists(s) $(, #[$attr])*);
        cases!(@one $fresh, copy_rename_nonexistent_object, |s| integration::copy_rename_nonexistent_object(s) $(, #[$attr])*);
        cases!(@one $fresh, stream_get, |s| integration::stream_get(s) $(, #[$attr])*);
        cases!(@one $fresh, put_opts_without_update, |s| integration::put_opts(s, false) $(, #[$attr])*);
        cases!(@one $fresh, get_nonexistent_object, |s| async move {
            let err = integration::get_nonexistent_object(s, None).await.unwrap_err();
            assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
        } $(, #[$attr])*);
        cases!(@one $fresh, multipart_race_condition_last_writer_wins, |s| integration::multipart_race_condition(s, true) $(, #[$attr])*);
        cases!(@one $fresh, multipart_out_of_order, |s| integration::multipart_out_of_order(s) $(, #[$attr])*);
        // The whole sequence `LocalFileSystem`'s `file_test` runs, on one store, with fsync
        // and automatic cleanup on.
        cases!(@one $fresh, file_test_sequence_with_fsync_and_cleanup, |s| async move {
            let s = &s.clone().with_fsync(true).with_automatic_cleanup(true);
            integration::put_get_delete_list(s).await;
            integration::list_with_offset_exclusivity(s).await;
            integration::get_opts(s).await;
            integration::list_uses_directories_correctly(s).await;
            integration::list_with_delimiter(s).await;
            integration::rename_and_copy(s).await;
            integration::copy_if_not_exists(s).await;
            integration::copy_rename_nonexistent_object(s).await;
            integration::stream_get(s).await;
            integration::put_opts(s, false).await;
        } $(, #[$attr])*);
    };
    (@one $fresh:expr, $name:ident, |$s:ident| $body:expr $(, #[$attr:meta])*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            let (_guard, store) = $fresh(stringify!($name)).await;
            let $s: &ZeroFsStore = &store;
            $body.await;
        }
    };
}

macro_rules! suite {
    ($($module:ident => $generation:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            async fn fresh(name: &str) -> (Option<ServerHandle>, ZeroFsStore) {
                memserver($generation, name).await
            }

            cases!(fresh);
        }
    )*};
}

suite! {
    plain => Generation::Plain,
    gen1 => Generation::Gen1,
    gen2 => Generation::Gen2,
    z => Generation::Z,
}

mod external {
    use super::*;
    cases!(external, #[ignore = "needs a real server: cargo xtask ci object-store-interop"]);
}
