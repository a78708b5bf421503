//! Liveness: no call waits on a dead connection. A loopback proxy black-holes a live
//! connection mid-workload (stops forwarding both ways, closes nothing), or accepts new
//! connections and never answers them; every call completes once forwarding resumes, within
//! stall + liveness + probe + backoff (plus slack for a loaded machine), and nothing is lost.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::{BlackHoleProxy, create_file, data, within};
use zerofs_memserver::{Config, Generation, MemServer};
use zerofs_session::{Backoff, Options, Session};

const STALL: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(200);
const PROBE: Duration = Duration::from_millis(300);
const BACKOFF_CAP: Duration = Duration::from_millis(100);
/// Room for a loaded 2-core machine on top of the configured bounds (a hang is forever).
const SLACK: Duration = Duration::from_secs(4);

fn opts() -> Options {
    Options {
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: BACKOFF_CAP,
            jitter: 0.5,
        },
        probe_timeout: Some(PROBE),
        stall_timeout: Some(STALL),
        liveness_timeout: WINDOW,
        ..support::root_opts()
    }
}

/// The longest a call may still wait once forwarding resumed.
fn bound() -> Duration {
    STALL + WINDOW + PROBE + BACKOFF_CAP + SLACK
}

/// `tasks` tasks write and read back their own file until `stop`; each returns the times its
/// round trips completed and its last written payload.
fn workload(
    s: &Session,
    fids: Vec<zerofs_session::Fid>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Instant>>> {
    fids.into_iter()
        .enumerate()
        .map(|(i, fid)| {
            let (s, stop) = (s.clone(), stop.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                let mut k = 0u8;
                while !stop.load(Ordering::Relaxed) {
                    let payload = data(4096, k ^ i as u8);
                    assert_eq!(s.write(&fid, 0, payload.clone()).await.unwrap(), 4096);
                    assert_eq!(s.read(&fid, 0, 4096).await.unwrap(), payload, "task {i}");
                    done.push(Instant::now());
                    k = k.wrapping_add(1);
                }
                done
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_connection_is_declared_dead_and_every_call_completes_after_resume() {
    for g in [Generation::Plain, Generation::Z] {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let proxy = BlackHoleProxy::start(server.tcp_addr().unwrap()).await;
        let s = Session::connect(&proxy.target(), opts()).await.unwrap();
        let mut fids = Vec::new();
        for name in ["a", "b", "c", "d", "e", "f"] {
            fids.push(create_file(&s, name).await);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = workload(&s, fids, &stop);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            s.stats().resends,
            0,
            "{g:?}: nothing resent before the loss"
        );
        proxy.black_hole();
        // Long enough for the connection to be declared dead and for reconnects to meet
        // silent accepts.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let resumed = Instant::now();
        proxy.resume();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let done = within(t).await.unwrap();
            let first_after = done.iter().find(|&&t| t >= resumed).copied();
            let first_after = first_after.expect("the task completed a round trip after resume");
            let waited = first_after - resumed;
            assert!(
                waited <= bound(),
                "{g:?}: a call waited {waited:?} after resume"
            );
        }
        assert!(
            s.stats().reconnects >= 1,
            "{g:?}: the dead connection was replaced"
        );
        assert!(
            s.stats().resends >= 1,
            "{g:?}: the requests black-holed in flight were counted as resent"
        );
        assert!(
            proxy.silent_accepts() >= 1,
            "{g:?}: a reconnect met a silent accept and was retried"
        );
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_to_a_server_that_accepts_and_never_answers_is_closed_and_retried() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let proxy = BlackHoleProxy::start(server.tcp_addr().unwrap()).await;
    // No connect timeout: only the bounded handshake keeps the supervisor going.
    let o = Options {
        connect_timeout: None,
        ..opts()
    };
    let s = Session::connect(&proxy.target(), o).await.unwrap();
    let fid = create_file(&s, "held").await;
    let payload = data(10_000, 7);
    s.write(&fid, 0, payload.clone()).await.unwrap();
    proxy.hold_new();
    server.drop_connections();
    let read = {
        let (s, fid) = (s.clone(), fid);
        tokio::spawn(async move {
            let got = s.read(&fid, 0, 20_000).await;
            (got, Instant::now())
        })
    };
    // Several silent dials come and go while held.
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.silent_accepts() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(proxy.silent_accepts() >= 3, "the supervisor kept dialling");
    assert!(
        !read.is_finished(),
        "the call blocks while no server answers"
    );
    let resumed = Instant::now();
    proxy.resume();
    let (got, at) = within(read).await.unwrap();
    assert_eq!(got.unwrap(), payload);
    assert!(
        at - resumed <= bound(),
        "the call waited {:?} after the server answered again",
        at - resumed
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_connection_dials_again_past_a_silent_accept() {
    let server = MemServer::start(Config::new(Generation::Z)).await.unwrap();
    let proxy = BlackHoleProxy::start(server.tcp_addr().unwrap()).await;
    proxy.hold_new();
    let target = proxy.target();
    let connect = tokio::spawn(async move { Session::connect(&target, opts()).await });
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.silent_accepts() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(proxy.silent_accepts() >= 2);
    proxy.resume();
    let s = within(connect).await.unwrap().unwrap();
    let fid = create_file(&s, "first").await;
    assert_eq!(s.write(&fid, 0, data(100, 1)).await.unwrap(), 100);
    server.shutdown().await;
}

/// The control: with stall detection off, the black-holed connection is never given up
/// (the proxy acknowledges every byte, so TCP never fails it): calls still wait after resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_stall_detection_a_black_holed_call_waits_past_resume() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let proxy = BlackHoleProxy::start(server.tcp_addr().unwrap()).await;
    let o = Options {
        stall_timeout: None,
        ..opts()
    };
    let s = Session::connect(&proxy.target(), o).await.unwrap();
    let fid = create_file(&s, "stuck").await;
    proxy.black_hole();
    proxy.resume();
    let r = tokio::time::timeout(bound(), s.read(&fid, 0, 10)).await;
    assert!(
        r.is_err(),
        "the call was answered on a black-holed connection"
    );
    assert_eq!(s.stats().reconnects, 0);
    server.shutdown().await;
}

/// A slow server is not a dead one: a request answered after several stall timeouts, while
/// probes are answered, completes on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_with_answered_probes_keeps_the_connection() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    // A roomy window (probe answers may be slow on a loaded machine); the reply comes long
    // after stall + window, so without answered probes the connection would be declared
    // dead and the read resent forever.
    let o = Options {
        liveness_timeout: Duration::from_secs(1),
        ..opts()
    };
    let s = Session::connect(&server.target(), o).await.unwrap();
    let fid = create_file(&s, "slow").await;
    let delay = Duration::from_secs(3);
    server.set_reply_delay_for(zerofs_session::proto::MessageType::Tread, Some(delay));
    let got = within(s.read(&fid, 0, 10)).await.unwrap();
    assert!(got.is_empty());
    assert_eq!(
        s.stats().reconnects,
        0,
        "probes were answered: no reconnect"
    );
    server.shutdown().await;
}
