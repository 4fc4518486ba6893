//! The heavy end-to-end tests: whole demo plans with their real suites timed, PostgreSQL, headless
//! Chromium, planrun's wheel built with maturin and the generated CI workflow run job by job,
//! `planrun suggest` profiling real suites, interleaved measurements beside busy loops. They
//! take most of the suite's time, so plain `cargo test` leaves them out; `cargo test --features
//! e2e` (the README's test command and `.ci/run`) runs them with the quick group.

// The harness is the integration tests' own (tests/integration/support.rs and its directory),
// compiled into this binary too: one copy of it.
#[path = "../integration"]
mod integration {
    pub mod support;
}
use integration::support;

mod backend;
mod gitlab;
mod html;
mod interleave;
mod plans;
mod rollout;
mod suggest;
mod suggest_django;
mod suggest_sdists;
mod verdicts;
mod wheel;
mod workflow;
mod workflow_lint;
mod workflow_local;
