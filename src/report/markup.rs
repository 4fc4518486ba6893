//! HTML fragments the HTML report's sections share: inline code, test ids that may break at
//! their separators, and marks for states that every font can show.

use super::svg::esc;

/// A mark for a state class that every font has (emoji need an emoji font, which a CI
/// machine's browser often lacks).
pub fn mark(class: &str) -> &'static str {
    match class {
        "pass" => "✓",
        "fail" => "✗",
        "warn" => "⚠",
        _ => "–",
    }
}

/// A test id escaped, with a line break allowed after each `/` and `::`.
pub fn breakable(id: &str) -> String {
    esc(id).replace("::", "::<wbr>").replace('/', "/<wbr>")
}

/// `s` as inline code.
pub fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}
