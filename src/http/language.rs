//! Error messages in the reader's language: the tenant's (from its settings) when the request
//! is about a tenant the caller may see, else the `Accept-Language` header's, else English.
//! Handlers and extractors raise errors in English; this layer translates the envelope.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use botyard_shards::ids::TenantId;

use crate::http::error::{ErrorBody, ErrorEnvelope, ErrorFacts};
use crate::i18n::{self, Language};
use crate::state::Shared;

/// The tenant a request turned out to be about, set by [`super::extract::TenantCtx`] once the
/// caller is authorized for it.
#[derive(Clone, Default)]
pub struct ReplyTenant(Arc<OnceLock<TenantId>>);

impl ReplyTenant {
    pub fn set(&self, tenant: TenantId) {
        let _ = self.0.set(tenant);
    }
}

pub async fn localize(State(st): State<Shared>, mut req: Request, next: Next) -> Response {
    let accepted = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(i18n::from_accept_language);
    let tenant = ReplyTenant::default();
    req.extensions_mut().insert(tenant.clone());
    let mut resp = next.run(req).await;
    let Some(facts) = resp.extensions_mut().remove::<ErrorFacts>() else {
        return resp;
    };
    let lang = tenant
        .0
        .get()
        .and_then(|t| tenant_language(&st, *t))
        .or(accepted)
        .unwrap_or(Language::En);
    let message = i18n::error_message(lang, facts.code, &facts.message, facts.field.as_deref());
    let envelope = ErrorEnvelope {
        error: ErrorBody {
            code: facts.code.to_string(),
            message,
            field: facts.field,
        },
    };
    if let Ok(bytes) = serde_json::to_vec(&envelope) {
        *resp.body_mut() = Body::from(bytes);
        resp.headers_mut().remove(header::CONTENT_LENGTH);
    }
    resp.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(match lang {
            Language::Tr => "tr",
            Language::En => "en",
        }),
    );
    resp
}

/// The language in the tenant's settings; none when they cannot be read (the error is then
/// answered in the header's language rather than not at all).
fn tenant_language(st: &Shared, tenant: TenantId) -> Option<Language> {
    let scope = st.store.supervisor_scope(tenant).ok()?;
    crate::domain::tenancy::settings(&scope)
        .ok()
        .map(|s| s.language)
}
