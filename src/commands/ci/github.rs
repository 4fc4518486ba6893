//! The GitHub Actions workflow for a plan, as text: a job per rollout stage (one job for a plan
//! without stages) over a matrix of Python versions, each installing the project as it documents
//! it, installing a pinned planrun with pipx, applying with the history the actions cache
//! carries, and keeping what a run leaves behind (report, patch, pull request). Pure: values in,
//! YAML out, so the command, its tests and the example cannot disagree.

use std::fmt::Write as _;

use super::github_shards as shards;
use super::install::Tool;
pub use super::workflow::Spec;
use super::workflow::{apply_command, indented, jobs, python_list, Job, ON_RUNNER, PATCH_SCRIPT};

/// The workflow's text.
pub fn render(spec: &Spec) -> String {
    let mut out = header(spec);
    let jobs = jobs(spec);
    for job in &jobs {
        out.push('\n');
        out.push_str(&job_text(spec, job));
    }
    if let (Some(n), Some(last)) = (spec.shards, jobs.last()) {
        out.push_str(&shards::merge_job(
            n,
            &last.id,
            &python_list(spec),
            super::workflow::install_planrun(spec),
        ));
    }
    out
}

fn header(spec: &Spec) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "# Written by `{}` (planrun {}); copy it to .github/workflows/planrun.yml.",
        spec.command, spec.version
    );
    h.push_str(
        "# Write it again rather than editing it. A run that keeps the plan's change uploads it as\n\
         # a patch (artifact planrun-patch-*); a stage that is not promoted yet is a notice, not a\n\
         # failure (planrun's exit 9). A failed gate rolls the change back and fails the job.\n",
    );
    if spec.shards_on_runner {
        h.push_str(ON_RUNNER);
    }
    let _ = writeln!(h, "name: \"planrun {}\"", spec.plan_name);
    h.push_str("\non:\n  push:\n    branches: [main]\n  pull_request:\n  workflow_dispatch:\n");
    let mut inputs = String::new();
    if !spec.stages.is_empty() {
        inputs.push_str(
            "      force:\n        description: \"Enter the stages even where promotion does not hold (recorded as forced)\"\n        type: boolean\n        default: false\n",
        );
    }
    if spec.pull_request {
        inputs.push_str(
            "      open_pr:\n        description: \"Open a pull request with the change when the plan keeps it\"\n        type: boolean\n        default: false\n",
        );
    }
    if !inputs.is_empty() {
        h.push_str("    inputs:\n");
        h.push_str(&inputs);
    }
    h.push_str(
        "\n# One apply at a time per branch: the history is appended in order.\n\
         concurrency:\n  group: planrun-${{ github.ref }}\n  cancel-in-progress: false\n\n\
         permissions:\n  contents: read\n\n\
         defaults:\n  run:\n    shell: bash\n\n",
    );
    h.push_str("env:\n");
    let _ = writeln!(h, "  PLAN: {}", spec.plan_path);
    let _ = writeln!(h, "  PLANRUN_VERSION: \"{}\"", spec.version);
    h.push_str(&super::workflow::from_variable(spec, "  "));
    h.push_str(
        "  HISTORY: .planrun-history/history.jsonl\n\
         \x20 # planrun signs each history line with its key; a fresh runner has none, so the key comes\n\
         \x20 # from a secret (64 hex digits, `openssl rand -hex 32`) and every job reads the others'\n\
         \x20 # lines. A fork's pull request gets no secrets: its lines are not signed and promote nothing.\n\
         \x20 PLANRUN_KEY: ${{ secrets.PLANRUN_KEY }}\n",
    );
    h.push_str("\njobs:");
    h
}

fn job_text(spec: &Spec, job: &Job) -> String {
    let mut j = String::new();
    let _ = writeln!(j, "  {}:", job.id);
    let _ = writeln!(j, "    name: \"{}\"", job.name.replace('"', "'"));
    if let Some(needs) = &job.needs {
        let _ = writeln!(j, "    needs: {needs}");
    }
    j.push_str("    runs-on: ubuntu-latest\n    timeout-minutes: 60\n");
    if spec.pull_request && job.last {
        j.push_str(
            "    permissions:\n      contents: write # to push the pull request's branch\n      pull-requests: write\n",
        );
    }
    let _ = writeln!(
        j,
        "    strategy:\n      fail-fast: false\n      matrix:\n        python: [{}]",
        python_list(spec)
    );
    if let Some(n) = spec.shards {
        j.push_str(&shards::axis(n));
    }
    j.push_str("    steps:\n      - uses: actions/checkout@v4\n");
    j.push_str(
        "      - uses: actions/setup-python@v5\n        with:\n          python-version: ${{ matrix.python }}\n",
    );
    if spec.install.tool == Tool::Uv {
        j.push_str("      - uses: astral-sh/setup-uv@v6\n");
    }
    install_steps(&mut j, spec);
    history_steps(&mut j, spec, job);
    if spec.shards.is_some() {
        shards::restore_durations(&mut j);
    }
    apply_step(&mut j, spec, job);
    after_steps(&mut j, spec, job);
    j
}

fn install_steps(j: &mut String, spec: &Spec) {
    let _ = writeln!(
        j,
        "      - name: Install the project and its test dependencies\n        # {}",
        spec.install.why
    );
    match spec.install.tool {
        Tool::Uv => j.push_str("        env:\n          UV_PYTHON: ${{ matrix.python }}\n"),
        Tool::Poetry => j.push_str(
            "        env:\n          POETRY_VIRTUALENVS_PREFER_ACTIVE_PYTHON: \"true\"\n",
        ),
        Tool::Pip => {}
    }
    j.push_str("        run: |\n");
    if spec.install.tool == Tool::Poetry {
        j.push_str("          pipx install poetry\n");
    }
    for line in &spec.install.commands {
        let _ = writeln!(j, "          {line}");
    }
    let _ = writeln!(
        j,
        "      - name: Install planrun ${{{{ env.PLANRUN_VERSION }}}}\n        run: {}",
        super::workflow::install_planrun(spec)
    );
}

/// The cache key of a job's history: unique per run attempt (a cache entry is written once),
/// found again by prefix from the same run (the previous stage) and then from the branch.
fn history_key(spec: &Spec, job: &Job) -> (String, String, String) {
    let branch = "planrun-history-${{ github.ref_name }}-py${{ matrix.python }}-";
    let run = format!("{branch}${{{{ github.run_id }}}}-");
    let mut key = format!("{run}${{{{ github.run_attempt }}}}-{}", job.id);
    if spec.shards.is_some() {
        key.push_str("-shard${{ matrix.shard }}");
    }
    (key, run, branch.to_string())
}

fn history_steps(j: &mut String, spec: &Spec, job: &Job) {
    let (key, run, branch) = history_key(spec, job);
    let _ = writeln!(
        j,
        "      - name: Restore the run history\n        uses: actions/cache/restore@v4\n        with:\n          path: .planrun-history\n          key: {key}\n          restore-keys: |\n            {run}\n            {branch}"
    );
}

fn apply_step(j: &mut String, spec: &Spec, job: &Job) {
    let what = job.stage.map_or_else(
        || format!("Apply {}", spec.plan_name),
        |s| format!("Apply stage {s}"),
    );
    let _ = writeln!(j, "      - name: {what}\n        id: apply");
    if job.stage.is_some() {
        j.push_str("        env:\n          FORCE: ${{ inputs.force && '--force' || '' }}\n");
    }
    let lint = if job.stage.is_some() {
        "          # shellcheck disable=SC2086 # FORCE is empty or one word\n"
    } else {
        ""
    };
    let neutral = job.stage.map_or_else(String::new, |s| {
        format!(
            "            9) # Not promoted yet: nothing ran, nothing failed.\n               echo \"::notice title=planrun::stage {s} is not promoted yet; nothing ran (exit 9)\"\n               echo \"kept=false\" >> \"$GITHUB_OUTPUT\" ;;\n"
        )
    });
    let _ = write!(
        j,
        "        run: |\n\
         \x20         mkdir -p .planrun-history\n\
         \x20         code=0\n\
         {lint}\
         \x20         {} || code=$?\n\
         \x20         case \"$code\" in\n\
         \x20           0) echo \"kept=true\" >> \"$GITHUB_OUTPUT\" ;;\n\
         {neutral}\
         \x20           *) echo \"kept=false\" >> \"$GITHUB_OUTPUT\"\n\
         \x20              exit \"$code\" ;;\n\
         \x20         esac\n",
        apply_command(spec, job, spec.shards.map(shards::arg))
    );
}

fn after_steps(j: &mut String, spec: &Spec, job: &Job) {
    let (key, _, _) = history_key(spec, job);
    let mut suffix = format!("{}-py${{{{ matrix.python }}}}", job.id);
    if spec.shards.is_some() {
        suffix.push_str("-shard${{ matrix.shard }}");
    }
    let _ = writeln!(
        j,
        "      - name: Save the run history\n        if: always()\n        uses: actions/cache/save@v4\n        with:\n          path: .planrun-history\n          key: {key}"
    );
    let _ = writeln!(
        j,
        "      - name: Upload the report\n        if: always()\n        uses: actions/upload-artifact@v4\n        with:\n          name: planrun-report-{suffix}\n          path: planrun-report/\n          if-no-files-found: warn"
    );
    // A shard job decides nothing: the merge does, and its change is every job's alike.
    if spec.shards.is_some() {
        return;
    }
    j.push_str(
        "      - name: Make a patch of the kept change\n        if: steps.apply.outputs.kept == 'true'\n        run: |\n",
    );
    j.push_str(&indented(PATCH_SCRIPT, "          "));
    let _ = writeln!(
        j,
        "      - name: Upload the patch\n        if: steps.apply.outputs.kept == 'true'\n        uses: actions/upload-artifact@v4\n        with:\n          name: planrun-patch-{suffix}\n          path: planrun.patch\n          if-no-files-found: ignore"
    );
    if spec.pull_request && job.last {
        pull_request_step(j, spec, job);
    }
}

fn pull_request_step(j: &mut String, spec: &Spec, job: &Job) {
    // One pull request per run: from the matrix's first Python when it has several.
    let first = if spec.pythons.len() > 1 {
        format!(" && matrix.python == '{}'", spec.pythons[0])
    } else {
        String::new()
    };
    let _ = write!(
        j,
        "      - name: Open a pull request with the change\n\
         \x20       if: steps.apply.outputs.kept == 'true' && inputs.open_pr{first}\n\
         \x20       env:\n\
         \x20         GH_TOKEN: ${{{{ github.token }}}}\n\
         \x20         BRANCH: planrun/{id}-${{{{ github.run_id }}}}-py${{{{ matrix.python }}}}\n\
         \x20       run: |\n\
         \x20         if [ ! -s planrun.patch ]; then echo \"nothing to propose\"; exit 0; fi\n\
         \x20         mapfile -t changed < planrun-changed.txt\n\
         \x20         git switch -c \"$BRANCH\"\n\
         \x20         git add --all -- \"${{changed[@]}}\"\n\
         \x20         git -c user.name=\"github-actions[bot]\" -c user.email=\"41898282+github-actions[bot]@users.noreply.github.com\" \\\n\
         \x20           commit --quiet -m \"planrun: apply $PLAN\" -m \"Kept by planrun: every gate passed (see the job's summary).\"\n\
         \x20         git push --quiet origin \"$BRANCH\"\n\
         \x20         gh pr create --head \"$BRANCH\" --title \"planrun: apply $PLAN\" --body-file planrun-report/summary.md\n",
        id = job.id
    );
}
