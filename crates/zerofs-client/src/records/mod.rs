//! The plain data records of the API (serde-enabled with the `serde` feature).

mod dir_entry;
mod metadata;
mod options;
mod set_attrs;
mod statfs;
mod stats;
mod time;
mod traffic;

pub use self::dir_entry::{DirEntry, NodeKind};
pub use self::metadata::{FileType, Metadata};
pub use self::options::{ConnectOptions, OpenOptions};
pub use self::set_attrs::SetAttrs;
pub use self::statfs::{Capabilities, StatFs};
pub use self::stats::ClientStats;
pub use self::time::{SetTime, Timestamp};
pub use self::traffic::TrafficStats;
