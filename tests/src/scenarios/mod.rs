//! Every scenario, as `async fn(Fixture)`.

mod basics;
mod dirs;
mod extra;
mod faults;
mod lifecycle;
pub mod roundtrips;
mod stdlike;
mod xattrs;

pub use basics::*;
pub use dirs::*;
pub use extra::*;
pub use faults::*;
pub use lifecycle::*;
pub use roundtrips::round_trips;
pub use stdlike::*;
pub use xattrs::*;
