//! Decoding inbound frames the way each ZeroFS generation does.

use bytes::{Bytes, BytesMut};
use zerofs_9p_proto::consts::{ENVELOPE_LEN, HEADER_LEN, errno};
use zerofs_9p_proto::{Dialect, Error, Frame, Header, MessageType};

use crate::config::Generation;

/// The dialect frames are decoded (and replies encoded) in: 1.2.x servers never gate their
/// messages on the negotiated version, 2.1+ servers decode per session.
pub(crate) fn wire_dialect(generation: Generation, session: Dialect) -> Dialect {
    match generation {
        Generation::Z => session,
        g => g.best_dialect(),
    }
}

/// Decodes like the deku-based servers: trailing bytes after a complete body are ignored.
fn decode_lenient(bytes: Bytes, dialect: Dialect) -> Result<Frame, Error> {
    match Frame::decode(bytes.clone(), dialect) {
        Err(Error::TrailingBytes { count, .. }) if count <= bytes.len() - HEADER_LEN => {
            let len = bytes.len() - count;
            let mut cut = BytesMut::from(&bytes[..len]);
            cut[..4].copy_from_slice(&(len as u32).to_le_bytes());
            Frame::decode(cut.freeze(), dialect)
        }
        other => other,
    }
}

/// Decodes one frame for a `generation` server whose session negotiated `session`; the error
/// is the errno to answer with: `ENOSYS` for anything undecodable or unknown, `EOPNOTSUPP` for
/// a well-formed private request in a non-`.Z` session of a 2.1+ server.
pub(crate) fn decode(bytes: Bytes, generation: Generation, session: Dialect) -> Result<Frame, u32> {
    let dialect = wire_dialect(generation, session);
    match decode_lenient(bytes.clone(), dialect) {
        Ok(frame) => Ok(frame),
        Err(Error::NotInDialect { message, .. })
            if generation == Generation::Z && dialect != Dialect::Z =>
        {
            if private_request_decodes(&bytes, message) {
                Err(errno::EOPNOTSUPP)
            } else {
                Err(errno::ENOSYS)
            }
        }
        Err(_) => Err(errno::ENOSYS),
    }
}

/// Whether a private request sent in a plain session is well formed (its body parses with
/// the `.Z` layouts; mutations carry no envelope outside `.Z`).
fn private_request_decodes(bytes: &Bytes, ty: MessageType) -> bool {
    if !ty.is_request() || Header::peek(bytes).is_none() {
        return false;
    }
    let mut buf = BytesMut::with_capacity(bytes.len() + ENVELOPE_LEN);
    buf.extend_from_slice(&bytes[..HEADER_LEN]);
    if Dialect::Z.has_envelope(ty) {
        buf.extend_from_slice(&[0; ENVELOPE_LEN]);
    }
    buf.extend_from_slice(&bytes[HEADER_LEN..]);
    let len = buf.len() as u32;
    buf[..4].copy_from_slice(&len.to_le_bytes());
    decode_lenient(buf.freeze(), Dialect::Z).is_ok()
}

#[cfg(test)]
mod tests {
    use zerofs_9p_proto::{Message, Tclunk, Tfsyncdur, Tmkdir};

    use super::*;

    fn wire(frame: &Frame, d: Dialect) -> Bytes {
        let mut v = Vec::new();
        frame.encode(d, &mut v).unwrap();
        Bytes::from(v)
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let f = Frame::new(4, Message::Tclunk(Tclunk { fid: 3 }));
        let mut raw = wire(&f, Dialect::Plain).to_vec();
        raw.extend_from_slice(b"junk");
        raw[0] += 4;
        assert_eq!(
            decode(Bytes::from(raw), Generation::Plain, Dialect::Plain),
            Ok(f)
        );
    }

    #[test]
    fn private_messages_per_generation() {
        let f = Frame::new(
            1,
            Message::Tfsyncdur(Tfsyncdur {
                fid: 1,
                datasync: 0,
                token: 0,
            }),
        );
        let raw = wire(&f, Dialect::Z);
        assert_eq!(
            decode(raw.clone(), Generation::Gen2, Dialect::Zerofs2),
            Err(errno::ENOSYS)
        );
        assert_eq!(
            decode(raw.clone(), Generation::Z, Dialect::Plain),
            Err(errno::EOPNOTSUPP)
        );
        assert_eq!(decode(raw, Generation::Z, Dialect::Z), Ok(f));
        // A private mutation in a plain session has no envelope and is still EOPNOTSUPP.
        let mk = Frame::new(2, Message::Tmkdirattr(Tmkdir::default()));
        assert_eq!(
            decode(wire(&mk, Dialect::Zerofs2), Generation::Z, Dialect::Plain),
            Err(errno::EOPNOTSUPP)
        );
        assert_eq!(
            decode(
                wire(&mk, Dialect::Zerofs2),
                Generation::Gen2,
                Dialect::Plain
            ),
            Ok(mk)
        );
        // Truncated private body in a plain session: undecodable, ENOSYS.
        let bad = Bytes::from_static(&[8, 0, 0, 0, 232, 1, 0, 9]);
        assert_eq!(
            decode(bad, Generation::Z, Dialect::Plain),
            Err(errno::ENOSYS)
        );
    }
}
