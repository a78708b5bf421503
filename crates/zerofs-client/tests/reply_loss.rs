//! `.Z` idempotent mutations under lost replies: for every covered mutation the facade sends,
//! 1,000 trials in which the server applies the request, then cuts the connection instead of
//! replying. The client must resend with the same op-id and RETRY, the server must answer from
//! its ledger, and each trial must end in exactly the state of one application (no double
//! apply: creates would fail with EEXIST, removes and renames with ENOENT; no lost operation).

use std::sync::{Arc, Mutex};

use zerofs_9p_proto::{Frame, MessageType};
use zerofs_client::{Client, FileType, NodeKind, OpenOptions, ZeroFsError};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};

const TRIALS: usize = 1000;

struct Bed {
    server: ServerHandle,
    client: Arc<Client>,
    lost: Arc<Mutex<Vec<MessageType>>>,
}

async fn bed() -> Bed {
    let server = MemServer::start(Config::new(Generation::Z).ephemeral_unix())
        .await
        .unwrap();
    let client = Client::connect(&server.unix_target().unwrap())
        .await
        .unwrap();
    Bed {
        server,
        client,
        lost: Arc::default(),
    }
}

impl Bed {
    /// Loses the reply to the next first attempt of a covered mutation (after applying it).
    fn lose_next_mutation(&self) {
        let lost = self.lost.clone();
        self.server
            .lose_reply_after(ReplyLoss::matching(1, move |f: &Frame| {
                let hit = f
                    .envelope
                    .is_some_and(|e| !e.is_retry() && e.deduplicates());
                if hit {
                    lost.lock().unwrap().push(f.message.msg_type());
                }
                hit
            }));
    }

    /// Starts counting afresh.
    fn next_phase(&self) {
        self.lost.lock().unwrap().clear();
        self.server.reset_counters();
    }

    /// Every trial lost exactly one reply of type `ty`, and each was resent once.
    fn check(&self, ty: MessageType) {
        let lost = self.lost.lock().unwrap();
        assert_eq!(lost.len(), TRIALS, "every trial lost a reply");
        assert!(
            lost.iter().all(|t| *t == ty),
            "lost {lost:?}, expected {ty:?}"
        );
        let c = self.server.counters();
        assert!(
            c.frames(ty) >= 2 * TRIALS as u64,
            "{ty:?}: {} frames for {TRIALS} lost replies",
            c.frames(ty)
        );
        assert!(
            c.connections_accepted() >= TRIALS as u64,
            "each trial cut the connection"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_replies_create_exactly_once() {
    let b = bed().await;
    for i in 0..TRIALS {
        b.lose_next_mutation();
        let p = format!("/f{i}");
        let f = b
            .client
            .open(&p, OpenOptions::read_write().create_new(true))
            .await
            .unwrap();
        f.write_at(0, b"x").await.unwrap();
        assert_eq!(b.client.stat(&p).await.unwrap().size, 1);
    }
    assert_eq!(b.client.read_dir("/").await.unwrap().len(), TRIALS);
    b.check(MessageType::Tlcreateattr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_mkdir_replies_create_exactly_once() {
    let b = bed().await;
    for i in 0..TRIALS {
        b.lose_next_mutation();
        let m = b.client.create_dir(format!("/d{i}"), 0o750).await.unwrap();
        assert_eq!((m.file_type, m.mode & 0o777), (FileType::Dir, 0o750));
    }
    assert_eq!(b.client.read_dir("/").await.unwrap().len(), TRIALS);
    b.check(MessageType::Tmkdirattr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_symlink_replies_create_exactly_once() {
    let b = bed().await;
    for i in 0..TRIALS {
        b.lose_next_mutation();
        let p = format!("/s{i}");
        b.client.symlink(format!("t{i}"), &p).await.unwrap();
        assert_eq!(
            b.client.read_link(&p).await.unwrap().to_str().unwrap(),
            format!("t{i}")
        );
    }
    assert_eq!(b.client.read_dir("/").await.unwrap().len(), TRIALS);
    b.check(MessageType::Tsymlinkattr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_mknod_replies_create_exactly_once() {
    let b = bed().await;
    for i in 0..TRIALS {
        b.lose_next_mutation();
        let m = b
            .client
            .mknod(format!("/n{i}"), NodeKind::Fifo, 0o600)
            .await
            .unwrap();
        assert_eq!(m.file_type, FileType::Fifo);
    }
    assert_eq!(b.client.read_dir("/").await.unwrap().len(), TRIALS);
    b.check(MessageType::Tmknodattr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_link_replies_link_exactly_once() {
    let b = bed().await;
    b.client.write("/base", b"b").await.unwrap();
    for i in 0..TRIALS {
        b.lose_next_mutation();
        b.client.hard_link("/base", format!("/l{i}")).await.unwrap();
    }
    assert_eq!(
        b.client.stat("/base").await.unwrap().nlink,
        1 + TRIALS as u64
    );
    b.check(MessageType::Tlinkattr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_rename_replies_rename_exactly_once() {
    let b = bed().await;
    for i in 0..TRIALS {
        let (from, to) = (format!("/r{i}a"), format!("/r{i}b"));
        b.client
            .write(&from, i.to_string().as_bytes())
            .await
            .unwrap();
        b.lose_next_mutation();
        b.client.rename(&from, &to).await.unwrap();
        assert!(!b.client.exists(&from).await.unwrap());
        assert_eq!(b.client.read(&to).await.unwrap(), i.to_string().as_bytes());
    }
    assert_eq!(b.client.read_dir("/").await.unwrap().len(), TRIALS);
    b.check(MessageType::Trenameat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_unlink_and_rmdir_replies_remove_exactly_once() {
    let b = bed().await;
    for i in 0..TRIALS {
        b.client.write(format!("/u{i}"), b"u").await.unwrap();
        b.lose_next_mutation();
        b.client.remove_file(format!("/u{i}")).await.unwrap();
        assert!(matches!(
            b.client.stat(format!("/u{i}")).await,
            Err(ZeroFsError::NotFound { .. })
        ));
    }
    b.check(MessageType::Tunlinkat);
    b.next_phase();
    for i in 0..TRIALS {
        b.client.create_dir(format!("/x{i}"), 0o755).await.unwrap();
        b.lose_next_mutation();
        b.client.remove_dir(format!("/x{i}")).await.unwrap();
    }
    assert!(b.client.read_dir("/").await.unwrap().is_empty());
    b.check(MessageType::Tunlinkat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_setattr_replies_apply_once_and_report_the_result() {
    let b = bed().await;
    b.client.write("/m", b"0123456789").await.unwrap();
    for i in 0..TRIALS {
        b.lose_next_mutation();
        let mode = 0o400 | (i as u32 % 0o400);
        let m = b.client.chmod("/m", mode).await.unwrap();
        assert_eq!(m.mode & 0o777, mode);
    }
    b.check(MessageType::Tsetattrattr);
    b.next_phase();
    b.client.chmod("/m", 0o644).await.unwrap();
    let f = b
        .client
        .open("/m", OpenOptions::read_write())
        .await
        .unwrap();
    for i in 0..TRIALS {
        b.lose_next_mutation();
        let size = (i % 7) as u64;
        f.set_len(size).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().size, size);
    }
    b.check(MessageType::Tsetattr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_write_replies_write_exactly_once() {
    let b = bed().await;
    let f = b.client.create("/w").await.unwrap();
    for i in 0..TRIALS {
        b.lose_next_mutation();
        f.write_at(i as u64, &[(i % 251) as u8]).await.unwrap();
    }
    let data = b.client.read("/w").await.unwrap();
    let expect: Vec<u8> = (0..TRIALS).map(|i| (i % 251) as u8).collect();
    assert_eq!(&data[..], &expect[..]);
    b.check(MessageType::Twrite);
}
