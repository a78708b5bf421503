//! A request type the server does not implement at all (diod's `Tunlinkat`) is refused by
//! the connection without a round trip once the server said so; a new connection forgets.

use std::sync::Arc;

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::{ENOENT, EOPNOTSUPP};
use zerofs_9p_proto::{Frame, Message, Rlerror, Tunlinkat};

use super::conn_cancel::{Peer, getattr_of, pair, root};
use super::*;
use crate::core::Link;
use crate::effects::Effect;
use crate::error::SessionError;
use crate::request::{Ticket, exchange};

fn unlinkat(dirfid: u32) -> Message {
    Message::Tunlinkat(Tunlinkat {
        dirfid,
        name: Bytes::from_static(b"f"),
        flags: 0,
    })
}

/// Sends `m` through the session's exchange (as any call does) and answers it with `errno`
/// if it reaches the peer; returns the call's result.
async fn call(
    core: &Arc<Core>,
    peer: &mut Peer,
    m: Message,
    root: u32,
    errno: Option<u32>,
) -> Result<Message, SessionError> {
    let ticket = Ticket::new(core.clone(), Effect::None, &[root], Vec::new()).unwrap();
    let call = exchange(core, Frame::new(0, m), ticket);
    match errno {
        Some(ecode) => {
            let (r, ()) = tokio::join!(call, async {
                let f = peer.recv().await;
                peer.send(f.tag, Message::Rlerror(Rlerror { ecode })).await;
            });
            r
        }
        None => tokio::time::timeout(std::time::Duration::from_secs(60), call)
            .await
            .expect("answered without the server"),
    }
}

/// Publishes `conn` as the session's connection.
fn publish(core: &Arc<Core>, conn: &Arc<crate::conn::Conn>) {
    {
        let mut t = core.fids();
        t.conn_id = conn.id;
        t.online = true;
    }
    core.link.send_replace(Link::Up(conn.clone()));
}

#[tokio::test(start_paused = true)]
async fn an_unimplemented_request_type_is_refused_locally_after_the_first_refusal() {
    let core = core();
    let root = root(&core);
    let (conn, mut peer) = pair(&core);
    publish(&core, &conn);
    // Other errors are answers about the arguments, not the type: nothing is remembered.
    let r = call(&core, &mut peer, unlinkat(root), root, Some(ENOENT)).await;
    assert!(matches!(r, Err(SessionError::Server(ENOENT))), "{r:?}");
    let r = call(&core, &mut peer, unlinkat(root), root, Some(EOPNOTSUPP)).await;
    assert!(matches!(r, Err(SessionError::Server(EOPNOTSUPP))), "{r:?}");
    // Refused here now, with the server's errno, and nothing goes on the wire.
    let r = call(&core, &mut peer, unlinkat(root), root, None).await;
    assert!(matches!(r, Err(SessionError::Server(EOPNOTSUPP))), "{r:?}");
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        0,
        "its fid reference is back"
    );
    let r = call(&core, &mut peer, getattr_of(root), root, Some(ENOENT)).await;
    assert!(
        matches!(r, Err(SessionError::Server(ENOENT))),
        "the next frame on the wire is the getattr"
    );
    // A new connection (another server, perhaps) asks again.
    conn.kill("test".into());
    let (conn2, mut peer2) = pair(&core);
    publish(&core, &conn2);
    let r = call(&core, &mut peer2, unlinkat(root), root, Some(ENOENT)).await;
    assert!(matches!(r, Err(SessionError::Server(ENOENT))), "{r:?}");
}
