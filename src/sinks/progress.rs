//! Live progress of an apply: on a TTY a redrawn status line (what runs now, elapsed time) under
//! the finished steps; otherwise, and in CI, plain lines only.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::exec::outcome::Detail;
use crate::report::model::StepStatus;
use crate::report::words::fmt_duration;
use crate::sinks::tally::Tally;
use crate::ui::{self, Style};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The progress display of one apply.
pub struct Progress {
    state: Mutex<State>,
    animate: bool,
    color: bool,
    stop: AtomicBool,
}

struct State {
    total: usize,
    done: usize,
    start: Instant,
    running: BTreeMap<String, Running>,
    frame: usize,
    drawn: bool,
}

/// A step in progress, as its status line shows it.
struct Running {
    since: Instant,
    /// Its last detail, said.
    text: String,
    /// Its runs so far, when it is a suite.
    tally: Tally,
}

impl Progress {
    /// A display for `total` steps; `animate` redraws a status line every 100 ms.
    pub fn new(total: usize, animate: bool) -> Arc<Self> {
        let progress = Arc::new(Progress {
            state: Mutex::new(State {
                total,
                done: 0,
                start: Instant::now(),
                running: BTreeMap::new(),
                frame: 0,
                drawn: false,
            }),
            animate,
            color: ui::stderr_color(),
            stop: AtomicBool::new(false),
        });
        if animate {
            let ticker = Arc::clone(&progress);
            std::thread::spawn(move || {
                while !ticker.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    ticker.redraw();
                }
            });
        }
        progress
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Prints a line above the status line (not with `-q`).
    pub fn line(&self, text: &str) {
        if !ui::quiet() {
            self.line_always(text);
        }
    }

    /// Prints a line above the status line, also with `-q`: a failure, a warning.
    pub fn line_always(&self, text: &str) {
        self.with_state(|s| {
            if s.drawn {
                eprint!("\r\x1b[2K");
                s.drawn = false;
            }
            ui::err(text);
        });
        if self.animate {
            self.redraw();
        }
    }

    /// A step has started.
    pub fn started(&self, id: &str, action: &str) {
        self.with_state(|s| {
            let running = Running {
                since: Instant::now(),
                text: String::new(),
                tally: Tally::default(),
            };
            s.running.insert(id.to_string(), running);
        });
        // On a TTY the status line shows what runs; plain output (CI logs) says it in a line.
        if !self.animate {
            let arrow = ui::paint(self.color, Style::Cyan, "▶");
            self.line(&format!(
                "{arrow} {id} {}",
                ui::paint(self.color, Style::Dim, action)
            ));
        }
    }

    /// What a running step is doing now, said as `text`: shown on the status line, and when it
    /// is a `milestone` (a run ended) printed as a line, which on a terminal stays above it.
    pub fn detail(&self, id: &str, detail: &Detail, text: &str, milestone: bool) {
        self.with_state(|s| {
            if let Some(entry) = s.running.get_mut(id) {
                entry.text = text.to_string();
                entry.tally.observe(detail, Instant::now());
            }
        });
        if milestone {
            self.line(&format!("  {id}: {text}"));
        }
    }

    /// A step has finished.
    pub fn finished(&self, id: &str, status: StepStatus, message: Option<&str>) {
        let elapsed = self.with_state(|s| {
            s.done += 1;
            s.running
                .remove(id)
                .map(|r| r.since.elapsed())
                .unwrap_or_default()
        });
        let (mark, style) = match status {
            StepStatus::Ok => ("✓", Style::Green),
            StepStatus::Unchanged => ("=", Style::Dim),
            StepStatus::Failed => ("✗", Style::BoldRed),
            _ => ("·", Style::Dim),
        };
        let mut text = format!(
            "{} {id} {}",
            ui::paint(self.color, style, mark),
            ui::paint(self.color, Style::Dim, &fmt_duration(elapsed))
        );
        if let Some(m) = message {
            text.push_str(&format!("  {m}"));
        }
        if status == StepStatus::Failed {
            self.line_always(&text);
        } else {
            self.line(&text);
        }
    }

    fn redraw(&self) {
        if !self.animate || self.stop.load(Ordering::Relaxed) {
            return;
        }
        self.with_state(|s| {
            s.frame = (s.frame + 1) % SPINNER.len();
            let at = Instant::now();
            let now: Vec<String> = s
                .running
                .iter_mut()
                .map(|(id, r)| {
                    let d = r.tally.status(at).unwrap_or_else(|| r.text.clone());
                    let d = if d.is_empty() { d } else { format!(" {d}") };
                    format!("{id}{d} ({})", fmt_duration(at - r.since))
                })
                .collect();
            let mut line = format!(
                "{} {} [{}/{}] {}",
                SPINNER[s.frame],
                fmt_duration(s.start.elapsed()),
                s.done,
                s.total,
                now.join(", ")
            );
            let width = terminal_width();
            if line.chars().count() > width {
                line = line.chars().take(width.saturating_sub(1)).collect();
            }
            eprint!("\r\x1b[2K{line}");
            s.drawn = true;
        });
    }

    /// Stops the status line and clears it.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.with_state(|s| {
            if s.drawn {
                eprint!("\r\x1b[2K");
                s.drawn = false;
            }
        });
    }
}

fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize struct we own; a failure leaves it zeroed.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(Duration::from_millis(1234)), "1.23s");
        assert_eq!(fmt_duration(Duration::from_secs(125)), "2m05s");
    }
}
