//! Keeps `docs/ROUND-TRIPS.md` honest: its table is what this test measures. Run with
//! `UPDATE_ROUND_TRIPS=1` to rewrite the table after a change.

use zerofs_conformance::scenarios::roundtrips::{measure, render};
use zerofs_memserver::Generation;

const BEGIN: &str = "<!-- BEGIN MEASURED TABLE -->\n";
const END: &str = "<!-- END MEASURED TABLE -->";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_table_matches_measurements() {
    let mut measured = Vec::new();
    for g in Generation::ALL {
        measured.push((g, measure(g).await));
    }
    let table = render(&measured);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ROUND-TRIPS.md");
    let doc = std::fs::read_to_string(path).expect("docs/ROUND-TRIPS.md exists");
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    if std::env::var_os("UPDATE_ROUND_TRIPS").is_some() {
        let updated = format!("{}{table}{}", &doc[..start], &doc[end..]);
        std::fs::write(path, updated).expect("rewrite docs/ROUND-TRIPS.md");
        return;
    }
    assert_eq!(
        doc[start..end],
        table,
        "docs/ROUND-TRIPS.md is stale: rerun with UPDATE_ROUND_TRIPS=1"
    );
}
