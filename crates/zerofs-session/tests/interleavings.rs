//! Property: random interleavings of calls, cancellations (before and after the request is
//! written, so withdrawn or flushed), reply delays and dropped connections, on every
//! generation of the in-memory memserver, never leak a request slot (tag) or a fid, and never
//! hand a reply to the wrong request (every file's content is distinct: a read answered with
//! another request's reply would show another file's bytes).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use support::{create_file, data, in_memory, root_opts, settled};
use zerofs_memserver::Generation;

const FILES: usize = 3;
const LEN: usize = 64;

#[derive(Debug, Clone)]
enum Op {
    /// Read a file, cancelled after this many microseconds (or never).
    Read { file: usize, cancel_us: Option<u64> },
    /// Stat a file the same way.
    Stat { file: usize, cancel_us: Option<u64> },
    /// Overwrite a file with the content of `seed` (never cancelled).
    Write { file: usize, seed: u8 },
    /// The server drops every connection.
    Drop,
    /// Replies from now on are delayed this many milliseconds (0: none).
    Delay(u64),
    /// The next op starts after this many microseconds.
    Pause(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let file = 0..FILES;
    let cancel = prop::option::of(0u64..3000);
    prop_oneof![
        4 => (file.clone(), cancel.clone()).prop_map(|(file, cancel_us)| Op::Read { file, cancel_us }),
        2 => (file.clone(), cancel).prop_map(|(file, cancel_us)| Op::Stat { file, cancel_us }),
        2 => (file, 0u8..4).prop_map(|(file, seed)| Op::Write { file, seed }),
        1 => Just(Op::Drop),
        1 => (0u64..4).prop_map(Op::Delay),
        2 => (0u64..2000).prop_map(Op::Pause),
    ]
}

/// A file's content for `seed`: distinct across files and seeds.
fn content(file: usize, seed: u8) -> Bytes {
    data(LEN, (file as u8) * 16 + seed)
}

async fn run(generation: Generation, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (server, s) = in_memory(generation, root_opts()).await;
    let mut fids = Vec::new();
    for (i, n) in ["a", "b", "c"].into_iter().enumerate() {
        let fid = create_file(&s, n).await;
        s.write(&fid, 0, content(i, 0)).await.unwrap();
        fids.push(std::sync::Arc::new(fid));
    }
    let base = s.outstanding_fids();
    // Every content a file may hold: writes are resent after a drop, never cancelled.
    let possible: Vec<HashSet<Bytes>> = (0..FILES)
        .map(|f| (0..4).map(|seed| content(f, seed)).collect())
        .collect();
    let mut tasks = Vec::new();
    for op in ops {
        match op {
            Op::Read { file, cancel_us } | Op::Stat { file, cancel_us } => {
                let stat = matches!(op, Op::Stat { .. });
                let (s, fid) = (s.clone(), fids[file].clone());
                tasks.push(tokio::spawn(async move {
                    let call = async {
                        if stat {
                            s.call(support::getattr_of(fid.id())).await.map(|_| None)
                        } else {
                            s.read(&fid, 0, LEN).await.map(Some)
                        }
                    };
                    match cancel_us {
                        Some(us) => tokio::time::timeout(Duration::from_micros(us), call)
                            .await
                            .ok(),
                        None => Some(call.await),
                    }
                    .map(|r| (file, r))
                }));
            }
            Op::Write { file, seed } => {
                let (s, fid) = (s.clone(), fids[file].clone());
                tasks.push(tokio::spawn(async move {
                    let r = s.write(&fid, 0, content(file, seed)).await.map(|_| None);
                    Some((file, r))
                }));
            }
            Op::Drop => server.drop_connections(),
            Op::Delay(ms) => {
                server.set_reply_delay((ms > 0).then(|| Duration::from_millis(ms)));
            }
            Op::Pause(us) => tokio::time::sleep(Duration::from_micros(us)).await,
        }
    }
    for t in tasks {
        let done = tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .expect("every call completes (bounded)")
            .unwrap();
        if let Some((file, r)) = done {
            let got = r.map_err(|e| TestCaseError::fail(format!("call failed: {e}")))?;
            if let Some(bytes) = got {
                prop_assert!(
                    possible[file].contains(&bytes),
                    "file {file} read bytes that are not its own"
                );
            }
        }
    }
    server.set_reply_delay(None);
    let settled = settled(|| s.stats().in_flight == 0 && s.outstanding_fids() == base).await;
    prop_assert!(
        settled,
        "leak: {} requests in flight, {} fids (base {base})",
        s.stats().in_flight,
        s.outstanding_fids()
    );
    for (file, fid) in fids.iter().enumerate() {
        let bytes = s.read(fid, 0, LEN).await.unwrap();
        prop_assert!(possible[file].contains(&bytes));
    }
    server.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn interleavings_leak_nothing_and_misdeliver_nothing(
        g in 0usize..4,
        ops in prop::collection::vec(op(), 1..40),
    ) {
        // A paused clock: delays, cancellations and pauses happen in simulated time, so a
        // case runs the same schedule every time (a failure replays, shrinking is faithful).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(run(Generation::ALL[g], ops))?;
    }
}
