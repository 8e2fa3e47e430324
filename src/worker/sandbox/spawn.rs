//! Starting a worker process with exactly the descriptors it should have: the supervisor's end
//! of a socketpair as descriptor 3 and, optionally, the tenant's media folder as descriptor 4.
//! Every other descriptor is made close-on-exec in the child (even ones the server inherited
//! without the flag), the environment is cleared, `RLIMIT_DATA` caps its memory from the
//! start, and a server running as root starts it as the configured unprivileged user.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::worker::ipc::messages::{WORKER_MEDIA_FD, WORKER_SOCKET_FD};

/// How a worker process starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    /// `RLIMIT_DATA` in bytes (private writable memory: heap, anonymous maps), set before
    /// exec, so a worker cannot grow past it between the supervisor's samples.
    pub data_limit: Option<u64>,
    /// `(uid, gid)` to run as; applied only when the server runs as root.
    pub run_as: Option<(u32, u32)>,
}

/// The lowest `RLIMIT_DATA` a worker gets, whatever the plan says: it must be able to start
/// (a smaller cap is left to the watchdog).
pub const MIN_DATA_LIMIT: u64 = 16 * 1024 * 1024;

/// Spawns `exe worker` and returns the child with the supervisor's end of the socket.
pub fn spawn_worker(
    exe: &Path,
    media_dir: Option<&Path>,
    opts: SpawnOptions,
) -> std::io::Result<(tokio::process::Child, tokio::net::UnixStream)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let media: Option<OwnedFd> = match media_dir {
        Some(p) => Some(OwnedFd::from(std::fs::File::open(p)?)),
        None => None,
    };
    let sock_raw = theirs.as_raw_fd();
    let media_raw = media.as_ref().map(AsRawFd::as_raw_fd);
    let first_other = if media_raw.is_some() {
        WORKER_MEDIA_FD + 1
    } else {
        WORKER_SOCKET_FD + 1
    };
    let data_limit = opts
        .data_limit
        .map(|b| b.max(MIN_DATA_LIMIT) as libc::rlim_t);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let run_as = opts.run_as.filter(|_| unsafe { libc::geteuid() } == 0);
    let open_max = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(65_536)
        .min(65_536) as libc::c_int;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("worker")
        .env_clear()
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and calls only fcntl, dup2,
    // close_range, setrlimit, setgroups, setgid and setuid, which are async-signal-safe; it
    // allocates nothing and touches no locks. The descriptors it reads are kept open in the
    // parent (`theirs`, `media`) until `spawn` returns.
    unsafe {
        cmd.pre_exec(move || {
            // Copy both out of the way first (close-on-exec) so neither target number clobbers the other.
            let s = libc::fcntl(sock_raw, libc::F_DUPFD_CLOEXEC, 10);
            if s < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let m = match media_raw {
                Some(fd) => {
                    let m = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
                    if m < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Some(m)
                }
                None => None,
            };
            // dup2 clears close-on-exec on the new descriptor: these two survive exec.
            if libc::dup2(s, WORKER_SOCKET_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(m) = m
                && libc::dup2(m, WORKER_MEDIA_FD) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // Descriptors the server inherited without close-on-exec (`7>>file` from a shell)
            // must not reach the worker. Marked, not closed: the standard library's own
            // exec-error pipe is among them and must stay open until exec.
            let marked = libc::syscall(
                libc::SYS_close_range,
                first_other as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
            );
            if marked != 0 {
                // Kernels before 5.11: one descriptor at a time (EBADF for the unused ones).
                for fd in first_other..open_max {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            if let Some(limit) = data_limit {
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_DATA, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some((uid, gid)) = run_as {
                // Groups first, while still root; setuid last drops every capability.
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(theirs);
    drop(media);
    ours.set_nonblocking(true)?;
    Ok((child, tokio::net::UnixStream::from_std(ours)?))
}
