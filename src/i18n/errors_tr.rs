//! Turkish messages for every API error code. `{field}` is the offending field; `{v0}`,
//! `{v1}` … are the values (numbers, dates, sizes) of the English message, in their order;
//! `{q0}`, `{q1}` … its “quoted” names (a group's title).
//! Kept sorted by code: a test checks it, and that every code the API documents is here.

pub const MESSAGES: &[(&str, &str)] = &[
    (
        "account.email_taken",
        "Bu adresi başka bir hesap kullanıyor.",
    ),
    (
        "appliance.accent",
        "{field}: renk #rrggbb biçiminde yazılır, örneğin #0b5cad.",
    ),
    (
        "appliance.accent_contrast",
        "{field}: bu rengin üzerindeki yazı zor okunur; daha koyu veya daha açık bir renk seçin.",
    ),
    (
        "appliance.api_hash",
        "{field}: api_hash, my.telegram.org'un gösterdiği 32 onaltılık rakamdır.",
    ),
    (
        "appliance.api_id",
        "{field}: api_id, my.telegram.org'un gösterdiği pozitif sayıdır.",
    ),
    (
        "appliance.api_pair",
        "{field}: api_id ve api_hash birlikte verilir.",
    ),
    (
        "appliance.brand_name",
        "{field}: ürün adı tek satırda en çok {v0} karakterdir.",
    ),
    ("appliance.logo_too_large", "Logo {v0} KB'tan büyük."),
    (
        "appliance.logo_type",
        "{field}: logo PNG, JPEG veya WebP görseli olmalı.",
    ),
    (
        "appliance.logo_unreadable",
        "{field}: logo görsel olarak okunamadı (en çok 4096×4096 piksel).",
    ),
    (
        "appliance.public_url",
        "{field}: genel adres https://alan.adiniz biçimindedir (http:// yalnızca deneme için).",
    ),
    ("appliance.seller", "{field}: bu değer kabul edilmiyor."),
    (
        "auth.account_required",
        "Bu işlem bir hesapla yapılır, API anahtarıyla yapılamaz; hesabınızla giriş yapın.",
    ),
    (
        "auth.admin_required",
        "Bu işlemi yalnızca yöneticiler yapabilir.",
    ),
    (
        "auth.busy",
        "Sunucu şu anda çok fazla giriş isteği işliyor; biraz sonra tekrar deneyin.",
    ),
    ("auth.forbidden", "Bu işlem için yetkiniz yok."),
    (
        "auth.invalid_credentials",
        "E-posta adresi veya parola yanlış.",
    ),
    (
        "auth.invalid_refresh",
        "Oturum yenileme anahtarı geçersiz veya süresi dolmuş; yeniden giriş yapın.",
    ),
    (
        "auth.invalid_token",
        "Erişim anahtarı geçersiz; yeniden giriş yapın.",
    ),
    (
        "auth.link_invalid",
        "{field}: bu bağlantı geçerli değil: kullanılmış, yenisiyle değiştirilmiş ya da süresi dolmuş; yenisini isteyin.",
    ),
    (
        "auth.locked",
        "Çok fazla başarısız deneme yapıldı; Retry-After başlığındaki süre kadar bekleyip tekrar deneyin.",
    ),
    (
        "auth.missing_credentials",
        "Kimlik bilgisi gönderilmedi: Authorization başlığında bir erişim anahtarı veya API anahtarı gönderin.",
    ),
    (
        "auth.not_a_login",
        "API anahtarı bir oturum değildir, çıkış yapılamaz; anahtarı iptal edin.",
    ),
    (
        "auth.read_only",
        "Rolünüz yalnızca okuma izni veriyor; değişiklik için bir sahip veya editör olmalısınız.",
    ),
    (
        "auth.refresh_reused",
        "Bu yenileme anahtarı daha önce kullanılmış; güvenlik için oturum kapatıldı, yeniden giriş yapın.",
    ),
    (
        "auth.session_revoked",
        "Oturum sonlandırılmış (parola değişti veya çıkış yapıldı); yeniden giriş yapın.",
    ),
    (
        "auth.token_expired",
        "Erişim anahtarının süresi doldu; yenileme anahtarıyla yenileyin.",
    ),
    ("auth.wrong_password", "Mevcut parola yanlış."),
    (
        "backup.running",
        "Bir yedekleme zaten sürüyor; bitmesini bekleyin.",
    ),
    ("billing.invalid", "{field}: bu değer kabul edilmiyor."),
    (
        "billing.no_payer",
        "Bu ödemeyi yapan Telegram kullanıcısı bilinmiyor; iadeyi Telegram'dan yapın.",
    ),
    (
        "billing.no_subscription",
        "Kiracının henüz bir aboneliği yok: önce deneme süresini başlatın ya da bir plan için ödeme yapın.",
    ),
    (
        "billing.no_trial",
        "Bu paketin ücretsiz denemesi yok; başlatmak için ödeme yapın.",
    ),
    (
        "billing.not_for_stars",
        "Bu paketin Telegram Yıldızı fiyatı yok.",
    ),
    (
        "billing.payment_recorded",
        "Bu referansla bir havale zaten kaydedilmiş.",
    ),
    ("billing.refunded", "Bu ödeme zaten iade edildi."),
    (
        "billing.state",
        "Abonelik bu işlem için uygun durumda değil.",
    ),
    (
        "billing.telegram_refused",
        "Telegram isteği reddetti; nedeni sunucu günlüğünde.",
    ),
    (
        "billing.trial_used",
        "Bu müşterinin daha önce bir aboneliği oldu; deneme yeni müşteriler içindir.",
    ),
    (
        "bundle.conflict",
        "Bu paketteki bir kayıt burada zaten var; paket daha önce içe aktarılmış olabilir.",
    ),
    (
        "bundle.invalid",
        "Bu bir kiracı paketi değil ya da açılmıyor: parola yanlış veya dosya bozuk ya da eksik.",
    ),
    (
        "bundle.unknown_plan",
        "Paketteki plan burada yok; önce aynı adla bir plan oluşturun.",
    ),
    (
        "campaign.chat",
        "Kampanyanın hedeflediği grup bulunamadı veya otomasyona açık değil.",
    ),
    (
        "campaign.dates",
        "{field}: tarih geçersiz; 2026-11-28 biçiminde bir tarih yazın ve bitişin başlangıçtan sonra olduğundan emin olun.",
    ),
    (
        "campaign.jitter",
        "Rastgele gecikme (jitter) izin verilen aralığın dışında.",
    ),
    (
        "campaign.no_future_run",
        "Takvimde kalan çalışma yok: zamanı veya bitiş tarihi geçmiş.",
    ),
    (
        "campaign.no_groups",
        "Kampanyanın gönderebileceği etkin bir grup yok.",
    ),
    (
        "campaign.no_targets",
        "Hedeflerle eşleşen etkin bir grup yok; yine de kaydetmek veya etkinleştirmek için force gönderin.",
    ),
    ("campaign.not_active", "Kampanya etkin değil."),
    ("campaign.not_paused", "Kampanya duraklatılmış değil."),
    (
        "campaign.not_run",
        "Gönderim başlamadı: kampanyanın durumu veya grupları şu an buna izin vermiyor; nedenini kampanyanın sayfasında görün.",
    ),
    (
        "campaign.schedule",
        "{field}: takvim geçersiz; once, every_minutes veya cron alanlarından tam olarak birini verin ve planınızın en kısa aralığına uyun.",
    ),
    (
        "campaign.session",
        "{field}: bu kampanya için oturum bulunamadı; bir oturum seçin.",
    ),
    (
        "campaign.targets",
        "{field}: hedefler geçersiz; etiketler veya grup kimlikleri verin.",
    ),
    ("campaign.template", "{field}: şablon bulunamadı."),
    (
        "campaign.template_missing",
        "Kampanyanın şablonu artık yok.",
    ),
    ("campaign.version", "{field}: şablonun bu sürümü yok."),
    (
        "campaign.window",
        "{field}: gönderim saat aralığı geçersiz; 09:00 gibi saatler yazın.",
    ),
    (
        "group.gone",
        "Bu kiracının hiçbir oturumu artık bu grupta değil.",
    ),
    (
        "group.tag",
        "{field}: etiket geçersiz; yalnızca harf, rakam, - ve _ kullanın ve kısa tutun.",
    ),
    (
        "groups.refresh_too_soon",
        "Gruplar az önce yenilendi; {v0} saniye sonra tekrar deneyin.",
    ),
    (
        "import.address",
        "Oturumdaki sunucu adresi Telegram'ın veri merkezlerinden biri değil.",
    ),
    (
        "import.auth_key",
        "Oturumun yetkilendirme anahtarı 256 bayt olmalı.",
    ),
    ("import.datacenter", "Oturumdaki veri merkezi ({v0}) yok."),
    (
        "import.encoding",
        "Oturum metni geçerli base64 değil; eksiksiz kopyaladığınızdan emin olun.",
    ),
    (
        "import.key_in_use",
        "Bu oturumun anahtarı zaten başka bir botyard oturumunda kullanılıyor; aynı anahtarla iki istemci Telegram tarafından iptal edilir.",
    ),
    (
        "import.length",
        "Oturum metni bilinen hiçbir biçime uymuyor ({v0} bayt); eksiksiz kopyaladığınızdan emin olun.",
    ),
    (
        "import.no_session",
        "Oturum dosyasında giriş yapılmış bir oturum yok.",
    ),
    (
        "import.not_sqlite",
        "Dosya bir SQLite veritabanı değil; Telethon veya Pyrogram .session dosyası gönderin.",
    ),
    (
        "import.schema",
        "SQLite dosyası bir Telethon veya Pyrogram oturumu değil.",
    ),
    ("import.string", "Oturum metni boş veya çok uzun."),
    (
        "import.too_large",
        "Oturum dosyası en fazla {v0} MiB olabilir; bir .session dosyası birkaç KiB'tır.",
    ),
    (
        "import.version",
        "Bu Telethon oturum metni sürümü desteklenmiyor (yalnızca 1).",
    ),
    (
        "import.wal",
        "Dosya WAL kipinde ve son değişiklikleri hâlâ yanındaki -wal dosyasında: onu kullanan istemciyi durdurun ve dosyayı yeniden gönderin.",
    ),
    (
        "internal.error",
        "Sunucuda beklenmeyen bir hata oluştu; ayrıntılar sunucu günlüğünde.",
    ),
    (
        "invitation.invalid",
        "Bu davet bağlantısı geçersiz, kullanılmış ya da süresi dolmuş; yenisini isteyin.",
    ),
    ("invite.disabled", "Bu davet kodu kapatıldı."),
    ("invite.exists", "Bu davet kodu zaten var."),
    ("invite.expired", "Bu davet kodunun süresi doldu."),
    (
        "invite.invalid",
        "{field}: davet kodunun bu değeri geçersiz.",
    ),
    (
        "invite.required",
        "Kayıtlar şu anda davetle yapılıyor: size verilen davet kodunu girin.",
    ),
    (
        "invite.unknown",
        "Böyle bir davet kodu yok; nasıl yazıldığını kontrol edin.",
    ),
    (
        "invite.used_up",
        "Bu davet kodu izin verdiği kadar kullanıldı.",
    ),
    (
        "login.busy",
        "Bu kiracı için çok fazla giriş sürüyor; birini bitirin veya iptal edin.",
    ),
    (
        "login.code_expired",
        "Kodun süresi doldu; girişi yeniden başlatın.",
    ),
    ("login.failed", "Telegram girişi tamamlanamadı."),
    (
        "login.flood_wait",
        "Telegram çok fazla deneme nedeniyle beklemenizi istiyor; daha sonra tekrar deneyin.",
    ),
    (
        "login.invalid_code",
        "Kod yanlış; Telegram'dan gelen kodu yeniden girin.",
    ),
    (
        "login.invalid_password",
        "İki adımlı doğrulama parolası yanlış.",
    ),
    (
        "login.invalid_phone",
        "Telegram bu telefon numarasını kabul etmedi.",
    ),
    (
        "login.lost",
        "Bu girişi yürüten süreç yeniden başladı; girişi baştan başlatın.",
    ),
    ("login.method", "Bu giriş bu yöntemle sürdürülemez."),
    (
        "login.order",
        "Bu adım şu anda beklenmiyor; girişin durumuna bakın.",
    ),
    (
        "login.phone_format",
        "Telefon numarasını ülke koduyla yazın, örneğin +905321234567.",
    ),
    (
        "login.sign_up_required",
        "Bu numarayla bir Telegram hesabı yok; önce Telegram uygulamasında kaydolun.",
    ),
    (
        "mail.address",
        "{field}: e-posta adresi ad@ornek.com biçimindedir.",
    ),
    (
        "mail.already_queued",
        "Bu e-posta zaten kuyrukta; bir sonraki denemede gönderilecek.",
    ),
    (
        "mail.dkim_key",
        "{field}: DKIM anahtarı PEM biçiminde bir RSA anahtarı (BEGIN RSA PRIVATE KEY) ya da base64 ile yazılmış 32 baytlık bir Ed25519 anahtarıdır.",
    ),
    (
        "mail.dkim_selector",
        "{field}: DKIM seçicisi harf, rakam ve tirelerden oluşur (örneğin mail2026).",
    ),
    (
        "mail.from_name",
        "{field}: tek satırda en fazla 60 karakter.",
    ),
    (
        "mail.host",
        "{field}: SMTP sunucusunun adı, örneğin smtp.ornek.com.",
    ),
    (
        "mail.locked",
        "E-posta sunucusunu yapılandırma dosyası belirliyor (mail.smtp_host); orada değiştirin.",
    ),
    (
        "mail.not_configured",
        "Henüz bir e-posta sunucusu ayarlanmadı: önce Ayarlar → E-posta bölümünü (ya da yapılandırmadaki mail.smtp_host değerini) doldurun.",
    ),
    (
        "mail.password",
        "{field}: kullanıcı adıyla birlikte şifresi de gerekir.",
    ),
    (
        "mail.port",
        "{field}: port 1 ile 65535 arasında bir sayıdır.",
    ),
    ("mail.security", "{field}: starttls, tls ya da none."),
    ("mail.user", "{field}: en fazla 254 karakter."),
    (
        "marketing.invalid",
        "{field}: bu alan kabul edilmedi; iletinin konusunu ve gövdesini kontrol edin.",
    ),
    (
        "marketing.sent",
        "Bu ileti zaten gönderildi; yeniden göndermek için yeni bir ileti yazın.",
    ),
    (
        "media.bad_image",
        "Dosya bir resim gibi başlıyor ama çözülemiyor; gerçek bir fotoğraf gönderin.",
    ),
    (
        "media.in_use",
        "Bu dosyayı bir şablon kullanıyor; önce şablondan kaldırın.",
    ),
    (
        "media.name",
        "Dosya adı 1–100 karakter olmalı; eğik çizgi ve denetim karakteri içeremez.",
    ),
    (
        "media.photo_dimensions",
        "Fotoğraf {v0} piksel; Telegram en ve boyu toplamı en fazla {v1} olan, uzun kenarı kısa kenarının en fazla {v2} katı olan fotoğrafları kabul eder: boyutunu değiştirin.",
    ),
    (
        "media.too_large",
        "Planınız en fazla {v0} MiB dosyaya izin veriyor.",
    ),
    (
        "media.unsupported",
        "Bu dosya türü desteklenmiyor; fotoğraf (JPEG, PNG, WebP), video (MP4) veya belge (PDF, ofis dosyası, arşiv, ses, GIF ya da metin) gönderin.",
    ),
    ("member.exists", "Bu hesap zaten kiracının üyesi."),
    (
        "member.invite_instead",
        "Sahipler kişileri davet göndererek ekler (…/invitations).",
    ),
    (
        "member.last_owner",
        "Bir kiracının en az bir sahibi kalmalı.",
    ),
    (
        "metrics.unauthorized",
        "Ölçümler için geçerli bir anahtar gerekli.",
    ),
    (
        "notice.not_optional",
        "{field}: güvenlik ve faturalama bildirimleri kapatılamaz; yalnızca bot durumu ve plan sınırı bildirimleri kapatılabilir.",
    ),
    (
        "password.too_common",
        "Bu parola çok yaygın; daha az tahmin edilebilir bir parola seçin.",
    ),
    (
        "password.too_long",
        "Parola en fazla {v0} karakter olabilir.",
    ),
    ("password.too_short", "Parola en az {v0} karakter olmalı."),
    (
        "plan.campaign_limit",
        "Planınız en fazla {v0} kampanyaya izin veriyor.",
    ),
    (
        "plan.group_limit",
        "Planınız otomasyonda en fazla {v0} gruba izin veriyor; birini kapatın veya planınızı değiştirin.",
    ),
    (
        "plan.in_use",
        "Bu planda kiracılar var; önce onları başka bir plana taşıyın.",
    ),
    (
        "plan.session_limit",
        "Planınız en fazla {v0} oturuma izin veriyor; birini kaldırın veya planınızı değiştirin.",
    ),
    (
        "plan.template_limit",
        "Planınız en fazla {v0} şablona izin veriyor.",
    ),
    ("plan.unknown", "Böyle bir plan yok."),
    (
        "platform.not_configured",
        "Platform botu yapılandırılmamış.",
    ),
    (
        "platform_bot.not_configured",
        "Platform botu yapılandırılmamış; yönetici ayarlardan bot anahtarını girmeli.",
    ),
    (
        "platform_bot.timeout",
        "Platform botu zamanında yanıt vermedi; biraz sonra tekrar deneyin.",
    ),
    (
        "platform_bot.unavailable",
        "Platform botu şu anda çevrimiçi değil; biraz sonra tekrar deneyin.",
    ),
    ("request.bad_form", "Çok parçalı form okunamadı."),
    (
        "request.invalid_cursor",
        "Sayfalama imleci geçersiz; ilk sayfadan başlayın.",
    ),
    (
        "request.invalid_path",
        "Adresteki kimlik geçersiz; kimlikler yalnızca rakamdan oluşur.",
    ),
    ("request.invalid_query", "Sorgu parametreleri geçersiz."),
    (
        "request.malformed_json",
        "İstek gövdesi geçerli bir JSON değil.",
    ),
    (
        "request.no_file",
        "Formda dosya yok: -F file=@ad.session ile veya ham gövde olarak gönderin.",
    ),
    (
        "request.too_large",
        "İstek gövdesi izin verilen boyuttan büyük.",
    ),
    (
        "request.unknown_field",
        "İstekte bilinmeyen bir alan var: {field}.",
    ),
    ("request.unreadable_body", "İstek gövdesi okunamadı."),
    (
        "request.unsupported_media_type",
        "Desteklenmeyen içerik türü: application/json gönderin.",
    ),
    (
        "resource.conflict",
        "Kayıt başka bir değişiklikle çakıştı; yeniden okuyup tekrar deneyin.",
    ),
    ("resource.not_found", "Aranan kayıt bulunamadı."),
    (
        "route.method_not_allowed",
        "Bu adres bu yöntemi desteklemiyor.",
    ),
    ("route.not_found", "Böyle bir adres yok."),
    (
        "rule.bad_escalation",
        "{field}: son uyarı üyeyi susturmalı ya da gruptan çıkarmalı.",
    ),
    (
        "rule.bad_word",
        "{field}: her kelime en fazla {v0} karakterdir ve bir harf ya da rakam içerir; “{q0}” uymuyor.",
    ),
    (
        "rule.empty_filter",
        "{field}: filtrenin neyi sileceğini seçin: bağlantılar, davet bağlantıları, kanallardan iletilenler ya da kelimeler.",
    ),
    (
        "rule.limit",
        "Bir işletmenin en fazla {v0} kuralı olabilir; yenisini eklemeden önce birini silin.",
    ),
    (
        "rule.matcher",
        "{field}: anahtar kelimeler ya da bir düzenli ifade verin (ikisinden yalnızca biri).",
    ),
    (
        "rule.missing_rights",
        "{field}: oturum “{q0}” grubunda kuralın gerektirdiği yetkilere sahip değil (yönetici olmak, mesaj silmek, kullanıcı yasaklamak); onu bu yetkilerle yönetici yapın, ardından grupları yenileyin.",
    ),
    (
        "rule.name",
        "{field}: tek satırlık, 1 ile {v1} karakter arası bir ad yazın.",
    ),
    (
        "rule.needs_bot",
        "{field}: katılım doğrulaması bir bot oturumu ister (düğme bir botundur).",
    ),
    (
        "rule.needs_supergroup",
        "{field}: “{q0}” basit bir grup; üyeleri susturmak için süper grup gerekir.",
    ),
    (
        "rule.no_groups",
        "{field}: grupları ya da kuralın uygulanacağı grupların etiketini seçin.",
    ),
    (
        "rule.not_in_group",
        "{field}: oturum {v0} numaralı grupta değil.",
    ),
    (
        "rule.out_of_range",
        "{field}: değer {v0} ile {v1} arasında olmalı.",
    ),
    (
        "rule.pattern",
        "{field}: düzenli ifade kullanılamıyor; sözdizimini düzeltin ya da kısaltın (en fazla 500 karakter).",
    ),
    (
        "rule.too_many",
        "{field}: en fazla {v0} grup ve {v1} izinli kullanıcı seçilebilir.",
    ),
    ("rule.too_many_words", "{field}: en fazla {v0} kelime."),
    (
        "rule.unknown_session",
        "{field}: işletmenin böyle bir oturumu yok.",
    ),
    (
        "rule.unknown_template",
        "{field}: işletmenin böyle bir şablonu yok.",
    ),
    (
        "session.flood_wait",
        "Telegram bu botun yeniden giriş yapması için beklemenizi istiyor: {v0} tarihine kadar.",
    ),
    (
        "session.kind",
        "Oturum türü geçersiz; bot veya sim kullanın ya da kullanıcı hesabı için girişi başlatın.",
    ),
    (
        "session.logout_failed",
        "Telegram'da çıkış yapılamadı; yine de kaldırmak için force=true gönderin.",
    ),
    (
        "session.sim_admin_only",
        "Simüle oturumları yalnızca yöneticiler (ve demo kipi) oluşturabilir.",
    ),
    (
        "session.sim_bounds",
        "{field}: simülasyon değeri izin verilen aralığın dışında.",
    ),
    (
        "session.token_format",
        "Bot anahtarı biçimi yanlış; BotFather'ın verdiği 123456:ABC… biçimindeki anahtarı yapıştırın.",
    ),
    (
        "session.token_invalid",
        "Telegram bot anahtarını reddetti; BotFather'dan yeni bir anahtar alın.",
    ),
    (
        "settings.time_zone",
        "Saat dilimi bilinmiyor; Europe/Istanbul gibi bir ad yazın.",
    ),
    (
        "setup.invalid_token",
        "Kurulum bağlantısı geçersiz veya süresi dolmuş; sunucuyu yeniden başlatıp yeni bağlantıyı kullanın.",
    ),
    (
        "signup.already",
        "Bu Telegram hesabının zaten bir hesabı var: giriş yapmak için uygulamayı yeniden açın.",
    ),
    (
        "signup.closed",
        "Kayıtlar kapalı; hesap için satıcıya başvurun.",
    ),
    (
        "signup.email_taken",
        "Bu e-postanın zaten bir hesabı var: Telegram'ı bağlamak için uygulamada bu e-postayla giriş yapın.",
    ),
    (
        "signup.no_plan",
        "Şu anda kayıt yapılamıyor: hiçbir planın ücretsiz denemesi yok; satıcıya başvurun.",
    ),
    (
        "signup.reward_days",
        "{field}: ödül 0 ile 365 gün arasındadır.",
    ),
    (
        "signup.start_bot",
        "Önce botta Başlat'a basın, sonra uygulamayı botun düğmesinden açın.",
    ),
    (
        "stats.beyond_retention",
        "Planınız bu verileri {v0} tarihinden itibaren saklıyor; daha yeni bir aralık seçin.",
    ),
    (
        "stats.date",
        "{field}: tarih geçersiz; 2026-11-28 biçiminde yazın.",
    ),
    (
        "stats.range_order",
        "Bitiş tarihi başlangıçtan önce olamaz.",
    ),
    (
        "stats.range_too_long",
        "Bir aralık en fazla {v0} gün olabilir.",
    ),
    (
        "storage.full",
        "Sunucunun diski dolu; hiçbir şey kaydedilmedi.",
    ),
    (
        "support.file_too_large",
        "{field}: dosya en fazla {v0} KB olabilir.",
    ),
    (
        "support.file_type",
        "{field}: bir resim (PNG, JPEG, WebP), PDF ya da metin dosyası ekleyin.",
    ),
    (
        "support.invalid",
        "{field}: bir şeyler yazın; en fazla izin verilen uzunlukta metin.",
    ),
    (
        "support.rate_limited",
        "Son zamanlarda çok fazla talep ya da mesaj gönderildi; biraz sonra tekrar deneyin ya da açık bir talebe ekleyin.",
    ),
    (
        "support.too_long",
        "Bu talepte çok fazla mesaj var; yeni bir talep açın.",
    ),
    (
        "telegram.account_required",
        "Bu işlem için Telegram hesabınızı bağlamanız gerekiyor.",
    ),
    (
        "telegram.not_configured",
        "Telegram API bilgileri (api_id, api_hash) yapılandırılmamış; yönetici ayarlamalı.",
    ),
    (
        "telegram.not_linked",
        "Hesabınız bir Telegram kullanıcısına bağlı değil; platform botunda /start ile bağlayın.",
    ),
    ("telegram.send_failed", "Telegram mesajı göndermedi."),
    (
        "telegram.test_in_progress",
        "Bir deneme gönderimi zaten sürüyor; bitmesini bekleyin.",
    ),
    (
        "telegram.too_many_links",
        "Çok fazla bağlantı kodu istendi; biraz sonra tekrar deneyin.",
    ),
    (
        "template.button_url",
        "{field}: düğme bir https:// adresi açmalı.",
    ),
    (
        "template.buttons",
        "{field}: düğmeler geçersiz; satır ve düğme sayısı ile metin uzunluğu sınırlı.",
    ),
    (
        "template.buttons_text",
        "{field}: her düğmeyi Etiket - https://bağlantı biçiminde yazın; bir satırdaki düğmeleri | ile ayırın.",
    ),
    ("template.empty", "Metin boş."),
    (
        "template.in_use",
        "Bu şablonu bir kampanya ya da bir kural kullanıyor; önce onu değiştirin veya silin.",
    ),
    (
        "template.markup",
        "{field}: biçimlendirme hatalı; kapanmayan işaretleri düzeltin.",
    ),
    ("template.media", "{field}: böyle bir medya dosyası yok."),
    (
        "template.too_long",
        "Metin biçimlendirmesiyle birlikte çok uzun.",
    ),
    (
        "template.unknown_variable",
        "{field}: şablon bilinmeyen bir değişken kullanıyor.",
    ),
    (
        "tenant.move_busy",
        "Başka bir kiracı taşınıyor; o bitince yeniden deneyin.",
    ),
    (
        "tenant.no_such_shard",
        "Bu sunucuda böyle bir parça (shard) yok.",
    ),
    ("tenant.same_shard", "Kiracı zaten o parçada (shard)."),
    (
        "tenant.suspended",
        "Kiracı askıya alınmış; yalnızca okuma yapılabilir.",
    ),
    (
        "validation.email",
        "{field}: geçerli bir e-posta adresi yazın.",
    ),
    ("validation.invalid", "{field}: bu değer kabul edilmiyor."),
    (
        "validation.missing_field",
        "Zorunlu bir alan eksik: {field}.",
    ),
    (
        "validation.name",
        "{field}: ad görünür karakterler içermeli ve yön değiştiren (bidi) karakterler içeremez.",
    ),
    ("validation.wrong_type", "{field}: değerin türü yanlış."),
    (
        "variables.duplicate",
        "{field}: bu değişken adı birden fazla kez verilmiş.",
    ),
    (
        "variables.in_use",
        "Bu değişkeni bir şablon kullanıyor; önce şablondan kaldırın.",
    ),
    (
        "variables.name",
        "{field}: değişken adı harf, rakam ve _ içermeli.",
    ),
    ("variables.too_many", "Çok fazla değişken; en fazla {v0}."),
    (
        "variables.value",
        "{field}: değişkenin değeri çok uzun veya geçersiz.",
    ),
    (
        "web_link.expired",
        "Bu giriş bağlantısı kullanılmış ya da süresi dolmuş; bota yeniden /web gönderin.",
    ),
    (
        "webapp.bad_signature",
        "initData bu sistemin botu için imzalanmamış ya da yolda değiştirilmiş.",
    ),
    (
        "webapp.expired",
        "initData çok eski: uygulamayı kapatıp Telegram'dan yeniden açın.",
    ),
    (
        "webapp.from_future",
        "initData gelecekte tarihlenmiş: sunucunun saatini denetleyin.",
    ),
    (
        "webapp.malformed",
        "initData okunamadı; uygulamayı Telegram'dan yeniden açın.",
    ),
    (
        "webapp.missing",
        "initData yok: uygulamayı Telegram'da botun düğmesinden açın.",
    ),
    (
        "webapp.missing_field",
        "initData'da gerekli bir alan eksik; uygulamayı Telegram'dan yeniden açın.",
    ),
    (
        "webapp.not_linked",
        "Bu Telegram hesabı henüz bir botyard hesabına bağlı değil: hesap sayfanızdan bir bağlantı kodu alıp bota gönderin.",
    ),
    (
        "worker.not_quarantined",
        "Bu kiracının süreci karantinada değil.",
    ),
    ("worker.not_running", "Bu kiracının süreci çalışmıyor."),
];
