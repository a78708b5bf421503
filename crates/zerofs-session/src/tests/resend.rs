//! The resend policy ([`Attempts`]) alone, in hand-advanced time.

use std::time::{Duration, Instant};

use crate::error::SessionError;
use crate::resend::{Attempts, Resend};

const HORIZON: Duration = Duration::from_secs(30);

fn never() -> Instant {
    panic!("the clock was read for an outcome that needs no time")
}

#[test]
fn a_request_never_sent_or_answered_waits_for_a_connection_without_bound() {
    let mut a = Attempts::default();
    assert!(a.unhindered());
    a.lost(false, true, never).unwrap();
    assert!(
        a.unhindered(),
        "an attempt never written cannot have applied"
    );
    assert_eq!(a.deadline(HORIZON, true), None);
    assert!(!a.sent(), "not a resend of a written attempt");
}

#[test]
fn a_written_deduplicated_request_waits_at_most_its_horizon_from_the_first_loss() {
    let t0 = Instant::now();
    let mut a = Attempts::default();
    a.lost(true, true, || t0).unwrap();
    assert!(!a.unhindered());
    assert!(a.sent(), "the next attempt is a resend");
    assert!(!a.sent(), "counted once");
    // A second loss later does not move the bound.
    a.lost(true, true, || t0 + Duration::from_secs(20)).unwrap();
    let d = a.deadline(HORIZON, true).unwrap();
    assert_eq!(d.at, t0 + HORIZON);
    assert!(matches!(
        d.error(HORIZON),
        SessionError::OutcomeUnknown { horizon } if horizon == HORIZON
    ));
    // Without de-duplication there is nothing the horizon protects: wait as long as it takes.
    assert_eq!(a.deadline(HORIZON, false), None);
}

#[test]
fn a_written_request_that_may_not_be_resent_is_ambiguous() {
    let mut a = Attempts::default();
    assert!(matches!(
        a.lost(true, false, never),
        Err(SessionError::Ambiguous)
    ));
}

#[test]
fn not_the_leader_reroutes_within_the_horizon_then_fails_as_not_leader() {
    let t0 = Instant::now();
    let mut a = Attempts::default();
    let next = a.resend(Resend::NotLeader, || t0);
    assert_eq!(next.kill, Some("server is not the serving leader"));
    assert_eq!(
        next.sent_before, None,
        "refused before dispatch: never seen"
    );
    a.resend(Resend::NotLeader, || t0 + Duration::from_secs(10));
    let d = a.deadline(HORIZON, false).unwrap();
    assert_eq!(d.at, t0 + HORIZON, "from the first refusal");
    assert!(matches!(d.error(HORIZON), SessionError::NotLeader));
}

#[test]
fn shutdown_resends_with_retry_and_an_unseen_retry_as_a_first_attempt() {
    let t0 = Instant::now();
    let mut a = Attempts::default();
    let next = a.resend(Resend::Shutdown, || t0);
    assert_eq!(
        (next.kill, next.sent_before),
        (Some("server answered ESHUTDOWN"), Some(true))
    );
    assert_eq!(a.deadline(HORIZON, true).unwrap().at, t0 + HORIZON);
    let next = a.resend(Resend::UnseenRetry, never);
    assert_eq!((next.kill, next.sent_before), (None, Some(false)));
}

#[test]
fn a_protocol_violation_makes_the_outcome_unknown_and_busy_pauses_once() {
    let t0 = Instant::now();
    let mut a = Attempts::default();
    a.violation(|| t0);
    assert_eq!(a.deadline(HORIZON, true).unwrap().at, t0 + HORIZON);
    assert!(!a.take_busy());
    a.busy();
    assert!(a.take_busy());
    assert!(!a.take_busy());
}
