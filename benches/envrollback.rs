//! Environment rollback cost: undoing an install of pytest-xdist (with execnet) into an
//! existing venv, offline, by the file-level journal, next to the reinstall-by-freeze approach
//! it replaced (freeze, uninstall what is new, `uv pip install --no-deps` what changed, freeze).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use planrun::envjournal::{self, distinfo, EnvIdentity, EnvLayout};
use planrun::process::Control;
use planrun::pyenv::{self, PythonEnv};

const SAMPLES: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn uv() -> PathBuf {
    pyenv::find_uv(None)
        .or_else(|| {
            let uv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/uv");
            uv.is_file().then_some(uv)
        })
        .expect("uv: run `cargo test --test integration support::` once to build target/test-venv")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn uv_pip(env: &PythonEnv, verb: &str, args: &[String]) -> String {
    run(Command::new(env.uv.as_ref().expect("uv"))
        .args(["pip", verb, "-q", "--python"])
        .arg(&env.python)
        .args(args)
        .env("UV_OFFLINE", "1"))
}

fn freeze(env: &PythonEnv) -> Vec<String> {
    let mut lines: Vec<String> = uv_pip(env, "freeze", &[])
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// The old rollback: diff the freezes by name, uninstall what is new, reinstall what changed.
fn reinstall_by_freeze(env: &PythonEnv, before: &[String]) {
    let name = |l: &String| l.split("==").next().unwrap_or(l).to_string();
    let now = freeze(env);
    let new: Vec<String> = now
        .iter()
        .filter(|l| !before.iter().any(|b| name(b) == name(l)))
        .map(name)
        .collect();
    let changed: Vec<String> = before
        .iter()
        .filter(|b| !now.contains(b))
        .cloned()
        .collect();
    if !new.is_empty() {
        uv_pip(env, "uninstall", &new);
    }
    if !changed.is_empty() {
        let mut args = vec!["--no-deps".to_string()];
        args.extend(changed);
        uv_pip(env, "install", &args);
    }
    assert_eq!(freeze(env), before);
}

/// The old rollback driven by pip (its fallback when uv was missing): freeze, uninstall the
/// new distributions, freeze again.
fn reinstall_by_freeze_pip(python: &Path, before: &[String]) {
    let pip = |args: &[&str]| {
        run(Command::new(python)
            .args(["-m", "pip"])
            .args(args)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"))
    };
    let freeze = || {
        let mut lines: Vec<String> = pip(&["freeze", "--all"])
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let name = |l: &String| l.split("==").next().unwrap_or(l).to_string();
    let now = freeze();
    let new: Vec<String> = now
        .iter()
        .filter(|l| !before.iter().any(|b| name(b) == name(l)))
        .map(name)
        .collect();
    let mut args = vec!["uninstall", "-y", "-q"];
    args.extend(new.iter().map(String::as_str));
    pip(&args);
    assert_eq!(freeze(), before);
}

/// The same comparison on a `python -m venv` venv, where the old rollback used pip.
fn pip_venv_comparison(tmp: &Path, uv: &Path, packages: &[String]) -> (Duration, Duration) {
    let venv = tmp.join("pip-venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let python = venv.join("bin/python");
    let with_uv = PythonEnv {
        uv: Some(uv.to_path_buf()),
        ..PythonEnv::locate(&python).expect("venv")
    };
    with_uv
        .install(&["pytest".to_string()], &Control::default())
        .expect("install pytest");
    let freeze_all = || {
        let mut lines: Vec<String> =
            run(Command::new(&python).args(["-m", "pip", "freeze", "--all"]))
                .lines()
                .map(str::to_string)
                .collect();
        lines.sort();
        lines
    };
    let before = freeze_all();
    let layout = EnvLayout::of_venv(&venv).expect("layout");
    let identity = EnvIdentity::of(&venv, &python).expect("identity");
    let (mut new, mut old) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let installed = distinfo::installed(&layout.site_packages);
        let affected = envjournal::predict(&with_uv, packages, &installed, &Control::default())
            .expect("predict");
        let dir = tmp.join(format!("pip-env-{i}"));
        let summary = envjournal::take(&dir, &layout, &identity, &affected).expect("snapshot");
        with_uv
            .install(packages, &Control::default())
            .expect("install");
        envjournal::seal(&dir).expect("seal");
        let start = Instant::now();
        envjournal::restore(&dir, &summary.manifest_hash, &identity, false).expect("restore");
        new.push(start.elapsed());
        assert_eq!(freeze_all(), before);
        with_uv
            .install(packages, &Control::default())
            .expect("install");
        let start = Instant::now();
        reinstall_by_freeze_pip(&python, &before);
        old.push(start.elapsed());
    }
    (median(new), median(old))
}

fn main() {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/uv-cache");
    // Set before any thread starts; every uv below shares the warm cache.
    std::env::set_var("UV_CACHE_DIR", &cache);
    let tmp = tempfile::tempdir().expect("temp dir");
    let venv = tmp.path().join("venv");
    let uv = uv();
    run(Command::new(&uv).args(["venv", "-q"]).arg(&venv));
    let env = PythonEnv {
        uv: Some(uv.clone()),
        ..PythonEnv::locate(&venv.join("bin/python")).expect("venv")
    };
    env.install(&["pytest".to_string()], &Control::default())
        .expect("install pytest");
    let packages = vec!["pytest-xdist".to_string()];
    let before = freeze(&env);
    let layout = EnvLayout::of_venv(&venv).expect("layout");
    let identity = EnvIdentity::of(&venv, &env.python).expect("identity");

    let (mut snap, mut new, mut old) = (Vec::new(), Vec::new(), Vec::new());
    let mut files = 0;
    for i in 0..SAMPLES {
        let installed = distinfo::installed(&layout.site_packages);
        let affected =
            envjournal::predict(&env, &packages, &installed, &Control::default()).expect("predict");
        assert!(
            affected.added.iter().any(|a| a.starts_with("execnet==")),
            "{affected:?}"
        );
        let dir = tmp.path().join(format!("env-{i}"));
        let start = Instant::now();
        let summary = envjournal::take(&dir, &layout, &identity, &affected).expect("snapshot");
        snap.push(start.elapsed());
        env.install(&packages, &Control::default())
            .expect("install");
        envjournal::seal(&dir).expect("seal");
        let start = Instant::now();
        let report =
            envjournal::restore(&dir, &summary.manifest_hash, &identity, false).expect("restore");
        new.push(start.elapsed());
        files = report.files_deleted;
        assert_eq!(freeze(&env), before);

        env.install(&packages, &Control::default())
            .expect("install");
        let start = Instant::now();
        reinstall_by_freeze(&env, &before);
        old.push(start.elapsed());
    }
    let (snap, new, old) = (median(snap), median(new), median(old));
    println!(
        "snapshot before installing pytest-xdist: {} median",
        ms(snap)
    );
    println!(
        "rollback of pytest-xdist + execnet, file-level, offline: {} median ({files} entries deleted; target < 1 s)",
        ms(new)
    );
    println!(
        "rollback by reinstall-from-freeze (uv, offline, warm cache): {} median",
        ms(old)
    );
    println!(
        "ratio file-level / reinstall: {:.1}% (target < 5%)",
        100.0 * new.as_secs_f64() / old.as_secs_f64()
    );
    let (new_pip, old_pip) = pip_venv_comparison(tmp.path(), &uv, &packages);
    println!(
        "pip venv: file-level {} vs reinstall-from-freeze with pip {} median: {:.1}%",
        ms(new_pip),
        ms(old_pip),
        100.0 * new_pip.as_secs_f64() / old_pip.as_secs_f64()
    );
}
