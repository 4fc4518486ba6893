//! `planrun rollback`.

use crate::cli::TargetArgs;
use crate::error::{Error, Result};

/// Runs `planrun rollback`.
pub fn run(_args: &TargetArgs) -> Result<u8> {
    Err(Error::Message {
        message: "`planrun rollback` is not implemented yet".into(),
        hint: None,
        code: crate::exit::INVALID,
    })
}
