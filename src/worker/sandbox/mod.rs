//! The worker sandbox.
//!
//! A tenant's worker applies it to itself, before any thread starts, with [`apply`]:
//!
//! 1. `no_new_privs`;
//! 2. rlimits: `RLIMIT_CORE` = 0, `RLIMIT_NOFILE`, `RLIMIT_FSIZE` (the supervisor set
//!    `RLIMIT_DATA` from the plan before exec);
//! 3. capabilities: every set emptied, the bounding set too;
//! 4. landlock: read-only on the tenant's media folder and nothing else; TCP connect only to
//!    the allowed ports, no bind; no signals or abstract sockets beyond the sandbox;
//! 5. seccomp: exec, ptrace, mount, kexec, bpf, modules, namespaces, keyrings, io_uring, file
//!    writes and metadata changes, non-TCP sockets, … fail with `EPERM`.
//!
//! What the kernel lacks is detected and reported in a [`SandboxReport`], never assumed;
//! [`SandboxReport::require`] turns a report that misses a required layer into an error
//! (`sandbox.require = true`).
//!
//! The only filesystem handle the worker's Telegram code gets is a [`cap_std::fs::Dir`] for the
//! media folder: open it before applying the sandbox with [`open_media_dir`], or take it from a
//! descriptor the supervisor passed with [`inherited_fd`] and [`media_dir_from_fd`].
//!
//! `botyard sandbox-check` ([`check`]) applies the sandbox to itself and probes it, so an
//! operator sees what the kernel enforces.

pub mod check;
mod lsm;
mod process;
mod report;
mod seccomp;
pub mod spawn;

use std::collections::HashSet;
use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use report::{
    Enforcement, LandlockInfo, Layer, LayerReport, LimitValue, Limits, SandboxIncomplete,
    SandboxReport,
};

/// Telegram's ports: HTTPS, HTTP and the alternative MTProto port.
pub const TELEGRAM_PORTS: [u16; 3] = [443, 80, 5222];

/// What the sandboxed worker may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// Folder the worker may read (its tenant's media folder); nothing else on the filesystem.
    pub read_only_dir: Option<PathBuf>,
    /// TCP ports the worker may connect to (Telegram's: 443, 80, 5222 in production; tests
    /// pass a loopback port).
    pub connect_ports: Vec<u16>,
    /// Max open files.
    pub max_open_files: u64,
    /// Max size of a file the worker may write, bytes.
    pub max_file_size: u64,
}

impl SandboxPolicy {
    /// The production policy: Telegram's ports, 256 open files, 16 MiB files.
    pub fn telegram(read_only_dir: Option<PathBuf>) -> Self {
        SandboxPolicy {
            read_only_dir,
            connect_ports: TELEGRAM_PORTS.to_vec(),
            max_open_files: 256,
            max_file_size: 16 * 1024 * 1024,
        }
    }
}

/// Threads of this process, from `/proc/self/task` (None when /proc is not mounted).
fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|d| d.filter(|e| e.is_ok()).count())
}

fn kernel_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Applies the sandbox to the calling process, in this order: `no_new_privs`; rlimits;
/// capabilities; landlock; seccomp. Irreversible.
///
/// Call it before any thread starts (before a tokio runtime is built): below landlock ABI 8
/// only the calling thread is restricted (the report shows `threads` and marks the landlock
/// layers partial when others ran). Open the media folder first ([`open_media_dir`]): after
/// this call nothing else can be opened.
///
/// Never fails: what could not be applied is in the report, with the reason. Use
/// [`SandboxReport::require`] or [`apply_required`] to refuse to run without the full sandbox.
pub fn apply(policy: &SandboxPolicy) -> SandboxReport {
    // Read before landlock closes /proc and the rest of the filesystem.
    let threads = thread_count();
    let kernel_release = kernel_release();

    let nnp = process::no_new_privs();
    let (rlimits, limits) = process::rlimits(policy.max_open_files, policy.max_file_size);
    let caps = process::drop_capabilities();
    let ll = lsm::apply(
        policy.read_only_dir.as_deref(),
        &policy.connect_ports,
        threads,
    );
    let seccomp = seccomp::apply();

    SandboxReport {
        layers: vec![nnp, rlimits, caps, ll.fs, ll.net, ll.scope, seccomp],
        landlock: ll.info,
        limits,
        threads,
        kernel_release,
    }
}

/// [`apply`] in require mode (`sandbox.require = true`): the report when every required layer
/// is enforced, else an error listing the missing ones. The sandbox is applied either way;
/// the caller should send the report or error to the supervisor and exit.
pub fn apply_required(policy: &SandboxPolicy) -> Result<SandboxReport, SandboxIncomplete> {
    let report = apply(policy);
    report.require()?;
    Ok(report)
}

/// Opens the tenant's media folder as a capability handle. Call it before [`apply`]; the
/// handle keeps working after, for files beneath it only.
pub fn open_media_dir(path: impl AsRef<Path>) -> io::Result<cap_std::fs::Dir> {
    cap_std::fs::Dir::open_ambient_dir(path, cap_std::ambient_authority())
}

/// Turns a descriptor of a directory (for example one the supervisor passed) into the media
/// folder handle. Fails when it is not a directory.
pub fn media_dir_from_fd(fd: OwnedFd) -> io::Result<cap_std::fs::Dir> {
    let stat = rustix::fs::fstat(&fd)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Directory {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the media folder descriptor is not a directory",
        ));
    }
    Ok(cap_std::fs::Dir::from_std_file(std::fs::File::from(fd)))
}

/// Descriptors already taken with [`inherited_fd`].
static CLAIMED: Mutex<Option<HashSet<RawFd>>> = Mutex::new(None);

/// Takes ownership of a descriptor this process inherited at exec (the supervisor's socketpair,
/// the media folder). Refuses standard input/output/error, a descriptor already taken, and one
/// that is not open; marks it close-on-exec.
///
/// Call it at start-up, before this process opens files of its own: a descriptor number this
/// process opened itself is owned elsewhere and must not be claimed.
pub fn inherited_fd(raw: RawFd) -> io::Result<OwnedFd> {
    if raw < 3 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "descriptors 0-2 are standard input/output/error",
        ));
    }
    let mut claimed = CLAIMED
        .lock()
        .map_err(|_| io::Error::other("inherited descriptor registry poisoned"))?;
    let claimed = claimed.get_or_insert_with(HashSet::new);
    if claimed.contains(&raw) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("descriptor {raw} was already taken"),
        ));
    }
    // SAFETY: the borrow lives only for this check; fcntl on a closed number fails with EBADF
    // and touches nothing.
    let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
    let flags = rustix::io::fcntl_getfd(borrowed)?;
    rustix::io::fcntl_setfd(borrowed, flags | rustix::io::FdFlags::CLOEXEC)?;
    claimed.insert(raw);
    // SAFETY: `raw` is open (fcntl succeeded), is not 0-2, and was not taken before through
    // this function (the registry above); the caller's contract (start-up, inherited at exec)
    // means no other object in this process owns it. The OwnedFd becomes its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
