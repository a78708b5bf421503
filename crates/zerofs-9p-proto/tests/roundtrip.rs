//! Property tests of the codec against itself, in every dialect: round trips, exact lengths,
//! header-plus-payload encoding, and typed errors (never panics) on truncated, overlong,
//! misplaced, mutated and random input.

mod common;

use std::collections::BTreeSet;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};
use zerofs_9p_proto::*;

use common::*;

type Check = Result<(), TestCaseError>;

/// Instantiates one proptest per dialect for each `name => check` pair; `check(dialect, frame)`
/// gets frames of every type the dialect allows.
macro_rules! per_dialect {
    ($cases:expr; $( $name:ident => $check:path ),* $(,)?) => {$(
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(config($cases))]
                #[test]
                fn plain(frame in arb_frame(Dialect::Plain)) { $check(Dialect::Plain, frame)?; }
                #[test]
                fn zerofs(frame in arb_frame(Dialect::Zerofs)) { $check(Dialect::Zerofs, frame)?; }
                #[test]
                fn zerofs2(frame in arb_frame(Dialect::Zerofs2)) { $check(Dialect::Zerofs2, frame)?; }
                #[test]
                fn z(frame in arb_frame(Dialect::Z)) { $check(Dialect::Z, frame)?; }
            }
        }
    )*};
}

#[path = "roundtrip/robustness.rs"]
mod robustness;

per_dialect! { 512;
    roundtrip => check_roundtrip,
    head_and_payload => check_head,
    trailing_bytes => check_trailing,
    other_dialects => check_other_dialects,
}

per_dialect! { 256;
    strict_prefixes => check_prefixes,
}

/// `decode(encode(f)) == f`, exact length, identical re-encoding, same bytes into any `BufMut`.
fn check_roundtrip(dialect: Dialect, frame: Frame) -> Check {
    let ty = frame.message.msg_type();
    prop_assert!(frame.message.in_dialect(dialect));
    let mut wire = Vec::new();
    frame
        .encode(dialect, &mut wire)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(wire.len(), frame.encoded_len(dialect));
    prop_assert_eq!(
        Header::peek(&wire),
        Some(Header {
            size: wire.len() as u32,
            ty: ty.id(),
            tag: frame.tag
        })
    );

    let frame_bytes = Bytes::from(wire.clone());
    let decoded = Frame::decode(frame_bytes.clone(), dialect)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, &frame);

    // Data payloads come back as slices of the frame, not copies.
    if let Some(data) = decoded.message.payload().filter(|p| !p.is_empty()) {
        let range = frame_bytes.as_ptr_range();
        prop_assert!(
            range.contains(&data.as_ptr()),
            "payload of {} was copied",
            ty
        );
    }

    let again = encode(&decoded, dialect);
    prop_assert_eq!(&again, &wire);

    // Appending to a non-empty BytesMut writes the same bytes after what was there.
    let mut appended = BytesMut::from(&b"xyz"[..]);
    frame
        .encode(dialect, &mut appended)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&appended[..3], b"xyz");
    prop_assert_eq!(&appended[3..], &wire[..]);
    Ok(())
}

/// `encode_head` + payload == `encode`, the payload is handed back by reference, and
/// `encode_head_for` with another payload length frames that payload.
fn check_head(dialect: Dialect, frame: Frame) -> Check {
    let wire = encode(&frame, dialect);
    let mut head = Vec::new();
    let payload = frame
        .encode_head(dialect, &mut head)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    match payload {
        Some(payload) => {
            let own = frame.message.payload().expect("a payload-carrying message");
            prop_assert_eq!(payload.as_ptr(), own.as_ptr());
            prop_assert_eq!(head.len() + payload.len(), wire.len());
            prop_assert_eq!(&head[..], &wire[..head.len()]);
            prop_assert_eq!(&payload[..], &wire[head.len()..]);

            let mut head_for = Vec::new();
            frame
                .encode_head_for(dialect, payload.len(), &mut head_for)
                .unwrap();
            prop_assert_eq!(&head_for, &head);

            // The same header for a different payload, completed by the caller's bytes.
            let other = seeded_bytes(payload.len() / 2 + 3, wire.len() as u64);
            let mut spliced = Vec::new();
            frame
                .encode_head_for(dialect, other.len(), &mut spliced)
                .unwrap();
            spliced.extend_from_slice(&other);
            let decoded = Frame::decode(Bytes::from(spliced), dialect)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decoded.message.payload(), Some(&other));
            prop_assert_eq!(decoded.tag, frame.tag);
            prop_assert_eq!(decoded.envelope, frame.envelope);
            prop_assert_eq!(decoded.message.msg_type(), frame.message.msg_type());
        }
        None => {
            prop_assert!(frame.message.payload().is_none());
            prop_assert_eq!(&head, &wire);
            let mut none = Vec::new();
            prop_assert_eq!(
                frame.encode_head_for(dialect, 10, &mut none),
                Err(Error::NoPayload(frame.message.msg_type()))
            );
            prop_assert!(none.is_empty());
        }
    }
    Ok(())
}

/// Every strict prefix fails with a typed error: with the size field patched to the prefix
/// length it is a truncated field; unpatched, a length mismatch; the stream framer waits.
fn check_prefixes(dialect: Dialect, frame: Frame) -> Check {
    let wire = encode(&frame, dialect);
    let full = wire.len() as u32;
    let mut framer = FrameDecoder::new(full);
    for k in 0..wire.len() {
        let mut patched = wire[..k].to_vec();
        patch_size(&mut patched);
        let err =
            Frame::decode(Bytes::from(patched), dialect).expect_err("a strict prefix decoded");
        match k {
            0..4 => prop_assert_eq!(
                err,
                Error::Truncated {
                    message: "frame",
                    field: "size"
                }
            ),
            4..7 => prop_assert_eq!(err, Error::FrameTooSmall { size: k as u32 }),
            _ => prop_assert!(
                matches!(err, Error::Truncated { .. }),
                "prefix {k}/{full}: {err:?}"
            ),
        }

        if k >= 4 {
            let unpatched = Bytes::copy_from_slice(&wire[..k]);
            prop_assert_eq!(
                Frame::decode(unpatched, dialect),
                Err(Error::LengthMismatch {
                    declared: full,
                    actual: k
                })
            );
        }
        let mut stream = BytesMut::from(&wire[..k]);
        prop_assert_eq!(framer.decode(&mut stream), Ok(None));
        prop_assert_eq!(stream.len(), k);
    }
    let mut stream = BytesMut::from(&wire[..]);
    prop_assert_eq!(framer.decode(&mut stream), Ok(Some(Bytes::from(wire))));
    prop_assert!(stream.is_empty());
    Ok(())
}

/// Bytes after a complete body are `TrailingBytes`, counted exactly (a `LengthMismatch` while
/// the size field does not cover them).
fn check_trailing(dialect: Dialect, frame: Frame) -> Check {
    let wire = encode(&frame, dialect);
    for extra in [1usize, 2, 7, 64] {
        let mut longer = wire.clone();
        longer.extend(std::iter::repeat_n(0xa5, extra));
        prop_assert_eq!(
            Frame::decode(Bytes::from(longer.clone()), dialect),
            Err(Error::LengthMismatch {
                declared: wire.len() as u32,
                actual: wire.len() + extra
            })
        );
        patch_size(&mut longer);
        prop_assert_eq!(
            Frame::decode(Bytes::from(longer), dialect),
            Err(Error::TrailingBytes {
                message: frame.message.name(),
                count: extra
            })
        );
    }
    Ok(())
}

/// In other dialects: a type they lack is `NotInDialect` (decode and encode); a type they have
/// with the same layout decodes to the same frame; a wrong envelope is refused on encode.
fn check_other_dialects(dialect: Dialect, frame: Frame) -> Check {
    let ty = frame.message.msg_type();
    let wire = Bytes::from(encode(&frame, dialect));
    for other in Dialect::ALL.into_iter().filter(|&d| d != dialect) {
        let decoded = Frame::decode(wire.clone(), other);
        let mut out = Vec::new();
        let encoded = frame.encode(other, &mut out);
        if !other.allows(ty) {
            prop_assert_eq!(
                decoded,
                Err(Error::NotInDialect {
                    message: ty,
                    dialect: other
                })
            );
            prop_assert_eq!(
                encoded,
                Err(Error::NotInDialect {
                    message: ty,
                    dialect: other
                })
            );
            prop_assert!(out.is_empty());
        } else if ty == MessageType::Trebind && (dialect == Dialect::Z) != (other == Dialect::Z) {
            // The gen 1/2 layout (16 bytes) and the `.Z` layout (27+ bytes) never mix.
            let err = decoded.expect_err("Trebind decoded in the other layout");
            if dialect == Dialect::Z {
                prop_assert!(
                    matches!(
                        err,
                        Error::TrailingBytes {
                            message: "Trebind",
                            ..
                        }
                    ),
                    "{err:?}"
                );
            } else {
                prop_assert!(
                    matches!(
                        err,
                        Error::Truncated {
                            message: "TrebindZ",
                            ..
                        }
                    ),
                    "{err:?}"
                );
            }
            prop_assert_eq!(
                encoded,
                Err(Error::NotInDialect {
                    message: ty,
                    dialect: other
                })
            );
            prop_assert!(out.is_empty());
        } else if dialect.has_envelope(ty) != other.has_envelope(ty) {
            let expected = other.has_envelope(ty);
            prop_assert_eq!(
                encoded,
                Err(Error::Envelope {
                    message: ty,
                    dialect: other,
                    expected
                })
            );
            prop_assert!(out.is_empty());
            // The bytes may or may not parse in the other framing; whatever parses must be
            // canonical.
            if let Ok(f) = decoded {
                prop_assert_eq!(&encode(&f, other)[..], &wire[..]);
            }
        } else {
            prop_assert_eq!(decoded.as_ref(), Ok(&frame));
            encoded.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&out[..], &wire[..]);
        }
    }
    Ok(())
}

/// Sampling `arb_message` reaches every message type the dialect allows, and only those; and
/// across dialects both `Trebind` layouts.
#[test]
fn generators_cover_every_message_type_in_every_dialect() {
    let mut runner = TestRunner::deterministic();
    let mut variants = BTreeSet::new();
    for dialect in Dialect::ALL {
        let allowed: BTreeSet<MessageType> = types_in(dialect).collect();
        let strategy = arb_message(dialect);
        let mut seen = BTreeSet::new();
        for _ in 0..30 * allowed.len() {
            let message = strategy.new_tree(&mut runner).unwrap().current();
            assert!(
                message.in_dialect(dialect),
                "{message:?} generated for {dialect}"
            );
            seen.insert(message.msg_type());
            variants.insert(message.name());
        }
        let missing: Vec<_> = allowed.difference(&seen).collect();
        assert!(
            missing.is_empty(),
            "never generated in {dialect}: {missing:?}"
        );
        // And each per-type strategy yields its type.
        for ty in allowed {
            let message = arb_message_of(ty, dialect)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            assert_eq!(message.msg_type(), ty);
            assert!(message.in_dialect(dialect));
        }
    }
    let counts: Vec<usize> = Dialect::ALL.iter().map(|&d| types_in(d).count()).collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(types_in(Dialect::Z).count(), MessageType::ALL.len());
    assert!(variants.contains("Trebind") && variants.contains("TrebindZ"));
    // Every variant: one per type, plus the second Trebind layout.
    assert_eq!(variants.len(), MessageType::ALL.len() + 1);
}

/// Frames generated with an envelope have it exactly where the dialect wants it.
#[test]
fn generated_envelopes_follow_the_dialect() {
    let mut runner = TestRunner::deterministic();
    for dialect in Dialect::ALL {
        let strategy = arb_frame(dialect);
        for _ in 0..200 {
            let frame = strategy.new_tree(&mut runner).unwrap().current();
            assert_eq!(
                frame.envelope.is_some(),
                dialect.has_envelope(frame.message.msg_type()),
                "{frame:?}"
            );
        }
    }
}

/// The wire limits: a 65535-byte string and 65535 walk names encode; one more is `TooLong`.
#[test]
fn longest_fields_round_trip_and_longer_ones_are_refused() {
    let name = Bytes::from(vec![b'n'; 65535]);
    let ok = Frame::new(
        1,
        Message::Tversion(Tversion {
            msize: 1,
            version: name.clone(),
        }),
    );
    let wire = encode(&ok, Dialect::Plain);
    assert_eq!(Frame::decode(Bytes::from(wire), Dialect::Plain), Ok(ok));

    let long = Frame::new(
        1,
        Message::Tversion(Tversion {
            msize: 1,
            version: Bytes::from(vec![0; 65536]),
        }),
    );
    let mut out = Vec::new();
    assert!(matches!(
        long.encode(Dialect::Plain, &mut out),
        Err(Error::TooLong {
            field: "version",
            len: 65536,
            max: 65535,
            ..
        })
    ));
    assert!(out.is_empty());

    let walk = |n| {
        Frame::new(
            2,
            Message::Twalk(Twalk {
                fid: 0,
                newfid: 1,
                wnames: vec![Bytes::new(); n],
            }),
        )
    };
    let wire = encode(&walk(65535), Dialect::Zerofs);
    assert_eq!(
        Frame::decode(Bytes::from(wire), Dialect::Zerofs),
        Ok(walk(65535))
    );
    assert!(matches!(
        walk(65536).encode(Dialect::Zerofs, &mut out),
        Err(Error::TooLong {
            field: "wnames",
            ..
        })
    ));
    assert!(out.is_empty());

    let walk_name = Frame::new(
        3,
        Message::Twalk(Twalk {
            fid: 0,
            newfid: 1,
            wnames: vec![Bytes::from(vec![0; 70000])],
        }),
    );
    assert!(matches!(
        walk_name.encode(Dialect::Plain, &mut out),
        Err(Error::TooLong { .. })
    ));
    assert!(out.is_empty());
}

/// The codec refuses to encode a `.Z` mutation without its envelope, or with one elsewhere.
#[test]
fn envelope_presence_is_enforced_on_encode() {
    let mkdir = Message::Tmkdir(Tmkdir {
        dfid: 1,
        name: Bytes::from_static(b"d"),
        mode: 0o755,
        gid: 0,
    });
    let mut out = Vec::new();
    assert_eq!(
        Frame::new(1, mkdir.clone()).encode(Dialect::Z, &mut out),
        Err(Error::Envelope {
            message: MessageType::Tmkdir,
            dialect: Dialect::Z,
            expected: true
        })
    );
    assert_eq!(
        Frame::with_envelope(1, Envelope::NONE, mkdir).encode(Dialect::Zerofs2, &mut out),
        Err(Error::Envelope {
            message: MessageType::Tmkdir,
            dialect: Dialect::Zerofs2,
            expected: false
        })
    );
    assert_eq!(
        Frame::with_envelope(1, Envelope::NONE, Message::Tclunk(Tclunk { fid: 1 }))
            .encode(Dialect::Z, &mut out),
        Err(Error::Envelope {
            message: MessageType::Tclunk,
            dialect: Dialect::Z,
            expected: false
        })
    );
    assert!(out.is_empty());
}
