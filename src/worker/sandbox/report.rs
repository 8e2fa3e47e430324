//! What the kernel enforced: one entry per layer, serde-serializable so that the worker can send
//! it to the supervisor and the API can show it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One layer of the worker sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// `prctl(PR_SET_NO_NEW_PRIVS)`: no set-uid/file-capability gains, ever.
    NoNewPrivs,
    /// Resource limits: no core dumps, bounded open files, bounded file size.
    Rlimits,
    /// Every capability dropped: effective, permitted, inheritable, ambient and bounding sets
    /// (a worker started as root keeps none).
    Capabilities,
    /// Landlock filesystem rules: read-only on the media folder, nothing else.
    LandlockFs,
    /// Landlock network rules: TCP connect only to the allowed ports, no bind (ABI >= 4).
    LandlockNet,
    /// Landlock scopes: no signals to and no abstract UNIX sockets of processes outside the
    /// sandbox (ABI >= 6). Defence in depth: the seccomp layer already confines both.
    LandlockScope,
    /// The seccomp filter: exec, ptrace, mount, kexec, bpf, modules, namespaces, … fail with
    /// `EPERM`.
    Seccomp,
}

impl Layer {
    /// Every layer, in the order [`apply`](super::apply) applies them.
    pub const ALL: [Layer; 7] = [
        Layer::NoNewPrivs,
        Layer::Rlimits,
        Layer::Capabilities,
        Layer::LandlockFs,
        Layer::LandlockNet,
        Layer::LandlockScope,
        Layer::Seccomp,
    ];

    /// The stable name used in JSON, logs and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Layer::NoNewPrivs => "no_new_privs",
            Layer::Rlimits => "rlimits",
            Layer::Capabilities => "capabilities",
            Layer::LandlockFs => "landlock_fs",
            Layer::LandlockNet => "landlock_net",
            Layer::LandlockScope => "landlock_scope",
            Layer::Seccomp => "seccomp",
        }
    }

    /// Whether the layer belongs to the sandbox the design promises; `sandbox.require = true`
    /// refuses to start when one of these is not enforced. Landlock scopes are defence in
    /// depth (seccomp already confines signals and refuses UNIX sockets), so a kernel older
    /// than 6.12 does not make `require` fail.
    pub fn required(self) -> bool {
        !matches!(self, Layer::LandlockScope)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much of a layer the kernel enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// Everything the layer is meant to do is in force.
    Enforced,
    /// In force, but the kernel lacks part of it (the detail says which part).
    Partial,
    /// The kernel does not have this layer at all (the detail says why).
    NotSupported,
    /// The kernel has it, but applying it failed (the detail has the error).
    Failed,
}

impl Enforcement {
    pub fn name(self) -> &'static str {
        match self {
            Enforcement::Enforced => "enforced",
            Enforcement::Partial => "partial",
            Enforcement::NotSupported => "not_supported",
            Enforcement::Failed => "failed",
        }
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of one layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerReport {
    pub layer: Layer,
    pub status: Enforcement,
    /// See [`Layer::required`].
    pub required: bool,
    /// What was applied, or why (part of) it is missing.
    pub detail: String,
}

impl LayerReport {
    pub fn new(layer: Layer, status: Enforcement, detail: impl Into<String>) -> Self {
        LayerReport {
            layer,
            status,
            required: layer.required(),
            detail: detail.into(),
        }
    }
}

/// A resource limit as read back from the kernel after it was set; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitValue {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// The resource limits in force after [`apply`](super::apply), read back with `getrlimit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// `RLIMIT_CORE`: 0 means no core dumps.
    pub core: LimitValue,
    /// `RLIMIT_NOFILE`.
    pub nofile: LimitValue,
    /// `RLIMIT_FSIZE`, bytes.
    pub fsize: LimitValue,
}

/// Landlock as the running kernel reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockInfo {
    /// `available`, `not_enabled` (built in, but not in the boot's `lsm=` list),
    /// `not_implemented` (kernel built without landlock) or `unknown` (applying failed before
    /// the kernel was asked).
    pub status: String,
    /// The ABI version in use: the kernel's, capped at the newest this build knows.
    pub abi: Option<u32>,
    /// The kernel's own ABI version when it is newer than this build knows.
    pub kernel_abi: Option<i32>,
    /// Whether the ruleset was applied to every thread (`LANDLOCK_RESTRICT_SELF_TSYNC`,
    /// ABI >= 8); otherwise only the calling thread and its future children are restricted.
    pub all_threads: bool,
}

/// What [`apply`](super::apply) achieved, layer by layer. Nothing here is assumed: each
/// status comes from what the kernel answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxReport {
    /// One entry per [`Layer`], in the order they were applied.
    pub layers: Vec<LayerReport>,
    pub landlock: LandlockInfo,
    pub limits: Limits,
    /// Threads in the process when the sandbox was applied (from `/proc/self/task`); landlock
    /// below ABI 8 restricts only the calling thread, so this should be 1.
    pub threads: Option<usize>,
    /// `uname -r`, for the operator.
    pub kernel_release: Option<String>,
}

impl SandboxReport {
    /// The entry for `layer`, if the report has one.
    pub fn layer(&self, layer: Layer) -> Option<&LayerReport> {
        self.layers.iter().find(|l| l.layer == layer)
    }

    /// The status of `layer`; a layer missing from the report counts as not supported.
    pub fn status(&self, layer: Layer) -> Enforcement {
        self.layer(layer)
            .map_or(Enforcement::NotSupported, |l| l.status)
    }

    /// Whether `layer` is fully in force.
    pub fn enforced(&self, layer: Layer) -> bool {
        self.status(layer) == Enforcement::Enforced
    }

    /// The required layers that are not fully enforced (a required layer absent from the
    /// report is listed as not supported).
    pub fn missing(&self) -> Vec<LayerReport> {
        Layer::ALL
            .iter()
            .filter(|l| l.required())
            .filter_map(|&l| match self.layer(l) {
                Some(r) if r.status == Enforcement::Enforced => None,
                Some(r) => Some(r.clone()),
                None => Some(LayerReport::new(
                    l,
                    Enforcement::NotSupported,
                    "not in the report",
                )),
            })
            .collect()
    }

    /// Every required layer is fully enforced.
    pub fn fully_enforced(&self) -> bool {
        self.missing().is_empty()
    }

    /// `sandbox.require = true`: an error listing the missing layers unless the sandbox is
    /// fully enforced.
    pub fn require(&self) -> Result<(), SandboxIncomplete> {
        let missing = self.missing();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SandboxIncomplete { missing })
        }
    }
}

/// Refusal to run without the full sandbox (`sandbox.require = true`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct SandboxIncomplete {
    /// The required layers that are not fully enforced, with the reason for each.
    pub missing: Vec<LayerReport>,
}

impl fmt::Display for SandboxIncomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sandbox.require is set but the sandbox is not fully enforced: "
        )?;
        for (i, l) in self.missing.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {} ({})", l.layer, l.status, l.detail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> SandboxReport {
        SandboxReport {
            layers: Layer::ALL
                .iter()
                .map(|&l| LayerReport::new(l, Enforcement::Enforced, "ok"))
                .collect(),
            landlock: LandlockInfo {
                status: "available".into(),
                abi: Some(7),
                kernel_abi: None,
                all_threads: false,
            },
            limits: Limits::default(),
            threads: Some(1),
            kernel_release: None,
        }
    }

    fn with(
        mut r: SandboxReport,
        layer: Layer,
        status: Enforcement,
        detail: &str,
    ) -> SandboxReport {
        for l in &mut r.layers {
            if l.layer == layer {
                l.status = status;
                l.detail = detail.into();
            }
        }
        r
    }

    #[test]
    fn full_report_passes_require() {
        let r = full();
        assert!(r.fully_enforced());
        assert_eq!(r.require(), Ok(()));
        assert!(r.missing().is_empty());
    }

    #[test]
    fn require_lists_every_missing_layer_with_its_reason() {
        let r = with(
            full(),
            Layer::LandlockNet,
            Enforcement::NotSupported,
            "landlock ABI 3 < 4",
        );
        let r = with(
            r,
            Layer::LandlockFs,
            Enforcement::Partial,
            "no truncate control",
        );
        assert!(!r.fully_enforced());
        let err = r.require().expect_err("require must refuse");
        let layers: Vec<Layer> = err.missing.iter().map(|l| l.layer).collect();
        assert_eq!(layers, vec![Layer::LandlockFs, Layer::LandlockNet]);
        let msg = err.to_string();
        assert!(
            msg.contains("landlock_net not_supported (landlock ABI 3 < 4)"),
            "{msg}"
        );
        assert!(
            msg.contains("landlock_fs partial (no truncate control)"),
            "{msg}"
        );
    }

    #[test]
    fn failed_layer_is_missing() {
        let r = with(full(), Layer::Seccomp, Enforcement::Failed, "EINVAL");
        let err = r.require().expect_err("require must refuse");
        assert_eq!(err.missing.len(), 1);
        assert_eq!(err.missing[0].layer, Layer::Seccomp);
        assert_eq!(err.missing[0].status, Enforcement::Failed);
    }

    #[test]
    fn scope_is_reported_but_not_required() {
        let r = with(
            full(),
            Layer::LandlockScope,
            Enforcement::NotSupported,
            "landlock ABI 5 < 6",
        );
        assert!(r.fully_enforced());
        assert_eq!(r.status(Layer::LandlockScope), Enforcement::NotSupported);
    }

    #[test]
    fn a_layer_absent_from_the_report_counts_as_missing() {
        let mut r = full();
        r.layers.retain(|l| l.layer != Layer::NoNewPrivs);
        let err = r.require().expect_err("require must refuse");
        assert_eq!(err.missing[0].layer, Layer::NoNewPrivs);
        assert_eq!(err.missing[0].status, Enforcement::NotSupported);
    }

    #[test]
    fn report_round_trips_through_json() {
        let r = with(
            full(),
            Layer::LandlockNet,
            Enforcement::NotSupported,
            "landlock ABI 3 < 4",
        );
        let json = serde_json::to_value(&r).expect("serialize");
        assert_eq!(json["layers"][4]["layer"], "landlock_net");
        assert_eq!(json["layers"][4]["status"], "not_supported");
        assert_eq!(json["layers"][4]["required"], true);
        let back: SandboxReport = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, r);
    }
}
