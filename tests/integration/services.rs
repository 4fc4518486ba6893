//! The `service` action with a stand-in server (a shell loop): its variables, what the steps
//! that need it see, its log, how it is stopped at the end of an apply, one that never gets
//! ready, and the dry run. PostgreSQL itself is in `backend.rs`.

use std::fs;
use std::path::Path;

use crate::support::mini;
use crate::support::{lines, Project};

/// A server that writes its pid and `up` into its directory, and exits once `halt` appears
/// there (what its stop command does); `client` needs it, `loner` does not.
const PLAN: &str = r#"name = "svc"
description = "A service for the steps that need it."
[vars]
ready = "up"
ready_timeout = "1m"
[[phase]]
id = "p"
  [[phase.step]]
  id = "web"
  action = "service"
  command = "echo serving on ${service.web.port}; echo $$ > ${service.web.dir}/pid; touch ${service.web.dir}/up; while [ ! -e ${service.web.dir}/halt ]; do sleep 0.05; done; echo halted"
  ready = "test -e ${service.web.dir}/${ready}"
  ready_timeout = "${ready_timeout}"
  stop = "touch ${service.web.dir}/halt"
  export = { WEB_URL = "http://127.0.0.1:${service.web.port}", WEB_DIR = "${service.web.dir}" }
  [[phase.step]]
  id = "client"
  needs = ["web"]
  action = "run"
  command = "echo \"$WEB_URL\" > client.txt; cp \"$WEB_DIR/pid\" pid.txt"
  [[phase.step]]
  id = "loner"
  action = "run"
  command = "echo \"[$${WEB_URL:-unset}]\" > loner.txt"
"#;

fn plan_file(dir: &Path) -> String {
    let plan = dir.join("plan.toml");
    fs::write(&plan, PLAN).unwrap();
    plan.display().to_string()
}

/// Whether a process `pid` is alive (a zombie is not).
fn alive(pid: &str) -> bool {
    let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    !stat.is_empty()
        && !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
}

#[test]
fn steps_that_need_a_service_get_its_exports_and_it_is_stopped_at_the_end() {
    let project = mini();
    let plans = tempfile::tempdir().unwrap();
    let out = project
        .test()
        .args(["apply", &plan_file(plans.path()), "--target", "."])
        // stderr: the service's port varies, and `loner` may finish before or after it.
        .apply_progress(
            "svc",
            "applied in [DURATION]: 0/0 gates passed, 0 files changed (+0 -0); exit 0",
        )
        .stderr_contains("▶ web service\n")
        .stderr_contains("✓ web [DURATION]  ready after [DURATION] (port ")
        .stderr_contains("); gives WEB_DIR, WEB_URL to the steps that need it\n")
        .stderr_contains("✓ client [DURATION]\n")
        .stderr_contains("■ web stopped by its stop command in [DURATION]\n")
        .run();
    let url = project.read("client.txt");
    let port: u16 = url
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{url:?}"));
    assert!(
        out.stderr.contains(&format!("(port {port})")),
        "{}",
        out.stderr
    );
    assert_eq!(project.read("loner.txt"), "[unset]\n");
    let pid = project.read("pid.txt");
    assert!(!alive(&pid), "the service (pid {pid}) outlived the apply");
    let report = project.read(".planrun/runs/".to_string() + &run_id(&project) + "/report.json");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let dir = report["vars"]["service.web.dir"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!Path::new(&dir).exists(), "{dir} was left behind");
    let web = &report["steps"][0];
    assert_eq!(web["id"], "web");
    let message = web["message"].as_str().unwrap();
    assert!(
        message.contains("; stopped by its stop command in "),
        "{message}"
    );
    let log = project.read(web["log"].as_str().unwrap());
    assert_eq!(log, format!("serving on {port}\nhalted\n"));
    // The port and directory picked for the service are not inputs of the plan: the same
    // plan is already applied, though the next apply would pick others.
    project
        .test()
        .args([
            "apply",
            &plans.path().join("plan.toml").display().to_string(),
        ])
        .args(["--target", "."])
        .stdout_contains("plan `svc` is already applied to [TARGET] (run [RUN], [TIME])")
        .stderr_contains("`--reapply` runs it again on top")
        .run();
}

/// The id of the only run in the project.
fn run_id(project: &Project) -> String {
    let mut runs: Vec<String> = fs::read_dir(project.join(".planrun/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.remove(0)
}

#[test]
fn a_service_that_never_gets_ready_fails_its_step_and_is_stopped() {
    let project = mini();
    let plans = tempfile::tempdir().unwrap();
    project
        .test()
        .args(["apply", &plan_file(plans.path()), "--target", "."])
        .args(["--var", "ready=never", "--var", "ready_timeout=2s"])
        .status(3)
        // stderr: `loner` runs beside the service, and its output is checked below.
        .stderr_contains("▶ web service\n")
        .stderr_contains("✗ web [DURATION]  service `web`: it was not ready after 2s\n")
        .stderr_contains("  | serving on ")
        .stderr_contains("  | halted\n")
        .stderr_contains("✗ step `web` failed; rolling back\n")
        .run();
    assert!(
        !project.join("client.txt").exists(),
        "a step that needs it ran"
    );
    let report = project.read(".planrun/runs/".to_string() + &run_id(&project) + "/report.json");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let dir = report["vars"]["service.web.dir"].as_str().unwrap();
    assert!(!Path::new(dir).exists(), "{dir} was left behind");
}

#[test]
fn the_dry_run_shows_a_service_and_what_it_gives_the_steps_that_need_it() {
    let project = mini();
    let plans = tempfile::tempdir().unwrap();
    project
        .test()
        .args(["apply", &plan_file(plans.path()), "--target", ".", "--dry-run"])
        .args(["--var", "service.web.port=5999", "--var", "service.web.dir=/srv/web"])
        .stdout(lines(&[
            "plan       svc ([TMP]/plan.toml)",
            "target     [TARGET]",
            "phases     p",
            "",
            "phase p",
            "  step web (service)",
            "    $ echo serving on 5999; echo $$ > /srv/web/pid; touch /srv/web/up; while [ ! -e /srv/web/halt ]; do sleep 0.05; done; echo halted  (service: runs until the apply ends)",
            "    ready when: $ test -e /srv/web/up  (tried every [DURATION], up to 1m)",
            "    stopped by: $ touch /srv/web/halt",
            "    gives the steps that need it: WEB_DIR=/srv/web",
            "    gives the steps that need it: WEB_URL=http://127.0.0.1:5999",
            "  step client (run)",
            "    $ echo \"$WEB_URL\" > client.txt; cp \"$WEB_DIR/pid\" pid.txt",
            "  step loner (run)",
            "    $ echo \"[${WEB_URL:-unset}]\" > loner.txt",
            "",
            "plan: 0 files to change, 0 packages to install, 2 commands, 0 timed suites, 1 service, 0 gates",
        ]))
        .run();
}

#[test]
fn an_interrupted_apply_stops_its_service_before_rolling_back() {
    let project = mini();
    let plans = tempfile::tempdir().unwrap();
    let plan = PLAN.replace(
        "command = \"echo \\\"$WEB_URL\\\" > client.txt; cp \\\"$WEB_DIR/pid\\\" pid.txt\"",
        "command = \"cp \\\"$WEB_DIR/pid\\\" pid.txt; sleep 60\"",
    );
    assert_ne!(plan, PLAN);
    fs::write(plans.path().join("plan.toml"), plan).unwrap();
    let path = plans.path().join("plan.toml").display().to_string();
    let running = project
        .test()
        .args(["apply", &path, "--target", "."])
        .status(130)
        // stderr: `loner` may finish before or after the service is ready.
        .stderr_contains("■ web stopped by its stop command in [DURATION]\n")
        .stderr_contains("✗ interrupted by a signal; rolling back\n")
        .spawn();
    let pid_file = project.join("pid.txt");
    let started = std::time::Instant::now();
    while !fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n')) {
        assert!(started.elapsed().as_secs() < 60, "the client never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = project.read("pid.txt");
    running.signal(libc::SIGINT);
    running.wait();
    assert!(!alive(&pid), "the service (pid {pid}) outlived the apply");
    // What the client wrote is moved out of the target by the rollback, not lost.
    assert!(!pid_file.exists());
    let runs: Vec<_> = fs::read_dir(project.join(".planrun/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        fs::read_to_string(runs[0].join("leftovers/pid.txt")).unwrap(),
        pid
    );
}
