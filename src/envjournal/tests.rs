//! The environment journal on real venvs: one made by `python -m venv` (pip inside) and one made
//! by uv (no pip), each changed by a real install and restored offline.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::process::Control;
use crate::pyenv::{self, PythonEnv};

/// uv from where planrun looks, else the one of the integration tests' shared venv, else a
/// venv of the unit tests' own (`target/unit-uv`) with the uv that tests/requirements.txt pins,
/// made once: on a clean clone the unit tests run before the integration tests build theirs.
pub(crate) fn test_uv() -> PathBuf {
    static UNIT_UV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(uv) = pyenv::find_uv(None) {
        return uv;
    }
    let shared = root.join("target/test-venv/bin/uv");
    if shared.is_file() {
        return shared;
    }
    UNIT_UV
        .get_or_init(|| {
            let venv = root.join("target/unit-uv");
            let uv = venv.join("bin/uv");
            if !uv.is_file() {
                let pinned = fs::read_to_string(root.join("tests/requirements.txt"))
                    .unwrap()
                    .lines()
                    .find(|l| l.starts_with("uv=="))
                    .expect("tests/requirements.txt pins uv")
                    .to_string();
                sh(Command::new("python3").args(["-m", "venv"]).arg(&venv));
                sh(Command::new(venv.join("bin/python"))
                    .args(["-m", "pip", "install", "-q", &pinned]));
            }
            uv
        })
        .clone()
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A uv venv (no pip) with `packages` installed.
pub(crate) fn uv_venv(dir: &Path, packages: &[&str]) -> PythonEnv {
    let uv = test_uv();
    sh(Command::new(&uv).args(["venv", "-q"]).arg(dir));
    let env = PythonEnv::locate(&dir.join("bin/python")).unwrap();
    let env = PythonEnv {
        uv: Some(uv.clone()),
        ..env
    };
    if !packages.is_empty() {
        sh(Command::new(&uv)
            .args(["pip", "install", "-q", "--python"])
            .arg(&env.python)
            .args(packages));
    }
    env
}

/// Mode and content hash of every file and symlink under `root`, less `__pycache__`.
pub(crate) fn hash_tree(root: &Path) -> BTreeMap<PathBuf, (u32, String)> {
    let mut files = std::collections::BTreeSet::new();
    distinfo::walk_files(root, &mut files);
    files
        .into_iter()
        .filter(|p| !manifest::is_cache(p))
        .map(|p| {
            let meta = fs::symlink_metadata(&p).unwrap();
            let bytes = if meta.file_type().is_symlink() {
                fs::read_link(&p)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(&p).unwrap()
            };
            let hash = blake3::hash(&bytes).to_hex().to_string();
            (p, (meta.permissions().mode(), hash))
        })
        .collect()
}

struct Applied {
    dir: PathBuf,
    hash: String,
    identity: EnvIdentity,
}

/// What planrun's install step does: predict, snapshot, install, seal.
fn apply(env: &PythonEnv, journal: &Path, packages: &[&str]) -> (Applied, Affected) {
    let packages: Vec<String> = packages.iter().map(|s| s.to_string()).collect();
    let venv = env.venv.clone().unwrap();
    let layout = EnvLayout::of_venv(&venv).unwrap();
    let identity = EnvIdentity::of(&venv, &env.python).unwrap();
    let control = Control::default();
    let affected = predict(
        env,
        &packages,
        &distinfo::installed(&layout.site_packages),
        &control,
        None,
    )
    .unwrap();
    let dir = journal.join("env-1");
    let summary = take(&dir, &layout, &identity, &affected).unwrap();
    env.install(&packages, &control).unwrap();
    seal(&dir).unwrap();
    (
        Applied {
            dir,
            hash: summary.manifest_hash,
            identity,
        },
        affected,
    )
}

fn offline_freeze(venv: &Path) -> Vec<String> {
    let layout = EnvLayout::of_venv(venv).unwrap();
    distinfo::freeze(&distinfo::installed(&layout.site_packages))
}

#[test]
fn uv_venv_without_pip_is_restored_byte_for_byte_and_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    let env = uv_venv(&venv, &["iniconfig==2.0.0"]);
    assert!(!pyenv::has_pip(&env.python, &Control::default()));
    let (before, freeze) = (hash_tree(&venv), offline_freeze(&venv));
    let (a, affected) = apply(&env, tmp.path(), &["iniconfig==2.1.0", "six==1.16.0"]);
    assert_eq!(affected.replaced, vec!["iniconfig"]);
    assert_eq!(affected.added, vec!["iniconfig==2.1.0", "six==1.16.0"]);
    assert_ne!(hash_tree(&venv), before);
    // Python writes caches between the install and the rollback.
    sh(Command::new(&env.python).args(["-c", "import six, iniconfig"]));
    let report = restore(&a.dir, &a.hash, &a.identity, false).unwrap();
    assert_eq!(hash_tree(&venv), before);
    assert_eq!(offline_freeze(&venv), freeze);
    assert_eq!(report.removed, vec!["iniconfig==2.1.0", "six==1.16.0"]);
    assert_eq!(report.restored, vec!["iniconfig==2.0.0"]);
    assert!(
        report.files_deleted > 0 && report.files_written > 0,
        "{report:?}"
    );
    let again = restore(&a.dir, &a.hash, &a.identity, false).unwrap();
    assert_eq!((again.files_deleted, again.files_written), (0, 0));
    assert_eq!(hash_tree(&venv), before);
}

#[test]
fn pip_venv_is_restored_with_pip_as_the_installer() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    sh(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let env = PythonEnv {
        uv: None,
        ..PythonEnv::locate(&venv.join("bin/python")).unwrap()
    };
    assert!(pyenv::has_pip(&env.python, &Control::default()));
    sh(Command::new(test_uv())
        .args(["pip", "install", "-q", "--python"])
        .arg(&env.python)
        .arg("six==1.16.0"));
    let (before, freeze) = (hash_tree(&venv), offline_freeze(&venv));
    let (a, affected) = apply(&env, tmp.path(), &["six==1.17.0", "iniconfig==2.0.0"]);
    assert_eq!(affected.replaced, vec!["six"]);
    restore(&a.dir, &a.hash, &a.identity, false).unwrap();
    assert_eq!(hash_tree(&venv), before);
    assert_eq!(offline_freeze(&venv), freeze);
}

#[test]
fn drift_after_the_install_is_left_alone_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    // Installed with uv already, so uv's `.lock` is part of the env before the apply.
    let env = uv_venv(&venv, &["iniconfig==2.0.0"]);
    let before = hash_tree(&venv);
    let (a, _) = apply(&env, tmp.path(), &["six==1.16.0"]);
    let layout = EnvLayout::of_venv(&venv).unwrap();
    let six = layout.site_packages[0].join("six.py");
    fs::write(&six, "# edited by a person\n").unwrap();
    let err = restore(&a.dir, &a.hash, &a.identity, false).unwrap_err();
    let EnvJournalError::Drift { paths } = &err else {
        panic!("{err}");
    };
    assert_eq!(paths, &vec![six.clone()]);
    assert_eq!(fs::read_to_string(&six).unwrap(), "# edited by a person\n");
    restore(&a.dir, &a.hash, &a.identity, true).unwrap();
    assert_eq!(hash_tree(&venv), before);
}

#[test]
fn a_tampered_manifest_or_copy_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    let env = uv_venv(&venv, &["six==1.16.0"]);
    let (a, _) = apply(&env, tmp.path(), &["six==1.17.0"]);
    let err = restore(&a.dir, &"0".repeat(64), &a.identity, false).unwrap_err();
    assert!(matches!(err, EnvJournalError::ManifestMismatch(_)), "{err}");
    for entry in fs::read_dir(a.dir.join(manifest::FILES)).unwrap() {
        fs::write(entry.unwrap().path(), "garbage").unwrap();
    }
    let err = restore(&a.dir, &a.hash, &a.identity, false).unwrap_err();
    assert!(matches!(err, EnvJournalError::CopyDamaged { .. }), "{err}");
}

#[test]
fn a_killed_install_and_a_killed_restore_are_both_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    let env = uv_venv(&venv, &["six==1.16.0"]);
    let before = hash_tree(&venv);
    let layout = EnvLayout::of_venv(&venv).unwrap();
    let identity = EnvIdentity::of(&venv, &env.python).unwrap();
    let affected = Affected {
        replaced: vec!["six".into()],
        added: vec!["six==1.17.0".into()],
    };
    let dir = tmp.path().join("env-1");
    let summary = take(&dir, &layout, &identity, &affected).unwrap();
    // The install died half-way: no seal, the old files gone, some new ones in place.
    let site = &layout.site_packages[0];
    fs::remove_dir_all(site.join("six-1.16.0.dist-info")).unwrap();
    fs::write(site.join("six.py"), "half").unwrap();
    fs::create_dir(site.join("six-1.17.0.dist-info")).unwrap();
    // A restore died after writing one temporary file.
    fs::write(site.join(".six.py.planrun-tmp"), "x").unwrap();
    restore(&dir, &summary.manifest_hash, &identity, false).unwrap();
    assert_eq!(hash_tree(&venv), before);
}

#[test]
fn a_file_changed_without_a_copy_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    let env = uv_venv(&venv, &["six==1.16.0"]);
    let (a, _) = apply(&env, tmp.path(), &["iniconfig==2.0.0"]);
    // Without after.json (a killed install) every change counts as the install's.
    fs::remove_file(a.dir.join(manifest::AFTER)).unwrap();
    let activate = venv.join("bin/activate");
    fs::write(&activate, "changed").unwrap();
    let err = restore(&a.dir, &a.hash, &a.identity, false).unwrap_err();
    assert!(err.to_string().contains("bin/activate"), "{err}");
    assert!(matches!(err, EnvJournalError::NoCopy { .. }));
}

#[test]
fn an_interpreter_outside_a_venv_is_laid_out_by_sysconfig() {
    let layout = EnvLayout::of_interpreter(Path::new("python3")).unwrap();
    assert!(!layout.site_packages.is_empty(), "{layout:?}");
    assert!(layout
        .site_packages
        .iter()
        .all(|s| layout.roots.iter().any(|r| s.starts_with(r))));
    let venv = tempfile::tempdir().unwrap();
    uv_venv(&venv.path().join("v"), &[]);
    let layout = EnvLayout::of_venv(&venv.path().join("v")).unwrap();
    assert_eq!(layout.roots, vec![layout.root.clone()]);
    assert!(layout.site_packages[0].ends_with("site-packages"));
}
