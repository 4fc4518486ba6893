//! A stage's last runs and what `history.*` criteria read of them.

use super::entry::{Entry, RECORD_METRICS};
use super::file::HistoryFile;

/// The window a stage's criteria read when `--window` is not given.
pub const DEFAULT_WINDOW: usize = 20;

pub use crate::metrics::HISTORY as METRICS;

/// The last runs (at most the window) of one plan's stage, oldest first, and the count of
/// unreadable lines in the file they came from.
#[derive(Debug, Clone)]
pub struct Window<'a> {
    /// The runs in the window.
    pub runs: Vec<&'a Entry>,
    /// Unreadable lines in the whole file: they may have been runs of this stage.
    pub unreadable: usize,
}

impl<'a> Window<'a> {
    /// The last `size` runs of `plan` at `stage` (`None`: a plan without stages).
    pub fn of(file: &'a HistoryFile, plan: &str, stage: Option<&str>, size: usize) -> Self {
        let all: Vec<&Entry> = file
            .entries
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.plan == plan && e.stage.as_deref() == stage)
            .collect();
        let skip = all.len().saturating_sub(size);
        Window {
            runs: all[skip..].to_vec(),
            unreadable: file.unreadable.len(),
        }
    }

    /// A `history.*` metric (`metric` without the `history.` prefix); `None` when the window
    /// has no run to answer it.
    pub fn metric(&self, metric: &str) -> Option<f64> {
        let n = self.runs.len();
        let green = self.runs.iter().filter(|e| e.green()).count();
        let walls = || self.runs.iter().map(|e| e.duration_s).collect::<Vec<_>>();
        match metric {
            "runs" => Some(n as f64),
            "green" => Some(green as f64),
            "failed" => Some((n - green) as f64),
            "forced" => Some(self.runs.iter().filter(|e| e.forced).count() as f64),
            "unreadable" => Some(self.unreadable as f64),
            "green_streak" => Some(self.runs.iter().rev().take_while(|e| e.green()).count() as f64),
            "fail_rate" => (n > 0).then(|| (n - green) as f64 / n as f64),
            "wall.min" => walls().into_iter().reduce(f64::min),
            "wall.max" => walls().into_iter().reduce(f64::max),
            "wall.median" => median(walls()),
            other => {
                let (record, m) = other.split_once('.')?;
                if !RECORD_METRICS.contains(&m) {
                    return None;
                }
                median(
                    self.runs
                        .iter()
                        .filter_map(|e| e.records.get(record)?.get(m).copied())
                        .collect(),
                )
            }
        }
    }
}

pub use crate::metrics::history_known as known;

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}
