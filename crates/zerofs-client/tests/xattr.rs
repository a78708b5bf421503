//! Extended attributes on a server without them (the memserver, like ZeroFS): every call is
//! `Io { errno: EOPNOTSUPP }` and leaves no fid behind. Round trips on diod are in the
//! conformance suite (`tests/src/scenarios/xattrs.rs`).

use zerofs_client::{Client, OpenOptions, XattrFlags, ZeroFsError};
use zerofs_memserver::{Config, Generation, MemServer};

/// The errno of an `Io` error (`None` for any other kind).
fn errno(e: ZeroFsError) -> Option<i32> {
    match e {
        ZeroFsError::Io { errno, .. } => Some(errno),
        _ => None,
    }
}

#[tokio::test]
async fn a_server_without_xattrs_answers_eopnotsupp_everywhere() {
    for g in [Generation::Plain, Generation::Gen2, Generation::Z] {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let c = Client::connect(&server.target()).await.unwrap();
        c.write("/f", "data").await.unwrap();
        let fids = c.outstanding_fids();
        let e = c.get_xattr("/f", "user.a").await.unwrap_err();
        assert!(
            matches!(e, ZeroFsError::Io { errno: 95, .. }),
            "{g:?}: {e:?}"
        );
        assert_eq!(errno(c.list_xattr("/f").await.unwrap_err()), Some(95));
        let set = c.set_xattr("/f", "user.a", "v", XattrFlags::CreateOrReplace);
        assert_eq!(errno(set.await.unwrap_err()), Some(95), "{g:?}");
        let e = c.remove_xattr("/f", "user.a").await.unwrap_err();
        assert!(
            matches!(e, ZeroFsError::Io { errno: 95, .. }),
            "{g:?}: {e:?}"
        );
        let f = c.open("/f", OpenOptions::read_only()).await.unwrap();
        assert_eq!(errno(f.get_xattr("user.a").await.unwrap_err()), Some(95));
        assert_eq!(errno(f.list_xattr().await.unwrap_err()), Some(95));
        let set = f.set_xattr("user.a", "v", XattrFlags::Create);
        assert_eq!(errno(set.await.unwrap_err()), Some(95), "{g:?}");
        assert_eq!(errno(f.remove_xattr("user.a").await.unwrap_err()), Some(95));
        drop(f);
        // The file is still intact and every fid the calls took was released.
        assert_eq!(c.read("/f").await.unwrap(), "data");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while c.outstanding_fids() > fids && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(c.outstanding_fids() <= fids, "{g:?}: a fid leaked");
    }
}

#[tokio::test]
async fn missing_paths_bad_names_and_empty_values_fail_before_any_xattr_request() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let c = Client::connect(&server.target()).await.unwrap();
    let e = c.get_xattr("/missing", "user.a").await.unwrap_err();
    assert!(matches!(e, ZeroFsError::NotFound { .. }), "{e:?}");
    c.write("/f", "x").await.unwrap();
    for bad in ["", "user.\0a"] {
        let e = c.get_xattr("/f", bad).await.unwrap_err();
        assert!(matches!(e, ZeroFsError::InvalidArgument { .. }), "{e:?}");
        let e = c
            .set_xattr("/f", bad, "v", XattrFlags::default())
            .await
            .unwrap_err();
        assert!(matches!(e, ZeroFsError::InvalidArgument { .. }), "{e:?}");
    }
    let e = c
        .set_xattr("/f", "user.a", "", XattrFlags::default())
        .await
        .unwrap_err();
    assert!(matches!(e, ZeroFsError::InvalidArgument { .. }), "{e:?}");
}
