//! `planrun schema`.

use crate::error::{Error, Result};

/// Runs `planrun schema`.
pub fn run() -> Result<u8> {
    Err(Error::invalid(
        "`planrun schema` is not implemented yet",
        None,
    ))
}
