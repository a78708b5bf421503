//! `object_store`'s own conformance suite (`object_store::integration`) against `ZeroFsStore`
//! on the memserver, at every generation: every function `LocalFileSystem` runs in its own
//! tests (`put_opts` without update support, as there), plus the multipart functions that
//! need no `MultipartStore`.

use object_store::integration;
use zerofs_client::Client;
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};
use zerofs_object_store::ZeroFsStore;

/// A memserver of `generation` and a store on it rooted at `prefix`.
async fn store(generation: Generation, prefix: &str) -> (ServerHandle, ZeroFsStore) {
    let server = MemServer::start(Config::new(generation))
        .await
        .expect("memserver starts");
    let client = Client::connect(&server.target())
        .await
        .expect("client connects");
    let store = ZeroFsStore::new(client)
        .with_prefix(prefix)
        .expect("valid prefix");
    (server, store)
}

macro_rules! suite {
    ($($module:ident => $generation:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            async fn fresh() -> (ServerHandle, ZeroFsStore) {
                store($generation, "").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn put_get_delete_list() {
                let (_server, s) = fresh().await;
                integration::put_get_delete_list(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn list_with_offset_exclusivity() {
                let (_server, s) = fresh().await;
                integration::list_with_offset_exclusivity(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn get_opts() {
                let (_server, s) = fresh().await;
                integration::get_opts(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn list_uses_directories_correctly() {
                let (_server, s) = fresh().await;
                integration::list_uses_directories_correctly(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn list_with_delimiter() {
                let (_server, s) = fresh().await;
                integration::list_with_delimiter(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rename_and_copy() {
                let (_server, s) = fresh().await;
                integration::rename_and_copy(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn copy_if_not_exists() {
                let (_server, s) = fresh().await;
                integration::copy_if_not_exists(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn copy_rename_nonexistent_object() {
                let (_server, s) = fresh().await;
                integration::copy_rename_nonexistent_object(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stream_get() {
                let (_server, s) = fresh().await;
                integration::stream_get(&s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn put_opts_without_update() {
                let (_server, s) = fresh().await;
                integration::put_opts(&s, false).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn get_nonexistent_object() {
                let (_server, s) = fresh().await;
                let err = integration::get_nonexistent_object(&s, None).await.unwrap_err();
                assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multipart_race_condition_last_writer_wins() {
                let (_server, s) = fresh().await;
                integration::multipart_race_condition(&s, true).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multipart_out_of_order() {
                let (_server, s) = fresh().await;
                integration::multipart_out_of_order(&s).await;
            }

            /// The whole sequence `LocalFileSystem`'s `file_test` runs, on one store rooted
            /// below the attach root, with fsync and automatic cleanup on.
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn file_test_sequence_under_a_prefix_with_fsync_and_cleanup() {
                let (_server, s) = store($generation, "/lake/tables").await;
                let s = s.with_fsync(true).with_automatic_cleanup(true);
                integration::put_get_delete_list(&s).await;
                integration::list_with_offset_exclusivity(&s).await;
                integration::get_opts(&s).await;
                integration::list_uses_directories_correctly(&s).await;
                integration::list_with_delimiter(&s).await;
                integration::rename_and_copy(&s).await;
                integration::copy_if_not_exists(&s).await;
                integration::copy_rename_nonexistent_object(&s).await;
                integration::stream_get(&s).await;
                integration::put_opts(&s, false).await;
            }
        }
    )*};
}

suite! {
    plain => Generation::Plain,
    gen1 => Generation::Gen1,
    gen2 => Generation::Gen2,
    z => Generation::Z,
}
