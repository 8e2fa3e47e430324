//! The worker sandbox, proved from inside the real binary: `botyard sandbox-check` applies it
//! to its own process and probes it; these tests read its JSON.
//!
//! no_new_privs, rlimits and seccomp work on any modern kernel and are always asserted. The
//! landlock assertions are strict where the kernel enforces landlock and are reported as
//! `SKIPPED: …` (on stderr, shown with `--nocapture`) where it does not.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_botyard");

fn sandbox_check(cwd: &Path, args: &[String]) -> Output {
    Command::new(BIN)
        .env_clear()
        .current_dir(cwd)
        .stdin(Stdio::null())
        .arg("sandbox-check")
        .args(args)
        .output()
        .expect("run botyard sandbox-check")
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "sandbox-check printed no JSON ({e}); status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn layer<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["report"]["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap_or_else(|| panic!("no layer {name} in {report:#}"))
}

fn status<'a>(report: &'a Value, name: &str) -> &'a str {
    layer(report, name)["status"].as_str().expect("status")
}

fn probe<'a>(report: &'a Value, kind: &str, target: &str) -> &'a Value {
    report["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .find(|p| p["kind"] == kind && p["target"] == target)
        .unwrap_or_else(|| panic!("no {kind} probe of {target} in {report:#}"))
}

#[track_caller]
fn assert_outcome(report: &Value, kind: &str, target: &str, outcome: &str, errno: Option<i32>) {
    let p = probe(report, kind, target);
    assert_eq!(p["outcome"], outcome, "{kind} {target}: {p:#}");
    if let Some(n) = errno {
        assert_eq!(p["errno"], n, "{kind} {target}: {p:#}");
    }
}

fn skipped(what: &str, report: &Value, layer_name: &str) {
    eprintln!(
        "SKIPPED: {what}: layer {layer_name} is {} on this kernel ({})",
        status(report, layer_name),
        layer(report, layer_name)["detail"].as_str().unwrap_or("")
    );
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn sandbox_holds_from_inside_the_real_binary() {
    let media = tempfile::tempdir().expect("media dir");
    let other_tenant = tempfile::tempdir().expect("other tenant dir");
    let data = tempfile::tempdir().expect("data dir");
    let cwd = tempfile::tempdir().expect("cwd");
    std::fs::write(media.path().join("photo.jpg"), b"tenant A's picture").expect("write");
    std::fs::write(other_tenant.path().join("photo.jpg"), b"tenant B's").expect("write");
    std::fs::write(data.path().join("catalog.redb"), b"store").expect("write");
    std::fs::write(data.path().join("master.key"), b"secret").expect("write");

    let allowed = TcpListener::bind("127.0.0.1:0").expect("allowed listener");
    let not_allowed = TcpListener::bind("127.0.0.1:0").expect("other listener");
    let allowed_addr = allowed.local_addr().expect("addr").to_string();
    let not_allowed_addr = not_allowed.local_addr().expect("addr").to_string();
    let allowed_port = allowed.local_addr().expect("addr").port();

    let media_file = path(&media.path().join("photo.jpg"));
    let other_file = path(&other_tenant.path().join("photo.jpg"));
    let other_dir = path(other_tenant.path());
    let data_file = path(&data.path().join("catalog.redb"));
    let key_file = path(&data.path().join("master.key"));
    let write_inside = media.path().join("new.txt");
    let write_other = other_tenant.path().join("new.txt");
    let write_data = data.path().join("new.txt");
    let write_tmp = cwd.path().join("new.txt");

    let mut args: Vec<String> = vec![
        "--json".into(),
        "--dir".into(),
        path(media.path()),
        "--allow-port".into(),
        allowed_port.to_string(),
        "--max-open-files".into(),
        "64".into(),
        "--max-file-size".into(),
        "1048576".into(),
    ];
    for p in [&media_file, &other_file, &other_dir, &data_file, &key_file] {
        args.extend(["--probe-read".into(), p.clone()]);
    }
    args.extend(["--probe-read".into(), "/etc/passwd".into()]);
    for p in [&write_inside, &write_other, &write_data, &write_tmp] {
        args.extend(["--probe-write".into(), path(p)]);
    }
    args.extend(["--probe-exec".into(), "/bin/true".into()]);
    args.extend(["--probe-connect".into(), allowed_addr.clone()]);
    args.extend(["--probe-connect".into(), not_allowed_addr.clone()]);
    args.extend(["--probe-bind".into(), "127.0.0.1:0".into()]);

    let out = sandbox_check(cwd.path(), &args);
    let r = json(&out);
    assert!(out.status.success(), "status {:?}: {r:#}", out.status);
    eprintln!(
        "kernel {}, landlock {} (ABI {})",
        r["report"]["kernel_release"],
        r["report"]["landlock"]["status"],
        r["report"]["landlock"]["abi"]
    );
    for l in r["report"]["layers"].as_array().expect("layers") {
        eprintln!("  {:<15} {:<14} {}", l["layer"], l["status"], l["detail"]);
    }

    // Always: no_new_privs, rlimits, capabilities, seccomp.
    assert_eq!(status(&r, "no_new_privs"), "enforced", "{r:#}");
    assert_eq!(status(&r, "rlimits"), "enforced", "{r:#}");
    assert_eq!(status(&r, "capabilities"), "enforced", "{r:#}");
    assert_eq!(status(&r, "seccomp"), "enforced", "{r:#}");
    let limits = &r["report"]["limits"];
    assert_eq!(
        limits["core"]["soft"], 0,
        "core dumps must be off: {limits:#}"
    );
    assert_eq!(
        limits["core"]["hard"], 0,
        "core dumps must be off: {limits:#}"
    );
    assert_eq!(limits["nofile"]["soft"], 64, "{limits:#}");
    assert_eq!(limits["nofile"]["hard"], 64, "{limits:#}");
    assert_eq!(limits["fsize"]["soft"], 1_048_576, "{limits:#}");
    assert_eq!(limits["fsize"]["hard"], 1_048_576, "{limits:#}");
    assert_eq!(
        r["report"]["threads"], 1,
        "applied before any thread starts"
    );

    // exec: seccomp answers first, with EPERM.
    assert_outcome(&r, "exec", "/bin/true", "denied", Some(libc::EPERM));
    // Writes: refused everywhere, inside the read-only media folder too (seccomp refuses
    // opening for writing; landlock would too), and nothing was created.
    for p in [&write_inside, &write_other, &write_data, &write_tmp] {
        assert_outcome(&r, "write", &path(p), "denied", None);
        assert!(!p.exists(), "{} was created", p.display());
    }
    // No listening socket, whatever landlock can do.
    assert_outcome(&r, "bind", "127.0.0.1:0", "denied", Some(libc::EPERM));

    // Seccomp also refuses UDP and UNIX sockets, signals to other processes (here: the test
    // runner), new user namespaces and mode changes, on any kernel.
    assert_outcome(
        &r,
        "namespace",
        "clone(CLONE_NEWUSER)",
        "denied",
        Some(libc::EPERM),
    );
    assert_outcome(&r, "socket", "UDP", "denied", Some(libc::EPERM));
    assert_outcome(&r, "socket", "UNIX", "denied", Some(libc::EPERM));
    assert_outcome(&r, "signal", "parent process", "denied", Some(libc::EPERM));
    assert_outcome(
        &r,
        "chmod",
        &path(media.path()),
        "denied",
        Some(libc::EPERM),
    );

    // What the worker needs works: threads and its runtime start after the sandbox.
    assert_outcome(&r, "thread", "std::thread::spawn", "allowed", None);
    assert_outcome(&r, "runtime", "tokio runtime", "allowed", None);
    assert_outcome(&r, "media_dir", &path(media.path()), "allowed", None);
    assert_outcome(&r, "read", &media_file, "allowed", None);
    assert_outcome(&r, "connect", &allowed_addr, "allowed", None);

    // Landlock filesystem.
    match status(&r, "landlock_fs") {
        "enforced" | "partial" => {
            for p in [
                &other_file,
                &other_dir,
                &data_file,
                &key_file,
                "/etc/passwd",
            ] {
                assert_outcome(&r, "read", p, "denied", Some(libc::EACCES));
            }
        }
        _ => skipped(
            "reads of another tenant's folder, the data folder and /etc/passwd are not asserted",
            &r,
            "landlock_fs",
        ),
    }
    // Landlock network.
    match status(&r, "landlock_net") {
        "enforced" | "partial" => {
            assert_outcome(
                &r,
                "connect",
                &not_allowed_addr,
                "denied",
                Some(libc::EACCES),
            );
        }
        _ => skipped(
            "connecting to a port that is not allowed is not asserted",
            &r,
            "landlock_net",
        ),
    }
    // The verdict matches the layers.
    let required_ok = r["report"]["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter(|l| l["required"] == true)
        .all(|l| l["status"] == "enforced");
    assert_eq!(r["fully_enforced"], required_ok, "{r:#}");
    drop((allowed, not_allowed));
}

#[test]
fn require_mode_exit_status_follows_the_report() {
    let cwd = tempfile::tempdir().expect("cwd");
    let out = sandbox_check(cwd.path(), &["--json".into(), "--require".into()]);
    let r = json(&out);
    if r["fully_enforced"] == true {
        assert!(out.status.success(), "status {:?}: {r:#}", out.status);
    } else {
        assert_eq!(out.status.code(), Some(3), "{r:#}");
        eprintln!("SKIPPED: require mode accepting a full sandbox: this kernel lacks a layer");
    }
}

#[test]
fn built_in_self_test_probes_as_expected_where_enforced() {
    let cwd = tempfile::tempdir().expect("cwd");
    let media = tempfile::tempdir().expect("media dir");
    let out = sandbox_check(
        cwd.path(),
        &["--json".into(), "--dir".into(), path(media.path())],
    );
    let r = json(&out);
    assert!(out.status.success(), "status {:?}: {r:#}", out.status);
    let probes = r["probes"].as_array().expect("probes");
    assert!(probes.len() >= 6, "{r:#}");
    for p in probes {
        let depends_on = match (p["kind"].as_str(), p["expected"].as_str()) {
            (Some("read"), Some("denied")) => Some("landlock_fs"),
            (Some("connect"), Some("denied")) => Some("landlock_net"),
            _ => None,
        };
        match depends_on {
            Some(l) if !matches!(status(&r, l), "enforced" | "partial") => {
                skipped(&format!("self-test {} {}", p["kind"], p["target"]), &r, l)
            }
            _ => assert_eq!(p["as_expected"], true, "{p:#}"),
        }
    }
}

#[test]
fn text_output_names_every_layer() {
    let cwd = tempfile::tempdir().expect("cwd");
    let out = sandbox_check(cwd.path(), &[]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "no_new_privs",
        "rlimits",
        "capabilities",
        "landlock_fs",
        "landlock_net",
        "landlock_scope",
        "seccomp",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}
