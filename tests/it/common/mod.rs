//! Shared helpers for the integration tests: start the appliance in-process on port 0, talk
//! to it over HTTP, and set up tenants and accounts.

use std::net::SocketAddr;
use std::sync::{Arc, Once};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use botyard::clock::ManualClock;
use botyard::config::{Config, Secret};
use botyard::{Ready, RunError, RunOptions};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "yesil-vadi-kapisi-42";
/// A password that passes the policy, for accounts the tests create.
pub const PASSWORD: &str = "mavi-deniz-fener-1907";

/// A configuration for tests: a temp data folder, few shards, two hash workers, and the first
/// admin from configuration.
pub fn test_config(data: &std::path::Path) -> Config {
    let mut c = Config {
        data_dir: data.to_path_buf(),
        ..Config::default()
    };
    c.store.shards = 2;
    c.store.catalog_cache_mb = 4;
    c.store.shard_cache_mb = 2;
    c.auth.hash_workers = 2;
    c.admin.email = Some(ADMIN_EMAIL.into());
    c.admin.password = Some(Secret::new(ADMIN_PASSWORD));
    c.log.level = "error".into();
    // In-process tests are not the botyard binary: workers run the real one.
    c.workers.exe = Some(env!("CARGO_BIN_EXE_botyard").into());
    // Tests never move the test process into another cgroup.
    c.workers.cgroup = false;
    c
}

/// A temporary folder only its owner may open, as the server wants its data folder.
pub fn private_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod 700");
    dir
}

/// The process-wide tracing subscriber, which also feeds the tenant log files.
fn init_logging(c: &Config) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| botyard::runtime::logging::init(c));
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    /// The stable error code of an error envelope, or "" when there is none.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts status and error code, showing the body when they differ.
    #[track_caller]
    pub fn expect_err(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "unexpected answer: {}",
            self.text
        );
        assert!(
            self.json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        &self.json
    }
}

/// Tokens from a login.
#[derive(Clone, Debug)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

impl Pair {
    pub fn from_json(v: &Value) -> Pair {
        Pair {
            access: v["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            refresh: v["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_string(),
        }
    }
}

pub fn client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

/// A free loopback port, for helper servers that take their port from a file (pebble, nginx,
/// Caddy); the appliance itself always binds port 0.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// rustls on ring for the whole test process, as the binary does (reqwest is built without a
/// provider of its own, so aws-lc never enters the build).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running appliance.
pub struct App {
    pub ready: Ready,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
    dir: tempfile::TempDir,
}

impl App {
    /// Starts with the test configuration.
    pub async fn start() -> App {
        Self::start_with(|_| {}).await
    }

    /// Starts with the test configuration changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> App {
        Self::start_on("127.0.0.1:0", tweak).await
    }

    /// Starts on `listen` (port 0) with the test configuration changed by `tweak`.
    pub async fn start_on(listen: &str, tweak: impl FnOnce(&mut Config)) -> App {
        let dir = private_tempdir();
        let mut config = test_config(dir.path());
        tweak(&mut config);
        init_logging(&config);
        let now = jiff::Timestamp::now().as_second();
        Self::launch(listen, config, dir, now).await
    }

    /// Starts on an existing data folder (a restored backup), the clock at `now`.
    pub async fn start_in(
        dir: tempfile::TempDir,
        now: i64,
        tweak: impl FnOnce(&mut Config),
    ) -> App {
        let mut config = test_config(dir.path());
        tweak(&mut config);
        init_logging(&config);
        Self::launch("127.0.0.1:0", config, dir, now).await
    }

    /// Runs the server on `dir` with `config`, its clock at `now`, until it serves.
    async fn launch(listen: &str, config: Config, dir: tempfile::TempDir, now: i64) -> App {
        let clock = Arc::new(ManualClock::new(now));
        let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
        let bound = listener.local_addr().expect("address");
        let (ready_tx, ready_rx) = oneshot::channel::<Ready>();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let opts = RunOptions {
            clock: clock.clone(),
            on_ready: Some(Box::new(move |r: &Ready| {
                let _ = ready_tx.send(r.clone());
            })),
            ..RunOptions::default()
        };
        let task = tokio::spawn(botyard::run_with(
            config.clone(),
            listener,
            async move {
                let _ = shutdown_rx.await;
            },
            opts,
        ));
        let ready = match ready_rx.await {
            Ok(r) => r,
            Err(_) => panic!("the app stopped before serving: {:?}", task.await),
        };
        assert_eq!(ready.addr, bound);
        App {
            ready,
            clock,
            client: client(),
            config,
            shutdown: Some(shutdown_tx),
            task: Some(task),
            dir,
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn addr(&self) -> SocketAddr {
        self.ready.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.ready.base_url, path)
    }

    /// Stops the server and starts it again on the same data, its clock set to `now`.
    pub async fn restart_at(mut self, now: i64) -> App {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("clean stop");
        }
        // The old server's handles (its store among them) go before the new one opens it.
        let config = self.config.clone();
        let dir = std::mem::replace(&mut self.dir, private_tempdir());
        drop(self);
        Self::launch("127.0.0.1:0", config, dir, now).await
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> Result<(), RunError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.expect("server task"),
            None => Ok(()),
        }
    }

    /// Sends a request; `body` is sent as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login_raw(&self, email: &str, password: &str) -> Resp {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Pair {
        let r = self.login_raw(email, password).await;
        Pair::from_json(r.expect(200))
    }

    pub async fn admin(&self) -> Pair {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn refresh_raw(&self, refresh: &str) -> Resp {
        self.call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await
    }

    /// Creates a tenant as `admin`; returns its id.
    pub async fn create_tenant(&self, admin: &str, name: &str) -> u64 {
        let r = self
            .post("/api/v1/tenants", admin, json!({"name": name}))
            .await;
        let v = r.expect(201);
        assert_eq!(v["name"], name);
        v["id"].as_u64().expect("tenant id")
    }

    /// Adds a new account to a tenant; returns the account id.
    pub async fn add_member(&self, token: &str, tenant: u64, email: &str, role: &str) -> u64 {
        let r = self
            .post(
                &format!("/api/v1/tenants/{tenant}/members"),
                token,
                json!({"email": email, "password": PASSWORD, "role": role}),
            )
            .await;
        let v = r.expect(201);
        assert_eq!(v["role"], role);
        v["account_id"].as_u64().expect("account id")
    }

    /// Invites `email` as an owner would (with `token`), redeems the invitation with
    /// [`PASSWORD`] and returns the member's account id.
    pub async fn invite_and_join(&self, token: &str, tenant: u64, email: &str, role: &str) -> u64 {
        let inv = self
            .post(
                &format!("/api/v1/tenants/{tenant}/invitations"),
                token,
                json!({"email": email, "role": role}),
            )
            .await
            .expect(201)
            .clone();
        let code = inv["token"].as_str().expect("invitation token").to_string();
        self.call(
            Method::POST,
            "/api/v1/invitations/accept",
            None,
            Some(json!({"token": code, "password": PASSWORD})),
        )
        .await
        .expect(200);
        let members = self
            .get(&format!("/api/v1/tenants/{tenant}/members"), token)
            .await
            .expect(200)
            .clone();
        let m = members
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["email"] == email)
            .expect("the invited account is a member");
        assert_eq!(m["role"], role);
        m["account_id"].as_u64().expect("account id")
    }

    /// A tenant with one owner; returns the tenant id, the owner's account id and a login.
    pub async fn tenant_with_owner(
        &self,
        admin: &str,
        name: &str,
        owner_email: &str,
    ) -> (u64, u64, Pair) {
        let t = self.create_tenant(admin, name).await;
        let owner = self.add_member(admin, t, owner_email, "owner").await;
        let pair = self.login(owner_email, PASSWORD).await;
        (t, owner, pair)
    }

    /// Sends raw bytes (an upload).
    pub async fn upload(&self, path: &str, token: &str, bytes: Vec<u8>) -> Resp {
        let req = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes);
        send(req).await
    }

    /// Creates a plan named `name` with `limits` and puts `tenant` on it; returns the plan id.
    pub async fn put_on_plan(&self, admin: &str, tenant: u64, name: &str, limits: Value) -> u64 {
        let plan = self
            .post(
                "/api/v1/plans",
                admin,
                json!({"name": name, "limits": limits}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .expect("plan id");
        self.patch(
            &format!("/api/v1/tenants/{tenant}"),
            admin,
            json!({"plan_id": plan}),
        )
        .await
        .expect(200);
        plan
    }

    /// A tenant on a plan with `limits`, whose owner connected a simulated session with
    /// `groups` groups; returns once the groups are listed.
    pub async fn sim_tenant(
        &self,
        admin: &str,
        name: &str,
        limits: Value,
        sim: Value,
    ) -> SimTenant {
        let email = format!(
            "owner-{}@example.com",
            name.to_lowercase().replace(' ', "-")
        );
        let (tenant, _, owner) = self.tenant_with_owner(admin, name, &email).await;
        self.put_on_plan(admin, tenant, &format!("Plan {name}"), limits)
            .await;
        let owner = owner.access;
        // Admins may give a simulated session failures to play.
        let session = self
            .post(
                &format!("/api/v1/tenants/{tenant}/sessions"),
                admin,
                json!({"kind": "sim", "label": "Dükkan", "sim": sim}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .expect("session id");
        let mut rx = self
            .ready
            .supervisor
            .watch(botyard_shards::ids::TenantId(tenant))
            .expect("worker slot");
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            rx.wait_for(|s| s.dialogs_reported >= 1),
        )
        .await
        .expect("dialogs reported")
        .expect("worker watch");
        SimTenant {
            tenant,
            owner,
            session,
        }
    }

    /// Links the account `email` to Telegram user `user_id` (whose access hash the fake DC
    /// gives as `id * 7`), as the platform bot's `/start <code>` does.
    pub fn link_telegram(&self, email: &str, user_id: i64) {
        let store = self.ready.store.upgrade().expect("store");
        let account = store
            .catalog_read()
            .expect("read")
            .account_by_email(email)
            .expect("lookup")
            .expect("account")
            .0;
        store
            .catalog_write(|c| {
                c.link_telegram(
                    account,
                    &botyard_shards::records::TelegramLinkRec {
                        user_id,
                        access_hash: user_id * 7,
                        first_name: "Ayşe".into(),
                        username: None,
                        linked_at: 1,
                    },
                )
            })
            .expect("link");
    }

    /// A template `name` and an hourly campaign `name` posting it to tag `tag` (saved even
    /// before a group carries the tag): `(template id, campaign id)`.
    pub async fn template_and_campaign(
        &self,
        token: &str,
        tenant: u64,
        name: &str,
        tag: &str,
    ) -> (u64, u64) {
        let tpl = self
            .post(
                &format!("/api/v1/tenants/{tenant}/templates"),
                token,
                json!({"name": name, "body": format!("{name} *İstanbul*")}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .expect("template id");
        let camp = self
            .post(
                &format!("/api/v1/tenants/{tenant}/campaigns"),
                token,
                json!({"name": name, "template_id": tpl, "tags": [tag], "force": true,
                       "schedule": {"every_minutes": 60}}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .expect("campaign id");
        (tpl, camp)
    }

    /// Waits until the platform bot's worker has its session online; returns that status.
    pub async fn platform_online(&self) -> botyard::runtime::supervisor::WorkerStatus {
        let mut rx = loop {
            if let Some(rx) = self
                .ready
                .supervisor
                .watch(botyard::runtime::supervisor::WorkerKey::Platform)
            {
                break rx;
            }
            tokio::task::yield_now().await;
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            rx.wait_for(|s| {
                matches!(
                    s.sessions.get(&botyard::domain::sessions::PLATFORM_SESSION),
                    Some(botyard::worker::ipc::messages::SessionState::Online { .. })
                )
            }),
        )
        .await
        .expect("the platform bot is online")
        .expect("watch")
        .clone()
    }

    /// The ids that fill a tenant's sub-resource paths (`common::fill`): its first campaign,
    /// that campaign's template, its first group, and version 1 (1 for what it lacks).
    pub async fn path_ids(&self, token: &str, tenant: u64) -> Vec<(&'static str, i64)> {
        let campaigns = self
            .get(&format!("/api/v1/tenants/{tenant}/campaigns"), token)
            .await
            .expect(200)
            .clone();
        let groups = self
            .get(&format!("/api/v1/tenants/{tenant}/groups"), token)
            .await
            .expect(200)
            .clone();
        vec![
            ("campaign_id", campaigns[0]["id"].as_i64().unwrap_or(1)),
            (
                "template_id",
                campaigns[0]["template_id"].as_i64().unwrap_or(1),
            ),
            ("chat_id", groups[0]["chat_id"].as_i64().unwrap_or(1)),
            ("version", 1),
        ]
    }

    /// Creates an API key in a tenant; returns (key id, key).
    pub async fn create_api_key(
        &self,
        token: &str,
        tenant: u64,
        name: &str,
        role: &str,
    ) -> (u64, String) {
        let r = self
            .post(
                &format!("/api/v1/tenants/{tenant}/api-keys"),
                token,
                json!({"name": name, "role": role}),
            )
            .await;
        let v = r.expect(201);
        let key = v["key"].as_str().expect("key").to_string();
        assert!(key.starts_with("bya_"), "{key}");
        (v["id"].as_u64().expect("key id"), key)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Sends a built request and reads the whole answer. Every answer of an operation in the
/// OpenAPI document is checked against it: its status is documented and its JSON body fits
/// the documented schema (see [`openapi_check`]).
pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let (client, req) = req.build_split();
    let req = req.expect("request");
    let (method, path) = (req.method().clone(), req.url().path().to_string());
    let r = client.execute(req).await.expect("request failed");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("response body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    let resp = Resp {
        status,
        headers,
        text,
        json,
    };
    openapi_check::check(&method, &path, &resp);
    // Every error the suite meets can be told in Turkish.
    if let Some(code) = resp.json["error"]["code"].as_str() {
        assert!(
            botyard::i18n::turkish_template(code).is_some(),
            "{method} {path}: no Turkish message for `{code}`"
        );
    }
    resp
}

/// The served OpenAPI document held against the answers the tests get.
pub mod openapi_check {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};

    use reqwest::Method;
    use serde_json::{Value, json};

    use super::Resp;

    /// The committed document; a unit test keeps it equal to the served one.
    static DOC: LazyLock<Value> = LazyLock::new(|| {
        serde_json::from_str(include_str!("../../../docs/openapi.json")).expect("openapi.json")
    });

    type Validators = Mutex<HashMap<(String, String, String), Arc<jsonschema::Validator>>>;
    static VALIDATORS: LazyLock<Validators> = LazyLock::new(|| Mutex::new(HashMap::new()));

    /// The document's path template for a concrete path: same segments, `{…}` matching any,
    /// the one with most literal segments first (`/users/top` before `/users/{user_id}`).
    fn template(path: &str) -> Option<String> {
        let segs: Vec<&str> = path.split('/').collect();
        DOC["paths"]
            .as_object()?
            .keys()
            .filter(|t| {
                let ts: Vec<&str> = t.split('/').collect();
                ts.len() == segs.len()
                    && ts
                        .iter()
                        .zip(&segs)
                        .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
            })
            .max_by_key(|t| t.split('/').filter(|s| !s.starts_with('{')).count())
            .cloned()
    }

    fn validator(
        tpl: &str,
        method: &str,
        status: &str,
        schema: &Value,
    ) -> Arc<jsonschema::Validator> {
        let key = (tpl.to_string(), method.to_string(), status.to_string());
        let mut cache = VALIDATORS.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| {
                // The components travel with the schema so its `$ref`s resolve.
                let mut root = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "components": DOC["components"].clone(),
                });
                if let (Some(r), Some(s)) = (root.as_object_mut(), schema.as_object()) {
                    for (k, v) in s {
                        r.insert(k.clone(), v.clone());
                    }
                }
                Arc::new(
                    jsonschema::draft202012::new(&root)
                        .unwrap_or_else(|e| panic!("schema of {method} {tpl} {status}: {e}")),
                )
            })
            .clone()
    }

    /// Panics when an answer of a documented operation has an undocumented status, or JSON
    /// that does not fit the documented schema.
    pub fn check(method: &Method, path: &str, r: &Resp) {
        let Some(tpl) = template(path) else { return };
        let m = method.as_str().to_lowercase();
        let Some(op) = DOC["paths"][&tpl].get(&m) else {
            return;
        };
        let status = r.status.to_string();
        let Some(doc) = op["responses"].get(&status) else {
            panic!(
                "{method} {tpl} answered {status}, which the OpenAPI document does not list: {}",
                r.text
            );
        };
        let is_json = r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"));
        let Some(schema) = doc.pointer("/content/application~1json/schema") else {
            return;
        };
        if !is_json {
            return;
        }
        let v = validator(&tpl, &m, &status, schema);
        let errors: Vec<String> = v
            .iter_errors(&r.json)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {tpl} {status}: the answer does not fit the OpenAPI document:\n{}\n{}",
            errors.join("\n"),
            r.text.chars().take(2000).collect::<String>()
        );
    }
}

/// Valid tenant settings.
pub fn settings_body(display_name: &str) -> Value {
    json!({
        "time_zone": "Europe/Istanbul",
        "language": "tr",
        "display_name": display_name,
        "sending": {
            "parse_mode": "html",
            "silent": true,
            "disable_link_preview": false,
            "protect_content": true
        }
    })
}

pub struct SimTenant {
    pub tenant: u64,
    /// The owner's access token.
    pub owner: String,
    pub session: u64,
}

/// Valid plan limits.
pub fn limits() -> Value {
    json!({
        "sessions": 2,
        "groups": 20,
        "templates": 50,
        "campaigns": 10,
        "sends_per_day": 500,
        "retention_days": 90,
        "worker_memory_mb": 128,
        "media_mb": 10,
        "events_per_sec": 5000,
        "min_interval_mins": 10
    })
}

/// (method, path template) of every operation whose path has `{id}`.
pub fn tenant_operations(doc: &Value) -> Vec<(Method, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.contains("{id}") {
            continue;
        }
        for (method, _) in item.as_object().expect("path item") {
            let m = match method.as_str() {
                "get" => Method::GET,
                "put" => Method::PUT,
                "post" => Method::POST,
                "delete" => Method::DELETE,
                "patch" => Method::PATCH,
                "head" => Method::HEAD,
                "options" => Method::OPTIONS,
                "trace" => Method::TRACE,
                // `parameters`, `summary`, … are not operations.
                _ => continue,
            };
            ops.push((m, path.clone()));
        }
    }
    ops
}

/// Fills a path template: `{id}` with `tenant`, known sub-resource ids from `ids`, else 1.
pub fn fill(template: &str, tenant: u64, ids: &[(&str, i64)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 1..end];
        let value = if name == "id" {
            tenant as i64
        } else {
            ids.iter().find(|(n, _)| *n == name).map_or(1, |(_, v)| *v)
        };
        out.push_str(&value.to_string());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    assert!(!out.contains('{'), "unfilled parameter in {template}");
    out
}

/// A real PNG of `w`×`h` pixels (its decoder reads it), padded after its end with `fill` up to
/// `len` bytes.
pub fn png_sized(w: u32, h: u32, len: usize, fill: u8) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 90]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    let mut b = out.into_inner();
    if b.len() < len {
        b.resize(len, fill);
    }
    b
}

/// A small real PNG of `len` bytes.
pub fn png(len: usize, fill: u8) -> Vec<u8> {
    png_sized(2, 2, len, fill)
}

/// The text of a PDF by `pdftotext -layout` (Debian's poppler-utils), with its first page
/// saved as `target/test-artifacts/<name>.png` (`pdftoppm`) for a person to look at. `None`
/// when poppler is not installed, which fails under `BOTYARD_E2E=1` (CI installs it).
pub fn pdf_text(pdf: &[u8], name: &str) -> Option<String> {
    let have = std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok();
    if !have {
        assert!(
            !std::env::var("BOTYARD_E2E").is_ok_and(|v| v == "1"),
            "BOTYARD_E2E=1 but pdftotext (poppler-utils) is missing"
        );
        eprintln!("skipped: pdftotext (poppler-utils) is not installed");
        return None;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&file, pdf).expect("write the PDF");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-singlefile"])
        .arg(&file)
        .arg(dir.join(name))
        .status()
        .expect("pdftoppm runs");
    assert!(png.success());
    Some(String::from_utf8(out.stdout).expect("UTF-8 text"))
}
