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
//!
//! A big plan's pieces are parsed on as many threads as there are cores, each thread taking a
//! run of consecutive pieces; the phases are put back in the file's order and the checks above
//! are made once all are back, so the result is the one a single thread gives.

use std::borrow::Cow;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::model::{Phase, Plan};

/// The header every cut comes before, at the start of a line.
const CUT: &str = "\n[[phase]]";

/// Below this size a plan is read on one thread: starting another costs more than it saves.
const PARALLEL_MIN: usize = 128 * 1024;

/// The most threads one plan is read on.
const MAX_THREADS: usize = 8;

/// A top-level key of a piece other than `phase`, and its value.
type Entry<'a> = (Spanned<Cow<'a, str>>, Spanned<DeValue<'a>>);

/// What a run of consecutive pieces holds: their phases, and their other top-level entries.
type Part<'a> = (Vec<Phase>, Vec<Entry<'a>>);

/// The plan in `text` parsed piece by piece, or `None` when it needs the whole-file parse
/// (whether or not it is valid).
pub(super) fn parse(text: &str, structs_are_tables: fn(&DeTable<'_>) -> bool) -> Option<Plan> {
    let threads = if text.len() < PARALLEL_MIN {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    };
    parse_on(text, structs_are_tables, threads)
}

/// [`parse`] on at most `threads` threads.
fn parse_on(
    text: &str,
    structs_are_tables: fn(&DeTable<'_>) -> bool,
    threads: usize,
) -> Option<Plan> {
    let cuts: Vec<usize> = text.match_indices(CUT).map(|(at, _)| at + 1).collect();
    // A plan without such a line gains nothing here: the whole-file parse takes it at once.
    let first = *cuts.first()?;
    let mut root = DeTable::parse(&text[..first]).ok()?;
    if root.get_ref().contains_key("phase") {
        return None;
    }
    let ends = cuts.iter().skip(1).copied().chain([text.len()]);
    let pieces: Vec<&str> = cuts.iter().zip(ends).map(|(&a, b)| &text[a..b]).collect();
    let mut phases = Vec::new();
    for (part, rest) in parts(&pieces, structs_are_tables, threads)? {
        phases.extend(part);
        for (key, value) in rest {
            if root.get_ref().contains_key(key.get_ref().as_ref()) {
                return None;
            }
            root.get_mut().insert(key, value);
        }
    }
    if !structs_are_tables(root.get_ref()) {
        return None;
    }
    let mut plan = Plan::deserialize(toml::de::Deserializer::from(root)).ok()?;
    plan.phases = phases;
    Some(plan)
}

/// The pieces read in runs of about equal size, a thread each (the first on this thread), in
/// the pieces' order; `None` when any piece needs the whole-file parse.
fn parts<'a>(
    pieces: &[&'a str],
    structs_are_tables: fn(&DeTable<'_>) -> bool,
    threads: usize,
) -> Option<Vec<Part<'a>>> {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let share = total.div_ceil(threads.clamp(1, pieces.len().max(1)));
    let mut runs: Vec<&[&'a str]> = Vec::new();
    let (mut from, mut size) = (0, 0);
    for (i, piece) in pieces.iter().enumerate() {
        size += piece.len();
        if size >= share || i + 1 == pieces.len() {
            runs.push(&pieces[from..=i]);
            (from, size) = (i + 1, 0);
        }
    }
    let read = |run: &[&'a str]| read_run(run, structs_are_tables);
    let Some((mine, others)) = runs.split_first() else {
        return Some(Vec::new());
    };
    if others.is_empty() {
        return Some(vec![read(mine)?]);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (others.iter())
            .map(|run| scope.spawn(move || read(run)))
            .collect();
        let mut all = vec![read(mine)];
        all.extend(handles.into_iter().map(|h| h.join().ok().flatten()));
        all.into_iter().collect()
    })
}

/// One run of consecutive pieces parsed in turn (so the parser's buffers are reused), or
/// `None` when one of them needs the whole-file parse.
fn read_run<'a>(run: &[&'a str], structs_are_tables: fn(&DeTable<'_>) -> bool) -> Option<Part<'a>> {
    let (mut phases, mut rest) = (Vec::new(), Vec::new());
    for text in run {
        let mut piece = DeTable::parse(text).ok()?.into_inner();
        if !structs_are_tables(&piece) {
            return None;
        }
        let value = piece.remove("phase")?;
        phases.extend(Vec::<Phase>::deserialize(ValueDeserializer::from(value)).ok()?);
        rest.extend(piece);
    }
    Some((phases, rest))
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
