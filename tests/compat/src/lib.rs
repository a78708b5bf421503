//! A program written against ZeroFS's `zerofs-client` 0.1 the way its users write them:
//! every public item of REFERENCE-CLIENT.md §1 in the reference's exact forms (awaited
//! closes, full struct literals, an exhaustive `match` over `ZeroFsError`, the `io::Error`
//! conversion, the cursor and the stream, an `Arc<Client>` shared across tasks).
//!
//! A signature that drifts from the reference breaks the build. The tests run it against the
//! in-memory server at every generation; `zerofs-compat-check unix:/path/to/socket` runs it
//! against any server.

#[cfg(all(feature = "ours", feature = "reference"))]
compile_error!("choose one of the features `ours` and `reference`");
#[cfg(feature = "reference")]
use zerofs_client_ref as zerofs_client;

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use zerofs_client::io::FileCursor;
use zerofs_client::stream::DirStream as ModuleDirStream;
use zerofs_client::{
    Bytes, Capabilities, Client, ConnectOptions, Dir, DirEntry, DirStream, File, FileType,
    Metadata, NodeKind, OpenOptions, SetAttrs, SetTime, StatFs, Timestamp, ZeroFsError,
};

/// The reference's result type.
pub type R<T> = Result<T, ZeroFsError>;

/// Every variant, by its exact fields, without a wildcard.
fn describe(e: &ZeroFsError) -> String {
    match e {
        ZeroFsError::NotFound { path } => format!("ENOENT {path}"),
        ZeroFsError::PermissionDenied { path } => format!("EACCES {path}"),
        ZeroFsError::NotPermitted { path } => format!("EPERM {path}"),
        ZeroFsError::AlreadyExists { path } => format!("EEXIST {path}"),
        ZeroFsError::NotADirectory { path } => format!("ENOTDIR {path}"),
        ZeroFsError::IsADirectory { path } => format!("EISDIR {path}"),
        ZeroFsError::DirectoryNotEmpty { path } => format!("ENOTEMPTY {path}"),
        ZeroFsError::NameTooLong { name } => format!("ENAMETOOLONG {name}"),
        ZeroFsError::InvalidArgument { message } => format!("EINVAL {message}"),
        ZeroFsError::TooManySymlinks { path } => format!("ELOOP {path}"),
        ZeroFsError::Closed => "EBADF".to_string(),
        ZeroFsError::ConnectFailed { message } => format!("connect {message}"),
        ZeroFsError::NotLeader { path } => format!("not leader {path}"),
        ZeroFsError::Stale { path } => format!("ESTALE {path}"),
        ZeroFsError::Io {
            errno,
            path,
            message,
        } => format!("errno {errno} {path} {message}"),
        ZeroFsError::Protocol { message } => format!("protocol {message}"),
    }
}

/// Every file type, without a wildcard.
fn kind(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Dir => "dir",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharDevice => "char",
        FileType::BlockDevice => "block",
        FileType::Unknown => "unknown",
    }
}

fn node(k: NodeKind) -> (u32, u32) {
    match k {
        NodeKind::Fifo | NodeKind::Socket => (0, 0),
        NodeKind::BlockDevice { major, minor } | NodeKind::CharDevice { major, minor } => {
            (major, minor)
        }
    }
}

/// The records, built with full struct literals and taken apart again.
pub fn records() {
    let opts = ConnectOptions {
        uid: Some(0),
        gid: Some(4242),
        uname: Some("root".to_string()),
        aname: "/vol".to_string(),
        msize: 256 * 1024,
        connect_timeout_ms: Some(150),
    };
    let ConnectOptions {
        uid,
        gid,
        uname,
        aname,
        msize,
        connect_timeout_ms,
    } = opts.clone();
    let _: (
        Option<u32>,
        Option<u32>,
        Option<String>,
        String,
        u32,
        Option<u32>,
    ) = (uid, gid, uname, aname, msize, connect_timeout_ms);
    let _ = ConnectOptions {
        msize: 65536,
        ..ConnectOptions::default()
    };
    let _: &dyn std::fmt::Debug = &opts;

    let o = OpenOptions {
        read: true,
        write: true,
        create: true,
        create_new: false,
        truncate: false,
        mode: 0o600,
    };
    let o2: OpenOptions = OpenOptions::read_write()
        .create(true)
        .create_new(false)
        .truncate(true)
        .mode(0o644);
    let _: [OpenOptions; 5] = [
        o,
        o2,
        OpenOptions::read_only(),
        OpenOptions::write_only(),
        OpenOptions::default(),
    ];
    let _: (bool, bool, bool, bool, bool, u32) =
        (o.read, o.write, o.create, o.create_new, o.truncate, o.mode);

    let ts = Timestamp {
        secs: 1_700_000_000,
        nanos: 42,
    };
    let Timestamp { secs, nanos } = ts;
    let _: (i64, u32) = (secs, nanos);
    let _: Timestamp = Timestamp::from(SystemTime::now());
    let _: SystemTime = SystemTime::from(ts);
    let _: SystemTime = ts.into();
    assert_eq!(ts, Timestamp { secs, nanos });
    let st: SetTime = SetTime::from(UNIX_EPOCH + Duration::from_secs(1));
    match st {
        SetTime::Now => {}
        SetTime::At { time } => {
            let _: Timestamp = time;
        }
    }

    let attrs = SetAttrs {
        mode: Some(0o644),
        uid: None,
        gid: None,
        size: Some(0),
        atime: Some(SetTime::Now),
        mtime: Some(SetTime::At { time: ts }),
    };
    let SetAttrs {
        mode,
        uid,
        gid,
        size,
        atime,
        mtime,
    } = attrs;
    let _: (Option<u32>, Option<u32>, Option<u32>, Option<u64>) = (mode, uid, gid, size);
    let _: (Option<SetTime>, Option<SetTime>) = (atime, mtime);
    let _ = SetAttrs {
        mode: Some(0o600),
        ..SetAttrs::default()
    };

    let caps = Capabilities {
        extensions_v1: true,
        extensions_v2: true,
        msize: 1 << 20,
        max_read_chunk: (1 << 20) - 11,
        max_write_chunk: (1 << 20) - 23,
    };
    let Capabilities {
        extensions_v1,
        extensions_v2,
        msize,
        max_read_chunk,
        max_write_chunk,
    } = caps;
    let _: (bool, bool, u32, u32, u32) = (
        extensions_v1,
        extensions_v2,
        msize,
        max_read_chunk,
        max_write_chunk,
    );

    let meta = Metadata {
        ino: 1,
        file_type: FileType::File,
        mode: 0o100644,
        nlink: 1,
        uid: 0,
        gid: 0,
        size: 3,
        block_size: 4096,
        blocks: 1,
        rdev: 0,
        atime: ts,
        mtime: ts,
        ctime: ts,
        btime: ts,
        data_version: 0,
    };
    let Metadata {
        ino,
        file_type,
        mode,
        nlink,
        uid,
        gid,
        size,
        block_size,
        blocks,
        rdev,
        atime,
        mtime,
        ctime,
        btime,
        data_version,
    } = meta;
    let _: (u64, FileType, u32, u64, u32, u32, u64) = (ino, file_type, mode, nlink, uid, gid, size);
    let _: (u64, u64, u64, u64) = (block_size, blocks, rdev, data_version);
    let _: [Timestamp; 4] = [atime, mtime, ctime, btime];
    let _: (bool, bool, bool, u32) = (
        meta.is_file(),
        meta.is_dir(),
        meta.is_symlink(),
        meta.permissions(),
    );
    let _: (SystemTime, SystemTime) = (meta.modified(), meta.accessed());
    let _ = kind(meta.file_type);

    let entry = DirEntry {
        name: "a".to_string(),
        name_bytes: b"a".to_vec(),
        name_is_utf8: true,
        file_type: FileType::File,
        ino: 1,
        metadata: Some(meta),
    };
    let DirEntry {
        name,
        name_bytes,
        name_is_utf8,
        file_type,
        ino,
        metadata,
    } = entry.clone();
    let _: (String, Vec<u8>, bool, FileType, u64, Option<Metadata>) =
        (name, name_bytes, name_is_utf8, file_type, ino, metadata);

    let fs = StatFs {
        block_size: 4096,
        blocks: 1,
        blocks_free: 1,
        blocks_available: 1,
        files: 1,
        files_free: 1,
        filesystem_id: 1,
        max_name_len: 255,
    };
    let StatFs {
        block_size,
        blocks,
        blocks_free,
        blocks_available,
        files,
        files_free,
        filesystem_id,
        max_name_len,
    } = fs;
    let _: (u32, u64, u64, u64, u64, u64, u64, u32) = (
        block_size,
        blocks,
        blocks_free,
        blocks_available,
        files,
        files_free,
        filesystem_id,
        max_name_len,
    );

    let _ = node(NodeKind::Fifo);
    let _ = node(NodeKind::Socket);
    let _ = node(NodeKind::CharDevice { major: 1, minor: 3 });
    let _ = node(NodeKind::BlockDevice { major: 8, minor: 1 });

    // serde (a default feature of the reference) on every data record.
    fn serde_roundtrip<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
        serde_json::from_str(&serde_json::to_string(v).expect("serialize")).expect("parse")
    }
    let _: Metadata = serde_roundtrip(&meta);
    let _: ConnectOptions = serde_roundtrip(&opts);
    let _: OpenOptions = serde_roundtrip(&o);
    let _: SetAttrs = serde_roundtrip(&attrs);
    let _: Capabilities = serde_roundtrip(&caps);
    let _: DirEntry = serde_roundtrip(&entry);
    let _: StatFs = serde_roundtrip(&fs);
    let _: NodeKind = serde_roundtrip(&NodeKind::Fifo);
    let _: FileType = serde_roundtrip(&FileType::Dir);
    let _: Timestamp = serde_roundtrip(&ts);
    let _: SetTime = serde_roundtrip(&SetTime::Now);
}

/// The error type: errno, display, `Error`, clone, and the `io::Error` conversion.
pub fn errors() -> io::Result<()> {
    let e = ZeroFsError::NotFound {
        path: "/x".to_string(),
    };
    let errno: i32 = e.to_errno();
    let _: String = e.to_string();
    let _: &dyn std::error::Error = &e;
    let _ = describe(&e.clone());
    let io_err: io::Error = e.into();
    let back: Option<&ZeroFsError> = io_err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ZeroFsError>());
    assert_eq!(back.map(ZeroFsError::to_errno), Some(errno));
    let others = [
        ZeroFsError::Io {
            errno: 18,
            path: "/x".to_string(),
            message: "cross-device link".to_string(),
        },
        ZeroFsError::ConnectFailed {
            message: "m".to_string(),
        },
        ZeroFsError::Protocol {
            message: "m".to_string(),
        },
        ZeroFsError::InvalidArgument {
            message: "m".to_string(),
        },
        ZeroFsError::NameTooLong {
            name: "n".to_string(),
        },
        ZeroFsError::Closed,
    ];
    for e in others {
        let _ = describe(&e);
    }
    fn fails() -> R<()> {
        Err(ZeroFsError::Closed)
    }
    fails()?;
    Ok(())
}

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: T) {}

/// The trait impls the reference derives (REFERENCE-CLIENT.md §1), each checked by a bound.
pub fn traits() {
    use std::fmt::{Debug, Display};
    fn copy<T: Clone + Copy + Debug>() {}
    fn clone<T: Clone + Debug>() {}
    fn default<T: Default>() {}
    fn eq<T: PartialEq + Eq>() {}
    fn error<T: std::error::Error + Display + Debug + Clone + Send + Sync + 'static>() {}
    fn debug<T: Debug>() {}
    copy::<OpenOptions>();
    default::<OpenOptions>();
    clone::<ConnectOptions>();
    default::<ConnectOptions>();
    copy::<Capabilities>();
    copy::<Metadata>();
    clone::<DirEntry>();
    copy::<FileType>();
    eq::<FileType>();
    copy::<NodeKind>();
    copy::<SetAttrs>();
    default::<SetAttrs>();
    copy::<SetTime>();
    copy::<Timestamp>();
    eq::<Timestamp>();
    copy::<StatFs>();
    error::<ZeroFsError>();
    debug::<Client>();
    debug::<File>();
    debug::<Dir>();
}

/// The whole program against `target`: the records, the errors, a client shared by four
/// tasks, then the tour of every method (its future must be `Send`).
pub async fn run(target: &str) -> Result<(), Box<dyn std::error::Error>> {
    send_sync::<Client>();
    send_sync::<File>();
    send_sync::<Dir>();
    send_sync::<ZeroFsError>();
    traits();
    records();
    assert!(errors().is_err(), "the `?` on a ZeroFsError returns early");
    let client = connect(target).await?;
    // One client shared by tasks as `Arc<Client>`.
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let c = Arc::clone(&client);
            tokio::spawn(async move { c.write(format!("/t{i}"), b"x").await })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    assert_eq!(
        io_style(&client).await.ok(),
        None,
        "/a.txt does not exist yet"
    );
    send(tour(Arc::clone(&client)));
    tour(Arc::clone(&client)).await?;
    let closed = client.read("/t0").await.expect_err("closed");
    assert_eq!(closed.to_errno(), 9, "{}", describe(&closed));
    Ok(())
}

/// Every method of `Client`, `File` and `Dir` with the reference's argument and result types.
pub async fn tour(client: Arc<Client>) -> R<()> {
    let caps: Capabilities = client.capabilities();
    let _: usize = client.outstanding_fids();
    let _: u32 = caps.max_write_chunk;
    let _ = format!("{client:?}");

    let _: () = client.write("/a.txt", b"hello").await?;
    let _: () = client.write(PathBuf::from("/a.txt"), &b"hello"[..]).await?;
    let data = vec![1u8, 2, 3];
    let _: () = client.write(String::from("/b.bin"), &data).await?;
    let _: u64 = client.append(Path::new("/a.txt"), b"!").await?;
    let _: Bytes = client.read("/a.txt").await?;
    let _: Bytes = client.read(OsStr::new("/a.txt")).await?;
    let _: Bytes = client.read_range("/a.txt", 1u64, 3u32).await?;
    let m: Metadata = client.stat("/a.txt").await?;
    let _: Metadata = client.metadata("/a.txt").await?;
    let _: PathBuf = client.canonicalize("/a.txt").await?;
    let _: bool = client.exists("/a.txt").await?;
    let _: Metadata = client.set_attr("/a.txt", SetAttrs::default()).await?;
    let _: Metadata = client.chmod("/a.txt", 0o600).await?;
    let _: Metadata = client.chown("/a.txt", Some(m.uid), Some(m.gid)).await?;
    let _: Metadata = client.truncate("/a.txt", 2).await?;
    let _: Metadata = client
        .set_times(
            "/a.txt",
            Some(SetTime::Now),
            Some(SetTime::from(SystemTime::now())),
        )
        .await?;
    let _: StatFs = client.statfs().await?;
    let _: () = client.sync().await?;

    let _: Metadata = client.create_dir("/d", 0o755).await?;
    let _: () = client.create_dir_all("/d/e/f", 0o755).await?;
    let _: Metadata = client.hard_link("/a.txt", "/d/link").await?;
    let _: Metadata = client.symlink("a.txt", "/sym").await?;
    let _: PathBuf = client.read_link("/sym").await?;
    let _: Metadata = client.mknod("/fifo", NodeKind::Fifo, 0o644).await?;
    let _: () = client.rename("/b.bin", "/d/b.bin").await?;
    let _: () = client.remove_file("/d/b.bin").await?;
    let _: () = client.remove_dir("/d/e/f").await?;
    let _: Vec<DirEntry> = client.read_dir("/").await?;

    let file: Arc<File> = client.open("/a.txt", OpenOptions::read_write()).await?;
    let _: Arc<File> = client.create("/c.txt").await?;
    let _: Bytes = file.read_at(0, 2).await?;
    let _: () = file.write_at(0, b"HE").await?;
    let _: Metadata = file.metadata().await?;
    let _: () = file.set_len(2).await?;
    let _: Metadata = file.set_attr(SetAttrs::default()).await?;
    let _: () = file.sync_all().await?;
    let _: () = file.sync_data().await?;
    let _ = format!("{file:?}");

    let mut cursor: FileCursor = file.cursor();
    cursor
        .write_all(b"cursor")
        .await
        .map_err(|e| ZeroFsError::Protocol {
            message: e.to_string(),
        })?;
    let _: u64 = cursor.position();
    let _ = cursor.seek(io::SeekFrom::Start(0)).await;
    let mut back = Vec::new();
    let _ = cursor.read_to_end(&mut back).await;
    let _ = cursor.flush().await;
    let _ = cursor.shutdown().await;

    let dir: Arc<Dir> = client.open_dir("/d").await?;
    let _ = format!("{dir:?}");
    let _: Vec<DirEntry> = dir.next_batch(None).await?;
    let _: Vec<DirEntry> = dir.next_batch(Some(2)).await?;
    let _: () = dir.rewind().await?;
    let stream: DirStream = dir.entries();
    let _: ModuleDirStream = dir.entries();
    let listed: Vec<R<DirEntry>> = stream.collect().await;
    let _ = listed.len();
    let _: Metadata = dir.metadata().await?;
    let _: Metadata = dir.set_attr(SetAttrs::default()).await?;
    let _: Metadata = dir.create_dir_at(b"sub", 0o700).await?;
    let child: Arc<File> = dir
        .open_at(b"\xff-raw", OpenOptions::write_only().create_new(true))
        .await?;
    let _: Arc<Dir> = dir.open_dir_at(b"sub").await?;
    let _: Metadata = dir.metadata_at(b"\xff-raw").await?;
    let _: Metadata = dir.set_attr_at(b"\xff-raw", SetAttrs::default()).await?;
    let _: Metadata = dir.symlink_at(b"l", b"\xfe-target").await?;
    let _: Vec<u8> = dir.read_link_at(b"l").await?;
    let _: Metadata = dir.link_at(&dir, b"\xff-raw", b"hard").await?;
    let _: Metadata = dir.mknod_at(b"p", NodeKind::Fifo, 0o644).await?;
    let _: () = dir.rename_at(b"hard", &dir, b"moved").await?;
    let _: () = dir.remove_file_at(b"moved").await?;
    let _: () = dir.remove_dir_at(b"sub").await?;
    let _: () = client.remove_dir_all("/d").await?;

    child.close().await;
    file.close().await;
    dir.close().await;
    client.close().await;
    client.close().await;
    Ok(())
}

pub async fn connect(target: &str) -> R<Arc<Client>> {
    let _: R<Arc<Client>> = Client::connect(target).await;
    Client::connect_with(
        target,
        ConnectOptions {
            uid: None,
            gid: None,
            uname: None,
            aname: String::new(),
            msize: 1 << 20,
            connect_timeout_ms: Some(30_000),
        },
    )
    .await
}

/// An `io::Result` function using `?` on the client's errors.
pub async fn io_style(client: &Client) -> io::Result<usize> {
    Ok(client.read("/a.txt").await?.len())
}
