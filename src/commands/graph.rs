//! `planrun graph`.

use crate::cli::GraphArgs;
use crate::error::{Error, Result};

/// Runs `planrun graph`.
pub fn run(_args: &GraphArgs) -> Result<u8> {
    Err(Error::Message {
        message: "`planrun graph` is not implemented yet".into(),
        hint: None,
        code: crate::exit::INVALID,
    })
}
