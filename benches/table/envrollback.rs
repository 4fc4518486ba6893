//! Environment rollback: undoing an install of pytest-xdist (with execnet) into an existing
//! venv, offline, by the file-level journal, against the reinstall-by-freeze approach it
//! replaced (freeze, uninstall what is new, reinstall what changed, freeze), with uv and with
//! pip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use planrun::envjournal::{self, distinfo, EnvIdentity, EnvLayout};
use planrun::process::Control;
use planrun::pyenv::PythonEnv;

use crate::measure::{self, Ctx, Res};
use crate::row::{Figure, Row};
use crate::support::{self, tempdir};
use crate::Config;

fn uv() -> PathBuf {
    support::venv::tools_venv().join("bin/uv")
}

/// `cmd`'s stdout, or an error with its output.
fn output(cmd: &mut Command) -> Res<String> {
    let (timed, out) = measure::run_any(cmd)?;
    if timed.code != 0 {
        return Err(format!(
            "{cmd:?} exited {}:\n{}",
            timed.code,
            measure::tail(&out, 10)
        ));
    }
    Ok(out)
}

fn uv_pip(env: &PythonEnv, verb: &str, args: &[String]) -> Res<String> {
    output(
        Command::new(uv())
            .args(["pip", verb, "-q", "--python"])
            .arg(&env.python)
            .args(args)
            .env("UV_OFFLINE", "1"),
    )
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn name(line: &str) -> String {
    line.split("==").next().unwrap_or(line).to_string()
}

/// The names in `now` that `before` lacks.
fn new_names(before: &[String], now: &[String]) -> Vec<String> {
    now.iter()
        .filter(|l| !before.iter().any(|b| name(b) == name(l)))
        .map(|l| name(l))
        .collect()
}

/// The old rollback with uv: diff the freezes by name, uninstall what is new, reinstall what
/// changed, and check the freeze is back.
fn reinstall_by_freeze_uv(env: &PythonEnv, before: &[String]) -> Res<()> {
    let now = sorted_lines(&uv_pip(env, "freeze", &[])?);
    let new = new_names(before, &now);
    let changed: Vec<String> = before
        .iter()
        .filter(|b| !now.contains(b))
        .cloned()
        .collect();
    if !new.is_empty() {
        uv_pip(env, "uninstall", &new)?;
    }
    if !changed.is_empty() {
        let mut args = vec!["--no-deps".to_string()];
        args.extend(changed);
        uv_pip(env, "install", &args)?;
    }
    same(before, &sorted_lines(&uv_pip(env, "freeze", &[])?))
}

fn pip(python: &Path, args: &[&str]) -> Res<String> {
    output(
        Command::new(python)
            .args(["-m", "pip"])
            .args(args)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    )
}

/// The old rollback driven by pip (its fallback when uv was missing).
fn reinstall_by_freeze_pip(python: &Path, before: &[String]) -> Res<()> {
    let now = sorted_lines(&pip(python, &["freeze", "--all"])?);
    let new = new_names(before, &now);
    let mut args = vec!["uninstall", "-y", "-q"];
    args.extend(new.iter().map(String::as_str));
    pip(python, &args)?;
    same(before, &sorted_lines(&pip(python, &["freeze", "--all"])?))
}

fn same(before: &[String], now: &[String]) -> Res<()> {
    if before == now {
        Ok(())
    } else {
        Err(format!("the venv is not as it was: {before:?} vs {now:?}"))
    }
}

/// Times (snapshot, file-level restore, reinstall-by-freeze) over `samples` installs of
/// pytest-xdist into the venv of `env`.
fn compare(
    tmp: &Path,
    label: &str,
    env: &PythonEnv,
    venv: &Path,
    samples: usize,
    freeze: &dyn Fn() -> Res<Vec<String>>,
    old_way: &dyn Fn(&[String]) -> Res<()>,
) -> Res<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let packages = vec!["pytest-xdist".to_string()];
    let before = freeze()?;
    let layout = EnvLayout::of_venv(venv).ctx("venv layout")?;
    let identity = EnvIdentity::of(venv, &env.python).ctx("venv identity")?;
    let (mut snap, mut new, mut old) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..samples {
        let installed = distinfo::installed(&layout.site_packages);
        let affected = envjournal::predict(env, &packages, &installed, &Control::default(), None)
            .ctx("predict the install")?;
        if !affected.added.iter().any(|a| a.starts_with("execnet==")) {
            return Err(format!("the install should add execnet: {affected:?}"));
        }
        let dir = tmp.join(format!("{label}-snapshot-{i}"));
        let start = Instant::now();
        let summary =
            envjournal::take(&dir, &layout, &identity, &affected).ctx("take the snapshot")?;
        snap.push(start.elapsed().as_secs_f64());
        env.install(&packages, &Control::default()).ctx("install")?;
        envjournal::seal(&dir).ctx("seal the snapshot")?;
        let start = Instant::now();
        envjournal::restore(&dir, &summary.manifest_hash, &identity, false).ctx("restore")?;
        new.push(start.elapsed().as_secs_f64());
        same(&before, &freeze()?)?;

        env.install(&packages, &Control::default()).ctx("install")?;
        let start = Instant::now();
        old_way(&before)?;
        old.push(start.elapsed().as_secs_f64());
    }
    Ok((snap, new, old))
}

pub fn rows(cfg: &Config) -> Res<Vec<Row>> {
    let tmp = tempdir()?;
    let samples = if cfg.quick { 3 } else { 5 };
    let what = "env rollback: undo an install of pytest-xdist (+ execnet), offline, file-level";

    let venv = tmp.path().join("uv-venv");
    output(Command::new(uv()).args(["venv", "-q"]).arg(&venv))?;
    let env = PythonEnv {
        uv: Some(uv()),
        ..PythonEnv::locate(&venv.join("bin/python")).ctx("locate the venv")?
    };
    env.install(&["pytest".to_string()], &Control::default())
        .ctx("install pytest")?;
    let freeze = || Ok(sorted_lines(&uv_pip(&env, "freeze", &[])?));
    let old_way = |before: &[String]| reinstall_by_freeze_uv(&env, before);
    let (snap, new, old) = compare(tmp.path(), "uv", &env, &venv, samples, &freeze, &old_way)?;
    let row = Row::new(format!("{what}, uv venv"), Figure::ms(&new))
        .peer("reinstall-by-freeze with uv, warm cache", Figure::ms(&old));
    let median = row.median();
    let mut rows = vec![
        row.target("< 1 s", median < 1000.0),
        Row::new(
            "env snapshot before that install (uv venv)",
            Figure::ms(&snap),
        ),
    ];
    if cfg.quick {
        rows.push(Row::skipped(
            format!("{what}, pip venv"),
            "skipped in --quick",
        ));
        return Ok(rows);
    }
    let venv = tmp.path().join("pip-venv");
    output(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    let python = venv.join("bin/python");
    let env = PythonEnv {
        uv: Some(uv()),
        ..PythonEnv::locate(&python).ctx("locate the venv")?
    };
    env.install(&["pytest".to_string()], &Control::default())
        .ctx("install pytest")?;
    let freeze = || Ok(sorted_lines(&pip(&python, &["freeze", "--all"])?));
    let old_way = |before: &[String]| reinstall_by_freeze_pip(&python, before);
    let (_, new, old) = compare(tmp.path(), "pip", &env, &venv, samples, &freeze, &old_way)?;
    let row = Row::new(format!("{what}, `python -m venv` venv"), Figure::ms(&new))
        .peer("reinstall-by-freeze with pip", Figure::ms(&old));
    let median = row.median();
    rows.push(row.target("< 1 s", median < 1000.0));
    Ok(rows)
}
