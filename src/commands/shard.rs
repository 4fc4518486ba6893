//! `planrun apply --shard i/N`: the slice checked against the plan before anything runs.

use crate::error::{Error, Result};
use crate::exec::setup::Prepared;
use crate::measure::shard::{self, Slice};

/// The slice `--shard` (or `PLANRUN_SHARD`) gives, once the plan's suites agree with it: some
/// suite has `shards`, and none says a different count.
pub fn check(prep: &Prepared, text: Option<&str>) -> Result<Option<Slice>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let slice: Slice = text.parse().map_err(|e: String| {
        Error::invalid(
            format!("--shard: {e}"),
            Some("give the matrix job's shard, e.g. `--shard ${{ matrix.shard }}/4`"),
        )
    })?;
    let suites: Vec<_> = prep
        .plan
        .suites()
        .filter_map(|s| s.shards.map(|n| (s, n)))
        .collect();
    if suites.is_empty() {
        return Err(Error::invalid(
            format!(
                "--shard {slice}: no suite step of `{}` has `shards`, so every job would run every suite whole",
                prep.plan_path.display()
            ),
            Some("add `shards = \"matrix\"` (or the matrix's count) to the suite steps to split"),
        ));
    }
    for (s, n) in suites {
        shard::resolve(n, Some(slice)).map_err(|e| {
            Error::invalid(
                format!("{e} (step `{}` of `{}`)", s.id, prep.plan_path.display()),
                Some("make the matrix as large as the step's `shards`, or write `shards = \"matrix\"`"),
            )
        })?;
    }
    Ok(Some(slice))
}
