//! A request's ticket: the fid references it holds, what dropping it resolves, and which
//! `.Z` answers ask for a resend.

use zerofs_9p_proto::consts::envelope::RETRY;
use zerofs_9p_proto::consts::errno::{ENOENT, ENOTCONN, ESHUTDOWN, ESTALE};
use zerofs_9p_proto::{Dialect, Envelope, Message, Rlerror, Tread};

use super::*;
use crate::effects::Effect;
use crate::error::SessionError;
use crate::request::{Ticket, clamp_reply_count};
use crate::resend::Resend;

fn error(ecode: u32) -> Message {
    Message::Rlerror(Rlerror { ecode })
}

#[test]
fn a_ticket_references_its_fids_until_dropped() {
    let core = core();
    let (root, a) = {
        let mut t = core.fids();
        let (root, _) = attach(&mut t);
        let (a, _) = walked(&mut t, root, &["a"], 10);
        (root, a)
    };
    let ticket = Ticket::new(core.clone(), Effect::None, &[root, a], Vec::new()).unwrap();
    assert_eq!(core.fids().get(a).unwrap().refs, 1);
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        2,
        "named, and pinned by a"
    );
    ticket.check_fids().unwrap();
    drop(ticket);
    assert_eq!(core.fids().get(a).unwrap().refs, 0);
    assert_eq!(core.fids().get(root).unwrap().refs, 1);
}

#[test]
fn a_fid_released_under_a_ticket_is_recycled_when_the_ticket_drops() {
    let core = core();
    let (fid, generation) = core.fids().alloc();
    let ticket = Ticket::new(core.clone(), Effect::None, &[fid], Vec::new()).unwrap();
    {
        core.fids().release(fid, generation);
    }
    assert!(
        core.fids().get(fid).is_some(),
        "the request in flight holds it"
    );
    drop(ticket);
    assert!(
        core.fids().get(fid).is_none(),
        "released with the last reference"
    );
}

#[test]
fn unknown_or_stale_fids_are_refused_without_leaking_references() {
    let core = core();
    let (root, a) = {
        let mut t = core.fids();
        let (root, _) = attach(&mut t);
        let (a, _) = walked(&mut t, root, &["a"], 10);
        t.get_mut(a).unwrap().state = crate::fids::FidState::Stale;
        (root, a)
    };
    let e = Ticket::new(core.clone(), Effect::None, &[root, 99], Vec::new()).unwrap_err();
    assert!(matches!(e, SessionError::UnknownFid(99)), "{e}");
    let e = Ticket::new(core.clone(), Effect::None, &[root, a], Vec::new()).unwrap_err();
    assert!(matches!(e, SessionError::Stale { fid } if fid == a), "{e}");
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        1,
        "the reference taken on root before the refusal was dropped (1 = a's pin)"
    );
}

#[test]
fn a_ticket_notices_its_fid_going_stale_or_reused() {
    let core = core();
    let (fid, _) = core.fids().alloc();
    let ticket = Ticket::new(core.clone(), Effect::None, &[fid], Vec::new()).unwrap();
    core.fids().get_mut(fid).unwrap().state = crate::fids::FidState::Stale;
    assert!(matches!(
        ticket.check_fids(),
        Err(SessionError::Stale { .. })
    ));
    core.fids().get_mut(fid).unwrap().generation += 1;
    assert!(matches!(
        ticket.check_fids(),
        Err(SessionError::UnknownFid(_))
    ));
}

#[test]
fn dropping_a_clunk_ticket_abandons_the_clunk_and_recycles_the_fid() {
    let core = core();
    let (fid, generation) = core.fids().alloc();
    {
        let mut t = core.fids();
        let r = t.get_mut(fid).unwrap();
        r.released = true;
        // Its connection died with the clunk in flight: the server no longer knows it.
        r.state = crate::fids::FidState::Unbound;
    }
    drop(Ticket::background(
        core.clone(),
        Effect::Clunk { fid, generation },
    ));
    assert!(core.fids().get(fid).is_none());
}

#[test]
fn a_rename_ticket_is_a_pending_rename_until_dropped() {
    let core = core();
    let root = {
        let mut t = core.fids();
        let (root, _) = attach(&mut t);
        walked(&mut t, root, &["d", "f"], 10);
        root
    };
    let effect = Effect::Rename {
        old: (root, Some(b("d"))),
        new: (root, b("e")),
    };
    let ticket = Ticket::new(core.clone(), effect, &[root], Vec::new()).unwrap();
    let alt = core.fids().renames.alternative(root, &path(&["d", "f"]));
    assert_eq!(
        alt.map(|(_, p)| p),
        Some(path(&["e", "f"])),
        "replay may try e/f"
    );
    drop(ticket);
    assert_eq!(
        core.fids().renames.alternative(root, &path(&["d", "f"])),
        None
    );
}

#[test]
fn z_answers_that_ask_for_a_resend() {
    let core = core();
    let mut t = Ticket::background(core.clone(), Effect::None);
    t.envelope = Envelope {
        op_id: core.op_ids.next(),
        flags: 0,
        origin_epoch: 0,
    };
    assert_eq!(
        t.resend_reason(&error(ENOTCONN), Dialect::Z),
        Some(Resend::NotLeader)
    );
    assert_eq!(
        t.resend_reason(&error(ESHUTDOWN), Dialect::Z),
        Some(Resend::Shutdown)
    );
    assert_eq!(
        t.resend_reason(&error(ESTALE), Dialect::Z),
        None,
        "a first attempt's ESTALE is a result"
    );
    assert_eq!(t.resend_reason(&error(ENOENT), Dialect::Z), None);
    assert_eq!(
        t.resend_reason(&error(ENOTCONN), Dialect::Zerofs2),
        None,
        "only in .Z"
    );
    assert_eq!(t.resend_reason(&Message::Rclunk, Dialect::Z), None);
    // Once an attempt may have been seen, the envelope carries RETRY and ESTALE means unseen.
    assert_eq!(t.envelope().flags & RETRY, 0);
    t.sent_before = true;
    assert_eq!(t.envelope().flags & RETRY, RETRY);
    assert_eq!(
        t.envelope().op_id,
        t.envelope.op_id,
        "the same op-id across resends"
    );
    assert_eq!(
        t.resend_reason(&error(ESTALE), Dialect::Z),
        Some(Resend::UnseenRetry)
    );
    // Clunks are never resent, whatever the answer.
    let clunk = Ticket::background(
        core.clone(),
        Effect::Clunk {
            fid: 5,
            generation: 1,
        },
    );
    assert_eq!(clunk.resend_reason(&error(ENOTCONN), Dialect::Z), None);
    // Without de-duplication there is no RETRY flag to set.
    let mut plain = Ticket::background(core, Effect::None);
    plain.sent_before = true;
    assert_eq!(plain.envelope().flags & RETRY, 0);
}

#[test]
fn a_resent_read_asks_for_no_more_than_the_new_msize_carries() {
    let mut m = Message::Tread(Tread {
        fid: 1,
        offset: 0,
        count: 1 << 20,
    });
    clamp_reply_count(&mut m, 8192);
    let Message::Tread(r) = &m else {
        unreachable!()
    };
    assert_eq!(r.count, 8192 - 24);
    clamp_reply_count(&mut m, 1 << 20);
    let Message::Tread(r) = &m else {
        unreachable!()
    };
    assert_eq!(r.count, 8192 - 24, "never raised");
}
