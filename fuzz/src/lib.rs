//! The logic of the fuzz targets: the codec's (`frame_decode`, `roundtrip`) and the session
//! engine's (`session`, in [`session`]).
//!
//! Each cargo-fuzz binary in `fuzz_targets/` is a one-line call to a function here, and
//! `tests/corpus.rs` replays the checked-in corpus through the same functions on stable rustc.
//! A target "crashes" by panicking: the codec panicked, or an `assert!` here found it breaking
//! one of its promises (framing independent of chunking, exact `encoded_len`, byte-exact
//! re-encoding, zero-copy payloads).
#![warn(missing_docs)]

pub mod seeds;
pub mod session;

use zerofs_9p_proto::bytes::{Bytes, BytesMut};
use zerofs_9p_proto::consts::{HEADER_LEN, MAX_MSIZE};
use zerofs_9p_proto::{Dialect, Error, Frame, FrameDecoder, Header};

/// What one input exercised, so the replay tests can check that the corpus reaches the codec
/// rather than bouncing off the framer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Complete frames the framer split off (largest limit, all at once).
    pub frames: usize,
    /// Successful `Frame::decode` calls (one per frame and dialect that accepted it).
    pub decoded: usize,
}

impl std::ops::AddAssign for Outcome {
    fn add_assign(&mut self, other: Outcome) {
        self.frames += other.frames;
        self.decoded += other.decoded;
    }
}

/// Target `frame_decode`: arbitrary bytes through [`FrameDecoder`] and [`Frame::decode`].
///
/// The first byte steers the run (the chunk sizes the stream is fed in and one of the frame
/// size limits); the rest is the byte stream. The stream is framed under three limits (7, a
/// limit derived from the first byte, and [`MAX_MSIZE`]), once all at once and once in chunks,
/// and both feedings must split off the same frames and stop on the same error. Every frame
/// is then decoded in every dialect, and whatever decodes must round-trip (see [`roundtrip`]).
/// The raw stream is also handed to [`Frame::decode`] whole.
pub fn frame_decode(data: &[u8]) -> Outcome {
    let Some((&control, stream)) = data.split_first() else {
        return Outcome::default();
    };
    let limits = [
        HEADER_LEN as u32,
        HEADER_LEN as u32 + u32::from(control) * 33,
        MAX_MSIZE,
    ];
    let mut outcome = Outcome::default();
    for max in limits {
        let whole = split(stream, max, &mut std::iter::repeat(stream.len().max(1)));
        let chunked = split(stream, max, &mut chunk_sizes(control));
        assert_eq!(
            whole, chunked,
            "framing depends on how the stream is chunked (max {max})"
        );
        if max == MAX_MSIZE {
            outcome.frames = whole.frames.len();
            for frame in &whole.frames {
                outcome.decoded += decode_everywhere(frame);
            }
        }
    }
    outcome.decoded += decode_everywhere(&Bytes::copy_from_slice(stream));
    outcome
}

/// Target `roundtrip`: if the input decodes as a frame in a dialect, encoding that frame gives
/// the input back byte for byte, [`Frame::encoded_len`] is its length, [`Frame::encode_head`]
/// plus the payload is the input too, and decoding the re-encoded bytes gives an equal frame.
///
/// The input is tried as is, and (when it has a header) with its `size[4]` field set to its
/// length, so the fuzzer need not guess the size to reach the message parsers. Returns how
/// many (variant, dialect) pairs decoded.
pub fn roundtrip(data: &[u8]) -> usize {
    let mut decoded = decode_everywhere(&Bytes::copy_from_slice(data));
    if let Ok(len) = u32::try_from(data.len())
        && data.len() >= HEADER_LEN
        && data[..4] != len.to_le_bytes()
    {
        let mut fixed = data.to_vec();
        fixed[..4].copy_from_slice(&len.to_le_bytes());
        decoded += decode_everywhere(&Bytes::from(fixed));
    }
    decoded
}

/// The result of framing a whole stream: the frames and the error that stopped the framer.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    frames: Vec<Bytes>,
    error: Option<Error>,
}

/// Feeds `stream` to a [`FrameDecoder`] limited to `max`, in chunks of the given sizes, until
/// the stream is used up or the framer fails, checking the framer's promises on the way.
fn split(stream: &[u8], max: u32, chunks: &mut dyn Iterator<Item = usize>) -> Split {
    let mut decoder = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    // The buffer always holds exactly `stream[consumed..fed]`.
    let (mut consumed, mut fed) = (0, 0);
    // Each turn splits off a frame (>= 7 bytes), feeds >= 1 byte, or ends: bounded by the
    // stream length.
    let error = loop {
        let result = decoder.decode(&mut buf);
        if let Ok(Some(frame)) = &result {
            let size = Header::peek(frame).map(|h| h.size as usize);
            assert_eq!(
                size,
                Some(frame.len()),
                "frame length disagrees with its size field"
            );
            assert!(frame.len() >= HEADER_LEN && frame.len() <= max as usize);
            assert_eq!(&frame[..], &stream[consumed..consumed + frame.len()]);
            consumed += frame.len();
        }
        assert_eq!(
            &buf[..],
            &stream[consumed..fed],
            "the framer lost or changed bytes"
        );
        let size = buf.first_chunk::<4>().map(|s| u32::from_le_bytes(*s));
        match result {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => {
                if let Some(size) = size {
                    assert!(
                        (HEADER_LEN as u32..=max).contains(&size),
                        "bad size {size} kept"
                    );
                    assert!(
                        size as usize > buf.len(),
                        "a complete frame was not split off"
                    );
                }
                if fed == stream.len() {
                    break None;
                }
                let n = chunks.next().unwrap_or(1).clamp(1, stream.len() - fed);
                buf.extend_from_slice(&stream[fed..fed + n]);
                fed += n;
            }
            Err(error) => {
                let expected = match size {
                    Some(size) if size < HEADER_LEN as u32 => Error::FrameTooSmall { size },
                    Some(size) if size > max => Error::FrameTooLarge { size, max },
                    _ => panic!("framer refused size {size:?} under limit {max}: {error}"),
                };
                assert_eq!(error, expected);
                break Some(error);
            }
        }
    };
    Split { frames, error }
}

/// Chunk sizes from 1 to 16 bytes, from a xorshift generator seeded by `control`.
fn chunk_sizes(control: u8) -> impl Iterator<Item = usize> {
    let mut state = u32::from(control) | 0x9E37_7900;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 16) as usize + 1
    })
}

/// Decodes `frame` in every dialect and checks each success with [`check_round_trip`];
/// returns the number of dialects that accepted it.
fn decode_everywhere(frame: &Bytes) -> usize {
    let mut decoded = 0;
    for dialect in Dialect::ALL {
        match Frame::decode(frame.clone(), dialect) {
            Ok(decoded_frame) => {
                check_round_trip(frame, dialect, &decoded_frame);
                decoded += 1;
            }
            Err(error) => {
                // Every error renders; the message must not be empty.
                assert!(!error.to_string().is_empty());
            }
        }
    }
    decoded
}

/// Asserts everything the codec promises about a frame `decoded` from `wire` in `dialect`.
pub fn check_round_trip(wire: &Bytes, dialect: Dialect, decoded: &Frame) {
    let header = Header::peek(wire).expect("a decoded frame has a header");
    let ty = decoded.message.msg_type();
    assert_eq!(header.ty, ty.id(), "type byte");
    assert_eq!(header.tag, decoded.tag, "tag");
    assert!(
        decoded.message.in_dialect(dialect),
        "{ty} decoded outside {dialect}"
    );
    assert_eq!(
        decoded.envelope.is_some(),
        dialect.has_envelope(ty),
        "envelope of {ty}"
    );
    assert_eq!(
        decoded.encoded_len(dialect),
        wire.len(),
        "encoded_len of {ty} in {dialect}"
    );

    let mut encoded = Vec::with_capacity(wire.len());
    decoded
        .encode(dialect, &mut encoded)
        .expect("a decoded frame encodes");
    assert_eq!(
        &encoded[..],
        &wire[..],
        "{ty} re-encodes differently in {dialect}"
    );

    let mut head = Vec::new();
    let payload = decoded
        .encode_head(dialect, &mut head)
        .expect("a decoded frame encodes");
    match payload {
        Some(payload) => {
            assert_eq!(
                head.len() + payload.len(),
                wire.len(),
                "head + payload of {ty}"
            );
            assert_eq!(&head[..], &wire[..head.len()]);
            assert_eq!(&payload[..], &wire[head.len()..]);
            if !payload.is_empty() {
                // Zero-copy: the decoded payload is a slice of the frame.
                let start = wire.as_ptr() as usize + head.len();
                assert_eq!(payload.as_ptr() as usize, start, "{ty} payload was copied");
            }
            let mut head_for = Vec::new();
            decoded
                .encode_head_for(dialect, payload.len(), &mut head_for)
                .expect("head encodes");
            assert_eq!(
                head_for, head,
                "encode_head_for disagrees with encode_head for {ty}"
            );
        }
        None => {
            assert_eq!(&head[..], &wire[..], "encode_head of payload-less {ty}");
            let err = decoded.encode_head_for(dialect, 0, &mut Vec::new());
            assert_eq!(err, Err(Error::NoPayload(ty)));
        }
    }

    let again = Frame::decode(Bytes::from(encoded), dialect).expect("re-encoded frame decodes");
    assert_eq!(
        &again, decoded,
        "{ty} changes across a round trip in {dialect}"
    );
}

/// The corpus file name of an input: the hex SHA-1 of its bytes, as libFuzzer names them.
pub fn corpus_name(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}
