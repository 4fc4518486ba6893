//! The shard matrix of a workflow for a plan whose suites have `shards`: each apply job runs
//! one shard (`--shard i/N`, gates deferred) with the durations the last merge saved, and a
//! `merge` job joins their reports, decides the plan's gates on the whole suite and saves the
//! durations for the next run's balance. Pure text, like [`super::github`].

use std::fmt::Write as _;

/// The matrix axis of the shards: `shard: [1, 2, ..., n]`.
pub fn axis(n: u32) -> String {
    let all: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    format!("        shard: [{}]\n", all.join(", "))
}

/// The apply's argument for the job's shard.
pub fn arg(n: u32) -> String {
    format!("--shard ${{{{ matrix.shard }}}}/{n}")
}

/// The cache entry of the durations file, saved by the merge and restored by every shard
/// job of a later run (a key is written once: the run and its attempt make it new).
fn durations_key() -> (String, String) {
    let branch = "planrun-durations-${{ github.ref_name }}-py${{ matrix.python }}-";
    (
        format!("{branch}${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"),
        branch.to_string(),
    )
}

/// The step restoring `.test_durations` before a shard job balances: every job of a run
/// restores the same entry, so they agree on the shards.
pub fn restore_durations(j: &mut String) {
    let (key, branch) = durations_key();
    let _ = writeln!(
        j,
        "      - name: Restore the test durations the last merge saved\n        uses: actions/cache/restore@v4\n        with:\n          path: .test_durations\n          key: {key}\n          restore-keys: |\n            {branch}"
    );
}

/// The job that joins the shard jobs' reports (artifacts `planrun-report-<job>-py<v>-shard<i>`).
pub fn merge_job(n: u32, job: &str, pythons: &str, install: &str) -> String {
    let (key, _) = durations_key();
    let mut j = String::new();
    let _ = write!(
        j,
        "\n  merge:\n\
         \x20   name: \"planrun merge of {n} shards\"\n\
         \x20   needs: {job}\n\
         \x20   if: always()\n\
         \x20   runs-on: ubuntu-latest\n\
         \x20   timeout-minutes: 15\n\
         \x20   strategy:\n      fail-fast: false\n      matrix:\n        python: [{pythons}]\n\
         \x20   steps:\n\
         \x20     - uses: actions/checkout@v4\n\
         \x20     - uses: actions/setup-python@v5\n        with:\n          python-version: ${{{{ matrix.python }}}}\n\
         \x20     - name: Install planrun ${{{{ env.PLANRUN_VERSION }}}}\n        run: {install}\n\
         \x20     - name: Download the shards' reports\n\
         \x20       uses: actions/download-artifact@v4\n\
         \x20       with:\n\
         \x20         pattern: planrun-report-{job}-py${{{{ matrix.python }}}}-shard*\n\
         \x20         path: planrun-shards\n\
         \x20     - name: Merge the shards and decide the gates\n\
         \x20       run: |\n\
         \x20         # Wall = the slowest shard, CPU summed, every test exactly once; exit 1 on a failed gate.\n\
         \x20         planrun report merge planrun-shards/*/ --plan \"$PLAN\" --durations .test_durations -o planrun-merged.json\n\
         \x20     - name: Save the test durations for the next run's balance\n\
         \x20       if: always() && hashFiles('.test_durations') != ''\n\
         \x20       uses: actions/cache/save@v4\n\
         \x20       with:\n\
         \x20         path: .test_durations\n\
         \x20         key: {key}\n\
         \x20     - name: Upload the merged report\n\
         \x20       if: always()\n\
         \x20       uses: actions/upload-artifact@v4\n\
         \x20       with:\n\
         \x20         name: planrun-merged-py${{{{ matrix.python }}}}\n\
         \x20         path: |\n\
         \x20           planrun-merged.json\n\
         \x20           .test_durations\n\
         \x20         if-no-files-found: warn\n"
    );
    j
}
