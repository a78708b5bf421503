//! `Client::walk_with`: order, depth, filter, last-entry flags and going on past a directory
//! that cannot be listed, on the tree walker `remove_dir_all` shares.

use futures::TryStreamExt;
use zerofs_client::{Client, ConnectOptions, WalkEntry, WalkOptions};
use zerofs_memserver::{Config, Generation, MemServer};

async fn tree(c: &Client) {
    for d in ["/t/b/deep", "/t/a", "/t/.h"] {
        c.create_dir_all(d, 0o755).await.unwrap();
    }
    for f in ["/t/c", "/t/b/f", "/t/b/deep/g", "/t/.h/i", "/t/a/.j"] {
        c.write(f, "x").await.unwrap();
    }
    c.symlink("/t/b", "/t/link").await.unwrap();
}

fn shown(found: &[WalkEntry]) -> Vec<String> {
    found
        .iter()
        .map(|e| {
            let p = e.path.display();
            format!("{p}:{}{}", e.depth, if e.last { "L" } else { "" })
        })
        .collect()
}

async fn walk(c: &Client, opts: WalkOptions) -> Vec<WalkEntry> {
    c.walk_with("/t", opts)
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn sorted_pre_order_contents_first_depth_and_filter() {
    for generation in [Generation::Plain, Generation::Z] {
        let s = MemServer::start(Config::new(generation)).await.unwrap();
        let c = Client::connect(&s.target()).await.unwrap();
        tree(&c).await;
        let sorted = || WalkOptions::new().sorted(true);
        assert_eq!(
            shown(&walk(&c, sorted()).await),
            [
                "/t/.h:1",
                "/t/.h/i:2L",
                "/t/a:1",
                "/t/a/.j:2L",
                "/t/b:1",
                "/t/b/deep:2",
                "/t/b/deep/g:3L",
                "/t/b/f:2L",
                "/t/c:1",
                "/t/link:1L",
            ]
        );
        // The default walk finds the same entries (in server order).
        let mut plain = shown(&walk(&c, WalkOptions::new()).await);
        plain
            .iter_mut()
            .for_each(|s| *s = s.trim_end_matches('L').to_owned());
        plain.sort();
        let mut all = shown(&walk(&c, sorted()).await);
        all.iter_mut()
            .for_each(|s| *s = s.trim_end_matches('L').to_owned());
        all.sort();
        assert_eq!(plain, all);
        // Hidden names filtered (not yielded, not walked into), at most 2 deep.
        let visible = sorted()
            .max_depth(Some(2))
            .filter(|e| !e.name_bytes.starts_with(b"."));
        assert_eq!(
            shown(&walk(&c, visible.clone()).await),
            [
                "/t/a:1",
                "/t/b:1",
                "/t/b/deep:2",
                "/t/b/f:2L",
                "/t/c:1",
                "/t/link:1L"
            ]
        );
        // Each directory's entries before anything below them.
        assert_eq!(
            shown(&walk(&c, visible.max_depth(None).contents_first(true)).await),
            [
                "/t/a:1",
                "/t/b:1",
                "/t/c:1",
                "/t/link:1L",
                "/t/b/deep:2",
                "/t/b/f:2L",
                "/t/b/deep/g:3L",
            ]
        );
        assert!(walk(&c, sorted().max_depth(Some(0))).await.is_empty());
    }
}

#[tokio::test]
async fn keep_going_yields_the_error_and_walks_on() {
    let s = MemServer::start(Config::new(Generation::Z)).await.unwrap();
    let root = Client::connect(&s.target()).await.unwrap();
    tree(&root).await;
    root.create_dir_all("/t/b/closed", 0o700).await.unwrap();
    root.write("/t/b/closed/secret", "x").await.unwrap();
    root.chmod("/t/b/closed", 0o700).await.unwrap();
    let other = Client::connect_with(
        &s.target(),
        ConnectOptions {
            uid: Some(4242),
            gid: Some(4242),
            ..ConnectOptions::default()
        },
    )
    .await
    .unwrap();
    let opts = || WalkOptions::new().sorted(true);
    // By default the error ends the walk.
    let items: Vec<_> = other.walk_with("/t", opts()).unwrap().collect_all().await;
    assert!(items.last().unwrap().is_err());
    assert!(
        !items
            .iter()
            .any(|r| matches!(r, Ok(e) if e.path.ends_with("c")))
    );
    // Going on: the directory, then its error, then the rest.
    let items = other
        .walk_with("/t", opts().keep_going(true))
        .unwrap()
        .collect_all()
        .await;
    let at = items
        .iter()
        .position(|r| matches!(r, Ok(e) if e.path.ends_with("b/closed")))
        .unwrap();
    let e = items[at + 1].as_ref().unwrap_err();
    assert!(e.to_string().contains("/t/b/closed"), "{e}");
    let rest: Vec<String> = items[at + 2..]
        .iter()
        .map(|r| r.as_ref().unwrap().path.display().to_string())
        .collect();
    assert_eq!(
        rest,
        ["/t/b/deep", "/t/b/deep/g", "/t/b/f", "/t/c", "/t/link"]
    );
    assert!(
        !items
            .iter()
            .any(|r| matches!(r, Ok(e) if e.path.ends_with("secret")))
    );
}

trait CollectAll: futures::Stream + Sized {
    async fn collect_all(self) -> Vec<Self::Item> {
        futures::StreamExt::collect(self).await
    }
}
impl<S: futures::Stream> CollectAll for S {}
