//! Load beside a timing-dependent test: busy loops that keep cores busy while it measures.

use std::process::{Child, Command, Stdio};

/// Busy `sh` loops, killed when dropped.
pub struct BusyLoops(Vec<Child>);

/// Starts `n` loops of `sh -c 'while :; do :; done'`, each in its own process group.
pub fn busy_loops(n: usize) -> BusyLoops {
    use std::os::unix::process::CommandExt;
    BusyLoops(
        (0..n)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .process_group(0)
                    .spawn()
                    .expect("start a busy loop")
            })
            .collect(),
    )
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
