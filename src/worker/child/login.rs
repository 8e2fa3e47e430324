//! A user-account login driven inside the worker: phone, code and 2FA password, or QR.

use super::*;

/// One user-account login: phone → code → optional 2FA password, or QR. It lives as long as
/// this worker; the account's new key goes to the supervisor in `Done`.
pub(super) async fn login_task(
    login: u64,
    app: Option<crate::worker::ipc::messages::TelegramApp>,
    out: mpsc::Sender<FromWorker>,
    mut steps: mpsc::Receiver<LoginStep>,
) {
    use crate::worker::telegram::grammers::{LoginError, QrStep};
    let say = |state| FromWorker::Login { login, state };
    let failed = |code: LoginFailure, message: String| FromWorker::Login {
        login,
        state: LoginState::Failed { code, message },
    };
    let Some(app) = app else {
        let _ = out
            .send(failed(
                LoginFailure::NotConfigured,
                "the reseller has not configured telegram.api_id and telegram.api_hash".into(),
            ))
            .await;
        return;
    };
    let Some(addr) = crate::worker::telegram::grammers::v4(app.dc_addr) else {
        let _ = out
            .send(failed(
                LoginFailure::Failed,
                "telegram.dc is not an IPv4 address".into(),
            ))
            .await;
        return;
    };
    let seed = seed_key(&app);
    let mut g = Grammers::new(GrammersConfig {
        api_id: app.api_id,
        api_hash: app.api_hash.clone(),
        dc_id: app.dc_id,
        addr,
        auth_key: seed,
        bot_token: None,
        call_timeout: CALL_TIMEOUT,
        flood_sleep_max: app.flood_sleep_max_secs,
        markup: Markup::Plain,
        proxy: app.proxy.as_ref().map(|p| p.to_string()),
        resume: None,
        seed_key: seed,
    });
    let done = |g: &Grammers, me: crate::worker::telegram::Me| match g.location() {
        Some((dc_id, addr, key)) => say(LoginState::Done {
            me,
            dc_id,
            addr,
            auth_key: zeroize::Zeroizing::new(key.to_vec()),
        }),
        None => failed(
            LoginFailure::Failed,
            "the session has no key after logging in".into(),
        ),
    };
    let describe = |e: &LoginError| -> (LoginFailure, String) {
        let message = match e {
            LoginError::InvalidPhone => "Telegram does not know this phone number".into(),
            LoginError::InvalidCode => "the code is wrong; try again".into(),
            LoginError::CodeExpired => "the code expired; ask for a new one".into(),
            LoginError::PasswordRequired { .. } => "the account has a 2FA password".into(),
            LoginError::InvalidPassword { .. } => "the password is wrong; try again".into(),
            LoginError::SignUpRequired => {
                "no Telegram account uses this number; create it in an official app first".into()
            }
            LoginError::Port(p) => p.to_string(),
        };
        (e.code(), message)
    };
    let mut code_token = None;
    let mut password_token = None;
    // Either login way reached the password step (a retry needs a fresh challenge).
    let mut asked_password = false;
    while let Some(step) = steps.recv().await {
        let _ = out.send(say(LoginState::Working)).await;
        match step {
            LoginStep::StartPhone { phone } => match g.request_code(&phone).await {
                Ok(t) => {
                    code_token = Some(t);
                    let _ = out.send(say(LoginState::CodeSent)).await;
                }
                Err(e) => {
                    let (c, m) = describe(&e);
                    let _ = out.send(failed(c, m)).await;
                }
            },
            LoginStep::Code { code } => {
                let Some(t) = &code_token else {
                    let _ = out
                        .send(failed(LoginFailure::Order, "ask for a code first".into()))
                        .await;
                    continue;
                };
                match g.submit_code(t, &code).await {
                    Ok(me) => {
                        let _ = out.send(done(&g, me)).await;
                        return;
                    }
                    Err(LoginError::PasswordRequired { token, hint }) => {
                        password_token = Some(token);
                        asked_password = true;
                        let _ = out.send(say(LoginState::PasswordNeeded { hint })).await;
                    }
                    Err(e) => {
                        let (c, m) = describe(&e);
                        let _ = out.send(failed(c, m)).await;
                    }
                }
            }
            LoginStep::Password { password } => {
                let token = match password_token.take() {
                    Some(t) => t,
                    None if asked_password => match g.password_token().await {
                        Ok(t) => t,
                        Err(e) => {
                            let _ = out.send(failed(LoginFailure::Failed, e.to_string())).await;
                            continue;
                        }
                    },
                    None => {
                        let _ = out
                            .send(failed(LoginFailure::Order, "send the code first".into()))
                            .await;
                        continue;
                    }
                };
                match g.submit_password(token, &password).await {
                    Ok(me) => {
                        let _ = out.send(done(&g, me)).await;
                        return;
                    }
                    Err(e) => {
                        // The next attempt fetches a fresh challenge.
                        let (c, m) = describe(&e);
                        let _ = out.send(failed(c, m)).await;
                    }
                }
            }
            LoginStep::StartQr => loop {
                match g.qr_step().await {
                    Ok(QrStep::Show(code)) => {
                        let _ = out
                            .send(say(LoginState::Qr {
                                url: code.url,
                                expires: code.expires,
                            }))
                            .await;
                        let left =
                            (code.expires - jiff::Timestamp::now().as_second()).clamp(1, 120);
                        tokio::select! {
                            _ = g.qr_scanned(Duration::from_secs(left as u64)) => {}
                            step = steps.recv() => match step {
                                Some(LoginStep::Cancel) | None => return,
                                Some(_) => {}
                            }
                        }
                    }
                    Ok(QrStep::PasswordNeeded { token, hint }) => {
                        password_token = Some(token);
                        asked_password = true;
                        let _ = out.send(say(LoginState::PasswordNeeded { hint })).await;
                        break;
                    }
                    Ok(QrStep::LoggedIn(me)) => {
                        let _ = out.send(done(&g, me)).await;
                        return;
                    }
                    Err(e) => {
                        let _ = out.send(failed(LoginFailure::Failed, e.to_string())).await;
                        return;
                    }
                }
            },
            LoginStep::Cancel => return,
        }
    }
}
