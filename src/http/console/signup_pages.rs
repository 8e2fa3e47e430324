//! Sign-ups (admins): whether people may sign themselves up through the platform bot and on
//! which plan, the referral reward, beta invite codes, and who signed up lately with what
//! brought them.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::DoneQuery;
use super::admin_pages::admins_only;
use super::session::{Chrome, Viewer};
use super::{error_page, error_text, render};
use crate::domain::signup::{self, invites};
use crate::error::AppError;
use crate::state::{Shared, blocking};

struct InviteRow {
    code: String,
    note: String,
    uses: String,
    expires: String,
    /// `signup.code_live`, `…_off`, `…_expired`, `…_used_up`.
    state: &'static str,
    disabled: bool,
}

struct SignupRow {
    tenant: u64,
    name: String,
    when: String,
    invite: String,
    referrer: Option<(u64, String)>,
    reward: String,
}

#[derive(Template)]
#[template(path = "console/signups.html")]
struct SignupsPage {
    c: Chrome,
    notice: Option<String>,
    error: Option<String>,
    mode: &'static str,
    plan: Option<u64>,
    plans: Vec<(u64, String)>,
    reward_days: u32,
    /// The plan sign-ups get now, or none (then nobody can sign up).
    trial: Option<String>,
    invites: Vec<InviteRow>,
    signups: Vec<SignupRow>,
    link: Option<String>,
}

async fn page(st: &Shared, v: &Viewer, notice: Option<String>, error: Option<String>) -> Response {
    let st2 = st.clone();
    let found = blocking(move || {
        let c = st2.store.catalog_read()?;
        let plans: Vec<(u64, String)> = c
            .plans()?
            .into_iter()
            .map(|(id, p)| (id.0, p.name))
            .collect();
        let codes = c.invite_codes()?;
        drop(c);
        let trial = signup::trial_plan(&st2)?;
        Ok((plans, codes, trial, signup::recent(&st2, 100)?))
    })
    .await;
    let (plans, codes, trial, recent) = match found {
        Ok(f) => f,
        Err(e) => return error_page(v.page("signups"), e),
    };
    let c = v.page("signups");
    let now = st.now();
    let policy = st.appliance().signup.clone();
    let invites = codes
        .into_iter()
        .map(|(code, r)| InviteRow {
            state: match invites::usable(&r, now) {
                Ok(()) => "signup.code_live",
                Err(invites::Refusal::Disabled) => "signup.code_off",
                Err(invites::Refusal::Expired) => "signup.code_expired",
                Err(invites::Refusal::UsedUp) => "signup.code_used_up",
            },
            uses: format!("{} / {}", r.uses, r.max_uses),
            expires: r
                .expires_at
                .map_or_else(|| c.t.s("signup.never").to_string(), |e| c.t.when(e)),
            note: r.note,
            disabled: r.disabled,
            code,
        })
        .collect();
    let signups = recent
        .into_iter()
        .map(|s| SignupRow {
            tenant: s.tenant.0,
            name: s.name,
            when: c.t.when(s.at),
            invite: s.invite.unwrap_or_default(),
            referrer: s.referrer.map(|(t, n)| (t.0, n)),
            reward: s.rewarded_days.map_or_else(String::new, |d| {
                c.t.s("signup.reward_given")
                    .replace("{days}", &d.to_string())
            }),
        })
        .collect();
    let trial = trial.map(|(p, days)| {
        let name = plans
            .iter()
            .find(|(id, _)| *id == p.0)
            .map_or_else(|| format!("#{p}"), |(_, n)| n.clone());
        c.t.s("signup.trial_line")
            .replace("{plan}", &name)
            .replace("{days}", &days.to_string())
    });
    render(&SignupsPage {
        notice,
        error,
        mode: policy.mode.code(),
        plan: policy.plan.map(|p| p.0),
        plans,
        reward_days: policy.reward_days,
        trial,
        invites,
        signups,
        link: crate::domain::storefront::trial_link(st),
        c,
    })
}

pub async fn show(State(st): State<Shared>, v: Viewer, Query(q): Query<DoneQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = q.notice(
        &v.chrome.t,
        &[
            ("policy", "signup.saved"),
            ("invite", "signup.invite_made"),
            ("toggled", "signup.saved"),
        ],
    );
    page(&st, &v, notice, None).await
}

async fn refused(st: &Shared, v: &Viewer, e: AppError) -> Response {
    let text = error_text(&v.chrome, &e);
    let mut r = page(st, v, None, Some(text)).await;
    *r.status_mut() = crate::http::error::status_of(&e);
    r
}

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    reward_days: String,
}

pub async fn save_policy(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<PolicyForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let saved = match signup::policy_from_form(&f.mode, &f.plan, &f.reward_days) {
        Ok(p) => crate::domain::appliance::save_signup(&st, v.account, p).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Redirect::to("/console/signups?done=policy").into_response(),
        Err(e) => refused(&st, &v, e).await,
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    days: String,
}

pub async fn create_invite(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<InviteForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let input = match (
        invites::form_number("max_uses", &f.max_uses, 1),
        invites::form_number("days", &f.days, 0),
    ) {
        (Ok(max_uses), Ok(days)) => invites::NewInvite {
            code: f.code.clone(),
            note: f.note.clone(),
            max_uses,
            days,
        },
        (Err(e), _) | (_, Err(e)) => return refused(&st, &v, e).await,
    };
    let (store, actor, now) = (st.store.clone(), v.account, st.now());
    let made =
        blocking(move || store.catalog_write(|c| invites::create(c, &input, actor, now))).await;
    match made {
        Ok(_) => Redirect::to("/console/signups?done=invite").into_response(),
        Err(e) => refused(&st, &v, e).await,
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    disabled: String,
}

pub async fn toggle_invite(
    State(st): State<Shared>,
    v: Viewer,
    Path(code): Path<String>,
    Form(f): Form<ToggleForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let (store, actor, now) = (st.store.clone(), v.account, st.now());
    let disabled = f.disabled == "1";
    let done = blocking(move || {
        store.catalog_write(|c| invites::set_disabled(c, &code, disabled, actor, now))
    })
    .await;
    match done {
        Ok(()) => Redirect::to("/console/signups?done=toggled").into_response(),
        Err(e) => refused(&st, &v, e).await,
    }
}
