//! Message types and the [`Message`] enum: one variant per 9P2000.L or ZeroFS message.
//!
//! One table (`messages!` below) defines every variant; a request's row also names its reply
//! (`Tgetattr(Tgetattr) = Tgetattr => Rgetattr`), from which the [`kind`] markers and their
//! [`Variant`] and [`Request`] impls are generated.

mod standard;
mod typed;
mod zerofs;

use core::fmt;

use bytes::{BufMut, Bytes};

pub use self::standard::*;
pub use self::typed::{ReplyError, Request, Variant};
pub use self::zerofs::*;
use crate::coding::Source;
use crate::dialect::Dialect;
use crate::error::{Error, Result};

macro_rules! message_types {
    ($( $name:ident = $id:literal, )*) => {
        /// The type byte of a frame: every 9P2000.L and ZeroFS message id.
        ///
        /// `Trebind` (250) has two layouts; the dialect picks one (see [`Message::Trebind`] and
        /// [`Message::TrebindZ`]).
        ///
        /// `#[non_exhaustive]`: every ZeroFS dialect so far added message types, and the next
        /// one will too; servers and proxies built on the codec keep compiling when it does
        /// (they need a `_` arm, which is where an unknown type belongs anyway).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[allow(missing_docs)]
        #[non_exhaustive]
        pub enum MessageType { $( $name = $id, )* }

        impl MessageType {
            /// Every message type, in id order.
            pub const ALL: &'static [MessageType] = &[$( MessageType::$name, )*];

            /// The message type with this id, if any.
            pub const fn from_u8(id: u8) -> Option<MessageType> {
                match id {
                    $( $id => Some(MessageType::$name), )*
                    _ => None,
                }
            }

            /// The message's name, e.g. `"Twalk"`.
            pub const fn name(self) -> &'static str {
                match self { $( MessageType::$name => stringify!($name), )* }
            }
        }
    };
}

message_types! {
    Rlerror = 7,
    Tstatfs = 8, Rstatfs = 9,
    Tlopen = 12, Rlopen = 13,
    Tlcreate = 14, Rlcreate = 15,
    Tsymlink = 16, Rsymlink = 17,
    Tmknod = 18, Rmknod = 19,
    Trename = 20, Rrename = 21,
    Treadlink = 22, Rreadlink = 23,
    Tgetattr = 24, Rgetattr = 25,
    Tsetattr = 26, Rsetattr = 27,
    Txattrwalk = 30, Rxattrwalk = 31,
    Txattrcreate = 32, Rxattrcreate = 33,
    Treaddir = 40, Rreaddir = 41,
    Tfsync = 50, Rfsync = 51,
    Tlock = 52, Rlock = 53,
    Tgetlock = 54, Rgetlock = 55,
    Tlink = 70, Rlink = 71,
    Tmkdir = 72, Rmkdir = 73,
    Trenameat = 74, Rrenameat = 75,
    Tunlinkat = 76, Runlinkat = 77,
    Tversion = 100, Rversion = 101,
    Tauth = 102, Rauth = 103,
    Tattach = 104, Rattach = 105,
    Tflush = 108, Rflush = 109,
    Twalk = 110, Rwalk = 111,
    Tread = 116, Rread = 117,
    Twrite = 118, Rwrite = 119,
    Tclunk = 120, Rclunk = 121,
    Tremove = 122, Rremove = 123,
    Tfallocate = 228, Rfallocate = 229,
    Tlopenatread = 230, Rlopenatread = 231,
    Tfsyncdur = 232,
    Tgetlineage = 233, Rgetlineage = 234,
    Tlopenat = 236, Rlopenat = 237,
    Tlcreateattr = 238, Rlcreateattr = 239,
    Tmkdirattr = 240, Rmkdirattr = 241,
    Tsymlinkattr = 242, Rsymlinkattr = 243,
    Tmknodattr = 244, Rmknodattr = 245,
    Tlinkattr = 246, Rlinkattr = 247,
    Tsetattrattr = 248, Rsetattrattr = 249,
    Trebind = 250, Rrebind = 251,
    Twalkgetattr = 252, Rwalkgetattr = 253,
    Treaddirattr = 254, Rreaddirattr = 255,
}

impl MessageType {
    /// The type id.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// Whether this is a request (T-message). Parity does not tell: `Tgetlineage` is 233.
    pub const fn is_request(self) -> bool {
        self.name().as_bytes()[0] == b'T'
    }

    /// The successful reply type of a request (`Tfsyncdur` is answered by `Rfsync`); `None` for
    /// replies. Any request may also be answered by `Rlerror`.
    pub const fn reply(self) -> Option<MessageType> {
        match self {
            MessageType::Tfsyncdur => Some(MessageType::Rfsync),
            MessageType::Tgetlineage => Some(MessageType::Rgetlineage),
            t if t.is_request() => MessageType::from_u8(t.id() + 1),
            _ => None,
        }
    }

    /// Whether a `.Z` session wraps this request in the 25-byte mutation envelope.
    pub const fn is_mutation(self) -> bool {
        use MessageType::*;
        matches!(
            self,
            Tlcreate
                | Tsymlink
                | Tmknod
                | Trename
                | Tsetattr
                | Tlink
                | Tmkdir
                | Trenameat
                | Tunlinkat
                | Twrite
                | Tfallocate
                | Tlcreateattr
                | Tmkdirattr
                | Tsymlinkattr
                | Tmknodattr
                | Tlinkattr
                | Tsetattrattr
        )
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Picks `Trebind`'s layout: gen 1 / gen 2.
const fn legacy_rebind(dialect: Dialect) -> bool {
    !matches!(dialect, Dialect::Z)
}

/// Picks `Trebind`'s layout: `.Z`.
const fn z_rebind(dialect: Dialect) -> bool {
    matches!(dialect, Dialect::Z)
}

macro_rules! messages {
    ($( $(#[$doc:meta])* $variant:ident $(($body:ty))? = $ty:ident $(where $guard:path)? $(=> $reply:ident)?; )*) => {
        /// A 9P message: one variant per message, with typed fields.
        ///
        /// Bodies equal to a standard message's reuse its struct (`Twalkgetattr(Twalk)`); empty
        /// bodies are unit variants.
        ///
        /// `#[non_exhaustive]`, as [`MessageType`]: a new dialect's messages are new variants,
        /// which must not break code matching on the messages it knows.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Message { $( $(#[$doc])* $variant $(($body))?, )* }

        #[allow(unused_variables)]
        impl Message {
            /// The message's type byte.
            pub const fn msg_type(&self) -> MessageType {
                match self { $( messages!(@pat b $variant $($body)?) => MessageType::$ty, )* }
            }

            /// The variant's name (`"TrebindZ"` for the `.Z` rebind layout).
            pub const fn name(&self) -> &'static str {
                match self { $( messages!(@pat b $variant $($body)?) => stringify!($variant), )* }
            }

            /// Decodes the body of a message of type `ty`.
            pub(crate) fn decode_body<'a>(
                ty: MessageType,
                dialect: Dialect,
                input: &'a [u8],
                src: Source<'_>,
            ) -> Result<(&'a [u8], Message)> {
                match ty {
                    $( MessageType::$ty if messages!(@guard dialect $($guard)?) => {
                        messages!(@decode input src $variant $($body)?)
                    } )*
                    _ => Err(Error::NotInDialect { message: ty, dialect }),
                }
            }

            /// Appends the body.
            pub(crate) fn encode_body<B: BufMut + ?Sized>(&self, buf: &mut B) {
                match self { $( messages!(@pat b $variant $($body)?) => messages!(@encode b buf $($body)?), )* }
            }

            /// The body's exact length.
            pub fn body_len(&self) -> usize {
                match self { $( messages!(@pat b $variant $($body)?) => messages!(@len b $($body)?), )* }
            }

            /// Fails if a field is too long for the wire.
            pub(crate) fn check_lengths(&self) -> Result<()> {
                match self { $( messages!(@pat b $variant $($body)?) => messages!(@check b $variant $($body)?), )* }
            }

            /// Whether the dialect uses this message (and this layout of `Trebind`).
            pub const fn in_dialect(&self, dialect: Dialect) -> bool {
                match self { $(
                    messages!(@pat b $variant $($body)?) =>
                        dialect.allows(MessageType::$ty) && messages!(@guard dialect $($guard)?),
                )* }
            }
        }

        /// Every [`Message`] variant as a type, for [`Variant`] and [`Request`]: the markers
        /// name messages at compile time (`kind::Tgetattr` is answered by `kind::Rgetattr`)
        /// and are never constructed.
        pub mod kind {
            $(
                #[doc = concat!("The `", stringify!($variant), "` variant of [`Message`](crate::Message).")]
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                pub enum $variant {}
            )*
        }

        $(
            impl Variant for kind::$variant {
                type Body = messages!(@body $($body)?);
                const TYPE: MessageType = MessageType::$ty;

                #[allow(unused_variables, clippy::unused_unit)]
                fn wrap(body: Self::Body) -> Message {
                    messages!(@wrap body $variant $($body)?)
                }

                #[allow(clippy::result_large_err)] // see the trait
                fn unwrap(message: Message) -> core::result::Result<Self::Body, Message> {
                    match message {
                        messages!(@pat b $variant $($body)?) => Ok(messages!(@unit b $($body)?)),
                        other => Err(other),
                    }
                }
            }

            $(
                impl Request for kind::$variant {
                    type Reply = <kind::$reply as Variant>::Body;
                    const REPLY: MessageType = <kind::$reply as Variant>::TYPE;

                    fn reply(answer: Message) -> core::result::Result<Self::Reply, ReplyError> {
                        self::typed::reply_of::<Self, kind::$reply>(answer)
                    }
                }
            )?
        )*

        /// Every request of the table with the reply its row names (checked against
        /// [`MessageType::reply`] by the tests).
        #[cfg(test)]
        pub(crate) const REQUEST_REPLIES: &[(MessageType, MessageType)] = &[
            $( $( (MessageType::$ty, <kind::$reply as Variant>::TYPE), )? )*
        ];
    };

    (@body $body:ty) => { $body };
    (@body) => { () };
    (@wrap $b:ident $variant:ident $body:ty) => { Message::$variant($b) };
    (@wrap $b:ident $variant:ident) => { Message::$variant };
    (@unit $b:ident $body:ty) => { $b };
    (@unit $b:ident) => { () };

    (@pat $b:ident $variant:ident $body:ty) => { Message::$variant($b) };
    (@pat $b:ident $variant:ident) => { Message::$variant };
    (@guard $d:ident $guard:path) => { $guard($d) };
    (@guard $d:ident) => { true };
    (@decode $input:ident $src:ident $variant:ident $body:ty) => {{
        let (rest, body) = <$body>::decode_named($input, $src, stringify!($variant))?;
        Ok((rest, Message::$variant(body)))
    }};
    (@decode $input:ident $src:ident $variant:ident) => { Ok(($input, Message::$variant)) };
    (@encode $b:ident $buf:ident $body:ty) => { crate::coding::Codec::encode($b, $buf) };
    (@encode $b:ident $buf:ident) => { () };
    (@len $b:ident $body:ty) => { crate::coding::Codec::encoded_len($b) };
    (@len $b:ident) => { 0 };
    (@check $b:ident $variant:ident $body:ty) => { $b.check_lengths(stringify!($variant)) };
    (@check $b:ident $variant:ident) => { Ok(()) };
}

messages! {
    /// Error reply to any request.
    Rlerror(Rlerror) = Rlerror;
    /// File system statistics.
    Tstatfs(Tstatfs) = Tstatfs => Rstatfs;
    /// Reply to `Tstatfs`.
    Rstatfs(Rstatfs) = Rstatfs;
    /// Open a fid.
    Tlopen(Tlopen) = Tlopen => Rlopen;
    /// Reply to `Tlopen`.
    Rlopen(Rlopen) = Rlopen;
    /// Create and open a file.
    Tlcreate(Tlcreate) = Tlcreate => Rlcreate;
    /// Reply to `Tlcreate`.
    Rlcreate(Rlcreate) = Rlcreate;
    /// Create a symlink.
    Tsymlink(Tsymlink) = Tsymlink => Rsymlink;
    /// Reply to `Tsymlink`.
    Rsymlink(Rsymlink) = Rsymlink;
    /// Create a device node, fifo or socket.
    Tmknod(Tmknod) = Tmknod => Rmknod;
    /// Reply to `Tmknod`.
    Rmknod(Rmknod) = Rmknod;
    /// Move a file by fid.
    Trename(Trename) = Trename => Rrename;
    /// Reply to `Trename`.
    Rrename = Rrename;
    /// Read a symlink.
    Treadlink(Treadlink) = Treadlink => Rreadlink;
    /// Reply to `Treadlink`.
    Rreadlink(Rreadlink) = Rreadlink;
    /// Get attributes.
    Tgetattr(Tgetattr) = Tgetattr => Rgetattr;
    /// Reply to `Tgetattr`.
    Rgetattr(Rgetattr) = Rgetattr;
    /// Set attributes.
    Tsetattr(Tsetattr) = Tsetattr => Rsetattr;
    /// Reply to `Tsetattr`.
    Rsetattr = Rsetattr;
    /// Open an extended attribute for reading.
    Txattrwalk(Txattrwalk) = Txattrwalk => Rxattrwalk;
    /// Reply to `Txattrwalk`.
    Rxattrwalk(Rxattrwalk) = Rxattrwalk;
    /// Prepare to write an extended attribute.
    Txattrcreate(Txattrcreate) = Txattrcreate => Rxattrcreate;
    /// Reply to `Txattrcreate`.
    Rxattrcreate = Rxattrcreate;
    /// Read directory entries.
    Treaddir(Treaddir) = Treaddir => Rreaddir;
    /// Reply to `Treaddir`.
    Rreaddir(Rreaddir) = Rreaddir;
    /// Flush a file to storage.
    Tfsync(Tfsync) = Tfsync => Rfsync;
    /// Reply to `Tfsync` and `Tfsyncdur`.
    Rfsync = Rfsync;
    /// Take or release a byte-range lock.
    Tlock(Tlock) = Tlock => Rlock;
    /// Reply to `Tlock`.
    Rlock(Rlock) = Rlock;
    /// Test for a conflicting lock.
    Tgetlock(Tgetlock) = Tgetlock => Rgetlock;
    /// Reply to `Tgetlock`.
    Rgetlock(Rgetlock) = Rgetlock;
    /// Create a hard link.
    Tlink(Tlink) = Tlink => Rlink;
    /// Reply to `Tlink`.
    Rlink = Rlink;
    /// Create a directory.
    Tmkdir(Tmkdir) = Tmkdir => Rmkdir;
    /// Reply to `Tmkdir`.
    Rmkdir(Rmkdir) = Rmkdir;
    /// Rename by directory and name.
    Trenameat(Trenameat) = Trenameat => Rrenameat;
    /// Reply to `Trenameat`.
    Rrenameat = Rrenameat;
    /// Remove by directory and name.
    Tunlinkat(Tunlinkat) = Tunlinkat => Runlinkat;
    /// Reply to `Tunlinkat`.
    Runlinkat = Runlinkat;
    /// Negotiate version and msize.
    Tversion(Tversion) = Tversion => Rversion;
    /// Reply to `Tversion`.
    Rversion(Rversion) = Rversion;
    /// Authenticate.
    Tauth(Tauth) = Tauth => Rauth;
    /// Reply to `Tauth`.
    Rauth(Rauth) = Rauth;
    /// Attach to a file tree.
    Tattach(Tattach) = Tattach => Rattach;
    /// Reply to `Tattach`.
    Rattach(Rattach) = Rattach;
    /// Abort a request.
    Tflush(Tflush) = Tflush => Rflush;
    /// Reply to `Tflush`.
    Rflush = Rflush;
    /// Walk names from a fid.
    Twalk(Twalk) = Twalk => Rwalk;
    /// Reply to `Twalk`.
    Rwalk(Rwalk) = Rwalk;
    /// Read from an open fid.
    Tread(Tread) = Tread => Rread;
    /// Reply to `Tread`.
    Rread(Rread) = Rread;
    /// Write to an open fid.
    Twrite(Twrite) = Twrite => Rwrite;
    /// Reply to `Twrite`.
    Rwrite(Rwrite) = Rwrite;
    /// Forget a fid.
    Tclunk(Tclunk) = Tclunk => Rclunk;
    /// Reply to `Tclunk`.
    Rclunk = Rclunk;
    /// Remove a file by fid.
    Tremove(Tremove) = Tremove => Rremove;
    /// Reply to `Tremove`.
    Rremove = Rremove;
    /// `.Z`: allocate, punch or zero a range.
    Tfallocate(Tfallocate) = Tfallocate => Rfallocate;
    /// Reply to `Tfallocate`.
    Rfallocate = Rfallocate;
    /// `.Z`: clone, open and prefetch.
    Tlopenatread(Tlopenatread) = Tlopenatread => Rlopenatread;
    /// Reply to `Tlopenatread`.
    Rlopenatread(Rlopenatread) = Rlopenatread;
    /// `.Z`: verified durability barrier (answered by `Rfsync`).
    Tfsyncdur(Tfsyncdur) = Tfsyncdur => Rfsync;
    /// `.Z`: ask for the lineage token and writer epoch.
    Tgetlineage = Tgetlineage => Rgetlineage;
    /// Reply to `Tgetlineage`.
    Rgetlineage(Rgetlineage) = Rgetlineage;
    /// Gen 2: clone and open.
    Tlopenat(Tlopenat) = Tlopenat => Rlopenat;
    /// Reply to `Tlopenat`.
    Rlopenat(Rlopen) = Rlopenat;
    /// Gen 2: create and open on a new fid, with the stat.
    Tlcreateattr(Tlcreateattr) = Tlcreateattr => Rlcreateattr;
    /// Reply to `Tlcreateattr`.
    Rlcreateattr(Rlcreateattr) = Rlcreateattr;
    /// Gen 2: `Tmkdir` returning the stat.
    Tmkdirattr(Tmkdir) = Tmkdirattr => Rmkdirattr;
    /// Reply to `Tmkdirattr`.
    Rmkdirattr(AttrReply) = Rmkdirattr;
    /// Gen 2: `Tsymlink` returning the stat.
    Tsymlinkattr(Tsymlink) = Tsymlinkattr => Rsymlinkattr;
    /// Reply to `Tsymlinkattr`.
    Rsymlinkattr(AttrReply) = Rsymlinkattr;
    /// Gen 2: `Tmknod` returning the stat.
    Tmknodattr(Tmknod) = Tmknodattr => Rmknodattr;
    /// Reply to `Tmknodattr`.
    Rmknodattr(AttrReply) = Rmknodattr;
    /// Gen 2: `Tlink` returning the target's stat.
    Tlinkattr(Tlink) = Tlinkattr => Rlinkattr;
    /// Reply to `Tlinkattr`.
    Rlinkattr(AttrReply) = Rlinkattr;
    /// Gen 2: `Tsetattr` returning the stat.
    Tsetattrattr(Tsetattr) = Tsetattrattr => Rsetattrattr;
    /// Reply to `Tsetattrattr`.
    Rsetattrattr(AttrReply) = Rsetattrattr;
    /// Gen 1 / gen 2 layout of `Trebind`.
    Trebind(Trebind) = Trebind where legacy_rebind => Rrebind;
    /// `.Z` layout of `Trebind`.
    TrebindZ(TrebindZ) = Trebind where z_rebind => Rrebind;
    /// Reply to `Trebind`.
    Rrebind(Rrebind) = Rrebind;
    /// Gen 1: all-or-nothing walk returning the stat.
    Twalkgetattr(Twalk) = Twalkgetattr => Rwalkgetattr;
    /// Reply to `Twalkgetattr`.
    Rwalkgetattr(Rwalkgetattr) = Rwalkgetattr;
    /// Gen 1: readdir with stats.
    Treaddirattr(Treaddir) = Treaddirattr => Rreaddirattr;
    /// Reply to `Treaddirattr`.
    Rreaddirattr(Rreaddirattr) = Rreaddirattr;
}

impl Message {
    /// The trailing data payload of `Twrite`, `Rread` and `Rlopenatread`, which encoders may send
    /// without copying it into a frame buffer.
    pub fn payload(&self) -> Option<&Bytes> {
        match self {
            Message::Twrite(m) => Some(&m.data),
            Message::Rread(m) => Some(&m.data),
            Message::Rlopenatread(m) => Some(&m.data),
            _ => None,
        }
    }

    /// Appends the body without its trailing payload bytes, with the payload's `count[4]` set to
    /// `payload_len`. Returns `false` (writing nothing) for messages without a payload.
    pub(crate) fn encode_body_head<B: BufMut + ?Sized>(
        &self,
        payload_len: u32,
        buf: &mut B,
    ) -> bool {
        use crate::coding::Codec;
        match self {
            Message::Twrite(m) => {
                buf.put_u32_le(m.fid);
                buf.put_u64_le(m.offset);
            }
            Message::Rread(_) => {}
            Message::Rlopenatread(m) => {
                m.qid.encode(buf);
                buf.put_u32_le(m.iounit);
                buf.put_u8(u8::from(m.eof));
            }
            _ => return false,
        }
        buf.put_u32_le(payload_len);
        true
    }

    /// An `Rlerror` with this errno.
    pub const fn error(ecode: u32) -> Message {
        Message::Rlerror(Rlerror { ecode })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stat;

    #[test]
    fn ids_round_trip_and_reply_types_pair_up() {
        for &ty in MessageType::ALL {
            assert_eq!(MessageType::from_u8(ty.id()), Some(ty));
            if let Some(reply) = ty.reply() {
                assert!(ty.is_request());
                assert!(!reply.is_request(), "{ty:?}");
            }
        }
        assert_eq!(MessageType::Tfsyncdur.reply(), Some(MessageType::Rfsync));
        assert_eq!(
            MessageType::Tgetlineage.reply(),
            Some(MessageType::Rgetlineage)
        );
        assert_eq!(MessageType::Rlerror.reply(), None);
        assert_eq!(MessageType::from_u8(6), None);
        assert_eq!(MessageType::from_u8(112), None);
    }

    #[test]
    fn exactly_seventeen_mutations_take_an_envelope() {
        let n = MessageType::ALL.iter().filter(|t| t.is_mutation()).count();
        assert_eq!(n, 17);
        assert!(
            MessageType::ALL
                .iter()
                .filter(|t| t.is_mutation())
                .all(|t| t.is_request())
        );
    }

    #[test]
    fn the_table_pairs_every_request_with_its_reply() {
        let requests = MessageType::ALL.iter().filter(|t| t.is_request()).count();
        // Trebind has two layouts (two rows, one type byte).
        assert_eq!(REQUEST_REPLIES.len(), requests + 1);
        for &(request, reply) in REQUEST_REPLIES {
            assert_eq!(request.reply(), Some(reply), "{request}");
        }
        assert_eq!(<kind::Tfsyncdur as Request>::REPLY, MessageType::Rfsync);
        assert_eq!(<kind::TrebindZ as Request>::REPLY, MessageType::Rrebind);
    }

    #[test]
    fn a_request_goes_into_its_variant_and_its_reply_comes_out() {
        let body = Tgetattr {
            fid: 3,
            request_mask: 0x7ff,
        };
        assert_eq!(
            kind::Tgetattr::message(body.clone()),
            Message::Tgetattr(body)
        );
        let r = Rgetattr {
            valid: 1,
            stat: Stat::default(),
        };
        assert_eq!(kind::Tgetattr::reply(Message::Rgetattr(r.clone())), Ok(r));
        // Empty bodies on both sides.
        assert_eq!(kind::Tgetlineage::message(()), Message::Tgetlineage);
        assert_eq!(kind::Trename::reply(Message::Rrename), Ok(()));
        // A shared body struct lands in the variant the marker names.
        let mkdir = Tmkdir::default();
        assert_eq!(
            kind::Tmkdirattr::message(mkdir.clone()),
            Message::Tmkdirattr(mkdir)
        );
    }

    #[test]
    fn rlerror_is_the_server_error_and_a_wrong_reply_is_unexpected() {
        assert_eq!(
            kind::Tgetattr::reply(Message::error(13)),
            Err(ReplyError::Server(13))
        );
        assert_eq!(
            kind::Tunlinkat::reply(Message::error(2)),
            Err(ReplyError::Server(2))
        );
        assert_eq!(
            kind::Tgetattr::reply(Message::Rclunk),
            Err(ReplyError::Unexpected {
                request: MessageType::Tgetattr,
                reply: MessageType::Rclunk
            })
        );
        // Same body struct, other variant: still the wrong reply.
        assert_eq!(
            kind::Tmkdirattr::reply(Message::Rsymlinkattr(AttrReply::default())),
            Err(ReplyError::Unexpected {
                request: MessageType::Tmkdirattr,
                reply: MessageType::Rsymlinkattr
            })
        );
        assert_eq!(
            kind::Trename::reply(Message::Rrenameat),
            Err(ReplyError::Unexpected {
                request: MessageType::Trename,
                reply: MessageType::Rrenameat
            })
        );
        // A request is no answer to itself.
        assert!(kind::Tflush::reply(Message::Tflush(Tflush::default())).is_err());
        assert_eq!(
            ReplyError::Unexpected {
                request: MessageType::Tgetattr,
                reply: MessageType::Rclunk
            }
            .to_string(),
            "Rclunk does not answer Tgetattr"
        );
    }

    #[test]
    fn rebind_layout_follows_dialect() {
        let legacy = Message::Trebind(Trebind::default());
        let z = Message::TrebindZ(TrebindZ::default());
        assert!(legacy.in_dialect(Dialect::Zerofs2) && !legacy.in_dialect(Dialect::Z));
        assert!(z.in_dialect(Dialect::Z) && !z.in_dialect(Dialect::Zerofs));
        assert!(!legacy.in_dialect(Dialect::Plain));
    }
}
