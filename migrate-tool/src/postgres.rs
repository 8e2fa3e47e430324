//! `botyard-migrate postgres export`: every tenant's data into a PostgreSQL schema, through the
//! appliance's export stream, in one PostgreSQL transaction: the schema made or brought up to
//! date, the parts the appliance sends replaced (deleted, then loaded with binary `COPY`), its
//! change sequences kept for the next run. The first run (or `--full`) loads everything; each
//! later one only what changed, deletes included; a run with nothing changed changes nothing.

use std::error::Error as _;
use std::pin::Pin;
use std::time::Instant;

use bytes::BytesMut;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Transaction};

use crate::MigrateError;
use crate::pg_schema::{self, Part, SPECS, Spec, Ty, Val, q};

pub struct ExportOptions {
    pub server: String,
    pub token: String,
    /// `postgres://user@host/db` or `host=/run/postgresql dbname=…`.
    pub pg: String,
    pub schema: String,
    /// Load everything again, whatever the last run saw.
    pub full: bool,
    /// Make a read-only role per tenant (`botyard_tenant_ID`).
    pub tenant_roles: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Exported {
    pub full: bool,
    pub tenants: usize,
    pub slices: usize,
    pub rows: u64,
    pub seconds: f64,
}

impl Exported {
    pub fn render(&self) -> String {
        format!(
            "{} export: {} tenants, {} parts replaced, {} rows in {:.1} s\n",
            if self.full { "full" } else { "incremental" },
            self.tenants,
            self.slices,
            self.rows,
            self.seconds
        )
    }
}

fn pg_err(e: tokio_postgres::Error) -> MigrateError {
    let detail = e
        .source()
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string());
    MigrateError::Postgres(detail)
}

/// A day number (days since 1970-01-01) as PostgreSQL's binary date.
#[derive(Debug)]
struct PgDate(i32);

impl ToSql for PgDate {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // PostgreSQL counts days from 2000-01-01.
        out.extend_from_slice(&(self.0 - 10_957).to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
    to_sql_checked!();
}

pub async fn connect(pg: &str) -> Result<Client, MigrateError> {
    let (client, conn) = tokio_postgres::connect(pg, NoTls).await.map_err(pg_err)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("botyard-migrate: the PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}

pub async fn export(o: &ExportOptions) -> Result<Exported, MigrateError> {
    let started = Instant::now();
    let api = crate::api::Api::new(&o.server, &o.token)?;
    let mut client = connect(&o.pg).await?;
    let schema = o.schema.as_str();
    let may: bool = client
        .query_one(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(pg_err)?
        .get(0);
    if !may {
        return Err(MigrateError::Postgres(
            "the exporting role needs BYPASSRLS (it loads tables whose row-level security is forced): ALTER ROLE … BYPASSRLS as a superuser".into(),
        ));
    }
    client
        .batch_execute(&format!(
            "BEGIN;\n{}\n{}\nCOMMIT;",
            pg_schema::ddl(schema),
            pg_schema::rls(schema)
        ))
        .await
        .map_err(pg_err)?;

    // What this database has: each shard's sequence, and where each tenant was.
    let seqs: Vec<i64> = client
        .query(
            &format!(
                "SELECT seq FROM {} ORDER BY shard",
                q(schema, "export_state")
            ),
            &[],
        )
        .await
        .map_err(pg_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let known: Vec<[u64; 2]> = client
        .query(
            &format!("SELECT tenant_id, shard FROM {}", q(schema, "tenants")),
            &[],
        )
        .await
        .map_err(pg_err)?
        .iter()
        .map(|r| [r.get::<_, i64>(0) as u64, r.get::<_, i32>(1) as u64])
        .collect();
    let since =
        (!o.full && !seqs.is_empty()).then(|| seqs.iter().map(|s| *s as u64).collect::<Vec<u64>>());
    let resp = api
        .stream(
            "/api/v1/export",
            json!({"since": since, "known": if since.is_some() { known } else { Vec::new() }}),
        )
        .await?;

    let tx = client.transaction().await.map_err(pg_err)?;
    let mut load = Load::new(&tx, schema);
    let mut lines = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut ended = false;
    while let Some(chunk) = lines.next().await {
        let chunk = chunk.map_err(|e| MigrateError::Unreachable(format!("export: {e}")))?;
        buf.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
            let line = &buf[start..start + nl];
            start += nl + 1;
            let v: Value = serde_json::from_slice(line)
                .map_err(|e| MigrateError::Input(format!("the export stream: {e}")))?;
            if load.line(v).await? {
                ended = true;
            }
        }
        buf.drain(..start);
    }
    if !ended {
        return Err(MigrateError::Unreachable(
            "the export stream was cut short; nothing was changed".into(),
        ));
    }
    let mut out = load.finish().await?;
    if o.tenant_roles {
        tenant_roles(&tx, schema, &out.tenant_ids).await?;
    }
    tx.commit().await.map_err(pg_err)?;
    out.summary.seconds = started.elapsed().as_secs_f64();
    Ok(out.summary)
}

struct Done {
    summary: Exported,
    tenant_ids: Vec<i64>,
}

/// The export stream, applied line by line inside one transaction.
struct Load<'a> {
    tx: &'a Transaction<'a>,
    schema: &'a str,
    full: bool,
    shards: Vec<u64>,
    plans: Vec<(i64, String)>,
    tenants: Vec<Value>,
    members: Vec<(i64, String, String)>,
    slices: Vec<(i64, String, Option<i32>)>,
    header_done: bool,
    copy: Option<(&'static Spec, Pin<Box<BinaryCopyInWriter>>)>,
    rows: u64,
}

impl<'a> Load<'a> {
    fn new(tx: &'a Transaction<'a>, schema: &'a str) -> Self {
        Load {
            tx,
            schema,
            full: false,
            shards: Vec::new(),
            plans: Vec::new(),
            tenants: Vec::new(),
            members: Vec::new(),
            slices: Vec::new(),
            header_done: false,
            copy: None,
            rows: 0,
        }
    }

    fn t(&self, name: &str) -> String {
        q(self.schema, name)
    }

    /// Applies one line; true at the end.
    async fn line(&mut self, v: Value) -> Result<bool, MigrateError> {
        let bad = |what: &str| MigrateError::Input(format!("the export stream: a bad {what} line"));
        if let Some(row) = v.get("row") {
            let Some((spec, w)) = self.copy.as_mut() else {
                return Err(bad("row"));
            };
            write_row(spec, w.as_mut(), row).await?;
            self.rows += 1;
            return Ok(false);
        }
        if let Some(b) = v.get("begin") {
            self.full = b["full"].as_bool().ok_or_else(|| bad("begin"))?;
            self.shards = serde_json::from_value(b["shards"].clone()).map_err(|_| bad("begin"))?;
        } else if let Some(p) = v.get("plan") {
            self.plans.push((
                p["id"].as_i64().ok_or_else(|| bad("plan"))?,
                p["name"].as_str().unwrap_or_default().to_string(),
            ));
        } else if let Some(t) = v.get("tenant") {
            self.tenants.push(t.clone());
        } else if let Some(m) = v.get("member") {
            self.members.push((
                m["tenant"].as_i64().ok_or_else(|| bad("member"))?,
                m["email"].as_str().unwrap_or_default().to_string(),
                m["role"].as_str().unwrap_or_default().to_string(),
            ));
        } else if let Some(s) = v.get("slice") {
            self.slices.push((
                s["tenant"].as_i64().ok_or_else(|| bad("slice"))?,
                s["slice"].as_str().unwrap_or_default().to_string(),
                s["day"].as_i64().map(|d| d as i32),
            ));
        } else if let Some(name) = v.get("table") {
            self.header().await?;
            self.end_copy().await?;
            let name = name.as_str().ok_or_else(|| bad("table"))?;
            let spec = pg_schema::spec(name).ok_or_else(|| {
                MigrateError::Input(format!(
                    "the appliance sends a table this botyard-migrate does not know ({name}): use the botyard-migrate of the same release"
                ))
            })?;
            let mut cols = vec!["tenant_id".to_string()];
            let mut types = vec![Type::INT8];
            for (n, t) in spec.keys {
                cols.push((*n).into());
                types.push(t.pg());
            }
            match spec.value {
                Val::Json => {
                    cols.push("data".into());
                    types.push(Type::JSONB);
                }
                Val::Big(n) => {
                    cols.push(n.into());
                    types.push(Type::INT8);
                }
                Val::Int(n) => {
                    cols.push(n.into());
                    types.push(Type::INT4);
                }
            }
            let sink = self
                .tx
                .copy_in(&format!(
                    "COPY {} ({}) FROM STDIN (FORMAT binary)",
                    self.t(spec.table),
                    cols.join(", ")
                ))
                .await
                .map_err(pg_err)?;
            self.copy = Some((spec, Box::pin(BinaryCopyInWriter::new(sink, &types))));
        } else if v.get("end").is_some() {
            self.header().await?;
            self.end_copy().await?;
            return Ok(true);
        } else {
            return Err(bad("unknown"));
        }
        Ok(false)
    }

    async fn end_copy(&mut self) -> Result<(), MigrateError> {
        if let Some((_, mut w)) = self.copy.take() {
            w.as_mut().finish().await.map_err(pg_err)?;
        }
        Ok(())
    }

    /// Before the first table: plans, tenants (the ones gone deleted, with all their rows),
    /// members, and the parts about to be sent again removed.
    async fn header(&mut self) -> Result<(), MigrateError> {
        if self.header_done {
            return Ok(());
        }
        self.header_done = true;
        let tx = self.tx;
        if self.full {
            let all: Vec<String> = ["tenants", "plans", "members"]
                .iter()
                .map(|t| self.t(t))
                .chain(SPECS.iter().map(|s| self.t(s.table)))
                .chain(std::iter::once(self.t("export_state")))
                .collect();
            tx.batch_execute(&format!(
                "TRUNCATE {} CASCADE;\n{}",
                all.join(", "),
                pg_schema::drop_foreign_keys(self.schema)
            ))
            .await
            .map_err(pg_err)?;
        }
        let (ids, names): (Vec<i64>, Vec<String>) = self.plans.iter().cloned().unzip();
        tx.execute(
            &format!(
                "INSERT INTO {} (plan_id, name) SELECT * FROM unnest($1::bigint[], $2::text[])
                 ON CONFLICT (plan_id) DO UPDATE SET name = excluded.name
                 WHERE {}.name IS DISTINCT FROM excluded.name",
                self.t("plans"),
                self.t("plans")
            ),
            &[&ids, &names],
        )
        .await
        .map_err(pg_err)?;
        let mut tid = Vec::new();
        let (mut name, mut status, mut plan, mut shard, mut created, mut updated) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for t in &self.tenants {
            tid.push(t["id"].as_i64().unwrap_or_default());
            name.push(t["name"].as_str().unwrap_or_default().to_string());
            status.push(t["status"].as_str().unwrap_or_default().to_string());
            plan.push(t["plan_id"].as_i64());
            shard.push(t["shard"].as_i64().unwrap_or_default() as i32);
            created.push(t["created_at"].as_f64().unwrap_or_default());
            updated.push(t["updated_at"].as_f64().unwrap_or_default());
        }
        // Tenants gone from the appliance go with every row: through the foreign keys, and
        // from the statistics tables (which have none) here.
        let gone: Vec<i64> = tx
            .query(
                &format!(
                    "DELETE FROM {} WHERE NOT (tenant_id = ANY($1)) RETURNING tenant_id",
                    self.t("tenants")
                ),
                &[&tid],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !gone.is_empty() {
            for spec in SPECS.iter().filter(|s| s.part == Part::Stats) {
                tx.execute(
                    &format!(
                        "DELETE FROM {} WHERE tenant_id = ANY($1)",
                        self.t(spec.table)
                    ),
                    &[&gone],
                )
                .await
                .map_err(pg_err)?;
            }
        }
        tx.execute(
            &format!(
                "DELETE FROM {} WHERE NOT (plan_id = ANY($1))",
                self.t("plans")
            ),
            &[&ids],
        )
        .await
        .map_err(pg_err)?;
        tx.execute(
            &format!(
                "INSERT INTO {t} (tenant_id, name, status, plan_id, shard, created_at, updated_at)
                 SELECT i, n, s, p, sh, to_timestamp(c), to_timestamp(u)
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::float8[], $7::float8[])
                   AS x(i, n, s, p, sh, c, u)
                 ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name, status = excluded.status,
                   plan_id = excluded.plan_id, shard = excluded.shard, created_at = excluded.created_at,
                   updated_at = excluded.updated_at
                 WHERE ({t}.name, {t}.status, {t}.plan_id, {t}.shard, {t}.created_at, {t}.updated_at)
                   IS DISTINCT FROM (excluded.name, excluded.status, excluded.plan_id, excluded.shard,
                   excluded.created_at, excluded.updated_at)",
                t = self.t("tenants")
            ),
            &[&tid, &name, &status, &plan, &shard, &created, &updated],
        )
        .await
        .map_err(pg_err)?;
        let mt: Vec<i64> = self.members.iter().map(|m| m.0).collect();
        let me: Vec<String> = self.members.iter().map(|m| m.1.clone()).collect();
        let mr: Vec<String> = self.members.iter().map(|m| m.2.clone()).collect();
        tx.execute(
            &format!(
                "DELETE FROM {m} WHERE (tenant_id, email) NOT IN (SELECT * FROM unnest($1::bigint[], $2::text[]))",
                m = self.t("members")
            ),
            &[&mt, &me],
        )
        .await
        .map_err(pg_err)?;
        tx.execute(
            &format!(
                "INSERT INTO {m} (tenant_id, email, role) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
                 ON CONFLICT (tenant_id, email) DO UPDATE SET role = excluded.role WHERE {m}.role <> excluded.role",
                m = self.t("members")
            ),
            &[&mt, &me, &mr],
        )
        .await
        .map_err(pg_err)?;
        if !self.full {
            self.remove_slices().await?;
        }
        Ok(())
    }

    /// Deletes what the stream is about to send again: children before parents.
    async fn remove_slices(&self) -> Result<(), MigrateError> {
        let of = |kind: &str| -> Vec<i64> {
            self.slices
                .iter()
                .filter(|s| s.1 == kind)
                .map(|s| s.0)
                .collect()
        };
        let (content, users, stats) = (of("content"), of("users"), of("stats"));
        let days: Vec<(i64, i32)> = self
            .slices
            .iter()
            .filter(|s| s.1 == "day")
            .filter_map(|s| s.2.map(|d| (s.0, d)))
            .collect();
        let (dt, dd): (Vec<i64>, Vec<i32>) = days.into_iter().unzip();
        for spec in SPECS.iter().rev() {
            let table = self.t(spec.table);
            let whole = match spec.part {
                Part::Content => &content,
                Part::Users => &users,
                Part::Stats => &stats,
            };
            if !whole.is_empty() {
                self.tx
                    .execute(
                        &format!("DELETE FROM {table} WHERE tenant_id = ANY($1)"),
                        &[whole],
                    )
                    .await
                    .map_err(pg_err)?;
            }
            if spec.part == Part::Stats && !dt.is_empty() {
                self.tx
                    .execute(
                        &format!(
                            "DELETE FROM {table} t USING unnest($1::bigint[], $2::int[]) AS x(tid, d)
                             WHERE t.tenant_id = x.tid AND t.day = date '1970-01-01' + x.d"
                        ),
                        &[&dt, &dd],
                    )
                    .await
                    .map_err(pg_err)?;
            }
        }
        Ok(())
    }

    async fn finish(self) -> Result<Done, MigrateError> {
        if self.full {
            self.tx
                .batch_execute(&pg_schema::add_foreign_keys(self.schema))
                .await
                .map_err(pg_err)?;
        }
        let state = self.t("export_state");
        self.tx
            .execute(&format!("DELETE FROM {state}"), &[])
            .await
            .map_err(pg_err)?;
        let shards: Vec<i32> = (0..self.shards.len() as i32).collect();
        let seqs: Vec<i64> = self.shards.iter().map(|s| *s as i64).collect();
        self.tx
            .execute(
                &format!("INSERT INTO {state} SELECT * FROM unnest($1::int[], $2::bigint[])"),
                &[&shards, &seqs],
            )
            .await
            .map_err(pg_err)?;
        let tenant_ids: Vec<i64> = self
            .tenants
            .iter()
            .filter_map(|t| t["id"].as_i64())
            .collect();
        Ok(Done {
            summary: Exported {
                full: self.full,
                tenants: self.tenants.len(),
                slices: self.slices.len(),
                rows: self.rows,
                seconds: 0.0,
            },
            tenant_ids,
        })
    }
}

/// One row, `[tenant, key, value]`, into the open COPY.
async fn write_row(
    spec: &Spec,
    w: Pin<&mut BinaryCopyInWriter>,
    row: &Value,
) -> Result<(), MigrateError> {
    let bad = |why: &str| MigrateError::Input(format!("a row of {}: {why}", spec.source));
    let tenant = row[0].as_i64().ok_or_else(|| bad("no tenant"))?;
    // The key: the tenant alone, or an array that starts with it.
    let parts: Vec<&Value> = match &row[1] {
        Value::Array(a) => a.iter().skip(1).collect(),
        _ => Vec::new(),
    };
    if parts.len() != spec.keys.len() {
        return Err(bad("its key does not fit"));
    }
    let mut vals: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant)];
    for ((_, ty), v) in spec.keys.iter().zip(parts) {
        let n = v
            .as_i64()
            .ok_or_else(|| bad("a key part is not a number"))?;
        vals.push(match ty {
            Ty::Big => Box::new(n),
            Ty::Int => Box::new(i32::try_from(n).map_err(|_| bad("out of range"))?),
            Ty::Small => Box::new(i16::try_from(n).map_err(|_| bad("out of range"))?),
            Ty::Date => Box::new(PgDate(i32::try_from(n).map_err(|_| bad("out of range"))?)),
        });
    }
    let value = &row[2];
    vals.push(match spec.value {
        Val::Json => Box::new(value.clone()),
        Val::Big(_) => Box::new(value.as_i64().ok_or_else(|| bad("not a count"))?),
        Val::Int(_) => Box::new(
            value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| bad("not a count"))?,
        ),
    });
    w.write_raw(vals.iter().map(|v| &**v as &dyn ToSql))
        .await
        .map_err(pg_err)
}

/// A read-only role per tenant, `botyard_tenant_ID`, that sees that tenant's rows only.
async fn tenant_roles(
    tx: &Transaction<'_>,
    schema: &str,
    tenants: &[i64],
) -> Result<(), MigrateError> {
    let sch = format!("\"{}\"", schema.replace('"', "\"\""));
    for t in tenants {
        let role = format!("botyard_tenant_{t}");
        tx.batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                 CREATE ROLE \"{role}\" LOGIN NOINHERIT;
               END IF;
             END $$;
             ALTER ROLE \"{role}\" SET botyard.tenant_id = '{t}';
             GRANT USAGE ON SCHEMA {sch} TO \"{role}\";
             GRANT SELECT ON ALL TABLES IN SCHEMA {sch} TO \"{role}\";
             INSERT INTO {roles} (tenant_id, role_name) VALUES ({t}, '{role}') ON CONFLICT DO NOTHING;",
            roles = q(schema, "tenant_roles"),
        ))
        .await
        .map_err(pg_err)?;
    }
    Ok(())
}

pub struct ImportOptions {
    pub server: String,
    pub token: String,
    pub pg: String,
    pub schema: String,
    /// One tenant's id in the PostgreSQL schema; every tenant when absent.
    pub tenant: Option<u64>,
    /// The new tenant's name on the appliance (no tenant may have it yet); its name in the
    /// schema when absent.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Its id in the schema.
    pub source: u64,
    pub tenant: u64,
    pub tables: usize,
    pub rows: u64,
    pub seconds: f64,
}

impl Imported {
    pub fn render(&self) -> String {
        format!(
            "tenant {} imported as tenant {}: {} rows of {} tables in {:.1} s\n",
            self.source, self.tenant, self.rows, self.tables, self.seconds
        )
    }
}

/// Rows per request to the appliance (its body limit is 1 MiB).
const ROWS_PER_CALL: usize = 1_000;

/// What an import says after its tenants: what did not come along.
pub const IMPORT_AFTERWORD: &str = "  sessions and media files do not travel through PostgreSQL: connect the sessions and upload the media again; invite the tenants' people\n";

/// Brings tenants back from the PostgreSQL schema into an appliance (a fresh one, or this one
/// under new names), through its API: every table the export wrote except sessions (no keys)
/// and media (no files). One tenant, or every tenant of the schema.
pub async fn import(o: &ImportOptions) -> Result<Vec<Imported>, MigrateError> {
    let api = crate::api::Api::new(&o.server, &o.token)?;
    let client = connect(&o.pg).await?;
    let tenants: Vec<(u64, String)> = match (o.tenant, &o.name) {
        (Some(t), Some(n)) => vec![(t, n.clone())],
        (Some(t), None) => {
            let row = client
                .query_opt(
                    &format!(
                        "SELECT name FROM {} WHERE tenant_id = $1",
                        q(&o.schema, "tenants")
                    ),
                    &[&(t as i64)],
                )
                .await
                .map_err(pg_err)?;
            vec![(t, row.map(|r| r.get(0)).unwrap_or_default())]
        }
        (None, Some(_)) => {
            return Err(MigrateError::Input("--name goes with --tenant".into()));
        }
        (None, None) => client
            .query(
                &format!(
                    "SELECT tenant_id, name FROM {} ORDER BY tenant_id",
                    q(&o.schema, "tenants")
                ),
                &[],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect(),
    };
    let mut out = Vec::with_capacity(tenants.len());
    for (t, name) in tenants {
        out.push(import_one(&api, &client, &o.schema, t, &name).await?);
    }
    Ok(out)
}

async fn import_one(
    api: &crate::api::Api,
    client: &Client,
    schema: &str,
    source: u64,
    name: &str,
) -> Result<Imported, MigrateError> {
    let started = Instant::now();
    let src = i64::try_from(source).map_err(|_| MigrateError::Input("tenant id".into()))?;
    let found = client
        .query_opt(
            &format!(
                "SELECT p.name FROM {} t LEFT JOIN {} p USING (plan_id) WHERE t.tenant_id = $1",
                q(schema, "tenants"),
                q(schema, "plans")
            ),
            &[&src],
        )
        .await
        .map_err(pg_err)?;
    let Some(found) = found else {
        return Err(MigrateError::Input(format!(
            "no tenant {source} in {schema}.tenants (or this role may not see it)"
        )));
    };
    // Its plan, by name: ids differ between appliances.
    let plan_id = match found.get::<_, Option<String>>(0) {
        None => None,
        Some(name) => {
            let plans = api.get("/api/v1/plans").await?;
            let id = plans
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"].as_str() == Some(name.as_str()))
                .and_then(|p| p["id"].as_u64());
            Some(id.ok_or_else(|| {
                MigrateError::Input(format!(
                    "the plan \"{name}\" does not exist on the appliance: create a plan with that name first"
                ))
            })?)
        }
    };
    if crate::sqlite::find_tenant(api, name).await?.is_some() {
        return Err(MigrateError::Input(format!(
            "a tenant is named \"{name}\" already: choose another name"
        )));
    }
    let made = api
        .post("/api/v1/tenants", json!({"name": name, "plan_id": plan_id}))
        .await?;
    let id = made["id"]
        .as_u64()
        .ok_or_else(|| MigrateError::Input("the appliance did not name the new tenant".into()))?;
    let mut out = Imported {
        source,
        tenant: id,
        ..Imported::default()
    };
    for spec in SPECS
        .iter()
        .filter(|s| s.source != "sessions" && s.source != "media")
    {
        let cols: Vec<String> = spec
            .keys
            .iter()
            .map(|(n, t)| match t {
                Ty::Date => format!("({n} - date '1970-01-01')::bigint"),
                _ => format!("{n}::bigint"),
            })
            .collect();
        let value = match spec.value {
            Val::Json => "data".to_string(),
            Val::Big(n) | Val::Int(n) => format!("to_jsonb({n}::bigint)"),
        };
        let order: Vec<&str> = spec.keys.iter().map(|(n, _)| *n).collect();
        let sql = format!(
            "SELECT {}{value} FROM {} WHERE tenant_id = $1{}",
            cols.iter().map(|c| format!("{c}, ")).collect::<String>(),
            q(schema, spec.table),
            if order.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", order.join(", "))
            }
        );
        let rows = client.query(&sql, &[&src]).await.map_err(pg_err)?;
        if rows.is_empty() {
            continue;
        }
        let n = spec.keys.len();
        let pairs: Vec<Value> = rows
            .iter()
            .map(|r| {
                let key = if n == 0 {
                    json!(source)
                } else {
                    let mut k = vec![json!(source)];
                    k.extend((0..n).map(|i| json!(r.get::<_, i64>(i))));
                    Value::Array(k)
                };
                json!([key, r.get::<_, Value>(n)])
            })
            .collect();
        for chunk in pairs.chunks(ROWS_PER_CALL) {
            api.post(
                &format!("/api/v1/tenants/{id}/rows"),
                json!({"table": spec.source, "rows": chunk}),
            )
            .await?;
        }
        out.tables += 1;
        out.rows += pairs.len() as u64;
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}
