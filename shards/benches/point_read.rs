//! Point-read latency of one tenant record in a store of 10,000 tenants, over random ids.
//!
//! Each method is timed per call over random ids, in several rounds interleaved with the other
//! methods (so machine noise hits them alike); percentiles are over all rounds pooled, and the
//! spread of the per-round medians is shown.
//!
//! `cargo bench -p botyard-shards --bench point_read [-- --tenants N --ops N --rounds N]`

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use botyard_shards::ids::TenantId;
use botyard_shards::records::{AccountRec, TenantRec, TenantStatus};
use botyard_shards::tables::catalog::TENANTS;
use botyard_shards::{Principal, Store, StoreConfig, StoreError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use redb::ReadableDatabase;

type BoxResult<T> = Result<T, Box<dyn Error>>;

struct Params {
    tenants: usize,
    /// Reads per method per round.
    ops: usize,
    rounds: usize,
}

fn parse_args() -> BoxResult<Params> {
    let mut p = Params {
        tenants: 10_000,
        ops: 100_000,
        rounds: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> BoxResult<usize> {
            let v = args.next().ok_or(format!("{name} needs a value"))?;
            Ok(v.parse::<usize>()?)
        };
        match a.as_str() {
            // Passed by `cargo bench`.
            "--bench" => {}
            "--tenants" => p.tenants = num("--tenants")?.max(1),
            "--ops" => p.ops = num("--ops")?.max(1),
            "--rounds" => p.rounds = num("--rounds")?.max(1),
            other => eprintln!("ignoring argument {other:?}"),
        }
    }
    Ok(p)
}

fn setup(dir: &std::path::Path, tenants: usize) -> BoxResult<(Store, Principal, Vec<TenantId>)> {
    let store = Store::open(&StoreConfig {
        dir: dir.to_path_buf(),
        shards: 8,
        catalog_cache_bytes: 64 << 20,
        shard_cache_bytes: 16 << 20,
    })?;
    let admin_id = store.catalog_write(|c| {
        c.insert_account(&AccountRec {
            email: "root@bench.test".into(),
            password_hash: "x".into(),
            is_admin: true,
            created_at: 0,
            password_changed_at: 0,
        })
    })?;
    let admin = store
        .principal_for_account(admin_id)?
        .ok_or("admin account vanished")?;
    let scope = store.admin(&admin).ok_or("not an admin")?;
    let mut ids = Vec::with_capacity(tenants);
    for i in 0..tenants {
        let t = scope.create_tenant(&TenantRec {
            name: format!("Tenant number {i} of the point-read bench"),
            status: TenantStatus::Active,
            plan: None,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_000,
        })?;
        ids.push(t.tenant_id());
    }
    Ok((store, admin, ids))
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

type Op<'a> = Box<dyn FnMut(TenantId) -> Result<(), StoreError> + 'a>;

struct Method<'a> {
    label: &'static str,
    op: Op<'a>,
    lat: Vec<Duration>,
    round_medians: Vec<f64>,
}

impl Method<'_> {
    /// One round: a warm-up pass, then one timed call per id.
    fn round(&mut self, warm: &[TenantId], ids: &[TenantId]) -> BoxResult<()> {
        for &id in warm {
            (self.op)(id)?;
        }
        let mut lat = Vec::with_capacity(ids.len());
        for &id in ids {
            let t = Instant::now();
            (self.op)(id)?;
            lat.push(t.elapsed());
        }
        lat.sort_unstable();
        self.round_medians.push(pct(&lat, 0.5));
        self.lat.extend(lat);
        Ok(())
    }

    /// Prints the pooled percentiles; returns the pooled median in µs.
    fn report(&mut self) -> f64 {
        self.lat.sort_unstable();
        let median = pct(&self.lat, 0.5);
        let lo = self.round_medians.iter().copied().fold(f64::MAX, f64::min);
        let hi = self.round_medians.iter().copied().fold(0.0, f64::max);
        println!(
            "point_read {:<50} median {median:>5.2} µs  p99 {:>5.2} µs  p99.9 {:>6.2} µs  \
             (round medians {lo:.2}..{hi:.2} µs; n={})",
            self.label,
            pct(&self.lat, 0.99),
            pct(&self.lat, 0.999),
            self.lat.len()
        );
        median
    }
}

fn main() -> BoxResult<()> {
    let p = parse_args()?;
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let (store, admin, tenants) = setup(dir.path(), p.tenants)?;
    println!(
        "point_read: {} tenants created in {:.1} s (one durable commit each); \
         {} rounds x {} random reads per method",
        tenants.len(),
        t.elapsed().as_secs_f64(),
        p.rounds,
        p.ops
    );
    let mut rng = StdRng::seed_from_u64(7);
    let mut pick = |n: usize| -> Vec<TenantId> {
        (0..n)
            .map(|_| tenants[rng.random_range(0..tenants.len())])
            .collect()
    };

    let admin_scope = store.admin(&admin).ok_or("not an admin")?;
    let db = store.catalog_database();
    let tx = db.begin_read()?;
    let table = tx.open_table(TENANTS)?;
    let mut methods = vec![
        // The API path: authorize (tenant + placement lookup in one catalog read
        // transaction), then read the record through the scope's own read transaction.
        Method {
            label: "api: store.scope(admin) + catalog_read().tenant()",
            op: Box::new(|id| {
                black_box(store.scope(&admin, id)?.catalog_read()?.tenant()?);
                Ok(())
            }),
            lat: Vec::new(),
            round_medians: Vec::new(),
        },
        // The API path as the HTTP handler uses it: the record read while authorizing.
        Method {
            label: "api: store.scope(admin).record()",
            op: Box::new(|id| {
                black_box(store.scope(&admin, id)?.record().name.len());
                Ok(())
            }),
            lat: Vec::new(),
            round_medians: Vec::new(),
        },
        // Authorization alone.
        Method {
            label: "api: AdminScope::tenant (authorize only)",
            op: Box::new(|id| {
                black_box(admin_scope.tenant(id)?.status());
                Ok(())
            }),
            lat: Vec::new(),
            round_medians: Vec::new(),
        },
        // Raw: one catalog read transaction and one get per read, on the catalog database
        // (`CatalogTx::tenant` is crate-private, so this goes to redb with the public table).
        Method {
            label: "raw: begin_read + open_table + get + decode",
            op: Box::new(|id| {
                let tx = db.begin_read()?;
                let t = tx.open_table(TENANTS)?;
                let v = t.get(id)?.ok_or(StoreError::NotFound)?;
                black_box(v.value().decode()?);
                Ok(())
            }),
            lat: Vec::new(),
            round_medians: Vec::new(),
        },
        // Lower bound: one open table reused, get + decode only.
        Method {
            label: "raw: get + decode in an open read tx",
            op: Box::new(|id| {
                let v = table.get(id)?.ok_or(StoreError::NotFound)?;
                black_box(v.value().decode()?);
                Ok(())
            }),
            lat: Vec::new(),
            round_medians: Vec::new(),
        },
    ];
    for _ in 0..p.rounds {
        for m in &mut methods {
            let warm = pick(p.ops / 10);
            let ids = pick(p.ops);
            m.round(&warm, &ids)?;
        }
    }
    let medians: Vec<f64> = methods.iter_mut().map(Method::report).collect();
    // The handler's path (scope + record read while authorizing) is what the target is about.
    println!(
        "point_read summary: authorized read (scope.record) median {:.2} µs, scope + second read \
         tx {:.2} µs, raw read {:.2} µs (target median < 5 µs: {})",
        medians[1],
        medians[0],
        medians[3],
        if medians[1] < 5.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
