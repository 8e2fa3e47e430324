//! Periodic reports: a period's summary against the period before, as one self-contained HTML
//! document whose charts are inline SVG drawn here (no scripts, no outside files), in the
//! tenant's language. Stored with the tenant; the notifications issue will mail them.

use std::fmt::Write;

use botyard_shards::ids::{Day, ReportId};
use botyard_shards::records::{Language, ReportRec, SettingsRec};
use botyard_shards::{Reader, Store, TenantScope, TenantShard};

use super::activity::{self, GroupActivity, Heatmap};
use super::campaigns::Deliveries;
use super::summary::{Facts, Period};
use super::{Range, date_of, week_start};
use crate::error::AppResult;

pub use crate::config::Every;

/// The last complete period before `today`: yesterday, or last Monday to Sunday.
pub fn last_period(every: Every, today: Day) -> Option<Range> {
    match every {
        Every::Off => None,
        Every::Daily => {
            let d = Day(today.0.checked_sub(1)?);
            Some(Range { from: d, to: d })
        }
        Every::Weekly => {
            let to = Day(week_start(today).0.checked_sub(1)?);
            Some(Range {
                from: Day(to.0.checked_sub(6)?),
                to,
            })
        }
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

struct Words {
    title: &'static str,
    this: &'static str,
    before: &'static str,
    change: &'static str,
    messages: &'static str,
    active: &'static str,
    new: &'static str,
    joins: &'static str,
    leaves: &'static str,
    net: &'static str,
    sent: &'static str,
    failed: &'static str,
    per_day: &'static str,
    active_per_day: &'static str,
    when: &'static str,
    groups: &'static str,
    group: &'static str,
    reasons: &'static str,
    none: &'static str,
    /// A change from zero: there is no percentage of nothing.
    from_zero: &'static str,
    days: [&'static str; 7],
}

const EN: Words = Words {
    title: "Statistics report",
    this: "This period",
    before: "Period before",
    change: "Change",
    messages: "Messages",
    active: "Active users",
    new: "New users",
    joins: "Joins",
    leaves: "Leaves",
    net: "Net growth",
    sent: "Posts sent",
    failed: "Posts failed",
    per_day: "Messages per day",
    active_per_day: "Active users per day",
    when: "When people write (weekday × hour)",
    groups: "Most active groups",
    group: "Group",
    reasons: "Why posts failed or were skipped",
    none: "Nothing to show.",
    from_zero: "new",
    days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

const TR: Words = Words {
    title: "İstatistik raporu",
    this: "Bu dönem",
    before: "Önceki dönem",
    change: "Değişim",
    messages: "Mesajlar",
    active: "Aktif kullanıcılar",
    new: "Yeni kullanıcılar",
    joins: "Katılanlar",
    leaves: "Ayrılanlar",
    net: "Net büyüme",
    sent: "Gönderilen paylaşımlar",
    failed: "Başarısız paylaşımlar",
    per_day: "Günlük mesajlar",
    active_per_day: "Günlük aktif kullanıcılar",
    when: "Mesaj saatleri (gün × saat)",
    groups: "En aktif gruplar",
    group: "Grup",
    reasons: "Başarısız ve atlanan paylaşımların nedenleri",
    none: "Gösterilecek veri yok.",
    from_zero: "yeni",
    days: ["Pzt", "Sal", "Çar", "Per", "Cum", "Cmt", "Paz"],
};

/// The change from `before` to `now` as a signed percentage of `before`'s size (a net
/// growth may be negative on both sides); from zero it is `new`, and no change is `—`.
fn change(now: i64, before: i64, new: &str) -> String {
    if before == 0 {
        return if now == 0 { "—".into() } else { new.into() };
    }
    let pct = (now - before) as f64 * 100.0 / before.unsigned_abs() as f64;
    format!("{pct:+.0} %")
}

/// Bars for each day of the period, the period before as pale bars behind.
fn bars(values: &[u64], before: &[u64], labels: &[String]) -> String {
    let (w, h, pad) = (640.0, 180.0, 24.0);
    let max = values
        .iter()
        .chain(before)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = values.len().max(1) as f64;
    let slot = (w - pad) / n;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {}" role="img">"#,
        h + 20.0
    );
    for (i, v) in values.iter().enumerate() {
        let x = pad + slot * i as f64;
        if let Some(b) = before.get(i) {
            let bh = (*b as f64 / max) * (h - 10.0);
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#cbd5e1"/>"##,
                x + slot * 0.1,
                h - bh,
                slot * 0.8
            );
        }
        let vh = (*v as f64 / max) * (h - 10.0);
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{vh:.1}" fill="#2563eb"><title>{v}</title></rect>"##,
            x + slot * 0.25,
            h - vh,
            slot * 0.5
        );
        if let Some(l) = labels.get(i) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
                x + slot / 2.0,
                h + 14.0,
                esc(l)
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="0" y="10" font-size="10">{}</text></svg>"#,
        max as u64
    );
    svg
}

/// A line through each day's value.
fn line(values: &[u64], labels: &[String]) -> String {
    let (w, h, pad) = (640.0, 160.0, 24.0);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = values.len().max(2) as f64 - 1.0;
    let pts: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                pad + (w - 2.0 * pad) * i as f64 / n,
                h - (*v as f64 / max) * (h - 10.0)
            )
        })
        .collect();
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {}" role="img"><polyline fill="none" stroke="#16a34a" stroke-width="2" points="{}"/>"##,
        h + 20.0,
        pts.join(" ")
    );
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
            pad + (w - 2.0 * pad) * i as f64 / n,
            h + 14.0,
            esc(l)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="0" y="10" font-size="10">{}</text></svg>"#,
        max as u64
    );
    svg
}

/// A 7 × 24 grid, darker where more was written.
fn heat(h: &Heatmap, days: &[&str; 7]) -> String {
    let max = h.cells.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let (cw, ch, left) = (24.0, 18.0, 34.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img">"#,
        left + cw * 24.0,
        ch * 7.0 + 16.0
    );
    for (d, row) in h.cells.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.1}" font-size="10">{}</text>"#,
            ch * d as f64 + 13.0,
            esc(days[d])
        );
        for (hour, v) in row.iter().enumerate() {
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#7c3aed" fill-opacity="{:.2}"><title>{v}</title></rect>"##,
                left + cw * hour as f64,
                ch * d as f64,
                cw - 2.0,
                ch - 2.0,
                0.05 + 0.95 * (*v as f64 / max)
            );
        }
    }
    for hour in (0..24).step_by(3) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="10">{hour:02}</text>"#,
            left + cw * hour as f64,
            ch * 7.0 + 12.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// What a report shows.
pub struct Content<'a> {
    pub settings: &'a SettingsRec,
    pub period: Range,
    pub this: &'a Period,
    pub before: &'a Period,
    /// Per day of the period (and of the period before): messages and active users.
    pub days: Vec<(Day, u64, u64)>,
    pub days_before: Vec<(u64, u64)>,
    pub heatmap: &'a Heatmap,
    pub groups: &'a [GroupActivity],
    pub deliveries: &'a Deliveries,
}

pub fn render(c: &Content) -> String {
    let w = match c.settings.language {
        Language::Tr => &TR,
        Language::En => &EN,
    };
    let lang = match c.settings.language {
        Language::Tr => "tr",
        Language::En => "en",
    };
    let name = esc(&c.settings.display_name);
    let (from, to) = (date_of(c.period.from), date_of(c.period.to));
    let mut h = String::with_capacity(32 * 1024);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{name} — {} {from} – {to}</title><style>body{{font-family:system-ui,sans-serif;max-width:720px;margin:2em auto;color:#0f172a;padding:0 1em}}table{{border-collapse:collapse;width:100%}}td,th{{padding:4px 8px;border-bottom:1px solid #e2e8f0;text-align:right}}td:first-child,th:first-child{{text-align:left}}h2{{margin-top:1.6em;font-size:1.1em}}svg{{width:100%;height:auto}}</style></head><body>"#,
        w.title
    );
    let _ = write!(
        h,
        "<h1>{name}</h1><p>{} · {from} – {to} · {}</p>",
        w.title,
        esc(&c.settings.time_zone)
    );
    let _ = write!(
        h,
        "<table><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr>",
        w.this, w.before, w.change
    );
    let rows: [(&str, i64, i64); 8] = [
        (w.messages, c.this.messages as i64, c.before.messages as i64),
        (
            w.active,
            c.this.active_users as i64,
            c.before.active_users as i64,
        ),
        (w.new, c.this.new_users as i64, c.before.new_users as i64),
        (w.joins, c.this.joins as i64, c.before.joins as i64),
        (w.leaves, c.this.leaves as i64, c.before.leaves as i64),
        (w.net, c.this.net, c.before.net),
        (w.sent, c.this.sent as i64, c.before.sent as i64),
        (w.failed, c.this.failed as i64, c.before.failed as i64),
    ];
    for (label, now, before) in rows {
        let _ = write!(
            h,
            "<tr><td>{label}</td><td>{now}</td><td>{before}</td><td>{}</td></tr>",
            change(now, before, w.from_zero)
        );
    }
    h.push_str("</table>");
    let labels: Vec<String> = c
        .days
        .iter()
        .map(|(d, _, _)| {
            let date = date_of(*d);
            format!("{:02}.{:02}", date.day(), date.month())
        })
        .collect();
    let msgs: Vec<u64> = c.days.iter().map(|d| d.1).collect();
    let before: Vec<u64> = c.days_before.iter().map(|d| d.0).collect();
    let _ = write!(h, "<h2>{}</h2>{}", w.per_day, bars(&msgs, &before, &labels));
    let active: Vec<u64> = c.days.iter().map(|d| d.2).collect();
    let _ = write!(h, "<h2>{}</h2>{}", w.active_per_day, line(&active, &labels));
    let _ = write!(h, "<h2>{}</h2>{}", w.when, heat(c.heatmap, &w.days));
    let _ = write!(h, "<h2>{}</h2>", w.groups);
    let top: Vec<&GroupActivity> = c.groups.iter().filter(|g| g.messages > 0).take(5).collect();
    if top.is_empty() {
        let _ = write!(h, "<p>{}</p>", w.none);
    } else {
        let _ = write!(
            h,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            w.group, w.messages, w.joins, w.leaves
        );
        for g in top {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&g.title),
                g.messages,
                g.joins,
                g.leaves
            );
        }
        h.push_str("</table>");
    }
    if !c.deliveries.by_reason.is_empty() {
        let _ = write!(h, "<h2>{}</h2><table>", w.reasons);
        for (code, n) in &c.deliveries.by_reason {
            let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(code));
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>\n");
    h
}

/// Builds the report of `period` (against the period of the same length before it).
pub fn build<T: Reader>(
    s: &TenantShard<T>,
    settings: &SettingsRec,
    period: Range,
) -> AppResult<String> {
    let zone = crate::domain::tenancy::zone(settings);
    let len = period.len();
    let before = Range {
        from: Day(period.from.0.saturating_sub(len)),
        to: Day(period.from.0.saturating_sub(1)),
    };
    let facts = Facts::read(
        s,
        &zone,
        Range {
            from: before.from,
            to: period.to,
        },
    )?;
    let this = facts.period(period.from, period.to);
    let prev = facts.period(before.from, before.to);
    let chats = s.counter_chats()?;
    let heatmap = activity::heatmap(s, &chats, period)?;
    let groups = activity::groups(s, period)?;
    let deliveries = super::campaigns::deliveries(s, &zone, period, None, None)?;
    let days = period
        .days()
        .map(|d| {
            let (m, a) = facts.day(d);
            (d, m, a)
        })
        .collect();
    let days_before = before.days().map(|d| facts.day(d)).collect();
    Ok(render(&Content {
        settings,
        period,
        this: &this,
        before: &prev,
        days,
        days_before,
        heatmap: &heatmap,
        groups: &groups,
        deliveries: &deliveries,
    }))
}

/// Makes and stores the report of `period` for the tenant.
pub fn make(scope: &TenantScope, period: Range, now: i64, scheduled: bool) -> AppResult<ReportId> {
    let settings = crate::domain::tenancy::settings(scope)?;
    let html = build(&scope.shard_read()?, &settings, period)?;
    let rec = ReportRec {
        from: period.from,
        to: period.to,
        created_at: now,
        scheduled,
        html,
    };
    Ok(scope.shard_write(|s| s.insert_report(&rec))?)
}

/// Makes each active tenant's report of the last complete period, once (a tenant that has a
/// scheduled report ending on that day is skipped). Returns how many were made.
pub fn run_due(store: &Store, every: Every, now: i64) -> usize {
    let tenants = match store.tenant_ids() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot list tenants for reports");
            return 0;
        }
    };
    let mut made = 0;
    for (tenant, status) in tenants {
        if status != botyard_shards::records::TenantStatus::Active {
            continue;
        }
        let r = (|| -> AppResult<bool> {
            let scope = store.supervisor_scope(tenant)?;
            let settings = crate::domain::tenancy::settings(&scope)?;
            let today = super::today(&crate::domain::tenancy::zone(&settings), now);
            let Some(period) = last_period(every, today) else {
                return Ok(false);
            };
            let done = scope
                .shard_read()?
                .reports()?
                .iter()
                .any(|(_, r)| r.scheduled && r.to == period.to && r.from == period.from);
            if done {
                return Ok(false);
            }
            make(&scope, period, now, true)?;
            Ok(true)
        })();
        match r {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(tenant_id = tenant.0, error = %e, "cannot make the report"),
        }
    }
    if made > 0 {
        tracing::info!(reports = made, "statistics reports made");
    }
    made
}

/// Makes the report of the last complete week in the tenant's zone (asked for, not scheduled).
pub fn make_last_week(scope: &TenantScope, now: i64) -> AppResult<ReportId> {
    let settings = crate::domain::tenancy::settings(scope)?;
    let today = super::today(&crate::domain::tenancy::zone(&settings), now);
    let period = last_period(Every::Weekly, today)
        .ok_or_else(|| crate::error::AppError::invalid("from", "no complete week yet"))?;
    make(scope, period, now, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::day_of;
    use jiff::civil::Date;

    #[test]
    fn the_last_period_is_yesterday_or_last_week() {
        let sat = day_of(Date::constant(2026, 11, 28)).unwrap();
        let w = last_period(Every::Weekly, sat).unwrap();
        assert_eq!(
            (date_of(w.from), date_of(w.to)),
            (Date::constant(2026, 11, 16), Date::constant(2026, 11, 22))
        );
        let d = last_period(Every::Daily, sat).unwrap();
        assert_eq!(date_of(d.from), Date::constant(2026, 11, 27));
        assert_eq!(last_period(Every::Off, sat), None);
    }

    #[test]
    fn names_are_escaped_and_changes_signed() {
        assert_eq!(
            esc("<b>\"Ayşe\" & 'Co'</b>"),
            "&lt;b&gt;&quot;Ayşe&quot; &amp; &#39;Co&#39;&lt;/b&gt;"
        );
        assert_eq!(change(150, 100, "new"), "+50 %");
        assert_eq!(change(50, 100, "new"), "-50 %");
        assert_eq!(change(0, 0, "new"), "—");
        assert_eq!(change(3, 0, "yeni"), "yeni");
        assert_eq!(change(-3, 0, "new"), "new");
        // From a loss of 4 to a loss of 2 is better, not worse.
        assert_eq!(change(-2, -4, "new"), "+50 %");
        assert_eq!(change(-6, -4, "new"), "-50 %");
    }
}
