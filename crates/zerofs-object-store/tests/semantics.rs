//! The object-over-filesystem decisions `ZeroFsStore` documents, checked on the memserver
//! through both the store and the plain client.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{Error, GetOptions, ObjectStore, ObjectStoreExt, PutPayload};
use zerofs_client::Client;
use zerofs_memserver::zerofs_9p_proto::MessageType;
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};
use zerofs_object_store::ZeroFsStore;

async fn setup(generation: Generation) -> (ServerHandle, Arc<Client>, ZeroFsStore) {
    let server = MemServer::start(Config::new(generation)).await.unwrap();
    let client = Client::connect(&server.target()).await.unwrap();
    let store = ZeroFsStore::new(client.clone());
    (server, client, store)
}

async fn listed(store: &ZeroFsStore, prefix: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = store
        .list(prefix)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    names.sort();
    names
}

#[tokio::test]
async fn listings_skip_what_no_object_path_can_name_and_what_is_not_a_file() {
    for generation in [Generation::Plain, Generation::Z] {
        let (_server, client, store) = setup(generation).await;
        store
            .put(&Path::from("d/ok.txt"), "x".into())
            .await
            .unwrap();
        client
            .write(OsStr::from_bytes(b"/d/bad\xff"), b"x")
            .await
            .unwrap();
        client.write("/d/tab\there", b"x").await.unwrap();
        client.write("/d/upload#123", b"x").await.unwrap();
        client.symlink("ok.txt", "/d/link").await.unwrap();
        client.create_dir_all("/d/empty", 0o755).await.unwrap();

        assert_eq!(listed(&store, None).await, ["d/ok.txt"], "{generation:?}");
        let r = store
            .list_with_delimiter(Some(&Path::from("d")))
            .await
            .unwrap();
        let objects: Vec<_> = r.objects.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(objects, ["d/ok.txt"]);
        assert_eq!(r.common_prefixes, [Path::from("d/empty")]);

        // Neither a directory nor a symlink is an object.
        for p in ["d", "d/link", "d/empty"] {
            let e = store.head(&Path::from(p)).await.unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "head {p}: {e}");
            let e = store.get(&Path::from(p)).await.unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "get {p}: {e}");
        }
        // A staging name cannot be addressed.
        let staged = Path::parse("d/upload#123").unwrap();
        assert!(matches!(
            store.head(&staged).await,
            Err(Error::Generic { .. })
        ));
    }
}

#[tokio::test]
async fn path_segments_are_file_names_byte_for_byte_below_the_root() {
    let (_server, client, store) = setup(Generation::Gen2).await;
    let store = store.with_prefix("/lake").unwrap();
    let p = Path::from_iter(["a", "b/c", "d e.parquet"]);
    store.put(&p, "data".into()).await.unwrap();
    assert_eq!(
        &client.read("/lake/a/b%2Fc/d e.parquet").await.unwrap()[..],
        b"data"
    );
    assert_eq!(listed(&store, None).await, [p.to_string()]);
    assert_eq!(store.to_string(), "ZeroFsStore(zerofs/lake)");
}

#[tokio::test]
async fn get_ranges_opens_once_and_reads_every_range_concurrently() {
    let (server, _client, store) = setup(Generation::Z).await;
    let data: Bytes = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let p = Path::from("blob");
    store.put(&p, data.clone().into()).await.unwrap();
    let ranges: Vec<_> = (0..100u64).map(|i| i * 9_000..i * 9_000 + 700).collect();
    let before = server.counters();
    let got = store.get_ranges(&p, &ranges).await.unwrap();
    let after = server.counters();
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(b, &data.slice(r.start as usize..r.end as usize));
    }
    let delta = |ty| after.frames(ty) - before.frames(ty);
    assert_eq!(delta(MessageType::Tlopen), 1, "one open for all ranges");
    assert_eq!(delta(MessageType::Tread), 100, "one read per range");
    // A range past the end is an error, not a short answer.
    let past_the_end = vec![0..10, 999_990..1_000_010];
    assert!(store.get_ranges(&p, &past_the_end).await.is_err());
}

#[tokio::test]
async fn a_whole_object_streams_in_bounded_chunks() {
    let (_server, _client, store) = setup(Generation::Gen1).await;
    let data: Bytes = (0..(10 << 20) + 5u32).map(|i| (i % 253) as u8).collect();
    let p = Path::from("big");
    store.put(&p, data.clone().into()).await.unwrap();
    let chunks: Vec<Bytes> = store
        .get(&p)
        .await
        .unwrap()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.len(), 3, "4 MiB + 4 MiB + the rest");
    assert!(chunks.iter().all(|c| c.len() <= 4 << 20));
    assert_eq!(chunks.concat(), data);
    // A suffix range streams only its bytes.
    let r = store
        .get_opts(
            &p,
            GetOptions::new().with_range(Some(object_store::GetRange::Suffix(10))),
        )
        .await
        .unwrap();
    assert_eq!(r.range, data.len() as u64 - 10..data.len() as u64);
    assert_eq!(r.bytes().await.unwrap(), data.slice(data.len() - 10..));
}

#[tokio::test]
async fn copies_are_links_and_objects_stay_independent() {
    let (_server, _client, store) = setup(Generation::Plain).await;
    let (a, b) = (Path::from("a"), Path::from("x/y/b"));
    store.put(&a, "one".into()).await.unwrap();
    store.copy(&a, &b).await.unwrap();
    assert_eq!(
        store.head(&a).await.unwrap().e_tag,
        store.head(&b).await.unwrap().e_tag
    );
    store.put(&a, "two!".into()).await.unwrap();
    assert_eq!(store.get(&b).await.unwrap().bytes().await.unwrap(), "one");
    assert_eq!(store.get(&a).await.unwrap().bytes().await.unwrap(), "two!");
    let e = store.copy_if_not_exists(&a, &b).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    let e = store.rename_if_not_exists(&a, &b).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    store
        .rename_if_not_exists(&a, &Path::from("c"))
        .await
        .unwrap();
    assert_eq!(listed(&store, None).await, ["c", "x/y/b"]);
}

#[tokio::test]
async fn automatic_cleanup_prunes_emptied_parents_but_never_the_root() {
    let (_server, client, store) = setup(Generation::Z).await;
    let store = store
        .with_prefix("/root")
        .unwrap()
        .with_automatic_cleanup(true);
    store.put(&Path::from("a/b/c/x"), "1".into()).await.unwrap();
    store.put(&Path::from("a/y"), "2".into()).await.unwrap();
    store.delete(&Path::from("a/b/c/x")).await.unwrap();
    assert!(
        !client.exists("/root/a/b").await.unwrap(),
        "a/b/c and a/b pruned"
    );
    assert!(client.exists("/root/a").await.unwrap(), "a still holds y");
    store
        .rename(&Path::from("a/y"), &Path::from("z"))
        .await
        .unwrap();
    assert!(!client.exists("/root/a").await.unwrap());
    store.delete(&Path::from("z")).await.unwrap();
    assert!(client.exists("/root").await.unwrap(), "the root stays");
    // Without cleanup, parents stay (the default, as in LocalFileSystem).
    let keep = ZeroFsStore::new(client.clone());
    keep.put(&Path::from("k/l/m"), "3".into()).await.unwrap();
    keep.delete(&Path::from("k/l/m")).await.unwrap();
    assert!(client.exists("/k/l").await.unwrap());
}

#[tokio::test]
async fn uploads_leave_no_staging_file_behind() {
    let (_server, client, store) = setup(Generation::Gen2).await;
    let p = Path::from("dir/obj");
    // Completed.
    let mut up = store.put_multipart(&p).await.unwrap();
    up.put_part(PutPayload::from_static(b"abc")).await.unwrap();
    up.complete().await.unwrap();
    // Dropped unfinished: removed in the background.
    let mut up = store.put_multipart(&p).await.unwrap();
    up.put_part(PutPayload::from_static(b"zzz")).await.unwrap();
    drop(up);
    let mut names = Vec::new();
    for _ in 0..200 {
        names = names_in(&client, "/dir").await;
        if names.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(names, ["obj"]);
    assert_eq!(store.get(&p).await.unwrap().bytes().await.unwrap(), "abc");
    // A failed put (create over an existing object) removes its staging file too.
    let e = store
        .put_opts(&p, "new".into(), object_store::PutMode::Create.into())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(names_in(&client, "/dir").await, ["obj"]);
}

/// The names in a directory, as the plain client lists them.
async fn names_in(client: &Client, dir: &str) -> Vec<String> {
    let entries = client.read_dir(dir).await.unwrap();
    entries.into_iter().map(|e| e.name).collect()
}

#[tokio::test]
async fn from_url_reaches_a_unix_socket_with_a_prefix() {
    let server = MemServer::start(Config::new(Generation::Z).ephemeral_unix())
        .await
        .unwrap();
    let sock = server.unix_path().unwrap().to_str().unwrap().to_owned();
    let encoded = sock.replace('/', "%2F");
    let store = ZeroFsStore::from_url(&format!("zerofs+unix://{encoded}/data/set"))
        .await
        .unwrap();
    assert_eq!(store.root(), "/data/set");
    store.put(&Path::from("o"), "v".into()).await.unwrap();
    let plain = ZeroFsStore::from_url(&format!("unix:{sock}?prefix=/data"))
        .await
        .unwrap();
    assert_eq!(
        plain
            .get(&Path::from("set/o"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
        "v"
    );
    let e = ZeroFsStore::from_url("zerofs://127.0.0.1:1/x")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Generic { .. }), "{e}");
}

#[tokio::test]
async fn delete_stream_answers_in_order_with_not_found_for_missing_objects() {
    let (_server, _client, store) = setup(Generation::Z).await;
    let names: Vec<Path> = (0..50).map(|i| Path::from(format!("d/{i}"))).collect();
    for p in names.iter().step_by(2) {
        store.put(p, "x".into()).await.unwrap();
    }
    let out: Vec<_> = store
        .delete_stream(futures::stream::iter(names.clone()).map(Ok).boxed())
        .collect()
        .await;
    for (i, (r, p)) in out.iter().zip(&names).enumerate() {
        match r {
            Ok(got) if i % 2 == 0 => assert_eq!(got, p),
            Err(Error::NotFound { .. }) if i % 2 == 1 => {}
            other => panic!("{i}: {other:?}"),
        }
    }
    assert!(listed(&store, None).await.is_empty());
}
