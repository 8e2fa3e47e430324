//! The launch checklist (admins): what the appliance needs before it is sold, each with
//! whether it is done and a link to where it is set.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::admin_pages::admins_only;
use super::session::{Chrome, Viewer};
use super::{error_text, render};
use crate::domain::launch::{self, Need};
use crate::state::Shared;

struct Item {
    title: &'static str,
    help: &'static str,
    done: bool,
    fix: &'static str,
}

#[derive(Template)]
#[template(path = "console/launch.html")]
struct LaunchPage {
    c: Chrome,
    items: Vec<Item>,
    missing: usize,
}

/// A need's words in the catalogue and the page where it is set.
fn words(need: Need) -> (&'static str, &'static str, &'static str) {
    match need {
        Need::Https => ("launch.https", "launch.https_help", "/console/appliance"),
        Need::PlatformBot => (
            "launch.platform_bot",
            "launch.platform_bot_help",
            "/console/appliance",
        ),
        Need::TelegramApi => (
            "launch.telegram_api",
            "launch.telegram_api_help",
            "/console/appliance",
        ),
        Need::Mail => ("launch.mail", "launch.mail_help", "/console/mail"),
        Need::PricedPlan => ("launch.plans", "launch.plans_help", "/console/billing"),
        Need::Backups => ("launch.backups", "launch.backups_help", "/console/backups"),
        Need::Branding => (
            "launch.branding",
            "launch.branding_help",
            "/console/appliance",
        ),
    }
}

pub async fn show(State(st): State<Shared>, v: Viewer) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match launch::checklist(&st) {
        Ok(needs) => {
            let items: Vec<Item> = needs
                .into_iter()
                .map(|(need, done)| {
                    let (title, help, fix) = words(need);
                    Item {
                        title,
                        help,
                        done,
                        fix,
                    }
                })
                .collect();
            render(&LaunchPage {
                missing: items.iter().filter(|i| !i.done).count(),
                items,
                c: v.page("launch"),
            })
        }
        Err(e) => super::message(
            v.page("launch"),
            crate::http::error::status_of(&e),
            v.chrome.t.s("error.title"),
            &error_text(&v.chrome, &e),
            "/console",
        ),
    }
}
