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
