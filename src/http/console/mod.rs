//! The web console at `/console`: server-rendered pages (askama templates in `web/templates/`)
//! with htmx, for admins and, scoped to their tenants, tenant people. Pages call the same
//! domain functions as the API handlers. Every response carries a strict CSP, and every
//! state-changing request must carry the session's CSRF token ([`csrf`]).

mod access_pages;
mod account_pages;
mod admin_pages;
mod app_pages;
mod appliance_pages;
mod assets;
mod auth_pages;
mod authorize;
mod backup_pages;
mod billing_pages;
mod books_pages;
mod buttons_text;
mod campaign_form;
mod content_pages;
mod csrf;
pub mod help_pages;
mod launch_pages;
mod live;
mod log_pages;
mod login_pages;
mod mail_pages;
mod marketing_pages;
// Outside the console's router (no session, no CSRF token): merged by `http::router`.
mod recovery_pages;
mod rule_pages;
pub mod session;
mod settings_pages;
mod signup_pages;
mod store_pages;
mod support_pages;
mod telegram_html;
mod tenant_pages;
pub mod unsubscribe_pages;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::AppError;
use crate::i18n;
use crate::state::Shared;
use session::Chrome;

/// What the Mini-App's pages may load: the console's rules, but Telegram's web clients may
/// show it in their frame.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors https://web.telegram.org";

/// What the console's pages may load: only this appliance, no inline script or style.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(st: Shared) -> Router<Shared> {
    let r = tenant_pages(Router::new(), session::CONSOLE);
    let r = tenant_pages(r, session::APP);
    r.route("/console", get(admin_pages::home))
        .route("/console/", get(admin_pages::home))
        .route(
            "/console/login",
            get(auth_pages::login_page).post(auth_pages::login),
        )
        .route("/console/logout", post(auth_pages::logout))
        .route(
            "/console/forgot",
            get(recovery_pages::forgot_page).post(recovery_pages::forgot),
        )
        .route(
            "/console/reset",
            get(recovery_pages::reset_page).post(recovery_pages::reset),
        )
        .route(
            "/console/email",
            get(recovery_pages::email_page).post(recovery_pages::email),
        )
        .route("/app", get(app_pages::open))
        .route("/app/", get(app_pages::open))
        .route("/app/session", post(auth_pages::webapp_sign_in))
        .route("/app/link", post(app_pages::link))
        .route("/app/signup", post(app_pages::signup))
        .route("/app/home", get(app_pages::home))
        .route("/app/tenants/{id}/more", get(app_pages::more))
        .route("/app/help", get(app_pages::help))
        .route("/app/language", post(app_pages::language))
        .route("/app/assets/{file}", get(assets::app_asset))
        .route(
            "/console/link",
            get(auth_pages::link_page).post(auth_pages::link_sign_in),
        )
        .route(
            "/console/setup",
            get(auth_pages::setup_page).post(auth_pages::setup),
        )
        .route(
            "/console/invite",
            get(auth_pages::invite_page).post(auth_pages::accept_invite),
        )
        .route(
            "/console/tenants",
            get(admin_pages::tenants).post(admin_pages::create_tenant),
        )
        .route("/console/tenants/rows", get(admin_pages::tenant_rows))
        .route("/console/logs", get(log_pages::server_log))
        .route("/console/live/log", get(log_pages::server_tail))
        .route("/console/workers", get(admin_pages::workers))
        .route(
            "/console/workers/{key}/restart",
            post(admin_pages::restart_worker),
        )
        .route(
            "/console/workers/{key}/release",
            post(admin_pages::release_worker),
        )
        .route("/console/live/workers", get(live::workers))
        .route(
            "/console/plans",
            get(admin_pages::plans).post(admin_pages::create_plan),
        )
        .route("/console/plans/{id}", post(admin_pages::update_plan))
        .route("/console/billing", get(books_pages::show))
        .route("/console/billing/seller", post(books_pages::save_seller))
        .route(
            "/console/billing/prices/{id}",
            post(books_pages::save_price),
        )
        .route("/console/billing/reconcile", post(books_pages::reconcile))
        .route(
            "/console/billing/payments/{id}/refund",
            post(books_pages::refund),
        )
        .route("/console/audit", get(admin_pages::audit))
        .route("/console/alerts/{id}/ack", post(admin_pages::ack_alert))
        .route("/console/account", get(account_pages::account))
        .route("/console/account/prefs", post(account_pages::save_prefs))
        .route(
            "/console/account/notices",
            post(account_pages::save_notices),
        )
        .route("/console/account/email", post(account_pages::change_email))
        .route(
            "/console/account/password",
            post(account_pages::change_password),
        )
        .route(
            "/console/account/telegram",
            post(account_pages::link_telegram),
        )
        .route(
            "/console/account/telegram/unlink",
            post(account_pages::unlink_telegram),
        )
        .route(
            "/console/account/logins/{family}/end",
            post(account_pages::end_login),
        )
        .route("/console/assets/{file}", get(assets::asset))
        .route(
            "/console/appliance",
            get(appliance_pages::show).post(appliance_pages::save),
        )
        .route(
            "/console/appliance/logo",
            post(appliance_pages::upload_logo),
        )
        .route(
            "/console/appliance/logo/remove",
            post(appliance_pages::remove_logo),
        )
        .route(
            "/console/mail",
            get(mail_pages::show).post(mail_pages::save),
        )
        .route("/console/mail/test", post(mail_pages::test))
        .route(
            "/console/backups",
            get(backup_pages::show).post(backup_pages::start),
        )
        .route("/console/launch", get(launch_pages::show))
        .route("/console/support", get(support_pages::inbox))
        .route("/console/support/{tid}", get(support_pages::staff_view))
        .route(
            "/console/support/{tid}/messages",
            post(support_pages::staff_answer).layer(axum::extract::DefaultBodyLimit::max(
                super::console::csrf::UPLOAD_FORM_LIMIT,
            )),
        )
        .route(
            "/console/support/{tid}/state",
            post(support_pages::staff_state),
        )
        .route(
            "/console/support/{tid}/files/{n}",
            get(support_pages::staff_file),
        )
        .route("/console/signups", get(signup_pages::show))
        .route("/console/signups/policy", post(signup_pages::save_policy))
        .route(
            "/console/signups/invites",
            post(signup_pages::create_invite),
        )
        .route(
            "/console/signups/invites/{code}/toggle",
            post(signup_pages::toggle_invite),
        )
        .route("/", get(store_pages::front))
        .route("/help", get(help_pages::start))
        .route("/help/", get(help_pages::start))
        .route("/help/{lang}", get(help_pages::index))
        .route("/help/{lang}/", get(help_pages::index))
        .route("/help/{lang}/search", get(help_pages::search_page))
        .route("/help/{lang}/{page}", get(help_pages::page))
        .route("/help/shots/{lang}/{file}", get(help_pages::shot))
        .route("/help/videos/{file}", get(help_pages::video))
        .route("/console/backups/{name}", get(backup_pages::download))
        .route(
            "/console/marketing",
            get(marketing_pages::show).post(marketing_pages::create),
        )
        .route("/console/marketing/{id}", get(marketing_pages::mailing))
        .route("/console/marketing/{id}/send", post(marketing_pages::send))
        .route(
            "/console/marketing/{id}/preview",
            get(marketing_pages::preview),
        )
        .route("/console/mail/{id}/resend", post(mail_pages::resend))
        .route("/console/brand.css", get(appliance_pages::brand_css))
        .route("/console/brand/logo", get(appliance_pages::brand_logo))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st, csrf::require))
        .layer(middleware::from_fn(headers))
        // Pages and assets go gzipped to browsers that ask (the live streams never are).
        .layer(tower_http::compression::CompressionLayer::new())
}

/// A tenant's pages, under `root`: the console's and the Mini-App's faces share them.
fn tenant_pages(r: Router<Shared>, root: &str) -> Router<Shared> {
    r.route(&format!("{root}/tenants/{{id}}"), get(tenant_pages::tenant))
        .route(
            &format!("{root}/tenants/{{id}}/plan"),
            post(tenant_pages::set_plan),
        )
        .route(
            &format!("{root}/tenants/{{id}}/rename"),
            post(tenant_pages::rename),
        )
        .route(
            &format!("{root}/tenants/{{id}}/suspend"),
            post(tenant_pages::suspend),
        )
        .route(
            &format!("{root}/tenants/{{id}}/move"),
            post(tenant_pages::move_shard),
        )
        .route(
            &format!("{root}/tenants/{{id}}/resume"),
            post(tenant_pages::resume),
        )
        .route(
            &format!("{root}/tenants/{{id}}/delete"),
            post(tenant_pages::delete),
        )
        .route(
            &format!("{root}/tenants/{{id}}/reports"),
            post(tenant_pages::make_report),
        )
        .route(
            &format!("{root}/tenants/{{id}}/sessions"),
            get(tenant_pages::sessions).post(tenant_pages::connect_session),
        )
        .route(
            &format!("{root}/tenants/{{id}}/groups"),
            get(tenant_pages::groups),
        )
        .route(
            &format!("{root}/tenants/{{id}}/groups/refresh"),
            post(tenant_pages::refresh_groups),
        )
        .route(
            &format!("{root}/tenants/{{id}}/members"),
            get(tenant_pages::members),
        )
        .route(
            &format!("{root}/tenants/{{id}}/subscription"),
            get(tenant_pages::subscription),
        )
        .route(
            &format!("{root}/tenants/{{id}}/support"),
            get(support_pages::list).post(support_pages::open).layer(
                axum::extract::DefaultBodyLimit::max(csrf::UPLOAD_FORM_LIMIT),
            ),
        )
        .route(
            &format!("{root}/tenants/{{id}}/support/{{tid}}"),
            get(support_pages::thread),
        )
        .route(
            &format!("{root}/tenants/{{id}}/support/{{tid}}/messages"),
            post(support_pages::answer).layer(axum::extract::DefaultBodyLimit::max(
                csrf::UPLOAD_FORM_LIMIT,
            )),
        )
        .route(
            &format!("{root}/tenants/{{id}}/support/{{tid}}/state"),
            post(support_pages::set_state),
        )
        .route(
            &format!("{root}/tenants/{{id}}/support/{{tid}}/files/{{n}}"),
            get(support_pages::file),
        )
        .route(
            &format!("{root}/tenants/{{id}}/feedback"),
            get(support_pages::feedback_form).post(support_pages::send_feedback),
        )
        .route(
            &format!("{root}/tenants/{{id}}/subscription/trial"),
            post(billing_pages::start_trial),
        )
        .route(
            &format!("{root}/tenants/{{id}}/subscription/cancel"),
            post(billing_pages::cancel),
        )
        .route(
            &format!("{root}/tenants/{{id}}/subscription/resume"),
            post(billing_pages::resume),
        )
        .route(
            &format!("{root}/tenants/{{id}}/payments"),
            post(billing_pages::record_transfer),
        )
        .route(
            &format!("{root}/tenants/{{id}}/payments/{{payment}}/refund"),
            post(billing_pages::refund),
        )
        .route(
            &format!("{root}/tenants/{{id}}/subscription/stars"),
            post(billing_pages::pay_stars),
        )
        .route(
            &format!("{root}/tenants/{{id}}/subscription/plan"),
            post(billing_pages::change_plan),
        )
        .route(
            &format!("{root}/tenants/{{id}}/invoices/{{invoice}}/pdf"),
            get(billing_pages::invoice_pdf),
        )
        .route(
            &format!("{root}/tenants/{{id}}/billing-profile"),
            post(billing_pages::save_profile),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logins"),
            post(login_pages::start),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logins/{{login}}"),
            get(login_pages::show),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logins/{{login}}/stage"),
            get(login_pages::stage),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logins/{{login}}/code"),
            post(login_pages::code),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logins/{{login}}/password"),
            post(login_pages::password),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logins/{{login}}/cancel"),
            post(login_pages::cancel),
        )
        .route(
            &format!("{root}/tenants/{{id}}/sessions/import-file"),
            post(tenant_pages::import_session_file).layer(axum::extract::DefaultBodyLimit::max(
                crate::worker::session_import::FILE_MAX,
            )),
        )
        .route(
            &format!("{root}/tenants/{{id}}/sessions/import"),
            post(tenant_pages::import_session),
        )
        .route(
            &format!("{root}/tenants/{{id}}/groups/{{chat}}"),
            post(tenant_pages::update_group),
        )
        .route(
            &format!("{root}/tenants/{{id}}/members/{{account}}"),
            post(tenant_pages::update_member),
        )
        .route(
            &format!("{root}/tenants/{{id}}/invitations/{{invitation}}/withdraw"),
            post(tenant_pages::withdraw_invitation),
        )
        .route(
            &format!("{root}/tenants/{{id}}/invitations"),
            post(tenant_pages::invite),
        )
        .route(
            &format!("{root}/tenants/{{id}}/templates"),
            get(content_pages::templates).post(content_pages::create_template),
        )
        .route(
            &format!("{root}/tenants/{{id}}/media"),
            post(content_pages::upload_media),
        )
        .route(
            &format!("{root}/tenants/{{id}}/templates/{{tid}}"),
            get(content_pages::template).post(content_pages::update_template),
        )
        .route(
            &format!("{root}/tenants/{{id}}/templates/preview"),
            post(content_pages::preview),
        )
        .route(
            &format!("{root}/tenants/{{id}}/rules"),
            get(rule_pages::rules).post(rule_pages::create_rule),
        )
        .route(
            &format!("{root}/tenants/{{id}}/rules/{{rid}}/{{action}}"),
            post(rule_pages::rule_action),
        )
        .route(
            &format!("{root}/tenants/{{id}}/groups/{{chat}}/warnings"),
            post(rule_pages::clear_warnings),
        )
        .route(
            &format!("{root}/tenants/{{id}}/campaigns"),
            get(content_pages::campaigns_list).post(content_pages::create_campaign),
        )
        .route(
            &format!("{root}/tenants/{{id}}/campaigns/schedule"),
            post(content_pages::schedule_preview),
        )
        .route(
            &format!("{root}/tenants/{{id}}/campaigns/{{cid}}"),
            get(content_pages::campaign),
        )
        .route(
            &format!("{root}/tenants/{{id}}/campaigns/{{cid}}/edit"),
            post(content_pages::edit_campaign),
        )
        .route(
            &format!("{root}/tenants/{{id}}/campaigns/{{cid}}/{{action}}"),
            post(content_pages::campaign_action),
        )
        .route(
            &format!("{root}/tenants/{{id}}/campaigns/{{cid}}/runs/{{n}}"),
            get(content_pages::run),
        )
        .route(
            &format!("{root}/tenants/{{id}}/api-keys"),
            get(access_pages::keys).post(access_pages::create_key),
        )
        .route(
            &format!("{root}/tenants/{{id}}/api-keys/{{key}}/revoke"),
            post(access_pages::revoke_key),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logs"),
            get(access_pages::logs),
        )
        .route(
            &format!("{root}/tenants/{{id}}/logs/live"),
            get(log_pages::tenant_tail),
        )
        .route(
            &format!("{root}/tenants/{{id}}/settings"),
            get(settings_pages::settings).post(settings_pages::save),
        )
}

/// The console's security headers on every response, errors included.
async fn headers(req: Request, next: Next) -> Response {
    // The help opens from the Mini-App too, so it may be shown in Telegram's web frame.
    let app = session::is_app(req.uri().path()) || req.uri().path().starts_with("/help");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page with a policy of its own (a mail's preview: nothing runs) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if app { APP_CSP } else { CSP }),
        );
    }
    h.insert(
        "Cross-Origin-Opener-Policy",
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// A rendered page, or a plain 500 when a template fails (logged).
/// `?done=…` after a change, so the page it leads back to can say the change was made.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

impl DoneQuery {
    /// The notice for `done`, from `(done, catalogue key)` pairs, in the reader's language.
    pub fn notice(&self, t: &session::Tr, keys: &[(&str, &'static str)]) -> Option<String> {
        let done = self.done.as_deref()?;
        keys.iter()
            .find(|(d, _)| *d == done)
            .map(|(_, k)| t.s(k).to_string())
    }
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    c: Chrome,
    title: &'a str,
    body: &'a str,
    link: &'a str,
    link_text: &'a str,
    /// The FAQ entry of the error the page tells, if any.
    explained: Option<String>,
}

/// A page that says one thing, with a way on.
pub fn message(c: Chrome, status: StatusCode, title: &str, body: &str, link: &str) -> Response {
    let link_text = c.t.s("nav.dashboard");
    let page = MessagePage {
        title,
        body,
        link,
        link_text,
        explained: None,
        c,
    };
    (status, render(&page)).into_response()
}

/// An error raised by a domain call, told in the reader's language: for an htmx request as
/// text the page shows, otherwise as a page.
pub fn error_page(c: Chrome, e: AppError) -> Response {
    if let AppError::Internal(detail) = &e {
        tracing::error!(code = e.code(), %detail, "console request failed");
    }
    let status = crate::http::error::status_of(&e);
    let text = error_text(&c, &e);
    let home = if c.app { "/app/home" } else { "/console" };
    let explained = help_pages::library()
        .has(&format!("errors#{}", e.code()))
        .then(|| format!("/help/{}/errors#{}", c.t.code(), e.code()));
    let page = MessagePage {
        title: c.t.s("error.title"),
        body: &text,
        link: home,
        link_text: c.t.s("nav.dashboard"),
        explained,
        c,
    };
    (status, render(&page)).into_response()
}

/// An error as the text an htmx request or the upload script shows, with its status.
pub fn error_fragment(c: &Chrome, e: &AppError) -> Response {
    (crate::http::error::status_of(e), error_text(c, e)).into_response()
}

/// The message of an error in the reader's language.
pub fn error_text(c: &Chrome, e: &AppError) -> String {
    let english = match e {
        AppError::Invalid { message, .. } => message.clone(),
        other => other.public_message(),
    };
    i18n::error_message(c.t.lang, e.code(), &english, e.field())
}

async fn not_found(State(st): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    let c = Chrome::anonymous(&st, session::browser_language(&headers), String::new());
    let title = c.t.s("error.title");
    let body = c.t.s("error.not_found");
    message(c, StatusCode::NOT_FOUND, title, body, "/console")
}
