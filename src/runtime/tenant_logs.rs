//! Per-tenant log files. Every event inside a span that carries `tenant_id` is also written to
//! `logs/tenants/<id>.log`, rotated by size with a bounded number of old files, so one tenant's
//! noise can neither fill the disk nor be read by another tenant. Every event, a tenant's or
//! not, also goes to the sink's [`RecentLog`](crate::runtime::recent_log::RecentLog).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use botyard_shards::ids::TenantId;

/// Open files kept; more tenants than this are reopened as needed.
const MAX_OPEN: usize = 256;
/// Longest line stored.
const MAX_LINE: usize = 4096;

/// Live sinks by instance, so several apps in one process (tests) keep their logs apart.
static SINKS: Mutex<Vec<(u64, std::sync::Weak<TenantLogs>)>> = Mutex::new(Vec::new());

fn sink(instance: Option<u64>) -> Option<std::sync::Arc<TenantLogs>> {
    let mut sinks = SINKS.lock().unwrap_or_else(|p| p.into_inner());
    sinks.retain(|(_, w)| w.strong_count() > 0);
    match instance {
        Some(i) => sinks
            .iter()
            .find(|(id, _)| *id == i)
            .and_then(|(_, w)| w.upgrade()),
        // Events outside any instance's span go to the only app, if there is just one.
        None if sinks.len() == 1 => sinks.first().and_then(|(_, w)| w.upgrade()),
        None => None,
    }
}

pub struct TenantLogs {
    /// Every line, tenants' and the server's, for the console's log pages.
    pub recent: crate::runtime::recent_log::RecentLog,
    instance: u64,
    dir: PathBuf,
    max_bytes: u64,
    kept: u32,
    open: Mutex<HashMap<u64, (File, u64)>>,
}

impl TenantLogs {
    /// Creates the sink and registers it for the tracing layer.
    pub fn new(dir: PathBuf, max_bytes: u64, kept: u32) -> std::sync::Arc<Self> {
        let logs = std::sync::Arc::new(TenantLogs {
            recent: Default::default(),
            instance: rand::random(),
            dir,
            max_bytes: max_bytes.max(4096),
            kept,
            open: Mutex::new(HashMap::new()),
        });
        SINKS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((logs.instance, std::sync::Arc::downgrade(&logs)));
        logs
    }

    /// Put this in a span as `botyard_instance` so its events reach this sink.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    fn path(&self, tenant: u64, generation: u32) -> PathBuf {
        if generation == 0 {
            self.dir.join(format!("{tenant}.log"))
        } else {
            self.dir.join(format!("{tenant}.log.{generation}"))
        }
    }

    fn open_file(&self, tenant: u64) -> std::io::Result<(File, u64)> {
        std::fs::create_dir_all(&self.dir)?;
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(tenant, 0))?;
        let len = f.metadata()?.len();
        Ok((f, len))
    }

    fn rotate(&self, tenant: u64) -> std::io::Result<()> {
        if self.kept == 0 {
            return std::fs::remove_file(self.path(tenant, 0));
        }
        let _ = std::fs::remove_file(self.path(tenant, self.kept));
        for g in (0..self.kept).rev() {
            let from = self.path(tenant, g);
            if from.exists() {
                std::fs::rename(&from, self.path(tenant, g + 1))?;
            }
        }
        Ok(())
    }

    /// Appends one line; errors are swallowed (logging must never fail a request).
    pub fn write_line(&self, tenant: u64, line: &str) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if !open.contains_key(&tenant) {
            if open.len() >= MAX_OPEN {
                open.clear();
            }
            match self.open_file(tenant) {
                Ok(f) => {
                    open.insert(tenant, f);
                }
                Err(_) => return,
            }
        }
        let needs_rotation = open
            .get(&tenant)
            .is_some_and(|(_, len)| *len + line.len() as u64 + 1 > self.max_bytes);
        if needs_rotation {
            open.remove(&tenant);
            if self.rotate(tenant).is_err() {
                return;
            }
            match self.open_file(tenant) {
                Ok(f) => {
                    open.insert(tenant, f);
                }
                Err(_) => return,
            }
        }
        if let Some((f, len)) = open.get_mut(&tenant)
            && writeln!(f, "{line}").is_ok()
        {
            *len += line.len() as u64 + 1;
        }
    }

    /// Removes a tenant's files (tenant deleted).
    pub fn remove(&self, tenant: TenantId) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&tenant.0);
        for g in 0..=self.kept {
            let _ = std::fs::remove_file(self.path(tenant.0, g));
        }
    }

    /// The newest `limit` lines at or above `min_level` containing `contains`
    /// (case-insensitive), oldest first.
    pub fn tail(
        &self,
        tenant: TenantId,
        min_level: Level,
        contains: Option<&str>,
        limit: usize,
    ) -> Vec<LogLine> {
        let needle = contains.map(str::to_lowercase);
        let mut out: Vec<LogLine> = Vec::new();
        // Newest file first; stop once enough lines are found.
        for g in 0..=self.kept {
            let lines = read_lines(&self.path(tenant.0, g));
            let mut matched: Vec<LogLine> = lines
                .into_iter()
                .filter_map(|l| parse_line(&l))
                .filter(|l| level_rank(&l.level) >= level_rank_of(min_level))
                .filter(|l| {
                    needle
                        .as_ref()
                        .is_none_or(|n| l.message.to_lowercase().contains(n.as_str()))
                })
                .collect();
            matched.append(&mut out);
            out = matched;
            if out.len() >= limit {
                break;
            }
        }
        let skip = out.len().saturating_sub(limit);
        out.split_off(skip)
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    match File::open(path) {
        Ok(f) => BufReader::new(f).lines().map_while(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogLine {
    /// RFC 3339 time.
    pub time: String,
    /// TRACE, DEBUG, INFO, WARN or ERROR.
    pub level: String,
    pub message: String,
}

fn parse_line(line: &str) -> Option<LogLine> {
    let mut parts = line.splitn(3, ' ');
    let time = parts.next()?.to_string();
    let level = parts.next()?.to_string();
    let message = parts.next().unwrap_or("").to_string();
    Some(LogLine {
        time,
        level,
        message,
    })
}

fn level_rank(l: &str) -> u8 {
    match l {
        "TRACE" => 0,
        "DEBUG" => 1,
        "INFO" => 2,
        "WARN" => 3,
        "ERROR" => 4,
        _ => 2,
    }
}

fn level_rank_of(l: Level) -> u8 {
    level_rank(l.as_str())
}

/// Span extension: the tenant and app instance a span belongs to.
#[derive(Default, Clone, Copy)]
struct SpanTags {
    tenant: Option<u64>,
    instance: Option<u64>,
}

#[derive(Default)]
struct TagVisitor(SpanTags);

impl TagVisitor {
    fn set(&mut self, field: &Field, v: Option<u64>) {
        match field.name() {
            "tenant_id" => self.0.tenant = v.or(self.0.tenant),
            "botyard_instance" => self.0.instance = v.or(self.0.instance),
            _ => {}
        }
    }
}

impl Visit for TagVisitor {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, Some(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, u64::try_from(value).ok());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.parse().ok());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "tenant_id" | "botyard_instance") {
            self.set(field, format!("{value:?}").trim_matches('"').parse().ok());
        }
    }
}

struct LineVisitor(String);

impl Visit for LineVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// The tracing layer that feeds every registered [`TenantLogs`].
#[derive(Default)]
pub struct TenantLogLayer;

impl<S> Layer<S> for TenantLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut v = TagVisitor::default();
        attrs.record(&mut v);
        if (v.0.tenant.is_some() || v.0.instance.is_some())
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(v.0);
        }
    }

    fn on_record(&self, id: &Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let old = span
            .extensions()
            .get::<SpanTags>()
            .copied()
            .unwrap_or_default();
        let mut v = TagVisitor(old);
        values.record(&mut v);
        span.extensions_mut().replace(v.0);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut tags = SpanTags::default();
        // Events outside any span are the server's own (start, shutdown).
        if let Some(scope) = ctx.event_scope(event) {
            for s in scope.from_root() {
                if let Some(t) = s.extensions().get::<SpanTags>() {
                    tags.tenant = t.tenant.or(tags.tenant);
                    tags.instance = t.instance.or(tags.instance);
                }
            }
        }
        // An event may name its tenant itself.
        let mut own = TagVisitor::default();
        event.record(&mut own);
        let tenant = own.0.tenant.or(tags.tenant);
        let Some(logs) = sink(tags.instance) else {
            return;
        };
        let mut v = LineVisitor(String::new());
        event.record(&mut v);
        let mut text = v.0.replace(['\n', '\r'], " ");
        if text.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let time = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let level = *event.metadata().level();
        if let Some(tenant) = tenant {
            logs.write_line(tenant, &format!("{time} {} {text}", level.as_str()));
        }
        logs.recent.push(crate::runtime::recent_log::Entry {
            time,
            level,
            tenant,
            message: text,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn routes_events_by_span_rotates_and_tails() {
        let dir = tempfile::tempdir().unwrap();
        let logs = TenantLogs::new(dir.path().to_path_buf(), 4096, 2);
        let inst = logs.instance();
        let sub = tracing_subscriber::registry().with(TenantLogLayer);
        tracing::subscriber::with_default(sub, || {
            let app = tracing::info_span!("app", botyard_instance = inst);
            let _app = app.enter();
            let span = tracing::info_span!("req", tenant_id = 7u64);
            let _g = span.enter();
            tracing::info!("hello from seven");
            tracing::warn!(group = "Kahve Dükkanı", "slow mode noted");
            drop(_g);
            tracing::info!("outside any tenant");
            let other = tracing::info_span!("req", tenant_id = 8u64);
            other.in_scope(|| tracing::error!("eight's trouble"));
            let span = tracing::info_span!("bulk", tenant_id = 7u64);
            span.in_scope(|| {
                for i in 0..400 {
                    tracing::debug!("line {i} with some padding to fill the file");
                }
            });
        });
        let t7 = logs.tail(TenantId(7), Level::TRACE, None, 10_000);
        assert!(t7.iter().all(|l| !l.message.contains("eight")));
        assert!(t7.iter().any(|l| l.message.contains("line 399")));
        // Rotation bounds the total: current + 2 kept, each ≤ 4096 bytes.
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().starts_with("7.log"))
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(total <= 3 * 4096, "total {total}");
        assert!(!dir.path().join("7.log.3").exists());

        let warn = logs.tail(TenantId(8), Level::WARN, None, 10);
        assert_eq!(warn.len(), 1);
        assert_eq!(warn[0].level, "ERROR");
        let filtered = logs.tail(TenantId(7), Level::TRACE, Some("LINE 39"), 3);
        assert_eq!(filtered.len(), 3);
        assert!(filtered[2].message.contains("line 399"));
        logs.remove(TenantId(7));
        assert!(logs.tail(TenantId(7), Level::TRACE, None, 10).is_empty());
    }
}
