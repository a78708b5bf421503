//! A complete frame: header, optional `.Z` envelope, message body.

use bytes::{BufMut, Bytes};

use crate::coding::{Codec, Source};
use crate::consts::{ENVELOPE_LEN, HEADER_LEN};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::types::Envelope;

/// The fixed 7-byte header: `size[4] type[1] tag[2]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total frame length, these 7 bytes included.
    pub size: u32,
    /// Raw type byte.
    pub ty: u8,
    /// Tag.
    pub tag: u16,
}

impl Header {
    /// Reads the header at the front of `bytes`, if 7 bytes are there.
    ///
    /// Servers use it to answer a frame that fails to decode with an `Rlerror` under its tag.
    pub fn peek(bytes: &[u8]) -> Option<Header> {
        let raw: &[u8; HEADER_LEN] = bytes.first_chunk()?;
        Some(Header {
            size: u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]),
            ty: raw[4],
            tag: u16::from_le_bytes([raw[5], raw[6]]),
        })
    }
}

/// One 9P frame: a tag, the `.Z` mutation envelope when the message carries one, and the
/// message.
///
/// ```
/// use bytes::Bytes;
/// use zerofs_9p_proto::{Dialect, Frame, Message, Tclunk};
///
/// let frame = Frame::new(3, Message::Tclunk(Tclunk { fid: 9 }));
/// let mut wire = Vec::new();
/// frame.encode(Dialect::Plain, &mut wire)?;
/// assert_eq!(wire, [11, 0, 0, 0, 120, 3, 0, 9, 0, 0, 0]);
/// assert_eq!(Frame::decode(Bytes::from(wire), Dialect::Plain)?, frame);
/// # Ok::<(), zerofs_9p_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The tag matching a reply to its request.
    pub tag: u16,
    /// The `.Z` mutation envelope: `Some` exactly when
    /// [`Dialect::has_envelope`] holds for the message in the session's dialect.
    pub envelope: Option<Envelope>,
    /// The message.
    pub message: Message,
}

impl Frame {
    /// A frame without an envelope.
    pub const fn new(tag: u16, message: Message) -> Frame {
        Frame {
            tag,
            envelope: None,
            message,
        }
    }

    /// A frame carrying a `.Z` mutation envelope.
    pub const fn with_envelope(tag: u16, envelope: Envelope, message: Message) -> Frame {
        Frame {
            tag,
            envelope: Some(envelope),
            message,
        }
    }

    /// Decodes one complete frame (size field included) in `dialect`.
    ///
    /// Data payloads and names in the result are zero-copy slices of `frame`. Fails on a size
    /// field that disagrees with the buffer, an unknown type, a message outside the dialect, a
    /// field that runs past the end, bytes left after the body, or an out-of-range enum value.
    pub fn decode(frame: Bytes, dialect: Dialect) -> Result<Frame> {
        let Some(header) = Header::peek(&frame) else {
            return Err(match frame.first_chunk::<4>() {
                Some(size) => {
                    let size = u32::from_le_bytes(*size);
                    if size < HEADER_LEN as u32 {
                        Error::FrameTooSmall { size }
                    } else {
                        Error::LengthMismatch {
                            declared: size,
                            actual: frame.len(),
                        }
                    }
                }
                None => Error::Truncated {
                    message: "frame",
                    field: "size",
                },
            });
        };
        if header.size < HEADER_LEN as u32 {
            return Err(Error::FrameTooSmall { size: header.size });
        }
        if header.size as usize != frame.len() {
            return Err(Error::LengthMismatch {
                declared: header.size,
                actual: frame.len(),
            });
        }
        let ty = MessageType::from_u8(header.ty).ok_or(Error::UnknownType(header.ty))?;
        if !dialect.allows(ty) {
            return Err(Error::NotInDialect {
                message: ty,
                dialect,
            });
        }
        let src = Source::new(&frame);
        let mut body = &frame[HEADER_LEN..];
        let envelope = if dialect.has_envelope(ty) {
            let (rest, envelope) =
                Envelope::decode_named(body, src, ty.name()).map_err(|_| Error::Truncated {
                    message: ty.name(),
                    field: "envelope",
                })?;
            body = rest;
            Some(envelope)
        } else {
            None
        };
        let (rest, message) = Message::decode_body(ty, dialect, body, src)?;
        if !rest.is_empty() {
            return Err(Error::TrailingBytes {
                message: message.name(),
                count: rest.len(),
            });
        }
        Ok(Frame {
            tag: header.tag,
            envelope,
            message,
        })
    }

    /// The exact encoded length of the frame, header included, in `dialect`.
    pub fn encoded_len(&self, dialect: Dialect) -> usize {
        HEADER_LEN + self.envelope_len(dialect) + self.message.body_len()
    }

    fn envelope_len(&self, dialect: Dialect) -> usize {
        if dialect.has_envelope(self.message.msg_type()) {
            ENVELOPE_LEN
        } else {
            0
        }
    }

    /// Checks that the frame can be encoded in `dialect` and returns its size field.
    fn check(&self, dialect: Dialect, payload_len: Option<usize>) -> Result<u32> {
        let ty = self.message.msg_type();
        if !self.message.in_dialect(dialect) {
            return Err(Error::NotInDialect {
                message: ty,
                dialect,
            });
        }
        let expected = dialect.has_envelope(ty);
        if self.envelope.is_some() != expected {
            return Err(Error::Envelope {
                message: ty,
                dialect,
                expected,
            });
        }
        self.message.check_lengths()?;
        let own_payload = self.message.payload().map_or(0, Bytes::len);
        let len = self.encoded_len(dialect) - own_payload + payload_len.unwrap_or(own_payload);
        u32::try_from(len).map_err(|_| Error::TooLong {
            message: self.message.name(),
            field: "size",
            len,
            max: u32::MAX as usize,
        })
    }

    fn encode_header<B: BufMut + ?Sized>(&self, size: u32, buf: &mut B) {
        buf.put_u32_le(size);
        buf.put_u8(self.message.msg_type().id());
        buf.put_u16_le(self.tag);
        if let Some(envelope) = &self.envelope {
            envelope.encode(buf);
        }
    }

    /// Appends the whole frame to `buf`, writing exactly [`Frame::encoded_len`] bytes.
    ///
    /// Fails, writing nothing, if the message is not part of `dialect`, if the envelope is
    /// missing where the dialect requires one (or present where it takes none), or if a field
    /// is too long for the wire.
    pub fn encode<B: BufMut + ?Sized>(&self, dialect: Dialect, buf: &mut B) -> Result<()> {
        let size = self.check(dialect, None)?;
        self.encode_header(size, buf);
        self.message.encode_body(buf);
        Ok(())
    }

    /// Appends the frame *without* its trailing data payload and returns the payload, so a
    /// transport can send header and payload as two slices (a vectored write) and never copy
    /// the payload into a frame buffer. Messages without a payload are encoded whole and
    /// return `None`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use zerofs_9p_proto::{Dialect, Frame, Message, Twrite};
    ///
    /// let data = Bytes::from(vec![7u8; 1 << 20]);
    /// let frame = Frame::new(1, Message::Twrite(Twrite { fid: 2, offset: 0, data: data.clone() }));
    /// let mut head = Vec::new();
    /// let payload = frame.encode_head(Dialect::Plain, &mut head)?.unwrap();
    /// assert_eq!(head.len(), 23);
    /// assert_eq!(payload.as_ptr(), data.as_ptr()); // the same buffer, not a copy
    /// # Ok::<(), zerofs_9p_proto::Error>(())
    /// ```
    pub fn encode_head<B: BufMut + ?Sized>(
        &self,
        dialect: Dialect,
        buf: &mut B,
    ) -> Result<Option<&Bytes>> {
        match self.message.payload() {
            Some(payload) => {
                self.encode_head_for(dialect, payload.len(), buf)?;
                Ok(Some(payload))
            }
            None => self.encode(dialect, buf).map(|()| None),
        }
    }

    /// Appends the frame without its payload as if the payload were `payload_len` bytes long,
    /// whatever the message's own payload field holds. The caller then sends `payload_len`
    /// bytes of its own (e.g. a borrowed `&[u8]`) to complete the frame.
    ///
    /// Fails with [`Error::NoPayload`] for a message without a payload (see
    /// [`Message::payload`]) as well as for the reasons [`Frame::encode`] fails.
    pub fn encode_head_for<B: BufMut + ?Sized>(
        &self,
        dialect: Dialect,
        payload_len: usize,
        buf: &mut B,
    ) -> Result<()> {
        if self.message.payload().is_none() {
            return Err(Error::NoPayload(self.message.msg_type()));
        }
        let count = u32::try_from(payload_len).map_err(|_| Error::TooLong {
            message: self.message.name(),
            field: "data",
            len: payload_len,
            max: u32::MAX as usize,
        })?;
        let size = self.check(dialect, Some(payload_len))?;
        self.encode_header(size, buf);
        self.message.encode_body_head(count, buf);
        Ok(())
    }
}
