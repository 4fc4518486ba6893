//! Switching a target between two states for interleaved measurement (the journal's
//! `Switcher`): the persistence demo's change (the `tests/conftest.py` its plan writes) and an
//! install of pytest-xdist (+ execnet) into an existing venv, each switched to the before state
//! and back, the journal's two durable notes per switch included.

use std::path::Path;
use std::process::Command;

use planrun::envjournal::{self, distinfo, EnvLayout};
use planrun::journal::record::Journal;
use planrun::journal::state::RunMeta;
use planrun::journal::switch::State;
use planrun::process::Control;
use planrun::pyenv::PythonEnv;

use crate::measure::{self, Ctx, Res};
use crate::row::{Figure, Row};
use crate::support::{self, tempdir};
use crate::Config;

fn meta() -> RunMeta {
    RunMeta {
        plan: "bench".into(),
        plan_path: "bench.toml".into(),
        plan_hash: String::new(),
    }
}

/// Times `samples` switches each way; both directions count as one switch each.
fn time_switches(journal: &Journal, mark: u32, samples: usize) -> Res<Vec<f64>> {
    let mut sw = journal
        .switcher(mark)
        .ctx("prepare the switch")?
        .map_err(|why| format!("not switchable: {why}"))?;
    let mut took = Vec::new();
    for _ in 0..samples {
        for to in [State::Before, State::After] {
            took.push(sw.switch(to).ctx("switch")?.took.as_secs_f64());
        }
    }
    sw.finish().ctx("finish")?;
    Ok(took)
}

/// The persistence demo with its plan's `tests/conftest.py` written after the mark.
fn persistence(samples: usize) -> Res<Vec<f64>> {
    let tmp = tempdir()?;
    let target = tmp.path().join("demo");
    let src = support::repo_root().join("examples/persistence-demo");
    let copied = Command::new("cp").arg("-r").arg(&src).arg(&target).status();
    if !copied.is_ok_and(|s| s.success()) {
        return Err(format!("copy {}", src.display()));
    }
    let template = support::repo_root().join("plans/templates/persistence/conftest.py");
    let text = measure::read(&template)?;
    let journal = Journal::begin(&target, meta()).ctx("begin a journal")?;
    let mark = journal.last_seq();
    journal
        .write_file(Path::new("tests/conftest.py"), text.as_bytes(), None)
        .ctx("write the conftest")?;
    journal.seal_files().ctx("seal")?;
    time_switches(&journal, mark, samples)
}

/// A uv venv with pytest, into which pytest-xdist is installed after the mark.
fn xdist(samples: usize) -> Res<Vec<f64>> {
    let tmp = tempdir()?;
    let target = tmp.path().join("project");
    std::fs::create_dir_all(&target).ctx("create the target")?;
    let venv = target.join(".venv");
    let uv = support::venv::tools_venv().join("bin/uv");
    measure::run_any(Command::new(&uv).args(["venv", "-q"]).arg(&venv))?;
    let env = PythonEnv {
        uv: Some(uv),
        ..PythonEnv::locate(&venv.join("bin/python")).ctx("locate the venv")?
    };
    env.install(&["pytest".to_string()], &Control::default())
        .ctx("install pytest")?;
    let journal = Journal::begin(&target, meta()).ctx("begin a journal")?;
    let mark = journal.last_seq();
    let packages = vec!["pytest-xdist".to_string()];
    let layout = EnvLayout::of_venv(&venv).ctx("venv layout")?;
    let installed = distinfo::installed(&layout.site_packages);
    let affected = envjournal::predict(&env, &packages, &installed, &Control::default(), None)
        .ctx("predict the install")?;
    journal
        .record_env(&env, false, &affected)
        .ctx("journal the environment")?;
    env.install(&packages, &Control::default())
        .ctx("install pytest-xdist")?;
    journal.seal_env(&env).ctx("seal")?;
    time_switches(&journal, mark, samples)
}

pub fn rows(cfg: &Config) -> Res<Vec<Row>> {
    let samples = if cfg.quick { 5 } else { 20 };
    let mut rows = Vec::new();
    for (what, took) in [
        (
            "switch the persistence demo's change (tests/conftest.py), one way",
            persistence(samples)?,
        ),
        (
            "switch an install of pytest-xdist (+ execnet) in a venv, one way",
            xdist(samples)?,
        ),
    ] {
        let row = Row::new(what, Figure::ms(&took));
        let median = row.median();
        rows.push(row.target("< 100 ms", median < 100.0));
    }
    Ok(rows)
}
