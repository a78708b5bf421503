//! The facade across servers whose dialect changes at a reconnect (a rolling downgrade or
//! upgrade, an HA peer on another release): an HA set of two memserver nodes of different
//! generations serving one filesystem, each on a private unix socket. The serving node stops
//! and the other takes over, first while the client is reconnecting, then back again with
//! calls in flight. Operations built for the old dialect complete, and open `File` and `Dir`
//! handles keep working, replayed in each new dialect.

use std::sync::Arc;
use std::time::Duration;

use zerofs_client::{Backoff, Client, ClientBuilder, ConnectOptions, Dir, File, OpenOptions};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

/// 5000 bytes that do not repeat with a short period.
fn content() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 7 % 251) as u8).collect()
}

async fn pair(from: Generation, to: Generation) -> (ServerHandle, ServerHandle, Arc<Client>) {
    let (old, new) = MemServer::start_pair(
        Config::new(from).ephemeral_unix(),
        Config::new(to).ephemeral_unix(),
    )
    .await
    .unwrap();
    let targets = [old.unix_target().unwrap(), new.unix_target().unwrap()];
    let client = ClientBuilder::multi(&targets)
        .options(ConnectOptions {
            uid: Some(0),
            gid: Some(0),
            uname: Some("root".into()),
            ..ConnectOptions::default()
        })
        .backoff(Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(40),
            jitter: 0.5,
        })
        .connect()
        .await
        .unwrap();
    (old, new, client)
}

/// Waits (bounded: about 4 s) until `f` holds.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..4000 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}

/// Fails over from `from` (which stops listening, so the set dials the other) to `to`.
async fn fail_over(from: &ServerHandle, to: &ServerHandle) {
    from.stop_listening().await;
    from.fail_over_to(to).expect("a pair");
}

/// A mix of operations, each built in the dialect the client last saw, all at once; every
/// one must succeed. `tag` keeps the names of each round apart.
async fn operations(c: &Client, f: &File, dir: &Dir, tag: &str) {
    let want = content();
    let stat = async {
        assert_eq!(c.stat("/d/f").await.unwrap().size, 5000);
    };
    let read = async {
        assert_eq!(&c.read("/d/f").await.unwrap()[..], &want[..]);
    };
    let create = async {
        let p = format!("/d/new-{tag}");
        c.write(&p, b"xyz").await.unwrap();
        assert_eq!(&c.read(&p).await.unwrap()[..], b"xyz");
    };
    let mkdir = async {
        let m = c.create_dir(format!("/d/dir-{tag}"), 0o750).await.unwrap();
        assert_eq!(m.mode & 0o7777, 0o750);
    };
    let list = async {
        let names: Vec<String> = c
            .read_dir("/d")
            .await
            .unwrap()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert!(names.iter().any(|n| n == "f"), "{names:?}");
    };
    let chmod = async {
        let m = c.chmod("/d/f", 0o640).await.unwrap();
        assert_eq!(m.mode & 0o7777, 0o640);
    };
    let links = async {
        c.symlink("f", format!("/d/l-{tag}")).await.unwrap();
        let t = c.read_link(format!("/d/l-{tag}")).await.unwrap();
        assert_eq!(t.to_str(), Some("f"));
        c.hard_link("/d/f", format!("/d/h-{tag}")).await.unwrap();
    };
    let file = async {
        assert_eq!(&f.read_at(0, 100).await.unwrap()[..], &want[..100]);
        assert_eq!(f.metadata().await.unwrap().size, 5000);
        f.sync_all().await.unwrap();
    };
    let handle = async {
        assert_eq!(dir.metadata_at(b"f").await.unwrap().size, 5000);
        let g = dir.open_at(b"f", OpenOptions::read_only()).await.unwrap();
        assert_eq!(&g.read_at(4900, 200).await.unwrap()[..], &want[4900..]);
        let sub = format!("sub-{tag}");
        dir.create_dir_at(sub.as_bytes(), 0o700).await.unwrap();
    };
    futures::join!(stat, read, create, mkdir, list, chmod, links, file, handle);
}

async fn round_trip(from: Generation, to: Generation) {
    let (old, new, c) = pair(from, to).await;
    assert_eq!(
        c.capabilities().extensions_v2,
        from.best_dialect().has_gen2()
    );
    c.create_dir("/d", 0o755).await.unwrap();
    c.write("/d/f", &content()).await.unwrap();
    let f = c.open("/d/f", OpenOptions::read_write()).await.unwrap();
    let dir = c.open_dir("/d").await.unwrap();

    // 1. Calls issued while the client reconnects (neither node answers for a moment).
    new.stop_listening().await;
    fail_over(&old, &new).await;
    assert!(eventually(|| !c.is_connected()).await);
    let run = {
        let (c, f, dir) = (c.clone(), f.clone(), dir.clone());
        tokio::spawn(async move { operations(&c, &f, &dir, "a").await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!run.is_finished(), "calls wait for a connection");
    new.resume_listening().await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("bounded")
        .expect("every operation succeeds");
    assert_eq!(
        c.capabilities().extensions_v2,
        to.best_dialect().has_gen2(),
        "{from:?} -> {to:?}"
    );

    // 2. Back to the first node, with calls in flight (applied, their replies held back).
    old.resume_listening().await.unwrap();
    new.set_reply_delay(Some(Duration::from_secs(3600)));
    let run = {
        let (c, f, dir) = (c.clone(), f.clone(), dir.clone());
        tokio::spawn(async move { operations(&c, &f, &dir, "b").await })
    };
    assert!(eventually(|| c.stats().in_flight >= 9).await);
    fail_over(&new, &old).await;
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("bounded")
        .expect("every operation succeeds");
    assert_eq!(
        c.capabilities().extensions_v2,
        from.best_dialect().has_gen2()
    );
    assert_eq!(&f.read_at(0, 5000).await.unwrap()[..], &content()[..]);
    assert!(dir.metadata_at(b"new-b").await.is_ok());
    let st = c.stats();
    assert_eq!(st.fids_stale, 0, "{st:?}");
    assert!(st.reconnects >= 2, "{st:?}");
    old.shutdown().await;
    new.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn z_to_plain_and_back() {
    round_trip(Generation::Z, Generation::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen2_to_plain_and_back() {
    round_trip(Generation::Gen2, Generation::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_to_z_and_back() {
    round_trip(Generation::Plain, Generation::Z).await;
}
