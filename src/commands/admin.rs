//! `botyard admin reset-password | create`: through the running server's admin socket, or
//! on the store's files when the server is stopped.

use std::io::BufRead;

use crate::commands::admin_client::{self as client, ClientError};
use crate::config::{Config, Secret};
use crate::domain::admin_recovery::{self, NewPassword, Recovered};
use crate::http::admin_socket::RecoveryRequest;

/// What the command does.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    ResetPassword,
    Create,
}

impl Action {
    fn route(self) -> &'static str {
        match self {
            Action::ResetPassword => "/v1/admin/reset-password",
            Action::Create => "/v1/admin/create",
        }
    }
}

/// The password's first line on standard input (`--password-stdin`), so it is never in the
/// shell's history or the process list.
pub fn password_from(input: impl BufRead) -> Result<Secret, String> {
    let mut line = String::new();
    input
        .take(4096)
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    let pw = line.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(Secret::new(pw))
}

pub async fn run(
    config: &Config,
    action: Action,
    email: &str,
    password: Option<Secret>,
) -> Result<String, String> {
    let req = RecoveryRequest {
        email: email.to_string(),
        password: password.as_ref().map(|p| p.expose().to_string()),
    };
    let done: Recovered = match client::post(&config.data_dir, action.route(), &req).await {
        Ok(d) => d,
        Err(ClientError::NotRunning(_)) => {
            let config = config.clone();
            let email = email.to_string();
            tokio::task::spawn_blocking(move || offline(&config, action, &email, password))
                .await
                .map_err(|e| e.to_string())??
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(describe(action, &done))
}

/// The same on the store's files, the server stopped.
fn offline(
    config: &Config,
    action: Action,
    email: &str,
    password: Option<Secret>,
) -> Result<Recovered, String> {
    let (store, _keys) = super::open_store(config)?;
    let hash = |pw: &str| -> Result<String, String> {
        crate::security::passwords::check_policy("password", pw).map_err(|e| e.to_string())?;
        crate::security::passwords::hash_phc(pw.as_bytes()).map_err(|e| e.to_string())
    };
    let now = jiff::Timestamp::now().as_second();
    let base = config.base_url_bound(config.listen);
    let base = config.public_url.clone().unwrap_or(base);
    match action {
        Action::ResetPassword => {
            let how = match &password {
                Some(pw) => NewPassword::Hash(hash(pw.expose())?),
                None => NewPassword::Link,
            };
            admin_recovery::reset_password(&store, email, how, now, &base)
        }
        Action::Create => {
            let (h, with_link) = match &password {
                Some(pw) => (hash(pw.expose())?, false),
                None => (
                    crate::security::passwords::hash_phc(
                        crate::security::crypto::random_token().as_bytes(),
                    )
                    .map_err(|e| e.to_string())?,
                    true,
                ),
            };
            admin_recovery::create_admin(&store, email, h, with_link, now, &base)
        }
    }
    .map_err(|e| e.to_string())
}

fn describe(action: Action, d: &Recovered) -> String {
    let mut out = match action {
        Action::ResetPassword => format!(
            "{} ({}): every login ended ({}).\n",
            d.email,
            if d.is_admin { "admin" } else { "member" },
            d.logins_ended
        ),
        Action::Create => format!("admin {} created (account {}).\n", d.email, d.account),
    };
    match &d.link {
        Some(link) => out.push_str(&format!(
            "Open this one-time link within {} minutes to choose the password:\n  {link}\n",
            admin_recovery::LINK_MINUTES
        )),
        None => out.push_str("The new password is set; sign in with it.\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_first_line_without_its_end() {
        let pw = password_from(&b"s3cret pass\r\nsecond line\n"[..]).unwrap();
        assert_eq!(pw.expose(), "s3cret pass");
        assert!(password_from(&b"\n"[..]).is_err());
        assert!(password_from(&b""[..]).is_err());
    }
}
