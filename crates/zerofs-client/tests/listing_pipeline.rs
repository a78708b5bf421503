//! `read_dir` of a large directory on a server with positional readdir cookies (ZeroFS, the
//! memserver): up to four batches are asked for at once, at predicted cookies (issue 19).
//! Pinned here by the cookies of the `Treaddirattr` frames the memserver receives, which also
//! pins the batch size (1000 entries, ZeroFS's) the predictions rest on.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;
use zerofs_9p_proto::{Frame, Message};
use zerofs_client::Client;
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};

async fn setup() -> (ServerHandle, Arc<Client>) {
    let s = MemServer::start(Config::new(Generation::Z).ephemeral_unix())
        .await
        .unwrap();
    let c = Client::connect(&s.unix_target().unwrap()).await.unwrap();
    (s, c)
}

/// Creates `dir` with `n` empty files `e<i>`, 16 at a time.
async fn fill(c: &Arc<Client>, dir: &str, n: usize) {
    c.create_dir(dir, 0o755).await.unwrap();
    let mut set = JoinSet::new();
    for i in 0..n {
        if set.len() >= 16 {
            set.join_next().await.unwrap().unwrap();
        }
        let (c, path) = (c.clone(), format!("{dir}/e{i}"));
        set.spawn(async move { c.write(&path, b"").await.unwrap() });
    }
    while set.join_next().await.is_some() {}
}

/// Records the cookie of every `Treaddirattr` from now on (losing no reply).
fn record_cookies(s: &ServerHandle) -> Arc<Mutex<Vec<u64>>> {
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = seen.clone();
    s.lose_reply_after(ReplyLoss::matching(u32::MAX, move |f: &Frame| {
        if let Message::Treaddirattr(t) = &f.message {
            sink.lock().unwrap().push(t.offset);
        }
        false
    }));
    seen
}

/// Lists `dir` and checks it holds exactly `e0..e<n>`; returns the sorted cookies asked for.
async fn list_and_check(
    s: &ServerHandle,
    c: &Client,
    dir: &str,
    names: &HashSet<String>,
) -> Vec<u64> {
    let seen = record_cookies(s);
    let entries = c.read_dir(dir).await.unwrap();
    s.clear_reply_loss();
    let got: Vec<String> = entries.into_iter().map(|e| e.name).collect();
    assert_eq!(got.len(), names.len(), "no entry twice, none missing");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), *names);
    let mut cookies = seen.lock().unwrap().clone();
    cookies.sort_unstable();
    cookies
}

fn names(n: usize) -> HashSet<String> {
    (0..n).map(|i| format!("e{i}")).collect()
}

#[tokio::test]
async fn a_large_listing_keeps_four_batches_in_flight() {
    let (s, c) = setup().await;
    // 4502 entries with `.` and `..`: cookies 1..=4502, batches of 1000.
    fill(&c, "/d", 4500).await;
    let cookies = list_and_check(&s, &c, "/d", &names(4500)).await;
    // 0 and 1000 alone (two full batches set the stride), then 2000, 3000, 4000 and 5000 at
    // once; each full batch adds the next guess (6000, 7000) until 4000 turns out to be the
    // 502-entry tail; the end at 4502 is then asked for alone. Past the end: 5000-7000.
    assert_eq!(cookies, [0, 1000, 2000, 3000, 4000, 4502, 5000, 6000, 7000]);
}

#[tokio::test]
async fn a_long_listing_asks_at_most_three_batches_past_its_end() {
    let (s, c) = setup().await;
    fill(&c, "/d", 9500).await;
    let cookies = list_and_check(&s, &c, "/d", &names(9500)).await;
    // The frames of a one-at-a-time listing (0..=9000 and the end at 9502) plus the three
    // guesses in flight when the tail at 9000 arrived.
    let mut alone: Vec<u64> = (0..10).map(|i| i * 1000).collect();
    alone.push(9502);
    let past: Vec<u64> = cookies
        .iter()
        .copied()
        .filter(|c| !alone.contains(c))
        .collect();
    assert_eq!(past, [10_000, 11_000, 12_000], "{cookies:?}");
    assert_eq!(cookies.len(), alone.len() + 3);
}

#[tokio::test]
async fn small_listings_never_guess() {
    let (s, c) = setup().await;
    fill(&c, "/d", 1).await;
    assert_eq!(list_and_check(&s, &c, "/d", &names(1)).await, [0, 3]);
    fill(&c, "/e", 1500).await;
    // Two batches of different sizes: no stride is ever confirmed.
    assert_eq!(
        list_and_check(&s, &c, "/e", &names(1500)).await,
        [0, 1000, 1502]
    );
}

#[tokio::test]
async fn opaque_cookies_are_followed_one_batch_at_a_time() {
    let (s, c) = setup().await;
    fill(&c, "/d", 1200).await;
    // Holes in the cookie sequence: the first batch is not positional.
    for i in 0..10 {
        c.remove_file(format!("/d/e{i}")).await.unwrap();
    }
    let left: HashSet<String> = (10..1200).map(|i| format!("e{i}")).collect();
    let cookies = list_and_check(&s, &c, "/d", &left).await;
    // 1192 entries: a batch of 1000, one of 192, the empty end; nothing guessed.
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    assert_eq!(cookies[0], 0);
}
