//! Running the appliance for real: systemd's notifications and watchdog, the unit's hardening
//! score and its settings applied by hand, admin recovery from the command line, `doctor`,
//! and the container image.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::binary::{PATIENCE, Server};

/// The datagrams the server sends to `NOTIFY_SOCKET`, as text.
fn notifications(sock: &UnixDatagram, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 4096];
    while !until(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "notifications so far: {got:?}");
        sock.set_read_timeout(Some(left)).expect("timeout");
        let n = sock.recv(&mut buf).expect("a notification");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// `Type=notify`: READY once serving (the start-up lines are printed by then), watchdog pings
/// at half of `WATCHDOG_USEC`, STOPPING at SIGTERM, and a clean exit.
#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    let dir = crate::common::private_tempdir();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
    let data = dir.path().join("data");
    let sock_env = sock_path.to_string_lossy().into_owned();
    let mut server = Server::start(
        dir.path(),
        &data,
        &[
            ("NOTIFY_SOCKET", &sock_env),
            // 0.4 s: a ping every 0.2 s.
            ("WATCHDOG_USEC", "400000"),
            ("BOTYARD_STORE_SHARDS", "2"),
        ],
    );
    let started = Instant::now();
    let got = notifications(&sock, |got| {
        got.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3
    });
    let first = &got[0];
    assert!(first.lines().any(|l| l == "READY=1"), "{got:?}");
    let serving = format!("STATUS=serving http://127.0.0.1:{}", server.port);
    assert!(first.lines().any(|l| l == serving), "{got:?}");
    // Three pings at 0.2 s apart come well within the watchdog's patience, not all at once.
    assert!(started.elapsed() >= Duration::from_millis(300), "{got:?}");

    let status = server.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    let after = notifications(&sock, |got| got.iter().any(|m| m.contains("STOPPING=1")));
    assert!(
        after
            .iter()
            .any(|m| m.lines().any(|l| l == "STOPPING=1")),
        "{after:?}"
    );
}
