//! The `shards` of a suite step, checked: a count from 1 to [`MAX_SHARDS`] or `"matrix"`, on a
//! pytest suite without coverage (each shard would measure a part of the lines).

use super::locate::Loc;
use super::model::{self, Framework, IntOrVar};
use super::resolve::Problem;
use crate::measure::shard::{Shards, MAX_SHARDS};

/// The step's shards (`None` without the field), or the problem with them at `place`.
pub fn compile(s: &model::SuiteStep, place: Loc) -> Result<Option<Shards>, Box<Problem>> {
    let shards = match &s.shards {
        None => return Ok(None),
        Some(IntOrVar::Int(n)) if (1..=MAX_SHARDS).contains(n) => Shards::Count(*n),
        Some(IntOrVar::Var(v)) if v == model::MATRIX => Shards::Matrix,
        Some(IntOrVar::Int(n)) => {
            return Err(Box::new(Problem::new(
                place,
                format!("`shards = {n}` in step `{}` is more than {MAX_SHARDS}", s.id),
                format!("write `shards` from 1 to {MAX_SHARDS}, or `\"matrix\"` for as many as `--shard i/N` says"),
            )))
        }
        Some(IntOrVar::Var(v)) => {
            return Err(Box::new(Problem::new(
                place,
                format!("`shards` in step `{}` is `{v}`, not a number", s.id),
                format!("write `shards` from 1 to {MAX_SHARDS}, or `\"matrix\"` for as many as `--shard i/N` says"),
            )))
        }
    };
    if s.framework == Framework::Command {
        return Err(Box::new(Problem::new(
            place,
            format!("`shards` in step `{}` needs a pytest suite: planrun splits the tests pytest collects, and `framework = \"command\"` has none", s.id),
            "remove `shards`, or measure the suite with pytest",
        )));
    }
    if s.coverage {
        return Err(Box::new(Problem::new(
            place,
            format!("`shards` in step `{}` cannot be combined with `coverage = true`: each shard would measure only the lines its own tests reach", s.id),
            "measure coverage in a suite step of its own without `shards`",
        )));
    }
    Ok(Some(shards))
}
