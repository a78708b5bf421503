//! What each effect records in the fid table when its reply arrives, and what an abandoned
//! one leaves behind.

use zerofs_9p_proto::consts::open;
use zerofs_9p_proto::{
    Dialect, LockStatus, LockType, Message, MessageType, Rlcreate, Rlerror, Rlock, Rlopen, Rwalk,
    Tlock, Trename, Trenameat,
};

use super::*;
use crate::effects::{BindHow, Effect, effect_of, referenced_fids, typed_only};
use crate::fids::{FidState, HeldLock};

fn error() -> Message {
    Message::Rlerror(Rlerror { ecode: 2 })
}

fn walk(src: u32, names: &[&'static str]) -> BindHow {
    BindHow::Walk {
        src,
        names: path(names),
    }
}

fn rwalk(paths: &[u64]) -> Message {
    Message::Rwalk(Rwalk {
        wqids: paths.iter().map(|&p| qid(p)).collect(),
    })
}

fn lock(ty: LockType, start: u64, length: u64) -> HeldLock {
    HeldLock {
        ty,
        start,
        length,
        proc_id: 7,
        client_id: b("c"),
    }
}

#[test]
fn a_full_walk_binds_the_new_fid_under_the_attach_root_and_pins_it() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (dir, _) = walked(&mut t, root, &["a"], 10);
    let (fid, generation) = t.alloc();
    let refs = t.get(root).unwrap().refs;
    let e = Effect::Bind {
        fid,
        generation,
        how: walk(dir, &["b", "c"]),
    };
    e.apply(&mut t, &rwalk(&[11, 12]), Dialect::Plain);
    let r = t.get(fid).unwrap();
    assert!(r.is_live());
    assert_eq!(r.qid.map(|q| q.path), Some(12), "the last qid of the walk");
    assert_eq!(
        walk_of(&t, fid),
        Some((root, vec!["a".into(), "b".into(), "c".into()]))
    );
    assert_eq!(
        t.get(root).unwrap().refs,
        refs + 1,
        "the attach root is pinned"
    );
}

#[test]
fn an_empty_walk_clones_the_source_qid() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (dir, _) = walked(&mut t, root, &["a"], 10);
    let (fid, generation) = t.alloc();
    let e = Effect::Bind {
        fid,
        generation,
        how: walk(dir, &[]),
    };
    e.apply(&mut t, &rwalk(&[]), Dialect::Zerofs2);
    assert_eq!(t.get(fid).unwrap().qid.map(|q| q.path), Some(10));
    assert_eq!(walk_of(&t, fid), Some((root, vec!["a".into()])));
}

#[test]
fn a_partial_walk_creates_no_fid_except_on_plain_servers_that_keep_it() {
    for (dialect, kept) in [(Dialect::Plain, true), (Dialect::Zerofs2, false)] {
        let mut t = FidTable::default();
        let (root, _) = attach(&mut t);
        let (fid, generation) = t.alloc();
        let e = Effect::Bind {
            fid,
            generation,
            how: walk(root, &["a", "b"]),
        };
        e.apply(&mut t, &rwalk(&[11]), dialect);
        let r = t.get(fid).unwrap();
        assert_eq!(r.is_live(), kept, "{dialect}: live");
        if kept {
            // diod keeps the newfid: clunked on release, never replayed.
            assert!(matches!(r.binding, Some(Binding::Unrestorable)));
        } else {
            assert!(r.binding.is_none(), "{dialect}: nothing recorded");
        }
    }
}

#[test]
fn a_reply_for_an_earlier_user_of_the_number_is_ignored() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = t.alloc();
    let e = Effect::Bind {
        fid,
        generation: generation + 100,
        how: walk(root, &["a"]),
    };
    e.apply(&mut t, &rwalk(&[11]), Dialect::Plain);
    let r = t.get(fid).unwrap();
    assert!(!r.is_live() && r.binding.is_none() && r.qid.is_none());
}

#[test]
fn an_open_records_flags_replay_may_reuse_and_an_error_records_nothing() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 20);
    let flags = open::RDWR | open::TRUNC | open::CREAT | open::EXCL;
    let open_effect = || Effect::Open {
        fid,
        generation,
        flags,
    };
    open_effect().apply(&mut t, &error(), Dialect::Plain);
    assert_eq!(t.get(fid).unwrap().opened, None);
    let reply = Message::Rlopen(Rlopen {
        qid: qid(21),
        iounit: 4096,
    });
    open_effect().apply(&mut t, &reply, Dialect::Plain);
    let r = t.get(fid).unwrap();
    assert_eq!(
        r.opened,
        Some(open::RDWR),
        "no TRUNC, CREAT or EXCL on reopen"
    );
    assert_eq!((r.iounit, r.qid.map(|q| q.path)), (4096, Some(21)));
}

#[test]
fn an_lcreate_turns_the_directory_fid_into_the_new_file() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["d"], 10);
    let e = Effect::Create {
        fid,
        generation,
        name: b("new"),
        flags: open::WRONLY | open::CREAT | open::EXCL,
    };
    let reply = Message::Rlcreate(Rlcreate {
        qid: qid(30),
        iounit: 0,
    });
    e.apply(&mut t, &reply, Dialect::Plain);
    let r = t.get(fid).unwrap();
    assert_eq!(r.opened, Some(open::WRONLY));
    assert_eq!(r.qid.map(|q| q.path), Some(30));
    assert_eq!(
        walk_of(&t, fid),
        Some((root, vec!["d".into(), "new".into()]))
    );
}

#[test]
fn a_clunk_reply_recycles_the_number_and_unpins_the_root() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 20);
    assert_eq!(t.get(root).unwrap().refs, 1);
    {
        let r = t.get_mut(fid).unwrap();
        r.released = true;
        r.state = FidState::Clunking;
    }
    Effect::Clunk { fid, generation }.apply(&mut t, &Message::Rclunk, Dialect::Plain);
    assert!(t.get(fid).is_none(), "recycled");
    assert_eq!(t.get(root).unwrap().refs, 0, "unpinned");
    assert_eq!(t.alloc().0, fid, "the number is reused first");
}

#[test]
fn a_refused_remove_keeps_the_fid_for_a_clunk_and_an_accepted_one_forgets_it() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 20);
    t.get_mut(fid).unwrap().state = FidState::Clunking;
    // ZeroFS answers Tremove with ENOSYS and keeps the fid: it must still be clunked.
    Effect::Remove { fid, generation }.apply(&mut t, &error(), Dialect::Plain);
    let r = t.get(fid).expect("kept for its clunk");
    assert!(r.state == FidState::Live && r.released);
    Effect::Remove { fid, generation }.apply(&mut t, &Message::Rremove, Dialect::Plain);
    assert!(t.get(fid).is_none(), "removed: the server forgot it");
}

#[test]
fn granted_locks_are_recorded_replaced_and_released() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 20);
    let granted = Message::Rlock(Rlock {
        status: LockStatus::Success,
    });
    let blocked = Message::Rlock(Rlock {
        status: LockStatus::Blocked,
    });
    let apply = |t: &mut FidTable, l: HeldLock, reply: &Message| {
        Effect::Lock {
            fid,
            generation,
            lock: l,
        }
        .apply(t, reply, Dialect::Plain);
    };
    apply(&mut t, lock(LockType::Write, 0, 100), &blocked);
    assert!(t.get(fid).unwrap().locks.is_empty(), "not granted");
    apply(&mut t, lock(LockType::Write, 0, 100), &granted);
    apply(&mut t, lock(LockType::Read, 200, 10), &granted);
    // The same range again replaces, never duplicates.
    apply(&mut t, lock(LockType::Read, 0, 100), &granted);
    let held: Vec<_> = t
        .get(fid)
        .unwrap()
        .locks
        .iter()
        .map(|l| (l.ty, l.start))
        .collect();
    assert_eq!(held, vec![(LockType::Read, 200), (LockType::Read, 0)]);
    apply(&mut t, lock(LockType::Unlock, 200, 10), &granted);
    assert_eq!(t.get(fid).unwrap().locks.len(), 1);
    // An unlock of everything (0, 0) drops every recorded lock.
    apply(&mut t, lock(LockType::Read, 500, 1), &granted);
    apply(&mut t, lock(LockType::Unlock, 0, 0), &granted);
    assert!(t.get(fid).unwrap().locks.is_empty());
}

#[test]
fn an_xattr_create_makes_the_fid_unrestorable() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 20);
    Effect::XattrCreate { fid, generation }.apply(&mut t, &error(), Dialect::Plain);
    assert!(matches!(
        t.get(fid).unwrap().binding,
        Some(Binding::Walked { .. })
    ));
    Effect::XattrCreate { fid, generation }.apply(&mut t, &Message::Rxattrcreate, Dialect::Plain);
    assert!(matches!(
        t.get(fid).unwrap().binding,
        Some(Binding::Unrestorable)
    ));
    assert_eq!(
        t.get(root).unwrap().refs,
        0,
        "an unrestorable fid pins no root"
    );
}

#[test]
fn a_rename_moves_every_recorded_path_beneath_it_only_once_it_succeeded() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (d, _) = walked(&mut t, root, &["d"], 10);
    let (deep, _) = walked(&mut t, root, &["d", "x", "f"], 11);
    let (other, _) = walked(&mut t, root, &["dd", "f"], 12);
    let renameat = Message::Trenameat(Trenameat {
        olddirfid: root,
        oldname: b("d"),
        newdirfid: root,
        newname: b("e"),
    });
    effect_of(&renameat, |_| 0).apply(&mut t, &error(), Dialect::Plain);
    assert_eq!(
        walk_of(&t, deep).unwrap().1,
        ["d", "x", "f"],
        "refused: unchanged"
    );
    effect_of(&renameat, |_| 0).apply(&mut t, &Message::Rrenameat, Dialect::Plain);
    assert_eq!(walk_of(&t, d).unwrap().1, ["e"]);
    assert_eq!(walk_of(&t, deep).unwrap().1, ["e", "x", "f"]);
    assert_eq!(
        walk_of(&t, other).unwrap().1,
        ["dd", "f"],
        "a sibling prefix is untouched"
    );
    // Trename moves the fid itself (e/x/f → g).
    let rename = Message::Trename(Trename {
        fid: deep,
        dfid: root,
        name: b("g"),
    });
    effect_of(&rename, |_| 0).apply(&mut t, &Message::Rrename, Dialect::Plain);
    assert_eq!(walk_of(&t, deep).unwrap().1, ["g"]);
}

#[test]
fn abandoned_effects_release_clunks_and_leave_uncreated_fids_unbound() {
    let mut t = FidTable::default();
    let (root, _) = attach(&mut t);
    let (fid, generation) = walked(&mut t, root, &["f"], 20);
    {
        let r = t.get_mut(fid).unwrap();
        r.released = true;
        // The clunk's connection died: nothing is live any more.
        r.state = FidState::Unbound;
    }
    Effect::Clunk { fid, generation }.abandon(&mut t);
    assert!(
        t.get(fid).is_none(),
        "an abandoned clunk of a dead fid recycles it"
    );
    let (new, generation) = t.alloc();
    Effect::Bind {
        fid: new,
        generation,
        how: walk(root, &["a"]),
    }
    .abandon(&mut t);
    let r = t.get(new).expect("its guard still holds it");
    assert!(!r.is_live() && r.binding.is_none());
}

#[test]
fn clunks_and_removes_are_never_resent_and_only_fid_effects_need_a_reply() {
    assert!(
        !Effect::Clunk {
            fid: 1,
            generation: 1
        }
        .resendable()
    );
    assert!(
        !Effect::Remove {
            fid: 1,
            generation: 1
        }
        .resendable()
    );
    assert!(
        Effect::Open {
            fid: 1,
            generation: 1,
            flags: 0
        }
        .resendable()
    );
    assert!(Effect::None.resendable());
    assert!(!Effect::None.needs_reply());
    assert!(
        Effect::XattrCreate {
            fid: 1,
            generation: 1
        }
        .needs_reply()
    );
}

#[test]
fn raw_calls_map_to_their_effects_and_fid_creating_ones_are_refused() {
    let lock = Message::Tlock(Tlock {
        fid: 4,
        ty: LockType::Write,
        flags: 0,
        start: 1,
        length: 2,
        proc_id: 3,
        client_id: b("c"),
    });
    match effect_of(&lock, |f| u64::from(f) * 10) {
        Effect::Lock {
            fid,
            generation,
            lock,
        } => {
            assert_eq!((fid, generation, lock.start, lock.length), (4, 40, 1, 2));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(referenced_fids(&lock), vec![4]);
    for ty in [
        MessageType::Twalk,
        MessageType::Tattach,
        MessageType::Tclunk,
        MessageType::Tremove,
        MessageType::Tflush,
        MessageType::Rread,
    ] {
        assert!(typed_only(ty).is_some(), "{ty}");
    }
    assert_eq!(typed_only(MessageType::Tread), None);
}
