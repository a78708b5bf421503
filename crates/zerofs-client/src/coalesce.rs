//! Coalescing of identical concurrent reads: callers asking the same question at the same time
//! share one round trip, without ever being answered from before they asked.
//!
//! Per key there is at most one request **in flight** (the current round) and at most one
//! **waiting** round. A caller that arrives while a round is in flight cannot use its answer:
//! that request may have been served before the caller started. It joins the waiting round
//! instead (creating it if needed), which is sent only once the in-flight round is answered, so
//! every caller gets an answer from a request sent after it started (linearizable). Under
//! load, any number of concurrent callers of one key cost two requests in flight at most.
//!
//! A round's leader is the caller that created it; the others wait on a `watch` channel. If
//! the leader's future is dropped (cancelled), its round disappears and the waiters start
//! over, so cancellation never strands anyone.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::Mutex;

use tokio::sync::watch;

/// After this many abandoned rounds, a caller sends its own request.
const MAX_JOINS: usize = 4;

/// One round: its id and, once someone waits for it, where its answer is published (a lone
/// caller allocates no channel).
#[derive(Debug)]
struct Round<V> {
    id: u64,
    publish: Option<watch::Sender<Option<V>>>,
}

impl<V> Round<V> {
    fn new(id: u64) -> Self {
        Round { id, publish: None }
    }

    /// A receiver of this round's answer (closed without one if the round is abandoned).
    fn subscribe(&mut self) -> watch::Receiver<Option<V>> {
        self.publish
            .get_or_insert_with(|| watch::channel(None).0)
            .subscribe()
    }
}

#[derive(Debug)]
struct Slot<K, V> {
    key: K,
    /// The round in flight.
    current: Option<Round<V>>,
    /// The round waiting for the current one to be answered.
    next: Option<Round<V>>,
}

/// The slots by the key's hash, which is computed once per call (the map does not hash it
/// again). Two keys with the same hash do not share a slot: the second runs alone.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug)]
struct Table<K, V> {
    slots: HashMap<u64, Slot<K, V>, BuildHasherDefault<Prehashed>>,
    next_id: u64,
}

/// Shares the answers of identical concurrent requests (see the module docs).
#[derive(Debug)]
pub(crate) struct Coalescer<K, V, S = RandomState> {
    table: Mutex<Table<K, V>>,
    hasher: S,
}

/// What a caller does in its round.
enum Role<V> {
    /// Wait for another caller's round.
    Join(watch::Receiver<Option<V>>),
    /// Lead a round, after `after` (the round in flight) is answered, if any.
    Lead {
        id: u64,
        after: Option<watch::Receiver<Option<V>>>,
    },
    /// Another key holds this key's slot (same hash): send alone.
    Alone,
}

/// Removes a leader's round from the table when it ends (answered or cancelled).
struct Leave<'a, K: Eq, V: Clone, S> {
    owner: &'a Coalescer<K, V, S>,
    hash: u64,
    id: u64,
    done: bool,
}

impl<K: Eq, V: Clone, S> Leave<'_, K, V, S> {
    /// Takes the round out of the table; returns where to publish its answer, if anyone
    /// waits for it.
    fn remove(&mut self) -> Option<watch::Sender<Option<V>>> {
        self.done = true;
        let mut t = self.owner.lock();
        let slot = t.slots.get_mut(&self.hash)?;
        let mut publish = None;
        if slot.current.as_ref().is_some_and(|r| r.id == self.id) {
            publish = slot.current.take().and_then(|r| r.publish);
        }
        if slot.next.as_ref().is_some_and(|r| r.id == self.id) {
            publish = slot.next.take().and_then(|r| r.publish);
        }
        if slot.current.is_none() && slot.next.is_none() {
            t.slots.remove(&self.hash);
        }
        publish
    }

    /// Ends the round with its answer.
    fn answer(mut self, v: &V) {
        if let Some(publish) = self.remove() {
            publish.send_replace(Some(v.clone()));
        }
    }
}

impl<K: Eq, V: Clone, S> Drop for Leave<'_, K, V, S> {
    fn drop(&mut self) {
        if !self.done {
            // Cancelled: the waiters see the channel close and start over.
            drop(self.remove());
        }
    }
}

impl<K, V, S> Coalescer<K, V, S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table<K, V>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Hash + Eq, V: Clone> Coalescer<K, V> {
    pub(crate) fn new() -> Self {
        Coalescer::with_hasher(RandomState::new())
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher> Coalescer<K, V, S> {
    fn with_hasher(hasher: S) -> Self {
        Coalescer {
            table: Mutex::new(Table {
                slots: HashMap::default(),
                next_id: 0,
            }),
            hasher,
        }
    }

    /// The answer to `key`: from a round this call leads (sending `ask()`), or from one it
    /// joined that was sent after it started.
    pub(crate) async fn run<F, Fut>(&self, key: K, ask: F) -> V
    where
        F: Fn() -> Fut,
        Fut: Future<Output = V>,
    {
        let hash = self.hasher.hash_one(&key);
        let mut key = Some(key);
        for _ in 0..MAX_JOINS {
            match self.role(hash, &mut key) {
                Role::Join(mut rx) => {
                    if let Ok(v) = rx.wait_for(Option::is_some).await {
                        if let Some(v) = v.clone() {
                            return v;
                        }
                    }
                    // The round's leader was cancelled: start over.
                }
                Role::Lead { id, after } => {
                    let leave = Leave {
                        owner: self,
                        hash,
                        id,
                        done: false,
                    };
                    if let Some(mut before) = after {
                        // Answered or abandoned: either way it is no longer in flight.
                        let _ = before.wait_for(Option::is_some).await;
                        self.promote(hash, id);
                    }
                    let v = ask().await;
                    leave.answer(&v);
                    return v;
                }
                Role::Alone => break,
            }
        }
        ask().await
    }

    /// Joins the waiting round of the key, or creates it (behind the round in flight), or
    /// starts the round in flight. `key` is moved into the table when a slot is created.
    fn role(&self, hash: u64, key: &mut Option<K>) -> Role<V> {
        let mut t = self.lock();
        t.next_id += 1;
        let id = t.next_id;
        match t.slots.get_mut(&hash) {
            Some(slot) if key.as_ref().is_none_or(|k| *k != slot.key) => Role::Alone,
            Some(Slot {
                next: Some(waiting),
                ..
            }) => Role::Join(waiting.subscribe()),
            Some(slot) => {
                let after = slot.current.as_mut().map(Round::subscribe);
                if after.is_some() {
                    slot.next = Some(Round::new(id));
                } else {
                    slot.current = Some(Round::new(id));
                }
                Role::Lead { id, after }
            }
            None => match key.take() {
                Some(key) => {
                    t.slots.insert(
                        hash,
                        Slot {
                            key,
                            current: Some(Round::new(id)),
                            next: None,
                        },
                    );
                    Role::Lead { id, after: None }
                }
                // The key went into a slot that is gone (an earlier attempt): send alone.
                None => Role::Alone,
            },
        }
    }

    /// The waiting round `id` goes in flight: later callers queue behind it.
    fn promote(&self, hash: u64, id: u64) {
        let mut t = self.lock();
        if let Some(slot) = t.slots.get_mut(&hash) {
            if slot.next.as_ref().is_some_and(|r| r.id == id) {
                // The round it replaces has been answered or abandoned.
                slot.current = slot.next.take();
            }
        }
    }

    /// Keys with a round in flight or waiting (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().slots.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn a_lone_caller_sends_its_own_request() {
        let c = Coalescer::<u32, u32>::new();
        let sent = AtomicUsize::new(0);
        let v = c
            .run(1, || async {
                sent.fetch_add(1, Ordering::SeqCst);
                7
            })
            .await;
        assert_eq!(v, 7);
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        assert_eq!(c.len(), 0, "the table is empty once the round ends");
    }

    /// Callers that arrive while a round is in flight never get its answer: they share the
    /// next round, sent after the first is answered.
    #[tokio::test]
    async fn late_callers_share_the_next_round_not_the_one_in_flight() {
        let c = Arc::new(Coalescer::<u32, u64>::new());
        let sent = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Notify::new());
        let ask = {
            let sent = sent.clone();
            let gate = gate.clone();
            move || {
                let sent = sent.clone();
                let gate = gate.clone();
                async move {
                    let n = sent.fetch_add(1, Ordering::SeqCst) as u64;
                    gate.notified().await;
                    n
                }
            }
        };
        let first = tokio::spawn({
            let c = c.clone();
            let ask = ask.clone();
            async move { c.run(9, ask).await }
        });
        // Let the first round go in flight.
        for _ in 0..100 {
            if sent.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        let late: Vec<_> = (0..10)
            .map(|_| {
                let c = c.clone();
                let ask = ask.clone();
                tokio::spawn(async move { c.run(9, ask).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(sent.load(Ordering::SeqCst), 1, "nobody sends while waiting");
        gate.notify_one();
        assert_eq!(first.await.unwrap(), 0);
        for _ in 0..100 {
            if sent.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        gate.notify_one();
        for h in late {
            assert_eq!(h.await.unwrap(), 1, "answered by the second round");
        }
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        assert_eq!(c.len(), 0);
    }

    /// Every key hashes alike.
    #[derive(Debug, Default, Clone)]
    struct Colliding;

    impl BuildHasher for Colliding {
        type Hasher = Prehashed;
        fn build_hasher(&self) -> Prehashed {
            Prehashed(42)
        }
    }

    /// Keys that share a hash never share an answer: while one holds the slot, the other is
    /// asked on its own.
    #[tokio::test]
    async fn colliding_keys_are_asked_alone() {
        let c = Arc::new(Coalescer::<u32, u32, Colliding>::with_hasher(Colliding));
        let hold = Arc::new(Notify::new());
        let first = held(&c, 1, &hold);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(c.len(), 1, "key 1 holds the slot");
        assert_eq!(c.run(2, || async { 2 }).await, 2);
        hold.notify_one();
        assert_eq!(first.await.unwrap(), 1);
        assert_eq!(c.len(), 0);
    }

    /// A round nobody waits for allocates no channel; one with a joiner publishes to it.
    #[tokio::test]
    async fn a_channel_is_made_only_for_waiters() {
        let c = Arc::new(Coalescer::<u32, u32>::new());
        let hold = Arc::new(Notify::new());
        let [first, second, third] = three_callers(&c, &hold).await;
        {
            let t = c.lock();
            let slot = t.slots.values().next().expect("one slot");
            assert!(
                slot.current.as_ref().unwrap().publish.is_some(),
                "the second caller waits on the first round"
            );
            assert!(
                slot.next.as_ref().unwrap().publish.is_some(),
                "the third caller joined the second round"
            );
        }
        hold.notify_one();
        assert_eq!(
            (
                first.await.unwrap(),
                second.await.unwrap(),
                third.await.unwrap()
            ),
            (1, 2, 2)
        );
        // A lone caller: its round is in the table while it asks, with no channel.
        let lone = Coalescer::<u32, bool>::new();
        let had_channel = lone
            .run(7, || async {
                let t = lone.lock();
                let slot = t.slots.values().next().expect("the lone round's slot");
                slot.current.as_ref().expect("in flight").publish.is_some()
            })
            .await;
        assert!(!had_channel);
    }

    #[tokio::test]
    async fn different_keys_do_not_share() {
        let c = Arc::new(Coalescer::<u32, u32>::new());
        let (a, b) = tokio::join!(c.run(1, || async { 1 }), c.run(2, || async { 2 }));
        assert_eq!((a, b), (1, 2));
    }

    type Task = tokio::task::JoinHandle<u32>;

    /// A caller of `key` whose round answers 1 once `hold` is notified.
    fn held<S>(c: &Arc<Coalescer<u32, u32, S>>, key: u32, hold: &Arc<Notify>) -> Task
    where
        S: BuildHasher + Send + Sync + 'static,
    {
        let c = c.clone();
        let hold = hold.clone();
        tokio::spawn(async move {
            c.run(key, || {
                let hold = hold.clone();
                async move {
                    hold.notified().await;
                    1
                }
            })
            .await
        })
    }

    /// Three callers of one key: the first leads a round held until `hold` is notified, the
    /// second leads the waiting round behind it, the third joins the second's round. Each
    /// round answers its leader's number.
    async fn three_callers(c: &Arc<Coalescer<u32, u32>>, hold: &Arc<Notify>) -> [Task; 3] {
        let first = held(c, 5, hold);
        let mut tasks = vec![first];
        for n in [2, 3] {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let c = c.clone();
            tasks.push(tokio::spawn(
                async move { c.run(5, || async move { n }).await },
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        tasks.try_into().expect("three tasks")
    }

    /// A cancelled leader strands nobody: its waiters start over and get an answer.
    #[tokio::test]
    async fn a_cancelled_leader_hands_over() {
        let c = Arc::new(Coalescer::<u32, u32>::new());
        let hold = Arc::new(Notify::new());
        let [first, second, third] = three_callers(&c, &hold).await;
        first.abort();
        assert!(first.await.is_err());
        assert_eq!(second.await.unwrap(), 2);
        assert_eq!(third.await.unwrap(), 2, "shares the second round");
        assert_eq!(c.len(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiting_leader_lets_its_joiners_retry() {
        let c = Arc::new(Coalescer::<u32, u32>::new());
        let hold = Arc::new(Notify::new());
        let [first, second, third] = three_callers(&c, &hold).await;
        second.abort();
        assert!(second.await.is_err());
        // The third now waits behind the first (it leads a new waiting round).
        hold.notify_one();
        assert_eq!(first.await.unwrap(), 1);
        assert_eq!(third.await.unwrap(), 3);
        assert_eq!(c.len(), 0);
    }
}
