//! The console's words, English and Turkish, by key. Templates ask for `c.t.s("key")`; a test
//! holds this table and `web/templates/` together (every key used exists, every key is used
//! or named in code, both languages filled).

use super::Language;

/// `(key, English, Turkish)`, sorted by key.
pub const TEXTS: &[(&str, &str, &str)] = &[
    (
        "account.change_password",
        "Change password",
        "Parolayı değiştir",
    ),
    ("account.end_login", "End this login", "Bu oturumu kapat"),
    (
        "account.logins",
        "Where you are signed in",
        "Oturum açtığınız yerler",
    ),
    ("account.password", "Password", "Parola"),
    (
        "account.password_changed",
        "Password changed. Every other login has ended.",
        "Parola değiştirildi. Diğer tüm oturumlar kapatıldı.",
    ),
    (
        "account.password_help",
        "Changing it ends every other login, here and in the API.",
        "Parolayı değiştirmek, burada ve API'de diğer tüm oturumları kapatır.",
    ),
    (
        "account.prefs",
        "Language and time zone",
        "Dil ve saat dilimi",
    ),
    ("account.prefs_saved", "Saved.", "Kaydedildi."),
    ("account.save", "Save", "Kaydet"),
    ("account.this_login", "this browser", "bu tarayıcı"),
    ("account.title", "Your account", "Hesabınız"),
    ("api_login", "API login (token)", "API oturumu (anahtar)"),
    ("audit.none", "Nothing recorded yet.", "Henüz kayıt yok."),
    ("audit.title", "Audit log", "Denetim kaydı"),
    ("col.action", "Action", "İşlem"),
    ("col.actions", "Actions", "İşlemler"),
    ("col.cpu", "CPU (s)", "CPU (sn)"),
    ("col.created", "Created", "Oluşturulma"),
    ("col.detail", "Detail", "Ayrıntı"),
    ("col.enabled", "Enabled", "Etkin"),
    ("col.file", "File", "Dosya"),
    ("col.kind", "Kind", "Tür"),
    ("col.members", "Members", "Üyeler"),
    ("col.memory", "Memory", "Bellek"),
    ("col.name", "Name", "Ad"),
    ("col.next_run", "Next run", "Sonraki çalışma"),
    ("col.pid", "PID", "PID"),
    ("col.plan", "Plan", "Paket"),
    ("col.restarts", "Restarts", "Yeniden başlatma"),
    ("col.role", "Role", "Rol"),
    ("col.sandbox", "Sandbox", "Korumalı alan"),
    ("col.since", "Since", "Başlangıç"),
    ("col.size", "Size", "Boyut"),
    ("col.state", "State", "Durum"),
    ("col.status", "Status", "Durum"),
    ("col.tags", "Tags", "Etiketler"),
    ("col.tenant", "Tenant", "Müşteri"),
    ("col.uptime", "Up for", "Çalışma süresi"),
    ("col.when", "When", "Zaman"),
    ("col.where", "Where", "Nerede"),
    ("col.worker", "Worker", "İşçi"),
    ("dash.all_audit", "The whole audit log", "Tüm denetim kaydı"),
    ("dash.disk", "Disk used", "Kullanılan disk"),
    ("dash.disk_by_file", "Disk by file", "Dosyaya göre disk"),
    (
        "dash.events_per_sec",
        "Events per second",
        "Saniyedeki olay",
    ),
    ("dash.latest_audit", "Latest events", "Son olaylar"),
    ("dash.summary", "Summary", "Özet"),
    ("dash.tenants_active", "Active tenants", "Etkin müşteriler"),
    (
        "dash.tenants_suspended",
        "Suspended tenants",
        "Askıdaki müşteriler",
    ),
    ("dash.title", "Dashboard", "Pano"),
    ("dash.workers_live", "Workers", "İşçiler"),
    (
        "dash.workers_live_help",
        "Updated every second without reloading.",
        "Sayfa yenilenmeden her saniye güncellenir.",
    ),
    ("dash.workers_running", "Workers running", "Çalışan işçiler"),
    (
        "dash.workers_trouble",
        "Workers in trouble",
        "Sorunlu işçiler",
    ),
    (
        "error.confirm_mismatch",
        "Type the tenant's name exactly to delete it.",
        "Silmek için müşterinin adını aynen yazın.",
    ),
    (
        "error.csrf",
        "This form has expired. Reload the page and try again.",
        "Bu formun süresi doldu. Sayfayı yenileyip tekrar deneyin.",
    ),
    (
        "error.not_found",
        "There is nothing here.",
        "Burada bir şey yok.",
    ),
    (
        "error.title",
        "Something went wrong",
        "Bir şeyler ters gitti",
    ),
    (
        "field.current_password",
        "Current password",
        "Mevcut parola",
    ),
    ("field.email", "Email", "E-posta"),
    ("field.language", "Language", "Dil"),
    ("field.new_password", "New password", "Yeni parola"),
    (
        "field.owner_email",
        "Owner's email (optional)",
        "Sahibin e-postası (isteğe bağlı)",
    ),
    ("field.password", "Password", "Parola"),
    ("field.plan", "Plan", "Paket"),
    ("field.tenant_name", "Tenant name", "Müşteri adı"),
    ("field.time_zone", "Time zone", "Saat dilimi"),
    (
        "home.no_tenants",
        "You are not a member of any tenant yet. Ask the reseller for an invitation.",
        "Henüz hiçbir müşteride üye değilsiniz. Satıcıdan davet isteyin.",
    ),
    (
        "invite.gone",
        "This invitation link is invalid, used or expired. Ask for a new one.",
        "Bu davet bağlantısı geçersiz, kullanılmış ya da süresi dolmuş. Yeni bir davet isteyin.",
    ),
    (
        "invite.intro",
        "You were invited to a tenant on this appliance as",
        "Bu sistemde bir müşteriye şu adresle davet edildiniz:",
    ),
    (
        "invite.password_help",
        "If you already have an account, enter its password. Otherwise choose one: at least 8 characters, not a common password.",
        "Zaten bir hesabınız varsa parolasını girin. Yoksa bir parola seçin: en az 8 karakter, yaygın bir parola olmamalı.",
    ),
    ("invite.submit", "Join", "Katıl"),
    ("invite.title", "Join a tenant", "Müşteriye katıl"),
    ("limit.campaigns", "Campaigns", "Kampanyalar"),
    (
        "limit.events_per_sec",
        "Events per second",
        "Saniyedeki olay",
    ),
    ("limit.groups", "Groups", "Gruplar"),
    ("limit.media_mb", "Media file (MiB)", "Medya dosyası (MiB)"),
    (
        "limit.min_interval_mins",
        "Minutes between runs",
        "Çalışmalar arası dakika",
    ),
    (
        "limit.retention_days",
        "Statistics kept (days)",
        "İstatistik saklama (gün)",
    ),
    ("limit.sends_per_day", "Posts per day", "Günlük gönderi"),
    ("limit.sessions", "Sessions", "Oturumlar"),
    ("limit.templates", "Templates", "Şablonlar"),
    (
        "limit.worker_memory_mb",
        "Worker memory (MiB)",
        "İşçi belleği (MiB)",
    ),
    (
        "login.failed",
        "Email or password is wrong.",
        "E-posta veya parola yanlış.",
    ),
    (
        "login.locked",
        "Too many failed attempts. Wait a few minutes and try again.",
        "Çok fazla hatalı deneme. Birkaç dakika bekleyip tekrar deneyin.",
    ),
    (
        "login.signed_out",
        "You are signed out.",
        "Oturumunuz kapatıldı.",
    ),
    ("login.submit", "Sign in", "Giriş yap"),
    ("login.title", "Sign in", "Giriş"),
    ("nav.account", "Account", "Hesap"),
    ("nav.audit", "Audit", "Denetim"),
    ("nav.dashboard", "Dashboard", "Pano"),
    ("nav.label", "Main", "Ana menü"),
    ("nav.my_tenants", "My tenants", "Müşterilerim"),
    ("nav.plans", "Plans", "Paketler"),
    ("nav.sign_out", "Sign out", "Çıkış yap"),
    ("nav.skip", "Skip to content", "İçeriğe geç"),
    ("nav.tenants", "Tenants", "Müşteriler"),
    ("nav.workers", "Workers", "İşçiler"),
    ("no", "no", "hayır"),
    ("pager.next", "Next page", "Sonraki sayfa"),
    ("plans.create", "Create plan", "Paket oluştur"),
    ("plans.created", "Plan created.", "Paket oluşturuldu."),
    ("plans.new", "New plan", "Yeni paket"),
    ("plans.none", "No plans yet.", "Henüz paket yok."),
    ("plans.title", "Plans", "Paketler"),
    (
        "setup.done",
        "The setup link is used up or expired, or an admin already exists. Sign in, or restart the server for a new link.",
        "Kurulum bağlantısı kullanılmış ya da süresi dolmuş veya zaten bir yönetici var. Giriş yapın ya da yeni bağlantı için sunucuyu yeniden başlatın.",
    ),
    (
        "setup.intro",
        "Create the first admin account. This page works once.",
        "İlk yönetici hesabını oluşturun. Bu sayfa yalnızca bir kez çalışır.",
    ),
    (
        "setup.password_help",
        "At least 8 characters, not a common password.",
        "En az 8 karakter, yaygın bir parola olmamalı.",
    ),
    ("setup.submit", "Create admin", "Yöneticiyi oluştur"),
    ("setup.title", "Set up botyard", "botyard kurulumu"),
    (
        "state.backoff",
        "waiting to restart",
        "yeniden başlamayı bekliyor",
    ),
    ("state.quarantined", "quarantined", "karantinada"),
    ("state.running", "running", "çalışıyor"),
    ("state.starting", "starting", "başlıyor"),
    ("state.stopped", "stopped", "durdu"),
    ("status.active", "active", "etkin"),
    ("status.suspended", "suspended", "askıda"),
    ("tenant.campaigns", "Campaigns", "Kampanyalar"),
    ("tenant.created", "Tenant created.", "Müşteri oluşturuldu."),
    ("tenant.delete", "Delete this tenant…", "Bu müşteriyi sil…"),
    (
        "tenant.delete_button",
        "Delete it and all its data",
        "Müşteriyi ve tüm verisini sil",
    ),
    (
        "tenant.delete_confirm",
        "To delete, type its name:",
        "Silmek için adını yazın:",
    ),
    ("tenant.deleted", "Tenant deleted.", "Müşteri silindi."),
    ("tenant.groups", "Groups", "Gruplar"),
    ("tenant.invite", "Invite", "Davet et"),
    (
        "tenant.invite_link",
        "Send this one-time link to the person you invited:",
        "Bu tek kullanımlık bağlantıyı davet ettiğiniz kişiye gönderin:",
    ),
    ("tenant.manage", "Manage", "Yönet"),
    ("tenant.members", "Members", "Üyeler"),
    (
        "tenant.no_campaigns",
        "No campaigns yet.",
        "Henüz kampanya yok.",
    ),
    (
        "tenant.no_groups",
        "No groups yet: they appear when a session is connected.",
        "Henüz grup yok: bir oturum bağlandığında görünürler.",
    ),
    ("tenant.no_members", "No members yet.", "Henüz üye yok."),
    (
        "tenant.no_sessions",
        "No sessions connected.",
        "Bağlı oturum yok.",
    ),
    ("tenant.plan_set", "Plan changed.", "Paket değiştirildi."),
    ("tenant.resume", "Resume", "Devam ettir"),
    (
        "tenant.resumed",
        "Tenant resumed.",
        "Müşteri yeniden etkin.",
    ),
    (
        "tenant.sessions",
        "Telegram sessions",
        "Telegram oturumları",
    ),
    ("tenant.set_plan", "Change plan", "Paketi değiştir"),
    ("tenant.suspend", "Suspend", "Askıya al"),
    (
        "tenant.suspended",
        "Tenant suspended: its workers stop and its campaigns wait.",
        "Müşteri askıya alındı: işçileri durur, kampanyaları bekler.",
    ),
    ("tenants.create", "Create tenant", "Müşteri oluştur"),
    ("tenants.new", "New tenant", "Yeni müşteri"),
    ("tenants.no_plan", "no plan", "paket yok"),
    ("tenants.none", "No tenants found.", "Müşteri bulunamadı."),
    (
        "tenants.owner_help",
        "They get a one-time link to set their password and sign in.",
        "Parolasını belirleyip giriş yapması için tek kullanımlık bir bağlantı alır.",
    ),
    ("tenants.search", "Search by name", "Ada göre ara"),
    ("tenants.search_button", "Search", "Ara"),
    ("tenants.title", "Tenants", "Müşteriler"),
    ("usage.campaigns", "Campaigns", "Kampanyalar"),
    ("usage.groups", "Groups", "Gruplar"),
    ("usage.sessions", "Sessions", "Oturumlar"),
    ("usage.templates", "Templates", "Şablonlar"),
    ("workers.none", "No workers.", "İşçi yok."),
    ("workers.release", "Release", "Serbest bırak"),
    ("workers.restart", "Restart", "Yeniden başlat"),
    (
        "workers.restart_confirm",
        "Restart this worker? Its sessions reconnect.",
        "Bu işçi yeniden başlatılsın mı? Oturumları yeniden bağlanır.",
    ),
    ("workers.title", "Workers", "İşçiler"),
    ("yes", "yes", "evet"),
];

/// The text of `key` in `lang`; the key itself when it is missing (a test keeps that from
/// happening).
pub fn text(lang: Language, key: &str) -> &'static str {
    match TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
        Ok(i) => match lang {
            Language::En => TEXTS[i].1,
            Language::Tr => TEXTS[i].2,
        },
        Err(_) => "⟨missing text⟩",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_filled() {
        for w in TEXTS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        for (k, en, tr) in TEXTS {
            assert!(!en.is_empty() && !tr.is_empty(), "{k}");
        }
        assert_eq!(text(Language::Tr, "nav.tenants"), "Müşteriler");
        assert_eq!(text(Language::En, "no.such.key"), "⟨missing text⟩");
    }
}
