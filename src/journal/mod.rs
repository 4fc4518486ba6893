//! The journal: before-images written ahead of every mutation, rollback that replays them, the
//! run history, the per-target lock, and the layout of the state directory `.planrun/` they
//! live in.

pub mod caches;
pub mod entry;
pub mod error;
pub mod explain;
pub mod leftovers;
pub mod lock;
pub mod outcome;
pub mod paths;
pub mod record;
pub mod render;
pub mod replay;
pub mod reserve;
pub mod state;
pub mod switch;
pub mod trust;
pub mod venvlist;
