//! Plans: the serde model, loading with diagnostics, interpolation and validation.

pub mod model;
