//! `planrun validate`.

use crate::cli::ValidateArgs;
use crate::error::{Error, Result};

/// Runs `planrun validate`.
pub fn run(_args: &ValidateArgs) -> Result<u8> {
    Err(Error::Message {
        message: "`planrun validate` is not implemented yet".into(),
        hint: None,
        code: crate::exit::INVALID,
    })
}
