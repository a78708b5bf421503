//! A connection's request state ([`ConnState`]) alone: no tokio, no socket, no clock. Time is
//! an `Instant` the test advances by hand, so hours pass in microseconds.

use std::time::{Duration, Instant};

use zerofs_9p_proto::MessageType;

use crate::conn::state::{Caller, ClunkTag, ConnState, Refused, Timeout};
use crate::liveness::{LivenessConfig, Verdict};
use crate::overdue::Recovery;
use crate::tags::Tags;

/// A caller as the state sees it.
#[derive(Debug, Default)]
struct Fake {
    written: bool,
    changes_fids: bool,
    recoveries: u32,
}

impl Caller for Fake {
    fn written(&self) -> bool {
        self.written
    }
    fn changes_fids(&self) -> bool {
        self.changes_fids
    }
    fn recovered(&mut self) {
        self.recoveries += 1;
    }
}

fn written() -> Fake {
    Fake {
        written: true,
        ..Fake::default()
    }
}

fn config(stall: Option<u64>, request: Option<u64>) -> LivenessConfig {
    LivenessConfig {
        stall: stall.map(Duration::from_secs),
        window: Duration::from_secs(3),
        request: request.map(Duration::from_secs),
    }
}

fn off() -> ConnState<Fake> {
    ConnState::new(config(None, None))
}

fn never() -> Instant {
    panic!("the clock was read although no timer needs it")
}

/// Registers a written `Tread` (flushable) and returns (tag, id).
fn read(st: &mut ConnState<Fake>, now: Instant) -> (u16, u64) {
    let tag = st.tag(MessageType::Tread, None).unwrap();
    let id = st.insert(tag, MessageType::Tread, written(), 0, None, || now);
    (tag, id)
}

/// Registers the `Tflush` of `tag`, if the state allows one.
fn flush(st: &mut ConnState<Fake>, tag: u16, now: Instant) -> Option<u16> {
    let (ftag, id) = st.flush_tag(tag, false)?;
    st.insert(
        ftag,
        MessageType::Tflush,
        written(),
        0,
        Some((tag, id)),
        || now,
    );
    Some(ftag)
}

#[test]
fn a_tag_is_free_again_once_its_reply_is_taken_and_never_twice_pending() {
    let mut st = off();
    let now = Instant::now();
    let (tag, _) = read(&mut st, now);
    assert_eq!(
        st.tag(MessageType::Tread, Some(tag)),
        Err(Refused::Busy),
        "pending"
    );
    let (slot, clunks) = st.take(tag).unwrap();
    assert_eq!(slot.request, MessageType::Tread);
    assert!(clunks.is_empty());
    assert!(st.take(tag).is_none(), "answered once");
    assert_eq!(st.tag(MessageType::Tread, Some(tag)), Ok(tag), "free again");
}

#[test]
fn no_clock_is_read_without_timers_and_once_per_busy_period_with_stall_detection() {
    let mut st = off();
    for _ in 0..3 {
        let tag = st.tag(MessageType::Tread, None).unwrap();
        st.insert(tag, MessageType::Tgetattr, written(), 0, None, never);
    }
    let mut st = ConnState::<Fake>::new(config(Some(8), None));
    let t0 = Instant::now();
    let (first, _) = read(&mut st, t0);
    let tag = st.tag(MessageType::Tread, None).unwrap();
    st.insert(tag, MessageType::Tread, written(), 0, None, never);
    st.take(first);
    st.take(tag);
    let mut asked = false;
    let tag = st.tag(MessageType::Tread, None).unwrap();
    st.insert(tag, MessageType::Tread, written(), 0, None, || {
        asked = true;
        t0
    });
    assert!(asked, "a new busy period starts the stall clock");
}

#[test]
fn a_flushed_tag_stays_reserved_until_the_flush_is_answered_even_if_the_reply_comes_first() {
    let mut st = off();
    let now = Instant::now();
    let (tag, _) = read(&mut st, now);
    let ftag = flush(&mut st, tag, now).unwrap();
    assert!(flush(&mut st, tag, now).is_none(), "flushed once");
    // The request's own reply overtakes the Rflush: the tag is not reused yet.
    st.take(tag).unwrap();
    assert_eq!(
        st.tag(MessageType::Tread, Some(tag)),
        Err(Refused::Busy),
        "reserved (PROTOCOL §5.3)"
    );
    let (f, _) = st.take(ftag).unwrap();
    assert_eq!(f.flushes.map(|(t, _)| t), Some(tag));
    assert_eq!(
        st.tag(MessageType::Tread, Some(tag)),
        Ok(tag),
        "settled by the flush's answer"
    );
}

#[test]
fn rflush_retires_only_the_request_it_named() {
    let mut st = off();
    let now = Instant::now();
    let (tag, id) = read(&mut st, now);
    let ftag = flush(&mut st, tag, now).unwrap();
    assert!(
        st.flushed(tag, id + 1).is_none(),
        "another id under that tag"
    );
    let (f, _) = st.take(ftag).unwrap();
    let (old, old_id) = f.flushes.unwrap();
    let retired = st.flushed(old, old_id).expect("the named request");
    assert_eq!(retired.id, id);
    assert_eq!(st.len(), 0);
    assert_eq!(
        st.tag(MessageType::Tread, Some(tag)),
        Ok(tag),
        "its tag is free"
    );
}

#[test]
fn only_written_requests_that_change_no_fid_are_flushed_and_not_after_a_refusal() {
    let mut st = off();
    let now = Instant::now();
    let queued = st.tag(MessageType::Tread, None).unwrap();
    st.insert(queued, MessageType::Tread, Fake::default(), 0, None, || now);
    let walk = st.tag(MessageType::Tread, None).unwrap();
    let creates_fid = Fake {
        written: true,
        changes_fids: true,
        ..Fake::default()
    };
    st.insert(walk, MessageType::Twalk, creates_fid, 0, None, || now);
    let clunk = st.tag(MessageType::Tread, None).unwrap();
    st.insert(clunk, MessageType::Tclunk, written(), 0, None, || now);
    for tag in [queued, walk, clunk] {
        assert!(st.flush_tag(tag, false).is_none(), "tag {tag}");
    }
    let (read_tag, _) = read(&mut st, now);
    assert!(
        st.flush_tag(read_tag, true).is_none(),
        "the server refuses Tflush"
    );
    assert!(st.flush_tag(read_tag, false).is_some());
}

#[test]
fn clunks_without_a_free_tag_wait_for_the_next_reply() {
    let mut st = off();
    let now = Instant::now();
    let mut tags = Vec::new();
    for _ in 0..Tags::CAPACITY {
        tags.push(read(&mut st, now).0);
    }
    assert_eq!(st.tag(MessageType::Tread, None), Err(Refused::Busy));
    assert_eq!(st.clunk_tag(7, 1), ClunkTag::Deferred);
    assert_eq!(st.clunk_tag(8, 2), ClunkTag::Deferred);
    let (_, clunks) = st.take(tags[0]).unwrap();
    assert_eq!(
        clunks,
        vec![(tags[0], 7, 1)],
        "one freed tag, the oldest clunk"
    );
    let (_, clunks) = st.take(tags[1]).unwrap();
    assert_eq!(clunks, vec![(tags[1], 8, 2)]);
    let (_, clunks) = st.take(tags[2]).unwrap();
    assert!(clunks.is_empty());
}

#[test]
fn a_killed_state_hands_back_every_slot_once_and_takes_nothing_more() {
    let mut st = off();
    let now = Instant::now();
    let (a, _) = read(&mut st, now);
    let (b, _) = read(&mut st, now);
    let mut drained: Vec<u16> = Vec::new();
    for slot in st.kill().unwrap() {
        drained.push(if slot.id == 0 { a } else { b });
    }
    drained.sort();
    assert_eq!(drained, {
        let mut v = vec![a, b];
        v.sort();
        v
    });
    assert!(st.kill().is_none(), "once");
    assert_eq!(st.tag(MessageType::Tread, None), Err(Refused::Dead));
    assert_eq!(st.clunk_tag(1, 1), ClunkTag::Dead);
    assert!(st.handle_timeout(now, None, true, false).is_none());
}

#[test]
fn a_stalled_connection_is_probed_then_declared_dead_in_simulated_time() {
    let mut st = ConnState::<Fake>::new(config(Some(8), None));
    let t0 = Instant::now();
    read(&mut st, t0);
    let s = |secs: u64| t0 + Duration::from_secs(secs);
    let t = st.handle_timeout(s(1), None, true, false).unwrap();
    assert_eq!((t.verdict, t.next), (Verdict::Fine, s(8)));
    let t = st.handle_timeout(s(8), None, true, false).unwrap();
    assert_eq!((t.verdict, t.next), (Verdict::Probe, s(11)));
    // Bytes arrive within the window: alive, the stall clock restarts from them.
    let t = st.handle_timeout(s(10), Some(s(9)), true, false).unwrap();
    assert_eq!((t.verdict, t.next), (Verdict::Fine, s(17)));
    let t = st.handle_timeout(s(17), None, true, false).unwrap();
    assert_eq!(t.verdict, Verdict::Probe);
    let t = st.handle_timeout(s(20), None, true, false).unwrap();
    assert_eq!(t.verdict, Verdict::Dead);
}

#[test]
fn late_requests_are_flushed_with_doubled_deadlines_and_unflushable_ones_kill() {
    let mut st = ConnState::<Fake>::new(config(None, Some(120)));
    let t0 = Instant::now();
    let h = |secs: u64| t0 + Duration::from_secs(secs);
    let (tag, id) = read(&mut st, t0);
    let Timeout { recovery, next, .. } = st.handle_timeout(h(60), None, true, false).unwrap();
    assert_eq!((recovery, next), (Recovery::Fine, h(120)));
    let t = st.handle_timeout(h(120), None, true, false).unwrap();
    assert_eq!(t.recovery, Recovery::Flush(vec![id]));
    assert_eq!(st.recover(&[id]), vec![(tag, MessageType::Tread)]);
    assert_eq!(st.get_mut(tag).unwrap().caller.recoveries, 1);
    // Its Rflush hands it back; the resend, recovered once, gets twice the time.
    let ftag = flush(&mut st, tag, h(120)).unwrap();
    st.take(ftag).unwrap();
    let retired = st.flushed(tag, id).unwrap();
    let again = st.tag(MessageType::Tread, None).unwrap();
    let recoveries = retired.caller.recoveries;
    st.insert(
        again,
        MessageType::Tread,
        written(),
        recoveries,
        None,
        || h(121),
    );
    let t = st.handle_timeout(h(360), None, true, false).unwrap();
    assert_eq!((t.recovery, t.next), (Recovery::Fine, h(361)));
    // A late request that changes fids cannot be flushed: the connection is closed for it.
    let walk = st.tag(MessageType::Tread, None).unwrap();
    let creates_fid = Fake {
        written: true,
        changes_fids: true,
        ..Fake::default()
    };
    let wid = st.insert(walk, MessageType::Twalk, creates_fid, 0, None, || h(300));
    let t = st.handle_timeout(h(420), None, true, false).unwrap();
    assert_eq!(
        t.recovery,
        Recovery::Dead {
            id: wid,
            flushed: false
        }
    );
    assert_eq!(st.mark_recovered(wid, true), Some(MessageType::Twalk));
}
