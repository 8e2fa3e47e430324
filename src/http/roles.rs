//! Who may call what inside a tenant: the role table of API.md in one function, consulted by
//! [`TenantCtx`](super::extract::TenantCtx) before a request's body is read.
//!
//! | role   | reads | templates, media, variables, groups, campaigns, rules | sessions, logins, members, API keys, settings, reports, logs | the tenant itself, its worker |
//! |--------|-------|-----|-----|-----|
//! | viewer | yes   | no  | no  | no  |
//! | editor | yes   | yes | no  | no  |
//! | owner  | yes   | yes | yes | no  |
//! | admin  | yes   | yes | yes | yes |
//!
//! The third column covers reading logins, invitations, API keys and the log too. A suspended
//! tenant is refused most changes, by [`check_active`].

use axum::http::Method;
use botyard_shards::Access;
use botyard_shards::records::TenantStatus;

use crate::error::AppError;

/// What an operation asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Reads (and the POSTs that only compute an answer).
    Read,
    /// Changes the tenant's content and campaigns: editors, owners, admins.
    Edit,
    /// Runs the tenant (sessions, people, keys, settings): owners and admins.
    Manage,
    /// The tenant's own lifecycle and worker: admins.
    Admin,
}

/// What `method` on the route template `path` (`/api/v1/tenants/{id}/…`) needs. A route
/// this table does not know needs `Manage` to change anything: new routes are closed first.
pub fn needs(method: &Method, path: &str) -> Needs {
    let rest = path
        .strip_prefix("/api/v1/tenants/{id}")
        .unwrap_or(path)
        .trim_start_matches('/');
    let area = rest.split('/').next().unwrap_or("");
    let reads = *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS;
    if reads {
        return match area {
            // What only those who run the tenant see: its log, logins under way, pending
            // invitations and API keys.
            "logs" | "logins" | "invitations" | "api-keys" | "invoices" | "billing-profile" => {
                Needs::Manage
            }
            _ => Needs::Read,
        };
    }
    match area {
        "" | "suspend" | "resume" | "worker" | "payments" | "move" | "import" | "rows" => {
            Needs::Admin
        }
        "templates" if rest.ends_with("/preview") => Needs::Read,
        "templates" | "media" | "variables" | "groups" | "campaigns" | "rules" => Needs::Edit,
        _ => Needs::Manage,
    }
}

/// Refuses `access` an operation that needs `needs`, with the code that says why (a viewer's
/// attempt to change anything is `auth.read_only`).
pub fn check(access: Access, needs: Needs, changes: bool) -> Result<(), AppError> {
    let refused = match (needs, access) {
        (_, Access::Admin) | (Needs::Read, _) => None,
        (_, Access::Viewer) if changes => Some((
            "auth.read_only",
            "a viewer reads only; an owner or editor of the tenant makes changes",
        )),
        (Needs::Edit, Access::Viewer) => Some((
            "auth.forbidden",
            "only the tenant's owners and editors may do this",
        )),
        (Needs::Edit, _) => None,
        (Needs::Manage, Access::Owner) => None,
        (Needs::Manage, _) => Some((
            "auth.forbidden",
            "only the tenant's owners and admins may do this",
        )),
        (Needs::Admin, _) => Some(("auth.admin_required", "only admins may do this")),
    };
    match refused {
        Some((code, message)) => Err(AppError::Forbidden { code, message }),
        None => Ok(()),
    }
}

/// Refuses a change to a suspended tenant (`tenant.suspended`), except by admins and except
/// what its people may still do: finish or cancel a login under way, take something away (a
/// login, an invitation, an API key, a session), and pause, resume or activate campaigns (the
/// scheduler does not run a suspended tenant's campaigns anyway).
pub fn check_active(
    status: TenantStatus,
    access: Access,
    method: &Method,
    path: &str,
) -> Result<(), AppError> {
    if status != TenantStatus::Suspended
        || access == Access::Admin
        || needs(method, path) == Needs::Read
        || matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
    {
        return Ok(());
    }
    let rest = path
        .strip_prefix("/api/v1/tenants/{id}")
        .unwrap_or(path)
        .trim_start_matches('/');
    let parts: Vec<&str> = rest.split('/').collect();
    let still_allowed = matches!(
        (method, parts.as_slice()),
        (
            &Method::DELETE,
            ["logins" | "invitations" | "api-keys" | "sessions", _]
        ) | (&Method::POST, ["logins", _, "code" | "password"])
            | (
                &Method::POST,
                ["campaigns", _, "activate" | "pause" | "resume"]
            )
    );
    if still_allowed {
        return Ok(());
    }
    Err(AppError::Forbidden {
        code: "tenant.suspended",
        message: "this tenant is suspended; contact the reseller",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let t = "/api/v1/tenants/{id}";
        let cases = [
            (Method::GET, format!("{t}/campaigns"), Needs::Read),
            (Method::GET, format!("{t}/logs"), Needs::Manage),
            (Method::GET, format!("{t}/api-keys"), Needs::Manage),
            (Method::GET, format!("{t}/invitations"), Needs::Manage),
            (
                Method::GET,
                format!("{t}/logins/{{login_id}}"),
                Needs::Manage,
            ),
            (Method::GET, format!("{t}/members"), Needs::Read),
            (
                Method::POST,
                format!("{t}/campaigns/{{campaign_id}}/run"),
                Needs::Edit,
            ),
            (
                Method::POST,
                format!("{t}/templates/{{template_id}}/preview"),
                Needs::Read,
            ),
            (
                Method::PATCH,
                format!("{t}/groups/{{chat_id}}"),
                Needs::Edit,
            ),
            (Method::POST, format!("{t}/sessions/import"), Needs::Manage),
            (Method::PUT, format!("{t}/settings"), Needs::Manage),
            (Method::POST, format!("{t}/something-new"), Needs::Manage),
            (Method::DELETE, t.to_string(), Needs::Admin),
            (Method::POST, format!("{t}/worker/restart"), Needs::Admin),
            (Method::POST, format!("{t}/move"), Needs::Admin),
        ];
        for (m, p, n) in cases {
            assert_eq!(needs(&m, &p), n, "{m} {p}");
        }
        assert!(check(Access::Viewer, Needs::Read, false).is_ok());
        assert!(check(Access::Viewer, Needs::Edit, true).is_err());
        assert!(check(Access::Viewer, Needs::Manage, false).is_err());
        assert!(check(Access::Editor, Needs::Edit, true).is_ok());
        assert!(check(Access::Editor, Needs::Manage, true).is_err());
        assert!(check(Access::Owner, Needs::Manage, true).is_ok());
        assert!(check(Access::Owner, Needs::Admin, true).is_err());
        assert!(check(Access::Admin, Needs::Admin, true).is_ok());
    }

    #[test]
    fn what_a_suspended_tenant_may_still_do() {
        let t = "/api/v1/tenants/{id}";
        let suspended = |access, m: Method, p: String| {
            check_active(TenantStatus::Suspended, access, &m, &p).is_ok()
        };
        assert!(suspended(
            Access::Owner,
            Method::GET,
            format!("{t}/campaigns")
        ));
        assert!(suspended(
            Access::Editor,
            Method::POST,
            format!("{t}/templates/{{template_id}}/preview")
        ));
        assert!(suspended(
            Access::Owner,
            Method::DELETE,
            format!("{t}/api-keys/{{key_id}}")
        ));
        assert!(suspended(
            Access::Owner,
            Method::POST,
            format!("{t}/logins/{{login_id}}/code")
        ));
        assert!(suspended(
            Access::Editor,
            Method::POST,
            format!("{t}/campaigns/{{campaign_id}}/pause")
        ));
        assert!(!suspended(
            Access::Editor,
            Method::POST,
            format!("{t}/campaigns")
        ));
        assert!(!suspended(
            Access::Owner,
            Method::DELETE,
            format!("{t}/members/{{account_id}}")
        ));
        assert!(!suspended(
            Access::Owner,
            Method::POST,
            format!("{t}/logins")
        ));
        assert!(!suspended(
            Access::Owner,
            Method::POST,
            format!("{t}/something-new")
        ));
        assert!(suspended(
            Access::Admin,
            Method::POST,
            format!("{t}/campaigns")
        ));
        assert!(
            check_active(
                TenantStatus::Active,
                Access::Owner,
                &Method::POST,
                &format!("{t}/media")
            )
            .is_ok()
        );
    }
}
