//! Decoding is zero-copy: data payloads and names of a decoded frame are slices of the frame
//! buffer. Encoding a payload message with `encode_head` hands back the caller's payload
//! `Bytes` itself and writes only the header.

use bytes::{Bytes, BytesMut};
use zerofs_9p_proto::consts::{ENVELOPE_LEN, HEADER_LEN, MAX_MSIZE};
use zerofs_9p_proto::{
    Dialect, DirEntry, Envelope, Frame, FrameDecoder, Message, OpId, Qid, QidType, Rlopenatread,
    Rread, Rreaddir, Twalk, Twrite,
};

const MIB: usize = 1 << 20;

/// A 1 MiB payload with a pattern, so a wrong slice would not compare equal by accident.
fn payload() -> Bytes {
    Bytes::from((0..MIB).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

/// Whether `inner` lies entirely inside `outer`'s memory.
fn is_inside(inner: &[u8], outer: &[u8]) -> bool {
    let (start, end) = (
        outer.as_ptr() as usize,
        outer.as_ptr() as usize + outer.len(),
    );
    let (s, e) = (
        inner.as_ptr() as usize,
        inner.as_ptr() as usize + inner.len(),
    );
    !inner.is_empty() && s >= start && e <= end
}

fn envelope() -> Envelope {
    Envelope {
        op_id: OpId([0xab; 16]),
        flags: 0,
        origin_epoch: 3,
    }
}

fn encode(frame: &Frame, dialect: Dialect) -> Bytes {
    let mut wire = BytesMut::with_capacity(frame.encoded_len(dialect));
    frame.encode(dialect, &mut wire).expect("encodes");
    wire.freeze()
}

/// Decodes `wire` and returns the frame with the data payload, which must be the frame's last
/// `len` bytes, at the same address.
fn decode_payload(wire: &Bytes, dialect: Dialect) -> (Frame, Bytes) {
    let frame = Frame::decode(wire.clone(), dialect).expect("decodes");
    let data = frame.message.payload().expect("a payload message").clone();
    (frame, data)
}

#[test]
fn rread_of_one_mib_decodes_without_copying() {
    let data = payload();
    let wire = encode(
        &Frame::new(1, Message::Rread(Rread { data: data.clone() })),
        Dialect::Plain,
    );
    assert_eq!(wire.len(), 11 + MIB);
    let (_, decoded) = decode_payload(&wire, Dialect::Plain);
    assert_eq!(decoded, data);
    assert!(
        is_inside(&decoded, &wire),
        "Rread data was copied out of the frame"
    );
    assert_eq!(decoded.as_ptr(), wire[11..].as_ptr());
}

#[test]
fn rread_split_off_a_stream_by_the_framer_stays_in_the_read_buffer() {
    let data = payload();
    let one = encode(&Frame::new(1, Message::Rread(Rread { data })), Dialect::Z);
    let mut stream = BytesMut::new();
    stream.extend_from_slice(&one);
    stream.extend_from_slice(&one);
    let base = stream.as_ptr() as usize;
    let end = base + stream.len();
    let mut framer = FrameDecoder::new(MAX_MSIZE);
    for i in 0..2 {
        let frame = framer
            .decode(&mut stream)
            .expect("valid size")
            .expect("whole frame");
        let (_, decoded) = decode_payload(&frame, Dialect::Z);
        let at = decoded.as_ptr() as usize;
        assert!(
            at >= base && at + decoded.len() <= end,
            "frame {i}: payload left the buffer"
        );
        assert_eq!(at, base + i * one.len() + 11, "frame {i}");
    }
    assert!(stream.is_empty());
}

#[test]
fn twrite_decodes_without_copying_in_every_dialect() {
    let data = payload();
    for dialect in Dialect::ALL {
        let mut frame = Frame::new(
            2,
            Message::Twrite(Twrite {
                fid: 5,
                offset: 1 << 40,
                data: data.clone(),
            }),
        );
        let head_len = if dialect == Dialect::Z {
            frame.envelope = Some(envelope());
            HEADER_LEN + ENVELOPE_LEN + 16
        } else {
            HEADER_LEN + 16
        };
        let wire = encode(&frame, dialect);
        let (decoded_frame, decoded) = decode_payload(&wire, dialect);
        assert_eq!(decoded_frame, frame);
        assert_eq!(decoded.as_ptr(), wire[head_len..].as_ptr(), "{dialect}");
        assert!(is_inside(&decoded, &wire));
    }
}

#[test]
fn rlopenatread_decodes_without_copying_in_z() {
    let data = payload();
    let qid = Qid {
        ty: QidType::FILE,
        version: 1,
        path: 99,
    };
    let message = Message::Rlopenatread(Rlopenatread {
        qid,
        iounit: 0,
        eof: false,
        data: data.clone(),
    });
    let wire = encode(&Frame::new(3, message), Dialect::Z);
    let (_, decoded) = decode_payload(&wire, Dialect::Z);
    assert_eq!(decoded, data);
    // size type tag, qid[13] iounit[4] eof[1] count[4]
    assert_eq!(decoded.as_ptr(), wire[HEADER_LEN + 22..].as_ptr());
}

#[test]
fn walk_names_are_slices_of_the_frame() {
    let names: Vec<Bytes> = (0..16)
        .map(|i| Bytes::from(format!("component-{i:02}")))
        .collect();
    for message in [
        Message::Twalk(Twalk {
            fid: 1,
            newfid: 2,
            wnames: names.clone(),
        }),
        Message::Twalkgetattr(Twalk {
            fid: 1,
            newfid: 2,
            wnames: names.clone(),
        }),
    ] {
        let wire = encode(&Frame::new(4, message), Dialect::Zerofs);
        let frame = Frame::decode(wire.clone(), Dialect::Zerofs).expect("decodes");
        let (Message::Twalk(walk) | Message::Twalkgetattr(walk)) = &frame.message else {
            panic!("decoded as {:?}", frame.message.msg_type());
        };
        assert_eq!(walk.wnames, names);
        // fid[4] newfid[4] nwname[2], then len[2] name per element.
        let mut at = HEADER_LEN + 10;
        for name in &walk.wnames {
            assert!(is_inside(name, &wire));
            assert_eq!(name.as_ptr(), wire[at + 2..].as_ptr());
            at += 2 + name.len();
        }
        assert_eq!(at, wire.len());
    }
}

#[test]
fn readdir_entry_names_are_slices_of_the_frame() {
    let entries: Vec<DirEntry> = (0..100u64)
        .map(|i| DirEntry {
            qid: Qid {
                ty: QidType::FILE,
                version: 0,
                path: i,
            },
            offset: i + 1,
            ty: 8,
            name: Bytes::from(format!("file-{i:03}.txt")),
        })
        .collect();
    let wire = encode(
        &Frame::new(
            5,
            Message::Rreaddir(Rreaddir {
                entries: entries.clone(),
            }),
        ),
        Dialect::Plain,
    );
    let frame = Frame::decode(wire.clone(), Dialect::Plain).expect("decodes");
    let Message::Rreaddir(readdir) = &frame.message else {
        panic!("not an Rreaddir")
    };
    assert_eq!(readdir.entries, entries);
    // count[4], then qid[13] offset[8] type[1] len[2] name per entry.
    let mut at = HEADER_LEN + 4;
    for entry in &readdir.entries {
        assert_eq!(
            entry.name.as_ptr(),
            wire[at + 24..].as_ptr(),
            "{:?}",
            entry.name
        );
        at += DirEntry::len_for_name(entry.name.len());
    }
    assert_eq!(at, wire.len());
}

#[test]
fn encode_head_returns_the_callers_payload_and_only_the_header() {
    let data = payload();
    let cases = [
        (
            Frame::new(
                1,
                Message::Twrite(Twrite {
                    fid: 1,
                    offset: 0,
                    data: data.clone(),
                }),
            ),
            Dialect::Plain,
            23,
        ),
        (
            Frame::with_envelope(
                1,
                envelope(),
                Message::Twrite(Twrite {
                    fid: 1,
                    offset: 0,
                    data: data.clone(),
                }),
            ),
            Dialect::Z,
            48,
        ),
        (
            Frame::new(1, Message::Rread(Rread { data: data.clone() })),
            Dialect::Plain,
            11,
        ),
        (
            Frame::new(1, Message::Rread(Rread { data: data.clone() })),
            Dialect::Z,
            11,
        ),
        (
            Frame::new(
                1,
                Message::Rlopenatread(Rlopenatread {
                    qid: Qid::default(),
                    iounit: 0,
                    eof: true,
                    data: data.clone(),
                }),
            ),
            Dialect::Z,
            29,
        ),
    ];
    for (frame, dialect, head_len) in cases {
        let name = frame.message.name();
        let mut head = BytesMut::new();
        let returned = frame
            .encode_head(dialect, &mut head)
            .expect("encodes")
            .expect("payload");
        assert_eq!(
            returned.as_ptr(),
            data.as_ptr(),
            "{name} in {dialect}: payload copied"
        );
        assert_eq!(returned.len(), MIB);
        assert_eq!(head.len(), head_len, "{name} in {dialect}");
        // The head declares the full frame, and head + payload is exactly `encode`'s output.
        let size = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        assert_eq!(size as usize, head_len + MIB);
        let whole = encode(&frame, dialect);
        assert_eq!(&whole[..head_len], &head[..]);
        assert_eq!(&whole[head_len..], &returned[..]);
    }
}

#[test]
fn encode_head_for_writes_a_header_for_a_borrowed_payload() {
    let borrowed = vec![9u8; MIB];
    // The frame's own data is empty: only the announced length matters.
    let frame = Frame::with_envelope(
        7,
        envelope(),
        Message::Twrite(Twrite {
            fid: 3,
            offset: 8,
            data: Bytes::new(),
        }),
    );
    let mut head = Vec::new();
    frame
        .encode_head_for(Dialect::Z, borrowed.len(), &mut head)
        .expect("encodes");
    assert_eq!(head.len(), 48);
    let mut wire = head;
    wire.extend_from_slice(&borrowed);
    let decoded = Frame::decode(Bytes::from(wire), Dialect::Z).expect("head + payload is a frame");
    let expected = Frame::with_envelope(
        7,
        envelope(),
        Message::Twrite(Twrite {
            fid: 3,
            offset: 8,
            data: Bytes::from(borrowed),
        }),
    );
    assert_eq!(decoded, expected);
}
