//! An apply's one output: its notices said on the terminal, and from the moment it begins the
//! fold (`report/`) of its events and the sinks that show and store them.

use crate::exec::context::ApplyOptions;
use crate::exec::events::Event;
use crate::exec::output::{Begun, Notice, Output};
use crate::exec::setup::Prepared;
use crate::report::fold::{initial_report, RunState};
use crate::sinks::apply::{for_apply, Terminal};
use crate::sinks::sink::Sink;

/// The output of one apply of `prep` with `opts`.
pub struct ApplyOutput<'a> {
    prep: &'a Prepared,
    opts: &'a ApplyOptions,
    /// Once the run began: the report as its events built it, and the sinks.
    run: Option<(RunState, Vec<Box<dyn Sink>>)>,
}

impl<'a> ApplyOutput<'a> {
    /// Nothing begun yet.
    pub fn new(prep: &'a Prepared, opts: &'a ApplyOptions) -> Self {
        ApplyOutput {
            prep,
            opts,
            run: None,
        }
    }
}

impl Output for ApplyOutput<'_> {
    fn notice(&mut self, notice: &Notice) {
        crate::sinks::notices::before_run(notice);
    }

    fn begin(&mut self, run: &Begun) {
        let prep = self.prep;
        let terminal = Terminal::new(
            prep.plan.step_count(),
            &prep.secrets,
            format!("{} -> {}", prep.plan.name, prep.target.display()),
            run.run_dir.clone(),
        );
        let state = RunState::new(initial_report(prep, &run.run_id, self.opts.stage.clone()));
        let sinks = for_apply(self.opts, terminal, run.run_dir.clone(), &prep.secrets);
        self.run = Some((state, sinks));
    }

    fn event(&mut self, event: &Event) {
        let Some((state, sinks)) = &mut self.run else {
            return;
        };
        state.apply(event);
        for sink in sinks {
            sink.event(event, state);
        }
    }

    fn idle(&mut self) {
        let Some((state, sinks)) = &mut self.run else {
            return;
        };
        for sink in sinks {
            sink.idle(state);
        }
    }

    /// The final report, masked, to every sink; the errors of those that failed said once all
    /// ran.
    fn finish(&mut self) {
        let Some((state, sinks)) = &mut self.run else {
            return;
        };
        let report = crate::report::mask::mask_report(&state.report, &self.prep.secrets);
        let errors: Vec<_> = (sinks.iter_mut())
            .filter_map(|sink| sink.finish(&report).err())
            .collect();
        crate::sinks::notices::sinks_failed(&errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::events::{RunEvent, StepOutput};
    use crate::report::model::{GateStatus, RunStatus, StepStatus};
    use crate::run::change::{DiffStat, FileChange};
    use crate::run::end::Ending;
    use crate::run::verdict::{Status, Verdict};

    const PLAN: &str = "name = 'p'\ndescription = 'd'\n[[phase]]\nid = 'one'\n\
        [[phase.step]]\nid = 'a'\naction = 'run'\ncommand = 'true'\n\
        [[phase.step]]\nid = 'b'\naction = 'suite'\ncommand = 'true'\nrecord = 'after'\n\
        needs = ['a']\n[[phase.gate]]\ncheck = 'after.wall.median < 1'\n";

    /// The executor's events, through the one output, become the run's report files: each
    /// step's fate, the verdict in the gate's slot, the net change and the run's end, all
    /// folded by `report/`; nothing is written before the run begins.
    #[test]
    fn the_events_of_a_run_become_its_report_files() {
        let target = tempfile::tempdir().unwrap();
        let plans = tempfile::tempdir().unwrap();
        let plan = plans.path().join("plan.toml");
        std::fs::write(&plan, PLAN).unwrap();
        let prep = Prepared::new(&plan, Some(target.path()), &[]).unwrap();
        let opts = ApplyOptions::default();
        let run_dir = tempfile::tempdir().unwrap();
        let mut out = ApplyOutput::new(&prep, &opts);
        out.event(&Event::Skipped {
            ids: vec!["a".into()],
        });
        out.finish();
        assert_eq!(std::fs::read_dir(run_dir.path()).unwrap().count(), 0);

        out.begin(&Begun {
            run_id: "r1".into(),
            run_dir: run_dir.path().to_path_buf(),
        });
        let check = prep.plan.phases[0].gates[0].check.clone();
        let events = [
            Event::Run(RunEvent::Started {
                run_id: "r1".into(),
            }),
            Event::StepStarted {
                id: "a".into(),
                action: "run",
                at: 0.1,
            },
            Event::StepFinished {
                id: "a".into(),
                seconds: 0.5,
                result: Ok(StepOutput {
                    changed: vec!["x.txt".into()],
                    ..StepOutput::default()
                }),
            },
            Event::GatesDecided {
                phase: "one".into(),
                verdicts: vec![Verdict {
                    phase: "one".into(),
                    check: check.clone(),
                    why: None,
                    on_fail: Default::default(),
                    on_inconclusive: Default::default(),
                    line: Some(9),
                    status: Status::Fail,
                    explanation: Some(crate::run::verdict::Explanation::Decided {
                        expr: prep.plan.phases[0].gates[0].expr.clone(),
                        checks: Vec::new(),
                    }),
                    values: [("after.wall.median".to_string(), 2.0)].into(),
                    message: None,
                    intervals: Vec::new(),
                    details: Vec::new(),
                    tests: Vec::new(),
                }],
            },
            Event::Skipped {
                ids: vec!["b".into()],
            },
            Event::Run(RunEvent::Changed(
                DiffStat {
                    files: 1,
                    insertions: 2,
                    deletions: 0,
                },
                vec![FileChange {
                    path: "x.txt".into(),
                    diff: "--- /dev/null\n+++ b/x.txt\n".into(),
                    truncated: false,
                }],
            )),
            Event::Run(RunEvent::Finished {
                status: Ending::GateFailed,
                code: crate::exit::GATE_FAILED,
            }),
        ];
        for e in &events {
            out.event(e);
        }
        out.finish();

        let text = std::fs::read_to_string(run_dir.path().join("report.json")).unwrap();
        let report = crate::report::json::from_json(&text).unwrap();
        assert_eq!(report.run_id, "r1");
        let steps: Vec<(&str, StepStatus, &[String])> = (report.steps.iter())
            .map(|s| (s.id.as_str(), s.status, s.changed.as_slice()))
            .collect();
        assert_eq!(
            steps,
            [
                ("a", StepStatus::Ok, &["x.txt".to_string()][..]),
                ("b", StepStatus::Skipped, &[][..]),
            ]
        );
        let gate = &report.gates[0];
        assert_eq!(
            (
                gate.check.as_str(),
                gate.status,
                gate.line,
                gate.on_fail.as_str()
            ),
            (check.as_str(), GateStatus::Fail, Some(9), "rollback")
        );
        assert_eq!((report.diffstat.files, report.diffstat.insertions), (1, 2));
        assert_eq!(report.diff[0].path, "x.txt");
        assert_eq!(
            (report.status, report.exit_code),
            (RunStatus::GateFailed, Some(crate::exit::GATE_FAILED))
        );
        let log = std::fs::read_to_string(run_dir.path().join("events.jsonl")).unwrap();
        assert_eq!(log.lines().count(), events.len(), "{log}");
    }
}
