//! The run's live record on disk: every event appended to `events.jsonl` as one JSON line,
//! secrets masked per line, and `report.json` rewritten at step ends no more often than its cost
//! allows. An event costs the size of its own line, never the size of the run: rewriting the whole
//! report on every event made planrun's cost per step grow with the number of steps.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::exec::events::{Event, NewRecord, RunEvent};
use crate::exec::rollback::RollbackEvent;
use crate::exec::services::LeftBehind;
use crate::report::fold::RunState;
use crate::report::model::{DiffStatReport, FileDiff, GateReport, RunStatus};
use crate::secrets::Secrets;
use crate::sinks::sink::Sink;

/// `report.json` is rewritten at a step's end only when this many times its last rewrite's cost
/// has passed since: the snapshot costs at most about a twentieth of the run's time, however
/// many steps the plan has (the event log carries every step as it ends).
const SNAPSHOT_SPACING: u32 = 20;

/// The end of a step quicker than this rewrites `report.json` only once this long has passed
/// since the last rewrite: a chain of quick steps shares one rewrite, and the quiet moment
/// after the last of them ([`Sink::idle`]) brings the snapshot up to date. A step that took
/// this long is in the snapshot at once.
const SNAPSHOT_FLOOR: Duration = Duration::from_millis(100);

/// The event log and the `report.json` snapshot of one run.
pub struct LiveReport {
    log: Option<File>,
    report: PathBuf,
    secrets: Secrets,
    /// The snapshot misses events that came since it was written.
    stale: bool,
    /// When the snapshot was last written, and what writing it took.
    last: Option<(Instant, Duration)>,
}

impl LiveReport {
    /// Appends to `run_dir/events.jsonl` and rewrites `run_dir/report.json`; an event log that
    /// cannot be opened is said in the log and left out (the final reports do not need it).
    pub fn new(run_dir: &Path, secrets: &Secrets) -> Self {
        let path = run_dir.join(crate::journal::paths::EVENTS_JSONL);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| tracing::warn!("failed to open the event log `{}`: {e}", path.display()))
            .ok();
        LiveReport {
            log,
            report: run_dir.join(crate::journal::paths::REPORT_JSON),
            secrets: secrets.clone(),
            stale: false,
            last: None,
        }
    }

    fn append(&mut self, mut line: Value) {
        let Some(log) = &mut self.log else { return };
        self.secrets.mask_json(&mut line);
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        // One write per line: a reader (or a crash) never sees half of one beside another.
        if let Err(e) = log.write_all(&bytes) {
            tracing::warn!("failed to append to the event log: {e}");
            self.log = None;
        }
    }

    /// Rewrites `report.json` from the state, masked (atomic, not fsynced: the final reports are).
    fn snapshot(&mut self, state: &RunState) {
        let t = Instant::now();
        let shown = crate::report::mask::mask_report(&state.report, &self.secrets);
        let json = crate::report::json::to_json(&shown);
        if let Err(e) = crate::fsutil::replace_unsynced(&self.report, json.as_bytes()) {
            tracing::warn!("failed to write the report: {e}");
        }
        self.stale = false;
        self.last = Some((Instant::now(), t.elapsed()));
    }

    /// Whether the snapshot's spacing since its last rewrite has passed, at the end of a step
    /// that ran for `ran`.
    fn due(&self, ran: Duration) -> bool {
        self.last.is_none_or(|(at, took)| {
            let since = at.elapsed();
            since >= took * SNAPSHOT_SPACING && (since >= SNAPSHOT_FLOOR || ran >= SNAPSHOT_FLOOR)
        })
    }
}

impl Sink for LiveReport {
    fn event(&mut self, event: &Event, state: &RunState) {
        self.append(line(event, state));
        if matches!(event, Event::StepDetail { .. }) {
            return;
        }
        self.stale = true;
        // A step's start is not worth a rewrite; its end is when the spacing allows; a verdict and
        // the run's own events (a few per run) always are.
        match event {
            Event::StepStarted { .. } => {}
            Event::StepFinished { seconds, .. }
                if !self.due(Duration::from_secs_f64(seconds.max(0.0))) => {}
            _ => self.snapshot(state),
        }
    }

    fn idle(&mut self, state: &RunState) {
        if self.stale {
            self.snapshot(state);
        }
    }
}

/// One event as its log line: its kind, and what it brought, from the state it was folded into.
pub fn line(event: &Event, state: &RunState) -> Value {
    let at = state.elapsed();
    match event {
        Event::StepStarted { id, action, at } => {
            json!({"event": "step-started", "id": id, "action": action, "at": at})
        }
        Event::StepDetail { id, detail } => {
            json!({"event": "step-detail", "id": id, "detail": detail, "at": at})
        }
        Event::StepFinished { id, result, .. } => {
            let mut line =
                json!({"event": "step-finished", "at": at, "step": state.step_report(id)});
            if let Err(e) = result {
                line["failure"] = json!({
                    "kind": e.failure.kind(),
                    "status": e.failure.status(),
                    "output": e.failure.output(),
                });
            }
            if let Ok(out) = result {
                for (key, new) in [("record", &out.record), ("partner", &out.partner)] {
                    if let Some(new) = new {
                        line[key] = record(new);
                    }
                }
                if let Some(note) = &out.note {
                    line["note"] = json!(note);
                }
                if !out.warnings().is_empty() {
                    line["warnings"] = json!(out.warnings());
                }
            }
            line
        }
        Event::GatesDecided { phase, verdicts } => {
            let verdicts: Vec<GateReport> = verdicts.iter().map(GateReport::from).collect();
            json!({"event": "gates-decided", "at": at, "phase": phase, "verdicts": verdicts})
        }
        Event::BaselineRefused { record: new } => {
            json!({"event": "baseline-refused", "at": at, "record": record(new)})
        }
        Event::Skipped { ids } => json!({"event": "skipped", "at": at, "ids": ids}),
        Event::Run(run) => match run {
            RunEvent::Started { run_id } => {
                json!({"event": "run-started", "at": at, "run_id": run_id})
            }
            RunEvent::Changed(stat, diff) => {
                let diff: Vec<FileDiff> = diff.iter().map(FileDiff::from).collect();
                let stat = DiffStatReport::from(*stat);
                json!({"event": "changed", "at": at, "diffstat": stat, "diff": diff})
            }
            RunEvent::RollingBack { .. } => {
                json!({"event": "rolling-back", "at": at, "rollback": state.report.rollback})
            }
            RunEvent::Rollback(RollbackEvent::Undone(done)) => json!({
                "event": "rolled-back",
                "at": at,
                "rollback": state.report.rollback,
                "seconds": done.seconds
            }),
            RunEvent::Rollback(RollbackEvent::LeftBehind { run_id, left }) => {
                let (id, what) = match left {
                    LeftBehind::Stopped(end) => {
                        (&end.id, json!({"ending": ending(end.stopped.ending)}))
                    }
                    LeftBehind::Dir { id, dir, error } => (id, json!({"dir": dir, "error": error})),
                };
                json!({"event": "service-left-behind", "at": at, "run_id": run_id, "id": id, "what": what})
            }
            RunEvent::Rollback(RollbackEvent::LockCleared { run_id, path }) => {
                json!({"event": "lock-cleared", "at": at, "run_id": run_id, "path": path})
            }
            RunEvent::Rollback(RollbackEvent::ProcessesEnded { run_id, count }) => {
                json!({"event": "processes-ended", "at": at, "run_id": run_id, "count": count})
            }
            RunEvent::RollbackFailed(_) => {
                json!({"event": "rollback-failed", "at": at, "rollback": state.report.rollback})
            }
            RunEvent::ServiceStopped(end) => json!({
                "event": "service-stopped",
                "at": at,
                "id": end.id,
                "ending": ending(end.stopped.ending),
                "stop_status": end.stopped.stop_status.map(|s| s.to_string()),
                "seconds": end.stopped.seconds,
                "dir_left": end.dir_left.as_ref().map(|(d, e)| json!({"dir": d, "error": e})),
                "clean": end.clean(),
            }),
            RunEvent::Finished { status, code } => {
                let status = RunStatus::from(*status);
                json!({"event": "finished", "at": at, "status": status, "exit_code": code})
            }
        },
    }
}

fn ending(ending: crate::process::service::Ending) -> String {
    use crate::process::service::Ending;
    match ending {
        Ending::Exited(status) => format!("exited ({status})"),
        Ending::StopCommand => "stop-command".into(),
        Ending::Terminated => "sigterm".into(),
        Ending::Killed => "sigkill".into(),
    }
}

fn record(new: &NewRecord) -> Value {
    json!({"name": new.name, "source": new.source, "metrics": new.record})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::events::{StepError, StepOutput};
    use crate::report::model::{RunReport, StepReport, StepStatus};

    fn state() -> RunState {
        let mut report = RunReport::default();
        for id in ["a", "b"] {
            report.steps.push(StepReport {
                id: id.into(),
                ..StepReport::default()
            });
        }
        RunState::new(report)
    }

    fn finished(id: &str, result: Result<StepOutput, StepError>) -> Event {
        Event::StepFinished {
            id: id.into(),
            seconds: 0.1,
            result,
        }
    }

    fn send(sink: &mut LiveReport, state: &mut RunState, event: Event) {
        state.apply(&event);
        sink.event(&event, state);
    }

    fn lines(dir: &Path) -> Vec<Value> {
        let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn report(dir: &Path) -> RunReport {
        let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
        crate::report::json::from_json(&text).unwrap()
    }

    /// Every event is one line of its own, appended, its secrets masked; the step's line
    /// carries the step as the report has it once the event is folded in.
    #[test]
    fn each_event_is_appended_as_one_masked_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LiveReport::new(dir.path(), &Secrets::new(["hunter2"]));
        let mut state = state();
        let started = Event::StepStarted {
            id: "a".into(),
            action: "run",
            at: 0.0,
        };
        send(&mut sink, &mut state, started);
        let failure = crate::exec::failure::Failure::Command {
            command: "login hunter2".into(),
            status: crate::process::Status::Exited(2),
            tail: vec!["refused".into()],
        };
        let failed = finished("a", Err(failure.into()));
        send(&mut sink, &mut state, failed);
        let lines = lines(dir.path());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "step-started");
        assert_eq!(lines[1]["event"], "step-finished");
        assert_eq!(lines[1]["step"]["status"], "failed");
        let shown = "`login ***` exited with status 2\n  | refused";
        assert_eq!(lines[1]["step"]["message"], shown);
        assert_eq!(report(dir.path()).steps[0].message.as_deref(), Some(shown));
        // What failed is data a reader needs no parsing for: its kind, status and output.
        assert_eq!(lines[1]["failure"]["kind"], "command-exited");
        assert_eq!(
            lines[1]["failure"]["status"],
            json!({"kind": "exited", "value": 2})
        );
        assert_eq!(lines[1]["failure"]["output"], json!(["refused"]));
    }

    /// Progress and outcomes are logged as data, never as the sentences the terminal prints.
    #[test]
    fn progress_and_outcomes_are_logged_as_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LiveReport::new(dir.path(), &Secrets::default());
        let mut state = state();
        let detail = crate::exec::outcome::Detail::Run {
            warmup: false,
            index: 2,
            of: 5,
            expected: 5,
            took: Some(Duration::from_millis(1500)),
            typical: None,
            live: Vec::new(),
        };
        let id = "a".to_string();
        send(&mut sink, &mut state, Event::StepDetail { id, detail });
        let note = crate::exec::outcome::Note::Suite {
            median: 1.5,
            stddev: Some(0.1),
            tests: Some((40, 0)),
            over_budget: None,
            coverage: None,
        };
        let out = StepOutput {
            note: Some(note),
            ..StepOutput::default()
        };
        send(&mut sink, &mut state, finished("a", Ok(out)));
        let lines = lines(dir.path());
        assert_eq!(
            lines[0]["detail"],
            json!({"kind": "run", "warmup": false, "index": 2, "of": 5, "expected": 5, "took": 1.5})
        );
        assert!(lines[0].get("text").is_none(), "{}", lines[0]);
        assert_eq!(lines[1]["note"]["kind"], "suite");
        assert_eq!(lines[1]["note"]["tests"], json!([40, 0]));
        // The report's message is the renderer's sentence, made from the same data.
        assert_eq!(
            lines[1]["step"]["message"],
            "median 1.50s ± 0.10s, 40 passed, 0 failed"
        );
    }

    /// A step's end rewrites `report.json` only once its spacing has passed; until then the
    /// event log has the step, and the next quiet moment brings the snapshot up to date.
    #[test]
    fn the_snapshot_is_put_off_while_it_would_cost_too_much_and_caught_up_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LiveReport::new(dir.path(), &Secrets::default());
        let mut state = state();
        send(
            &mut sink,
            &mut state,
            finished("a", Ok(StepOutput::default())),
        );
        assert_eq!(report(dir.path()).steps[0].status, StepStatus::Ok);
        // As if the last rewrite had taken a second: the next step's end is not worth another.
        sink.last = Some((Instant::now(), Duration::from_secs(1)));
        send(
            &mut sink,
            &mut state,
            finished("b", Ok(StepOutput::default())),
        );
        assert_eq!(lines(dir.path())[1]["step"]["status"], "ok");
        assert_eq!(report(dir.path()).steps[1].status, StepStatus::Pending);
        sink.idle(&state);
        assert_eq!(report(dir.path()).steps[1].status, StepStatus::Ok);
        // Nothing new since: a quiet moment writes nothing.
        std::fs::remove_file(dir.path().join("report.json")).unwrap();
        sink.idle(&state);
        assert!(!dir.path().join("report.json").exists());
    }

    /// A quick step's end soon after a cheap rewrite waits for the floor (a chain of quick
    /// steps shares one rewrite); a step that ran as long as the floor is written at once.
    #[test]
    fn quick_steps_share_a_rewrite_within_the_floor_and_a_long_one_is_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LiveReport::new(dir.path(), &Secrets::default());
        let mut state = state();
        let ended = |id: &str, ran: Duration| Event::StepFinished {
            id: id.into(),
            seconds: ran.as_secs_f64(),
            result: Ok(StepOutput::default()),
        };
        sink.last = Some((Instant::now(), Duration::ZERO));
        send(&mut sink, &mut state, ended("a", Duration::from_millis(1)));
        assert!(!dir.path().join("report.json").exists());
        assert_eq!(lines(dir.path())[0]["step"]["status"], "ok");
        sink.last = Some((Instant::now(), Duration::ZERO));
        send(&mut sink, &mut state, ended("b", SNAPSHOT_FLOOR));
        let written = report(dir.path());
        assert_eq!(written.steps[0].status, StepStatus::Ok);
        assert_eq!(written.steps[1].status, StepStatus::Ok);
    }

    /// Step ends in quick succession share a rewrite: the second step's end, within twenty
    /// times the first rewrite's cost, is in the event log and not yet in `report.json`, and
    /// the idle moment after it brings `report.json` to the state's report exactly.
    #[test]
    fn quick_step_ends_share_one_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LiveReport::new(dir.path(), &Secrets::default());
        let mut state = state();
        send(
            &mut sink,
            &mut state,
            finished("a", Ok(StepOutput::default())),
        );
        sink.last = Some((Instant::now(), Duration::from_millis(50)));
        send(
            &mut sink,
            &mut state,
            finished("b", Ok(StepOutput::default())),
        );
        assert_eq!(lines(dir.path()).len(), 2);
        assert_eq!(report(dir.path()).steps[1].status, StepStatus::Pending);
        sink.idle(&state);
        let written = report(dir.path());
        assert_eq!(
            written,
            crate::report::mask::mask_report(&state.report, &Secrets::default())
        );
    }
}
