//! The web console through HTTP, as a browser without JavaScript sees it: cookies, CSRF, the
//! CSP, roles and tenant isolation. (`console_e2e.rs` drives a real browser.)

use std::collections::HashMap;

use botyard::runtime::supervisor::WorkerKey;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::json;

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, App, PASSWORD};

/// A browser without script: keeps cookies, does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
    pub lang: &'static str,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token the page carries (its `<meta>`).
    pub fn csrf(&self) -> String {
        let at = self
            .text
            .find(r#"name="csrf-token" content=""#)
            .expect("csrf meta");
        let rest = &self.text[at + r#"name="csrf-token" content=""#.len()..];
        rest[..rest.find('"').expect("end of token")].to_string()
    }
}

fn encode(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

impl Browser {
    pub fn new(app: &App) -> Browser {
        Browser::at(&app.ready.base_url)
    }

    /// A browser for a server at `base` (one the test did not start in-process).
    pub fn at(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            cookies: HashMap::new(),
            lang: "en",
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = req
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang);
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().expect("cookie");
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').expect("name=value");
            if attrs.contains("Max-Age=0") || val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let text = r.text().await.expect("body");
        Page {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.base);
        let req = self.client.get(url);
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.base);
        let req = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form));
        self.send(req).await
    }

    /// Signs in through the form; panics unless it works.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        self.sign_in_as(email, password, "botyard_session").await
    }

    /// Signs in and expects the session cookie `cookie` (`__Host-` behind HTTPS).
    pub async fn sign_in_as(&mut self, email: &str, password: &str, cookie: &str) {
        let page = self.get("/console/login").await;
        assert_eq!(page.status, 200);
        let csrf = page.csrf();
        let r = self
            .post(
                "/console/login",
                &[("_csrf", &csrf), ("email", email), ("password", password)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text);
        assert_eq!(r.location(), "/console");
        assert!(
            self.cookies.contains_key(cookie),
            "{:?}",
            self.cookies.keys()
        );
    }
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_every_page_carries_the_csp() {
    let app = App::start().await;
    let mut b = Browser::new(&app);
    let r = b.get("/console").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/console/login");

    let login = b.get("/console/login").await;
    assert_eq!(login.status, 200);
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert!(!login.text.contains("<script>"), "no inline script");
    assert!(!login.text.contains("style=\""), "no inline style");

    // A wrong password says so, in a page, and sets no session.
    let csrf = login.csrf();
    let bad = b
        .post(
            "/console/login",
            &[
                ("_csrf", &csrf),
                ("email", ADMIN_EMAIL),
                ("password", "nope"),
            ],
        )
        .await;
    assert_eq!(bad.status, 401);
    assert!(bad.text.contains("Email or password is wrong."));
    assert!(!b.cookies.contains_key("botyard_session"));

    let r = b
        .post(
            "/console/login",
            &[
                ("_csrf", &csrf),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let set: Vec<&str> = r
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("botyard_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    assert!(session.contains("Path=/"));

    for path in [
        "/console",
        "/console/tenants",
        "/console/workers",
        "/console/plans",
        "/console/audit",
        "/console/account",
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, 200, "{path}");
        assert_eq!(
            p.headers["content-security-policy"].to_str().unwrap(),
            botyard::http::console::CSP,
            "{path}"
        );
        assert!(!p.text.contains("<script>"), "{path}: inline script");
        assert!(p.text.contains(ADMIN_EMAIL), "{path}");
    }
    let dash = b.get("/console").await;
    assert!(dash.text.contains("Active tenants"));
    // Assets are embedded and cacheable.
    let js = b.get("/console/assets/htmx.min.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(b.get("/console/assets/nope.js").await.status, 404);
}

async fn tenant_count(app: &App, token: &str) -> usize {
    app.get("/api/v1/tenants", token).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn every_change_needs_the_csrf_token_and_a_refused_one_changes_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/tenants").await.csrf();

    // No token, a wrong token, another session's token: refused, nothing created.
    let none = b.post("/console/tenants", &[("name", "Sahte")]).await;
    assert_eq!(none.status, 403);
    assert!(none.text.contains("This form has expired"));
    let wrong = b
        .post("/console/tenants", &[("_csrf", "00ff"), ("name", "Sahte")])
        .await;
    assert_eq!(wrong.status, 403);
    let mut other = Browser::new(&app);
    other.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let others = other.get("/console").await.csrf();
    assert_ne!(others, csrf);
    let theirs = b
        .post("/console/tenants", &[("_csrf", &others), ("name", "Sahte")])
        .await;
    assert_eq!(theirs.status, 403);
    // A JSON body cannot carry the form field either.
    let url = format!("{}/console/tenants", b.base);
    let req = b
        .client
        .post(url)
        .json(&json!({"name": "Sahte", "_csrf": csrf}));
    assert_eq!(b.send(req).await.status, 403);
    assert_eq!(tenant_count(&app, &admin.access).await, 0);

    // The form field works, and so does the header htmx sends.
    let ok = b
        .post(
            "/console/tenants",
            &[("_csrf", &csrf), ("name", "Kadıköy Çiçek"), ("plan_id", "")],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    assert!(ok.location().starts_with("/console/tenants/"));
    let url = format!("{}/console/tenants", b.base);
    let req = b
        .client
        .post(url)
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("name", "Moda Kitap")]));
    assert_eq!(b.send(req).await.status, 303);
    assert_eq!(tenant_count(&app, &admin.access).await, 2);

    // Bad input in a good request: a clear message, nothing saved.
    let empty = b
        .post("/console/tenants", &[("_csrf", &csrf), ("name", "  ")])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.text.contains("role=\"alert\""));
    assert_eq!(tenant_count(&app, &admin.access).await, 2);
}

#[tokio::test]
async fn a_tenant_owner_sees_only_their_tenant_and_no_admin_page() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (mine, _, _) = app
        .tenant_with_owner(&admin.access, "Nişantaşı Butik", "ayse@example.com")
        .await;
    let (theirs, _, _) = app
        .tenant_with_owner(&admin.access, "Başka Dükkan", "mehmet@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("ayse@example.com", PASSWORD).await;

    // One tenant: home goes straight to it.
    let home = b.get("/console").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location(), format!("/console/tenants/{mine}"));
    let page = b.get(&format!("/console/tenants/{mine}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Nişantaşı Butik"));
    assert!(
        !page.text.contains("Delete this tenant"),
        "no admin actions"
    );
    assert!(
        page.text.contains("ayse@example.com"),
        "members listed for an owner"
    );

    // Another tenant is missing, like one that does not exist.
    let other = b.get(&format!("/console/tenants/{theirs}")).await;
    assert_eq!(other.status, 404);
    assert!(!other.text.contains("Başka Dükkan"));
    assert_eq!(b.get("/console/tenants/999999").await.status, 404);
    for path in [
        "/console/tenants",
        "/console/workers",
        "/console/plans",
        "/console/audit",
        "/console/live/workers",
    ] {
        assert_eq!(b.get(path).await.status, 404, "{path}");
    }
    // Admin actions are refused even with a good token; nothing changes.
    let csrf = page.csrf();
    let r = b
        .post(
            &format!("/console/tenants/{mine}/suspend"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = b
        .post(
            &format!("/console/tenants/{theirs}/invitations"),
            &[
                ("_csrf", &csrf),
                ("email", "x@example.com"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(r.status, 404);
    let t = app
        .get(&format!("/api/v1/tenants/{mine}"), &admin.access)
        .await;
    assert_eq!(t.expect(200)["status"], "active");
}

#[tokio::test]
async fn sign_out_and_a_password_change_end_the_cookie() {
    let app = App::start().await;
    let admin = app.admin().await;
    app.tenant_with_owner(&admin.access, "Kuzguncuk Fırın", "ali@example.com")
        .await;
    let mut one = Browser::new(&app);
    one.sign_in("ali@example.com", PASSWORD).await;
    let mut two = Browser::new(&app);
    two.sign_in("ali@example.com", PASSWORD).await;

    // The account page lists both browser logins.
    let acc = one.get("/console/account").await;
    assert_eq!(acc.status, 200);
    assert_eq!(
        acc.text.matches("/end\"").count(),
        2,
        "the API's login (the helper signed in there) and the other browser can be ended"
    );
    assert!(acc.text.contains("this browser"));

    // Changing the password ends the other browser, keeps this one (with a new cookie).
    let csrf = acc.csrf();
    let old_cookie = one.cookies["botyard_session"].clone();
    let r = one
        .post(
            "/console/account/password",
            &[
                ("_csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "yeni-parola-kuzguncuk-77"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_ne!(one.cookies["botyard_session"], old_cookie);
    assert_eq!(one.get("/console/account").await.status, 200);
    assert_eq!(
        two.get("/console").await.status,
        303,
        "the other login ended"
    );
    let mut stale = Browser::new(&app);
    stale
        .cookies
        .insert("botyard_session".into(), old_cookie.clone());
    assert_eq!(stale.get("/console/account").await.status, 303);
    // The API's logins ended too.
    app.login_raw("ali@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");

    // Sign out: the cookie goes, and the old value is dead on the server.
    let cookie = one.cookies["botyard_session"].clone();
    let csrf = one.get("/console/account").await.csrf();
    let r = one.post("/console/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/console/login?out=1");
    assert!(!one.cookies.contains_key("botyard_session"));
    let mut replay = Browser::new(&app);
    replay.cookies.insert("botyard_session".into(), cookie);
    assert_eq!(replay.get("/console/account").await.status, 303);
}

#[tokio::test]
async fn setup_works_once_in_the_console_and_is_gone_after() {
    let app = App::start_with(|c| {
        c.admin.email = None;
        c.admin.password = None;
    })
    .await;
    let link = app.ready.setup_url.clone().expect("setup link");
    let path = link.trim_start_matches(&app.ready.base_url).to_string();
    let mut b = Browser::new(&app);
    assert_eq!(b.get("/console/setup?token=wrong").await.status, 404);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let token = path.split("token=").nth(1).unwrap().to_string();
    // A weak password is refused with the policy's words, the link still good.
    let weak = b
        .post(
            "/console/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("email", "root@example.com"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.text.contains("role=\"alert\""));
    let ok = b
        .post(
            "/console/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("email", "root@example.com"),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let dash = b.get("/console").await;
    assert_eq!(dash.status, 200);
    assert!(dash.text.contains("root@example.com"));
    // Gone once an admin exists.
    let mut late = Browser::new(&app);
    assert_eq!(late.get(&path).await.status, 404);
    // The old path still leads there.
    let old = late.get(&format!("/setup?token={token}")).await;
    assert_eq!(old.status, 303);
    assert_eq!(old.location(), format!("/console/setup?token={token}"));
}

#[tokio::test]
async fn an_admin_creates_a_tenant_with_its_owner_who_joins_by_the_link() {
    let app = App::start().await;
    let admin = app.admin().await;
    let plan = app
        .post(
            "/api/v1/plans",
            &admin.access,
            json!({"name": "Esnaf", "limits": {"sessions": 2, "groups": 50, "templates": 20, "campaigns": 10,
                "sends_per_day": 500, "retention_days": 30, "worker_memory_mb": 64}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/tenants").await.csrf();
    let r = b
        .post(
            "/console/tenants",
            &[
                ("_csrf", &csrf),
                ("name", "Bebek Kahve"),
                ("plan_id", &plan.to_string()),
                ("owner_email", "zeynep@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let to = r.location().to_string();
    assert!(to.contains("invite="), "{to}");
    let page = b.get(&to).await;
    assert!(page.text.contains("Bebek Kahve"));
    assert!(page.text.contains("Esnaf"));
    let link = page
        .text
        .split("<code class=\"copy\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("invitation link")
        .to_string();
    let path = link
        .trim_start_matches(&app.ready.base_url)
        .replace("&amp;", "&");

    let mut owner = Browser::new(&app);
    let inv = owner.get(&path).await;
    assert_eq!(inv.status, 200);
    assert!(inv.text.contains("zeynep@example.com"));
    let token = path.split("token=").nth(1).unwrap();
    let csrf = inv.csrf();
    let r = owner
        .post(
            "/console/invite",
            &[("_csrf", &csrf), ("token", token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let home = owner.get("/console").await;
    assert!(home.location().starts_with("/console/tenants/"));
    // The link is spent.
    assert_eq!(Browser::new(&app).get(&path).await.status, 404);
    // The owner can sign in to the API with the password they chose.
    app.login("zeynep@example.com", PASSWORD).await;
}

#[tokio::test]
async fn pages_speak_the_readers_language() {
    let app = App::start().await;
    let mut b = Browser::new(&app);
    b.lang = "tr-TR,tr;q=0.9,en;q=0.5";
    let login = b.get("/console/login").await;
    assert!(
        login.text.contains("Giriş yap"),
        "Turkish from Accept-Language"
    );
    assert!(login.text.contains("<html lang=\"tr\">"));
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(b.get("/console").await.text.contains("Etkin müşteriler"));

    // The account's choice wins over the browser's.
    let csrf = b.get("/console/account").await.csrf();
    let r = b
        .post(
            "/console/account/prefs",
            &[
                ("_csrf", &csrf),
                ("language", "en"),
                ("time_zone", "Europe/Istanbul"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let dash = b.get("/console").await;
    assert!(dash.text.contains("Active tenants"));
    // A bad zone is refused with a clear message and changes nothing.
    let bad = b
        .post(
            "/console/account/prefs",
            &[
                ("_csrf", &csrf),
                ("language", "tr"),
                ("time_zone", "Mars/Olympus"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("not a known time zone"));
    assert!(b.get("/console").await.text.contains("Active tenants"));
}

#[tokio::test]
async fn the_preview_shows_the_message_and_never_lets_markup_through() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Cihangir Kitap", "deniz@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("deniz@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}/templates")).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let p = b
        .post(
            &format!("/console/tenants/{t}/templates/preview"),
            &[
                ("_csrf", &csrf),
                ("format", "markdown"),
                (
                    "body",
                    "**Yeni** kitaplar <script>alert(1)</script> [site](javascript:alert(1))",
                ),
            ],
        )
        .await;
    assert_eq!(p.status, 200);
    assert!(p.text.contains("<b>Yeni</b>"), "{}", p.text);
    assert!(!p.text.contains("<script>"), "{}", p.text);
    assert!(!p.text.contains("href=\"javascript"), "{}", p.text);
    // A broken body says what is wrong instead of a preview.
    let bad = b
        .post(
            &format!("/console/tenants/{t}/templates/preview"),
            &[
                ("_csrf", &csrf),
                ("format", "html"),
                ("body", "<b>açık kaldı"),
            ],
        )
        .await;
    assert!(bad.text.contains("role=\"alert\""), "{}", bad.text);
    // Saving works, and shows up in the list.
    let r = b
        .post(
            &format!("/console/tenants/{t}/templates"),
            &[
                ("_csrf", &csrf),
                ("name", "Yeni gelenler"),
                ("format", "markdown"),
                ("body", "**{group.title}**: yeni kitaplar"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = b.get(&format!("/console/tenants/{t}/templates")).await;
    assert!(list.text.contains("Yeni gelenler"));
    let api = app
        .get(&format!("/api/v1/tenants/{t}/templates"), &admin.access)
        .await;
    assert_eq!(api.expect(200).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_suspended_tenants_people_read_but_change_nothing_and_viewers_only_read() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Balat Antika", "selin@example.com")
        .await;
    app.invite_and_join(&owner.access, t, "okur@example.com", "viewer")
        .await;
    let mut viewer = Browser::new(&app);
    viewer.sign_in("okur@example.com", PASSWORD).await;
    let page = viewer.get(&format!("/console/tenants/{t}/templates")).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("tpl-body"), "a viewer gets no editor");
    let r = viewer
        .post(
            &format!("/console/tenants/{t}/templates"),
            &[("_csrf", &page.csrf()), ("name", "x"), ("body", "x")],
        )
        .await;
    assert_eq!(r.status, 403);

    app.post(
        &format!("/api/v1/tenants/{t}/suspend"),
        &admin.access,
        json!({}),
    )
    .await
    .expect(200);
    let mut b = Browser::new(&app);
    b.sign_in("selin@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}")).await;
    assert_eq!(page.status, 200, "a suspended tenant can still be read");
    let r = b
        .post(
            &format!("/console/tenants/{t}/templates"),
            &[
                ("_csrf", &page.csrf()),
                ("name", "Yeni"),
                ("body", "merhaba"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("suspended"), "{}", r.text);
    let api = app
        .get(&format!("/api/v1/tenants/{t}/templates"), &admin.access)
        .await;
    assert_eq!(api.expect(200).as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_api_reads_with_the_cookie_but_never_changes_with_it() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Karaköy Balık", "emre@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("emre@example.com", PASSWORD).await;
    let r = b
        .get(&format!("/api/v1/tenants/{t}/stats/messages?format=csv"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.starts_with("at,messages"));
    let url = format!("{}/api/v1/tenants/{t}/templates", b.base);
    let req = b
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(r#"{"name":"x","body":"x"}"#);
    let r = b.send(req).await;
    assert_eq!(r.status, 401, "a cookie alone changes nothing: {}", r.text);
}

async fn session_count(app: &App, token: &str, tenant: u64) -> usize {
    app.get(&format!("/api/v1/tenants/{tenant}/sessions"), token)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_owner_imports_a_session_string_and_a_bad_one_changes_nothing() {
    use crate::session_import::make;
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Moda Çay", "cem@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("cem@example.com", PASSWORD).await;
    let csrf = b.get(&format!("/console/tenants/{t}")).await.csrf();
    let bad = b
        .post(
            &format!("/console/tenants/{t}/sessions/import"),
            &[
                ("_csrf", &csrf),
                ("label", "Eski"),
                ("string", "1bozuk-dize"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("role=\"alert\"") || bad.text.contains("<h1>"));
    assert_eq!(session_count(&app, &admin.access, t).await, 0);

    let key: Vec<u8> = (0..=255u8)
        .map(|i| i.wrapping_mul(5).wrapping_add(3))
        .collect();
    let string = make::telethon(2, "149.154.167.51".parse().unwrap(), 443, &key);
    let ok = b
        .post(
            &format!("/console/tenants/{t}/sessions/import"),
            &[
                ("_csrf", &csrf),
                ("label", "Eski Telethon"),
                ("string", &string),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let page = b.get(ok.location()).await;
    assert!(page.text.contains("Eski Telethon"));
    assert!(page.text.contains("Stop the client"));
    assert!(
        !page.text.contains(&string[5..40]),
        "the string is never shown"
    );
    assert_eq!(session_count(&app, &admin.access, t).await, 1);
}

#[tokio::test]
async fn an_owner_makes_an_api_key_seen_once_and_revokes_it_and_reads_the_log() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Fener Pide", "oya@example.com")
        .await;
    app.invite_and_join(&owner.access, t, "editor@example.com", "editor")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("oya@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}/api-keys")).await;
    assert_eq!(page.status, 200);
    let r = b
        .post(
            &format!("/console/tenants/{t}/api-keys"),
            &[
                ("_csrf", &page.csrf()),
                ("name", "Kasa"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r
        .text
        .split("<code class=\"copy\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("the key, once")
        .to_string();
    assert!(key.starts_with("bya_"));
    app.get(&format!("/api/v1/tenants/{t}"), &key)
        .await
        .expect(200);
    let again = b.get(&format!("/console/tenants/{t}/api-keys")).await;
    assert!(!again.text.contains(&key), "shown once only");
    let id = again
        .text
        .split("/api-keys/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("key id")
        .to_string();
    let r = b
        .post(
            &format!("/console/tenants/{t}/api-keys/{id}/revoke"),
            &[("_csrf", &again.csrf())],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("revoked"));
    app.get(&format!("/api/v1/tenants/{t}"), &key)
        .await
        .expect_err(401, "auth.invalid_token");

    let logs = b
        .get(&format!("/console/tenants/{t}/logs?level=debug"))
        .await;
    assert_eq!(logs.status, 200);
    // Editors do not run the tenant: no keys, no log.
    let mut e = Browser::new(&app);
    e.sign_in("editor@example.com", PASSWORD).await;
    assert_eq!(
        e.get(&format!("/console/tenants/{t}/api-keys"))
            .await
            .status,
        403
    );
    assert_eq!(
        e.get(&format!("/console/tenants/{t}/logs")).await.status,
        403
    );
}

#[tokio::test]
async fn an_owner_saves_the_tenants_settings_and_a_bad_zone_changes_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Üsküdar Simit", "ece@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("ece@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}/settings")).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let bad = b
        .post(
            &format!("/console/tenants/{t}/settings"),
            &[
                ("_csrf", &csrf),
                ("display_name", "Simitçi"),
                ("time_zone", "Asia/Nowhere"),
                ("language", "tr"),
                ("parse_mode", "markdown"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("Asia/Nowhere"), "the typed value stays");
    let before = app
        .get(&format!("/api/v1/tenants/{t}/settings"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert_ne!(before["time_zone"], "Asia/Nowhere");
    let ok = b
        .post(
            &format!("/console/tenants/{t}/settings"),
            &[
                ("_csrf", &csrf),
                ("display_name", "Simitçi Ece"),
                ("time_zone", "Europe/Istanbul"),
                ("language", "tr"),
                ("parse_mode", "html"),
                ("silent", "1"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let after = app
        .get(&format!("/api/v1/tenants/{t}/settings"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(after["time_zone"], "Europe/Istanbul");
    assert_eq!(after["display_name"], "Simitçi Ece");
    assert_eq!(after["language"], "tr");
    assert_eq!(after["sending"]["silent"], true);
    assert_eq!(after["sending"]["parse_mode"], "html");
}

#[tokio::test]
async fn a_report_is_made_from_the_page_and_opens_with_the_cookie() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Bakırköy Börek", "can@example.com")
        .await;
    // A complete week behind the clock.
    app.clock.advance(8 * 86_400);
    let mut b = Browser::new(&app);
    b.sign_in("can@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}")).await;
    assert!(page.text.contains("No reports yet"));
    let r = b
        .post(
            &format!("/console/tenants/{t}/reports"),
            &[("_csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = b.get(r.location()).await;
    let link = page
        .text
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("/reports/"))
        .map(str::to_string)
        .expect("a report link");
    let report = b.get(&link).await;
    assert_eq!(report.status, 200);
    assert!(
        report.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn owners_change_roles_remove_members_and_withdraw_invitations_but_keep_an_owner() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, owner_id, owner) = app
        .tenant_with_owner(&admin.access, "Arnavutköy Balık", "tuna@example.com")
        .await;
    let editor = app
        .invite_and_join(&owner.access, t, "ada@example.com", "editor")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("tuna@example.com", PASSWORD).await;
    let csrf = b.get(&format!("/console/tenants/{t}")).await.csrf();
    let members = |v: &serde_json::Value, who: u64| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|m| m["account_id"] == who)
            .map(|m| m["role"].as_str().unwrap().to_string())
    };
    let path = format!("/api/v1/tenants/{t}/members");
    // The last owner stays an owner.
    let r = b
        .post(
            &format!("/console/tenants/{t}/members/{owner_id}"),
            &[("_csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, 409);
    let now = app.get(&path, &admin.access).await.expect(200).clone();
    assert_eq!(members(&now, owner_id).as_deref(), Some("owner"));
    // An editor becomes a viewer, then leaves.
    let r = b
        .post(
            &format!("/console/tenants/{t}/members/{editor}"),
            &[("_csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, 303);
    let now = app.get(&path, &admin.access).await.expect(200).clone();
    assert_eq!(members(&now, editor).as_deref(), Some("viewer"));
    let r = b
        .post(
            &format!("/console/tenants/{t}/members/{editor}"),
            &[("_csrf", &csrf), ("role", "remove")],
        )
        .await;
    assert_eq!(r.status, 303);
    let now = app.get(&path, &admin.access).await.expect(200).clone();
    assert_eq!(members(&now, editor), None);
    // An invitation made here can be withdrawn here.
    let r = b
        .post(
            &format!("/console/tenants/{t}/invitations"),
            &[
                ("_csrf", &csrf),
                ("email", "yeni@example.com"),
                ("role", "editor"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = b.get(r.location()).await;
    assert!(page.text.contains("yeni@example.com"));
    let id = page
        .text
        .split("/invitations/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("invitation id")
        .to_string();
    let r = b
        .post(
            &format!("/console/tenants/{t}/invitations/{id}/withdraw"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    let inv = app
        .get(&format!("/api/v1/tenants/{t}/invitations"), &admin.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(inv.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_admin_edits_a_plan_and_a_bad_number_changes_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/plans").await.csrf();
    let fields = [
        ("sessions", "2"),
        ("groups", "50"),
        ("templates", "20"),
        ("campaigns", "10"),
        ("sends_per_day", "500"),
        ("retention_days", "30"),
        ("worker_memory_mb", "64"),
        ("media_mb", "10"),
        ("events_per_sec", "200"),
        ("min_interval_mins", "10"),
    ];
    let mut form = vec![("_csrf", csrf.as_str()), ("name", "Esnaf")];
    form.extend(fields);
    let r = b.post("/console/plans", &form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let plans = app
        .get("/api/v1/plans", &admin.access)
        .await
        .expect(200)
        .clone();
    let id = plans[0]["id"].as_u64().unwrap();

    let mut bad = form.clone();
    bad[2] = ("sessions", "çok");
    let r = b.post(&format!("/console/plans/{id}"), &bad).await;
    assert_eq!(r.status, 422);
    let mut more = form.clone();
    more[1] = ("name", "Esnaf Plus");
    more[2] = ("sessions", "5");
    let r = b.post(&format!("/console/plans/{id}"), &more).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let plans = app
        .get("/api/v1/plans", &admin.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(plans[0]["name"], "Esnaf Plus");
    assert_eq!(plans[0]["limits"]["sessions"], 5);
}

#[tokio::test]
async fn without_a_platform_bot_linking_and_test_posts_say_so_in_the_page() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Beykoz Bal", "bal@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("bal@example.com", PASSWORD).await;
    let acc = b.get("/console/account").await;
    assert!(acc.text.contains("Get a link"));
    let r = b
        .post("/console/account/telegram", &[("_csrf", &acc.csrf())])
        .await;
    assert_eq!(r.status, 409);
    assert!(r.text.contains("no platform bot"), "{}", r.text);
    // A campaign's test post: the same answer, nothing sent.
    let csrf = acc.csrf();
    let r = b
        .post(
            &format!("/console/tenants/{t}/campaigns/999/test"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(
        r.status, 404,
        "another or missing campaign first: {}",
        r.text
    );
}

#[tokio::test]
async fn uploads_need_the_csrf_header_and_refuse_what_is_not_media() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Sarıyer Su", "su@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("su@example.com", PASSWORD).await;
    let csrf = b
        .get(&format!("/console/tenants/{t}/templates"))
        .await
        .csrf();
    let url = format!("{}/console/tenants/{t}/media?name=a.png", b.base);
    let png = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
            .unwrap()
    };
    let no_token = b.client.post(&url).body(png.clone());
    assert_eq!(b.send(no_token).await.status, 403);
    let exe = b
        .client
        .post(&url)
        .header("x-csrf-token", &csrf)
        .body(b"\x7fELF\x02\x01\x01\x00binary".to_vec());
    let r = b.send(exe).await;
    assert!(
        r.status == 415 || r.status == 422,
        "{} {}",
        r.status,
        r.text
    );
    let ok = b.client.post(&url).header("x-csrf-token", &csrf).body(png);
    assert_eq!(b.send(ok).await.status, 201);
    let media = app
        .get(&format!("/api/v1/tenants/{t}/media"), &admin.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(media.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_template_is_edited_into_a_new_version_and_bad_markup_keeps_the_old() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Kuzguncuk Kahve", "nil@example.com")
        .await;
    let tid = app
        .post(
            &format!("/api/v1/tenants/{t}/templates"),
            &owner.access,
            json!({"name": "Sabah", "body": "**Günaydın**"}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in("nil@example.com", PASSWORD).await;
    let page = b
        .get(&format!("/console/tenants/{t}/templates/{tid}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("**Günaydın**"));
    let csrf = page.csrf();
    let bad = b
        .post(
            &format!("/console/tenants/{t}/templates/{tid}"),
            &[
                ("_csrf", &csrf),
                ("name", "Sabah"),
                ("format", "html"),
                ("body", "<b>kırık"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text.contains("kırık") && !bad.text.contains("<b>kırık"),
        "the draft stays in the editor, escaped"
    );
    let ok = b
        .post(
            &format!("/console/tenants/{t}/templates/{tid}"),
            &[
                ("_csrf", &csrf),
                ("name", "Sabah"),
                ("format", "markdown"),
                ("body", "**Günaydın** İstanbul"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text);
    let v = app
        .get(
            &format!("/api/v1/tenants/{t}/templates/{tid}"),
            &owner.access,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(v["version"], 2, "{v}");
    assert_eq!(v["body"], "**Günaydın** İstanbul");
}

/// The sim tenant's first group enabled with the tag `vitrin`, and a template to post there:
/// the group's chat id and the template's id, as a form sends it.
async fn vitrin_group_and_template(app: &App, sim: &crate::common::SimTenant) -> (i64, String) {
    let t = sim.tenant;
    let groups = app
        .get(&format!("/api/v1/tenants/{t}/groups"), &sim.owner)
        .await
        .expect(200)
        .clone();
    let chat = groups[0]["chat_id"].as_i64().unwrap();
    app.patch(
        &format!("/api/v1/tenants/{t}/groups/{chat}"),
        &sim.owner,
        json!({"enabled": true, "tags": ["vitrin"]}),
    )
    .await
    .expect(200);
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{t}/templates"),
            &sim.owner,
            json!({"name": "Vitrin", "body": "Yeni ürünler"}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap()
        .to_string();
    (chat, tpl)
}

#[tokio::test]
async fn a_campaign_is_built_with_its_window_jitter_and_pin() {
    let app = App::start().await;
    let admin = app.admin().await;
    let mut limits = crate::common::limits();
    limits["groups"] = json!(10);
    limits["campaigns"] = json!(5);
    let sim = app
        .sim_tenant(
            &admin.access,
            "Pencere",
            limits,
            json!({"seed": 3, "groups": 2, "events_per_sec": 1.0}),
        )
        .await;
    let t = sim.tenant;
    let (chat, tpl) = vitrin_group_and_template(&app, &sim).await;
    let mut b = Browser::new(&app);
    b.sign_in("owner-pencere@example.com", PASSWORD).await;
    let csrf = b
        .get(&format!("/console/tenants/{t}/campaigns"))
        .await
        .csrf();
    let base = [
        ("_csrf", csrf.as_str()),
        ("name", "Akşam"),
        ("template_id", tpl.as_str()),
        ("tags", "vitrin"),
        ("kind", "every"),
        ("value", "120"),
        ("window_from", "18:00"),
        ("window_to", "21:30"),
        ("d4", "1"),
        ("d5", "1"),
        ("jitter_minutes", "5"),
        ("pin", "1"),
    ];
    let mut bad = base.to_vec();
    bad[7] = ("window_to", "25:99");
    let r = b
        .post(&format!("/console/tenants/{t}/campaigns"), &bad)
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("25:99"), "{}", r.text);
    let r = b
        .post(&format!("/console/tenants/{t}/campaigns"), &base)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = app
        .get(&format!("/api/v1/tenants/{t}/campaigns"), &sim.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(list.as_array().unwrap().len(), 1, "only the good one");
    let c = &list[0];
    assert_eq!(c["window"]["start"], "18:00");
    assert_eq!(c["window"]["end"], "21:30");
    assert_eq!(c["window"]["days"], json!(["fri", "sat"]));
    assert_eq!(c["jitter_secs"], 300);
    assert_eq!(c["pin"], true);
    assert_eq!(c["delete_previous"], false);

    // Changed from its page: the form shows what it has, saving keeps what only the API sets
    // (groups chosen by id), and a bad date changes nothing.
    let cid = c["id"].as_u64().unwrap();
    let path = format!("/api/v1/tenants/{t}/campaigns/{cid}");
    let mut body = c.clone();
    for k in [
        "id",
        "state",
        "runs",
        "created_at",
        "updated_at",
        "next_run",
        "next_run_local",
        "paused_code",
        "paused_reason",
    ] {
        body.as_object_mut().unwrap().remove(k);
    }
    body["chat_ids"] = json!([chat]);
    app.put(&path, &sim.owner, body).await.expect(200);
    let page = b
        .get(&format!("/console/tenants/{t}/campaigns/{cid}"))
        .await;
    assert!(
        page.text
            .contains("<title>Akşam · Pencere · botyard</title>"),
        "the title is the campaign's name alone"
    );
    assert!(
        page.text
            .contains(r#"id="e-wfrom" name="window_from" type="time" value="18:00""#),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(r#"id="e-d4" name="d4" value="1" checked"#)
    );
    assert!(
        !page
            .text
            .contains(r#"id="e-d0" name="d0" value="1" checked"#)
    );
    // The change form shows the groups the API chose, ticked; the browser sends them back.
    let group_field = format!("g_{chat}");
    assert!(
        page.text
            .contains(&format!(r#"name="{group_field}" value="1" checked"#)),
        "{}",
        page.text
    );
    let edit = format!("/console/tenants/{t}/campaigns/{cid}/edit");
    let mut changed = base.to_vec();
    changed[1] = ("name", "Akşam 2");
    changed[5] = ("value", "90");
    changed.push((group_field.as_str(), "1"));
    changed.push(("starts_on", "2027-01-01"));
    changed.push(("ends_on", "2026-12-01"));
    let r = b.post(&edit, &changed).await;
    assert_eq!(r.status, 422, "the last day before the first: {}", r.text);
    let same = app.get(&path, &sim.owner).await.expect(200).clone();
    assert_eq!(same["name"], "Akşam");
    changed.pop();
    changed.push(("ends_on", "2027-01-31"));
    let r = b.post(&edit, &changed).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.location(),
        format!("/console/tenants/{t}/campaigns/{cid}?done=saved")
    );
    let now = app.get(&path, &sim.owner).await.expect(200).clone();
    assert_eq!(now["name"], "Akşam 2");
    assert_eq!(now["schedule"], json!({"every_minutes": 90}));
    assert_eq!(
        (now["starts_on"].as_str(), now["ends_on"].as_str()),
        (Some("2027-01-01"), Some("2027-01-31"))
    );
    assert_eq!(now["chat_ids"], json!([chat]), "the API's groups stay");
    let page = b
        .get(&format!("/console/tenants/{t}/campaigns/{cid}?done=saved"))
        .await;
    assert!(page.text.contains("2027-01-01 – 2027-01-31"));
    assert!(page.text.contains("Campaign saved"));
}

#[tokio::test]
async fn a_suspended_tenant_may_still_revoke_a_key_as_in_the_api() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Ortaköy Kumpir", "mert@example.com")
        .await;
    let key = app
        .post(
            &format!("/api/v1/tenants/{t}/api-keys"),
            &owner.access,
            json!({"name": "Kasa", "role": "viewer"}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    app.post(
        &format!("/api/v1/tenants/{t}/suspend"),
        &admin.access,
        json!({}),
    )
    .await
    .expect(200);
    let mut b = Browser::new(&app);
    b.sign_in("mert@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}/api-keys")).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let create = b
        .post(
            &format!("/console/tenants/{t}/api-keys"),
            &[("_csrf", &csrf), ("name", "Yeni"), ("role", "viewer")],
        )
        .await;
    assert_eq!(create.status, 403, "a suspended tenant makes no new key");
    let revoke = b
        .post(
            &format!("/console/tenants/{t}/api-keys/{key}/revoke"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(
        revoke.status, 200,
        "taking a key away stays possible: {}",
        revoke.text
    );
    assert!(revoke.text.contains("revoked"));
}

#[tokio::test]
async fn a_session_file_is_imported_from_the_page_and_garbage_is_refused() {
    use crate::session_import::make;
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Kadıköy Plak", "efe@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("efe@example.com", PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}")).await;
    assert!(page.text.contains("import-file"));
    let csrf = page.csrf();
    let url = format!(
        "{}/console/tenants/{t}/sessions/import-file?name=eski.session",
        b.base
    );
    let junk = b
        .client
        .post(&url)
        .header("x-csrf-token", &csrf)
        .body(b"not a sqlite file".to_vec());
    let r = b.send(junk).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(session_count(&app, &admin.access, t).await, 0);
    let key: Vec<u8> = (0..=255u8)
        .map(|i| i.wrapping_mul(11).wrapping_add(1))
        .collect();
    let file = make::telethon_file(2, "149.154.167.51", 443, Some(&key));
    let ok = b.client.post(&url).header("x-csrf-token", &csrf).body(file);
    let r = b.send(ok).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(session_count(&app, &admin.access, t).await, 1);
    let page = b.get(&format!("/console/tenants/{t}")).await;
    assert!(page.text.contains(">eski<"), "labelled after the file");
}

#[tokio::test]
async fn an_admin_sets_the_appliance_up_in_the_console_and_it_applies_at_once() {
    let app = App::start_with(|c| {
        // Nowhere to reach: a worker started here fails to connect, quietly.
        c.telegram.dc = (2, "127.0.0.1:9".parse().unwrap());
    })
    .await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Moda Çiçek", "cicek@example.com")
        .await;
    let bot = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
    let add_bot = json!({"kind":"bot","label":"shop","token": bot});
    assert_eq!(app.ready.supervisor.telegram_api_id(), None);
    app.post(
        &format!("/api/v1/tenants/{t}/sessions"),
        &owner.access,
        add_bot.clone(),
    )
    .await
    .expect_err(409, "telegram.not_configured");

    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get("/console/appliance").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Not set yet."), "{}", page.text);
    let csrf = page.csrf();
    let hash = "0123456789abcdef0123456789ABCDEF";
    let good = [
        ("_csrf", csrf.as_str()),
        ("api_id", "12345"),
        ("api_hash", hash),
        ("public_url", "http://bots.example.com:8080/"),
        ("brand_name", "Kuzey Bot"),
        ("accent", "#7A1FA2"),
    ];
    // A bad value anywhere refuses the whole form and changes nothing.
    for (field, value, says) in [
        ("accent", "#777777", "hard to read"),
        ("public_url", "javascript:alert(1)", "public URL"),
        ("api_hash", "xyz", "32 hexadecimal"),
    ] {
        let mut form = good.to_vec();
        for f in form.iter_mut() {
            if f.0 == field {
                f.1 = value;
            }
        }
        let r = b.post("/console/appliance", &form).await;
        assert_eq!(r.status, 422, "{field}: {}", r.text);
        assert!(r.text.contains(says), "{field}: {}", r.text);
        assert!(!b.get("/console").await.text.contains("Kuzey Bot"));
    }
    let r = b.post("/console/appliance", &good).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), "/console/appliance?done=telegram");

    // Applied without a restart: the brand on every page, the colour's stylesheet, the new
    // URL for links, and the Telegram app for new sessions.
    let page = b.get("/console/appliance").await;
    assert!(
        page.text
            .contains("<title>Appliance settings · Kuzey Bot</title>")
    );
    assert!(page.text.contains(r#"href="/console/brand.css?v=7a1fa2""#));
    assert!(page.text.contains("http://bots.example.com:8080"));
    assert!(!page.text.contains(hash), "a stored secret is never shown");
    let css = b.get("/console/brand.css?v=7a1fa2").await;
    assert!(
        css.text.contains("--accent:#7a1fa2;--accent-fg:#ffffff"),
        "{}",
        css.text
    );
    let login = Browser::new(&app).get("/console/login").await;
    assert!(
        login.text.contains("Kuzey Bot"),
        "the sign-in page is branded too"
    );
    let r = b.get(&format!("/console/tenants/{t}")).await;
    assert!(r.status == 200);
    assert_eq!(app.ready.supervisor.telegram_api_id(), Some(12345));

    // Secrets are sealed at rest: neither is in the catalog's bytes.
    let mut raw = Vec::new();
    for e in std::fs::read_dir(&app.config.data_dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            raw.extend(std::fs::read(&p).unwrap());
        }
    }
    assert!(
        !raw.windows(hash.len())
            .any(|w| w.eq_ignore_ascii_case(hash.as_bytes()))
    );

    // Tenant owners never reach it.
    let mut o = Browser::new(&app);
    o.sign_in("cicek@example.com", PASSWORD).await;
    assert_eq!(o.get("/console/appliance").await.status, 404);
    let ocsrf = o.get("/console/account").await.csrf();
    let r = o
        .post(
            "/console/appliance",
            &[("_csrf", &ocsrf), ("brand_name", "Evil")],
        )
        .await;
    assert_eq!(r.status, 404);

    // Kept across a restart.
    let app = app.restart_at(1_800_000_000).await;
    assert_eq!(app.ready.base_url, "http://bots.example.com:8080");
    let mut b = Browser::new(&app);
    b.base = format!("http://{}", app.ready.addr);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get("/console/appliance").await;
    assert!(page.text.contains("Kuzey Bot"));
    assert!(page.text.contains(r#"value="12345""#));
    assert!(page.text.contains("A value is stored, encrypted."));
}

#[tokio::test]
async fn the_platform_bot_token_starts_and_stops_its_worker_and_config_locks_it() {
    let app = App::start_with(|c| {
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new("0".repeat(32)));
        c.telegram.dc = (2, "127.0.0.1:9".parse().unwrap());
    })
    .await;
    let _admin = app.admin().await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get("/console/appliance").await;
    // The Telegram app comes from the configuration: shown locked, the form cannot change it.
    assert!(page.text.contains("Set in botyard.toml or the environment"));
    assert!(!page.text.contains(r#"name="api_hash""#));
    assert!(app.ready.supervisor.status(WorkerKey::Platform).is_none());
    let csrf = page.csrf();
    let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
    let r = b
        .post(
            "/console/appliance",
            &[
                ("_csrf", csrf.as_str()),
                ("platform_bot_token", token),
                ("api_id", "99"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), "/console/appliance?done=bot");
    assert!(app.ready.supervisor.status(WorkerKey::Platform).is_some());
    let page = b.get("/console/appliance").await;
    assert!(page.text.contains("api_id: <strong>11</strong>"));
    let r = b
        .post(
            "/console/appliance",
            &[("_csrf", csrf.as_str()), ("clear_platform_bot_token", "1")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(app.ready.supervisor.status(WorkerKey::Platform).is_none());
}

#[tokio::test]
async fn a_logo_is_uploaded_shown_on_every_page_and_removed() {
    let app = App::start().await;
    let _admin = app.admin().await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/appliance").await.csrf();
    let url = format!("{}/console/appliance/logo", b.base);
    let png = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
            .unwrap()
    };
    let no_token = b.client.post(&url).body(png.clone());
    assert_eq!(b.send(no_token).await.status, 403);
    for (bad, status) in [
        (b"<svg onload=alert(1)></svg>".to_vec(), 422),
        (vec![0u8; 300 * 1024], 413),
    ] {
        let r = b
            .send(b.client.post(&url).header("x-csrf-token", &csrf).body(bad))
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    assert_eq!(b.get("/console/brand/logo").await.status, 404);
    let ok = b
        .client
        .post(&url)
        .header("x-csrf-token", &csrf)
        .body(png.clone());
    assert_eq!(b.send(ok).await.status, 201);
    let logo = b
        .send(b.client.get(format!("{}/console/brand/logo", b.base)))
        .await;
    assert_eq!(logo.status, 200);
    assert_eq!(logo.headers["content-type"], "image/png");
    assert_eq!(logo.headers["x-content-type-options"], "nosniff");
    let home = b.get("/console").await;
    assert!(home.text.contains(r#"<img src="/console/brand/logo?v="#));
    let r = b
        .post("/console/appliance/logo/remove", &[("_csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(b.get("/console/brand/logo").await.status, 404);
    assert!(!b.get("/console").await.text.contains("/console/brand/logo"));
}

#[tokio::test]
async fn the_server_log_filters_and_follows_new_lines_live() {
    let app = App::start().await;
    let admin = app.admin().await;
    let t = app.create_tenant(&admin.access, "Kayıt Evi").await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get("/console/logs?q=tenant+created").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<td>tenant created"), "{}", page.text);
    assert!(
        page.text
            .contains(&format!(r#"<a href="/console/tenants/{t}">#{t}</a>"#))
    );
    let other = b.get("/console/logs?q=tenant+created&tenant=999").await;
    assert!(!other.text.contains("<td>tenant created"));
    let warn_only = b.get("/console/logs?q=tenant+created&level=warn").await;
    assert!(!warn_only.text.contains("<td>tenant created"));

    // The live tail: a line logged after the stream opened arrives as a table row.
    let url = format!("{}/console/live/log?level=info&q=status+changed", b.base);
    let req = b.client.get(&url).header(
        "cookie",
        format!("botyard_session={}", b.cookies["botyard_session"]),
    );
    let mut stream = req.send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    app.post(
        &format!("/api/v1/tenants/{t}/suspend"),
        &admin.access,
        json!({}),
    )
    .await
    .expect(200);
    let mut got = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            got.push_str(&String::from_utf8_lossy(&chunk));
            if got.contains("tenant status changed") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "{got}");
    assert!(got.contains("event: line"), "{got}");
    assert!(
        got.contains(&format!(r#"href="/console/tenants/{t}""#)),
        "{got}"
    );

    // A tenant's people follow only their tenant's lines; nobody else follows the server's.
    let (t2, _, _) = app
        .tenant_with_owner(&admin.access, "Başka", "baska@example.com")
        .await;
    let mut o = Browser::new(&app);
    o.sign_in("baska@example.com", PASSWORD).await;
    assert_eq!(o.get("/console/logs").await.status, 404);
    assert_eq!(o.get("/console/live/log").await.status, 404);
    assert_eq!(
        o.get(&format!("/console/tenants/{t}/logs/live"))
            .await
            .status,
        404
    );
    let own = o
        .client
        .get(format!("{}/console/tenants/{t2}/logs/live", o.base))
        .header(
            "cookie",
            format!("botyard_session={}", o.cookies["botyard_session"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn a_template_gets_link_buttons_shown_in_the_preview_and_bad_lines_change_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Cihangir Çiçek", "lale@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("lale@example.com", PASSWORD).await;
    let csrf = b
        .get(&format!("/console/tenants/{t}/templates"))
        .await
        .csrf();
    let buttons = "Sipariş ver - https://cicek.example/siparis | Menü - https://cicek.example/menu\nKonum - https://maps.example/cihangir";
    let form = |buttons: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", "Bahar".to_string()),
            ("format", "markdown".to_string()),
            ("body", "Lale geldi".to_string()),
            ("buttons", buttons.to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| f.into_iter().collect::<Vec<(&str, String)>>();
    // The preview lays the buttons out as Telegram does, labels escaped.
    let f = post(form("<b>Bak</b> - https://cicek.example"));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .post(&format!("/console/tenants/{t}/templates/preview"), &pairs)
        .await;
    assert!(
        r.text.contains(
            r#"<span class="tg-button" title="https://cicek.example">&lt;b&gt;Bak&lt;/b&gt;</span>"#
        ),
        "{}",
        r.text
    );
    for (bad, says) in [
        ("Sipariş ver https://cicek.example", "Label - https://link"),
        ("Sipariş - http://cicek.example", "https"),
    ] {
        let f = post(form(bad));
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b
            .post(&format!("/console/tenants/{t}/templates"), &pairs)
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
        assert!(r.text.contains(says), "{bad}: {}", r.text);
    }
    let list = app
        .get(&format!("/api/v1/tenants/{t}/templates"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert!(list.as_array().unwrap().is_empty(), "nothing saved: {list}");
    let f = post(form(buttons));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .post(&format!("/console/tenants/{t}/templates"), &pairs)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = app
        .get(&format!("/api/v1/tenants/{t}/templates"), &owner.access)
        .await
        .expect(200)
        .clone();
    let tid = list[0]["id"].as_u64().unwrap();
    let tpl = app
        .get(
            &format!("/api/v1/tenants/{t}/templates/{tid}"),
            &owner.access,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        tpl["buttons"],
        json!([
            [{"label": "Sipariş ver", "url": "https://cicek.example/siparis"},
             {"label": "Menü", "url": "https://cicek.example/menu"}],
            [{"label": "Konum", "url": "https://maps.example/cihangir"}]
        ]),
        "{tpl}"
    );
    // The editor shows them as written, and saving without them removes them.
    let page = b
        .get(&format!("/console/tenants/{t}/templates/{tid}"))
        .await;
    assert!(
        page.text.contains(
            "Sipariş ver - https://cicek.example/siparis | Menü - https://cicek.example/menu\nKonum"
        ),
        "{}",
        page.text
    );
    let f = post(form(""));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .post(&format!("/console/tenants/{t}/templates/{tid}"), &pairs)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let tpl = app
        .get(
            &format!("/api/v1/tenants/{t}/templates/{tid}"),
            &owner.access,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(tpl["buttons"], json!([]));
}

#[tokio::test]
async fn an_admin_renames_a_tenant_and_a_bad_name_or_its_owner_changes_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Eski Ad", "eski@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{t}")).await;
    assert!(
        page.text
            .contains(r#"name="name" required maxlength="100" value="Eski Ad""#)
    );
    let csrf = page.csrf();
    let url = format!("/console/tenants/{t}/rename");
    let r = b
        .post(&url, &[("_csrf", &csrf), ("name", "exe\u{202E}fdp.tahmin")])
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let mut o = Browser::new(&app);
    o.sign_in("eski@example.com", PASSWORD).await;
    let ocsrf = o.get("/console/account").await.csrf();
    let r = o.post(&url, &[("_csrf", &ocsrf), ("name", "Benim")]).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.status);
    let name = |v: &serde_json::Value| v["name"].as_str().unwrap().to_string();
    let got = app
        .get(&format!("/api/v1/tenants/{t}"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(name(&got), "Eski Ad");
    let r = b.post(&url, &[("_csrf", &csrf), ("name", "Yeni Ad")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let got = app
        .get(&format!("/api/v1/tenants/{t}"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(name(&got), "Yeni Ad");
    // The search index sees the new name at once.
    let found = b.get("/console/tenants/rows?q=yeni").await;
    assert!(found.text.contains("Yeni Ad"), "{}", found.text);
}

#[tokio::test]
async fn an_admin_creates_a_tenant_whose_owner_gets_a_password_at_once() {
    let app = App::start().await;
    let admin = app.admin().await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/tenants").await.csrf();
    for (email, pw) in [
        ("sahip@example.com", "kısa"),
        ("", "uzun ve iyi bir parola 42"),
    ] {
        let r = b
            .post(
                "/console/tenants",
                &[
                    ("_csrf", &csrf),
                    ("name", "Parolalı Dükkan"),
                    ("owner_email", email),
                    ("owner_password", pw),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{email}: {}", r.text);
    }
    assert_eq!(
        tenant_count(&app, &admin.access).await,
        0,
        "nothing created"
    );
    let r = b
        .post(
            "/console/tenants",
            &[
                ("_csrf", &csrf),
                ("name", "Parolalı Dükkan"),
                ("owner_email", "sahip@example.com"),
                ("owner_password", "uzun ve iyi bir parola 42"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(
        !r.location().contains("invite="),
        "no link: {}",
        r.location()
    );
    let mut o = Browser::new(&app);
    o.sign_in("sahip@example.com", "uzun ve iyi bir parola 42")
        .await;
    assert!(
        o.get("/console")
            .await
            .location()
            .starts_with("/console/tenants/")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_moves_a_tenant_to_another_shard_from_its_page() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, _) = app
        .tenant_with_owner(&admin, "Bostancı", "sahip@bostanci.test")
        .await;
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{tenant}/templates"),
            &admin,
            json!({"name": "Selam", "body": "Merhaba *Bostancı*"}),
        )
        .await
        .expect(201)["id"]
        .clone();
    let store = app.ready.store.upgrade().unwrap();
    let from = store
        .current_shard(botyard_shards::ids::TenantId(tenant))
        .unwrap();

    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get(&format!("/console/tenants/{tenant}")).await;
    assert!(
        page.text.contains(r#"name="shard""#),
        "the admin sees the move form"
    );
    let csrf = page.csrf();
    let to = (1 - from).to_string();
    let r = b
        .post(
            &format!("/console/tenants/{tenant}/move"),
            &[("_csrf", &csrf), ("shard", &to)],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/console/tenants/{tenant}?done=moved")
    );
    assert_eq!(
        store
            .current_shard(botyard_shards::ids::TenantId(tenant))
            .unwrap(),
        1 - from
    );
    let page = b
        .get(&format!("/console/tenants/{tenant}?done=moved"))
        .await;
    assert!(page.text.contains("The tenant moved to the other shard."));
    // Its data came along.
    let t = app
        .get(&format!("/api/v1/tenants/{tenant}/templates/{tpl}"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(t["name"], "Selam");
    // Moving it to where it is says so and changes nothing.
    let r = b
        .post(
            &format!("/console/tenants/{tenant}/move"),
            &[("_csrf", &csrf), ("shard", &to)],
        )
        .await;
    assert_eq!(r.status, 409);

    // The owner sees no such form, and cannot post it.
    let mut owner = Browser::new(&app);
    owner.sign_in("sahip@bostanci.test", PASSWORD).await;
    let page = owner.get(&format!("/console/tenants/{tenant}")).await;
    assert!(!page.text.contains(r#"name="shard""#));
    let csrf = page.csrf();
    let r = owner
        .post(
            &format!("/console/tenants/{tenant}/move"),
            &[("_csrf", &csrf), ("shard", &from.to_string())],
        )
        .await;
    assert_eq!(r.status, 403);
    drop(store);
    app.stop().await.unwrap();
}

/// The launch checklist: on a bare appliance all seven things are to do, each linking to its
/// page; what the configuration sets, a priced plan and a recent backup turn to done; a
/// tenant's owner gets a 404, in either language.
#[tokio::test]
async fn the_launch_checklist_says_what_is_missing_and_where_to_set_it() {
    let app = App::start().await;
    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = b.get("/console/launch").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Launch checklist"), "{}", page.text);
    assert_eq!(page.text.matches(r#"class="pill pill-bad""#).count(), 7);
    assert!(
        page.text.contains("Still to do: <strong>7</strong>"),
        "{}",
        page.text
    );
    for fix in [
        "/console/appliance",
        "/console/mail",
        "/console/billing",
        "/console/backups",
    ] {
        assert!(
            page.text
                .contains(&format!(r#"<a href="{fix}">Set it up</a>"#)),
            "{fix}"
        );
    }
    let admin = app.admin().await.access;
    let (_, _, owner) = app
        .tenant_with_owner(&admin, "Dükkan", "dukkan@example.com")
        .await;
    let mut o = Browser::new(&app);
    o.sign_in("dukkan@example.com", PASSWORD).await;
    assert_eq!(o.get("/console/launch").await.status, 404);
    drop(owner);
    app.stop().await.expect("stop");

    // Configured: HTTPS behind a proxy, Telegram's credentials, mail, a daily backup.
    let app = App::start_with(|c| {
        c.public_url = Some("https://bots.example.com".into());
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        ));
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.from_address = Some("bots@example.com".into());
        c.backup.at_minute = Some(3 * 60);
    })
    .await;
    // Its base URL is the proxy's, which does not resolve here: the server's own address.
    let direct = format!("http://{}", app.addr());
    let client = crate::common::client();
    let admin: serde_json::Value = client
        .post(format!("{direct}/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let admin = admin["access_token"].as_str().expect("token").to_string();
    let plan: serde_json::Value = client
        .post(format!("{direct}/api/v1/plans"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Esnaf", "limits": crate::common::limits()}))
        .send()
        .await
        .expect("plan")
        .json()
        .await
        .expect("json");
    let priced = client
        .put(format!("{direct}/api/v1/plans/{}/price", plan["id"]))
        .bearer_auth(&admin)
        .json(&json!({"stars": 250, "offered": true}))
        .send()
        .await
        .expect("price");
    assert_eq!(priced.status(), 200);
    let mut b = Browser::at(&direct);
    b.lang = "tr";
    b.sign_in_as(ADMIN_EMAIL, ADMIN_PASSWORD, "__Host-botyard_session")
        .await;
    let page = b.get("/console/launch").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Yayına hazırlık"), "{}", page.text);
    assert_eq!(
        page.text.matches(r#"class="pill pill-ok""#).count(),
        5,
        "{}",
        page.text
    );
    // Left: the platform bot and the branding, both on the Settings page.
    assert!(
        page.text.contains("Kalan: <strong>2</strong>"),
        "{}",
        page.text
    );
    assert_eq!(
        page.text
            .matches(r#"<a href="/console/appliance">Ayarla</a>"#)
            .count(),
        2
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn with_two_sessions_the_campaign_form_asks_which_one_posts() {
    let app = App::start().await;
    let admin = app.admin().await;
    let mut limits = crate::common::limits();
    limits["sessions"] = json!(3);
    let sim = app
        .sim_tenant(
            &admin.access,
            "Ikili Dukkan",
            limits,
            json!({"seed": 5, "groups": 2}),
        )
        .await;
    let t = sim.tenant;
    let (_, tpl) = vitrin_group_and_template(&app, &sim).await;
    let mut b = Browser::new(&app);
    b.sign_in("owner-ikili-dukkan@example.com", PASSWORD).await;
    // One session: no choice to make.
    let page = b.get(&format!("/console/tenants/{t}/campaigns")).await;
    assert!(!page.text.contains("name=\"session_id\""));
    let second = app
        .post(
            &format!("/api/v1/tenants/{t}/sessions"),
            &admin.access,
            json!({"kind": "sim", "label": "Hesabım", "sim": {"seed": 6, "groups": 1}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let page = b.get(&format!("/console/tenants/{t}/campaigns")).await;
    assert!(page.text.contains("name=\"session_id\""), "{}", page.text);
    assert!(page.text.contains(">Hesabım</option>"));
    let csrf = page.csrf();
    let second_id = second.to_string();
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "Akşam"),
        ("template_id", tpl.as_str()),
        ("tags", "vitrin"),
        ("kind", "every"),
        ("value", "120"),
        ("session_id", second_id.as_str()),
    ];
    let r = b
        .post(&format!("/console/tenants/{t}/campaigns"), &form)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = app
        .get(&format!("/api/v1/tenants/{t}/campaigns"), &sim.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(list[0]["session_id"], json!(second), "{list}");
    // A session of nobody's is refused and saves nothing.
    let mut bad = form.to_vec();
    bad[6] = ("session_id", "999999");
    bad[1] = ("name", "Gece");
    let r = b
        .post(&format!("/console/tenants/{t}/campaigns"), &bad)
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{t}/campaigns"), &sim.owner)
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    app.stop().await.expect("stop");
}
