//! A private PostgreSQL cluster in a temporary folder (`initdb`, a Unix socket in that folder
//! only, no TCP port), for the tests and benchmarks of the export. As root, PostgreSQL runs as
//! the `postgres` user.

use std::path::PathBuf;
use std::process::Command;

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A PostgreSQL cluster of its own, stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub conn: String,
}

fn pg_bin() -> Option<PathBuf> {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let candidates = from_config.into_iter().chain(
        std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin")),
    );
    candidates.into_iter().find(|b| b.join("initdb").is_file())
}

fn as_postgres(bin: &std::path::Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

impl Cluster {
    /// A new cluster, or `None` (the caller says it skipped) where PostgreSQL is not installed
    /// and `BOTYARD_PG_TESTS` does not ask for it.
    pub fn start() -> Result<Option<Cluster>, String> {
        Self::start_in(&std::env::temp_dir())
    }

    /// As [`Cluster::start`], in a folder under `parent` (a benchmark's large one).
    pub fn start_in(parent: &std::path::Path) -> Result<Option<Cluster>, String> {
        let Some(bin) = pg_bin() else {
            if std::env::var_os("BOTYARD_PG_TESTS").is_some() {
                return Err(
                    "BOTYARD_PG_TESTS is set but PostgreSQL's initdb is not installed".into(),
                );
            }
            eprintln!("skipped: PostgreSQL's initdb is not installed");
            return Ok(None);
        };
        let err = |what: &str, e: std::io::Error| format!("{what}: {e}");
        let dir = tempfile::Builder::new()
            .prefix("botyard-pg-")
            .tempdir_in(parent)
            .map_err(|e| err("temporary folder", e))?;
        if is_root() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| err("chown", e))?;
            if !st.success() {
                return Err("chown of the cluster's folder failed".into());
            }
        }
        let data = dir.path().join("data");
        let out = as_postgres(&bin, "initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| err("initdb", e))?;
        if !out.status.success() {
            return Err(format!("initdb: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let opts = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c full_page_writes=off -c max_wal_size=4GB",
            dir.path().display()
        );
        let out = as_postgres(&bin, "pg_ctl")
            .args(["-w", "-s", "-D"])
            .arg(&data)
            .args(["-l"])
            .arg(dir.path().join("log"))
            .args(["-o", &opts, "start"])
            .output()
            .map_err(|e| err("pg_ctl", e))?;
        if !out.status.success() {
            return Err(format!("pg_ctl: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let conn = format!(
            "host={} port=5432 user=postgres dbname=postgres",
            dir.path().display()
        );
        Ok(Some(Cluster { dir, bin, conn }))
    }

    pub fn conn_as(&self, role: &str) -> String {
        format!(
            "host={} port=5432 user={role} dbname=postgres",
            self.dir.path().display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .args(["-s", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}
