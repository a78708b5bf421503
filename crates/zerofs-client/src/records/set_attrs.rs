//! [`SetAttrs`]: which attributes a `set_attr` changes, and its `Tsetattr` encoding.

use zerofs_9p_proto::Tsetattr;
use zerofs_9p_proto::consts::setattr;

use super::time::SetTime;
use crate::error::ZeroFsError;

/// Attributes to change; `None` fields are left untouched.
///
/// ```
/// use zerofs_client::{SetAttrs, SetTime};
///
/// let attrs = SetAttrs { mode: Some(0o600), mtime: Some(SetTime::Now), ..SetAttrs::default() };
/// assert!(attrs.size.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SetAttrs {
    /// Permission bits (the low 12 bits are used).
    pub mode: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
    /// Length: truncate or extend.
    pub size: Option<u64>,
    /// Access time.
    pub atime: Option<SetTime>,
    /// Modification time.
    pub mtime: Option<SetTime>,
}

impl SetAttrs {
    /// The `Tsetattr` body for `fid`; instants before the epoch are refused (the wire is
    /// unsigned).
    pub(crate) fn to_wire(self, fid: u32) -> Result<Tsetattr, ZeroFsError> {
        let mut t = Tsetattr {
            fid,
            ..Tsetattr::default()
        };
        if let Some(mode) = self.mode {
            t.valid |= setattr::MODE;
            t.mode = mode & 0o7777;
        }
        if let Some(uid) = self.uid {
            t.valid |= setattr::UID;
            t.uid = uid;
        }
        if let Some(gid) = self.gid {
            t.valid |= setattr::GID;
            t.gid = gid;
        }
        if let Some(size) = self.size {
            t.valid |= setattr::SIZE;
            t.size = size;
        }
        if let Some((secs, nsec)) =
            time_bits(self.atime, setattr::ATIME, setattr::ATIME_SET, &mut t.valid)?
        {
            (t.atime_sec, t.atime_nsec) = (secs, nsec);
        }
        if let Some((secs, nsec)) =
            time_bits(self.mtime, setattr::MTIME, setattr::MTIME_SET, &mut t.valid)?
        {
            (t.mtime_sec, t.mtime_nsec) = (secs, nsec);
        }
        Ok(t)
    }
}

/// Sets the valid bits for one time and returns the explicit instant, if any.
fn time_bits(
    time: Option<SetTime>,
    bit: u32,
    set_bit: u32,
    valid: &mut u32,
) -> Result<Option<(u64, u64)>, ZeroFsError> {
    match time {
        None => Ok(None),
        Some(SetTime::Now) => {
            *valid |= bit;
            Ok(None)
        }
        Some(SetTime::At { time }) => {
            let secs = u64::try_from(time.secs).map_err(|_| {
                ZeroFsError::invalid("timestamps before the UNIX epoch are not representable")
            })?;
            *valid |= bit | set_bit;
            Ok(Some((secs, u64::from(time.nanos.min(999_999_999)))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    #[test]
    fn valid_bits_follow_the_fields() {
        assert_eq!(SetAttrs::default().to_wire(3).unwrap().valid, 0);
        let t = SetAttrs {
            mode: Some(0o100644),
            uid: Some(1),
            gid: Some(2),
            size: Some(3),
            atime: Some(SetTime::Now),
            mtime: Some(SetTime::At {
                time: Timestamp::new(1_700_000_000, 42),
            }),
        }
        .to_wire(9)
        .unwrap();
        assert_eq!(t.fid, 9);
        assert_eq!(t.mode, 0o644);
        assert_eq!(
            t.valid,
            setattr::MODE
                | setattr::UID
                | setattr::GID
                | setattr::SIZE
                | setattr::ATIME
                | setattr::MTIME
                | setattr::MTIME_SET
        );
        assert_eq!(
            (t.mtime_sec, t.mtime_nsec, t.atime_sec),
            (1_700_000_000, 42, 0)
        );
    }

    #[test]
    fn pre_epoch_times_are_refused() {
        let attrs = SetAttrs {
            mtime: Some(SetTime::At {
                time: Timestamp::new(-1, 0),
            }),
            ..SetAttrs::default()
        };
        assert!(matches!(
            attrs.to_wire(1),
            Err(ZeroFsError::InvalidArgument { .. })
        ));
        let ok = SetAttrs {
            atime: Some(SetTime::At {
                time: Timestamp::new(1_000_000, 0),
            }),
            ..SetAttrs::default()
        };
        assert!(ok.to_wire(1).is_ok());
    }
}
