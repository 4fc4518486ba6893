//! report.html in a real browser: the persistence plan applied to its demo, its report opened by
//! headless Chromium (Debian's `chromium`, installed when missing and this runs as root) and
//! rendered to a PNG, with no console message and a data point for every test and every run.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::browser::{console_messages, Browser};
use crate::support::{exclusive as heavy, plan, Project};

/// The browser, or `None` after saying loudly why the browser checks are skipped.
fn browser() -> Option<Browser> {
    match Browser::find() {
        Ok(b) => Some(b),
        Err(why) => {
            // Straight to the file descriptor: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the browser checks of report.html: {why}"
            );
            None
        }
    }
}

/// The one run directory under `.planrun/runs/` of `project`.
fn only_run(project: &Project) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(project.join(".planrun/runs"))
        .expect("the runs directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// The ids of the tests both records timed.
fn shared_tests(report: &Value, before: &str, after: &str) -> usize {
    let ids = |name: &str| {
        report["records"][name]["durations"]
            .as_object()
            .unwrap_or_else(|| panic!("durations of {name}"))
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
    };
    ids(before).intersection(&ids(after)).count()
}

/// The `<svg>` element of `dom` whose `aria-label` starts with `label`.
fn svg_labelled<'a>(dom: &'a str, label: &str) -> &'a str {
    let at = dom
        .find(&format!("aria-label=\"{label}"))
        .unwrap_or_else(|| panic!("no chart labelled {label:?}"));
    let start = dom[..at].rfind("<svg").expect("its <svg");
    let end = dom[start..].find("</svg>").expect("its </svg>") + start;
    &dom[start..end]
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

#[test]
fn the_report_of_a_real_apply_renders_in_chromium_with_every_test_drawn() {
    let _heavy = heavy();
    let project = Project::new("persistence-demo");
    let args: Vec<OsString> = vec![
        "apply".into(),
        plan("persistence-demo.toml").into(),
        "--target".into(),
        project.path().into(),
        // Two runs a side, no warmup: boxes to draw, in half the time of the defaults.
        "--var".into(),
        "runs=2".into(),
        "--var".into(),
        "warmup=0".into(),
    ];
    project
        .test()
        .args(args)
        // A busy machine may leave the speed gate inconclusive: the report is written either way.
        .status_in(&[0, 7])
        .stderr_unchecked("a real apply's timings vary; its report is checked instead")
        .run();
    let run = only_run(&project);
    let html_path = run.join("report.html");
    let html = std::fs::read_to_string(&html_path).expect("report.html beside report.json");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();

    // One file, nothing fetched, nothing run.
    for banned in ["<script", "<link", "<img", "@import", "url(", "src=\"http"] {
        assert!(!html.contains(banned), "{banned} in report.html");
    }
    // The diff the apply made, and the steps' logs linked beside the report.
    assert!(html.contains("<summary><code>tests/conftest.py</code></summary><pre class=\"diff\">"));
    assert!(html.contains("<a href=\"logs/"), "step logs are linked");
    let linked = html
        .split("<a href=\"logs/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(
        run.join("logs").join(linked).is_file(),
        "logs/{linked} exists"
    );
    // `planrun report --format html` renders the same page.
    let run_id = run.file_name().unwrap().to_string_lossy().into_owned();
    let again = project
        .test()
        .args([
            OsString::from("report"),
            run_id.into(),
            "--format".into(),
            "html".into(),
            "--target".into(),
            project.path().into(),
        ])
        .stdout_unchecked("the page, compared with report.html below")
        .run();
    let (a, b) = (again.stdout.trim_end(), html.trim_end());
    if a != b {
        let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let around = |t: &str| {
            let (mut from, mut to) = (at.saturating_sub(200), (at + 200).min(t.len()));
            while !t.is_char_boundary(from) {
                from -= 1;
            }
            while !t.is_char_boundary(to) {
                to += 1;
            }
            t[from..to].to_string()
        };
        panic!(
            "`report --format html` differs from report.html at byte {at}:\n{}\n---\n{}",
            around(a),
            around(b)
        );
    }

    let Some(browser) = browser() else { return };
    let png = run.join("report.png");
    let shot = browser
        .screenshot(&html_path, &png, (1280, 2000))
        .expect("chromium renders report.html");
    assert_eq!(
        console_messages(&shot.stderr),
        Vec::<String>::new(),
        "console"
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(png_size(&bytes), (1280, 2000));
    assert!(
        bytes.len() > 50_000,
        "a page with charts, not a blank one: {} bytes",
        bytes.len()
    );

    // The DOM as the browser built it: every test a point, every run a dot and a memory line.
    let visit = browser
        .dump_dom(&html_path)
        .expect("chromium loads report.html");
    assert_eq!(
        console_messages(&visit.stderr),
        Vec::<String>::new(),
        "console"
    );
    let dom = &visit.stdout;
    for after in ["after", "leakcheck"] {
        let scatter = svg_labelled(
            dom,
            &format!("per-test median time, {after} against baseline"),
        );
        let tests = shared_tests(&report, "baseline", after);
        assert!(tests >= 80, "the demo's tests: {tests}");
        assert!(scatter.contains(&format!("data-tests=\"{tests}\"")));
        assert_eq!(
            scatter.matches("<circle class=\"pt ").count(),
            tests,
            "{after}"
        );
    }
    let runs: usize = ["baseline", "after", "leakcheck"]
        .iter()
        .map(|r| report["records"][r]["samples"].as_array().unwrap().len())
        .sum();
    let strip = svg_labelled(dom, "runs of each record");
    assert_eq!(strip.matches("<circle class=\"run ").count(), runs);
    assert!(
        strip.contains("(wall time, log scale)"),
        "18 s against under 1 s reads on a log scale"
    );
    let memory_lines = dom.matches("<polyline class=\"mem ").count();
    assert_eq!(memory_lines, runs, "a memory line per run");
    // Gates with their verdicts and the speed gate's interval.
    assert!(dom.matches("<tr><td><span class=\"badge ").count() >= 6);
    assert!(
        dom.contains("<svg class=\"chart interval\" viewBox=\"0 0 240 30\" width=\"240\" height=\"30\" role=\"img\" aria-label=\"after/baseline wall.median: "),
        "the speed gate's interval is drawn"
    );
}

/// The console check is not vacuous: under the report's policy a page that loads from the
/// network, and one with a script, both log console messages; a plain page logs none.
#[test]
fn the_console_check_sees_blocked_loads_and_errors() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = |name: &str, body: &str| -> PathBuf {
        let path = dir.path().join(name);
        let policy = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">";
        std::fs::write(
            &path,
            format!("<!DOCTYPE html><html><head>{policy}</head><body>{body}</body></html>"),
        )
        .unwrap();
        path
    };
    let fetches = page("fetch.html", "<img src=\"https://example.invalid/x.png\">");
    let messages = console_messages(&browser.dump_dom(&fetches).unwrap().stderr);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("Content Security Policy")),
        "{messages:?}"
    );
    let runs = page("script.html", "<script>throw new Error('no')</script>");
    let messages = console_messages(&browser.dump_dom(&runs).unwrap().stderr);
    assert!(
        messages.iter().any(|m| m.contains("inline script")),
        "{messages:?}"
    );
    let clean = page("clean.html", "<p>fine</p>");
    assert!(console_messages(&browser.dump_dom(&clean).unwrap().stderr).is_empty());
}
