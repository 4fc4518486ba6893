//! Plans: the serde model, loading with diagnostics, validation, interpolation, and the
//! compiled plan the executor runs.

pub mod action;
pub mod baselines;
pub mod bundled;
#[cfg(test)]
mod compile_tests;
pub mod compiled;
pub mod diag;
mod fields;
#[cfg(test)]
mod fuzz_tests;
pub(crate) mod gates;
pub mod interp;
pub mod load;
pub mod locate;
pub mod model;
pub mod resolve;
pub mod schema;
pub mod service_vars;
mod shape;
mod shards;
mod split;
pub mod stages;
mod strict;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics};
pub use interp::{interpolate, InterpError};
pub use load::{load, load_bytes, LoadedPlan};
pub use validate::{parse_var_arg, validate, Resolved, ValidPlan, VarArgError};
