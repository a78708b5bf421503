//! Dialect fallbacks for one request (pure decisions; `followups.rs` sends the follow-ups).
//!
//! A request is built for the dialect the session had when the caller made it; after a
//! reconnect to a server of another release (a rolling downgrade, an HA peer on an older
//! release) the connection it is sent on may not have its message. Rather than fail, the
//! request is rewritten, at the attempt that finds the dialect lacking it, into the plain
//! request that does its work, and the reply the caller asked for is rebuilt from that reply
//! and, where needed, follow-up requests:
//!
//! | request | sent as | then |
//! |---|---|---|
//! | `Twalkgetattr` | `Twalk` | `Tgetattr` of the new fid (a partial walk is `ENOENT`) |
//! | `Treaddirattr` | `Treaddir` | none: answered `Rreaddir` (entries without stats) |
//! | `Tlopenat`, `Tlopenatread` | `Twalk` (clone) | `Tlopen` (no prefetch: `eof` false) |
//! | `Tlcreateattr` | `Twalk` (clone) | `Tlcreate`, `Tgetattr` |
//! | `Tmkdirattr`, `Tsymlinkattr`, `Tmknodattr` | the plain form | stat of the new name |
//! | `Tlinkattr`, `Tsetattrattr` | the plain form | `Tgetattr` of the fid |
//! | `Tfsyncdur` | `Tfsync` (the lineage check needs `.Z`) | none |
//! | `Tfallocate`, `Tgetlineage`, `Trebind` | refused: `EOPNOTSUPP`, as a server would | |
//!
//! Plain messages are part of every dialect, so a request is lowered at most once, and an
//! upgrade needs nothing here.

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::EOPNOTSUPP;
use zerofs_9p_proto::consts::fsyncdur;
use zerofs_9p_proto::{Dialect, Message, MessageType, Tfsync, Tlcreate, Twalk};

use crate::effects::{BindHow, Effect};

/// What turns the reply of a lowered request into the reply of the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Then {
    /// The reply stands as it is.
    Nothing,
    /// `Rwalk` → `Tgetattr` of `newfid` → `Rwalkgetattr` (a walk of fewer than `names`
    /// names is `ENOENT`).
    WalkGetattr { newfid: u32, names: usize },
    /// `Rwalk` (a clone into `newfid`) → `Tlopen` → `Rlopenat`, or an `Rlopenatread` without
    /// prefetched data when `prefetch`.
    OpenAt {
        newfid: u32,
        generation: u64,
        flags: u32,
        prefetch: bool,
    },
    /// `Rwalk` (a clone of the directory into `create.fid`) → `create` → `Tgetattr` →
    /// `Rlcreateattr`.
    CreateAt { generation: u64, create: Tlcreate },
    /// Any success → the stat of `name` in `dfid` → the `*attr` reply `reply`.
    StatChild {
        dfid: u32,
        name: Bytes,
        reply: MessageType,
    },
    /// Any success → `Tgetattr` of `fid` → the `*attr` reply `reply`.
    StatFid { fid: u32, reply: MessageType },
}

/// Rewrites `message` (and its `effect`) into what `dialect` can carry, and says how to
/// rebuild the original reply. `Ok(None)`: nothing to do (the dialect has the message).
/// `Err(errno)`: no plain equivalent; the request fails as a server refusing it would.
pub(crate) fn lower(
    message: &mut Message,
    effect: &mut Effect,
    dialect: Dialect,
) -> Result<Option<Then>, u32> {
    let ty = message.msg_type();
    if dialect.allows(ty) {
        return Ok(None);
    }
    // The generation of the fid a fid-creating request binds (its effect knows it).
    let bound = match effect {
        Effect::Bind { generation, .. } => *generation,
        _ => 0,
    };
    let (plain, then) = match std::mem::replace(message, Message::Tgetlineage) {
        Message::Twalkgetattr(w) => {
            let then = Then::WalkGetattr {
                newfid: w.newfid,
                names: w.wnames.len(),
            };
            (Message::Twalk(w), then)
        }
        Message::Treaddirattr(r) => (Message::Treaddir(r), Then::Nothing),
        Message::Tlopenat(o) => (
            clone(o.fid, o.newfid),
            Then::OpenAt {
                newfid: o.newfid,
                generation: bound,
                flags: o.flags,
                prefetch: false,
            },
        ),
        Message::Tlopenatread(o) => (
            clone(o.fid, o.newfid),
            Then::OpenAt {
                newfid: o.newfid,
                generation: bound,
                flags: o.flags,
                prefetch: true,
            },
        ),
        Message::Tlcreateattr(c) => (
            clone(c.dfid, c.newfid),
            Then::CreateAt {
                generation: bound,
                create: Tlcreate {
                    fid: c.newfid,
                    name: c.name,
                    flags: c.flags,
                    mode: c.mode,
                    gid: c.gid,
                },
            },
        ),
        Message::Tmkdirattr(m) => {
            let then = Then::StatChild {
                dfid: m.dfid,
                name: m.name.clone(),
                reply: MessageType::Rmkdirattr,
            };
            (Message::Tmkdir(m), then)
        }
        Message::Tsymlinkattr(m) => {
            let then = Then::StatChild {
                dfid: m.dfid,
                name: m.name.clone(),
                reply: MessageType::Rsymlinkattr,
            };
            (Message::Tsymlink(m), then)
        }
        Message::Tmknodattr(m) => {
            let then = Then::StatChild {
                dfid: m.dfid,
                name: m.name.clone(),
                reply: MessageType::Rmknodattr,
            };
            (Message::Tmknod(m), then)
        }
        Message::Tlinkattr(m) => {
            let then = Then::StatFid {
                fid: m.fid,
                reply: MessageType::Rlinkattr,
            };
            (Message::Tlink(m), then)
        }
        Message::Tsetattrattr(m) => {
            let then = Then::StatFid {
                fid: m.fid,
                reply: MessageType::Rsetattrattr,
            };
            (Message::Tsetattr(m), then)
        }
        Message::Tfsyncdur(m) => (
            Message::Tfsync(Tfsync {
                fid: m.fid,
                datasync: m.datasync & fsyncdur::DATASYNC,
            }),
            Then::Nothing,
        ),
        other => {
            *message = other;
            return Err(EOPNOTSUPP);
        }
    };
    // A fid-creating request now creates its fid with a walk (a clone of the source).
    if let (Message::Twalk(w), Effect::Bind { how, .. }) = (&plain, &mut *effect) {
        *how = BindHow::Walk {
            src: w.fid,
            names: w.wnames.clone(),
        };
    }
    *message = plain;
    Ok(Some(then))
}

/// A walk of no names: `src` cloned into `newfid`.
fn clone(src: u32, newfid: u32) -> Message {
    Message::Twalk(Twalk {
        fid: src,
        newfid,
        wnames: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerofs_9p_proto::{Tfallocate, Tlcreateattr, Tlopenat, Tmkdir, Treaddir};

    fn bind(fid: u32, how: BindHow) -> Effect {
        Effect::Bind {
            fid,
            generation: 9,
            how,
        }
    }

    #[test]
    fn a_message_the_dialect_has_is_left_alone() {
        let mut m = Message::Tlopenat(Tlopenat {
            fid: 1,
            newfid: 2,
            flags: 0,
        });
        let before = m.clone();
        let mut e = Effect::None;
        assert_eq!(lower(&mut m, &mut e, Dialect::Zerofs2), Ok(None));
        assert_eq!(m, before);
    }

    #[test]
    fn a_fid_creating_request_becomes_a_clone_bound_as_a_walk() {
        let mut m = Message::Tlcreateattr(Tlcreateattr {
            dfid: 1,
            newfid: 2,
            name: Bytes::from_static(b"f"),
            flags: 0o102,
            mode: 0o100600,
            gid: 5,
        });
        let mut e = bind(
            2,
            BindHow::CreateAt {
                src: 1,
                name: Bytes::from_static(b"f"),
                flags: 0o102,
            },
        );
        let then = lower(&mut m, &mut e, Dialect::Plain).unwrap().unwrap();
        assert_eq!(m, clone(1, 2));
        assert!(
            matches!(&e, Effect::Bind { fid: 2, generation: 9, how: BindHow::Walk { src: 1, names } } if names.is_empty()),
            "{e:?}"
        );
        assert_eq!(
            then,
            Then::CreateAt {
                generation: 9,
                create: Tlcreate {
                    fid: 2,
                    name: Bytes::from_static(b"f"),
                    flags: 0o102,
                    mode: 0o100600,
                    gid: 5,
                }
            }
        );
    }

    #[test]
    fn attr_forms_become_plain_forms_and_a_stat() {
        let body = Tmkdir {
            dfid: 3,
            name: Bytes::from_static(b"d"),
            mode: 0o700,
            gid: 0,
        };
        let mut m = Message::Tmkdirattr(body.clone());
        let mut e = Effect::None;
        let then = lower(&mut m, &mut e, Dialect::Zerofs).unwrap().unwrap();
        assert_eq!(m, Message::Tmkdir(body));
        assert_eq!(
            then,
            Then::StatChild {
                dfid: 3,
                name: Bytes::from_static(b"d"),
                reply: MessageType::Rmkdirattr
            }
        );
        let listing = Treaddir {
            fid: 4,
            offset: 0,
            count: 100,
        };
        let mut m = Message::Treaddirattr(listing.clone());
        assert_eq!(
            lower(&mut m, &mut e, Dialect::Plain),
            Ok(Some(Then::Nothing))
        );
        assert_eq!(m, Message::Treaddir(listing));
    }

    #[test]
    fn a_request_with_no_plain_form_is_refused_and_kept() {
        let mut m = Message::Tfallocate(Tfallocate {
            fid: 1,
            offset: 0,
            length: 1,
            mode: 0,
        });
        let before = m.clone();
        let mut e = Effect::None;
        assert_eq!(lower(&mut m, &mut e, Dialect::Zerofs2), Err(EOPNOTSUPP));
        assert_eq!(m, before);
    }
}
