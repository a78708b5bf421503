//! Writes the seed corpus (`zerofs_fuzz::seeds`) into `fuzz/corpus/<target>/`, one file per
//! input named by its SHA-1, leaving inputs libFuzzer added alone:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus
//! ```
#![allow(clippy::print_stdout)]

use std::fs;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let targets = [
        ("frame_decode", zerofs_fuzz::seeds::frame_decode_seeds()),
        ("roundtrip", zerofs_fuzz::seeds::roundtrip_seeds()),
        ("session", zerofs_fuzz::session::seeds()),
    ];
    for (target, seeds) in targets {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        let mut written = 0;
        for seed in &seeds {
            let path = dir.join(zerofs_fuzz::corpus_name(seed));
            if !path.exists() {
                fs::write(&path, seed)?;
                written += 1;
            }
        }
        println!(
            "{target}: {} seeds, {written} new, in {}",
            seeds.len(),
            dir.display()
        );
    }
    Ok(())
}
