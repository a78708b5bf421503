//! Fid table transitions: release, references, pins, connection loss.

use super::*;

#[test]
fn a_fid_the_server_never_created_is_recycled_at_release() {
    let mut t = FidTable::default();
    let (fid, generation) = t.alloc();
    t.release(fid, generation);
    assert!(t.get(fid).is_none());
    assert_eq!(t.outstanding(), 0);
}

#[test]
fn a_referenced_fid_waits_for_its_last_request_before_release() {
    let mut t = FidTable::default();
    let (fid, generation) = t.alloc();
    t.get_mut(fid).unwrap().refs = 2;
    t.release(fid, generation);
    assert!(t.get(fid).is_some(), "a request still names it");
    t.unref(fid, generation);
    assert!(t.get(fid).is_some());
    t.unref(fid, generation);
    assert!(t.get(fid).is_none(), "the last reference recycles it");
}

#[test]
fn a_stale_generation_neither_releases_nor_unrefs() {
    let mut t = FidTable::default();
    let (fid, generation) = t.alloc();
    t.get_mut(fid).unwrap().refs = 1;
    t.release(fid, generation + 1);
    t.unref(fid, generation + 1);
    let r = t.get(fid).unwrap();
    assert!(!r.released && r.refs == 1);
}

#[test]
fn a_released_attach_root_lives_until_its_last_descendant_is_recycled() {
    let mut t = FidTable::default();
    let (root, root_gen) = attach(&mut t);
    let (a, a_gen) = walked(&mut t, root, &["a"], 10);
    let (b, b_gen) = walked(&mut t, a, &["b"], 11);
    assert_eq!(walk_of(&t, b), Some((root, vec!["a".into(), "b".into()])));
    assert_eq!(t.get(root).unwrap().refs, 2, "pinned by both");
    t.connection_lost(0);
    t.release(root, root_gen);
    assert!(t.get(root).is_some());
    t.release(a, a_gen);
    assert!(t.get(a).is_none());
    assert!(t.get(root).is_some(), "b still pins it");
    t.release(b, b_gen);
    assert!(
        t.get(b).is_none() && t.get(root).is_none(),
        "the cascade recycled the root"
    );
    assert_eq!(t.outstanding(), 0);
}

#[test]
fn a_live_released_fid_waits_for_the_replay_sweep_while_offline() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 10);
    // Offline (a connection replaying): the server may know it, nothing can clunk it yet.
    t.release(fid, generation);
    let r = t.get(fid).expect("kept for the sweep");
    assert!(r.state == FidState::Live && r.released);
}

#[test]
fn losing_the_current_connection_forgets_liveness_and_recycles_released_fids() {
    let mut t = FidTable::default();
    t.conn_id = 7;
    t.online = true;
    let (root, _) = attach(&mut t);
    let (kept, _) = walked(&mut t, root, &["k"], 10);
    let (gone, _) = walked(&mut t, root, &["g"], 11);
    {
        let r = t.get_mut(gone).unwrap();
        r.released = true;
        r.state = FidState::Clunking;
    }
    // Another connection's loss changes nothing.
    t.connection_lost(6);
    assert!(t.online && t.get(kept).unwrap().is_live() && t.get(gone).is_some());
    t.connection_lost(7);
    assert!(!t.online);
    assert!(!t.get(kept).unwrap().is_live(), "replay must restore it");
    assert!(
        t.get(gone).is_none(),
        "released and now unknown to any server: recycled"
    );
    assert_eq!(t.get(root).unwrap().refs, 1, "only kept pins the root now");
}
