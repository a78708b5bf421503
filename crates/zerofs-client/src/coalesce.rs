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
use std::hash::Hash;
use std::sync::Mutex;

use tokio::sync::watch;

/// After this many abandoned rounds, a caller sends its own request.
const MAX_JOINS: usize = 4;

/// One round: its id and where its answer is published.
#[derive(Debug)]
struct Round<V> {
    id: u64,
    answer: watch::Receiver<Option<V>>,
}

#[derive(Debug)]
struct Slot<V> {
    /// The round in flight.
    current: Option<Round<V>>,
    /// The round waiting for the current one to be answered.
    next: Option<Round<V>>,
}

#[derive(Debug)]
struct Table<K, V> {
    slots: HashMap<K, Slot<V>>,
    next_id: u64,
}

/// Shares the answers of identical concurrent requests (see the module docs).
#[derive(Debug)]
pub(crate) struct Coalescer<K, V> {
    table: Mutex<Table<K, V>>,
}

/// What a caller does in its round.
enum Role<V> {
    /// Wait for another caller's round.
    Join(watch::Receiver<Option<V>>),
    /// Lead a round, after `after` (the round in flight) is answered, if any.
    Lead {
        id: u64,
        after: Option<watch::Receiver<Option<V>>>,
        publish: watch::Sender<Option<V>>,
    },
}

/// Removes a leader's round from the table when it ends (answered or cancelled).
struct Leave<'a, K: Hash + Eq + Clone, V: Clone> {
    owner: &'a Coalescer<K, V>,
    key: &'a K,
    id: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for Leave<'_, K, V> {
    fn drop(&mut self) {
        let mut t = self.owner.lock();
        if let Some(slot) = t.slots.get_mut(self.key) {
            if slot.current.as_ref().is_some_and(|r| r.id == self.id) {
                slot.current = None;
            }
            if slot.next.as_ref().is_some_and(|r| r.id == self.id) {
                slot.next = None;
            }
            if slot.current.is_none() && slot.next.is_none() {
                t.slots.remove(self.key);
            }
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Coalescer<K, V> {
    pub(crate) fn new() -> Self {
        Coalescer {
            table: Mutex::new(Table {
                slots: HashMap::new(),
                next_id: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table<K, V>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer to `key`: from a round this call leads (sending `ask()`), or from one it
    /// joined that was sent after it started.
    pub(crate) async fn run<F, Fut>(&self, key: K, ask: F) -> V
    where
        F: Fn() -> Fut,
        Fut: Future<Output = V>,
    {
        for _ in 0..MAX_JOINS {
            match self.role(&key) {
                Role::Join(mut rx) => {
                    if let Ok(v) = rx.wait_for(Option::is_some).await {
                        if let Some(v) = v.clone() {
                            return v;
                        }
                    }
                    // The round's leader was cancelled: start over.
                }
                Role::Lead { id, after, publish } => {
                    let _leave = Leave {
                        owner: self,
                        key: &key,
                        id,
                    };
                    if let Some(mut before) = after {
                        // Answered or abandoned: either way it is no longer in flight.
                        let _ = before.wait_for(Option::is_some).await;
                        self.promote(&key, id);
                    }
                    let v = ask().await;
                    publish.send_replace(Some(v.clone()));
                    return v;
                }
            }
        }
        ask().await
    }

    /// Joins the waiting round of `key`, or creates it (behind the round in flight), or
    /// starts the round in flight.
    fn role(&self, key: &K) -> Role<V> {
        let mut t = self.lock();
        t.next_id += 1;
        let id = t.next_id;
        let (publish, answer) = watch::channel(None);
        match t.slots.get_mut(key) {
            Some(Slot {
                next: Some(waiting),
                ..
            }) => Role::Join(waiting.answer.clone()),
            Some(slot) => {
                let after = slot.current.as_ref().map(|r| r.answer.clone());
                let round = Round { id, answer };
                if after.is_some() {
                    slot.next = Some(round);
                } else {
                    slot.current = Some(round);
                }
                Role::Lead { id, after, publish }
            }
            None => {
                t.slots.insert(
                    key.clone(),
                    Slot {
                        current: Some(Round { id, answer }),
                        next: None,
                    },
                );
                Role::Lead {
                    id,
                    after: None,
                    publish,
                }
            }
        }
    }

    /// The waiting round `id` goes in flight: later callers queue behind it.
    fn promote(&self, key: &K, id: u64) {
        let mut t = self.lock();
        if let Some(slot) = t.slots.get_mut(key) {
            if slot.next.as_ref().is_some_and(|r| r.id == id) {
                // The round it replaces has been answered (its leader's cleanup may not have
                // run yet, and then leaves this one alone: the ids differ) or abandoned.
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

    #[tokio::test]
    async fn different_keys_do_not_share() {
        let c = Arc::new(Coalescer::<u32, u32>::new());
        let (a, b) = tokio::join!(c.run(1, || async { 1 }), c.run(2, || async { 2 }));
        assert_eq!((a, b), (1, 2));
    }

    type Task = tokio::task::JoinHandle<u32>;

    /// Three callers of one key: the first leads a round held until `hold` is notified, the
    /// second leads the waiting round behind it, the third joins the second's round. Each
    /// round answers its leader's number.
    async fn three_callers(c: &Arc<Coalescer<u32, u32>>, hold: &Arc<Notify>) -> [Task; 3] {
        let first = tokio::spawn({
            let c = c.clone();
            let hold = hold.clone();
            async move {
                c.run(5, || {
                    let hold = hold.clone();
                    async move {
                        hold.notified().await;
                        1
                    }
                })
                .await
            }
        });
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
