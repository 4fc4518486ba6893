//! Journal costs: journaling one edit of a 10 KB file, and rolling back 3 edits in a tree of
//! 100,000 files (which must cost the same as in a tiny tree: rollback never walks the tree).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use planrun::fsutil::write_atomic;
use planrun::journal::record::Journal;
use planrun::journal::replay::rollback_latest;
use planrun::journal::state::{RunMeta, Status};

fn meta() -> RunMeta {
    RunMeta {
        plan: "bench".into(),
        plan_path: "bench.toml".into(),
        plan_hash: String::new(),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Journals (and then writes) one edit of a distinct 10 KB file per sample.
fn journal_one_edit(samples: usize) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let content = vec![b'x'; 10 * 1024];
    for i in 0..samples {
        fs::write(dir.path().join(format!("f{i}.py")), &content).expect("write");
    }
    let journal = Journal::begin(dir.path(), meta()).expect("begin");
    let (mut record, mut both) = (Vec::new(), Vec::new());
    for i in 0..samples {
        let rel = format!("f{i}.py");
        let start = Instant::now();
        let abs = journal.record_file(Path::new(&rel)).expect("record");
        record.push(start.elapsed());
        write_atomic(&abs, b"edited", None).expect("edit");
        both.push(start.elapsed());
    }
    (median(record), median(both))
}

/// Builds `files` small files, 100 per directory.
fn build_tree(root: &Path, files: usize) {
    for d in 0..files.div_ceil(100) {
        let dir = root.join(format!("pkg{d:04}"));
        fs::create_dir(&dir).expect("mkdir");
        for f in 0..100.min(files - d * 100) {
            fs::write(dir.join(format!("mod{f:03}.py")), "x = 1\n").expect("write");
        }
    }
    fs::write(root.join("setup.cfg"), "[tool:pytest]\n").expect("write");
    // Flush the new tree now: otherwise the first fsyncs measured pay for writing it out.
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
}

/// Applies 3 edits (one modify, one create, one delete) and times their rollback.
fn rollback_three_edits(root: &Path) -> Duration {
    let journal = Journal::begin(root, meta()).expect("begin");
    let cfg = journal.record_file(Path::new("setup.cfg")).expect("record");
    write_atomic(&cfg, b"[tool:pytest]\naddopts = -n auto\n", None).expect("edit");
    let new = journal
        .record_file(Path::new("pytest.ini"))
        .expect("record");
    write_atomic(&new, b"[pytest]\n", None).expect("create");
    let gone = journal
        .record_file(Path::new("pkg0000/mod000.py"))
        .expect("record");
    fs::remove_file(gone).expect("delete");
    journal.set_status(Status::Applied).expect("status");
    let start = Instant::now();
    rollback_latest(root, Default::default())
        .expect("rollback")
        .expect("a run");
    start.elapsed()
}

fn main() {
    let (record, with_write) = journal_one_edit(200);
    println!(
        "journal one edit of a 10 KB file: {} median (with the write itself: {}; target < 5 ms)",
        ms(record),
        ms(with_write)
    );

    let small = tempfile::tempdir().expect("temp dir");
    build_tree(small.path(), 100);
    let big = tempfile::tempdir().expect("temp dir");
    let start = Instant::now();
    build_tree(big.path(), 100_000);
    eprintln!(
        "(built a 100,000-file tree in {:.1} s)",
        start.elapsed().as_secs_f64()
    );
    // Interleaved, so that disk noise from other processes falls on both alike.
    let (mut small_times, mut big_times) = (Vec::new(), Vec::new());
    for _ in 0..25 {
        small_times.push(rollback_three_edits(small.path()));
        big_times.push(rollback_three_edits(big.path()));
    }
    println!(
        "rollback of 3 edits, 100-file tree: {} median",
        ms(median(small_times))
    );
    println!(
        "rollback of 3 edits, 100,000-file tree: {} median (target < 50 ms)",
        ms(median(big_times))
    );
}
