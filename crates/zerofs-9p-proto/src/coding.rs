//! The codec trait and the encodings of 9P's primitive fields.
//!
//! Every wire type implements [`Codec`]: a nom parser over a complete frame plus an encoder
//! into any [`BufMut`] with an exact [`Codec::encoded_len`]. Fields whose wire form differs from
//! their Rust type's natural form (a `count[4]`-prefixed data payload is a [`Bytes`] just as a
//! `len[2]`-prefixed string is) go through the [`Field`] trait with a marker type such as
//! [`Data`].

use bytes::{BufMut, Bytes};
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};

/// Why a single field failed to decode; the message layer adds which message and field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// The field runs past the end of the frame.
    Truncated,
    /// The field holds a value outside its enumeration.
    BadValue(u64),
}

impl<I> nom::error::ParseError<I> for FieldError {
    fn from_error_kind(_input: I, _kind: nom::error::ErrorKind) -> Self {
        FieldError::Truncated
    }

    fn append(_input: I, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result of decoding one field: the rest of the input and the value.
pub type Decoded<'a, T> = nom::IResult<&'a [u8], T, FieldError>;

/// Turns a nom failure into the field error it carries.
pub(crate) fn field_error(err: nom::Err<FieldError>) -> FieldError {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => FieldError::Truncated,
    }
}

/// The frame a decoder reads from.
///
/// Decoded payloads and names are zero-copy slices of this buffer.
#[derive(Debug, Clone, Copy)]
pub struct Source<'f> {
    frame: &'f Bytes,
}

impl<'f> Source<'f> {
    /// A source over `frame`; inputs handed to decoders must be sub-slices of it to be zero-copy.
    pub fn new(frame: &'f Bytes) -> Self {
        Source { frame }
    }

    /// `sub` as a [`Bytes`] sharing the frame's allocation when it lies inside the frame, and as
    /// a copy otherwise (so a caller passing an unrelated slice gets correct data, never a panic).
    pub fn slice(&self, sub: &[u8]) -> Bytes {
        let base = self.frame.as_ptr() as usize;
        let start = sub.as_ptr() as usize;
        if sub.is_empty() {
            Bytes::new()
        } else if start >= base && start + sub.len() <= base + self.frame.len() {
            self.frame.slice_ref(sub)
        } else {
            Bytes::copy_from_slice(sub)
        }
    }
}

/// A value with a 9P wire encoding.
///
/// `decode` parses from `input` (a sub-slice of the frame in `src`) and returns the remaining
/// input; `encode` writes exactly [`Codec::encoded_len`] bytes.
///
/// ```
/// use bytes::Bytes;
/// use zerofs_9p_proto::{Codec, Qid, QidType, Source};
///
/// let qid = Qid { ty: QidType::DIR, version: 7, path: 42 };
/// let mut buf = Vec::new();
/// qid.encode(&mut buf);
/// assert_eq!(buf.len(), qid.encoded_len());
/// let frame = Bytes::from(buf);
/// let (rest, back) = Qid::decode(&frame, Source::new(&frame)).unwrap();
/// assert!(rest.is_empty());
/// assert_eq!(back, qid);
/// ```
pub trait Codec: Sized {
    /// Decodes one value from the front of `input`.
    fn decode<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, Self>;
    /// Appends the value's wire form to `buf`.
    fn encode<B: BufMut + ?Sized>(&self, buf: &mut B);
    /// The exact number of bytes [`Codec::encode`] writes.
    fn encoded_len(&self) -> usize;
}

macro_rules! int_codec {
    ($($ty:ty => $parse:ident, $put:ident;)*) => {$(
        impl Codec for $ty {
            #[inline]
            fn decode<'a>(input: &'a [u8], _src: Source<'_>) -> Decoded<'a, Self> {
                $parse(input)
            }
            #[inline]
            fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) {
                buf.$put(*self);
            }
            #[inline]
            fn encoded_len(&self) -> usize {
                size_of::<$ty>()
            }
        }
    )*};
}

int_codec! {
    u8 => le_u8, put_u8;
    u16 => le_u16, put_u16_le;
    u32 => le_u32, put_u32_le;
    u64 => le_u64, put_u64_le;
}

/// Takes `n` bytes from the front of `input`.
#[inline]
pub(crate) fn take(input: &[u8], n: usize) -> Decoded<'_, &[u8]> {
    nom::bytes::complete::take(n)(input)
}

/// A 9P string, `len[2]` followed by raw bytes (no encoding is imposed).
impl Codec for Bytes {
    #[inline]
    fn decode<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, Self> {
        let (input, len) = le_u16(input)?;
        let (input, raw) = take(input, usize::from(len))?;
        Ok((input, src.slice(raw)))
    }
    #[inline]
    fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) {
        // Lengths are checked by `check_len` before encoding starts.
        buf.put_u16_le(self.len() as u16);
        buf.put_slice(self);
    }
    #[inline]
    fn encoded_len(&self) -> usize {
        2 + self.len()
    }
}

/// A `count[2]`-prefixed list (walk names, walk qids).
impl<T: Codec> Codec for Vec<T> {
    fn decode<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, Self> {
        let (mut input, n) = le_u16(input)?;
        // Never trust the count for the allocation: every element takes at least one byte.
        let mut items = Vec::with_capacity(usize::from(n).min(input.len()));
        for _ in 0..n {
            let (rest, item) = T::decode(input, src)?;
            items.push(item);
            input = rest;
        }
        Ok((input, items))
    }
    fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) {
        buf.put_u16_le(self.len() as u16);
        for item in self {
            item.encode(buf);
        }
    }
    fn encoded_len(&self) -> usize {
        2 + self.iter().map(Codec::encoded_len).sum::<usize>()
    }
}

/// A field whose wire form is chosen by a marker type rather than by the value's Rust type.
pub trait Field<T> {
    /// Decodes the field.
    fn decode_field<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, T>;
    /// Encodes the field.
    fn encode_field<B: BufMut + ?Sized>(value: &T, buf: &mut B);
    /// The field's encoded length.
    fn field_len(value: &T) -> usize;
    /// The largest length the wire form can express, checked before encoding.
    fn max_len(value: &T) -> Option<(usize, usize)> {
        let _ = value;
        None
    }
}

/// The natural wire form: the value's own [`Codec`].
#[derive(Debug)]
pub enum Natural {}

impl<T: Codec + Limited> Field<T> for Natural {
    #[inline]
    fn decode_field<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, T> {
        T::decode(input, src)
    }
    #[inline]
    fn encode_field<B: BufMut + ?Sized>(value: &T, buf: &mut B) {
        value.encode(buf)
    }
    #[inline]
    fn field_len(value: &T) -> usize {
        value.encoded_len()
    }
    #[inline]
    fn max_len(value: &T) -> Option<(usize, usize)> {
        value.over_limit()
    }
}

/// Values whose wire form has a length limit (strings and lists: 65535).
pub trait Limited {
    /// `Some((len, max))` when the value is too long for its wire form.
    fn over_limit(&self) -> Option<(usize, usize)> {
        None
    }
}

impl Limited for u8 {}
impl Limited for u16 {}
impl Limited for u32 {}
impl Limited for u64 {}

impl Limited for Bytes {
    fn over_limit(&self) -> Option<(usize, usize)> {
        (self.len() > usize::from(u16::MAX)).then_some((self.len(), usize::from(u16::MAX)))
    }
}

impl<T: Limited> Limited for Vec<T> {
    fn over_limit(&self) -> Option<(usize, usize)> {
        if self.len() > usize::from(u16::MAX) {
            return Some((self.len(), usize::from(u16::MAX)));
        }
        self.iter().find_map(Limited::over_limit)
    }
}

/// A data payload: `count[4]` followed by `count` bytes (Rread, Twrite, Rlopenatread).
#[derive(Debug)]
pub enum Data {}

impl Field<Bytes> for Data {
    #[inline]
    fn decode_field<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, Bytes> {
        let (input, len) = le_u32(input)?;
        let len = usize::try_from(len).map_err(|_| nom::Err::Error(FieldError::Truncated))?;
        let (input, raw) = take(input, len)?;
        Ok((input, src.slice(raw)))
    }
    #[inline]
    fn encode_field<B: BufMut + ?Sized>(value: &Bytes, buf: &mut B) {
        buf.put_u32_le(value.len() as u32);
        buf.put_slice(value);
    }
    #[inline]
    fn field_len(value: &Bytes) -> usize {
        4 + value.len()
    }
    fn max_len(value: &Bytes) -> Option<(usize, usize)> {
        let max = u32::MAX as usize;
        (value.len() > max).then_some((value.len(), max))
    }
}

/// Packed records behind a `count[4]` byte length (the payload of `Rreaddir`/`Rreaddirattr`).
#[derive(Debug)]
pub enum Packed {}

impl<T: Codec + Limited> Field<Vec<T>> for Packed {
    fn decode_field<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, Vec<T>> {
        let (input, len) = le_u32(input)?;
        let len = usize::try_from(len).map_err(|_| nom::Err::Error(FieldError::Truncated))?;
        let (rest, mut packed) = take(input, len)?;
        let mut items = Vec::new();
        while !packed.is_empty() {
            let (next, item) = T::decode(packed, src)?;
            if items.is_empty() {
                // One allocation for the whole list, sized by the first item's length (a
                // 1000-entry `Rreaddirattr` would otherwise grow, and copy, ten times).
                let used = packed.len() - next.len();
                items.reserve(1 + next.len() / used.max(1));
            }
            items.push(item);
            packed = next;
        }
        Ok((rest, items))
    }
    fn encode_field<B: BufMut + ?Sized>(value: &Vec<T>, buf: &mut B) {
        buf.put_u32_le((Self::field_len(value) - 4) as u32);
        for item in value {
            item.encode(buf);
        }
    }
    fn field_len(value: &Vec<T>) -> usize {
        4 + value.iter().map(Codec::encoded_len).sum::<usize>()
    }
    fn max_len(value: &Vec<T>) -> Option<(usize, usize)> {
        let len = Self::field_len(value) - 4;
        let max = u32::MAX as usize;
        if len > max {
            return Some((len, max));
        }
        value.iter().find_map(Limited::over_limit)
    }
}

/// A boolean carried in one byte that must be 0 or 1.
#[derive(Debug)]
pub enum Flag {}

impl Field<bool> for Flag {
    #[inline]
    fn decode_field<'a>(input: &'a [u8], _src: Source<'_>) -> Decoded<'a, bool> {
        let (rest, byte) = le_u8(input)?;
        match byte {
            0 => Ok((rest, false)),
            1 => Ok((rest, true)),
            other => Err(nom::Err::Error(FieldError::BadValue(u64::from(other)))),
        }
    }
    #[inline]
    fn encode_field<B: BufMut + ?Sized>(value: &bool, buf: &mut B) {
        buf.put_u8(u8::from(*value));
    }
    #[inline]
    fn field_len(_value: &bool) -> usize {
        1
    }
}

/// Defines a `u8`-coded enumeration with a [`Codec`] that rejects values outside it.
macro_rules! byte_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name { $( $(#[$vmeta])* $variant = $value, )* }

        impl $name {
            /// The variant for a wire byte, if it is one.
            pub const fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $( $value => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                value as u8
            }
        }

        impl $crate::coding::Codec for $name {
            fn decode<'a>(
                input: &'a [u8],
                _src: $crate::coding::Source<'_>,
            ) -> $crate::coding::Decoded<'a, Self> {
                let (rest, byte) = nom::number::complete::le_u8(input)?;
                match Self::from_u8(byte) {
                    Some(v) => Ok((rest, v)),
                    None => Err(nom::Err::Error($crate::coding::FieldError::BadValue(u64::from(byte)))),
                }
            }
            fn encode<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) {
                buf.put_u8(*self as u8);
            }
            fn encoded_len(&self) -> usize {
                1
            }
        }

        impl $crate::coding::Limited for $name {}
    };
}
pub(crate) use byte_enum;

/// Defines a message body (or any record) as a struct of wire fields, in wire order.
///
/// Each field is `name: Type` (encoded by `Type`'s [`Codec`]) or `name: Type as Form` (encoded
/// by the [`Field`] marker `Form`). The macro writes the struct, its [`Codec`] impl and a
/// length check used before encoding.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty $(as $form:ty)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// The name used in error messages.
            pub const NAME: &'static str = stringify!($name);

            /// Decodes the record, naming the failing field in the error.
            #[allow(unused_variables, dead_code)]
            pub(crate) fn decode_named<'a>(
                input: &'a [u8],
                src: $crate::coding::Source<'_>,
                message: &'static str,
            ) -> core::result::Result<(&'a [u8], Self), $crate::Error> {
                $(
                    let (input, $field) =
                        <$crate::coding::record!(@form $($form)?) as $crate::coding::Field<$ty>>::decode_field(input, src)
                            .map_err(|e| match $crate::coding::field_error(e) {
                                $crate::coding::FieldError::Truncated => $crate::Error::Truncated {
                                    message,
                                    field: stringify!($field),
                                },
                                $crate::coding::FieldError::BadValue(value) => $crate::Error::BadValue {
                                    message,
                                    field: stringify!($field),
                                    value,
                                },
                            })?;
                )*
                Ok((input, $name { $($field),* }))
            }

            /// Fails if a field is too long for its wire form.
            #[allow(unused_variables, dead_code)]
            pub(crate) fn check_lengths(&self, message: &'static str) -> core::result::Result<(), $crate::Error> {
                $(
                    if let Some((len, max)) =
                        <$crate::coding::record!(@form $($form)?) as $crate::coding::Field<$ty>>::max_len(&self.$field)
                    {
                        return Err($crate::Error::TooLong { message, field: stringify!($field), len, max });
                    }
                )*
                Ok(())
            }
        }

        impl $crate::coding::Codec for $name {
            #[allow(unused_variables)]
            fn decode<'a>(input: &'a [u8], src: $crate::coding::Source<'_>) -> $crate::coding::Decoded<'a, Self> {
                $(
                    let (input, $field) =
                        <$crate::coding::record!(@form $($form)?) as $crate::coding::Field<$ty>>::decode_field(input, src)?;
                )*
                Ok((input, $name { $($field),* }))
            }

            #[allow(unused_variables)]
            fn encode<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) {
                $(
                    <$crate::coding::record!(@form $($form)?) as $crate::coding::Field<$ty>>::encode_field(&self.$field, buf);
                )*
            }

            fn encoded_len(&self) -> usize {
                0 $( + <$crate::coding::record!(@form $($form)?) as $crate::coding::Field<$ty>>::field_len(&self.$field) )*
            }
        }

        impl $crate::coding::Limited for $name {
            fn over_limit(&self) -> Option<(usize, usize)> {
                None $( .or_else(|| <$crate::coding::record!(@form $($form)?) as $crate::coding::Field<$ty>>::max_len(&self.$field)) )*
            }
        }
    };
    (@form) => { $crate::coding::Natural };
    (@form $form:ty) => { $form };
}
pub(crate) use record;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_is_zero_copy_inside_the_frame_and_copies_outside() {
        let frame = Bytes::from_static(b"hello world");
        let src = Source::new(&frame);
        let inside = src.slice(&frame[6..]);
        assert_eq!(inside.as_ptr(), frame[6..].as_ptr());
        let outside = src.slice(b"world");
        assert_eq!(&outside[..], b"world");
        assert!(src.slice(&[]).is_empty());
    }

    #[test]
    fn list_count_does_not_drive_allocation() {
        // 65535 claimed elements, 0 present: fails as truncated without a huge allocation.
        let frame = Bytes::from_static(&[0xff, 0xff]);
        let err = Vec::<Bytes>::decode(&frame, Source::new(&frame)).unwrap_err();
        assert_eq!(field_error(err), FieldError::Truncated);
    }

    #[test]
    fn flag_rejects_values_other_than_zero_and_one() {
        let frame = Bytes::from_static(&[2]);
        let err = Flag::decode_field(&frame, Source::new(&frame)).unwrap_err();
        assert_eq!(field_error(err), FieldError::BadValue(2));
    }
}
