//! The journal's costs: journaling one edit against the edit's own write, rolling back 3 edits
//! in a 100,000-file tree against a 100-file one (by the library call and by `planrun
//! rollback`), and previewing a plan that edits 1,000 files against applying it.

use std::path::Path;
use std::time::Instant;

use planrun::fsutil::write_atomic;
use planrun::journal::record::Journal;
use planrun::journal::replay::rollback_latest;
use planrun::journal::state::{RunMeta, Status};

use crate::measure::{self, Ctx, Res};
use crate::plans;
use crate::row::{Figure, Row};
use crate::support::{planrun, tempdir, write};
use crate::validate::group;
use crate::Config;

fn meta() -> RunMeta {
    RunMeta {
        plan: "bench".into(),
        plan_path: "bench.toml".into(),
        plan_hash: String::new(),
    }
}

/// Journals one edit of a distinct 10 KB file per sample (the before-image, MAC'd and
/// fsynced), then makes the edit with the atomic write planrun uses.
pub fn edit(cfg: &Config) -> Res<Vec<Row>> {
    let samples = if cfg.quick { 50 } else { 200 };
    let dir = tempdir()?;
    let content = vec![b'x'; 10 * 1024];
    for i in 0..samples {
        write(&dir.path().join(format!("f{i}.py")), &content)?;
    }
    // SAFETY: sync(2) has no preconditions; it keeps the files' writeback out of the timings.
    unsafe { libc::sync() };
    let journal = Journal::begin(dir.path(), meta()).ctx("begin a journal")?;
    let (mut record, mut edit) = (Vec::new(), Vec::new());
    for i in 0..samples {
        let rel = format!("f{i}.py");
        let start = Instant::now();
        let abs = journal
            .record_file(Path::new(&rel))
            .ctx("journal an edit")?;
        record.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        write_atomic(&abs, b"edited", None).ctx("edit")?;
        edit.push(start.elapsed().as_secs_f64());
    }
    let row = Row::new(
        "journal an edit: before-image of a 10 KB file, MAC'd and fsynced",
        Figure::ms(&record),
    )
    .peer("the edit's own atomic write", Figure::ms(&edit));
    let median = row.median();
    Ok(vec![row.target("< 5 ms", median < 5.0)])
}

/// Journals 3 edits (one modify, one create, one delete), then times their rollback.
fn rollback_three(root: &Path) -> Res<f64> {
    let journal = Journal::begin(root, meta()).ctx("begin a journal")?;
    let a = journal.record_file(Path::new("a.py")).ctx("journal")?;
    write_atomic(&a, b"FLAG = 1\n", None).ctx("edit")?;
    let new = journal
        .record_file(Path::new("pytest.ini"))
        .ctx("journal")?;
    write_atomic(&new, b"[pytest]\n", None).ctx("create")?;
    let gone = journal
        .record_file(Path::new("d000/m0.py"))
        .ctx("journal")?;
    std::fs::remove_file(gone).ctx("delete")?;
    journal.set_status(Status::Applied).ctx("set the status")?;
    let start = Instant::now();
    rollback_latest(root, Default::default())
        .ctx("roll back")?
        .ok_or("no run to roll back")?;
    Ok(start.elapsed().as_secs_f64())
}

pub fn rollback(cfg: &Config) -> Res<Vec<Row>> {
    let root = tempdir()?;
    let (small, big) = (root.path().join("small"), root.path().join("big"));
    // --quick builds a tenth of the tree: on a shared disk 100,000 files take minutes to make.
    let files = if cfg.quick { 10_000 } else { 100_000 };
    let start = Instant::now();
    plans::tree(&small, 100)?;
    plans::tree(&big, files)?;
    eprint!("(trees built in {:.1} s) ", start.elapsed().as_secs_f64());
    let reps = if cfg.quick { 10 } else { 25 };
    let (mut s, mut b) = (Vec::new(), Vec::new());
    // Interleaved, so that disk noise from other programs falls on both alike.
    for _ in 0..reps {
        s.push(rollback_three(&small)?);
        b.push(rollback_three(&big)?);
    }
    let row = Row::new(
        format!(
            "rollback of 3 edits in a {}-file tree (library call)",
            group(files)
        ),
        Figure::ms(&b),
    )
    .peer("100-file tree", Figure::ms(&s));
    let median = row.median();
    let mut rows = vec![row.target("< 10 ms whatever the tree size", median < 10.0)];

    let plan = root.path().join("three.toml");
    write(&plan, plans::replaces(["a.py", "b.py", "c.py"].into_iter()))?;
    let reps = if cfg.quick { 3 } else { 10 };
    let (mut s, mut b) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        for (target, into) in [(&small, &mut s), (&big, &mut b)] {
            let mut apply = planrun(&["apply"]);
            apply.arg(&plan).arg("--target").arg(target);
            measure::run(&mut apply)?;
            let mut rollback = planrun(&["rollback", "--target"]);
            rollback.arg(target);
            into.push(measure::run(&mut rollback)?.wall);
        }
    }
    rows.push(
        Row::new(
            format!(
                "`planrun rollback` of a 3-edit apply, {}-file tree (whole process)",
                group(files)
            ),
            Figure::ms(&b),
        )
        .peer("100-file tree", Figure::ms(&s)),
    );
    Ok(rows)
}

/// `apply --dry-run` of a plan of 1,000 `replace` steps on 1,000 files, against validating the
/// same plan (what a preview costs beyond reading the plan); the full run also applies it for
/// real, to show what each journaled edit costs inside an apply.
pub fn dry_run(cfg: &Config) -> Res<Vec<Row>> {
    const FILES: usize = 1_000;
    let root = tempdir()?;
    let target = root.path().join("target");
    let names: Vec<String> = (0..FILES).map(|i| format!("pkg/m{i:04}.py")).collect();
    for name in &names {
        write(&target.join(name), "VALUE = 0\n")?;
    }
    let plan = root.path().join("edits.toml");
    write(&plan, plans::replaces(names.iter().map(String::as_str)))?;
    let reps = if cfg.quick { 3 } else { 10 };
    let (mut preview, mut validate) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let mut cmd = planrun(&["apply", "--dry-run"]);
        cmd.arg(&plan).arg("--target").arg(&target);
        preview.push(measure::run(&mut cmd)?.wall);
        let mut cmd = planrun(&["validate"]);
        cmd.arg(&plan);
        validate.push(measure::run(&mut cmd)?.wall);
    }
    let mut rows = vec![Row::new(
        "dry-run: preview of a plan editing 1,000 files (every diff printed)",
        Figure::ms(&preview),
    )
    .peer("`planrun validate` of the same plan", Figure::ms(&validate))];
    if cfg.quick {
        return Ok(rows);
    }
    let mut per_edit = Vec::new();
    for _ in 0..3 {
        let mut cmd = planrun(&["apply"]);
        cmd.arg(&plan).arg("--target").arg(&target);
        per_edit.push(measure::run(&mut cmd)?.wall / FILES as f64);
        let mut cmd = planrun(&["rollback", "--target"]);
        cmd.arg(&target);
        measure::run(&mut cmd)?;
    }
    rows.push(Row::new(
        "journal: that plan applied, per edit (journaled, written, after-image recorded)",
        Figure::ms(&per_edit),
    ));
    Ok(rows)
}
