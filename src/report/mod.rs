//! Reports of a run: the model, and one renderer per format.

pub mod model;
