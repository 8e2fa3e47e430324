//! The console's authorization step, the same as the API's: the viewer's `TenantScope` (another
//! tenant is a 404), the role table of `http/roles.rs`, and for a change what a suspended tenant
//! may still do. A console action names the API route it mirrors, so the two can never disagree.

use axum::http::Method;
use botyard_shards::TenantScope;
use botyard_shards::ids::TenantId;

use super::session::Viewer;
use crate::domain::auth;
use crate::error::AppResult;
use crate::http::roles::{self, Needs};
use crate::state::{Shared, blocking};

/// What the viewer wants of the tenant.
pub enum Want {
    /// To read what any of its people read.
    Read,
    /// To read what only `Needs` may (its keys, its log, its settings, a login under way).
    See(Needs),
    /// To change something, as the API's `method route` does.
    Change(Method, &'static str),
}

/// The viewer's scope of tenant `id`, once `want` is allowed.
pub async fn tenant(st: &Shared, v: &Viewer, id: u64, want: Want) -> AppResult<TenantScope> {
    let st2 = st.clone();
    let caller = v.caller.clone();
    blocking(move || {
        let scope = auth::scope(&st2, &caller, TenantId(id))?;
        match want {
            Want::Read => {}
            Want::See(needs) => roles::check(scope.access(), needs, false)?,
            Want::Change(method, route) => {
                roles::check(scope.access(), roles::needs(&method, route), true)?;
                roles::check_active(scope.status(), scope.access(), &method, route)?;
            }
        }
        Ok(scope)
    })
    .await
}
