//! The journal: before-images written ahead of every mutation, rollback that replays them, the
//! run history and the per-target lock.

pub mod caches;
pub mod entry;
pub mod error;
pub mod explain;
pub mod lock;
pub mod record;
pub mod render;
pub mod replay;
pub mod state;
pub mod trust;
