//! [`Client::publish_metrics`] (feature `metrics`): the session's counters through the
//! `metrics` crate facade, for whatever exporter the program installed.

use crate::client::Client;
use crate::records::ClientStats;

/// How a counter's value is read from a [`ClientStats`].
type Read = fn(&ClientStats) -> u64;

/// The counter names, with the value each takes from a [`ClientStats`].
const COUNTERS: [(&str, Read); 10] = [
    ("zerofs_client_requests_total", |s| s.requests),
    ("zerofs_client_bytes_sent_total", |s| s.bytes_sent),
    ("zerofs_client_bytes_received_total", |s| s.bytes_received),
    ("zerofs_client_bytes_received_in_place_total", |s| {
        s.bytes_received_in_place
    }),
    ("zerofs_client_socket_writes_total", |s| s.writes),
    ("zerofs_client_reconnects_total", |s| s.reconnects),
    ("zerofs_client_resends_total", |s| s.resends),
    ("zerofs_client_fids_replayed_total", |s| s.fids_replayed),
    ("zerofs_client_fids_stale_total", |s| s.fids_stale),
    ("zerofs_client_protocol_violations_total", |s| {
        s.protocol_violations
    }),
];

impl Client {
    /// Publishes [`stats`](Client::stats) through the `metrics` facade: every total as a
    /// counter (`zerofs_client_requests_total`, `..._bytes_sent_total`,
    /// `..._reconnects_total`...) set to its current value, and `zerofs_client_in_flight` as a
    /// gauge. Cheap; call it on whatever schedule the exporter scrapes (e.g. from a
    /// `tokio::time::interval` task). Several clients can be told apart with a `client` label
    /// (`label`, or none when `None`).
    pub fn publish_metrics(&self, label: Option<&str>) {
        let stats = self.stats();
        let labels: Vec<(&'static str, String)> = label
            .map(|l| vec![("client", l.to_owned())])
            .unwrap_or_default();
        for (name, value) in COUNTERS {
            metrics::counter!(name, &labels).absolute(value(&stats));
        }
        metrics::gauge!("zerofs_client_in_flight", &labels).set(stats.in_flight as f64);
    }
}
