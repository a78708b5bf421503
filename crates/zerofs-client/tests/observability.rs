//! Every public operation runs in a debug-level `tracing` span named after it, with the path,
//! and a failure is recorded in it; reads and writes record their byte count; `Client::stats`
//! exposes the session's counters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use zerofs_9p_proto::MessageType;
use zerofs_client::{Client, OpenOptions};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};

/// (span name, path field) of every span, and the span names that saw an error event;
/// the `bytes` field each span ended up with (given at creation or recorded later), by name.
#[derive(Default)]
struct Seen {
    spans: Vec<(String, String)>,
    errors: Vec<String>,
    bytes: Vec<(String, u64)>,
    names: HashMap<u64, String>,
}

struct Capture(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Fields {
    path: String,
    error: bool,
    bytes: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "bytes" => self.bytes = Some(value),
            _ => self.record_debug(field, &value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "path" => self.path = format!("{value:?}"),
            "error" => self.error = true,
            _ => {}
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        let name = attrs.metadata().name().to_owned();
        let mut seen = self.0.lock().unwrap();
        if let Some(n) = f.bytes {
            seen.bytes.push((name.clone(), n));
        }
        seen.names.insert(id.into_u64(), name.clone());
        seen.spans.push((name, f.path));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        values.record(&mut f);
        let mut seen = self.0.lock().unwrap();
        if let (Some(n), Some(name)) = (f.bytes, seen.names.get(&id.into_u64()).cloned()) {
            seen.bytes.push((name, n));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if let (true, Some(span)) = (f.error, ctx.event_span(event)) {
            let name = span.name().to_owned();
            self.0.lock().unwrap().errors.push(name);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn operations_run_in_spans_named_after_them() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let subscriber = tracing_subscriber::registry().with(Capture(seen.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let c = Client::connect(&server.target()).await.unwrap();
    c.write("/f", "data").await.unwrap();
    assert_eq!(&c.read("/f").await.unwrap()[..], b"data");
    assert!(c.stat("/missing").await.is_err());
    c.rename("/f", "/g").await.unwrap();
    let f = c.open("/g", OpenOptions::read_only()).await.unwrap();
    f.read_at(0, 2).await.unwrap();
    assert_eq!(&c.read_range("/g", 1, 10).await.unwrap()[..], b"ata");
    c.append("/g", b"!!").await.unwrap();
    let d = c.open_dir("/").await.unwrap();
    d.metadata_at(b"g").await.unwrap();
    // The memserver has no xattrs: a failure recorded in the File's own span.
    assert!(f.get_xattr("user.a").await.is_err());
    let target = server.target();

    let seen = seen.lock().unwrap();
    for (name, path) in [
        ("connect", target.as_str()),
        ("write", "/f"),
        ("read", "/f"),
        ("stat", "/missing"),
        ("rename", "/f"),
        ("open", "/g"),
        ("file.read_at", "/g"),
        ("dir.metadata_at", "/"),
        ("file.get_xattr", "/g"),
    ] {
        assert!(
            seen.spans.iter().any(|(n, p)| n == name && p == path),
            "no span {name} with path {path}: {:?}",
            seen.spans
        );
    }
    assert_eq!(
        seen.errors,
        ["stat", "file.get_xattr"],
        "only the failed stat and get_xattr record an error"
    );
    for (name, bytes) in [
        ("write", 4),
        ("read", 4),
        ("file.read_at", 2),
        ("read_range", 3),
        ("append", 2),
    ] {
        assert!(
            seen.bytes.iter().any(|(n, b)| n == name && *b == bytes),
            "no span {name} with bytes = {bytes}: {:?}",
            seen.bytes
        );
    }
    assert!(
        !seen.bytes.iter().any(|(n, _)| n == "stat" || n == "rename"),
        "bytes only on data operations: {:?}",
        seen.bytes
    );
}

#[tokio::test]
async fn stats_count_requests_bytes_and_reconnects() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let c = Client::connect(&server.target()).await.unwrap();
    let before = c.stats();
    c.write("/f", vec![7u8; 100_000]).await.unwrap();
    assert_eq!(c.read("/f").await.unwrap().len(), 100_000);
    let after = c.stats();
    assert!(after.requests >= before.requests + 4, "{after:?}");
    assert!(after.bytes_sent >= before.bytes_sent + 100_000, "{after:?}");
    assert!(
        after.bytes_received >= before.bytes_received + 100_000,
        "{after:?}"
    );
    assert!(after.writes > before.writes);
    assert_eq!(
        (
            after.reconnects,
            after.fids_stale,
            after.protocol_violations
        ),
        (0, 0, 0)
    );
    let traffic = c.traffic_stats();
    assert_eq!(traffic.operations, c.stats().requests);
}

#[tokio::test]
async fn stats_count_a_request_resent_after_its_connection_was_lost() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let c = Client::connect(&server.target()).await.unwrap();
    c.write("/f", vec![3u8; 1000]).await.unwrap();
    assert_eq!(c.stats().resends, 0);
    // The server applies the next read, then closes the connection without answering it.
    server.lose_reply_after(ReplyLoss::next(MessageType::Tread));
    assert_eq!(c.read("/f").await.unwrap(), vec![3u8; 1000]);
    let after = c.stats();
    assert!(after.reconnects >= 1, "{after:?}");
    assert!(after.resends >= 1, "the lost read was resent: {after:?}");
}
