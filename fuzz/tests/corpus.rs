//! Replays the checked-in corpus `corpus/<target>/*` through each target's function, as
//! ordinary tests on stable rustc (what CI runs; see docs/FUZZING.md). Test names start with
//! the target name so `cargo test -- TARGET` selects them.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use zerofs_9p_proto::bytes::Bytes;
use zerofs_9p_proto::{Dialect, Frame, MessageType};
use zerofs_fuzz::{Outcome, corpus_name, frame_decode, roundtrip, seeds};

/// Every file of `corpus/<target>/`, sorted, with its name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (
                name,
                fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
            )
        })
        .collect();
    files.sort();
    files
}

/// The message types that decode from some frame of the corpus, in some dialect.
fn types_decoded(inputs: &[(String, Vec<u8>)]) -> BTreeSet<MessageType> {
    let mut types = BTreeSet::new();
    for (_, data) in inputs {
        for dialect in Dialect::ALL {
            if let Ok(frame) = Frame::decode(Bytes::copy_from_slice(data), dialect) {
                types.insert(frame.message.msg_type());
            }
        }
    }
    types
}

#[test]
fn frame_decode_corpus() {
    let inputs = corpus("frame_decode");
    assert!(
        inputs.len() >= 20,
        "frame_decode corpus has only {} inputs",
        inputs.len()
    );
    let mut total = Outcome::default();
    for (name, data) in &inputs {
        eprintln!("frame_decode {name} ({} bytes)", data.len());
        total += frame_decode(data);
    }
    // The seeds hold every seed frame of every dialect: far more than these many must frame
    // and decode, or the corpus no longer reaches the codec.
    let frames = seeds::frames().len();
    assert!(total.frames >= frames, "{total:?}, {frames} seed frames");
    assert!(total.decoded >= frames, "{total:?}, {frames} seed frames");
}

#[test]
fn roundtrip_corpus() {
    let inputs = corpus("roundtrip");
    assert!(
        inputs.len() >= 20,
        "roundtrip corpus has only {} inputs",
        inputs.len()
    );
    let mut decoded = 0;
    for (name, data) in &inputs {
        eprintln!("roundtrip {name} ({} bytes)", data.len());
        decoded += roundtrip(data);
    }
    assert!(decoded >= seeds::frames().len(), "only {decoded} decodes");
    let missing: Vec<MessageType> = MessageType::ALL
        .iter()
        .copied()
        .filter(|ty| !types_decoded(&inputs).contains(ty))
        .collect();
    assert!(
        missing.is_empty(),
        "no roundtrip corpus frame decodes as {missing:?}"
    );
}

/// Each target's corpus, run through the other target too (cheap extra coverage).
#[test]
fn cross_corpus_frame_decode_and_roundtrip() {
    for (_, data) in corpus("roundtrip") {
        // A roundtrip input is a bare frame: prefix a control byte to make it a stream.
        let mut stream = vec![data.len() as u8];
        stream.extend(&data);
        frame_decode(&stream);
    }
    for (_, data) in corpus("frame_decode") {
        roundtrip(&data);
        roundtrip(data.get(1..).unwrap_or_default());
    }
}

#[test]
fn every_seed_is_checked_in_under_its_content_hash() {
    let targets = [
        ("frame_decode", seeds::frame_decode_seeds()),
        ("roundtrip", seeds::roundtrip_seeds()),
        ("session", zerofs_fuzz::session::seeds()),
    ];
    for (target, seeds) in targets {
        let files = corpus(target);
        let names: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        let missing: Vec<String> = seeds
            .iter()
            .map(|seed| corpus_name(seed))
            .filter(|name| !names.contains(name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{} {target} seeds are not in fuzz/corpus/{target} (run `cargo run --manifest-path \
             fuzz/Cargo.toml --example seed_corpus`): {missing:?}",
            missing.len()
        );
        for (name, data) in &files {
            assert_eq!(
                name,
                &corpus_name(data),
                "corpus/{target}/{name} is not named by its hash"
            );
        }
    }
}

#[test]
fn seeds_cover_every_message_type_and_malformed_seeds_fail() {
    let types: BTreeSet<MessageType> = seeds::messages().iter().map(|m| m.msg_type()).collect();
    let all: BTreeSet<MessageType> = MessageType::ALL.iter().copied().collect();
    assert_eq!(types, all);
    for bad in seeds::malformed() {
        for dialect in Dialect::ALL {
            let result = Frame::decode(Bytes::from(bad.clone()), dialect);
            assert!(result.is_err(), "{bad:?} decodes in {dialect}: {result:?}");
        }
    }
}

/// The checks must be able to fail: a frame whose re-encoding differs is caught.
#[test]
#[should_panic(expected = "re-encodes differently")]
fn round_trip_check_catches_a_mismatch() {
    let (dialect, wire) = seeds::frames().into_iter().next().expect("a seed frame");
    let frame = Frame::decode(Bytes::from(wire.clone()), dialect).expect("seed decodes");
    let mut other = wire;
    let last = other.len() - 1;
    other[last] ^= 1;
    zerofs_fuzz::check_round_trip(&Bytes::from(other), dialect, &frame);
}

#[test]
fn session_corpus() {
    let inputs = corpus("session");
    assert!(
        inputs.len() >= 20,
        "session corpus has only {} inputs",
        inputs.len()
    );
    let mut total = zerofs_fuzz::session::SessionOutcome::default();
    for (name, data) in &inputs {
        eprintln!("session {name} ({} bytes)", data.len());
        total += zerofs_fuzz::session::session(data);
    }
    eprintln!("session corpus: {total:?}");
    // The corpus must get past the handshake: calls made and some succeeding, directives
    // used, and connections redialled after the misbehaviours.
    assert!(total.calls >= 16 * inputs.len() / 2, "{total:?}");
    assert!(
        total.succeeded > 0 && total.succeeded < total.calls,
        "{total:?}"
    );
    assert!(total.directed > 10 * inputs.len(), "{total:?}");
    assert!(total.connections > 2 * inputs.len(), "{total:?}");
}
