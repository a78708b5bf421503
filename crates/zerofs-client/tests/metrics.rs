//! `publish_metrics` (feature `metrics`) hands the session's counters to the installed
//! `metrics` recorder.
#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use zerofs_client::Client;
use zerofs_memserver::{Config, Generation, MemServer};

/// The last value each metric was set to, by "name{labels}".
#[derive(Default, Clone)]
struct Values(Arc<Mutex<BTreeMap<String, f64>>>);

struct Slot(String, Values);

impl CounterFn for Slot {
    fn increment(&self, v: u64) {
        *self.1.0.lock().unwrap().entry(self.0.clone()).or_default() += v as f64;
    }
    fn absolute(&self, v: u64) {
        self.1.0.lock().unwrap().insert(self.0.clone(), v as f64);
    }
}

impl GaugeFn for Slot {
    fn increment(&self, v: f64) {
        *self.1.0.lock().unwrap().entry(self.0.clone()).or_default() += v;
    }
    fn decrement(&self, v: f64) {
        *self.1.0.lock().unwrap().entry(self.0.clone()).or_default() -= v;
    }
    fn set(&self, v: f64) {
        self.1.0.lock().unwrap().insert(self.0.clone(), v);
    }
}

struct Capture(Values);

impl Capture {
    fn slot(&self, key: &Key) -> Arc<Slot> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        Arc::new(Slot(
            format!("{}{{{}}}", key.name(), labels.join(",")),
            self.0.clone(),
        ))
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.slot(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.slot(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test]
async fn counters_and_the_in_flight_gauge_reach_the_recorder() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let c = Client::connect(&server.target()).await.unwrap();
    c.write("/f", vec![1u8; 50_000]).await.unwrap();
    let values = Values::default();
    let recorder = Capture(values.clone());
    metrics::with_local_recorder(&recorder, || c.publish_metrics(Some("a")));
    let stats = c.stats();
    let got = values.0.lock().unwrap().clone();
    let at = |name: &str| got[&format!("{name}{{client=a}}")];
    assert_eq!(at("zerofs_client_requests_total"), stats.requests as f64);
    assert!(at("zerofs_client_bytes_sent_total") >= 50_000.0);
    assert_eq!(at("zerofs_client_reconnects_total"), 0.0);
    assert_eq!(at("zerofs_client_in_flight"), stats.in_flight as f64);
    assert_eq!(at("zerofs_client_resends_total"), 0.0);
    assert_eq!(got.len(), 11, "{got:?}");
    metrics::with_local_recorder(&recorder, || c.publish_metrics(None));
    assert!(
        values
            .0
            .lock()
            .unwrap()
            .contains_key("zerofs_client_requests_total{}")
    );
}
