//! Version negotiation for each generation (PROTOCOL.md §4.1, §4.2).

use zerofs_9p_proto::Dialect;
use zerofs_9p_proto::consts::errno;

use crate::config::Generation;

/// The outcome of a `Tversion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Negotiated {
    /// The server grants `dialect` with this msize.
    Accepted {
        /// Granted dialect.
        dialect: Dialect,
        /// `min(requested, cap)`.
        msize: u32,
    },
    /// `"unknown"`, echoing the requested msize.
    Unknown {
        /// The requested msize, echoed.
        msize: u32,
    },
}

/// Negotiates `version` with a `generation` server capping msize at `cap`; `Err(errno)` when
/// the string is not UTF-8.
pub(crate) fn negotiate(
    generation: Generation,
    requested: u32,
    version: &[u8],
    cap: u32,
) -> Result<Negotiated, u32> {
    let v = std::str::from_utf8(version).map_err(|_| errno::EINVAL)?;
    let msize = requested.min(cap);
    let accept = |dialect| Ok(Negotiated::Accepted { dialect, msize });
    let unknown = Ok(Negotiated::Unknown { msize: requested });
    match generation {
        Generation::Z => match v {
            "9P2000.L" => accept(Dialect::Plain),
            "9P2000.L.Z" => accept(Dialect::Z),
            _ => unknown,
        },
        _ if !v.contains("9P2000.L") => unknown,
        Generation::Plain => accept(Dialect::Plain),
        Generation::Gen1 if v.contains(".zerofs") => accept(Dialect::Zerofs),
        Generation::Gen2 if v.contains(".zerofs2") => accept(Dialect::Zerofs2),
        Generation::Gen2 if v.contains(".zerofs") => accept(Dialect::Zerofs),
        _ => accept(Dialect::Plain),
    }
}

impl Generation {
    /// The dialect a server of this generation grants a `Tversion` proposing `version`;
    /// `None` when it answers `"unknown"` (or refuses a version that is not UTF-8). What the
    /// memserver answers, for scripted peers that must negotiate like it.
    ///
    /// ```
    /// use zerofs_9p_proto::Dialect;
    /// use zerofs_memserver::Generation;
    ///
    /// assert_eq!(Generation::Gen2.grants(b"9P2000.L.zerofs2"), Some(Dialect::Zerofs2));
    /// assert_eq!(Generation::Gen1.grants(b"9P2000.L.zerofs2"), Some(Dialect::Zerofs));
    /// assert_eq!(Generation::Z.grants(b"9P2000.L.zerofs2"), None);
    /// ```
    pub fn grants(self, version: &[u8]) -> Option<Dialect> {
        match negotiate(self, 0, version, 0) {
            Ok(Negotiated::Accepted { dialect, .. }) => Some(dialect),
            Ok(Negotiated::Unknown { .. }) | Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: u32 = 10 << 20;

    fn reply(g: Generation, v: &str) -> &'static str {
        match negotiate(g, 1 << 20, v.as_bytes(), g.default_max_msize()).unwrap() {
            Negotiated::Accepted { dialect, .. } => dialect.version(),
            Negotiated::Unknown { .. } => "unknown",
        }
    }

    /// Every row of the §4.2 matrix, for the four generations.
    #[test]
    fn the_reply_matrix() {
        use Generation::*;
        let rows: &[(&str, [&str; 4])] = &[
            ("9P2000.L", ["9P2000.L", "9P2000.L", "9P2000.L", "9P2000.L"]),
            (
                "9P2000.L.zerofs",
                ["9P2000.L", "9P2000.L.zerofs", "9P2000.L.zerofs", "unknown"],
            ),
            (
                "9P2000.L.zerofs2",
                ["9P2000.L", "9P2000.L.zerofs", "9P2000.L.zerofs2", "unknown"],
            ),
            (
                "9P2000.L.Z",
                ["9P2000.L", "9P2000.L", "9P2000.L", "9P2000.L.Z"],
            ),
            ("9P2000.u", ["unknown"; 4]),
            ("9P2000", ["unknown"; 4]),
            ("", ["unknown"; 4]),
            ("hello", ["unknown"; 4]),
            (
                "x9P2000.Ly",
                ["9P2000.L", "9P2000.L", "9P2000.L", "unknown"],
            ),
            ("9p2000.L", ["unknown"; 4]),
        ];
        for (proposal, want) in rows {
            for (g, want) in [Plain, Gen1, Gen2, Z].into_iter().zip(want) {
                assert_eq!(reply(g, proposal), *want, "{g} given {proposal:?}");
            }
        }
    }

    #[test]
    fn msize_is_capped_when_accepted_and_echoed_when_unknown() {
        assert_eq!(
            negotiate(Generation::Plain, 1 << 30, b"9P2000.L", 262_144),
            Ok(Negotiated::Accepted {
                dialect: Dialect::Plain,
                msize: 262_144
            })
        );
        assert_eq!(
            negotiate(Generation::Z, 1 << 30, b"nope", CAP),
            Ok(Negotiated::Unknown { msize: 1 << 30 })
        );
        assert_eq!(
            negotiate(Generation::Gen2, 0, b"9P2000.L", CAP),
            Ok(Negotiated::Accepted {
                dialect: Dialect::Plain,
                msize: 0
            })
        );
        for g in Generation::ALL {
            assert_eq!(negotiate(g, 8192, b"9P2000.L\xff", CAP), Err(errno::EINVAL));
        }
    }
}
