//! Differential tests against ZeroFS's own published codec, `ninep-proto` 0.1.2 (plain, gen 1,
//! gen 2 framing) and 0.4.0 (plain and `.Z`), both directions, for every message type both
//! sides have, in every dialect each speaks.
//!
//! Random frames come from our strategies (`common`); "built in theirs" means converted to
//! their structs by the adapters (`differential/shared` for what both versions share,
//! `differential/v01` and `differential/v04` for each version's own) and encoded by their
//! encoder. A wrong adapter cannot hide a codec difference: a frame goes out through
//! one codec and comes back through the other, and the bytes are compared as well as values.

mod common;
#[macro_use]
#[path = "differential/shared/mod.rs"]
mod shared;
#[path = "differential/v01/mod.rs"]
mod v01;
#[path = "differential/v04/mod.rs"]
mod v04;

use bytes::Bytes;
use ninep_proto_01 as v1;
use ninep_proto_04 as v4;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use zerofs_9p_proto::*;

use common::*;

/// `name => (dialect, peer module)`: a proptest each way over every type the peer supports.
macro_rules! differential {
    ($cases:expr; $( $name:ident => ($dialect:expr, $peer:ident) ),* $(,)?) => {$(
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(config($cases))]
                #[test]
                fn ours_to_theirs(frame in arb_frame_where($dialect, |ty| $peer::supports($dialect, ty))) {
                    $peer::ours_to_theirs($dialect, &frame)?;
                }
                #[test]
                fn theirs_to_ours(frame in arb_frame_where($dialect, |ty| $peer::supports($dialect, ty))) {
                    $peer::theirs_to_ours($dialect, &frame)?;
                }
            }
        }
    )*};
}

differential! { 512;
    v01_plain => (Dialect::Plain, v01),
    v01_zerofs => (Dialect::Zerofs, v01),
    v01_zerofs2 => (Dialect::Zerofs2, v01),
    v01_z_envelope_free => (Dialect::Z, v01),
    v04_plain => (Dialect::Plain, v04),
    v04_zerofs => (Dialect::Zerofs, v04),
    v04_zerofs2 => (Dialect::Zerofs2, v04),
    v04_z => (Dialect::Z, v04),
}

/// One random frame of `ty` in `dialect`.
fn sample(ty: MessageType, dialect: Dialect, runner: &mut TestRunner) -> Frame {
    arb_frame_of(ty, dialect)
        .new_tree(runner)
        .unwrap()
        .current()
}

/// The skip lists are exact: every type a peer is said to support converts, and every type it
/// is said to lack has no conversion and its id is refused by the peer's decoder.
#[test]
fn skipped_types_are_exactly_the_missing_ones() {
    let mut runner = TestRunner::deterministic();
    for &ty in MessageType::ALL {
        let frame = sample(ty, Dialect::Z, &mut runner);
        let wire = encode(&frame, Dialect::Z);

        let in_01 = !v01::lacks(ty);
        // In `.Z`, `Rgetlineage` and `Trebind` have layouts 0.1.2 lacks.
        let z_layout_in_01 =
            in_01 && !matches!(ty, MessageType::Rgetlineage | MessageType::Trebind);
        assert_eq!(
            v01::to_theirs(&frame.message).is_some(),
            z_layout_in_01,
            "{ty}"
        );
        if !in_01 {
            assert!(v01::decode(&wire).is_err(), "0.1.2 decoded a {ty}");
        }

        let in_04 = !v04::lacks(ty);
        assert_eq!(v04::to_theirs(&frame.message).is_some(), in_04, "{ty}");
        if !in_04 {
            assert!(
                v04::decode(&wire, Dialect::Z).is_err(),
                "0.4.0 decoded a {ty}"
            );
        }
    }
    // Every type both have is compared in some dialect.
    for &ty in MessageType::ALL {
        let compared_01 = Dialect::ALL
            .into_iter()
            .any(|d| d.allows(ty) && v01::supports(d, ty));
        let compared_04 = Dialect::ALL
            .into_iter()
            .any(|d| d.allows(ty) && v04::supports(d, ty));
        // 0.1.2's `Rgetlineage` is the 8-byte `.zerofs4` one, never the `.Z` one we speak.
        let shared_01 = !v01::lacks(ty) && ty != MessageType::Rgetlineage;
        assert_eq!(compared_01, shared_01, "{ty} with 0.1.2");
        assert_eq!(compared_04, !v04::lacks(ty), "{ty} with 0.4.0");
    }
}

/// 0.4.0 cannot hold the gen 1 `Trebind` (it fails on the 16-byte body); 0.1.2 reads only the
/// gen 1 fields of a `.Z` one, which its re-encoding shows.
#[test]
fn trebind_layouts_are_version_specific() {
    let mut runner = TestRunner::deterministic();
    let gen1 = sample(MessageType::Trebind, Dialect::Zerofs2, &mut runner);
    assert!(v04::to_theirs(&gen1.message).is_none());
    assert!(v04::decode(&encode(&gen1, Dialect::Zerofs2), Dialect::Zerofs2).is_err());

    let z = Frame::new(
        9,
        Message::TrebindZ(TrebindZ {
            fid: 3,
            inode_id: 42,
            root_inode: 5,
            flags: 1,
            uname: Bytes::from_static(b"root"),
            n_uname: 1000,
        }),
    );
    assert!(v01::to_theirs(&z.message).is_none());
    let wire = encode(&z, Dialect::Z);
    let lenient = v01::decode(&wire).expect("0.1.2 reads a prefix of it");
    assert_ne!(lenient.to_bytes().unwrap(), wire);
}

/// Both codecs put the `.Z` envelope on the same 17 request types and on nothing else.
#[test]
fn envelope_set_matches_v04() {
    for id in 0..=u8::MAX {
        let ours = MessageType::from_u8(id).is_some_and(|ty| Dialect::Z.has_envelope(ty));
        assert_eq!(v4::P9Message::carries_op_id(id), ours, "type {id}");
    }
}

/// The two published versions agree with each other where both apply (plain framing, every
/// type 0.1.2 has except the gen 1 `Trebind`), so our agreement with each is not an accident of
/// one version.
#[test]
fn published_versions_agree_on_shared_layouts() {
    let mut runner = TestRunner::deterministic();
    let mut compared = 0;
    for &ty in MessageType::ALL {
        if !(v01::supports(Dialect::Zerofs2, ty)
            && v04::supports(Dialect::Zerofs2, ty)
            && Dialect::Zerofs2.allows(ty))
        {
            continue;
        }
        for _ in 0..4 {
            let frame = sample(ty, Dialect::Zerofs2, &mut runner);
            let a = v1::P9Message::new(frame.tag, v01::to_theirs(&frame.message).unwrap())
                .to_bytes()
                .unwrap();
            let b = v4::P9Message::new(frame.tag, v04::to_theirs(&frame.message).unwrap())
                .to_bytes_ctx(false)
                .unwrap();
            assert_eq!(a, b, "{ty}");
            compared += 1;
        }
    }
    assert!(compared >= 4 * 60, "only {compared} frames compared");
}
