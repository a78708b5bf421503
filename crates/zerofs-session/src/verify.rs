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
//! - `Tsymlink` / `Tsymlinkattr` answering `EEXIST`: a symlink stands at the name with the
//!   requested target and group, owned by the attach identity.
//! - `Tmknod` / `Tmknodattr` answering `EEXIST`: a node of the requested type, permission
//!   bits and group stands at the name, owned by the attach identity, with one link and no
//!   bytes; a device node also carries the requested device number (in any of the packings
//!   servers use).
//! - `Tlink` / `Tlinkattr` answering `EEXIST`: the name holds the inode of the linked fid
//!   (its recorded qid).
//!
//! Other mutations keep the server's answer (the double-apply window that cannot be
//! proven).

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::{EEXIST, EINVAL, ENOENT};
use zerofs_9p_proto::consts::mode;
use zerofs_9p_proto::{
    AttrReply, Message, Rlcreate, Rlcreateattr, Rmkdir, Rmknod, Rsymlink, Stat, Tmknod,
};

/// What it takes to verify an error to a resent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// The error itself is the proof.
    None,
    /// The stat of `name` in the directory `dfid` (and its target, if `readlink`).
    StatChild {
        dfid: u32,
        name: Bytes,
        readlink: bool,
    },
    /// The inode at a rename's destination, against the source's recorded qid
    /// (`effects::rename_witness`).
    Renamed,
}

/// What was looked at for a [`Check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// The stat found at the name ([`Check::StatChild`]); `None`: nothing there.
    pub(crate) stat: Option<Stat>,
    /// The symlink target found there, if asked for.
    pub(crate) target: Option<Bytes>,
    /// The uid of the attach identity the request was made under, if known.
    pub(crate) owner: Option<u32>,
    /// The recorded qid path of the fid a `Tlink` links, if known.
    pub(crate) linked: Option<u64>,
}

fn stat_child(dfid: u32, name: &Bytes, readlink: bool) -> Option<Check> {
    Some(Check::StatChild {
        dfid,
        name: name.clone(),
        readlink,
    })
}

/// Whether `ecode` to a resend of `request` may hide an earlier attempt's success, and what
/// must be looked at to know.
pub(crate) fn check(request: &Message, ecode: u32) -> Option<Check> {
    match (request, ecode) {
        (Message::Tunlinkat(_), ENOENT) => Some(Check::None),
        (Message::Trename(_), ENOENT | EINVAL) | (Message::Trenameat(_), ENOENT) => {
            Some(Check::Renamed)
        }
        (Message::Tmkdir(m) | Message::Tmkdirattr(m), EEXIST) => stat_child(m.dfid, &m.name, false),
        (Message::Tlcreate(m), EEXIST) => stat_child(m.fid, &m.name, false),
        (Message::Tlcreateattr(m), EEXIST) => stat_child(m.dfid, &m.name, false),
        (Message::Tsymlink(m) | Message::Tsymlinkattr(m), EEXIST) => {
            stat_child(m.dfid, &m.name, true)
        }
        (Message::Tmknod(m) | Message::Tmknodattr(m), EEXIST) => stat_child(m.dfid, &m.name, false),
        (Message::Tlink(m) | Message::Tlinkattr(m), EEXIST) => stat_child(m.dfid, &m.name, false),
        _ => None,
    }
}

/// The reply the caller's operation would have had, if `seen` (what [`check`] asked to look
/// at) proves an earlier attempt of `request` applied; `None` keeps the error.
///
/// A rename is only asked once its [`Check::Renamed`] walk proved it.
///
/// For a create the reply is provisional (its qid is the file's, its iounit 0): the file must
/// still be opened on the request's fid (see [`created`]).
pub(crate) fn proven(request: &Message, seen: &Evidence) -> Option<Message> {
    let owner = seen.owner;
    let stat = seen.stat.as_ref();
    let attr = |stat: &Stat| AttrReply { stat: *stat };
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
                Message::Tmkdirattr(_) => Message::Rmkdirattr(attr(stat)),
                _ => Message::Rmkdir(Rmkdir { qid: stat.qid }),
            })
        }
        Message::Tsymlink(m) | Message::Tsymlinkattr(m) => {
            let stat = stat?;
            let made = stat.mode & mode::S_IFMT == mode::S_IFLNK
                && stat.gid == m.gid
                && owner.is_none_or(|uid| stat.uid == uid)
                && seen.target.as_ref() == Some(&m.symtgt);
            made.then(|| match request {
                Message::Tsymlinkattr(_) => Message::Rsymlinkattr(attr(stat)),
                _ => Message::Rsymlink(Rsymlink { qid: stat.qid }),
            })
        }
        Message::Tmknod(m) | Message::Tmknodattr(m) => {
            let stat = stat?;
            made_node(stat, m, owner).then(|| match request {
                Message::Tmknodattr(_) => Message::Rmknodattr(attr(stat)),
                _ => Message::Rmknod(Rmknod { qid: stat.qid }),
            })
        }
        Message::Tlink(_) | Message::Tlinkattr(_) => {
            let stat = stat?;
            (Some(stat.qid.path) == seen.linked).then(|| match request {
                Message::Tlinkattr(_) => Message::Rlinkattr(attr(stat)),
                _ => Message::Rlink,
            })
        }
        _ => None,
    }
}

/// Whether `stat` is the node `m` makes, unused: its type, permission bits, group and owner,
/// one link, no bytes, and for a device its number.
fn made_node(stat: &Stat, m: &Tmknod, owner: Option<u32>) -> bool {
    let ty = m.mode & mode::S_IFMT;
    let device = matches!(ty, mode::S_IFCHR | mode::S_IFBLK);
    stat.mode & mode::S_IFMT == ty
        && stat.mode & 0o7777 == m.mode & 0o7777
        && stat.gid == m.gid
        && owner.is_none_or(|uid| stat.uid == uid)
        && stat.size == 0
        && stat.nlink == 1
        && (!device || device_numbers(m.major, m.minor).contains(&stat.rdev))
}

/// The ways servers pack a device number into `rdev`: the old 16-bit layout (ZeroFS before
/// 2.1), Linux's `new_encode_dev` (ZeroFS 2.1+), and glibc's 64-bit `makedev` (diod, from
/// the host's `stat`).
fn device_numbers(major: u32, minor: u32) -> [u64; 3] {
    let (major, minor) = (u64::from(major), u64::from(minor));
    [
        (major << 8) | minor,
        (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12),
        ((major & 0xffff_f000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff),
    ]
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

    fn seen(stat: Option<&Stat>, owner: Option<u32>) -> Evidence {
        Evidence {
            stat: stat.copied(),
            owner,
            ..Evidence::default()
        }
    }

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
                name: Bytes::from_static(b"d"),
                readlink: false
            })
        );
        assert_eq!(check(&mkdir(true), ENOENT), None);
        assert_eq!(proven(&unlink, &seen(None, None)), Some(Message::Runlinkat));
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
        assert_eq!(proven(&at, &seen(None, None)), Some(Message::Rrenameat));
        assert_eq!(proven(&by_fid, &seen(None, None)), Some(Message::Rrename));
    }

    #[test]
    fn a_mkdir_is_proven_by_a_directory_with_its_mode_and_group() {
        let dir = stat(mode::S_IFDIR | 0o750, 7);
        assert_eq!(
            proven(&mkdir(false), &seen(Some(&dir), None)),
            Some(Message::Rmkdir(Rmkdir { qid: dir.qid }))
        );
        assert_eq!(
            proven(&mkdir(true), &seen(Some(&dir), None)),
            Some(Message::Rmkdirattr(AttrReply { stat: dir }))
        );
        for other in [
            stat(mode::S_IFREG | 0o750, 7),
            stat(mode::S_IFDIR | 0o755, 7),
            stat(mode::S_IFDIR | 0o750, 8),
        ] {
            assert_eq!(
                proven(&mkdir(false), &seen(Some(&other), None)),
                None,
                "{other:?}"
            );
        }
        assert_eq!(
            proven(&mkdir(false), &seen(None, None)),
            None,
            "nothing there"
        );
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
                    name: Bytes::from_static(b"f"),
                    readlink: false
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
            proven(&create(false), &seen(Some(&file), Some(1000))),
            Some(Message::Rlcreate(Rlcreate {
                qid: file.qid,
                iounit: 0
            }))
        );
        assert_eq!(
            proven(&create(true), &seen(Some(&file), None)),
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
                    proven(&create(attr), &seen(Some(&other), Some(1000))),
                    None,
                    "{other:?}"
                );
            }
        }
        assert_eq!(
            proven(&create(false), &seen(None, Some(1000))),
            None,
            "nothing there"
        );
    }

    #[test]
    fn a_symlink_is_proven_by_its_target_group_and_owner() {
        let body = zerofs_9p_proto::Tsymlink {
            dfid: 3,
            name: Bytes::from_static(b"l"),
            symtgt: Bytes::from_static(b"../t"),
            gid: 7,
        };
        let plain = Message::Tsymlink(body.clone());
        let attr = Message::Tsymlinkattr(body);
        assert_eq!(
            check(&plain, EEXIST),
            Some(Check::StatChild {
                dfid: 3,
                name: Bytes::from_static(b"l"),
                readlink: true
            })
        );
        assert_eq!(check(&attr, ENOENT), None);
        let link = Stat {
            uid: 1000,
            nlink: 1,
            ..stat(mode::S_IFLNK | 0o777, 7)
        };
        let found = |stat: Stat, target: &'static [u8]| Evidence {
            stat: Some(stat),
            target: Some(Bytes::from_static(target)),
            owner: Some(1000),
            linked: None,
        };
        assert_eq!(
            proven(&plain, &found(link, b"../t")),
            Some(Message::Rsymlink(Rsymlink { qid: link.qid }))
        );
        assert_eq!(
            proven(&attr, &found(link, b"../t")),
            Some(Message::Rsymlinkattr(AttrReply { stat: link }))
        );
        for (other, target) in [
            (link, &b"../u"[..]),
            (Stat { gid: 8, ..link }, b"../t"),
            (Stat { uid: 0, ..link }, b"../t"),
            (stat(mode::S_IFREG | 0o777, 7), b"../t"),
        ] {
            let mut seen = found(other, b"");
            seen.target = Some(Bytes::copy_from_slice(target));
            assert_eq!(proven(&plain, &seen), None, "{other:?} {target:?}");
        }
        let mut unread = found(link, b"");
        unread.target = None;
        assert_eq!(proven(&plain, &unread), None, "target not read");
    }

    #[test]
    fn a_mknod_is_proven_by_an_unused_node_of_its_type_mode_and_device() {
        let body = Tmknod {
            dfid: 3,
            name: Bytes::from_static(b"n"),
            mode: mode::S_IFCHR | 0o620,
            major: 4,
            minor: 0x1234,
            gid: 7,
        };
        let plain = Message::Tmknod(body.clone());
        let attr = Message::Tmknodattr(body);
        assert!(matches!(
            check(&plain, EEXIST),
            Some(Check::StatChild {
                readlink: false,
                ..
            })
        ));
        let node = |rdev| Stat {
            uid: 1000,
            nlink: 1,
            rdev,
            ..stat(mode::S_IFCHR | 0o620, 7)
        };
        // The old packing, Linux's new_encode_dev and glibc's makedev all name 4:0x1234.
        for rdev in [
            (4 << 8) | 0x1234,
            0x34 | (4 << 8) | (0x1200 << 12),
            0x0120_0434,
        ] {
            assert_eq!(
                proven(&plain, &seen(Some(&node(rdev)), Some(1000))),
                Some(Message::Rmknod(Rmknod {
                    qid: node(rdev).qid
                })),
                "{rdev:#x}"
            );
        }
        let good = node((4 << 8) | 0x1234);
        assert_eq!(
            proven(&attr, &seen(Some(&good), None)),
            Some(Message::Rmknodattr(AttrReply { stat: good }))
        );
        for other in [
            node(5 << 8),
            Stat {
                mode: mode::S_IFBLK | 0o620,
                ..good
            },
            Stat {
                mode: mode::S_IFCHR | 0o600,
                ..good
            },
            Stat { gid: 8, ..good },
            Stat { uid: 0, ..good },
            Stat { nlink: 2, ..good },
        ] {
            assert_eq!(
                proven(&plain, &seen(Some(&other), Some(1000))),
                None,
                "{other:?}"
            );
        }
        // A fifo has no device number to compare.
        let fifo = Message::Tmknod(Tmknod {
            dfid: 3,
            name: Bytes::from_static(b"p"),
            mode: mode::S_IFIFO | 0o600,
            major: 0,
            minor: 0,
            gid: 7,
        });
        let pipe = Stat {
            rdev: 99,
            ..stat(mode::S_IFIFO | 0o600, 7)
        };
        let pipe = Stat { nlink: 1, ..pipe };
        assert!(proven(&fifo, &seen(Some(&pipe), None)).is_some());
    }

    #[test]
    fn a_link_is_proven_by_the_linked_inode_at_the_name() {
        let body = zerofs_9p_proto::Tlink {
            dfid: 3,
            fid: 5,
            name: Bytes::from_static(b"h"),
        };
        let plain = Message::Tlink(body.clone());
        let attr = Message::Tlinkattr(body);
        assert!(matches!(
            check(&attr, EEXIST),
            Some(Check::StatChild { .. })
        ));
        assert_eq!(check(&plain, ENOENT), None);
        let file = Stat {
            nlink: 2,
            ..stat(mode::S_IFREG | 0o644, 0)
        };
        let linked = |path| Evidence {
            stat: Some(file),
            linked: path,
            ..Evidence::default()
        };
        assert_eq!(proven(&plain, &linked(Some(42))), Some(Message::Rlink));
        assert_eq!(
            proven(&attr, &linked(Some(42))),
            Some(Message::Rlinkattr(AttrReply { stat: file }))
        );
        assert_eq!(proven(&plain, &linked(Some(43))), None, "another inode");
        assert_eq!(proven(&plain, &linked(None)), None, "fid's qid unknown");
    }
}
