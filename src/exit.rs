//! The process exit codes, one named constant each; the README documents the same table.

/// Applied and every gate passed (or a read-only command succeeded).
pub const OK: u8 = 0;
/// A gate failed; the target was rolled back.
pub const GATE_FAILED: u8 = 1;
/// The plan or the command line is invalid; nothing was run.
pub const INVALID: u8 = 2;
/// `apply --dry-run --detailed-exitcode`: applying would change the target (Terraform's code;
/// like Terraform's, it is the number of an error too, so a script tells them by the output).
pub const CHANGES_PENDING: u8 = 2;
/// A step failed; the target was rolled back.
pub const STEP_FAILED: u8 = 3;
/// Rollback itself failed; the journal is kept and the message says what to do.
pub const ROLLBACK_FAILED: u8 = 4;
/// Rollback stopped before overwriting a path that changed since planrun wrote it (drift);
/// nothing of that path was touched, and `--force` restores it after keeping a copy.
pub const DRIFT: u8 = 5;
/// The target is locked by another planrun process; nothing was done.
pub const LOCKED: u8 = 6;
/// A gate could not be settled within the runs' budget (its interval straddles the threshold)
/// and does not say `on_inconclusive = "keep"`; the target was rolled back.
pub const INCONCLUSIVE: u8 = 7;
/// The baseline, measured before any change, was red: no test ran, pytest could not collect,
/// no test passed, or tests failed that were not declared known; whatever ran before it was
/// rolled back and nothing of the plan's changes was made.
pub const BASELINE_RED: u8 = 8;
/// `apply --stage` was refused: the previous stage's `promote` criteria do not hold yet over its
/// history; nothing ran. Not a failure: CI reads it as a neutral result (the workflow `planrun ci
/// github` writes turns it into a notice), so the first runs of a rollout do not go red.
pub const NOT_PROMOTED: u8 = 9;
/// Interrupted (SIGINT/SIGTERM); the target was rolled back.
pub const INTERRUPTED: u8 = 130;
