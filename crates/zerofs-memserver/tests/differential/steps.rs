//! Step builders, one per request (fids are symbolic names), plus the diod fallbacks for
//! Tunlinkat and Trenameat.

use bytes::Bytes;
use zerofs_9p_proto::consts::NOFID;
use zerofs_9p_proto::*;

use crate::script::{Op, Step};
use crate::servers::Kind;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// `Tversion`.
pub fn version(msize: u32, v: &'static [u8]) -> Step {
    Step::send(
        format!("Tversion({msize}, {:?})", String::from_utf8_lossy(v)),
        move |_| {
            Message::Tversion(Tversion {
                msize,
                version: Bytes::from_static(v),
            })
        },
    )
}

/// `Tattach` of `fid` as root (n_uname 0) to the root of the server's tree.
pub fn attach(fid: &'static str) -> Step {
    Step::send(format!("Tattach({fid}, root aname)"), move |c| {
        let aname = Bytes::from(c.root_aname.clone());
        Message::Tattach(Tattach {
            fid: c.fid(fid),
            afid: NOFID,
            uname: b("root"),
            aname,
            n_uname: 0,
        })
    })
}

/// `Tattach` with an explicit `uname` and `n_uname`, and `aname` (`None`: the server's root).
pub fn attach_as(
    fid: &'static str,
    uname: &'static str,
    aname: Option<&'static str>,
    n_uname: u32,
) -> Step {
    Step::send(
        format!("Tattach({fid}, uname {uname:?}, aname {aname:?}, n_uname {n_uname:#x})"),
        move |c| {
            let aname = aname.map_or_else(|| Bytes::from(c.root_aname.clone()), b);
            Message::Tattach(Tattach {
                fid: c.fid(fid),
                afid: NOFID,
                uname: b(uname),
                aname,
                n_uname,
            })
        },
    )
}

/// `Twalk`.
pub fn walk(fid: &'static str, newfid: &'static str, names: &[&str]) -> Step {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    Step::send(format!("Twalk({fid} -> {newfid}, {names:?})"), move |c| {
        Message::Twalk(Twalk {
            fid: c.fid(fid),
            newfid: c.fid(newfid),
            wnames: names.iter().map(|n| b(n)).collect(),
        })
    })
}

/// `Tlopen`.
pub fn lopen(fid: &'static str, flags: u32) -> Step {
    Step::send(format!("Tlopen({fid}, {flags:#o})"), move |c| {
        Message::Tlopen(Tlopen {
            fid: c.fid(fid),
            flags,
        })
    })
}

/// `Tlcreate` (gid 0).
pub fn lcreate(fid: &'static str, name: &str, flags: u32, mode: u32) -> Step {
    let name = name.to_owned();
    Step::send(
        format!("Tlcreate({fid}, {name:?}, {flags:#o}, {mode:#o})"),
        move |c| {
            Message::Tlcreate(Tlcreate {
                fid: c.fid(fid),
                name: b(&name),
                flags,
                mode,
                gid: 0,
            })
        },
    )
}

/// `Tmkdir` (gid 0).
pub fn mkdir(dfid: &'static str, name: &str, mode: u32) -> Step {
    let name = name.to_owned();
    Step::send(format!("Tmkdir({dfid}, {name:?}, {mode:#o})"), move |c| {
        Message::Tmkdir(Tmkdir {
            dfid: c.fid(dfid),
            name: b(&name),
            mode,
            gid: 0,
        })
    })
}

/// `Tsymlink` (gid 0).
pub fn symlink(dfid: &'static str, name: &str, target: &str) -> Step {
    let (name, target) = (name.to_owned(), target.to_owned());
    Step::send(
        format!("Tsymlink({dfid}, {name:?} -> {target:?})"),
        move |c| {
            Message::Tsymlink(Tsymlink {
                dfid: c.fid(dfid),
                name: b(&name),
                symtgt: b(&target),
                gid: 0,
            })
        },
    )
}

/// `Tmknod` (gid 0).
pub fn mknod(dfid: &'static str, name: &str, mode: u32, major: u32, minor: u32) -> Step {
    let name = name.to_owned();
    Step::send(
        format!("Tmknod({dfid}, {name:?}, {mode:#o}, {major}:{minor})"),
        move |c| {
            Message::Tmknod(Tmknod {
                dfid: c.fid(dfid),
                name: b(&name),
                mode,
                major,
                minor,
                gid: 0,
            })
        },
    )
}

/// `Trename`.
pub fn rename(fid: &'static str, dfid: &'static str, name: &str) -> Step {
    let name = name.to_owned();
    Step::send(format!("Trename({fid} -> {dfid}/{name:?})"), move |c| {
        Message::Trename(Trename {
            fid: c.fid(fid),
            dfid: c.fid(dfid),
            name: b(&name),
        })
    })
}

/// `Trenameat`.
pub fn renameat(olddir: &'static str, old: &str, newdir: &'static str, new: &str) -> Step {
    let (old, new) = (old.to_owned(), new.to_owned());
    Step::send(
        format!("Trenameat({olddir}/{old:?} -> {newdir}/{new:?})"),
        move |c| {
            Message::Trenameat(Trenameat {
                olddirfid: c.fid(olddir),
                oldname: b(&old),
                newdirfid: c.fid(newdir),
                newname: b(&new),
            })
        },
    )
}

/// `Tunlinkat`.
pub fn unlinkat(dfid: &'static str, name: &str, flags: u32) -> Step {
    let name = name.to_owned();
    Step::send(
        format!("Tunlinkat({dfid}, {name:?}, {flags:#x})"),
        move |c| {
            Message::Tunlinkat(Tunlinkat {
                dirfid: c.fid(dfid),
                name: b(&name),
                flags,
            })
        },
    )
}

const NO_UNLINKAT: &str = "diod has no Tunlinkat (EOPNOTSUPP); the same change through Twalk + Tremove, as Linux falls back";
const NO_RENAMEAT: &str = "diod has no Trenameat (EOPNOTSUPP); the same change through Twalk + Trename, as Linux falls back";

/// `Tunlinkat`, done on diod with `Twalk` + `Tremove`.
pub fn unlinkat_or_remove(dfid: &'static str, name: &str, flags: u32) -> Step {
    let n = name.to_owned();
    unlinkat(dfid, name, flags).instead_on(Kind::Diod, NO_UNLINKAT, move |c| {
        let tmp = c.fid("tmp-remove");
        let walk = Message::Twalk(Twalk {
            fid: c.fid(dfid),
            newfid: tmp,
            wnames: vec![b(&n)],
        });
        (
            vec![walk, Message::Tremove(Tremove { fid: tmp })],
            vec![Message::Tclunk(Tclunk { fid: tmp })],
        )
    })
}

/// `Trenameat`, done on diod with `Twalk` + `Trename`.
pub fn renameat_or_rename(
    olddir: &'static str,
    old: &str,
    newdir: &'static str,
    new: &str,
) -> Step {
    let (o, n) = (old.to_owned(), new.to_owned());
    renameat(olddir, old, newdir, new).instead_on(Kind::Diod, NO_RENAMEAT, move |c| {
        let tmp = c.fid("tmp-rename");
        let walk = Message::Twalk(Twalk {
            fid: c.fid(olddir),
            newfid: tmp,
            wnames: vec![b(&o)],
        });
        let rename = Message::Trename(Trename {
            fid: tmp,
            dfid: c.fid(newdir),
            name: b(&n),
        });
        (
            vec![walk, rename],
            vec![Message::Tclunk(Tclunk { fid: tmp })],
        )
    })
}

/// `Tlink`.
pub fn link(dfid: &'static str, fid: &'static str, name: &str) -> Step {
    let name = name.to_owned();
    Step::send(format!("Tlink({dfid}/{name:?} -> {fid})"), move |c| {
        Message::Tlink(Tlink {
            dfid: c.fid(dfid),
            fid: c.fid(fid),
            name: b(&name),
        })
    })
}

/// `Treadlink`.
pub fn readlink(fid: &'static str) -> Step {
    Step::send(format!("Treadlink({fid})"), move |c| {
        Message::Treadlink(Treadlink { fid: c.fid(fid) })
    })
}

/// `Tgetattr(ALL)`.
pub fn getattr(fid: &'static str) -> Step {
    getattr_mask(fid, consts::getattr::ALL)
}

/// `Tgetattr` with a mask.
pub fn getattr_mask(fid: &'static str, request_mask: u64) -> Step {
    Step::send(format!("Tgetattr({fid}, {request_mask:#x})"), move |c| {
        Message::Tgetattr(Tgetattr {
            fid: c.fid(fid),
            request_mask,
        })
    })
}

/// `Tsetattr` with the given fields (fid filled in).
pub fn setattr(fid: &'static str, label: &str, attrs: Tsetattr) -> Step {
    Step::send(format!("Tsetattr({fid}, {label})"), move |c| {
        Message::Tsetattr(Tsetattr {
            fid: c.fid(fid),
            ..attrs.clone()
        })
    })
}

/// `Tread`.
pub fn read(fid: &'static str, offset: u64, count: u32) -> Step {
    Step::send(format!("Tread({fid}, @{offset}, {count})"), move |c| {
        Message::Tread(Tread {
            fid: c.fid(fid),
            offset,
            count,
        })
    })
}

/// `Twrite`.
pub fn write(fid: &'static str, offset: u64, data: &[u8]) -> Step {
    let data = Bytes::copy_from_slice(data);
    let shown = if data.len() <= 16 {
        format!("{:?}", String::from_utf8_lossy(&data))
    } else {
        format!("{} bytes", data.len())
    };
    Step::send(format!("Twrite({fid}, @{offset}, {shown})"), move |c| {
        Message::Twrite(Twrite {
            fid: c.fid(fid),
            offset,
            data: data.clone(),
        })
    })
}

/// Where a `Treaddir` starts.
#[derive(Debug, Clone, Copy)]
pub enum Cookie {
    /// Offset 0.
    Start,
    /// The cookie of the last entry of the previous `Rreaddir`.
    Continue,
}

/// `Treaddir`.
pub fn readdir(fid: &'static str, from: Cookie, count: u32) -> Step {
    Step::send(format!("Treaddir({fid}, {from:?}, {count})"), move |c| {
        let offset = match from {
            Cookie::Start => 0,
            Cookie::Continue => c.last_cookie,
        };
        Message::Treaddir(Treaddir {
            fid: c.fid(fid),
            offset,
            count,
        })
    })
}

/// Every page of a directory, merged.
pub fn readdir_all(fid: &'static str, count: u32) -> Step {
    Step::new(
        format!("Treaddir({fid}) pages of {count} until empty"),
        Op::ReaddirAll { fid, count },
    )
}

/// `Tlock` by owner `client`/`proc_id`.
pub fn lock(
    fid: &'static str,
    ty: LockType,
    flags: u32,
    range: (u64, u64),
    owner: (&'static str, u32),
) -> Step {
    let ((start, length), (client, proc_id)) = (range, owner);
    Step::send(
        format!("Tlock({fid}, {ty:?}, flags {flags}, {start}+{length}, {client}/{proc_id})"),
        move |c| {
            Message::Tlock(Tlock {
                fid: c.fid(fid),
                ty,
                flags,
                start,
                length,
                proc_id,
                client_id: b(client),
            })
        },
    )
}

/// `Tgetlock` by owner `client`/`proc_id`.
pub fn getlock(
    fid: &'static str,
    ty: LockType,
    range: (u64, u64),
    owner: (&'static str, u32),
) -> Step {
    let ((start, length), (client, proc_id)) = (range, owner);
    Step::send(
        format!("Tgetlock({fid}, {ty:?}, {start}+{length}, {client}/{proc_id})"),
        move |c| {
            Message::Tgetlock(Tgetlock {
                fid: c.fid(fid),
                ty,
                start,
                length,
                proc_id,
                client_id: b(client),
            })
        },
    )
}

/// `Tstatfs`.
pub fn statfs(fid: &'static str) -> Step {
    Step::send(format!("Tstatfs({fid})"), move |c| {
        Message::Tstatfs(Tstatfs { fid: c.fid(fid) })
    })
}

/// `Tfsync`.
pub fn fsync(fid: &'static str, datasync: u32) -> Step {
    Step::send(format!("Tfsync({fid}, {datasync})"), move |c| {
        Message::Tfsync(Tfsync {
            fid: c.fid(fid),
            datasync,
        })
    })
}

/// `Tclunk`.
pub fn clunk(fid: &'static str) -> Step {
    Step::send(format!("Tclunk({fid})"), move |c| {
        Message::Tclunk(Tclunk { fid: c.fid(fid) })
    })
}

/// `Tremove`.
pub fn remove(fid: &'static str) -> Step {
    Step::send(format!("Tremove({fid})"), move |c| {
        Message::Tremove(Tremove { fid: c.fid(fid) })
    })
}

/// `Txattrwalk`.
pub fn xattrwalk(fid: &'static str, newfid: &'static str, name: &str) -> Step {
    let name = name.to_owned();
    Step::send(
        format!("Txattrwalk({fid} -> {newfid}, {name:?})"),
        move |c| {
            Message::Txattrwalk(Txattrwalk {
                fid: c.fid(fid),
                newfid: c.fid(newfid),
                name: b(&name),
            })
        },
    )
}

/// `Tflush` of a tag that is not in flight.
pub fn flush_idle(oldtag: u16) -> Step {
    Step::send(format!("Tflush({oldtag}) of an idle tag"), move |_| {
        Message::Tflush(Tflush { oldtag })
    })
}

/// A raw frame `type tag body` with a correct size field.
pub fn raw(label: &str, ty: u8, body: &'static [u8]) -> Step {
    Step::new(
        format!("raw {label}"),
        Op::Raw(Box::new(move |_, tag| {
            let size = (7 + body.len()) as u32;
            let mut v = size.to_le_bytes().to_vec();
            v.push(ty);
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(body);
            v
        })),
    )
}

/// Drops the connection and opens a new one.
pub fn reconnect() -> Step {
    Step::new("reconnect", Op::Reconnect)
}

/// A `Tsetattr` with only `valid` set; fill the other fields with struct update syntax.
pub fn attrs(valid: u32) -> Tsetattr {
    Tsetattr {
        valid,
        ..Tsetattr::default()
    }
}

/// A `Tgetattr` frame padded to `size` bytes (ZeroFS 0.19.1 drops connections sending frames
/// over 256 KiB; a padded body is a decode error otherwise).
pub fn oversize(size: usize) -> Step {
    Step::new(
        format!("raw Tgetattr frame of {size} bytes"),
        Op::Raw(Box::new(move |c, tag| {
            let mut v = (size as u32).to_le_bytes().to_vec();
            v.push(MessageType::Tgetattr.id());
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&c.fid("root").to_le_bytes());
            v.resize(size, 0);
            v
        })),
    )
}
