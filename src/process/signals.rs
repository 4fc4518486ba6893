//! SIGINT and SIGTERM during an apply: the first asks every running command to stop (their
//! process groups get SIGTERM, then SIGKILL after a grace period) and the run to roll back; a
//! second one skips the grace period (SIGKILL at once), as in nextest. planrun itself is never
//! killed by them: it always rolls back.

use std::sync::atomic::Ordering;

use super::control::Cancel;

/// Keeps the handlers installed while alive.
pub struct Signals {
    ids: Vec<signal_hook::SigId>,
}

/// Routes SIGINT and SIGTERM to `cancel` until the returned guard is dropped.
pub fn install(cancel: &Cancel) -> Signals {
    let mut ids = Vec::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let (flag, force) = (cancel.flag(), cancel.force_flag());
        let action = move || {
            // Only atomics here: this runs inside the signal handler.
            if flag.swap(true, Ordering::SeqCst) {
                force.store(true, Ordering::SeqCst);
            }
        };
        // SAFETY: the action only touches atomics, which is async-signal-safe.
        match unsafe { signal_hook::low_level::register(signal, action) } {
            Ok(id) => ids.push(id),
            Err(e) => tracing::warn!("cannot handle signal {signal}: {e}"),
        }
    }
    Signals { ids }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_signal_cancels_second_forces() {
        let cancel = Cancel::new();
        let _signals = install(&cancel);
        // SAFETY: raise(3) delivers to this thread; the handler above only sets atomics.
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(cancel.is_cancelled());
        assert!(!cancel.is_forced());
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(cancel.is_forced());
    }
}
