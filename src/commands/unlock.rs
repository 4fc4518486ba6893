//! `planrun unlock`.

use crate::cli::UnlockArgs;
use crate::error::{Error, Result};

/// Runs `planrun unlock`.
pub fn run(_args: &UnlockArgs) -> Result<u8> {
    Err(Error::Message {
        message: "`planrun unlock` is not implemented yet".into(),
        hint: None,
        code: crate::exit::INVALID,
    })
}
