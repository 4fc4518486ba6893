//! Reports of a run: the model, and one renderer per format.

pub mod compare;
pub mod github;
pub mod json;
pub mod junit;
pub mod labels;
pub mod markdown;
pub mod mask;
pub mod model;
pub mod write;

#[cfg(test)]
pub(crate) mod fixture;
