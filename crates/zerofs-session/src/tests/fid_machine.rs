//! The fid table as a pure state machine: clunks are orders it hands out, never messages it
//! sends. A property test drives it through random interleavings of walks, requests naming
//! fids, releases, the window between deciding a clunk and handing it to a connection,
//! replies, connection losses and replays, and checks after every step that no fid is
//! forgotten (a `Clunking` fid always has exactly one order on its way), that a number is never
//! reused while the server may know it, and that everything is recycled once released.

use proptest::prelude::*;
use zerofs_9p_proto::{Dialect, Message, Rwalk};

use super::*;
use crate::effects::{BindHow, Effect};
use crate::fids::ClunkOrder;

fn rwalk(path: u64) -> Message {
    Message::Rwalk(Rwalk {
        wqids: vec![qid(path)],
    })
}

#[test]
fn a_released_live_fid_orders_one_clunk_for_the_current_connection() {
    let mut t = FidTable::default();
    t.conn_id = 3;
    t.online = true;
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 10);
    assert!(t.take_clunks().is_empty());
    t.release(fid, generation);
    let orders = t.take_clunks();
    assert_eq!(
        orders,
        vec![ClunkOrder {
            fid,
            generation,
            conn_id: 3
        }]
    );
    assert_eq!(t.get(fid).unwrap().state, FidState::Clunking);
    t.finalize_all();
    assert!(t.take_clunks().is_empty(), "ordered once");
    Effect::Clunk { fid, generation }.apply(&mut t, &Message::Rclunk, Dialect::Plain);
    assert!(t.get(fid).is_none(), "recycled by its Rclunk");
}

#[test]
fn an_order_its_connection_could_not_take_makes_the_fid_live_again() {
    let mut t = FidTable::default();
    t.conn_id = 3;
    t.online = true;
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 10);
    t.release(fid, generation);
    let order = t.take_clunks()[0];
    // An order for an older connection changes nothing.
    t.clunk_not_sent(ClunkOrder {
        conn_id: 2,
        ..order
    });
    assert_eq!(t.get(fid).unwrap().state, FidState::Clunking);
    t.clunk_not_sent(order);
    assert_eq!(t.get(fid).unwrap().state, FidState::Live);
    // The loss that made the send fail is recorded next: the fid is recycled.
    t.connection_lost(3);
    assert!(t.get(fid).is_none());
}

#[test]
fn a_lost_connection_cancels_its_pending_orders() {
    let mut t = FidTable::default();
    t.conn_id = 3;
    t.online = true;
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 10);
    t.release(fid, generation);
    t.connection_lost(3);
    assert!(
        t.take_clunks().is_empty(),
        "nothing to send on a dead connection"
    );
    assert!(t.get(fid).is_none(), "unknown to any server now: recycled");
}

#[test]
fn the_core_guard_sends_after_unlocking_and_returns_what_it_could_not_send() {
    // A core with no published connection: the order cannot be handed to anyone.
    let core = core();
    let (fid, generation) = {
        let mut t = core.fids();
        t.online = true;
        let (root, _) = attach(&mut t);
        walked(&mut t, root, &["f"], 10)
    };
    core.fids().release(fid, generation);
    let t = core.fids();
    let r = t.get(fid).expect("kept: the server may know it");
    assert!(r.released && r.state == FidState::Live, "{r:?}");
}

#[derive(Debug, Clone)]
enum Step {
    /// Walk a new fid from a held one (created only while a connection is published).
    Walk(usize),
    /// A request naming a held fid starts.
    Use(usize),
    /// A request in flight completes.
    Done(usize),
    /// A guard drops.
    Release(usize),
    /// An order decided earlier reaches the driver, which hands it to the current connection.
    Hand(usize),
    /// The server answers a clunk in flight.
    Rclunk(usize),
    /// The published connection dies.
    Lose,
    /// A new connection is replayed (each restorable fid restored, or stale) and published.
    Publish(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => any::<usize>().prop_map(Step::Walk),
        2 => any::<usize>().prop_map(Step::Use),
        2 => any::<usize>().prop_map(Step::Done),
        3 => any::<usize>().prop_map(Step::Release),
        3 => any::<usize>().prop_map(Step::Hand),
        3 => any::<usize>().prop_map(Step::Rclunk),
        1 => Just(Step::Lose),
        1 => any::<bool>().prop_map(Step::Publish),
    ]
}

/// The table and what the world around it holds.
struct World {
    t: FidTable,
    held: Vec<(u32, u64)>,
    using: Vec<(u32, u64)>,
    /// Orders taken from the table (when its lock was released) and not yet handed.
    taken: Vec<ClunkOrder>,
    /// Clunks written on the current connection, awaiting their reply.
    sent: Vec<ClunkOrder>,
    qpath: u64,
}

impl World {
    fn new() -> World {
        let mut t = FidTable::default();
        t.conn_id = 1;
        t.online = true;
        let root = attach(&mut t);
        World {
            t,
            held: vec![root],
            using: Vec::new(),
            taken: Vec::new(),
            sent: Vec::new(),
            qpath: 100,
        }
    }

    fn pick<T: Copy>(v: &[T], i: usize) -> Option<(usize, T)> {
        (!v.is_empty()).then(|| (i % v.len(), v[i % v.len()]))
    }

    fn hand(&mut self, order: ClunkOrder) {
        if self.t.online && order.conn_id == self.t.conn_id {
            self.sent.push(order);
        } else {
            self.t.clunk_not_sent(order);
        }
    }

    fn lose(&mut self) {
        if !self.t.online {
            return;
        }
        let id = self.t.conn_id;
        self.t.connection_lost(id);
        // The dead connection's clunk tickets come back unanswered.
        for o in std::mem::take(&mut self.sent) {
            Effect::Clunk {
                fid: o.fid,
                generation: o.generation,
            }
            .abandon(&mut self.t);
        }
    }

    fn publish(&mut self, restore: bool) {
        if self.t.online {
            return;
        }
        self.t.conn_id += 1;
        for (_, r) in self.t.iter_mut() {
            if r.binding.is_some() && !r.is_stale() {
                r.state = if restore {
                    FidState::Live
                } else {
                    FidState::Stale
                };
            }
        }
        self.t.online = true;
        self.t.finalize_all();
    }

    fn apply(&mut self, s: Step) -> Result<(), TestCaseError> {
        match s {
            Step::Walk(i) => {
                if let Some((_, (src, _))) = Self::pick(&self.held, i) {
                    let (fid, generation) = self.t.alloc();
                    // An order for a dead connection is never sent; any other still may be.
                    let sendable = |o: &&ClunkOrder| self.t.online && o.conn_id == self.t.conn_id;
                    prop_assert!(
                        !self
                            .sent
                            .iter()
                            .chain(self.taken.iter().filter(sendable))
                            .any(|o| o.fid == fid),
                        "fid {fid} reused while its clunk is on its way"
                    );
                    if self.t.online && self.t.get(src).is_some_and(|r| r.is_live()) {
                        self.qpath += 1;
                        Effect::Bind {
                            fid,
                            generation,
                            how: BindHow::Walk {
                                src,
                                names: path(&["x"]),
                            },
                        }
                        .apply(
                            &mut self.t,
                            &rwalk(self.qpath),
                            Dialect::Plain,
                        );
                    }
                    self.held.push((fid, generation));
                }
            }
            Step::Use(i) => {
                if let Some((_, (fid, generation))) = Self::pick(&self.held, i) {
                    self.t.get_gen(fid, generation).unwrap().refs += 1;
                    self.using.push((fid, generation));
                }
            }
            Step::Done(i) => {
                if let Some((k, (fid, generation))) = Self::pick(&self.using, i) {
                    self.using.swap_remove(k);
                    self.t.unref(fid, generation);
                }
            }
            Step::Release(i) => {
                if let Some((k, (fid, generation))) = Self::pick(&self.held, i) {
                    self.held.swap_remove(k);
                    self.t.release(fid, generation);
                }
            }
            Step::Hand(i) => {
                if let Some((k, order)) = Self::pick(&self.taken, i) {
                    self.taken.swap_remove(k);
                    self.hand(order);
                }
            }
            Step::Rclunk(i) => {
                if let Some((k, o)) = Self::pick(&self.sent, i) {
                    self.sent.swap_remove(k);
                    Effect::Clunk {
                        fid: o.fid,
                        generation: o.generation,
                    }
                    .apply(&mut self.t, &Message::Rclunk, Dialect::Plain);
                }
            }
            Step::Lose => self.lose(),
            Step::Publish(restore) => self.publish(restore),
        }
        // The guard drains the outbox whenever the lock is released.
        let orders = self.t.take_clunks();
        self.taken.extend(orders);
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for (&fid, r) in self.t.iter() {
            let on_its_way = self
                .taken
                .iter()
                .chain(&self.sent)
                .filter(|o| o.fid == fid && o.generation == r.generation)
                .count();
            if r.state == FidState::Clunking {
                prop_assert!(r.released && r.refs == 0, "fid {fid}: {r:?}");
                prop_assert_eq!(on_its_way, 1, "fid {} clunking: {:?}", fid, r);
            }
            if self.t.online && r.released && r.refs == 0 {
                prop_assert_eq!(r.state, FidState::Clunking, "fid {} forgotten", fid);
            }
        }
        for o in &self.sent {
            let r = self.t.get(o.fid);
            prop_assert!(
                r.is_some_and(|r| r.generation == o.generation),
                "a clunk in flight for a recycled number {}",
                o.fid
            );
        }
        Ok(())
    }

    /// Releases everything and lets every clunk complete; then nothing may remain.
    fn wind_down(&mut self) -> Result<(), TestCaseError> {
        for (fid, generation) in std::mem::take(&mut self.using) {
            self.t.unref(fid, generation);
        }
        for (fid, generation) in std::mem::take(&mut self.held) {
            self.t.release(fid, generation);
        }
        self.publish(true);
        for _ in 0..10_000 {
            self.taken.extend(self.t.take_clunks());
            if self.taken.is_empty() && self.sent.is_empty() {
                break;
            }
            for o in std::mem::take(&mut self.taken) {
                self.hand(o);
            }
            for o in std::mem::take(&mut self.sent) {
                Effect::Clunk {
                    fid: o.fid,
                    generation: o.generation,
                }
                .apply(&mut self.t, &Message::Rclunk, Dialect::Plain);
            }
        }
        prop_assert_eq!(self.t.outstanding(), 0, "leaked fids: {:?}", {
            self.t
                .iter()
                .map(|(f, r)| (*f, r.state))
                .collect::<Vec<_>>()
        });
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_interleavings_never_forget_a_fid_nor_reuse_one_the_server_knows(
        steps in proptest::collection::vec(step(), 1..120)
    ) {
        let mut w = World::new();
        for s in steps {
            w.apply(s)?;
        }
        w.wind_down()?;
    }
}
