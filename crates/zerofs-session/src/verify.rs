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
//!
//! Renames are proven by replay itself (`renames.rs`). Other mutations keep the server's
//! answer (the double-apply window that cannot be proven).

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::{EEXIST, ENOENT};
use zerofs_9p_proto::consts::mode;
use zerofs_9p_proto::{AttrReply, Message, Rmkdir, Stat};

/// What it takes to verify an error to a resent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// The error itself is the proof.
    None,
    /// The stat of `name` in the directory `dfid`.
    StatChild { dfid: u32, name: Bytes },
}

/// Whether `ecode` to a resend of `request` may hide an earlier attempt's success, and what
/// must be looked at to know.
pub(crate) fn check(request: &Message, ecode: u32) -> Option<Check> {
    match (request, ecode) {
        (Message::Tunlinkat(_), ENOENT) => Some(Check::None),
        (Message::Tmkdir(m) | Message::Tmkdirattr(m), EEXIST) => Some(Check::StatChild {
            dfid: m.dfid,
            name: m.name.clone(),
        }),
        _ => None,
    }
}

/// The reply the caller's operation would have had, if what was looked at (`stat`, for
/// [`Check::StatChild`]) proves an earlier attempt of `request` applied; `None` keeps the
/// error.
pub(crate) fn proven(request: &Message, stat: Option<&Stat>) -> Option<Message> {
    match request {
        Message::Tunlinkat(_) => Some(Message::Runlinkat),
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
        assert_eq!(proven(&unlink, None), Some(Message::Runlinkat));
    }

    #[test]
    fn a_mkdir_is_proven_by_a_directory_with_its_mode_and_group() {
        let dir = stat(mode::S_IFDIR | 0o750, 7);
        assert_eq!(
            proven(&mkdir(false), Some(&dir)),
            Some(Message::Rmkdir(Rmkdir { qid: dir.qid }))
        );
        assert_eq!(
            proven(&mkdir(true), Some(&dir)),
            Some(Message::Rmkdirattr(AttrReply { stat: dir }))
        );
        for other in [
            stat(mode::S_IFREG | 0o750, 7),
            stat(mode::S_IFDIR | 0o755, 7),
            stat(mode::S_IFDIR | 0o750, 8),
        ] {
            assert_eq!(proven(&mkdir(false), Some(&other)), None, "{other:?}");
        }
        assert_eq!(proven(&mkdir(false), None), None, "nothing there");
    }
}
