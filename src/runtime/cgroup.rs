//! Memory caps in a delegated cgroup v2 subtree. When the service manager delegated our cgroup
//! (systemd `Delegate=yes`) with the memory controller, each worker gets a child cgroup with
//! `memory.max` set to its plan's cap and the kernel enforces it; otherwise the supervisor's
//! watchdog restarts a worker over the cap.
//!
//! Layout under our cgroup `X`: `X/server` holds this process (cgroup v2 allows controllers
//! for children only when the parent holds no process), `X/worker-<key>` one worker each.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup: {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { what, path, source }
}

/// Why no delegated cgroup is used (said once in the log at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotDelegated {
    /// No `0::` line: the host runs cgroup v1 only, or hybrid without our path.
    NoUnifiedHierarchy,
    /// Our cgroup offers no memory controller.
    NoMemoryController,
    /// We may not write our cgroup's `cgroup.subtree_control`.
    NotWritable,
}

impl std::fmt::Display for NotDelegated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotDelegated::NoUnifiedHierarchy => "no cgroup v2 hierarchy for this process",
            NotDelegated::NoMemoryController => "the memory controller is not delegated",
            NotDelegated::NotWritable => "this process may not manage its cgroup",
        })
    }
}

/// Our own cgroup v2 folder, from `/proc/self/cgroup` and the mount point of cgroup2.
pub fn own_dir(proc_self_cgroup: &str, mount: &Path) -> Option<PathBuf> {
    proc_self_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| mount.join(p.trim().trim_start_matches('/')))
}

/// A delegated subtree where workers get memory caps.
#[derive(Debug)]
pub struct Delegated {
    dir: PathBuf,
}

impl Delegated {
    /// Checks `dir` is ours to manage with the memory controller, moves this process into
    /// `dir/server` and enables the memory controller for the workers' cgroups.
    pub fn setup(dir: &Path) -> Result<Result<Delegated, NotDelegated>, CgroupError> {
        match check(dir) {
            Ok(()) => Self::enter(dir).map(Ok),
            Err(why) => Ok(Err(why)),
        }
    }

    /// Takes over `dir` without checking it was delegated (the caller knows it was): moves
    /// this process into `dir/server` and enables the memory controller for workers.
    pub fn enter(dir: &Path) -> Result<Delegated, CgroupError> {
        let subtree = dir.join("cgroup.subtree_control");
        let server = dir.join("server");
        fs::create_dir_all(&server).map_err(io("creating", &server))?;
        let procs = server.join("cgroup.procs");
        write(&procs, &std::process::id().to_string())?;
        write(&subtree, "+memory")?;
        Ok(Delegated {
            dir: dir.to_path_buf(),
        })
    }

    /// Detects delegation on this host (`/proc/self/cgroup`, cgroup2 at `/sys/fs/cgroup`).
    pub fn detect() -> Result<Result<Delegated, NotDelegated>, CgroupError> {
        let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
            return Ok(Err(NotDelegated::NoUnifiedHierarchy));
        };
        match own_dir(&own, Path::new("/sys/fs/cgroup")) {
            Some(dir) => Self::setup(&dir),
            None => Ok(Err(NotDelegated::NoUnifiedHierarchy)),
        }
    }

    pub fn worker_dir(&self, name: &str) -> PathBuf {
        self.dir.join(format!("worker-{name}"))
    }

    /// Puts a started worker into its own cgroup capped at `limit_mb` (no cap when `None`).
    pub fn place(&self, name: &str, pid: u32, limit_mb: Option<u32>) -> Result<(), CgroupError> {
        let dir = self.worker_dir(name);
        fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let max = match limit_mb {
            Some(mb) => (u64::from(mb) * 1024 * 1024).to_string(),
            None => "max".to_string(),
        };
        write(&dir.join("memory.max"), &max)?;
        // Swapping a worker out would only hide it from the cap.
        let _ = write(&dir.join("memory.swap.max"), "0");
        write(&dir.join("cgroup.procs"), &pid.to_string())
    }

    /// How often the kernel killed a process of this worker's cgroup for memory.
    pub fn oom_kills(&self, name: &str) -> u64 {
        fs::read_to_string(self.worker_dir(name).join("memory.events"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Removes a worker's cgroup once its process is gone.
    pub fn remove(&self, name: &str) {
        let dir = self.worker_dir(name);
        if let Err(e) = fs::remove_dir(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %dir.display(), error = %e, "cannot remove a worker cgroup");
        }
    }
}

/// Whether `dir` is ours to manage with the memory controller; changes nothing.
pub fn check(dir: &Path) -> Result<(), NotDelegated> {
    let Ok(list) = fs::read_to_string(dir.join("cgroup.controllers")) else {
        return Err(NotDelegated::NoUnifiedHierarchy);
    };
    if !list.split_whitespace().any(|c| c == "memory") {
        return Err(NotDelegated::NoMemoryController);
    }
    let subtree = dir.join("cgroup.subtree_control");
    if rustix::fs::access(&subtree, rustix::fs::Access::WRITE_OK).is_err() {
        return Err(NotDelegated::NotWritable);
    }
    // Root may write anywhere; only a subtree the service manager handed over is ours.
    if rustix::process::geteuid().is_root() && !delegated_by_systemd(dir) {
        return Err(NotDelegated::NotWritable);
    }
    Ok(())
}

/// This process's cgroup folder when it is delegated, else why not (and the folder, when
/// known); changes nothing.
pub fn check_own() -> Result<PathBuf, (Option<PathBuf>, NotDelegated)> {
    let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
        return Err((None, NotDelegated::NoUnifiedHierarchy));
    };
    let Some(dir) = own_dir(&own, Path::new("/sys/fs/cgroup")) else {
        return Err((None, NotDelegated::NoUnifiedHierarchy));
    };
    match check(&dir) {
        Ok(()) => Ok(dir),
        Err(why) => Err((Some(dir), why)),
    }
}

/// systemd marks a cgroup it delegated (`Delegate=yes`) with the `trusted.delegate` (or, for
/// user managers, `user.delegate`) extended attribute.
fn delegated_by_systemd(dir: &Path) -> bool {
    ["trusted.delegate", "user.delegate"].iter().any(|name| {
        let mut v = [0u8; 8];
        rustix::fs::getxattr(dir, *name, &mut v[..]).is_ok_and(|n| v[..n].starts_with(b"1"))
    })
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io("opening", path))?;
    f.write_all(value.as_bytes()).map_err(io("writing", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_dir_reads_the_unified_line() {
        let hybrid = "4:memory:/x\n0::/system.slice/botyard.service\n";
        assert_eq!(
            own_dir(hybrid, Path::new("/sys/fs/cgroup")),
            Some(PathBuf::from("/sys/fs/cgroup/system.slice/botyard.service"))
        );
        assert_eq!(own_dir("4:memory:/x\n", Path::new("/m")), None);
    }

    /// A cgroup folder laid out as the kernel would (the files are plain files here).
    fn fake(controllers: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cgroup.controllers"), controllers).unwrap();
        fs::write(d.path().join("cgroup.subtree_control"), "").unwrap();
        d
    }

    #[test]
    fn a_delegated_folder_gets_server_and_worker_cgroups() {
        let d = fake("cpu memory pids\n");
        let g = Delegated::enter(d.path()).unwrap();
        let own = fs::read_to_string(d.path().join("server/cgroup.procs")).unwrap();
        assert_eq!(own, std::process::id().to_string());
        assert_eq!(
            fs::read_to_string(d.path().join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
        g.place("42", 4242, Some(64)).unwrap();
        let w = d.path().join("worker-42");
        assert_eq!(
            fs::read_to_string(w.join("memory.max")).unwrap(),
            (64u64 << 20).to_string()
        );
        assert_eq!(fs::read_to_string(w.join("cgroup.procs")).unwrap(), "4242");
        fs::write(
            w.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        assert_eq!(g.oom_kills("42"), 1);
        assert_eq!(g.oom_kills("7"), 0);
        g.place("platform", 1, None).unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("worker-platform/memory.max")).unwrap(),
            "max"
        );
    }

    #[test]
    fn what_is_not_delegated_is_said() {
        let d = fake("cpu pids\n");
        assert_eq!(
            Delegated::setup(d.path()).unwrap().unwrap_err(),
            NotDelegated::NoMemoryController
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            Delegated::setup(empty.path()).unwrap().unwrap_err(),
            NotDelegated::NoUnifiedHierarchy
        );
    }
}
