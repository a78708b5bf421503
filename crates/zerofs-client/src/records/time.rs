//! [`Timestamp`] and [`SetTime`], with `SystemTime` conversions that never panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time as seconds and nanoseconds relative to the UNIX epoch.
///
/// Instants before the epoch have negative `secs` and positive `nanos` (floor seconds), so
/// 500 ns before the epoch is `(-1, 999_999_500)`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use zerofs_client::Timestamp;
///
/// let t = Timestamp::from(UNIX_EPOCH - Duration::from_nanos(500));
/// assert_eq!((t.secs, t.nanos), (-1, 999_999_500));
/// assert_eq!(std::time::SystemTime::from(t), UNIX_EPOCH - Duration::from_nanos(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp {
    /// Whole seconds since the epoch (negative before it).
    pub secs: i64,
    /// Nanoseconds past `secs`, below 1,000,000,000.
    pub nanos: u32,
}

impl Timestamp {
    /// A timestamp from seconds and nanoseconds.
    pub const fn new(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    /// The wire value (u64 seconds cast to i64, as ZeroFS's client does).
    pub(crate) fn from_wire(secs: u64, nanos: u64) -> Timestamp {
        Timestamp {
            secs: secs as i64,
            nanos: u32::try_from(nanos).unwrap_or(u32::MAX),
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp {
                secs: i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                nanos: after.subsec_nanos(),
            },
            Err(before) => {
                let before = before.duration();
                let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                match before.subsec_nanos() {
                    0 => Timestamp {
                        secs: secs.saturating_neg(),
                        nanos: 0,
                    },
                    n => Timestamp {
                        secs: (-secs).saturating_sub(1),
                        nanos: 1_000_000_000 - n,
                    },
                }
            }
        }
    }
}

impl From<Timestamp> for SystemTime {
    /// Nanoseconds are clamped to 999,999,999; an instant `SystemTime` cannot represent
    /// saturates to `UNIX_EPOCH` instead of panicking.
    fn from(t: Timestamp) -> SystemTime {
        let nanos = t.nanos.min(999_999_999);
        let shifted = if t.secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(t.secs.unsigned_abs(), nanos))
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(t.secs.unsigned_abs()))
                .and_then(|base| base.checked_add(Duration::from_nanos(u64::from(nanos))))
        };
        shifted.unwrap_or(UNIX_EPOCH)
    }
}

/// A time to set with `set_times`/`SetAttrs`: the server's clock, or a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SetTime {
    /// The server's current time.
    Now,
    /// A given instant (not before the epoch: the wire is unsigned).
    At {
        /// The instant.
        time: Timestamp,
    },
}

impl From<SystemTime> for SetTime {
    fn from(time: SystemTime) -> SetTime {
        SetTime::At {
            time: Timestamp::from(time),
        }
    }
}

impl From<Timestamp> for SetTime {
    fn from(time: Timestamp) -> SetTime {
        SetTime::At { time }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_do_not_panic() {
        for t in [
            Timestamp::new(i64::MAX, 2_000_000_000),
            Timestamp::new(i64::MIN, 999_999_999),
            Timestamp::new(0, u32::MAX),
        ] {
            let _ = SystemTime::from(t);
        }
        assert_eq!(
            SystemTime::from(Timestamp::new(0, u32::MAX)),
            UNIX_EPOCH + Duration::new(0, 999_999_999)
        );
    }

    #[test]
    fn round_trips_both_sides_of_the_epoch() {
        for d in [
            Duration::ZERO,
            Duration::new(1_700_000_000, 42),
            Duration::new(3, 0),
        ] {
            let after = UNIX_EPOCH + d;
            assert_eq!(SystemTime::from(Timestamp::from(after)), after);
            let before = UNIX_EPOCH - d;
            assert_eq!(SystemTime::from(Timestamp::from(before)), before);
        }
        assert_eq!(
            Timestamp::from(UNIX_EPOCH - Duration::from_secs(2)),
            Timestamp::new(-2, 0)
        );
    }

    #[test]
    fn system_time_sets_an_instant() {
        let t = UNIX_EPOCH + Duration::new(10, 5);
        assert_eq!(
            SetTime::from(t),
            SetTime::At {
                time: Timestamp::new(10, 5)
            }
        );
    }
}
