//! A failed connect keeps the reference's `ConnectFailed { message }` shape and names its
//! cause as `source()`: a refused dial, a failed attach, a failed negotiation and a timeout
//! are told apart.

use std::error::Error;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zerofs_client::{Client, ConnectCause, ConnectOptions, ZeroFsError};
use zerofs_memserver::{Config, Generation, MemServer};

fn cause(err: &ZeroFsError) -> Option<ConnectCause> {
    assert!(matches!(err, ZeroFsError::ConnectFailed { .. }), "{err:?}");
    assert_eq!(
        err.to_errno(),
        5,
        "ConnectFailed stays EIO, as in the reference"
    );
    err.source()
        .and_then(|s| s.downcast_ref::<ConnectCause>())
        .copied()
}

fn quick() -> ConnectOptions {
    ConnectOptions {
        connect_timeout_ms: Some(2_000),
        ..ConnectOptions::default()
    }
}

#[tokio::test]
async fn a_missing_unix_socket_and_a_closed_port_are_refused() {
    let err = Client::connect_with("unix:/nonexistent-dir/zerofs.sock", quick())
        .await
        .unwrap_err();
    assert_eq!(cause(&err), Some(ConnectCause::Refused), "{err}");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = Client::connect_with(&format!("127.0.0.1:{port}"), quick())
        .await
        .unwrap_err();
    assert_eq!(cause(&err), Some(ConnectCause::Refused), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[tokio::test]
async fn an_attach_the_server_refuses_is_an_attach_failure() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let opts = ConnectOptions {
        aname: "/no/such/export".into(),
        ..quick()
    };
    let err = Client::connect_with(&server.target(), opts)
        .await
        .unwrap_err();
    assert_eq!(cause(&err), Some(ConnectCause::Attach), "{err}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(s);
    });
    let opts = ConnectOptions {
        connect_timeout_ms: Some(150),
        ..ConnectOptions::default()
    };
    let err = Client::connect_with(&addr.to_string(), opts)
        .await
        .unwrap_err();
    assert_eq!(cause(&err), Some(ConnectCause::TimedOut), "{err}");
    hold.abort();
}

#[tokio::test]
async fn a_server_without_9p2000l_fails_negotiation() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Every connection (the client may retry with an older dialect) gets the same answer.
    let server = tokio::spawn(async move {
        for _ in 0..8 {
            let (s, _) = listener.accept().await.unwrap();
            tokio::spawn(answer_unknown(s));
        }
    });
    let err = Client::connect_with(&addr.to_string(), quick())
        .await
        .unwrap_err();
    assert_eq!(cause(&err), Some(ConnectCause::Negotiation), "{err}");
    server.abort();
}

/// Answers every request (the client proposes several versions) with `Rversion` "unknown".
async fn answer_unknown(mut s: tokio::net::TcpStream) {
    for _ in 0..8 {
        let mut size = [0u8; 4];
        if s.read_exact(&mut size).await.is_err() {
            return;
        }
        let mut rest = vec![0u8; u32::from_le_bytes(size) as usize - 4];
        s.read_exact(&mut rest).await.unwrap();
        // Rversion (101), tag NOTAG, msize 8192, version "unknown".
        let version = b"unknown";
        let mut reply = Vec::new();
        let len = 4 + 1 + 2 + 4 + 2 + version.len();
        reply.extend_from_slice(&(len as u32).to_le_bytes());
        reply.push(101);
        reply.extend_from_slice(&0xffffu16.to_le_bytes());
        reply.extend_from_slice(&8192u32.to_le_bytes());
        reply.extend_from_slice(&(version.len() as u16).to_le_bytes());
        reply.extend_from_slice(version);
        if s.write_all(&reply).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn an_invalid_target_is_named_so() {
    let err = Client::connect("unix:").await.unwrap_err();
    assert_eq!(cause(&err), Some(ConnectCause::InvalidTarget), "{err}");
}

#[test]
fn errors_built_by_users_have_no_source() {
    let user = ZeroFsError::ConnectFailed {
        message: "my own".into(),
    };
    assert!(user.source().is_none());
    assert!(
        ZeroFsError::NotFound { path: "/x".into() }
            .source()
            .is_none()
    );
}
