//! Bad input never panics: random bytes, random bodies behind a valid header, random edits of
//! valid frames and every single-byte substitution either fail with a typed error or decode to
//! a frame that re-encodes to exactly the input (the decoder accepts only canonical bytes).
//! Plus the stream framer over arbitrary chunkings.

use super::*;

/// One edit of a valid frame.
#[derive(Debug, Clone)]
enum Mutation {
    Xor(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    PatchSize,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Xor(i, x)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        3 => Just(Mutation::PatchSize),
    ]
}

fn mutate(buf: &mut Vec<u8>, m: &Mutation) {
    let n = buf.len();
    match *m {
        Mutation::Xor(i, x) if n > 0 => buf[i % n] ^= x,
        Mutation::Set(i, b) if n > 0 => buf[i % n] = b,
        Mutation::Insert(i, b) => buf.insert(i % (n + 1), b),
        Mutation::Remove(i) if n > 0 => {
            buf.remove(i % n);
        }
        Mutation::Truncate(i) => buf.truncate(i % (n + 1)),
        Mutation::PatchSize => patch_size(buf),
        _ => {}
    }
}

/// Decodes `frame` in every dialect; whatever decodes must re-encode to exactly these bytes
/// (the decoder accepts only canonical encodings), the rest fails with a typed error.
fn decode_everywhere(frame: &Bytes) -> Check {
    for dialect in Dialect::ALL {
        if let Ok(f) = Frame::decode(frame.clone(), dialect) {
            prop_assert_eq!(f.encoded_len(dialect), frame.len());
            prop_assert_eq!(&encode(&f, dialect)[..], &frame[..]);
        }
    }
    Ok(())
}

/// Runs a byte stream through the framer (bounded: each step consumes at least 7 bytes or
/// stops) and decodes every frame it yields in every dialect.
fn frame_stream(bytes: &[u8], max: u32) -> Check {
    let mut framer = FrameDecoder::new(max);
    let mut stream = BytesMut::from(bytes);
    for _ in 0..=bytes.len() / 7 {
        match framer.decode(&mut stream) {
            Ok(Some(frame)) => {
                prop_assert!(frame.len() >= 7 && frame.len() <= max as usize);
                decode_everywhere(&frame)?;
            }
            Ok(None) => {
                prop_assert!(
                    stream.len() < 4
                        || stream.len()
                            < u32::from_le_bytes(stream[..4].try_into().unwrap()) as usize
                );
                return Ok(());
            }
            Err(e) => {
                prop_assert!(
                    matches!(e, Error::FrameTooSmall { .. } | Error::FrameTooLarge { .. }),
                    "{e:?}"
                );
                return Ok(());
            }
        }
    }
    prop_assert!(stream.is_empty(), "framer made no progress");
    Ok(())
}

/// A frame with a valid header (size right, type known) and a random body: reaches the body
/// parsers far more often than fully random bytes.
fn random_body_frame() -> impl Strategy<Value = Vec<u8>> {
    let ids: Vec<u8> = MessageType::ALL.iter().map(|t| t.id()).collect();
    (
        prop_oneof![9 => proptest::sample::select(ids), 1 => any::<u8>()],
        any::<u16>(),
        prop_oneof![vec(any::<u8>(), 0..=64), vec(any::<u8>(), 0..=600)],
    )
        .prop_map(|(ty, tag, body)| {
            let mut frame = vec![0, 0, 0, 0, ty];
            frame.extend_from_slice(&tag.to_le_bytes());
            frame.extend_from_slice(&body);
            patch_size(&mut frame);
            frame
        })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..=512), max in prop_oneof![Just(consts::MAX_MSIZE), 7..=600u32]) {
        frame_stream(&bytes, max)?;
        let whole = Bytes::from(bytes);
        decode_everywhere(&whole)?;
    }

    #[test]
    fn random_bodies_never_panic(frame in random_body_frame()) {
        decode_everywhere(&Bytes::from(frame.clone()))?;
        frame_stream(&frame, consts::MAX_MSIZE)?;
    }

    #[test]
    fn mutated_frames_never_panic(
        (dialect, frame) in proptest::sample::select(Dialect::ALL.to_vec())
            .prop_flat_map(|d| (Just(d), arb_frame(d))),
        edits in vec(mutation(), 1..=4),
    ) {
        let mut wire = encode(&frame, dialect);
        for m in &edits {
            mutate(&mut wire, m);
        }
        decode_everywhere(&Bytes::from(wire.clone()))?;
        frame_stream(&wire, consts::MAX_MSIZE)?;
    }

    #[test]
    fn streams_of_frames_split_at_any_chunking(
        frames in vec(arb_frame(Dialect::Z), 1..=6),
        chunks in vec(1..=700usize, 1..=40),
    ) {
        let wires: Vec<Vec<u8>> = frames.iter().map(|f| encode(f, Dialect::Z)).collect();
        let stream: Vec<u8> = wires.concat();
        let mut framer = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut fed = 0;
        let mut chunk = chunks.iter().cycle();
        // Each round feeds at least one byte, so this ends after at most stream.len() rounds.
        while fed < stream.len() {
            let n = (*chunk.next().unwrap()).min(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + n]);
            fed += n;
            while let Some(frame) = framer.decode(&mut buf).unwrap() {
                got.push(Frame::decode(frame, Dialect::Z).unwrap());
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, frames);
    }
}

/// For every message type in every dialect (two random frames each): each single-byte
/// substitution in the first 96 bytes, with the values 0..=8, 0x7f, 0x80, 0xfe, 0xff, two bit
/// flips of the original and three random values, is refused with a typed error or decodes to a
/// frame that re-encodes to exactly the edited bytes. No lenient enum, flag or count slips
/// through unnoticed.
#[test]
fn single_byte_substitutions_are_refused_or_canonical() {
    let mut runner = TestRunner::new(config(1));
    for dialect in Dialect::ALL {
        for ty in types_in(dialect) {
            let strategy = (arb_frame_of(ty, dialect), any::<[u8; 3]>());
            for _ in 0..2 {
                let (frame, random) = strategy.new_tree(&mut runner).unwrap().current();
                let wire = encode(&frame, dialect);
                let mut edited = BytesMut::from(&wire[..]);
                for i in 0..wire.len().min(96) {
                    let original = wire[i];
                    let values = (0..=8)
                        .chain([0x7f, 0x80, 0xfe, 0xff, original ^ 1, original ^ 0x80])
                        .chain(random);
                    for value in values.filter(|&v| v != original) {
                        edited[i] = value;
                        let bytes = edited.clone().freeze();
                        if let Ok(f) = Frame::decode(bytes.clone(), dialect) {
                            assert_eq!(
                                encode(&f, dialect),
                                &bytes[..],
                                "{dialect}: byte {i} of {frame:?} set to {value} decoded as {f:?}"
                            );
                        }
                    }
                    edited[i] = original;
                }
            }
        }
    }
}
