//! Protocol dialects: the version strings, and which messages and framing each allows.

use core::fmt;

use crate::consts::{WRITE_OVERHEAD, WRITE_OVERHEAD_Z};
use crate::message::MessageType;

/// A negotiated 9P dialect.
///
/// ```
/// use zerofs_9p_proto::{Dialect, MessageType};
///
/// let d = Dialect::from_version(b"9P2000.L.zerofs2").unwrap();
/// assert_eq!(d, Dialect::Zerofs2);
/// assert!(d.allows(MessageType::Tlopenat));
/// assert!(!d.allows(MessageType::Tfsyncdur));
/// assert!(!d.has_envelope(MessageType::Twrite));
/// assert!(Dialect::Z.has_envelope(MessageType::Twrite));
/// ```
///
/// `#[non_exhaustive]`: ZeroFS has added a dialect every few releases (`.zerofs`, `.zerofs2`,
/// `.Z`); the next must not break servers, proxies and clients that match on the ones they
/// know. Prefer the capability queries ([`Dialect::allows`], `has_gen1`...) to matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dialect {
    /// Plain `9P2000.L`: the standard messages only.
    Plain,
    /// `9P2000.L.zerofs` (gen 1): adds `Trebind`, `Twalkgetattr`, `Treaddirattr`.
    Zerofs,
    /// `9P2000.L.zerofs2` (gen 2): adds `Tlopenat`, `Tlcreateattr` and the other `*attr` forms.
    Zerofs2,
    /// `9P2000.L.Z` (ZeroFS 2.1+): every private message, the `.Z` `Trebind` layout and the
    /// 25-byte mutation envelope.
    Z,
}

impl Dialect {
    /// Every dialect, from the plainest.
    pub const ALL: [Dialect; 4] = [
        Dialect::Plain,
        Dialect::Zerofs,
        Dialect::Zerofs2,
        Dialect::Z,
    ];

    /// The exact version string of the dialect.
    pub const fn version(self) -> &'static str {
        match self {
            Dialect::Plain => "9P2000.L",
            Dialect::Zerofs => "9P2000.L.zerofs",
            Dialect::Zerofs2 => "9P2000.L.zerofs2",
            Dialect::Z => "9P2000.L.Z",
        }
    }

    /// The dialect whose version string is exactly `version`.
    ///
    /// Servers echo one of these exact strings, or `"unknown"`, which maps to `None`.
    pub fn from_version(version: &[u8]) -> Option<Dialect> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.version().as_bytes() == version)
    }

    /// Whether the gen 1 messages (`Trebind`, `Twalkgetattr`, `Treaddirattr`) are available.
    pub const fn has_gen1(self) -> bool {
        !matches!(self, Dialect::Plain)
    }

    /// Whether the gen 2 messages (`Tlopenat`, `Tlcreateattr`, `T*attr`) are available.
    pub const fn has_gen2(self) -> bool {
        matches!(self, Dialect::Zerofs2 | Dialect::Z)
    }

    /// Whether a message type may be used in this dialect.
    pub const fn allows(self, ty: MessageType) -> bool {
        use MessageType::*;
        match ty {
            Trebind | Rrebind | Twalkgetattr | Rwalkgetattr | Treaddirattr | Rreaddirattr => {
                self.has_gen1()
            }
            Tlopenat | Rlopenat | Tlcreateattr | Rlcreateattr | Tmkdirattr | Rmkdirattr
            | Tsymlinkattr | Rsymlinkattr | Tmknodattr | Rmknodattr | Tlinkattr | Rlinkattr
            | Tsetattrattr | Rsetattrattr => self.has_gen2(),
            Tfallocate | Rfallocate | Tlopenatread | Rlopenatread | Tfsyncdur | Tgetlineage
            | Rgetlineage => matches!(self, Dialect::Z),
            _ => true,
        }
    }

    /// Whether requests of this type carry the 25-byte mutation envelope in this dialect.
    pub const fn has_envelope(self, ty: MessageType) -> bool {
        matches!(self, Dialect::Z) && ty.is_mutation()
    }

    /// The largest `Twrite` payload that fits in a frame of `msize` bytes.
    pub const fn max_write_payload(self, msize: u32) -> u32 {
        let overhead = match self {
            Dialect::Z => WRITE_OVERHEAD_Z,
            _ => WRITE_OVERHEAD,
        };
        msize.saturating_sub(overhead)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_strings_round_trip_and_reject_near_misses() {
        for d in Dialect::ALL {
            assert_eq!(Dialect::from_version(d.version().as_bytes()), Some(d));
        }
        for bad in [
            &b"unknown"[..],
            b"9p2000.L",
            b"9P2000.L.zerofs3",
            b"9P2000.L.Z2",
            b"",
            b"9P2000",
        ] {
            assert_eq!(Dialect::from_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn gating_is_cumulative() {
        assert!(!Dialect::Plain.allows(MessageType::Twalkgetattr));
        assert!(Dialect::Zerofs.allows(MessageType::Twalkgetattr));
        assert!(!Dialect::Zerofs.allows(MessageType::Tlcreateattr));
        assert!(Dialect::Zerofs2.allows(MessageType::Tlcreateattr));
        assert!(!Dialect::Zerofs2.allows(MessageType::Tlopenatread));
        assert!(Dialect::Z.allows(MessageType::Tlopenatread));
        for d in Dialect::ALL {
            assert!(d.allows(MessageType::Twalk));
            assert!(d.allows(MessageType::Rlerror));
        }
    }

    #[test]
    fn write_payload_follows_envelope() {
        assert_eq!(Dialect::Plain.max_write_payload(1 << 20), (1 << 20) - 23);
        assert_eq!(Dialect::Z.max_write_payload(1 << 20), (1 << 20) - 48);
        assert_eq!(Dialect::Z.max_write_payload(10), 0);
    }
}
