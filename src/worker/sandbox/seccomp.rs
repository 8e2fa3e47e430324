//! The seccomp layer: a deny-list filter (everything not listed is allowed) whose denials
//! return `EPERM`, so the worker sees an ordinary error and can report it instead of dying.
//!
//! It denies what a Telegram worker never needs and an intruder would: exec, debugging other
//! processes, mounts and namespaces, kernel loading, bpf, keyrings, io_uring (which would
//! bypass this filter), changing file metadata, creating or writing files, sockets other than
//! TCP, binding and listening, and signals or scheduling changes aimed at other processes.
//!
//! Compiled with seccompiler (pure Rust); a short hand-written prefix handles what seccompiler
//! cannot express: `clone3` and `openat2` fail with `ENOSYS` (their flags sit behind a pointer
//! the filter cannot read; libc and cap-std fall back to `clone` and `openat`, whose flags it
//! can), and on x86_64 every x32 system call number is refused.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use super::report::{Enforcement, Layer, LayerReport};

// System calls that libc 0.2 does not name yet. Since Linux 5.1 new system calls have the same
// number on every architecture.
const NR_STATMOUNT: i64 = 457;
const NR_LISTMOUNT: i64 = 458;
const NR_LSM_SET_SELF_ATTR: i64 = 460;
const NR_SETXATTRAT: i64 = 463;
const NR_REMOVEXATTRAT: i64 = 466;
const NR_OPEN_TREE_ATTR: i64 = 467;
const NR_FILE_SETATTR: i64 = 469;

type Rules = BTreeMap<i64, Vec<SeccompRule>>;
type BuildResult<T> = Result<T, seccompiler::BackendError>;

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> BuildResult<SeccompCondition> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
}

/// A rule that matches when every condition holds.
fn all(conds: Vec<SeccompCondition>) -> BuildResult<SeccompRule> {
    SeccompRule::new(conds)
}

/// Matches when `(arg & bit) == bit`: one rule per flag bit.
fn any_bit(arg: u8, bits: &[u64]) -> BuildResult<Vec<SeccompRule>> {
    bits.iter()
        .map(|&b| all(vec![cond(arg, SeccompCmpOp::MaskedEq(b), b)?]))
        .collect()
}

/// Matches when `arg` is neither 0 nor `pid` (that is: aimed at another process).
fn not_self(arg: u8, pid: u64) -> BuildResult<Vec<SeccompRule>> {
    Ok(vec![all(vec![
        cond(arg, SeccompCmpOp::Ne, 0)?,
        cond(arg, SeccompCmpOp::Ne, pid)?,
    ])?])
}

/// Matches when `arg` is not `pid` exactly.
fn not_pid(arg: u8, pid: u64) -> BuildResult<Vec<SeccompRule>> {
    Ok(vec![all(vec![cond(arg, SeccompCmpOp::Ne, pid)?])?])
}

/// The system calls denied outright, by name (for the report) and number.
fn unconditional() -> Vec<(&'static str, i64)> {
    use libc::*;
    let mut v = vec![
        // No other program, ever.
        ("execve", SYS_execve),
        ("execveat", SYS_execveat),
        // No looking into or steering other processes.
        ("ptrace", SYS_ptrace),
        ("process_vm_readv", SYS_process_vm_readv),
        ("process_vm_writev", SYS_process_vm_writev),
        ("process_madvise", SYS_process_madvise),
        ("pidfd_getfd", SYS_pidfd_getfd),
        ("pidfd_send_signal", SYS_pidfd_send_signal),
        ("kcmp", SYS_kcmp),
        ("tkill", SYS_tkill),
        // Mounts and the new mount API.
        ("mount", SYS_mount),
        ("umount2", SYS_umount2),
        ("pivot_root", SYS_pivot_root),
        ("chroot", SYS_chroot),
        ("fsopen", SYS_fsopen),
        ("fsconfig", SYS_fsconfig),
        ("fsmount", SYS_fsmount),
        ("fspick", SYS_fspick),
        ("move_mount", SYS_move_mount),
        ("open_tree", SYS_open_tree),
        ("open_tree_attr", NR_OPEN_TREE_ATTR),
        ("mount_setattr", SYS_mount_setattr),
        ("statmount", NR_STATMOUNT),
        ("listmount", NR_LISTMOUNT),
        // Namespaces (clone with CLONE_NEW* is handled below).
        ("unshare", SYS_unshare),
        ("setns", SYS_setns),
        // The kernel itself.
        ("kexec_load", SYS_kexec_load),
        ("kexec_file_load", SYS_kexec_file_load),
        ("reboot", SYS_reboot),
        ("init_module", SYS_init_module),
        ("finit_module", SYS_finit_module),
        ("delete_module", SYS_delete_module),
        ("bpf", SYS_bpf),
        ("perf_event_open", SYS_perf_event_open),
        ("userfaultfd", SYS_userfaultfd),
        ("swapon", SYS_swapon),
        ("swapoff", SYS_swapoff),
        ("syslog", SYS_syslog),
        ("acct", SYS_acct),
        ("quotactl", SYS_quotactl),
        ("quotactl_fd", SYS_quotactl_fd),
        ("vhangup", SYS_vhangup),
        ("settimeofday", SYS_settimeofday),
        ("clock_settime", SYS_clock_settime),
        ("clock_adjtime", SYS_clock_adjtime),
        ("adjtimex", SYS_adjtimex),
        ("sethostname", SYS_sethostname),
        ("setdomainname", SYS_setdomainname),
        ("personality", SYS_personality),
        ("lsm_set_self_attr", NR_LSM_SET_SELF_ATTR),
        // Keyrings.
        ("keyctl", SYS_keyctl),
        ("add_key", SYS_add_key),
        ("request_key", SYS_request_key),
        // io_uring runs operations this filter never sees.
        ("io_uring_setup", SYS_io_uring_setup),
        ("io_uring_enter", SYS_io_uring_enter),
        ("io_uring_register", SYS_io_uring_register),
        // File handles bypass path checks.
        ("name_to_handle_at", SYS_name_to_handle_at),
        ("open_by_handle_at", SYS_open_by_handle_at),
        ("fanotify_init", SYS_fanotify_init),
        // File metadata (landlock does not control it) and filesystem changes: the worker
        // writes no file.
        ("truncate", SYS_truncate),
        ("fchmod", SYS_fchmod),
        ("fchmodat", SYS_fchmodat),
        ("fchmodat2", SYS_fchmodat2),
        ("fchown", SYS_fchown),
        ("fchownat", SYS_fchownat),
        ("setxattr", SYS_setxattr),
        ("lsetxattr", SYS_lsetxattr),
        ("fsetxattr", SYS_fsetxattr),
        ("setxattrat", NR_SETXATTRAT),
        ("removexattr", SYS_removexattr),
        ("lremovexattr", SYS_lremovexattr),
        ("fremovexattr", SYS_fremovexattr),
        ("removexattrat", NR_REMOVEXATTRAT),
        ("file_setattr", NR_FILE_SETATTR),
        ("utimensat", SYS_utimensat),
        ("mkdirat", SYS_mkdirat),
        ("mknodat", SYS_mknodat),
        ("unlinkat", SYS_unlinkat),
        ("renameat", SYS_renameat),
        ("renameat2", SYS_renameat2),
        ("linkat", SYS_linkat),
        ("symlinkat", SYS_symlinkat),
        // No server sockets.
        ("bind", SYS_bind),
        ("listen", SYS_listen),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        ("chmod", SYS_chmod),
        ("chown", SYS_chown),
        ("lchown", SYS_lchown),
        ("utime", SYS_utime),
        ("utimes", SYS_utimes),
        ("futimesat", SYS_futimesat),
        ("creat", SYS_creat),
        ("mkdir", SYS_mkdir),
        ("mknod", SYS_mknod),
        ("rmdir", SYS_rmdir),
        ("unlink", SYS_unlink),
        ("rename", SYS_rename),
        ("link", SYS_link),
        ("symlink", SYS_symlink),
        ("iopl", SYS_iopl),
        ("ioperm", SYS_ioperm),
        ("modify_ldt", SYS_modify_ldt),
        ("uselib", SYS_uselib),
        ("ustat", SYS_ustat),
        ("sysfs", SYS_sysfs),
        ("_sysctl", SYS__sysctl),
        ("nfsservctl", SYS_nfsservctl),
        ("lookup_dcookie", SYS_lookup_dcookie),
    ]);
    v
}

/// The system calls denied only for some arguments.
fn conditional(pid: u64) -> BuildResult<Vec<(&'static str, i64, Vec<SeccompRule>)>> {
    use libc::*;
    let ns_flags: Vec<u64> = [
        CLONE_NEWNS,
        CLONE_NEWCGROUP,
        CLONE_NEWUTS,
        CLONE_NEWIPC,
        CLONE_NEWUSER,
        CLONE_NEWPID,
        CLONE_NEWNET,
        CLONE_NEWTIME,
    ]
    .iter()
    .map(|&f| f as u64)
    .collect();
    // Opening for writing, creating or truncating: the worker writes no file.
    let write_flags = [
        O_WRONLY as u64,
        O_RDWR as u64,
        O_CREAT as u64,
        O_TRUNC as u64,
    ];

    // socket(domain, type, protocol): only TCP over IPv4/IPv6.
    let mut socket = vec![all(vec![
        cond(0, SeccompCmpOp::Ne, AF_INET as u64)?,
        cond(0, SeccompCmpOp::Ne, AF_INET6 as u64)?,
    ])?];
    for ty in 0..16u64 {
        if ty != SOCK_STREAM as u64 {
            socket.push(all(vec![cond(1, SeccompCmpOp::MaskedEq(0xf), ty)?])?);
        }
    }
    socket.push(all(vec![
        cond(2, SeccompCmpOp::Ne, 0)?,
        cond(2, SeccompCmpOp::Ne, IPPROTO_TCP as u64)?,
    ])?);

    #[allow(unused_mut)]
    let mut v = vec![
        ("clone(CLONE_NEW*)", SYS_clone, any_bit(0, &ns_flags)?),
        ("openat(write)", SYS_openat, any_bit(2, &write_flags)?),
        ("socket(non-TCP)", SYS_socket, socket),
        (
            "ioctl(TIOCSTI, TIOCLINUX)",
            SYS_ioctl,
            vec![
                all(vec![cond(1, SeccompCmpOp::Eq, TIOCSTI)?])?,
                all(vec![cond(1, SeccompCmpOp::Eq, TIOCLINUX)?])?,
            ],
        ),
        // Signals only to the worker itself.
        ("kill(other)", SYS_kill, not_pid(0, pid)?),
        ("tgkill(other)", SYS_tgkill, not_pid(0, pid)?),
        (
            "rt_sigqueueinfo(other)",
            SYS_rt_sigqueueinfo,
            not_pid(0, pid)?,
        ),
        (
            "rt_tgsigqueueinfo(other)",
            SYS_rt_tgsigqueueinfo,
            not_pid(0, pid)?,
        ),
        ("pidfd_open(other)", SYS_pidfd_open, not_pid(0, pid)?),
        // Limits and scheduling only for the worker itself.
        ("prlimit64(other)", SYS_prlimit64, not_self(0, pid)?),
        (
            "sched_setaffinity(other)",
            SYS_sched_setaffinity,
            not_self(0, pid)?,
        ),
        (
            "sched_setscheduler(other)",
            SYS_sched_setscheduler,
            not_self(0, pid)?,
        ),
        (
            "sched_setparam(other)",
            SYS_sched_setparam,
            not_self(0, pid)?,
        ),
        ("sched_setattr(other)", SYS_sched_setattr, not_self(0, pid)?),
        ("migrate_pages(other)", SYS_migrate_pages, not_self(0, pid)?),
        ("move_pages(other)", SYS_move_pages, not_self(0, pid)?),
        (
            "setpriority(other)",
            SYS_setpriority,
            vec![
                all(vec![cond(0, SeccompCmpOp::Ne, PRIO_PROCESS as u64)?])?,
                all(vec![
                    cond(1, SeccompCmpOp::Ne, 0)?,
                    cond(1, SeccompCmpOp::Ne, pid)?,
                ])?,
            ],
        ),
        (
            "ioprio_set(other)",
            SYS_ioprio_set,
            vec![
                // IOPRIO_WHO_PROCESS = 1
                all(vec![cond(0, SeccompCmpOp::Ne, 1)?])?,
                all(vec![
                    cond(1, SeccompCmpOp::Ne, 0)?,
                    cond(1, SeccompCmpOp::Ne, pid)?,
                ])?,
            ],
        ),
    ];
    #[cfg(target_arch = "x86_64")]
    v.push(("open(write)", SYS_open, any_bit(1, &write_flags)?));
    Ok(v)
}

/// BPF_LD | BPF_W | BPF_ABS (BPF_LD and BPF_W are 0).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
#[cfg(target_arch = "x86_64")]
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The hand-written prefix: architecture check, x32 refusal (x86_64), and `ENOSYS` for
/// `clone3` and `openat2`. Every path either returns or falls through to the next
/// instruction after the prefix.
fn prefix(audit_arch: u32) -> Vec<sock_filter> {
    let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    let mut p = vec![
        // seccomp_data.arch
        stmt(BPF_LD_W_ABS, 4),
        jump(BPF_JMP_JEQ_K, audit_arch, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        // seccomp_data.nr
        stmt(BPF_LD_W_ABS, 0),
    ];
    #[cfg(target_arch = "x86_64")]
    p.extend([
        // __X32_SYSCALL_BIT: x32 numbers would slip past a deny-list keyed on x86_64 numbers.
        jump(BPF_JMP_JGE_K, 0x4000_0000, 0, 1),
        stmt(BPF_RET_K, SECCOMP_RET_ERRNO | libc::EPERM as u32),
    ]);
    p.extend([
        jump(BPF_JMP_JEQ_K, libc::SYS_clone3 as u32, 0, 1),
        stmt(BPF_RET_K, enosys),
        jump(BPF_JMP_JEQ_K, libc::SYS_openat2 as u32, 0, 1),
        stmt(BPF_RET_K, enosys),
    ]);
    p
}

fn target() -> Option<(TargetArch, u32)> {
    #[cfg(target_arch = "x86_64")]
    return Some((TargetArch::x86_64, 0xC000_003E));
    #[cfg(target_arch = "aarch64")]
    return Some((TargetArch::aarch64, 0xC000_00B7));
    #[allow(unreachable_code)]
    None
}

/// The compiled filter and the names of what it denies.
pub(super) fn program(pid: u32) -> Result<(BpfProgram, Vec<&'static str>), String> {
    let Some((arch, audit_arch)) = target() else {
        return Err(format!(
            "no filter for the {} architecture",
            std::env::consts::ARCH
        ));
    };
    let mut rules: Rules = BTreeMap::new();
    let mut names = Vec::new();
    for (name, nr) in unconditional() {
        rules.insert(nr, Vec::new());
        names.push(name);
    }
    for (name, nr, r) in conditional(u64::from(pid)).map_err(|e| e.to_string())? {
        rules.insert(nr, r);
        names.push(name);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let compiled: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let mut prog = prefix(audit_arch);
    prog.extend(compiled);
    Ok((prog, names))
}

/// Installs the filter on every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`) and
/// checks that the kernel reports filter mode.
pub(super) fn apply() -> LayerReport {
    let (prog, names) = match program(std::process::id()) {
        Ok(p) => p,
        Err(e) => return LayerReport::new(Layer::Seccomp, Enforcement::NotSupported, e),
    };
    if let Err(e) = seccompiler::apply_filter_all_threads(&prog) {
        // EINVAL from seccomp() is either a kernel without filter support or a filter it
        // rejects; PR_GET_SECCOMP tells them apart (it fails without CONFIG_SECCOMP).
        let not_supported = matches!(&e, seccompiler::Error::Seccomp(io)
            if io.raw_os_error() == Some(libc::ENOSYS)
                || (io.raw_os_error() == Some(libc::EINVAL)
                    && rustix::thread::secure_computing_mode().is_err()));
        return LayerReport::new(
            Layer::Seccomp,
            if not_supported {
                Enforcement::NotSupported
            } else {
                Enforcement::Failed
            },
            if not_supported {
                format!("the kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER): {e}")
            } else {
                format!("installing the filter failed: {e}")
            },
        );
    }
    match rustix::thread::secure_computing_mode() {
        Ok(rustix::thread::SecureComputingMode::Filter) => LayerReport::new(
            Layer::Seccomp,
            Enforcement::Enforced,
            format!(
                "filter of {} BPF instructions on all threads: {} system calls or argument \
                 patterns fail with EPERM (exec, ptrace, mounts, namespaces, kexec, modules, \
                 bpf, keyrings, io_uring, file writes and metadata changes, non-TCP sockets, \
                 bind/listen, signals and scheduling aimed at other processes); clone3 and \
                 openat2 fail with ENOSYS{}",
                prog.len(),
                names.len(),
                if cfg!(target_arch = "x86_64") {
                    "; x32 system calls are refused"
                } else {
                    ""
                }
            ),
        ),
        Ok(other) => LayerReport::new(
            Layer::Seccomp,
            Enforcement::Failed,
            format!("filter installed but PR_GET_SECCOMP reports {other:?}"),
        ),
        Err(e) => LayerReport::new(
            Layer::Seccomp,
            Enforcement::Failed,
            format!("filter installed but PR_GET_SECCOMP failed: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_compiles_within_the_kernel_limit() {
        let (prog, names) = program(4242).expect("filter builds");
        assert!(prog.len() < 4096, "{} instructions", prog.len());
        assert!(names.contains(&"execve"));
        assert!(names.contains(&"ptrace"));
    }

    #[test]
    fn prefix_falls_through_to_the_compiled_filter() {
        let p = prefix(0xC000_003E);
        // Every conditional jump stays inside the prefix or lands right after it.
        for (i, ins) in p.iter().enumerate() {
            if ins.code & 0x07 == 0x05 {
                assert!(i + 1 + usize::from(ins.jt) <= p.len());
                assert!(i + 1 + usize::from(ins.jf) <= p.len());
            }
        }
        assert_eq!(p.last().map(|i| i.code), Some(BPF_RET_K));
    }
}
