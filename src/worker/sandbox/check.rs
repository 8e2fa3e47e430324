//! `botyard sandbox-check`: applies the worker sandbox to this process, tries what a worker
//! may and may not do, and prints the report with each probe's outcome.
//!
//! It runs in its own short-lived process (the sandbox is irreversible) and must be called
//! before any thread or runtime starts; `main` dispatches to [`run`] straight after parsing
//! the command line.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use serde::Serialize;

use super::{SandboxPolicy, SandboxReport, apply, open_media_dir};

/// Arguments of `botyard sandbox-check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The folder the sandbox leaves readable (a tenant's media folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A TCP port the sandbox allows connecting to (repeatable).
    #[arg(long = "allow-port", value_name = "PORT")]
    pub allow_ports: Vec<u16>,
    /// Try to read this file or list this folder (repeatable).
    #[arg(long = "probe-read", value_name = "PATH")]
    pub probe_read: Vec<PathBuf>,
    /// Try to create or append to this file (repeatable).
    #[arg(long = "probe-write", value_name = "PATH")]
    pub probe_write: Vec<PathBuf>,
    /// Try to run this program (repeatable).
    #[arg(long = "probe-exec", value_name = "PATH")]
    pub probe_exec: Vec<PathBuf>,
    /// Try a TCP connection (repeatable; resolved before the sandbox is applied).
    #[arg(long = "probe-connect", value_name = "HOST:PORT")]
    pub probe_connect: Vec<String>,
    /// Try to bind a TCP listener (repeatable).
    #[arg(long = "probe-bind", value_name = "HOST:PORT")]
    pub probe_bind: Vec<String>,
    /// RLIMIT_NOFILE to apply.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_open_files: u64,
    /// RLIMIT_FSIZE to apply, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Exit with status 3 unless every required layer is enforced (like `sandbox.require`).
    #[arg(long)]
    pub require: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl CheckArgs {
    fn has_probes(&self) -> bool {
        !(self.probe_read.is_empty()
            && self.probe_write.is_empty()
            && self.probe_exec.is_empty()
            && self.probe_connect.is_empty()
            && self.probe_bind.is_empty())
    }
}

/// What a probe ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It worked.
    Allowed,
    /// Refused with `EACCES` (landlock) or `EPERM` (seccomp).
    Denied,
    /// Failed for another reason (no such file, connection refused, …).
    Error,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

/// One probe and its outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    /// `read`, `write`, `exec`, `connect`, `bind`, `media_dir`, `thread`, `runtime`,
    /// `socket`, `signal` or `chmod`.
    pub kind: &'static str,
    pub target: String,
    pub outcome: Outcome,
    pub errno: Option<i32>,
    /// The errno's symbolic name, e.g. `EACCES`.
    pub errno_name: Option<String>,
    pub error: Option<String>,
    /// What the full sandbox should answer.
    pub expected: Outcome,
    pub as_expected: bool,
}

/// The whole output of `sandbox-check`.
#[derive(Clone, Debug, Serialize)]
pub struct CheckOutput {
    pub report: SandboxReport,
    pub fully_enforced: bool,
    pub probes: Vec<Probe>,
}

fn errno_name(n: i32) -> String {
    let name = match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EBADF => "EBADF",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::EROFS => "EROFS",
        libc::ENOSYS => "ENOSYS",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EMFILE => "EMFILE",
        libc::EFBIG => "EFBIG",
        _ => return format!("errno {n}"),
    };
    name.to_string()
}

fn probe(
    kind: &'static str,
    target: String,
    expected: Outcome,
    result: std::io::Result<()>,
) -> Probe {
    let (outcome, errno, error) = match result {
        Ok(()) => (Outcome::Allowed, None, None),
        Err(e) => {
            let errno = e.raw_os_error();
            let outcome = match errno {
                Some(libc::EACCES) | Some(libc::EPERM) => Outcome::Denied,
                _ => Outcome::Error,
            };
            (outcome, errno, Some(e.to_string()))
        }
    };
    Probe {
        kind,
        target,
        outcome,
        errno,
        errno_name: errno.map(errno_name),
        error,
        expected,
        as_expected: outcome == expected,
    }
}

fn try_read(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries = std::fs::read_dir(path)?;
        if let Some(e) = entries.next() {
            e?;
        }
    } else {
        let mut buf = [0u8; 64];
        let _bytes = std::fs::File::open(path)?.read(&mut buf)?;
    }
    Ok(())
}

fn try_write(path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(b"botyard sandbox-check\n")
}

fn try_exec(path: &Path) -> std::io::Result<()> {
    // Standard streams are inherited: opening /dev/null is itself refused in the sandbox.
    Command::new(path)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map(|_| ())
}

fn try_connect(addr: &SocketAddr) -> std::io::Result<()> {
    TcpStream::connect_timeout(addr, Duration::from_secs(3)).map(|_| ())
}

fn try_bind(addr: &SocketAddr) -> std::io::Result<()> {
    TcpListener::bind(addr).map(|_| ())
}

/// A thread can still start (glibc falls back from `clone3`, which seccomp answers with
/// `ENOSYS`, to `clone`).
fn try_thread() -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("probe".into())
        .spawn(|| 42)?
        .join()
        .map_err(|_| std::io::Error::other("probe thread panicked"))
        .map(|_| ())
}

/// The worker's runtime still works: a current-thread tokio runtime with its timer, I/O
/// driver and a blocking-pool thread.
fn try_runtime() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        tokio::task::spawn_blocking(|| 42)
            .await
            .map_err(std::io::Error::other)
            .map(|_| ())
    })
}

/// `clone(CLONE_NEWUSER)`: a new user namespace (the door to mounts and more inside it).
fn try_user_namespace() -> std::io::Result<()> {
    let flags = (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_long;
    // SAFETY: a fork-like clone (no CLONE_VM, no new stack: the child gets a copy-on-write
    // copy of this process). The child only calls `_exit`, which is async-signal-safe, so it
    // touches no lock or allocator state copied from other threads.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match pid {
        0 => {
            // SAFETY: in the child; `_exit` ends it without running any destructor.
            unsafe { libc::_exit(0) }
        }
        n if n < 0 => Err(std::io::Error::last_os_error()),
        n => {
            let pid = rustix::process::Pid::from_raw(n as i32)
                .ok_or_else(|| std::io::Error::other("clone returned an invalid pid"))?;
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            Ok(())
        }
    }
}

fn try_udp() -> std::io::Result<()> {
    std::net::UdpSocket::bind("127.0.0.1:0").map(|_| ())
}

fn try_unix_socket() -> std::io::Result<()> {
    // socket(AF_UNIX) itself is refused; the path need not exist.
    std::os::unix::net::UnixStream::connect("/run/botyard-sandbox-check-no-such.sock").map(|_| ())
}

/// `kill(parent, 0)`: the permission check of a signal, without sending one.
fn try_signal_parent() -> std::io::Result<()> {
    let parent =
        rustix::process::getppid().ok_or_else(|| std::io::Error::other("no parent process"))?;
    rustix::process::test_kill_process(parent).map_err(std::io::Error::from)
}

/// Changes the mode of `path` to the mode it already has (so a missing sandbox changes
/// nothing).
fn try_chmod(path: &Path, perms: Option<std::fs::Permissions>) -> std::io::Result<()> {
    let perms = perms.ok_or_else(|| std::io::Error::other("could not read the mode first"))?;
    std::fs::set_permissions(path, perms)
}

fn resolve(target: &str) -> Result<SocketAddr, String> {
    target
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target} resolves to no address"))
}

/// A path as the kernel will see it: canonical when it exists, else its canonical parent
/// joined with the name.
fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|c| c.join(name))
            .unwrap_or_else(|_| p.to_path_buf()),
        _ => p.to_path_buf(),
    }
}

/// Runs `botyard sandbox-check`. Call it from a fresh single-threaded process.
pub fn run(args: &CheckArgs) -> ExitCode {
    // Everything that needs the filesystem or name resolution happens before the sandbox.
    let mut args = args.clone();
    let self_test = !args.has_probes();
    let mut keep_listeners = Vec::new();
    if self_test {
        args.probe_read.push(PathBuf::from("/etc/passwd"));
        if let Some(dir) = &args.dir {
            args.probe_read.push(dir.clone());
        }
        args.probe_write.push(
            std::env::temp_dir().join(format!("botyard-sandbox-check-{}", std::process::id())),
        );
        if let Some(t) = ["/bin/true", "/usr/bin/true"]
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
        {
            args.probe_exec.push(t.to_path_buf());
        }
        // One loopback listener on an allowed port, one on a port that is not allowed.
        for allowed in [true, false] {
            if let Ok(l) = TcpListener::bind("127.0.0.1:0")
                && let Ok(addr) = l.local_addr()
            {
                if allowed {
                    args.allow_ports.push(addr.port());
                }
                args.probe_connect.push(addr.to_string());
                keep_listeners.push(l);
            }
        }
        args.probe_bind.push("127.0.0.1:0".into());
    }

    let dir = args.dir.as_deref().map(canonical);
    let readable = |p: &Path| match &dir {
        Some(d) => canonical(p).starts_with(d),
        None => false,
    };
    let reads: Vec<(PathBuf, Outcome)> = args
        .probe_read
        .iter()
        .map(|p| {
            let expected = if readable(p) {
                Outcome::Allowed
            } else {
                Outcome::Denied
            };
            (p.clone(), expected)
        })
        .collect();
    let connects: Vec<(String, Result<SocketAddr, String>)> = args
        .probe_connect
        .iter()
        .map(|t| (t.clone(), resolve(t)))
        .collect();
    let binds: Vec<(String, Result<SocketAddr, String>)> = args
        .probe_bind
        .iter()
        .map(|t| (t.clone(), resolve(t)))
        .collect();
    let media = args.dir.as_ref().map(|d| (d.clone(), open_media_dir(d)));
    let dir_perms = args
        .dir
        .as_ref()
        .map(|d| std::fs::metadata(d).map(|m| m.permissions()).ok());

    let policy = SandboxPolicy {
        read_only_dir: args.dir.clone(),
        connect_ports: args.allow_ports.clone(),
        max_open_files: args.max_open_files,
        max_file_size: args.max_file_size,
    };
    let report = apply(&policy);

    let mut probes = Vec::new();
    if let Some((path, dir)) = media {
        let result = dir.and_then(|d| {
            let mut entries = d.entries()?;
            if let Some(e) = entries.next() {
                e?;
            }
            Ok(())
        });
        probes.push(probe(
            "media_dir",
            path.display().to_string(),
            Outcome::Allowed,
            result,
        ));
    }
    for (path, expected) in &reads {
        probes.push(probe(
            "read",
            path.display().to_string(),
            *expected,
            try_read(path),
        ));
    }
    for path in &args.probe_write {
        probes.push(probe(
            "write",
            path.display().to_string(),
            Outcome::Denied,
            try_write(path),
        ));
    }
    for path in &args.probe_exec {
        probes.push(probe(
            "exec",
            path.display().to_string(),
            Outcome::Denied,
            try_exec(path),
        ));
    }
    for (target, addr) in &connects {
        let (expected, result) = match addr {
            Ok(a) => (
                if policy.connect_ports.contains(&a.port()) {
                    Outcome::Allowed
                } else {
                    Outcome::Denied
                },
                try_connect(a),
            ),
            Err(e) => (Outcome::Denied, Err(std::io::Error::other(e.clone()))),
        };
        probes.push(probe("connect", target.clone(), expected, result));
    }
    for (target, addr) in &binds {
        let result = match addr {
            Ok(a) => try_bind(a),
            Err(e) => Err(std::io::Error::other(e.clone())),
        };
        probes.push(probe("bind", target.clone(), Outcome::Denied, result));
    }
    // Always: what the worker needs keeps working, and what seccomp refuses is refused.
    probes.push(probe(
        "thread",
        "std::thread::spawn".into(),
        Outcome::Allowed,
        try_thread(),
    ));
    probes.push(probe(
        "runtime",
        "tokio runtime".into(),
        Outcome::Allowed,
        try_runtime(),
    ));
    probes.push(probe(
        "namespace",
        "clone(CLONE_NEWUSER)".into(),
        Outcome::Denied,
        try_user_namespace(),
    ));
    probes.push(probe("socket", "UDP".into(), Outcome::Denied, try_udp()));
    probes.push(probe(
        "socket",
        "UNIX".into(),
        Outcome::Denied,
        try_unix_socket(),
    ));
    probes.push(probe(
        "signal",
        "parent process".into(),
        Outcome::Denied,
        try_signal_parent(),
    ));
    if let (Some(dir), Some(perms)) = (&args.dir, dir_perms) {
        probes.push(probe(
            "chmod",
            dir.display().to_string(),
            Outcome::Denied,
            try_chmod(dir, perms),
        ));
    }
    if self_test {
        // Only reachable when the sandbox let the write through.
        for path in &args.probe_write {
            let _ = std::fs::remove_file(path);
        }
    }
    drop(keep_listeners);

    let out = CheckOutput {
        fully_enforced: report.fully_enforced(),
        report,
        probes,
    };
    if args.json {
        match serde_json::to_string_pretty(&out) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("botyard: sandbox-check: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", text(&out, self_test));
    }
    if args.require && !out.fully_enforced {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

fn text(out: &CheckOutput, self_test: bool) -> String {
    use std::fmt::Write as _;
    let r = &out.report;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "botyard sandbox-check: kernel {}, landlock {}{}",
        r.kernel_release.as_deref().unwrap_or("unknown"),
        r.landlock.status,
        r.landlock
            .abi
            .map(|a| format!(" (ABI {a})"))
            .unwrap_or_default()
    );
    let _ = writeln!(s);
    for l in &r.layers {
        let _ = writeln!(
            s,
            "  {:<15} {:<14} {}{}",
            l.layer.name(),
            l.status.name(),
            if l.required { "" } else { "(optional) " },
            l.detail
        );
    }
    let _ = writeln!(s);
    if !out.probes.is_empty() {
        let _ = writeln!(
            s,
            "probes{}:",
            if self_test {
                " (built-in self-test)"
            } else {
                ""
            }
        );
        for p in &out.probes {
            let outcome = match (&p.outcome, &p.errno_name) {
                (Outcome::Allowed, _) => "allowed".to_string(),
                (Outcome::Denied, Some(e)) => format!("denied ({e})"),
                (Outcome::Error, Some(e)) => format!("error ({e})"),
                (o, None) => format!(
                    "{} ({})",
                    if *o == Outcome::Denied {
                        "denied"
                    } else {
                        "error"
                    },
                    p.error.as_deref().unwrap_or("")
                ),
            };
            let _ = writeln!(
                s,
                "  {:<9} {:<40} {:<22} {}",
                p.kind,
                p.target,
                outcome,
                if p.as_expected {
                    "ok".to_string()
                } else {
                    format!("UNEXPECTED (expected {})", p.expected.name())
                }
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "{}",
        if out.fully_enforced {
            "every required layer is enforced"
        } else {
            "NOT fully enforced: see the layers above (sandbox.require = true would refuse to \
             start workers)"
        }
    );
    s
}
