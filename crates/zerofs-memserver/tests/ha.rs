//! HA pairs: one filesystem, ledger and lineage behind two nodes; the follower refuses
//! everything but `Tversion` with `ENOTCONN`; fail-over moves leadership and bumps the epoch;
//! the `ESHUTDOWN` fault applies, records and then refuses.

use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};

#[tokio::test]
async fn pair_roles_epochs_and_fail_over() {
    let (a, b) = MemServer::start_pair(
        Config::new(Generation::Z).ephemeral_unix(),
        Config::new(Generation::Z).ephemeral_unix(),
    )
    .await
    .unwrap();
    assert!(a.is_leader() && !b.is_leader());
    assert_eq!((a.writer_epoch(), b.writer_epoch()), (1, 1));
    assert_eq!(a.lineage(), b.lineage(), "one lineage");
    assert_eq!(a.fail_over_to(&b), Some(2));
    assert!(!a.is_leader() && b.is_leader());
    assert_eq!(a.fail_over_to(&a), None, "not a pair with itself");
    let lone = MemServer::start(Config::new(Generation::Z).ephemeral_unix())
        .await
        .unwrap();
    assert_eq!(lone.writer_epoch(), 0);
    assert!(lone.is_leader());
    assert_eq!(b.fail_over_to(&lone), None, "different filesystems");
    assert!(b.is_leader(), "nothing changed");
    b.demote();
    assert_eq!(a.promote(), 3);
    let rotated = a.rotate_lineage();
    assert_eq!(b.lineage(), rotated);
    b.shutdown_reply_after(ReplyLoss::next(zerofs_9p_proto::MessageType::Tmkdir));
}
