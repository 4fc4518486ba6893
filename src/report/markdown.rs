//! tmp
use super::model::RunReport;
/// tmp
pub fn to_markdown(_r: &RunReport) -> String { String::new() }
