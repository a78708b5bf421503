//! Round trips per operation, measured with the memserver's frame counters (background
//! clunks excluded), against ZeroFS's own client (REFERENCE-CLIENT.md §2.2).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use zerofs_client::{Client, NodeKind, OpenOptions};
use zerofs_memserver::Generation;

use crate::Fixture;
use crate::fixture::total;

/// One measured operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What was measured.
    pub op: &'static str,
    /// Frames our client sent.
    pub ours: u64,
    /// The reference client's round trips at this dialect.
    pub reference: u64,
}

type Step<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The reference column for `generation`: §2.2 gives L2 / L1 / L0 (`.Z` uses the L2 path).
fn pick(g: Generation, [l2, l1, l0]: [u64; 3]) -> u64 {
    match g {
        Generation::Plain => l0,
        Generation::Gen1 => l1,
        Generation::Gen2 | Generation::Z => l2,
    }
}

/// Measures every operation on a fresh memserver of `generation`.
pub async fn measure(generation: Generation) -> Vec<Row> {
    let fx = Fixture::memserver(generation).await;
    let c = fx.client().await;
    let mut rows = Vec::new();
    macro_rules! rt {
        ($op:literal, $refs:expr, |$cl:ident| setup $setup:block op $body:block) => {{
            {
                let $cl: Arc<Client> = c.clone();
                let _ = &$cl;
                $setup;
            }
            let $cl: Arc<Client> = c.clone();
            let body: Step<'_> = Box::pin(async move { $body });
            let ((), delta) = fx.count(|| body).await;
            rows.push(Row {
                op: $op,
                ours: total(&delta),
                reference: pick(generation, $refs),
            });
        }};
    }
    rt!("stat", [1, 1, 2], |c| setup { c.create_dir("/d", 0o755).await.unwrap(); c.write("/d/f", b"0123456789").await.unwrap(); } op { c.stat("/d/f").await.unwrap(); });
    rt!("exists", [1, 1, 2], |c| setup {} op { assert!(c.exists("/d/f").await.unwrap()); });
    rt!("metadata (no symlink)", [1, 1, 2], |c| setup {} op { c.metadata("/d/f").await.unwrap(); });
    rt!("read (one chunk)", [3, 3, 3], |c| setup {} op { assert_eq!(c.read("/d/f").await.unwrap().len(), 10); });
    rt!("read_range (one chunk)", [3, 3, 3], |c| setup {} op { c.read_range("/d/f", 2, 4).await.unwrap(); });
    rt!("write (new file)", [4, 5, 5], |c| setup {} op { c.write("/d/new", b"abc").await.unwrap(); });
    rt!("write (existing, same length)", [5, 5, 5], |c| setup {} op { c.write("/d/new", b"xyz").await.unwrap(); });
    rt!("write (existing, shorter)", [5, 5, 5], |c| setup {} op { c.write("/d/new", b"x").await.unwrap(); });
    rt!("append (existing)", [5, 5, 5], |c| setup {} op { assert_eq!(c.append("/d/new", b"yz").await.unwrap(), 1); });
    rt!("open (existing, read-only)", [3, 3, 3], |c| setup {} op { c.open("/d/f", OpenOptions::read_only()).await.unwrap(); });
    rt!("open (create_new)", [2, 3, 3], |c| setup {} op { c.open("/d/cn", OpenOptions::write_only().create_new(true)).await.unwrap(); });
    rt!("create_dir", [2, 3, 4], |c| setup {} op { c.create_dir("/d/sub", 0o755).await.unwrap(); });
    rt!("symlink", [2, 3, 4], |c| setup {} op { c.symlink("f", "/d/ln").await.unwrap(); });
    rt!("mknod", [2, 3, 4], |c| setup {} op { c.mknod("/d/fifo", NodeKind::Fifo, 0o644).await.unwrap(); });
    rt!("hard_link", [3, 4, 5], |c| setup { c.create_dir("/e", 0o755).await.unwrap(); } op { assert_eq!(c.hard_link("/d/f", "/e/hl").await.unwrap().nlink, 2); });
    rt!("read_link", [2, 2, 2], |c| setup {} op { c.read_link("/d/ln").await.unwrap(); });
    rt!("chmod", [2, 3, 3], |c| setup {} op { c.chmod("/d/f", 0o600).await.unwrap(); });
    rt!("rename (same directory)", [3, 3, 3], |c| setup {} op { c.rename("/d/cn", "/d/cn2").await.unwrap(); });
    rt!("rename (across directories)", [3, 3, 3], |c| setup {} op { c.rename("/d/cn2", "/e/cn3").await.unwrap(); });
    rt!("remove_file", [2, 2, 2], |c| setup {} op { c.remove_file("/e/cn3").await.unwrap(); });
    rt!("remove_dir", [2, 2, 2], |c| setup {} op { c.remove_dir("/d/sub").await.unwrap(); });
    rt!("statfs", [1, 1, 1], |c| setup {} op { c.statfs().await.unwrap(); });
    rt!("sync", [1, 1, 1], |c| setup {} op { c.sync().await.unwrap(); });
    rt!("open_dir", [1, 1, 1], |c| setup {} op { c.open_dir("/e").await.unwrap(); });
    rt!("read_dir (one batch)", [4, 5, 5], |c| setup {} op { assert_eq!(c.read_dir("/e").await.unwrap().len(), 1); });
    rt!("create_dir_all (exists, 2 levels)", [5, 5, 6], |c| setup { c.create_dir("/d/s2", 0o755).await.unwrap(); } op { c.create_dir_all("/d/s2", 0o755).await.unwrap(); });
    rt!("create_dir_all (new, 2 levels)", [5, 5, 6], |c| setup {} op { c.create_dir_all("/n1/n2", 0o755).await.unwrap(); });
    rt!("remove_dir_all (2 files)", [8, 9, 9], |c| setup { c.create_dir("/d/t", 0o755).await.unwrap(); c.write("/d/t/a", b"a").await.unwrap(); c.write("/d/t/b", b"b").await.unwrap(); } op { c.remove_dir_all("/d/t").await.unwrap(); });
    let dir = c.open_dir("/d").await.unwrap();
    let file = c.open("/d/f", OpenOptions::read_write()).await.unwrap();
    macro_rules! rt_handle {
        ($op:literal, $refs:expr, $body:expr) => {{
            let body: Step<'_> = Box::pin($body);
            let ((), delta) = fx.count(|| body).await;
            rows.push(Row {
                op: $op,
                ours: total(&delta),
                reference: pick(generation, $refs),
            });
        }};
    }
    rt_handle!("Dir::metadata_at", [1, 1, 2], async {
        dir.metadata_at(b"f").await.unwrap();
    });
    rt_handle!("Dir::create_dir_at", [1, 2, 3], async {
        dir.create_dir_at(b"at", 0o755).await.unwrap();
    });
    rt_handle!("Dir::rename_at", [1, 1, 1], async {
        dir.rename_at(b"at", &dir, b"at2").await.unwrap();
    });
    rt_handle!("Dir::remove_dir_at", [1, 1, 1], async {
        dir.remove_dir_at(b"at2").await.unwrap();
    });
    rt_handle!("File::metadata", [1, 1, 1], async {
        file.metadata().await.unwrap();
    });
    rt_handle!("File::sync_all", [1, 1, 1], async {
        file.sync_all().await.unwrap();
    });
    rows
}

/// Every operation costs at most what the reference client spends, and strictly less where
/// the protocol allows it.
pub async fn round_trips(fx: Fixture) {
    // Capability check: counting frames per request type needs the memserver's counters.
    let (Some(generation), Some(_)) = (fx.caps.generation, fx.server.as_ref()) else {
        fx.skip("counting frames per operation needs the memserver's counters");
        return;
    };
    let rows = measure(generation).await;
    for r in &rows {
        assert!(
            r.ours <= r.reference,
            "{generation}: {} costs {} > reference {}",
            r.op,
            r.ours,
            r.reference
        );
    }
    let ours = |op: &str| rows.iter().find(|r| r.op == op).map(|r| r.ours).expect(op);
    assert_eq!(ours("create_dir_all (exists, 2 levels)"), 1);
    assert_eq!(ours("open (existing, read-only)"), 2);
    assert_eq!(ours("rename (same directory)"), 2);
    assert!(ours("write (existing, same length)") < 5);
    assert!(ours("create_dir_all (new, 2 levels)") < 5);
}

/// Renders the table of `docs/ROUND-TRIPS.md` from measurements per generation.
pub fn render(measured: &[(Generation, Vec<Row>)]) -> String {
    let mut out = String::from("| operation |");
    for (g, _) in measured {
        out.push_str(&format!(" {} ours / ref |", dialect_name(*g)));
    }
    out.push_str("\n|---|");
    for _ in measured {
        out.push_str("---|");
    }
    out.push('\n');
    let ops: Vec<&str> = measured
        .first()
        .map(|(_, r)| r.iter().map(|r| r.op).collect())
        .unwrap_or_default();
    for (i, op) in ops.iter().enumerate() {
        out.push_str(&format!("| {op} |"));
        for (_, rows) in measured {
            let r = &rows[i];
            let mark = if r.ours < r.reference { " **−**" } else { "" };
            out.push_str(&format!(" {} / {}{mark} |", r.ours, r.reference));
        }
        out.push('\n');
    }
    out
}

fn dialect_name(g: Generation) -> &'static str {
    match g {
        Generation::Plain => "`9P2000.L`",
        Generation::Gen1 => "`.zerofs`",
        Generation::Gen2 => "`.zerofs2`",
        Generation::Z => "`.Z`",
    }
}
