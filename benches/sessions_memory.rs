//! Real Telegram sessions, side by side: N botyard workers (the appliance's sandboxed child
//! processes, each holding one grammers session imported from a Telethon string) against N
//! Python processes each holding one Telethon client with the same session, all connected to
//! one loopback fake datacenter and all receiving the same steady stream of group messages.
//! Per-process anonymous memory, RSS and PSS for each side, measured in one run.
//!
//! Run through `benches/telethon_memory.sh`, which makes the Telethon venv and sets
//! `TELETHON_PYTHON`; `BENCH_SESSIONS` (default 20) is N, `BENCH_STREAM_SECS` (default 30)
//! how long messages flow before measuring.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use botyard::config::Config;
use botyard::worker::ipc::messages::SessionKind;
use botyard::worker::session_import::parse_string;
use botyard_fakedc::FakeDc;
use botyard_fakedc::world::{FakeChat, World, person};
use common::{fill_tenants, mb, median, memory, private_tempdir, start};

const EXE: &str = env!("CARGO_BIN_EXE_botyard");
const API_HASH: &str = "0123456789abcdef0123456789abcdef";
/// One message into one of the groups this often.
const EVERY: Duration = Duration::from_millis(100);

fn key() -> [u8; 256] {
    let mut k = [0u8; 256];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(29).wrapping_add(3);
    }
    k
}

/// A Telethon StringSession for the fake datacenter: both sides sign in with it.
fn telethon_string(port: u16) -> String {
    let mut b = vec![2u8, 127, 0, 0, 1];
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&key());
    format!("1{}", base64::engine::general_purpose::URL_SAFE.encode(b))
}

fn config(dir: &Path, port: u16) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.workers.exe = Some(EXE.into());
    c.workers.cgroup = false;
    c.log.level = "warn".into();
    c.telegram.api_id = Some(11);
    c.telegram.api_hash = Some(botyard::config::Secret::new(API_HASH));
    c.telegram.ports = vec![port];
    c.telegram.import_allow = vec!["127.0.0.1/32".parse().expect("cidr")];
    c
}

/// `n` active tenants, each with the imported session.
fn fill(n: usize, c: &Config, session: &str) {
    let imported = parse_string(session).expect("session string");
    fill_tenants(c, n, |_| SessionKind::Imported(imported.clone()));
}

/// One Telethon client process.
struct Telethon {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Telethon {
    fn spawn(python: &str, script: &Path, session: &str) -> Self {
        let mut child = Command::new(python)
            .arg(script)
            .arg(session)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Telethon {
            child,
            stdin,
            stdout,
        }
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).expect("read from the client");
        l.trim().to_string()
    }

    fn seen(&mut self) -> u64 {
        writeln!(self.stdin, "count").expect("ask the client");
        let l = self.line();
        l.parse()
            .unwrap_or_else(|_| panic!("client answered {l:?}"))
    }
}

impl Drop for Telethon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Side {
    anon: Vec<f64>,
    rss: Vec<f64>,
    pss: Vec<f64>,
}

fn measure(pids: &[u32]) -> Side {
    let mut s = Side {
        anon: vec![],
        rss: vec![],
        pss: vec![],
    };
    for p in pids {
        let (a, r, p) = memory(&p.to_string());
        s.anon.push(a as f64);
        s.rss.push(r as f64);
        s.pss.push(p as f64);
    }
    s
}

fn report(name: &str, s: &mut Side) -> f64 {
    let total: f64 = s.pss.iter().sum();
    let pss = median(&mut s.pss);
    println!(
        "{name}: per process median anon {}  rss {}  pss {};  all {} processes pss {}",
        mb(median(&mut s.anon)),
        mb(median(&mut s.rss)),
        mb(pss),
        s.pss.len(),
        mb(total)
    );
    pss
}

async fn run(n: usize, stream: Duration, python: &str) {
    let chats = vec![
        FakeChat {
            id: 4001,
            title: "Kadıköy Esnafı".into(),
            supergroup: false,
            members: 40,
            access_hash: 0,
        },
        FakeChat {
            id: 5001,
            title: "Moda Pazarı".into(),
            supergroup: true,
            members: 900,
            access_hash: 77,
        },
    ];
    let mut me = person(31337, "Zeynep", Some("zeynep_shop"));
    me.is_self = true;
    let world = Arc::new(World::new(&[], chats.clone()).logged_in(me));
    let dc = FakeDc::start(key(), world.clone()).await.expect("fake dc");
    let session = telethon_string(dc.addr().port());

    let dir = private_tempdir();
    let c = config(dir.path(), dc.addr().port());
    fill(n, &c, &session);
    let app = start(c).await;
    app.all_online(n).await;
    println!("grammers: {n} workers signed in");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/telethon_client.py");
    let t0 = Instant::now();
    let mut clients: Vec<Telethon> = Vec::new();
    for _ in 0..n {
        let c = tokio::task::block_in_place(|| {
            let mut c = Telethon::spawn(python, &script, &session);
            let l = c.line();
            assert!(l.starts_with("ready"), "Telethon client said {l:?}");
            c
        });
        clients.push(c);
    }
    println!(
        "telethon: {n} clients signed in after {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let stored0 = app.events();
    let people: Vec<_> = (0..50)
        .map(|i| person(900_000 + i, &format!("Müşteri {i}"), None))
        .collect();
    let mut sent = 0u64;
    let end = Instant::now() + stream;
    let mut tick = tokio::time::interval(EVERY);
    while Instant::now() < end {
        tick.tick().await;
        let chat = &chats[(sent % 2) as usize];
        let from = &people[(sent % people.len() as u64) as usize];
        dc.push(&world.incoming(chat, from, &format!("merhaba {sent}")));
        sent += 1;
    }
    // Let the last messages arrive and be stored.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stored = app.events() - stored0;
    let seen: Vec<u64> =
        tokio::task::block_in_place(|| clients.iter_mut().map(Telethon::seen).collect());
    println!(
        "stream: {sent} group messages over {} s; grammers workers stored {stored} events ({:.1} per worker); Telethon clients saw median {} each",
        stream.as_secs(),
        stored as f64 / n as f64,
        median(&mut seen.iter().map(|&s| s as f64).collect::<Vec<_>>())
    );

    // What each side asked the datacenter, told apart by the layer it announced.
    let mut asked: std::collections::BTreeMap<Option<i32>, std::collections::BTreeSet<&str>> =
        Default::default();
    for call in dc.calls() {
        asked.entry(call.layer).or_default().insert(call.name);
    }
    for (layer, names) in asked {
        println!("layer {layer:?} asked: {names:?}");
    }

    let mut g = measure(&app.pids());
    let py: Vec<u32> = clients.iter().map(|c| c.child.id()).collect();
    let mut p = measure(&py);
    let gp = report("grammers worker", &mut g);
    let tp = report("Telethon client", &mut p);
    let (sa, sr, sp) = memory("self");
    println!(
        "server process (with the fake datacenter in it): anon {}  rss {}  pss {}",
        mb(sa as f64),
        mb(sr as f64),
        mb(sp as f64)
    );
    println!(
        "ratio: a grammers worker's PSS is {:.3} of a Telethon client's (target ≤ 0.100)",
        gp / tp.max(1.0)
    );
    drop(clients);
    app.shutdown().await;
}

fn main() {
    // Skipped (not failed) under a plain `cargo bench`, which runs every bench binary.
    let Ok(python) = std::env::var("TELETHON_PYTHON") else {
        eprintln!(
            "sessions_memory skipped: TELETHON_PYTHON is not set; run benches/telethon_memory.sh"
        );
        return;
    };
    let n = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let secs = std::env::var("BENCH_STREAM_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(n, Duration::from_secs(secs), &python));
}
