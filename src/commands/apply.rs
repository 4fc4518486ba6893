//! `planrun apply`.

use crate::cli::ApplyArgs;
use crate::error::{Error, Result};

/// Runs `planrun apply`.
pub fn run(_args: &ApplyArgs) -> Result<u8> {
    Err(Error::Message {
        message: "`planrun apply` is not implemented yet".into(),
        hint: None,
        code: crate::exit::INVALID,
    })
}
