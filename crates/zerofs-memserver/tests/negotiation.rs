//! Version negotiation (PROTOCOL.md §4), gating (§3.1) and frame handling (§5.1) over sockets.

mod support;

use bytes::Bytes;
use support::{Client, QUIET, b, errno};
use zerofs_9p_proto::consts::{NOTAG, errno as e};
use zerofs_9p_proto::{Dialect, Frame, Message, Rversion, Tclunk, Tgetattr, Tversion, Twalk};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

async fn start(g: Generation) -> ServerHandle {
    MemServer::start(Config::new(g)).await.expect("start")
}

fn rversion(m: &Message) -> (u32, String) {
    match m {
        Message::Rversion(Rversion { msize, version }) => {
            (*msize, String::from_utf8_lossy(version).into_owned())
        }
        other => panic!("expected Rversion, got {other:?}"),
    }
}

/// Every row of the §4.2 reply matrix, one connection per proposal, for each generation.
#[tokio::test]
async fn the_reply_matrix_for_every_generation() {
    let rows: &[(&[u8], [&str; 4])] = &[
        (
            b"9P2000.L",
            ["9P2000.L", "9P2000.L", "9P2000.L", "9P2000.L"],
        ),
        (
            b"9P2000.L.zerofs",
            ["9P2000.L", "9P2000.L.zerofs", "9P2000.L.zerofs", "unknown"],
        ),
        (
            b"9P2000.L.zerofs2",
            ["9P2000.L", "9P2000.L.zerofs", "9P2000.L.zerofs2", "unknown"],
        ),
        (
            b"9P2000.L.Z",
            ["9P2000.L", "9P2000.L", "9P2000.L", "9P2000.L.Z"],
        ),
        (b"9P2000.u", ["unknown"; 4]),
        (b"9P2000", ["unknown"; 4]),
        (b"", ["unknown"; 4]),
        (b"hello", ["unknown"; 4]),
        (
            b"x9P2000.Ly",
            ["9P2000.L", "9P2000.L", "9P2000.L", "unknown"],
        ),
        (b"9p2000.L", ["unknown"; 4]),
    ];
    for (i, g) in Generation::ALL.into_iter().enumerate() {
        let server = start(g).await;
        let cap = g.default_max_msize();
        for (proposal, want) in rows {
            let mut c = Client::to(&server).await;
            let requested = 20 << 20;
            c.send(&Frame::new(
                NOTAG,
                Message::Tversion(Tversion {
                    msize: requested,
                    version: Bytes::copy_from_slice(proposal),
                }),
            ))
            .await;
            let (msize, version) = rversion(&c.recv(NOTAG).await.message);
            assert_eq!(
                version,
                want[i],
                "{g} given {:?}",
                String::from_utf8_lossy(proposal)
            );
            let want_msize = if want[i] == "unknown" { requested } else { cap };
            assert_eq!(
                msize,
                want_msize,
                "{g} msize for {:?}",
                String::from_utf8_lossy(proposal)
            );
        }
        // Non-UTF-8: EINVAL under the request's tag (any tag, not only NOTAG).
        let mut c = Client::to(&server).await;
        c.send(&Frame::new(
            77,
            Message::Tversion(Tversion {
                msize: 8192,
                version: Bytes::from_static(b"9P2000.L\xff"),
            }),
        ))
        .await;
        assert_eq!(errno(&c.recv(77).await.message), e::EINVAL, "{g}");
        // A small msize is granted as asked (no lower bound).
        assert_eq!(rversion(&c.version(0, "9P2000.L").await).0, 0, "{g}");
        server.shutdown().await;
    }
}

/// Private messages per generation and session (§3.1): 0.19.1 never has them; 1.2.x servers
/// answer them in any session; 2.1+ refuses them (EOPNOTSUPP) outside a `.Z` session.
#[tokio::test]
async fn gating() {
    let walkgetattr = |fid| {
        Message::Twalkgetattr(Twalk {
            fid,
            newfid: fid + 100,
            wnames: vec![],
        })
    };
    for (g, plain_session, private_session) in [
        (Generation::Plain, Some(e::ENOSYS), Some(e::ENOSYS)),
        (Generation::Gen1, None, None),
        (Generation::Gen2, None, None),
        (Generation::Z, Some(e::EOPNOTSUPP), None),
    ] {
        let server = start(g).await;
        for (version, want) in [
            ("9P2000.L", plain_session),
            (g.best_dialect().version(), private_session),
        ] {
            let mut c = Client::to(&server).await;
            c.version(65536, version).await;
            c.attach(1, "").await;
            // The client encodes in the best dialect so it can send what the server may refuse.
            c.set_dialect(g.best_dialect().max(Dialect::Zerofs));
            let reply = c.call(walkgetattr(1)).await;
            match want {
                Some(code) => assert_eq!(errno(&reply), code, "{g} in a {version} session"),
                None => assert!(
                    matches!(reply, Message::Rwalkgetattr(_)),
                    "{g} in a {version} session: {reply:?}"
                ),
            }
        }
        server.shutdown().await;
    }
    // Messages newer than the generation are unknown: ENOSYS even on a gen 1 server.
    let server = start(Generation::Gen1).await;
    let mut c = Client::to(&server).await;
    c.version(65536, "9P2000.L.zerofs").await;
    c.attach(1, "").await;
    c.set_dialect(Dialect::Zerofs2);
    let reply = c
        .call(Message::Tlopenat(zerofs_9p_proto::Tlopenat {
            fid: 1,
            newfid: 2,
            flags: 0,
        }))
        .await;
    assert_eq!(errno(&reply), e::ENOSYS);
    server.shutdown().await;
}

/// A second Tversion resets the session: 1.2+ clear fids, 0.19.1 keeps them.
#[tokio::test]
async fn second_version_resets_the_session() {
    for g in Generation::ALL {
        let server = start(g).await;
        let mut c = Client::to(&server).await;
        c.version(65536, "9P2000.L").await;
        c.attach(1, "").await;
        let (msize, _) = rversion(&c.version(8192, "9P2000.L").await);
        assert_eq!(msize, 8192);
        let reply = c
            .call(Message::Tgetattr(Tgetattr {
                fid: 1,
                request_mask: 0x7ff,
            }))
            .await;
        if g == Generation::Plain {
            assert!(
                matches!(reply, Message::Rgetattr(_)),
                "0.19.1 keeps fids: {reply:?}"
            );
        } else {
            assert_eq!(errno(&reply), e::EBADF, "{g} clears fids");
        }
        // A non-UTF-8 version does not reset anything.
        c.attach(2, "").await;
        c.send(&Frame::new(
            NOTAG,
            Message::Tversion(Tversion {
                msize: 4096,
                version: Bytes::from_static(b"\xfe"),
            }),
        ))
        .await;
        assert_eq!(errno(&c.recv(NOTAG).await.message), e::EINVAL);
        assert!(matches!(
            c.call(Message::Tgetattr(Tgetattr {
                fid: 2,
                request_mask: 1
            }))
            .await,
            Message::Rgetattr(_)
        ));
        server.shutdown().await;
    }
}

/// `.Z` → "unknown" turns the session plain again on a 2.1+ server.
#[tokio::test]
async fn unknown_on_z_leaves_a_plain_session() {
    let server = start(Generation::Z).await;
    let mut c = Client::to(&server).await;
    assert_eq!(
        rversion(&c.version(65536, "9P2000.L.Z").await).1,
        "9P2000.L.Z"
    );
    assert_eq!(
        rversion(&c.version(65536, "9P2000.L.zerofs2").await).1,
        "unknown"
    );
    c.attach(1, "").await;
    c.set_dialect(Dialect::Z);
    assert_eq!(errno(&c.call(Message::Tgetlineage).await), e::EOPNOTSUPP);
    server.shutdown().await;
}

#[tokio::test]
async fn undecodable_frames_get_enosys_under_their_tag() {
    let server = start(Generation::Gen2).await;
    let mut c = Client::to(&server).await;
    c.version(65536, "9P2000.L.zerofs2").await;
    // Unknown type 6 (Tlerror), a legacy type, a truncated body, a bad lock type, an R-message.
    let frames: &[&[u8]] = &[
        &[7, 0, 0, 0, 6, 10, 0],
        &[11, 0, 0, 0, 112, 11, 0, 1, 0, 0, 0],
        &[9, 0, 0, 0, 120, 12, 0, 1, 0],
        &[
            38, 0, 0, 0, 52, 13, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
        &[7, 0, 0, 0, 121, 14, 0],
    ];
    for (i, f) in frames.iter().enumerate() {
        c.send_raw(f).await;
        let tag = 10 + i as u16;
        assert_eq!(errno(&c.recv(tag).await.message), e::ENOSYS, "frame {i}");
    }
    // Unsupported standard requests.
    for m in [
        Message::Tauth(zerofs_9p_proto::Tauth {
            afid: 1,
            uname: b("u"),
            aname: b(""),
            n_uname: 0,
        }),
        Message::Tremove(zerofs_9p_proto::Tremove { fid: 1 }),
        Message::Txattrcreate(zerofs_9p_proto::Txattrcreate {
            fid: 1,
            name: b("user.x"),
            attr_size: 1,
            flags: 0,
        }),
    ] {
        assert_eq!(errno(&c.call(m).await), e::ENOSYS);
    }
    c.attach(1, "").await;
    let xw = Message::Txattrwalk(zerofs_9p_proto::Txattrwalk {
        fid: 1,
        newfid: 2,
        name: b(""),
    });
    assert_eq!(errno(&c.call(xw).await), e::EOPNOTSUPP);
    // Trailing bytes after a complete body are ignored (deku servers).
    c.send_raw(&[15, 0, 0, 0, 120, 20, 0, 1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef])
        .await;
    assert_eq!(c.recv(20).await.message, Message::Rclunk);
    // The connection survived all of it.
    assert!(matches!(
        c.call(Message::Tclunk(Tclunk { fid: 99 })).await,
        Message::Rclunk
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_frame_sizes_close_the_connection() {
    for (g, oversize) in [
        (Generation::Plain, 262_145u32),
        (Generation::Gen1, 10 * 1024 * 1024 + 1),
        (Generation::Z, u32::MAX),
    ] {
        let server = start(g).await;
        let mut c = Client::to(&server).await;
        c.send_raw(&oversize.to_le_bytes()).await;
        assert!(c.closed().await, "{g}: oversize frame");
        let mut c = Client::to(&server).await;
        c.send_raw(&[6, 0, 0, 0, 120, 1]).await;
        assert!(c.closed().await, "{g}: undersize frame");
        server.shutdown().await;
    }
    // 1.2+ accept frames above the negotiated msize (up to 10 MiB).
    let server = start(Generation::Gen2).await;
    let mut c = Client::to(&server).await;
    c.version(4096, "9P2000.L").await;
    let mut big = vec![0u8; 100_000];
    big[..7].copy_from_slice(&[0xa0, 0x86, 0x01, 0, 6, 3, 0]);
    c.send_raw(&big).await;
    assert_eq!(errno(&c.recv(3).await.message), e::ENOSYS);
    server.shutdown().await;
}

#[tokio::test]
async fn tag_reuse_in_flight_closes_on_z_only() {
    use std::time::Duration;
    for g in [Generation::Gen2, Generation::Z] {
        let server = start(g).await;
        server.set_reply_delay_for(
            zerofs_9p_proto::MessageType::Tgetattr,
            Some(Duration::from_millis(300)),
        );
        let mut c = Client::to(&server).await;
        c.version(65536, "9P2000.L").await;
        c.attach(1, "").await;
        let getattr = Frame::new(
            5,
            Message::Tgetattr(Tgetattr {
                fid: 1,
                request_mask: 1,
            }),
        );
        c.send(&getattr).await;
        c.send(&getattr).await;
        if g == Generation::Z {
            assert!(c.closed().await, "2.1+ closes on a reused tag");
        } else {
            // Older servers answer both.
            assert!(matches!(c.recv(5).await.message, Message::Rgetattr(_)));
            assert!(matches!(c.recv(5).await.message, Message::Rgetattr(_)));
            assert!(c.recv_within(5, QUIET).await.is_err());
        }
        server.shutdown().await;
    }
}
