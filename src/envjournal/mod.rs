//! The environment journal: a Python environment recorded as files before an install and put
//! back offline, without any installer, after it.

pub mod affected;
pub mod bytecode;
pub mod distinfo;
pub mod durable;
pub mod error;
pub mod guard;
pub mod identity;
pub mod layout;
pub mod manifest;
pub mod restore;
pub mod snapshot;
pub mod switch;
pub mod verify;

pub use affected::{predict, Affected};
pub use error::EnvJournalError;
pub use identity::EnvIdentity;
pub use layout::EnvLayout;
pub use restore::{restore, RestoreReport};
pub use snapshot::{seal, take, SnapshotSummary};

#[cfg(test)]
pub(crate) mod tests;
