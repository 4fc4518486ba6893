//! The services of an apply. A `service` step starts one, waits until it is ready, and leaves
//! it running for the steps that need it; when the apply ends (every gate passed, or a step or
//! gate failed, or a signal came) they are stopped, newest first, before anything is rolled
//! back. A service left running by an apply that was killed is stopped the same way by
//! `planrun rollback`, from what the journal recorded ([`stop_left_behind`]).
//!
//! Each service gets `${service.<id>.port}`, a TCP port that was free on 127.0.0.1 when the apply
//! was prepared, and `${service.<id>.dir}`, a directory of its own in the system temp directory,
//! made when it starts and removed once it has stopped.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::journal::entry::{self, Entry};
use crate::journal::{paths, trust};
use crate::plan::model;
use crate::plan::service_vars::{self, DIR_PREFIX};
use crate::process::service::{self as svc, Ending, Stopped};
use crate::process::{self, Cancel, CommandSpec, Groups, Service};

/// The time a service has to exit after its stop command, and again after SIGTERM: more than
/// a command's, since a database flushes its buffers as it shuts down.
pub const GRACE: Duration = Duration::from_secs(10);

/// The services an apply has started and not yet stopped. Shared by the workers (a `service`
/// step adds its own) and stopped by the apply once the scheduler is done.
#[derive(Debug, Default)]
pub struct Services {
    running: Mutex<Vec<Running>>,
}

#[derive(Debug)]
struct Running {
    id: String,
    service: Service,
    stop: Option<CommandSpec>,
    dir: Option<PathBuf>,
}

/// How one service ended: what stopping it came to, and the directory planrun made for it
/// that could not be removed.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEnd {
    /// The service's step id.
    pub id: String,
    /// How it was stopped.
    pub stopped: Stopped,
    /// The directory made for it that is still there, and why.
    pub dir_left: Option<(PathBuf, String)>,
}

impl ServiceEnd {
    /// It ended as it should (its stop command or SIGTERM ended it).
    pub fn clean(&self) -> bool {
        matches!(
            self.stopped.ending,
            Ending::StopCommand | Ending::Terminated
        )
    }
}

impl Services {
    /// Keeps a service that is ready until the apply ends; `stop` is its stop command, `dir`
    /// the directory planrun made for it.
    pub fn add(&self, id: &str, service: Service, stop: Option<CommandSpec>, dir: Option<PathBuf>) {
        self.lock().push(Running {
            id: id.to_string(),
            service,
            stop,
            dir,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Running>> {
        // A worker that panicked cannot have left the list half changed: push is one step.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops every running service, newest first (see [`Service::stop`]), and removes the
    /// directories made for them.
    pub fn stop_all(&self, cancel: &Cancel, groups: &Groups) -> Vec<ServiceEnd> {
        let mut ends = Vec::new();
        while let Some(running) = self.lock().pop() {
            let Running {
                id,
                service,
                stop,
                dir,
            } = running;
            let stopped = service.stop(stop.as_ref(), cancel, groups);
            let dir_left = dir.and_then(|dir| {
                let e = remove_dir(&dir).err()?;
                Some((dir, e.to_string()))
            });
            ends.push(ServiceEnd {
                id,
                stopped,
                dir_left,
            });
        }
        ends
    }
}

/// The values of the services' variables that `vars` (the plan's and `--var`s) does not fix:
/// a free port on 127.0.0.1 each (all held open until all are picked, so they differ) and a
/// fresh directory name in the system temp directory.
pub fn pick(
    plan: &model::Plan,
    vars: &BTreeMap<String, String>,
) -> std::io::Result<BTreeMap<String, String>> {
    let mut picked = BTreeMap::new();
    let mut held = Vec::new();
    let unique = unique_suffix();
    for names in service_vars::of(plan) {
        if !vars.contains_key(&names.port) {
            let listener = TcpListener::bind(("127.0.0.1", 0))?;
            picked.insert(names.port, listener.local_addr()?.port().to_string());
            held.push(listener);
        }
        if !vars.contains_key(&names.dir) {
            let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{unique}", names.id));
            picked.insert(names.dir, dir.display().to_string());
        }
    }
    Ok(picked)
}

/// Six letters and digits from the clock and the pid, as tempfile names its directories.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut n = nanos ^ (u128::from(std::process::id()) << 40);
    let digits = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let d = digits[(n % 36) as usize];
            n /= 36;
            char::from(d)
        })
        .collect()
}

/// The directory to make for service `id`: its `${service.<id>.dir}` when planrun picked it
/// (`picked` names the variables it picked), or when a `--var` names one that does not exist
/// yet. Only a directory planrun makes is planrun's to remove; an existing one is left alone.
pub fn dir_to_make(
    vars: &BTreeMap<String, String>,
    picked: &std::collections::BTreeSet<String>,
    id: &str,
) -> Option<PathBuf> {
    let name = service_vars::ServiceVars::new(id).dir;
    vars.get(&name)
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && (picked.contains(&name) || !d.exists()))
}

/// Makes a service's directory, private to this user.
pub fn make_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

/// Removes a directory made for a service; one already gone is fine.
pub fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A service the journal of a run recorded.
struct Recorded {
    step: String,
    stop: Option<String>,
    env: BTreeMap<String, String>,
    cwd: PathBuf,
    dir: Option<PathBuf>,
}

/// What `planrun rollback` did about a service a killed run left behind.
#[derive(Debug, Clone, PartialEq)]
pub enum LeftBehind {
    /// The service was still running and was stopped.
    Stopped(ServiceEnd),
    /// Its directory was still there: removed, or not (why).
    Dir {
        /// The service's step id.
        id: String,
        /// The directory.
        dir: PathBuf,
        /// Why it could not be removed.
        error: Option<String>,
    },
}

/// Stops the services that the killed run `run_id` left running, as the apply would have (its
/// stop command, then SIGTERM, then SIGKILL, only to processes provably of the recorded group),
/// and removes the directories made for them; returns what it did.
pub fn stop_left_behind(target: &Path, run_id: &str) -> Vec<LeftBehind> {
    let run_dir = paths::run_dir(target, run_id);
    let entries = match entry::read_log(&run_dir, true) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!("cannot read the journal of run {run_id} for its services: {e}");
            return Vec::new();
        }
    };
    let recorded: Vec<Recorded> = entries
        .into_iter()
        .filter_map(|rec| match rec.entry {
            Entry::Service {
                step,
                stop,
                env,
                cwd,
                dir,
                ..
            } => Some(Recorded {
                step,
                stop,
                env,
                cwd,
                dir,
            }),
            _ => None,
        })
        .collect();
    if recorded.is_empty() {
        return Vec::new();
    }
    let left = process::orphans::left_services(&paths::orphan_groups(&run_dir));
    let logs = paths::logs_dir(&paths::report_dir(target, run_id));
    let mut lines = Vec::new();
    for service in recorded.iter().rev() {
        if let Some(running) = left.iter().find(|l| l.name == service.step) {
            let stop = service.stop.as_deref().and_then(|sealed| {
                let command = trust::open(sealed)
                    .map_err(|e| {
                        tracing::warn!("cannot read the stop command of `{}`: {e}", service.step)
                    })
                    .ok()?;
                let env = service
                    .env
                    .iter()
                    .map(|(k, v)| Some((k.clone(), trust::open(v).ok()?)))
                    .collect::<Option<Vec<_>>>()?;
                let log = crate::ident::ident_path(&logs, &format!("{}-stop", service.step), "log")
                    .ok()?;
                let mut spec = CommandSpec::new(command, target.join(&service.cwd), log);
                spec.env = env;
                Some(spec)
            });
            let stopped = svc::stop_left(running, stop.as_ref(), GRACE);
            lines.push(LeftBehind::Stopped(ServiceEnd {
                id: service.step.clone(),
                stopped,
                dir_left: None,
            }));
        }
        let Some(dir) = &service.dir else { continue };
        let ours = dir.is_absolute()
            && dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(DIR_PREFIX));
        if ours && dir.exists() {
            lines.push(LeftBehind::Dir {
                id: service.step.clone(),
                dir: dir.clone(),
                error: remove_dir(dir).err().map(|e| e.to_string()),
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::Journal;
    use crate::journal::state::RunMeta;
    use std::os::unix::process::CommandExt;

    fn plan(text: &str) -> model::Plan {
        toml::from_str(&format!(
            "name='x'\ndescription='d'\n[[phase]]\nid='p'\n{text}"
        ))
        .unwrap()
    }

    #[test]
    fn pick_gives_each_service_a_free_port_and_a_fresh_directory() {
        let two = plan(
            "[[phase.step]]\nid='a'\naction='service'\ncommand='x'\n\
             [[phase.step]]\nid='b'\naction='service'\ncommand='x'\n",
        );
        let picked = pick(&two, &BTreeMap::new()).unwrap();
        let port = |id: &str| {
            picked[&format!("service.{id}.port")]
                .parse::<u16>()
                .unwrap()
        };
        assert_ne!(port("a"), port("b"));
        for id in ["a", "b"] {
            let dir = PathBuf::from(&picked[&format!("service.{id}.dir")]);
            assert!(dir.starts_with(std::env::temp_dir()), "{dir:?}");
            assert!(dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{DIR_PREFIX}{id}-")));
            assert!(!dir.exists());
            let names = picked.keys().cloned().collect();
            assert_eq!(dir_to_make(&picked, &names, id), Some(dir));
        }
        let fixed = BTreeMap::from([("service.a.dir".to_string(), "/".to_string())]);
        assert_eq!(
            dir_to_make(&fixed, &Default::default(), "a"),
            None,
            "an existing directory is not ours"
        );
    }

    #[test]
    fn a_service_left_by_a_killed_apply_is_stopped_by_its_stop_command_and_its_dir_removed() {
        let target = tempfile::tempdir().unwrap();
        let t = target.path();
        let journal = Journal::begin(
            t,
            RunMeta {
                plan: "p".into(),
                plan_path: "p.toml".into(),
                plan_hash: String::new(),
            },
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}db-test-{}-{}",
            std::process::id(),
            journal.run_id()
        ));
        make_dir(&dir).unwrap();
        let env = BTreeMap::from([("FLAG".to_string(), "halt".to_string())]);
        journal
            .record_service("db", Some("touch \"$FLAG\""), &env, t, Some(&dir))
            .unwrap();
        // The service of the killed apply: only its stop command makes it exit.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while [ ! -e halt ]; do sleep 0.02; done"])
            .current_dir(t)
            .process_group(0)
            .spawn()
            .unwrap();
        Groups::record_in(paths::orphan_groups(journal.run_dir())).service(child.id(), "db");
        let done = stop_left_behind(t, journal.run_id());
        assert_eq!(done.len(), 2, "{done:?}");
        let LeftBehind::Stopped(end) = &done[0] else {
            panic!("{done:?}");
        };
        assert_eq!(
            (end.id.as_str(), end.stopped.ending),
            ("db", Ending::StopCommand)
        );
        assert_eq!(
            done[1],
            LeftBehind::Dir {
                id: "db".into(),
                dir: dir.clone(),
                error: None
            }
        );
        assert!(child.wait().unwrap().success());
        assert!(!dir.exists());
        // Nothing is left to do a second time.
        assert!(stop_left_behind(t, journal.run_id()).is_empty());
    }
}
