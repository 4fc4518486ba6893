//! The Python wheel: built from this repository with maturin (`bindings = "bin"`) and zig from
//! PyPI for glibc 2.17, installed into a fresh venv with pip, and the `planrun` it puts on PATH
//! writes a bundled plan, applies a plan and rolls it back; `auditwheel show` confirms its
//! `manylinux_2_17` tag, `twine check --strict` its metadata and readme, and its binary is
//! stripped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{self, repo_root, run_ok as run, Project};

/// maturin, ziglang, twine and auditwheel from PyPI, in `target/maturin-venv`.
fn tools() -> PathBuf {
    support::cached_venv(
        "maturin-venv",
        &repo_root().join("tests/wheel-requirements.txt"),
    )
    .join("bin")
}

/// Builds the wheel into `out_dir` and returns its path, as a release is built (`--zig
/// --compatibility manylinux2014`, stripped by `[tool.maturin]`) but in the dev profile. The
/// build has a target directory of its own (`target/wheel-build`): the test binaries'
/// `target/debug/planrun` is never replaced under the tests that run it, and later builds are
/// incremental.
fn build_wheel(out_dir: &Path) -> std::path::PathBuf {
    let bin = tools();
    // The build loads both cores: suites that are timed wait for it.
    let _busy = support::busy();
    // maturin finds zig as `python3 -m ziglang` of the first python3 on PATH: the venv's.
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    run(
        Command::new(bin.join("maturin"))
            .args(["build", "--profile", "dev", "--quiet"])
            .args(["--zig", "--compatibility", "manylinux2014"])
            .env("PATH", path)
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(support::target_dir().join("wheel-build"))
            .arg("--out")
            .arg(out_dir)
            .env_remove("CARGO_TARGET_DIR"),
        "maturin build",
    );
    let wheels: Vec<_> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    wheels.into_iter().next().unwrap()
}

/// The wheel of this checkout, built once per test run into `target/wheel-dist` (the
/// workflow tests install it as `planrun==VERSION` the way the workflow does).
pub fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let dir = support::target_dir().join("wheel-dist");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        build_wheel(&dir)
    })
}

#[test]
fn the_wheel_installs_a_planrun_that_runs_plans() {
    let scratch = tempfile::tempdir().unwrap();
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("planrun-{}-py3-none-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    let venv = scratch.path().join("venv");
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--no-index", "--no-deps"])
            .arg(wheel),
        "pip install the wheel",
    );
    let planrun = venv.join("bin/planrun");
    let version = run(Command::new(&planrun).arg("--version"), "planrun --version");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.starts_with(&format!("planrun {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );

    let project = Project::fixture("targets/mini");
    let in_project = |args: &[&str], what: &str| {
        run(
            Command::new(&planrun)
                .args(args)
                .current_dir(project.path())
                .env("NO_COLOR", "1")
                .env_remove("CI")
                .env_remove("GITHUB_ACTIONS"),
            what,
        )
    };
    in_project(&["init", "xdist"], "planrun init xdist");
    assert!(project.join("ci/plans/xdist.toml").is_file());
    assert!(project.join("ci/plans/plan.schema.json").is_file());
    let listed = in_project(&["plans"], "planrun plans");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("xdist "));

    let plan = repo_root().join("tests/fixtures/apply/edits.toml");
    let plan = plan.to_str().unwrap();
    let before = project.read("app.py");
    let applied = in_project(&["apply", plan, "--target", "."], "planrun apply");
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert!(stderr.contains("applied in "), "{stderr}");
    assert_ne!(project.read("app.py"), before, "the plan edited app.py");
    in_project(&["rollback", "--target", "."], "planrun rollback");
    assert_eq!(project.read("app.py"), before, "rolled back");
}

/// What the wheel holds, read by Python's zipfile: its file names, METADATA, and the binary's
/// size and whether it still has a symbol table.
const INSPECT: &str = r#"
import json, sys, zipfile
w = zipfile.ZipFile(sys.argv[1])
names = w.namelist()
meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
binary = next(n for n in names if n.endswith("/scripts/planrun"))
data = w.read(binary)
import io
from elftools.elf.elffile import ELFFile
elf = ELFFile(io.BytesIO(data))
print(json.dumps({
    "names": names,
    "metadata": w.read(meta).decode(),
    "binary_bytes": len(data),
    "symtab": elf.get_section_by_name(".symtab") is not None,
    # `.debug_gdb_scripts` is a loaded 34-byte pointer for gdb, not debug information.
    "debug": any(s.name in (".debug_info", ".debug_line", ".debug_str") for s in elf.iter_sections()),
}))
"#;

#[test]
fn the_wheel_is_manylinux_2_17_stripped_and_its_metadata_complete() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with("-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
        "{name}"
    );
    let bin = tools();
    let shown = run(
        Command::new(bin.join("auditwheel")).arg("show").arg(wheel),
        "auditwheel show",
    );
    let shown = String::from_utf8_lossy(&shown.stdout).replace('\n', " ");
    assert!(
        shown.contains("is consistent with the following platform tag:")
            && shown.contains("\"manylinux_2_17_x86_64\""),
        "{shown}"
    );
    let checked = run(
        Command::new(bin.join("twine"))
            .args(["check", "--strict"])
            .arg(wheel),
        "twine check --strict",
    );
    assert!(String::from_utf8_lossy(&checked.stdout).contains("PASSED"));

    let out = run(
        Command::new(bin.join("python"))
            .args(["-c", INSPECT])
            .arg(wheel),
        "inspect the wheel",
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = got["binary_bytes"].as_u64().unwrap();
    eprintln!(
        "{name}: {:.1} MB; its binary {:.1} MB (dev profile)",
        std::fs::metadata(wheel).unwrap().len() as f64 / 1e6,
        bytes as f64 / 1e6
    );
    assert_eq!(got["symtab"], false, "the binary is stripped");
    assert_eq!(got["debug"], false, "no debug sections");
    let names: Vec<&str> = got["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with(".dist-info/licenses/LICENSE")),
        "{names:?}"
    );
    let meta = got["metadata"].as_str().unwrap();
    let (head, readme) = meta.split_once("\n\n").unwrap();
    for line in [
        "License-Expression: MIT",
        "License-File: LICENSE",
        "Description-Content-Type: text/markdown; charset=UTF-8; variant=GFM",
        "Project-URL: Repository, https://github.com/planrun/planrun",
        "Project-URL: Issues, https://github.com/planrun/planrun/issues",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Topic :: Software Development :: Testing",
    ] {
        assert!(
            head.lines().any(|l| l == line),
            "METADATA lacks `{line}`:\n{head}"
        );
    }
    assert!(readme.starts_with("# planrun"), "{readme}");
    assert!(
        !readme.contains("cargo run"),
        "a PyPI reader has no checkout"
    );
    let relative: Vec<&str> = readme
        .split("](")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap())
        .filter(|link| !link.starts_with("https://"))
        .collect();
    assert!(
        relative.is_empty(),
        "links PyPI cannot follow: {relative:?}"
    );
}
