//! SIGINT and SIGTERM during an apply: the first asks every running command to stop (their
//! process groups get SIGTERM, then SIGKILL) and the run to roll back; the process is not killed.

use crate::exec::process::Cancel;

/// Keeps the handlers installed while alive.
pub struct Signals {
    ids: Vec<signal_hook::SigId>,
}

/// Routes SIGINT and SIGTERM to `cancel` until the returned guard is dropped.
pub fn install(cancel: &Cancel) -> Signals {
    let mut ids = Vec::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        match signal_hook::flag::register(signal, cancel.flag()) {
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
