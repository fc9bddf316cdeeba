//! Child processes the harness starts, and the guarantee that they stop.
//!
//! A supervised process runs under a tiny `sh` supervisor whose standard input is a pipe from the harness. When
//! the harness stops it, drops it, or dies in any way (panic, `SIGKILL`, test timeout), the pipe closes, the
//! supervisor sends `SIGTERM` to the process and `SIGKILL` ten seconds later. Nothing outlives the test run.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Context as _, Error, Result};

/// The supervisor: `sh -c SUPERVISOR sh PIDFILE CLEANUP_DIR PROGRAM ARGS...`.
///
/// It keeps a copy of its stdin (the lifeline pipe) on fd 3 for a watcher job; the program itself gets
/// `/dev/null`. When the lifeline reaches end-of-file, the watcher terminates the program. After the program
/// exits, a non-empty `CLEANUP_DIR` is removed.
const SUPERVISOR: &str = r#"
pidfile=$1; cleanup=$2; shift 2
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
echo "$child" >"$pidfile"
{
  while read -r _ <&3; do :; done
  kill -TERM "$child" 2>/dev/null
  sleep 10
  kill -KILL "$child" 2>/dev/null
} &
watcher=$!
exec 3<&-
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
if [ -n "$cleanup" ]; then rm -rf "$cleanup"; fi
exit "$status"
"#;

/// How long a process lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Stopped when the handle is stopped or dropped, or when the harness process exits.
    Supervised,
    /// Left running in its own process group after the harness exits (for `cargo xtask stack up`); stopped
    /// through its pid file.
    Detached,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Short name used in logs and file names (`etcd`, `kube-apiserver`, `aliyun-fake`, ...).
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
    /// A directory the supervisor removes after the program exits (for stacks that are never dropped).
    pub cleanup_dir: Option<PathBuf>,
}

impl ProcessSpec {
    /// A process named `name` running `program`.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>) -> Self {
        ProcessSpec { name: name.into(), program: program.into(), args: Vec::new(), env: Vec::new(), cleanup_dir: None }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// A running (or finished) child process with its log file.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    log: PathBuf,
    pid_file: PathBuf,
    child: Option<Child>,
    lifeline: Option<ChildStdin>,
    lifetime: Lifetime,
    exit: Option<ExitStatus>,
}

impl ManagedProcess {
    /// Starts `spec`, logging stdout and stderr to `<dir>/<name>.log` and its pid to `<dir>/<name>.pid`.
    pub fn spawn(spec: &ProcessSpec, dir: &Path, lifetime: Lifetime) -> Result<Self> {
        use std::os::unix::process::CommandExt as _;

        let log = dir.join(format!("{}.log", spec.name));
        let pid_file = dir.join(format!("{}.pid", spec.name));
        let _ = std::fs::remove_file(&pid_file);
        let out =
            OpenOptions::new().create(true).append(true).open(&log).context(format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating a log file handle")?;
        let mut cmd = match lifetime {
            Lifetime::Supervised => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(SUPERVISOR).arg("e2e-supervisor").arg(&pid_file);
                c.arg(spec.cleanup_dir.as_deref().unwrap_or(Path::new(""))).arg(&spec.program);
                c.stdin(Stdio::piped());
                c
            }
            Lifetime::Detached => {
                let mut c = Command::new(&spec.program);
                c.stdin(Stdio::null()).process_group(0);
                c
            }
        };
        cmd.args(&spec.args).stdout(out).stderr(err).current_dir(dir);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context(format!("starting {} ({})", spec.name, spec.program.display()))?;
        let lifeline = child.stdin.take();
        if lifetime == Lifetime::Detached {
            std::fs::write(&pid_file, format!("{}\n", child.id())).context("writing a pid file")?;
        }
        Ok(ManagedProcess {
            name: spec.name.clone(),
            log,
            pid_file,
            child: Some(child),
            lifeline,
            lifetime,
            exit: None,
        })
    }

    /// The short name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The process id of the program itself (not its supervisor), once known.
    pub fn pid(&self) -> Option<u32> {
        read_pid(&self.pid_file)
    }

    /// Its exit status if it has exited.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none()
            && let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.exit = Some(status);
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status, or `None` if still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// An error if the process has exited, with the end of its log.
    pub fn check_running(&mut self) -> Result<()> {
        match self.try_exit_status() {
            None => Ok(()),
            Some(status) => Err(Error::ProcessExited {
                name: self.name.clone(),
                status: status.to_string(),
                log: self.log.clone(),
                tail: log_tail(&self.log, 40),
            }),
        }
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Sends `SIGKILL` to the program (to simulate a crash); the handle stays valid.
    pub fn kill_hard(&mut self) -> Result<()> {
        if let Some(pid) = self.pid() {
            signal(pid, "KILL")?;
        }
        Ok(())
    }

    /// Stops the process: `SIGTERM`, then `SIGKILL` after `grace`. Returns its exit status when known.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.lifetime == Lifetime::Detached {
            // Not ours to stop implicitly; `stop_pid_file` is the explicit way.
            return None;
        }
        if let Some(status) = self.try_exit_status() {
            return Some(status);
        }
        // Closing the lifeline makes the supervisor send SIGTERM.
        drop(self.lifeline.take());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.try_exit_status() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.kill_hard();
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            if let Ok(status) = child.wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// Leaves the process running; the handle forgets it.
    pub fn detach(mut self) {
        self.child = None;
        self.lifeline = None;
        self.lifetime = Lifetime::Detached;
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Reads a pid file.
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether process `pid` exists.
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
}

/// Sends a signal (`TERM`, `KILL`, ...) to `pid` with the `kill` utility.
pub fn signal(pid: u32, sig: &str) -> Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    if status.success() || !pid_alive(pid) {
        Ok(())
    } else {
        Err(Error::Other(format!("kill -{sig} {pid} failed ({status})")))
    }
}

/// Stops the process recorded in a pid file (`SIGTERM`, then `SIGKILL` after `grace`) and removes the file.
/// Returns whether a live process was found.
pub fn stop_pid_file(path: &Path, grace: Duration) -> Result<bool> {
    let Some(pid) = read_pid(path) else {
        return Ok(false);
    };
    let alive = pid_alive(pid);
    if alive {
        signal(pid, "TERM")?;
        let deadline = Instant::now() + grace;
        while pid_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if pid_alive(pid) {
            signal(pid, "KILL")?;
        }
    }
    let _ = std::fs::remove_file(path);
    Ok(alive)
}

/// The last `lines` lines of a log file (reads at most its last 256 KiB).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(256 * 1024);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_err() || f.read_to_end(&mut buf).is_err() {
        return format!("(unreadable log at {})", path.display());
    }
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervised_process_stops_and_reports_its_exit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = ProcessSpec::new("sleeper", "sleep").args(["30"]);
        let mut p = ManagedProcess::spawn(&spec, dir.path(), Lifetime::Supervised).expect("spawn");
        let started = Instant::now();
        while p.pid().is_none() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = p.pid().expect("pid file");
        assert!(pid_alive(pid));
        p.check_running().expect("still running");
        let status = p.stop(Duration::from_secs(5)).expect("exit status");
        assert!(!status.success());
        assert!(!pid_alive(pid), "sleep {pid} survived stop()");
    }

    #[test]
    fn closing_the_lifeline_kills_the_program_even_without_stop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = ProcessSpec::new("sleeper", "sleep").args(["30"]);
        let mut p = ManagedProcess::spawn(&spec, dir.path(), Lifetime::Supervised).expect("spawn");
        let started = Instant::now();
        while p.pid().is_none() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = p.pid().expect("pid file");
        // What happens when the harness dies: only the pipe closes.
        drop(p.lifeline.take());
        let started = Instant::now();
        while pid_alive(pid) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!pid_alive(pid), "sleep {pid} survived its lifeline");
    }

    #[test]
    fn exited_process_is_reported_with_its_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = ProcessSpec::new("failer", "sh").args(["-c", "echo boom-line; exit 3"]);
        let mut p = ManagedProcess::spawn(&spec, dir.path(), Lifetime::Supervised).expect("spawn");
        let started = Instant::now();
        while p.try_exit_status().is_none() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let err = p.check_running().expect_err("exited").to_string();
        assert!(err.contains("boom-line") && err.contains('3'), "{err}");
    }
}
