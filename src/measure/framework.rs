//! How a suite's results are read: the measuring layer's vocabulary, which the plan language
//! names in `framework = "..."` (so plans import it from here, never the other way).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a suite's results are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// pytest: planrun adds `--junitxml` and reads per-test outcomes and durations.
    #[default]
    Pytest,
    /// Any command: only wall time, CPU, memory and the exit status are recorded.
    Command,
}
