//! `no_new_privs`, capabilities and resource limits.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use super::report::{Enforcement, Layer, LayerReport, LimitValue, Limits};

/// Sets `no_new_privs` and reads it back.
pub(super) fn no_new_privs() -> LayerReport {
    if let Err(e) = rustix::thread::set_no_new_privs(true) {
        return LayerReport::new(
            Layer::NoNewPrivs,
            // prctl(PR_SET_NO_NEW_PRIVS) exists since Linux 3.5; EINVAL means an older kernel.
            if e == rustix::io::Errno::INVAL {
                Enforcement::NotSupported
            } else {
                Enforcement::Failed
            },
            format!("prctl(PR_SET_NO_NEW_PRIVS): {e}"),
        );
    }
    match rustix::thread::no_new_privs() {
        Ok(true) => LayerReport::new(
            Layer::NoNewPrivs,
            Enforcement::Enforced,
            "set; read back with PR_GET_NO_NEW_PRIVS",
        ),
        Ok(false) => LayerReport::new(
            Layer::NoNewPrivs,
            Enforcement::Failed,
            "PR_GET_NO_NEW_PRIVS reads 0 after it was set",
        ),
        Err(e) => LayerReport::new(
            Layer::NoNewPrivs,
            Enforcement::Failed,
            format!("prctl(PR_GET_NO_NEW_PRIVS): {e}"),
        ),
    }
}

/// Drops every capability: the bounding set first (while `CAP_SETPCAP` is still held), then
/// the ambient set, then effective, permitted and inheritable; reads them back.
pub(super) fn drop_capabilities() -> LayerReport {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    let mut errors = Vec::new();
    // Bounding-set entries this process may not drop (it lacks CAP_SETPCAP, as under a
    // systemd unit that grants CAP_NET_BIND_SERVICE alone).
    let mut kept = Vec::new();
    for cap in CapabilitySet::all().iter() {
        // EINVAL: a capability this kernel does not know.
        match rustix::thread::capability_is_in_bounding_set(cap) {
            Ok(true) => match rustix::thread::remove_capability_from_bounding_set(cap) {
                Ok(()) => {}
                Err(rustix::io::Errno::PERM) => kept.push(cap),
                Err(e) => errors.push(format!("PR_CAPBSET_DROP {cap:?}: {e}")),
            },
            Ok(false) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => errors.push(format!("PR_CAPBSET_READ {cap:?}: {e}")),
        }
    }
    if let Err(e) = rustix::thread::clear_ambient_capability_set()
        && e != rustix::io::Errno::INVAL
    {
        errors.push(format!("PR_CAP_AMBIENT_CLEAR_ALL: {e}"));
    }
    let none = CapabilitySets {
        effective: CapabilitySet::empty(),
        permitted: CapabilitySet::empty(),
        inheritable: CapabilitySet::empty(),
    };
    if let Err(e) = rustix::thread::set_capabilities(None, none) {
        errors.push(format!("capset: {e}"));
    }
    // A bounding-set entry only limits what exec may grant, and exec grants nothing under
    // no_new_privs (file capabilities and set-uid bits are ignored): kept entries are inert
    // then. Without no_new_privs they are not.
    if !kept.is_empty() && !rustix::thread::no_new_privs().unwrap_or(false) {
        errors.push(format!(
            "PR_CAPBSET_DROP {kept:?}: not permitted, and no_new_privs is off"
        ));
    }
    let held = if kept.is_empty() {
        "none held; read back with capget".to_string()
    } else {
        format!(
            "none held; read back with capget; the bounding set keeps {kept:?} (no CAP_SETPCAP to drop it), unreachable under no_new_privs"
        )
    };
    match rustix::thread::capabilities(None) {
        Ok(c) if c == none && errors.is_empty() => {
            LayerReport::new(Layer::Capabilities, Enforcement::Enforced, held)
        }
        Ok(c) if c == none => LayerReport::new(
            Layer::Capabilities,
            Enforcement::Partial,
            format!("none held, but: {}", errors.join("; ")),
        ),
        Ok(c) => LayerReport::new(
            Layer::Capabilities,
            Enforcement::Failed,
            format!("still held: {:?}; {}", c.permitted, errors.join("; ")),
        ),
        Err(e) => LayerReport::new(
            Layer::Capabilities,
            Enforcement::Failed,
            format!("capget: {e}"),
        ),
    }
}

/// Sets soft and hard limit of `resource` to `want`, or to the current hard limit when that is
/// lower (an unprivileged process cannot raise it). Returns the value aimed at.
fn limit(resource: Resource, want: u64) -> Result<u64, String> {
    let current = getrlimit(resource);
    let value = match current.maximum {
        Some(hard) => want.min(hard),
        None => want,
    };
    setrlimit(
        resource,
        Rlimit {
            current: Some(value),
            maximum: Some(value),
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(value)
}

fn read_back(resource: Resource) -> LimitValue {
    let r = getrlimit(resource);
    LimitValue {
        soft: r.current,
        hard: r.maximum,
    }
}

/// Sets `RLIMIT_CORE` = 0, `RLIMIT_NOFILE` and `RLIMIT_FSIZE` (soft = hard, so the worker
/// cannot raise them again) and reads them back.
pub(super) fn rlimits(max_open_files: u64, max_file_size: u64) -> (LayerReport, Limits) {
    let wanted = [
        ("RLIMIT_CORE", Resource::Core, 0),
        ("RLIMIT_NOFILE", Resource::Nofile, max_open_files),
        ("RLIMIT_FSIZE", Resource::Fsize, max_file_size),
    ];
    let mut set = Vec::new();
    let mut failed = Vec::new();
    for (name, resource, want) in wanted {
        match limit(resource, want) {
            Ok(v) => {
                let back = read_back(resource);
                if back.soft == Some(v) && back.hard == Some(v) {
                    if v == want {
                        set.push(format!("{name}={v}"));
                    } else {
                        set.push(format!(
                            "{name}={v} (hard limit below the {want} asked for)"
                        ));
                    }
                } else {
                    failed.push(format!("{name}: set to {v} but reads back {back:?}"));
                }
            }
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    let limits = Limits {
        core: read_back(Resource::Core),
        nofile: read_back(Resource::Nofile),
        fsize: read_back(Resource::Fsize),
    };
    let status = if failed.is_empty() {
        Enforcement::Enforced
    } else if set.is_empty() {
        Enforcement::Failed
    } else {
        Enforcement::Partial
    };
    let mut detail = set.join(", ");
    if !failed.is_empty() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str("failed: ");
        detail.push_str(&failed.join(", "));
    }
    (LayerReport::new(Layer::Rlimits, status, detail), limits)
}
