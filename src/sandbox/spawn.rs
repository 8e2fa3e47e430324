//! Starting a worker process with exactly the descriptors it should have: the supervisor's end
//! of a socketpair as descriptor 3 and, optionally, the tenant's media folder as descriptor 4.
//! Everything else the server holds is close-on-exec, and the environment is cleared.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::ipc::messages::{WORKER_MEDIA_FD, WORKER_SOCKET_FD};

/// Spawns `exe worker` and returns the child with the supervisor's end of the socket.
pub fn spawn_worker(
    exe: &Path,
    media_dir: Option<&Path>,
) -> std::io::Result<(tokio::process::Child, tokio::net::UnixStream)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let media: Option<OwnedFd> = match media_dir {
        Some(p) => Some(OwnedFd::from(std::fs::File::open(p)?)),
        None => None,
    };
    let sock_raw = theirs.as_raw_fd();
    let media_raw = media.as_ref().map(AsRawFd::as_raw_fd);
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("worker")
        .env_clear()
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and calls only fcntl and dup2,
    // which are async-signal-safe; it allocates nothing and touches no locks. The descriptors
    // it reads are kept open in the parent (`theirs`, `media`) until `spawn` returns.
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
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(theirs);
    drop(media);
    ours.set_nonblocking(true)?;
    Ok((child, tokio::net::UnixStream::from_std(ours)?))
}
