//! Pure file edits: each one is a function from old content to new content, shown as a diff.

pub mod addopts;
pub mod declared;
pub mod diff;
pub mod error;
pub mod format;
pub mod groups;
pub mod ini;
pub mod ini_doc;
pub mod list;
pub mod locks;
pub mod markers;
pub mod pep508;
pub mod placement;
pub mod poetry;
pub mod pytest_config;
pub mod pytest_files;
mod pytest_ops;
mod pytest_toml;
pub mod replace;
pub mod requirements;
pub mod toml;
pub mod tox;
