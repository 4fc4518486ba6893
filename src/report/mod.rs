//! Reports of a run: the model, and one renderer per format.

pub mod charts;
pub mod compare;
pub mod convert;
pub mod explain;
pub mod fold;
pub mod github;
pub mod html;
mod html_changes;
pub mod json;
pub mod junit;
pub mod labels;
pub mod markdown;
mod markup;
pub mod mask;
pub mod mermaid;
pub mod model;
pub mod pertest;
pub mod preview;
pub mod svg;
pub mod words;
pub mod write;

#[cfg(test)]
pub(crate) mod fixture;
