//! Ambiguous outcomes of resent mutations, verified instead of guessed (pure decisions; the
//! exchange in `request.rs` does the looking).
//!
//! Outside `.Z` nothing de-duplicates a resend: a mutation whose connection died after it was
//! written is resent, and if the first attempt had applied, the resend fails (`EEXIST`,
//! `ENOENT`) although the caller's operation succeeded. For the mutations whose outcome the
//! server's state can prove, the session checks that state and reports the success:
//!
//! - `Tunlinkat` answering `ENOENT`: the name is gone, which is the outcome asked for.
//! - `Tmkdir` / `Tmkdirattr` answering `EEXIST`: a directory now stands at the name with the
//!   requested permission bits and group: the first attempt made it; its qid (and stat) are
//!   the reply.
//! - `Tlcreate` / `Tlcreateattr` answering `EEXIST`: a regular file now stands at the name,
//!   empty, with one link, the requested permission bits and group, and owned by the fid's
//!   attach identity: what the first attempt would have left (no one could have written to
//!   it yet: its creator never learnt of it). The session then opens that file on the
//!   request's fid, as the create would have (`followups.rs`), checking it reaches the same
//!   inode; the open's reply is the reply. What cannot be told apart: another client of the
//!   same identity creating an identical empty file between the lost attempt and the resend.
//!
//! - `Trename` / `Trenameat` answering `ENOENT`: the source is gone; the destination
//!   holding the source's inode proves the first attempt moved it. The source's qid is the
//!   one recorded for the renamed fid, or for the recorded fid nearest beneath the source
//!   (then looked for at the same place beneath the destination); with no such fid nothing
//!   proves it. On plain 9P2000.L replay often proves it first (`renames.rs`: the resend is
//!   then never sent); on the dialects whose replay rebinds by inode (gen 1 and 2, and
//!   after a change of dialect mid-rename) only this check does. The recorded paths beneath
//!   the source then move, as for an acknowledged rename. `Trename` answering `EINVAL` is
//!   checked the same way: a server that rebound the fid by inode (gen 1/2 replay) may no
//!   longer know the name it was walked by, and the proof does not depend on the error.
//!
//! Other mutations keep the server's answer (the double-apply window that cannot be
//! proven).

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::{EEXIST, EINVAL, ENOENT};
use zerofs_9p_proto::consts::mode;
use zerofs_9p_proto::{AttrReply, Message, Rlcreate, Rlcreateattr, Rmkdir, Stat};

/// What it takes to verify an error to a resent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// The error itself is the proof.
    None,
    /// The stat of `name` in the directory `dfid`.
    StatChild { dfid: u32, name: Bytes },
    /// The inode at a rename's destination, against the source's recorded qid
    /// (`effects::rename_witness`).
    Renamed,
}

/// Whether `ecode` to a resend of `request` may hide an earlier attempt's success, and what
/// must be looked at to know.
pub(crate) fn check(request: &Message, ecode: u32) -> Option<Check> {
    match (request, ecode) {
        (Message::Tunlinkat(_), ENOENT) => Some(Check::None),
        (Message::Trename(_), ENOENT | EINVAL) | (Message::Trenameat(_), ENOENT) => {
            Some(Check::Renamed)
        }
        (Message::Tmkdir(m) | Message::Tmkdirattr(m), EEXIST) => Some(Check::StatChild {
            dfid: m.dfid,
            name: m.name.clone(),
        }),
        (Message::Tlcreate(m), EEXIST) => Some(Check::StatChild {
            dfid: m.fid,
            name: m.name.clone(),
        }),
        (Message::Tlcreateattr(m), EEXIST) => Some(Check::StatChild {
            dfid: m.dfid,
            name: m.name.clone(),
        }),
        _ => None,
    }
}

/// The reply the caller's operation would have had, if what was looked at (`stat`, for
/// [`Check::StatChild`]) proves an earlier attempt of `request` applied; `None` keeps the
/// error. `owner` is the uid of the attach identity the request was made under, if known.
///
/// A rename is only asked once its [`Check::Renamed`] walk proved it.
///
/// For a create the reply is provisional (its qid is the file's, its iounit 0): the file must
/// still be opened on the request's fid (see [`created`]).
pub(crate) fn proven(
    request: &Message,
    stat: Option<&Stat>,
    owner: Option<u32>,
) -> Option<Message> {
    match request {
        Message::Tlcreate(m) => {
            let stat = stat?;
            created(stat, m.mode, m.gid, owner).then(|| {
                Message::Rlcreate(Rlcreate {
                    qid: stat.qid,
                    iounit: 0,
                })
            })
        }
        Message::Tlcreateattr(m) => {
            let stat = stat?;
            created(stat, m.mode, m.gid, owner).then(|| {
                Message::Rlcreateattr(Rlcreateattr {
                    iounit: 0,
                    stat: *stat,
                })
            })
        }
        Message::Tunlinkat(_) => Some(Message::Runlinkat),
        Message::Trename(_) => Some(Message::Rrename),
        Message::Trenameat(_) => Some(Message::Rrenameat),
        Message::Tmkdir(m) | Message::Tmkdirattr(m) => {
            let stat = stat?;
            let made = stat.mode & mode::S_IFMT == mode::S_IFDIR
                && stat.mode & 0o7777 == m.mode & 0o7777
                && stat.gid == m.gid;
            made.then(|| match request {
                Message::Tmkdirattr(_) => Message::Rmkdirattr(AttrReply { stat: *stat }),
                _ => Message::Rmkdir(Rmkdir { qid: stat.qid }),
            })
        }
        _ => None,
    }
}

/// Whether `stat` is what a create of a regular file with `mode` and `gid` by `owner` leaves
/// before anyone used it: a regular file, those permission bits, that group and owner, no
/// bytes, one link.
pub(crate) fn created(stat: &Stat, mode: u32, gid: u32, owner: Option<u32>) -> bool {
    stat.mode & mode::S_IFMT == mode::S_IFREG
        && stat.mode & 0o7777 == mode & 0o7777
        && stat.gid == gid
        && owner.is_none_or(|uid| stat.uid == uid)
        && stat.size == 0
        && stat.nlink == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerofs_9p_proto::{Qid, Tmkdir, Tunlinkat};

    fn mkdir(attr: bool) -> Message {
        let m = Tmkdir {
            dfid: 3,
            name: Bytes::from_static(b"d"),
            mode: 0o750,
            gid: 7,
        };
        if attr {
            Message::Tmkdirattr(m)
        } else {
            Message::Tmkdir(m)
        }
    }

    fn stat(mode: u32, gid: u32) -> Stat {
        Stat {
            qid: Qid {
                ty: Default::default(),
                version: 0,
                path: 42,
            },
            mode,
            gid,
            ..Stat::default()
        }
    }

    #[test]
    fn only_the_provable_errors_are_checked() {
        let unlink = Message::Tunlinkat(Tunlinkat {
            dirfid: 3,
            name: Bytes::from_static(b"x"),
            flags: 0,
        });
        assert_eq!(check(&unlink, ENOENT), Some(Check::None));
        assert_eq!(check(&unlink, EEXIST), None);
        assert_eq!(
            check(&mkdir(false), EEXIST),
            Some(Check::StatChild {
                dfid: 3,
                name: Bytes::from_static(b"d")
            })
        );
        assert_eq!(check(&mkdir(true), ENOENT), None);
        assert_eq!(proven(&unlink, None, None), Some(Message::Runlinkat));
    }

    #[test]
    fn a_rename_is_checked_when_its_source_is_gone() {
        let at = Message::Trenameat(zerofs_9p_proto::Trenameat {
            olddirfid: 1,
            oldname: Bytes::from_static(b"a"),
            newdirfid: 1,
            newname: Bytes::from_static(b"b"),
        });
        let by_fid = Message::Trename(zerofs_9p_proto::Trename {
            fid: 2,
            dfid: 1,
            name: Bytes::from_static(b"b"),
        });
        assert_eq!(check(&at, ENOENT), Some(Check::Renamed));
        assert_eq!(check(&at, EINVAL), None);
        assert_eq!(check(&at, EEXIST), None);
        assert_eq!(check(&by_fid, ENOENT), Some(Check::Renamed));
        assert_eq!(check(&by_fid, EINVAL), Some(Check::Renamed));
        assert_eq!(check(&by_fid, EEXIST), None);
        assert_eq!(proven(&at, None, None), Some(Message::Rrenameat));
        assert_eq!(proven(&by_fid, None, None), Some(Message::Rrename));
    }

    #[test]
    fn a_mkdir_is_proven_by_a_directory_with_its_mode_and_group() {
        let dir = stat(mode::S_IFDIR | 0o750, 7);
        assert_eq!(
            proven(&mkdir(false), Some(&dir), None),
            Some(Message::Rmkdir(Rmkdir { qid: dir.qid }))
        );
        assert_eq!(
            proven(&mkdir(true), Some(&dir), None),
            Some(Message::Rmkdirattr(AttrReply { stat: dir }))
        );
        for other in [
            stat(mode::S_IFREG | 0o750, 7),
            stat(mode::S_IFDIR | 0o755, 7),
            stat(mode::S_IFDIR | 0o750, 8),
        ] {
            assert_eq!(proven(&mkdir(false), Some(&other), None), None, "{other:?}");
        }
        assert_eq!(proven(&mkdir(false), None, None), None, "nothing there");
    }

    fn create(attr: bool) -> Message {
        let (name, flags, mode, gid) = (Bytes::from_static(b"f"), 0o302, 0o100640, 7);
        if attr {
            Message::Tlcreateattr(zerofs_9p_proto::Tlcreateattr {
                dfid: 3,
                newfid: 4,
                name,
                flags,
                mode,
                gid,
            })
        } else {
            Message::Tlcreate(zerofs_9p_proto::Tlcreate {
                fid: 3,
                name,
                flags,
                mode,
                gid,
            })
        }
    }

    #[test]
    fn a_create_is_checked_on_eexist_only() {
        for attr in [false, true] {
            assert_eq!(
                check(&create(attr), EEXIST),
                Some(Check::StatChild {
                    dfid: 3,
                    name: Bytes::from_static(b"f")
                })
            );
            assert_eq!(check(&create(attr), ENOENT), None);
        }
    }

    #[test]
    fn a_create_is_proven_only_by_an_unused_file_as_it_would_have_made() {
        let file = Stat {
            uid: 1000,
            nlink: 1,
            size: 0,
            ..stat(mode::S_IFREG | 0o640, 7)
        };
        assert_eq!(
            proven(&create(false), Some(&file), Some(1000)),
            Some(Message::Rlcreate(Rlcreate {
                qid: file.qid,
                iounit: 0
            }))
        );
        assert_eq!(
            proven(&create(true), Some(&file), None),
            Some(Message::Rlcreateattr(Rlcreateattr {
                iounit: 0,
                stat: file
            }))
        );
        let differing = [
            Stat {
                mode: mode::S_IFDIR | 0o640,
                ..file
            },
            Stat {
                mode: mode::S_IFREG | 0o644,
                ..file
            },
            Stat { gid: 8, ..file },
            Stat { uid: 0, ..file },
            Stat { size: 1, ..file },
            Stat { nlink: 2, ..file },
        ];
        for other in differing {
            for attr in [false, true] {
                assert_eq!(
                    proven(&create(attr), Some(&other), Some(1000)),
                    None,
                    "{other:?}"
                );
            }
        }
        assert_eq!(
            proven(&create(false), None, Some(1000)),
            None,
            "nothing there"
        );
    }
}
