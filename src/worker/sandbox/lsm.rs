//! The landlock layers: filesystem, network and scopes, in one ruleset.
//!
//! The ruleset is built in the landlock crate's best-effort mode: it asks for everything this
//! build knows, the crate drops what the running kernel lacks, and the kernel's answer (its
//! ABI version and the ruleset status) decides what the report says. Nothing is assumed.

use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, PathFd, RestrictSelfAttr, RestrictionStatus, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetError, RulesetStatus, Scope, make_bitflags,
};

use super::report::{Enforcement, LandlockInfo, Layer, LayerReport};

/// The filesystem rights handled (denied unless a rule grants them): everything landlock can
/// control, up to `LANDLOCK_ACCESS_FS_RESOLVE_UNIX` (ABI 9).
fn fs_handled() -> landlock::BitFlags<AccessFs> {
    AccessFs::from_all(ABI::V9)
}

/// The network rights handled: TCP bind and connect (ABI 4), UDP bind and send (ABI 10).
fn net_handled() -> landlock::BitFlags<AccessNet> {
    AccessNet::from_all(ABI::V10)
}

/// Signals and abstract UNIX sockets (ABI 6).
fn scopes() -> landlock::BitFlags<Scope> {
    Scope::from_all(ABI::V6)
}

/// The three landlock layers and what the kernel said about landlock.
pub(super) struct Outcome {
    pub fs: LayerReport,
    pub net: LayerReport,
    pub scope: LayerReport,
    pub info: LandlockInfo,
}

fn build(
    read_only_dir: Option<&Path>,
    connect_ports: &[u16],
) -> Result<(RestrictionStatus, Option<String>), RulesetError> {
    let mut created = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(fs_handled())?
        .handle_access(net_handled())?
        .scope(scopes())?
        .create()?;
    // A media folder that cannot be opened leaves nothing readable: the sandbox is then
    // stricter, never looser, and the detail says so.
    let mut dir_error = None;
    if let Some(dir) = read_only_dir {
        match PathFd::new(dir) {
            Ok(fd) => {
                created = created.add_rule(PathBeneath::new(
                    fd,
                    make_bitflags!(AccessFs::{ReadFile | ReadDir}),
                ))?;
            }
            Err(e) => dir_error = Some(format!("{}: {e}", dir.display())),
        }
    }
    for &port in connect_ports {
        created = created.add_rule(NetPort::new(port, AccessNet::ConnectTcp))?;
    }
    // ABI 8 can restrict every thread at once; older kernels drop this (best effort) and the
    // report shows `all_threads: false`.
    let created = created.all_threads(true)?;
    Ok((created.restrict_self()?, dir_error))
}

fn abi_number(abi: ABI) -> Option<u32> {
    abi.to_string().parse().ok()
}

pub(super) fn apply(
    read_only_dir: Option<&Path>,
    connect_ports: &[u16],
    threads: Option<usize>,
) -> Outcome {
    let (status, dir_error) = match build(read_only_dir, connect_ports) {
        Ok(s) => s,
        Err(e) => {
            let detail = format!("building or applying the ruleset failed: {e}");
            return Outcome {
                fs: LayerReport::new(Layer::LandlockFs, Enforcement::Failed, detail.clone()),
                net: LayerReport::new(Layer::LandlockNet, Enforcement::Failed, detail.clone()),
                scope: LayerReport::new(Layer::LandlockScope, Enforcement::Failed, detail),
                info: LandlockInfo {
                    status: "unknown".into(),
                    ..LandlockInfo::default()
                },
            };
        }
    };

    let mut info = LandlockInfo {
        all_threads: status.all_threads,
        ..LandlockInfo::default()
    };
    let abi = match status.landlock {
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => {
            info.status = "available".into();
            info.abi = abi_number(effective_abi);
            info.kernel_abi = kernel_abi;
            effective_abi
        }
        LandlockStatus::NotEnabled => {
            info.status = "not_enabled".into();
            let why = "the kernel has landlock but it is not enabled at boot \
                       (landlock_create_ruleset: EOPNOTSUPP; add landlock to the lsm= boot \
                       parameter or CONFIG_LSM)";
            return not_supported(info, why);
        }
        LandlockStatus::NotImplemented => {
            info.status = "not_implemented".into();
            let why = "landlock is not available: the kernel is built without it (needs \
                       CONFIG_SECURITY_LANDLOCK, Linux >= 5.13), or a container's seccomp \
                       profile blocks the landlock system calls";
            return not_supported(info, why);
        }
    };
    if status.ruleset == RulesetStatus::NotEnforced {
        let why = format!(
            "landlock ABI {abi} is available but the kernel reported the ruleset as not enforced"
        );
        return not_supported(info, &why);
    }

    // Landlock restricts the calling thread (and what it starts later); other threads that
    // already run stay free unless ABI 8 restricted them all.
    let thread_gap = match threads {
        Some(n) if n > 1 && !status.all_threads => Some(format!(
            "only the calling thread is restricted: {n} threads were running and landlock ABI \
             {abi} cannot restrict the others (needs ABI 8); apply the sandbox before any \
             thread starts"
        )),
        _ => None,
    };
    let with_gap = |layer: Layer, status: Enforcement, detail: String| match &thread_gap {
        Some(gap) if status == Enforcement::Enforced || status == Enforcement::Partial => {
            LayerReport::new(layer, Enforcement::Partial, format!("{detail}; {gap}"))
        }
        _ => LayerReport::new(layer, status, detail),
    };

    // Filesystem: ABI 1 has reads, writes and creation; truncate is handled from ABI 3 and
    // device ioctls from ABI 5. Cross-directory rename/link (ABI 2) is always denied below 2.
    let mut fs_detail = match read_only_dir {
        Some(dir) if dir_error.is_none() => format!(
            "read-only (read file, list directory) beneath {}, nothing else",
            dir.display()
        ),
        Some(_) => format!(
            "the media folder could not be opened ({}), so nothing is readable",
            dir_error.unwrap_or_default()
        ),
        None => "no folder is readable or writable".into(),
    };
    let mut fs_missing = Vec::new();
    if abi < ABI::V3 {
        fs_missing.push("truncate (ABI 3)");
    }
    if abi < ABI::V5 {
        fs_missing.push("device ioctl (ABI 5)");
    }
    if abi < ABI::V9 {
        fs_detail.push_str(
            "; connecting to pathname UNIX sockets is handled from ABI 9, below that the \
             seccomp layer refuses UNIX sockets",
        );
    }
    let fs = if fs_missing.is_empty() {
        with_gap(
            Layer::LandlockFs,
            Enforcement::Enforced,
            format!("landlock ABI {abi}: {fs_detail}"),
        )
    } else {
        with_gap(
            Layer::LandlockFs,
            Enforcement::Partial,
            format!(
                "landlock ABI {abi}: {fs_detail}; not controlled by this kernel: {}",
                fs_missing.join(", ")
            ),
        )
    };

    // Network: TCP bind/connect from ABI 4; UDP from ABI 10 (seccomp refuses UDP sockets).
    let net = if abi < ABI::V4 {
        LayerReport::new(
            Layer::LandlockNet,
            Enforcement::NotSupported,
            format!(
                "landlock ABI {abi} < 4: the kernel cannot restrict TCP connect/bind \
                 (Linux >= 6.7); the seccomp layer still refuses bind, listen and non-TCP \
                 sockets"
            ),
        )
    } else {
        let ports: Vec<String> = connect_ports.iter().map(u16::to_string).collect();
        let mut detail = format!(
            "landlock ABI {abi}: TCP connect only to port(s) [{}], no TCP bind",
            ports.join(", ")
        );
        if abi < ABI::V10 {
            detail.push_str("; UDP is handled from ABI 10, below that seccomp refuses UDP sockets");
        } else {
            detail.push_str(", no UDP");
        }
        with_gap(Layer::LandlockNet, Enforcement::Enforced, detail)
    };

    let scope = if abi < ABI::V6 {
        LayerReport::new(
            Layer::LandlockScope,
            Enforcement::NotSupported,
            format!(
                "landlock ABI {abi} < 6: no signal or abstract UNIX socket scoping (Linux >= \
                 6.12); the seccomp layer still limits signals to the worker itself"
            ),
        )
    } else {
        with_gap(
            Layer::LandlockScope,
            Enforcement::Enforced,
            format!(
                "landlock ABI {abi}: no signals to, no abstract UNIX sockets of processes \
                 outside the sandbox"
            ),
        )
    };

    Outcome {
        fs,
        net,
        scope,
        info,
    }
}

fn not_supported(info: LandlockInfo, why: &str) -> Outcome {
    Outcome {
        fs: LayerReport::new(Layer::LandlockFs, Enforcement::NotSupported, why),
        net: LayerReport::new(Layer::LandlockNet, Enforcement::NotSupported, why),
        scope: LayerReport::new(Layer::LandlockScope, Enforcement::NotSupported, why),
        info,
    }
}
