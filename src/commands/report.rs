//! `planrun report`.

use crate::cli::ReportArgs;
use crate::error::{Error, Result};

/// Runs `planrun report`.
pub fn run(_args: &ReportArgs) -> Result<u8> {
    Err(Error::Message {
        message: "`planrun report` is not implemented yet".into(),
        hint: None,
        code: crate::exit::INVALID,
    })
}
