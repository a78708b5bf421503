//! The public surface matches ZeroFS's client 0.1 (REFERENCE-CLIENT.md §1): every method with
//! the reference's argument and result types, `Send + Sync` handles and `Send` futures.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zerofs_client::io::FileCursor;
use zerofs_client::stream::DirStream;
use zerofs_client::{
    Bytes, Capabilities, Client, ConnectOptions, Dir, DirEntry, File, FileType, Metadata, NodeKind,
    OpenOptions, SetAttrs, SetTime, StatFs, Timestamp, TrafficStats, ZeroFsError,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

type R<T> = Result<T, ZeroFsError>;

/// Every call of §1.1–§1.3 with its argument and result types pinned, in an order that
/// succeeds on an empty tree; the handles are closed last.
async fn surface(c: Arc<Client>) -> R<()> {
    let _: Capabilities = c.capabilities();
    let _: usize = c.outstanding_fids();
    let _: bool = c.is_connected();
    let _: TrafficStats = c.traffic_stats();
    let _: () = c.write(PathBuf::from("/a"), b"x").await?;
    let _: () = c.write_bytes("/a", Bytes::from_static(b"xy")).await?;
    let at: u64 = c.append(Path::new("/a"), b"z").await?;
    assert_eq!(at, 2);
    let all: Bytes = c.read("/a").await?;
    assert_eq!(&all[..], b"xyz");
    let one: Bytes = c.read_range(String::from("/a"), 1u64, 1u32).await?;
    assert_eq!(&one[..], b"y");
    let m: Metadata = c.stat(OsStr::new("/a")).await?;
    assert_eq!(m.size, 3);
    let _: Metadata = c.metadata("/a").await?;
    let _: PathBuf = c.canonicalize("/a").await?;
    let _: bool = c.exists("/a").await?;
    let _: Metadata = c.set_attr("/a", SetAttrs::default()).await?;
    let _: Metadata = c.chmod("/a", 0o600u32).await?;
    let _: Metadata = c.chown("/a", Some(m.uid), None).await?;
    let _: Metadata = c.truncate("/a", 2u64).await?;
    let _: Metadata = c.set_times("/a", Some(SetTime::Now), None).await?;
    let _: StatFs = c.statfs().await?;
    let _: () = c.sync().await?;
    let _: Metadata = c.create_dir("/d", 0o755).await?;
    let _: () = c.create_dir_all("/d/e", 0o755).await?;
    let _: Metadata = c.hard_link("/a", "/b").await?;
    let _: Metadata = c.symlink("a", "/l").await?;
    let _: PathBuf = c.read_link("/l").await?;
    let _: Metadata = c.mknod("/n", NodeKind::Fifo, 0o600).await?;
    let _: () = c.rename("/b", "/b2").await?;
    let _: () = c.remove_file("/b2").await?;
    let _: () = c.remove_dir("/d/e").await?;
    let _: Vec<DirEntry> = c.read_dir("/").await?;
    let f: Arc<File> = c.open("/a", OpenOptions::read_write()).await?;
    let _: Arc<File> = c.create("/c").await?;

    let _: () = f.write_at(0, b"q").await?;
    let _: () = f.write_at_bytes(1, Bytes::from_static(b"r")).await?;
    let got: Bytes = f.read_at(0u64, 2u32).await?;
    assert_eq!(&got[..], b"qr");
    let _: Metadata = f.metadata().await?;
    let _: () = f.set_len(2u64).await?;
    let _: Metadata = f.set_attr(SetAttrs::default()).await?;
    let _: () = f.sync_all().await?;
    let _: () = f.sync_data().await?;
    let _: FileCursor = f.cursor();

    let d: Arc<Dir> = c.open_dir("/d").await?;
    let _: Metadata = d.create_dir_at(b"s", 0o755).await?;
    let _: Arc<File> = d
        .open_at(b"f", OpenOptions::read_write().create(true))
        .await?;
    let _: Metadata = d.metadata_at(b"f").await?;
    let _: Metadata = d.set_attr_at(b"f", SetAttrs::default()).await?;
    let _: Metadata = d.symlink_at(b"l", b"target").await?;
    let _: Metadata = d.link_at(&d, b"f", b"g").await?;
    let _: Metadata = d.mknod_at(b"p", NodeKind::Fifo, 0o644).await?;
    let _: () = d.rename_at(b"g", &d, b"h").await?;
    let _: Vec<u8> = d.read_link_at(b"l").await?;
    let _: Arc<Dir> = d.open_dir_at(b"s").await?;
    let _: () = d.remove_file_at(b"h").await?;
    let _: () = d.remove_dir_at(b"s").await?;
    let _: Metadata = d.metadata().await?;
    let _: Metadata = d.set_attr(SetAttrs::default()).await?;
    let _: () = d.rewind().await?;
    let _: Vec<DirEntry> = d.next_batch(Some(10u32)).await?;
    let _: DirStream = d.entries();
    let _: () = c.remove_dir_all("/d").await?;

    let _: () = f.close().await;
    let _: () = d.close().await;
    let _: () = c.close().await;
    Ok(())
}

#[test]
fn handles_are_send_and_sync() {
    send_sync::<Client>();
    send_sync::<File>();
    send_sync::<Dir>();
    send_sync::<FileCursor>();
    send_sync::<DirStream>();
    send_sync::<ZeroFsError>();
    send_sync::<Metadata>();
}

/// The whole surface runs as one spawned task on a multi-threaded runtime (which needs a
/// `Send + 'static` future), and every call in it succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_are_send() {
    let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(
        zerofs_memserver::Generation::Gen2,
    ))
    .await
    .unwrap();
    let c = Client::connect(&server.target()).await.unwrap();
    send(&c.read("/f"));
    let task = tokio::spawn(surface(c.clone()));
    task.await
        .expect("the task ran")
        .expect("every call succeeds");
    assert!(matches!(c.read("/a").await, Err(ZeroFsError::Closed)));
}

#[test]
fn records_match_the_reference() {
    let o = OpenOptions::read_write()
        .create(true)
        .create_new(false)
        .truncate(true)
        .mode(0o600);
    assert!(o.read && o.write && o.create && !o.create_new && o.truncate && o.mode == 0o600);
    assert_eq!(OpenOptions::default().mode, 0o644);
    let c = ConnectOptions::default();
    assert_eq!(
        (c.msize, c.connect_timeout_ms, c.aname.as_str()),
        // msize: 1 MiB plus room for a header, so a 1 MiB read or write is one message.
        ((1 << 20) + 4096, Some(30_000), "")
    );
    assert_eq!(Timestamp::new(1, 2), Timestamp { secs: 1, nanos: 2 });
    assert_eq!(FileType::from_mode(0o040755), FileType::Dir);
    let t = TrafficStats::default();
    assert_eq!(t.operations, 0);
}
