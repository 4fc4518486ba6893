//! `planrun schema`: print the JSON Schema of the plan language.

use crate::error::Result;

/// Runs `planrun schema`.
pub fn run() -> Result<u8> {
    crate::ui::out(crate::plan::schema::plan_schema_text().trim_end());
    Ok(crate::exit::OK)
}
