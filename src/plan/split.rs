//! The fast way in for a well-formed plan: the text cut before each `[[phase]]` line, each piece
//! parsed and its phases deserialized in turn, so that the parser's token and event buffers and
//! each piece's tree are freed and reused instead of a whole-file tree held at once (on a
//! 10,000-step plan that was a third of the parse's time, in page faults).
//!
//! It only ever accepts, never reports: whatever it is unsure of (a piece that does not parse, a
//! top-level key in two pieces, a `phase` key before the first cut) sends the caller to the
//! whole-file parse, whose errors carry their places. A piece that parses on its own ends outside
//! any string, array or table, so the cuts fall between TOML expressions; and since each later
//! piece starts with `[[phase]]`, its headers can only refer to its own phases or to top-level
//! keys no other piece has: the pieces together mean what the whole file means.

use serde::Deserialize;
use toml::de::{DeTable, ValueDeserializer};

use super::model::{Phase, Plan};

/// The header every cut comes before, at the start of a line.
const CUT: &str = "\n[[phase]]";

/// The plan in `text` parsed piece by piece, or `None` when it needs the whole-file parse
/// (whether or not it is valid).
pub(super) fn parse(text: &str, structs_are_tables: fn(&DeTable<'_>) -> bool) -> Option<Plan> {
    let mut cuts = text.match_indices(CUT).map(|(at, _)| at + 1);
    // A plan without such a line gains nothing here: the whole-file parse takes it at once.
    let first = cuts.next()?;
    let mut root = DeTable::parse(&text[..first]).ok()?;
    if root.get_ref().contains_key("phase") {
        return None;
    }
    let mut phases = Vec::new();
    let mut start = first;
    while start < text.len() {
        let end = cuts.next().unwrap_or(text.len());
        let mut piece = DeTable::parse(&text[start..end]).ok()?.into_inner();
        if !structs_are_tables(&piece) {
            return None;
        }
        let value = piece.remove("phase")?;
        phases.extend(Vec::<Phase>::deserialize(ValueDeserializer::from(value)).ok()?);
        for (key, value) in piece {
            if root.get_ref().contains_key(key.get_ref().as_ref()) {
                return None;
            }
            root.get_mut().insert(key, value);
        }
        start = end;
    }
    if !structs_are_tables(root.get_ref()) {
        return None;
    }
    let mut plan = Plan::deserialize(toml::de::Deserializer::from(root)).ok()?;
    plan.phases = phases;
    Some(plan)
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
