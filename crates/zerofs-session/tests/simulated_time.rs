//! Reconnect backoff and liveness in simulated time: the in-memory memserver, the session's
//! timers (watchdog, supervisor) and the test all run on a paused tokio clock, so hours of
//! outage, stalls and backoff pass in milliseconds of test time, and every bound is checked
//! exactly rather than with slack for a loaded machine.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};
use zerofs_session::proto::MessageType;
use zerofs_session::{Backoff, Connector, Options, Session, Transport};

use support::{create_file, data, root_opts, settled};

/// Dials the memserver in memory and records when each dial happened.
#[derive(Debug, Clone)]
struct Recorder {
    server: ServerHandle,
    dials: Arc<Mutex<Vec<Instant>>>,
}

impl Recorder {
    fn new(server: &ServerHandle) -> Recorder {
        Recorder {
            server: server.clone(),
            dials: Arc::default(),
        }
    }

    fn dials(&self) -> Vec<Instant> {
        self.dials.lock().unwrap().clone()
    }
}

impl Connector for Recorder {
    fn connect(&self) -> BoxFuture<'_, std::io::Result<Transport>> {
        Box::pin(async move {
            self.dials.lock().unwrap().push(Instant::now());
            Ok(Transport::new(self.server.connect_in_memory()?))
        })
    }

    fn describe(&self) -> String {
        "recorder".into()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(100),
    cap: Duration::from_secs(5),
    jitter: 0.5,
};

/// The longest and shortest delay the policy allows before failed attempt `k` (0-based).
fn bounds(k: usize) -> (Duration, Duration) {
    let full = BACKOFF
        .base
        .saturating_mul(1u32 << k.min(20))
        .min(BACKOFF.cap);
    (full.mul_f64(1.0 - BACKOFF.jitter), full)
}

#[tokio::test(start_paused = true)]
async fn an_hour_of_refused_redials_is_spaced_by_the_backoff_policy_and_capped() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let dialer = Recorder::new(&server);
    let o = Options {
        backoff: BACKOFF,
        ..root_opts()
    };
    let s = Session::connect_with(dialer.clone(), o).await.unwrap();
    let fid = create_file(&s, "f").await;
    s.write(&fid, 0, data(100, 1)).await.unwrap();

    server.stop_listening().await;
    server.drop_connections();
    let lost = Instant::now();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let dials = dialer.dials();
    // The first dial was the initial connection; the first redial follows the loss at once.
    let redials = &dials[1..];
    assert_eq!(redials[0] - lost, Duration::ZERO, "first redial at once");
    for (k, pair) in redials.windows(2).enumerate() {
        let (lo, hi) = bounds(k);
        let gap = pair[1] - pair[0];
        assert!(
            lo <= gap && gap <= hi,
            "gap {k} is {gap:?}, outside [{lo:?}, {hi:?}]"
        );
    }
    // Capped: an hour of refusals costs at most one dial per half cap, at least one per cap.
    let n = redials.len() as u64;
    assert!((700..=1500).contains(&n), "{n} redials in an hour");
    assert!(!s.is_connected());

    // The server comes back: a waiting call completes within one capped delay.
    let call = {
        let (s, fid) = (s.clone(), fid);
        tokio::spawn(async move { (s.read(&fid, 0, 100).await, Instant::now()) })
    };
    tokio::time::sleep(ms(10)).await;
    assert!(!call.is_finished(), "calls wait while the server is away");
    let back = Instant::now();
    server.resume_listening().await.unwrap();
    let (got, at) = support::within(call).await.unwrap();
    assert_eq!(got.unwrap(), data(100, 1));
    assert!(
        at - back <= BACKOFF.cap,
        "answered {:?} after the server came back",
        at - back
    );
    assert_eq!(s.stats().reconnects, 1);

    // A success resets the schedule: the next outage starts from the base delay again.
    server.stop_listening().await;
    server.drop_connections();
    let before = dialer.dials().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = &dialer.dials()[before..];
    assert!(
        again.len() >= 3,
        "{} redials in the first second",
        again.len()
    );
    let (lo, hi) = bounds(0);
    let gap = again[1] - again[0];
    assert!(lo <= gap && gap <= hi, "first gap after a reset: {gap:?}");
    server.resume_listening().await.unwrap();
    server.shutdown().await;
}

const STALL: Duration = Duration::from_secs(8);
const WINDOW: Duration = Duration::from_secs(3);

fn liveness_opts() -> Options {
    Options {
        stall_timeout: Some(STALL),
        liveness_timeout: WINDOW,
        backoff: BACKOFF,
        ..root_opts()
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_is_probed_at_the_stall_timeout_and_dropped_a_window_later() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let dialer = Recorder::new(&server);
    let s = Session::connect_with(dialer.clone(), liveness_opts())
        .await
        .unwrap();
    let fid = create_file(&s, "f").await;
    s.write(&fid, 0, data(100, 2)).await.unwrap();
    // Every reply from now on is held for an hour: the connection is wedged, not closed.
    server.set_reply_delay(Some(Duration::from_secs(3600)));
    let probes = server.counters().frames(MessageType::Tgetattr);
    let sent = Instant::now();
    let call = {
        let (s, fid) = (s.clone(), fid);
        tokio::spawn(async move { (s.read(&fid, 0, 100).await, Instant::now()) })
    };
    tokio::time::sleep(STALL - ms(1)).await;
    assert_eq!(
        server.counters().frames(MessageType::Tgetattr),
        probes,
        "no probe before the stall timeout"
    );
    tokio::time::sleep(ms(2)).await;
    assert_eq!(
        server.counters().frames(MessageType::Tgetattr),
        probes + 1,
        "one probe at the stall timeout"
    );
    assert_eq!(dialer.dials().len(), 1);
    tokio::time::sleep(WINDOW - ms(2)).await;
    assert!(
        s.is_connected(),
        "alive until the window after the probe ends"
    );
    assert_eq!(dialer.dials().len(), 1);
    tokio::time::sleep(ms(2)).await;
    assert_eq!(
        dialer.dials().len(),
        2,
        "declared dead {:?} after the send and redialled",
        STALL + WINDOW
    );
    assert!(Instant::now() - sent <= STALL + WINDOW + ms(1));

    // Wedged for hours: the session keeps redialling, the call keeps waiting, nothing fails.
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert!(
        !call.is_finished(),
        "the call blocks while the server is wedged"
    );
    assert!(dialer.dials().len() > 100, "{} dials", dialer.dials().len());
    let healed = Instant::now();
    server.set_reply_delay(None);
    let (got, at) = support::within(call).await.unwrap();
    assert_eq!(got.unwrap(), data(100, 2));
    // Worst case: the attempt under way times out (probe), then one capped delay.
    let bound = s.options().probe_timeout.unwrap() + BACKOFF.cap;
    assert!(
        at - healed <= bound,
        "answered {:?} after the server healed",
        at - healed
    );
    assert!(settled(|| s.stats().in_flight == 0).await);
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_reply_with_answered_probes_keeps_the_connection_for_hours() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let dialer = Recorder::new(&server);
    // Probes alone: the request timeout (tests/overdue.rs) would flush and resend a reply
    // this slow.
    let o = Options {
        request_timeout: None,
        ..liveness_opts()
    };
    let s = Session::connect_with(dialer.clone(), o).await.unwrap();
    let fid = create_file(&s, "f").await;
    s.write(&fid, 0, data(100, 3)).await.unwrap();
    // Reads take two hours; probes (getattr) are answered at once.
    let slow = Duration::from_secs(2 * 3600);
    server.set_reply_delay_for(MessageType::Tread, Some(slow));
    let probes = server.counters().frames(MessageType::Tgetattr);
    let sent = Instant::now();
    let got = tokio::time::timeout(slow + Duration::from_secs(60), s.read(&fid, 0, 100))
        .await
        .expect("answered when due, not resent forever");
    assert_eq!(got.unwrap(), data(100, 3));
    assert_eq!(
        Instant::now() - sent,
        slow,
        "answered by the same connection, when due"
    );
    assert_eq!(s.stats().reconnects, 0);
    assert_eq!(dialer.dials().len(), 1);
    // Probed once per stall timeout, never more.
    let n = server.counters().frames(MessageType::Tgetattr) - probes;
    let most = (slow.as_secs() / STALL.as_secs()) + 1;
    assert!(n >= most / 2 && n <= most, "{n} probes in {slow:?}");
    server.shutdown().await;
}
