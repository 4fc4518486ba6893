//! Plans: the serde model, loading with diagnostics, interpolation and validation.

pub mod diag;
pub mod load;
pub mod locate;
pub mod model;
pub mod schema;
mod strict;

pub use diag::{Diagnostic, Diagnostics};
pub use load::{load, load_bytes, LoadedPlan};
