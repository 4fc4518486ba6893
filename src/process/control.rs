//! What the caller of a command holds over it: the cancel flags it may set, and the record its
//! process group is written to, handed together to every function that spawns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::orphans::Groups;
use super::scope::Scope;

/// Cancellation flags shared with the signal handler; clones share the same flags.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    force: Arc<AtomicBool>,
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Sets the flag: running commands are ended and no new one starts.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The flag itself, for the scheduler and the signal handler.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// Cancels and skips the grace period: groups being ended get SIGKILL at once (a second
    /// Ctrl-C, as in nextest).
    pub fn force(&self) {
        self.cancel();
        self.force.store(true, Ordering::SeqCst);
    }

    /// Whether the grace period is to be skipped.
    pub fn is_forced(&self) -> bool {
        self.force.load(Ordering::SeqCst)
    }

    /// The force flag itself, for the signal handler.
    pub fn force_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.force)
    }
}

/// The handles every spawning function takes; clones share them. The default is never cancelled
/// and records nothing: for commands run outside an apply (probes, rollback's undo commands).
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Ends running commands and keeps new ones from starting.
    pub cancel: Cancel,
    /// Where each command's process group is written down as it starts.
    pub groups: Groups,
    /// The run whose mark each command carries, so that what leaves its group is found again.
    pub scope: Scope,
}

impl Control {
    /// Commands watched by `cancel`, their groups recorded in `groups`.
    pub fn new(cancel: Cancel, groups: Groups) -> Self {
        Control {
            cancel,
            groups,
            scope: Scope::default(),
        }
    }

    /// The same handles, each command marked as part of `scope`.
    pub fn scoped(self, scope: Scope) -> Self {
        Control { scope, ..self }
    }
}
