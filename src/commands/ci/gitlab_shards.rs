//! The `parallel:` shard jobs of a GitLab pipeline for a plan whose suites have `shards`: each
//! job of the matrix runs one shard (`--shard $SHARD/N`, gates deferred) with the durations the
//! last merge cached, and keeps its report under its own directory; a `merge` job per Python
//! joins them, decides the plan's gates on the whole suite and caches the durations for the next
//! pipeline's balance. Pure text, like [`super::gitlab`].

use std::fmt::Write as _;

/// The matrix's shard axis, under the Python one: `SHARD: ["1", "2", ...]`.
pub fn axis(n: u32) -> String {
    let all: Vec<String> = (1..=n).map(|i| format!("\"{i}\"")).collect();
    format!("        SHARD: [{}]\n", all.join(", "))
}

/// The apply's argument for the job's shard.
pub fn arg(n: u32) -> String {
    format!("--shard \"$SHARD/{n}\"")
}

/// Where a shard job keeps its report: the merge job finds every shard's by this pattern.
pub const REPORTS: &str = "planrun-shards";

/// The shell lines that move the job's report to its own directory, whatever the apply did:
/// the merge job gets every job's artifacts in one tree, where one `planrun-report/` each would
/// overwrite the others.
pub fn keep_report() -> String {
    format!(
        "mkdir -p {REPORTS}\nif [ -d planrun-report ]; then mv planrun-report \"{REPORTS}/py$PYTHON-shard$SHARD\"; fi\n"
    )
}

/// The cache of `.test_durations`, read by the shard jobs (`pull`) and written by the merge.
pub fn durations_cache(policy: &str) -> String {
    format!(
        "  - key: planrun-durations-$CI_COMMIT_REF_SLUG-py$PYTHON\n\
         \x20   fallback_keys:\n\
         \x20     - planrun-durations-$CI_DEFAULT_BRANCH-py$PYTHON\n\
         \x20   paths:\n\
         \x20     - .test_durations\n\
         \x20   policy: {policy}\n\
         \x20   when: always\n"
    )
}

/// The job that joins the shard jobs' reports of its Python.
pub fn merge_job(n: u32, job: &str, pythons: &str, install: &str) -> String {
    let mut j = String::new();
    let _ = write!(
        j,
        "\n# The {n} shards joined: wall = the slowest shard, CPU summed, every test exactly once; the\n\
         # plan's gates decided on the whole suite (exit 1 on a failed gate).\n\
         merge:\n\
         \x20 stage: merge\n\
         \x20 image: python:$PYTHON\n\
         \x20 needs: [{job}]\n\
         \x20 when: always\n\
         \x20 parallel:\n    matrix:\n      - PYTHON: [{pythons}]\n\
         \x20 cache:\n"
    );
    j.push_str(&durations_cache("push"));
    let _ = write!(
        j,
        "  before_script:\n\
         \x20   - |\n\
         \x20     command -v pipx >/dev/null || python -m pip install --quiet pipx\n\
         \x20     export PATH=\"$HOME/.local/bin:$PATH\"\n\
         \x20 script:\n\
         \x20   - |\n\
         \x20     {install}\n\
         \x20   - |\n\
         \x20     planrun report merge {REPORTS}/py\"$PYTHON\"-shard*/ --plan \"$PLAN\" --durations .test_durations -o planrun-merged.json\n\
         \x20 artifacts:\n\
         \x20   name: planrun-merged-py$PYTHON\n\
         \x20   when: always\n\
         \x20   expire_in: 30 days\n\
         \x20   paths:\n\
         \x20     - planrun-merged.json\n\
         \x20     - .test_durations\n"
    );
    j
}
