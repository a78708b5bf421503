//! `Tflush` for cancelled requests that were already written: sent where the server supports
//! it, remembered and never asked again where it answers `Rlerror` (ZeroFS 0.19.1, the plain
//! memserver), and never costing a tag, a permit or a fid.

mod support;

use std::time::Duration;

use support::{create_file, data, in_memory, root_opts, settled, within};
use zerofs_memserver::Generation;
use zerofs_session::proto::MessageType;
use zerofs_session::{Fid, Session};

/// Starts a read the server holds for `hold`, and drops it once it was written.
async fn cancel_a_sent_read(s: &Session, fid: &Fid) {
    let r = tokio::time::timeout(Duration::from_millis(60), s.read(fid, 0, 100)).await;
    assert!(r.is_err(), "the read was held by the server: {r:?}");
}

#[tokio::test(start_paused = true)]
async fn cancelled_sent_requests_are_flushed_and_settle() {
    for g in [Generation::Gen1, Generation::Gen2, Generation::Z] {
        let (server, s) = in_memory(g, root_opts()).await;
        let fid = create_file(&s, "f").await;
        s.write(&fid, 0, data(100, 1)).await.unwrap();
        let fids = s.outstanding_fids();
        server.set_reply_delay_for(MessageType::Tread, Some(Duration::from_millis(250)));
        for _ in 0..3 {
            cancel_a_sent_read(&s, &fid).await;
        }
        assert!(
            settled(|| server.counters().frames(MessageType::Tflush) == 3).await,
            "{g:?}: one Tflush per cancelled read"
        );
        // Everything settles: no request left in flight, no fid, and the tags work again.
        assert!(settled(|| s.stats().in_flight == 0).await, "{g:?}");
        assert_eq!(s.outstanding_fids(), fids, "{g:?}");
        server.set_reply_delay_for(MessageType::Tread, None);
        for _ in 0..50 {
            assert_eq!(within(s.read(&fid, 0, 100)).await.unwrap(), data(100, 1));
        }
        assert_eq!(s.stats().reconnects, 0, "{g:?}: no protocol violation");
        server.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_refuses_tflush_is_not_asked_again() {
    let (server, s) = in_memory(Generation::Plain, root_opts()).await;
    let fid = create_file(&s, "f").await;
    s.write(&fid, 0, data(100, 2)).await.unwrap();
    server.set_reply_delay_for(MessageType::Tread, Some(Duration::from_millis(250)));
    cancel_a_sent_read(&s, &fid).await;
    assert!(settled(|| s.stats().in_flight == 0).await);
    for _ in 0..3 {
        cancel_a_sent_read(&s, &fid).await;
    }
    assert!(settled(|| s.stats().in_flight == 0).await);
    assert_eq!(
        server.counters().frames(MessageType::Tflush),
        1,
        "asked once, answered EOPNOTSUPP, never again"
    );
    server.set_reply_delay_for(MessageType::Tread, None);
    assert_eq!(within(s.read(&fid, 0, 100)).await.unwrap(), data(100, 2));
    assert_eq!(s.stats().reconnects, 0);
    server.shutdown().await;
}

/// A cancelled request that creates a fid is not flushed (a flushed reply could hide a fid
/// the server made): its reply still arrives and is recorded, then the fid is clunked.
#[tokio::test(start_paused = true)]
async fn fid_creating_requests_are_not_flushed() {
    let (server, s) = in_memory(Generation::Gen2, root_opts()).await;
    drop(create_file(&s, "f").await);
    // The root alone, once the dropped file's clunk is answered.
    let fids = 1;
    assert!(settled(|| s.outstanding_fids() == fids).await);
    server.set_reply_delay(Some(Duration::from_millis(200)));
    let name = [bytes::Bytes::from_static(b"f")];
    let r = tokio::time::timeout(Duration::from_millis(60), s.walk(s.root(), &name)).await;
    assert!(r.is_err());
    assert!(settled(|| s.stats().in_flight == 0).await);
    let settled = settled(|| s.outstanding_fids() == fids).await;
    assert!(settled, "no fid leaked: {} vs {fids}", s.outstanding_fids());
    assert_eq!(server.counters().frames(MessageType::Tflush), 0);
    server.shutdown().await;
}
