//! User and bot sign-in: phone code, two-step password (SRP), QR login, bot token, and the
//! errors a login step reports.

use super::*;
use crate::worker::ipc::messages::LoginFailure;

/// Why a user login step failed, in the terms the API reports.
#[derive(Debug)]
pub enum LoginError {
    InvalidPhone,
    InvalidCode,
    CodeExpired,
    /// The account has a 2FA password; answer with it.
    PasswordRequired {
        token: grammers_client::client::PasswordToken,
        hint: Option<String>,
    },
    InvalidPassword {
        token: grammers_client::client::PasswordToken,
    },
    /// No Telegram account with this number: it must be made in an official app first.
    SignUpRequired,
    Port(PortError),
}

impl LoginError {
    /// Stable error code for the API.
    pub fn code(&self) -> LoginFailure {
        match self {
            LoginError::InvalidPhone => LoginFailure::InvalidPhone,
            LoginError::InvalidCode => LoginFailure::InvalidCode,
            LoginError::CodeExpired => LoginFailure::CodeExpired,
            // The password step comes as its own state; here it only ends the login.
            LoginError::PasswordRequired { .. } => LoginFailure::Failed,
            LoginError::InvalidPassword { .. } => LoginFailure::InvalidPassword,
            LoginError::SignUpRequired => LoginFailure::SignUpRequired,
            LoginError::Port(PortError::FloodWait(_)) => LoginFailure::FloodWait,
            LoginError::Port(_) => LoginFailure::Failed,
        }
    }
}

fn login_error(e: grammers_client::SignInError) -> LoginError {
    use grammers_client::SignInError as S;
    match e {
        S::SignUpRequired => LoginError::SignUpRequired,
        S::PasswordRequired(token) => LoginError::PasswordRequired {
            hint: token.hint().map(str::to_string),
            token,
        },
        S::InvalidCode => LoginError::InvalidCode,
        S::InvalidPassword(token) => LoginError::InvalidPassword { token },
        S::Other(InvocationError::Rpc(r)) if r.name == "PHONE_CODE_EXPIRED" => {
            LoginError::CodeExpired
        }
        S::Other(InvocationError::Rpc(r))
            if r.name == "PHONE_NUMBER_INVALID" || r.name == "PHONE_NUMBER_BANNED" =>
        {
            LoginError::InvalidPhone
        }
        S::Other(e) => LoginError::Port(map_error(e)),
    }
}

pub(super) fn me_of(user: &grammers_client::peer::User) -> Result<Me, PortError> {
    Ok(Me {
        user_id: user
            .id()
            .bare_id()
            .ok_or_else(|| PortError::Other("Telegram sent a user without an id".into()))?,
        username: user.username().map(str::to_string),
        is_bot: user.is_bot(),
    })
}

/// A phone login waiting for its code: which phone, and Telegram's hash for the code sent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeToken {
    pub phone: String,
    pub hash: String,
}

/// A QR login in progress: show `url` as a QR code until `expires` (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrCode {
    pub url: String,
    pub expires: i64,
}

#[derive(Debug)]
pub enum QrStep {
    /// Not scanned yet: (re)show this code.
    Show(QrCode),
    /// Scanned by an account with a 2FA password: answer with it.
    PasswordNeeded {
        token: grammers_client::client::PasswordToken,
        hint: Option<String>,
    },
    LoggedIn(Me),
}

impl Grammers {
    /// Runs a client call on its own task: the crate panics on some server answers (a
    /// payment-required sent code, a sign-up demand), and a panic must become an error.
    pub(super) async fn contained<T, Fut>(&self, fut: Fut) -> Result<T, PortError>
    where
        T: Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        match tokio::time::timeout(self.cfg.call_timeout, tokio::spawn(fut)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_panic() => Err(PortError::Other(
                "Telegram answered in a way this client cannot handle".into(),
            )),
            Ok(Err(e)) => Err(PortError::Other(e.to_string())),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// A call got no answer in time: the connection is presumed dead (grammers neither
    /// notices a missing pong nor times out), so drop it and let the next call reconnect.
    pub(super) fn timed_out(&self) -> PortError {
        let home = self.session.home_dc_id().unwrap_or(self.cfg.dc_id);
        self.handle.disconnect_from_dc(home);
        PortError::Network(format!(
            "no answer from Telegram within {} s",
            self.cfg.call_timeout.as_secs()
        ))
    }

    /// Phone login, step 1: Telegram sends a code to the account's apps or by SMS.
    pub async fn request_code(&self, phone: &str) -> Result<CodeToken, LoginError> {
        let req = tl::functions::auth::SendCode {
            phone_number: phone.to_string(),
            api_id: self.cfg.api_id,
            api_hash: self.cfg.api_hash.clone(),
            settings: tl::enums::CodeSettings::Settings(tl::types::CodeSettings {
                allow_flashcall: false,
                current_number: false,
                allow_app_hash: false,
                allow_missed_call: false,
                allow_firebase: false,
                unknown_number: false,
                logout_tokens: None,
                token: None,
                app_sandbox: None,
            }),
        };
        let client = self.client.clone();
        let again = req.clone();
        let mut answer = self
            .contained(async move { client.invoke(&req).await })
            .await;
        // The number's account lives on another datacenter: the login continues there.
        if let Ok(Err(e)) = &answer
            && let Some(dc) = migrate_target(e)
        {
            let dc = dc.map_err(LoginError::Port)?;
            self.move_home(dc).await.map_err(LoginError::Port)?;
            let client = self.client.clone();
            answer = self
                .contained(async move { client.invoke(&again).await })
                .await;
        }
        match answer {
            Ok(Ok(tl::enums::auth::SentCode::Code(c))) => Ok(CodeToken {
                phone: phone.to_string(),
                hash: c.phone_code_hash,
            }),
            Ok(Ok(_)) => Err(LoginError::Port(PortError::Other(
                "Telegram answered the code request in a way this client cannot handle".into(),
            ))),
            Ok(Err(InvocationError::Rpc(r))) if r.name.starts_with("PHONE_NUMBER") => {
                Err(LoginError::InvalidPhone)
            }
            Ok(Err(e)) => Err(LoginError::Port(self.revoked_if_key_replaced(map_error(e)))),
            Err(e) => Err(LoginError::Port(e)),
        }
    }

    /// Phone login, step 2: the code. A 2FA account answers `PasswordRequired`.
    pub async fn submit_code(&self, token: &CodeToken, code: &str) -> Result<Me, LoginError> {
        let req = tl::functions::auth::SignIn {
            phone_number: token.phone.clone(),
            phone_code_hash: token.hash.clone(),
            phone_code: Some(code.to_string()),
            email_verification: None,
        };
        let client = self.client.clone();
        match self
            .contained(async move { client.invoke(&req).await })
            .await
        {
            Ok(Ok(tl::enums::auth::Authorization::Authorization(a))) => {
                me_from_user(a.user).map_err(LoginError::Port)
            }
            Ok(Ok(tl::enums::auth::Authorization::SignUpRequired(_))) => {
                Err(LoginError::SignUpRequired)
            }
            Ok(Err(InvocationError::Rpc(r))) if r.name == "SESSION_PASSWORD_NEEDED" => {
                let client = self.client.clone();
                match self
                    .contained(async move {
                        client.invoke(&tl::functions::account::GetPassword {}).await
                    })
                    .await
                {
                    Ok(Ok(tl::enums::account::Password::Password(p))) => {
                        let token = grammers_client::client::PasswordToken::new(p);
                        Err(LoginError::PasswordRequired {
                            hint: token.hint().map(str::to_string),
                            token,
                        })
                    }
                    Ok(Err(e)) => Err(LoginError::Port(map_error(e))),
                    Err(e) => Err(LoginError::Port(e)),
                }
            }
            Ok(Err(InvocationError::Rpc(r))) if r.name == "PHONE_CODE_EXPIRED" => {
                Err(LoginError::CodeExpired)
            }
            Ok(Err(InvocationError::Rpc(r))) if r.name.starts_with("PHONE_CODE") => {
                Err(LoginError::InvalidCode)
            }
            Ok(Err(e)) => Err(LoginError::Port(map_error(e))),
            Err(e) => Err(LoginError::Port(e)),
        }
    }

    /// A fresh 2FA challenge (each password attempt needs its own).
    pub async fn password_token(
        &self,
    ) -> Result<grammers_client::client::PasswordToken, PortError> {
        match self
            .call(|| self.client.invoke(&tl::functions::account::GetPassword {}))
            .await?
        {
            tl::enums::account::Password::Password(p) => {
                Ok(grammers_client::client::PasswordToken::new(p))
            }
        }
    }

    /// Phone login, step 3: the 2FA password (checked with SRP; it never leaves as text).
    pub async fn submit_password(
        &self,
        token: grammers_client::client::PasswordToken,
        password: &str,
    ) -> Result<Me, LoginError> {
        let (client, password) = (self.client.clone(), password.to_string());
        match self
            .contained(async move { client.check_password(token, password.as_bytes()).await })
            .await
        {
            Ok(Ok(user)) => me_of(&user).map_err(LoginError::Port),
            Ok(Err(e)) => Err(login_error(e)),
            Err(e) => Err(LoginError::Port(e)),
        }
    }

    /// QR login: exports a login token (a `tg://login` URL to show as a QR code), or, once
    /// the code was scanned, completes the login. Call again when the code expires or when
    /// Telegram says it was scanned.
    pub async fn qr_step(&self) -> Result<QrStep, PortError> {
        let req = tl::functions::auth::ExportLoginToken {
            api_id: self.cfg.api_id,
            api_hash: self.cfg.api_hash.clone(),
            except_ids: Vec::new(),
        };
        let mut token = match self.call(|| self.client.invoke(&req)).await {
            Err(PortError::PasswordNeeded) => return self.qr_password().await,
            other => other?,
        };
        // The account lives on another datacenter: finish the login there with the token.
        if let tl::enums::auth::LoginToken::MigrateTo(m) = token {
            self.move_home(m.dc_id).await?;
            let import = tl::functions::auth::ImportLoginToken { token: m.token };
            token = match self.call(|| self.client.invoke(&import)).await {
                Err(PortError::PasswordNeeded) => return self.qr_password().await,
                other => other?,
            };
        }
        match token {
            tl::enums::auth::LoginToken::Token(t) => {
                use base64::Engine;
                Ok(QrStep::Show(QrCode {
                    url: format!(
                        "tg://login?token={}",
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&t.token)
                    ),
                    expires: i64::from(t.expires),
                }))
            }
            tl::enums::auth::LoginToken::Success(s) => match s.authorization {
                tl::enums::auth::Authorization::Authorization(a) => {
                    me_from_user(a.user).map(QrStep::LoggedIn)
                }
                tl::enums::auth::Authorization::SignUpRequired(_) => Err(PortError::Rejected(
                    "this account must be created in an official Telegram app first".into(),
                )),
            },
            tl::enums::auth::LoginToken::MigrateTo(m) => Err(PortError::Other(format!(
                "Telegram moved the login twice (to datacenter {})",
                m.dc_id
            ))),
        }
    }

    /// Signs in with a bot token, following Telegram to the bot's own datacenter.
    pub(super) async fn bot_sign_in(&self, token: &str) -> Result<Me, PortError> {
        let req = tl::functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: self.cfg.api_id,
            api_hash: self.cfg.api_hash.clone(),
            bot_auth_token: token.to_string(),
        };
        match self.call(|| self.client.invoke(&req)).await? {
            tl::enums::auth::Authorization::Authorization(a) => me_from_user(a.user),
            tl::enums::auth::Authorization::SignUpRequired(_) => {
                Err(PortError::Other("Telegram asked a bot to sign up".into()))
            }
        }
    }

    pub(super) async fn qr_password(&self) -> Result<QrStep, PortError> {
        let token = self.password_token().await?;
        Ok(QrStep::PasswordNeeded {
            hint: token.hint().map(str::to_string),
            token,
        })
    }

    /// Waits for Telegram to say the QR code was scanned (`updateLoginToken`), at most `wait`.
    pub async fn qr_scanned(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        let Some(updates) = self.raw_updates.as_mut() else {
            return false;
        };
        loop {
            let next = tokio::time::timeout_at(deadline, updates.recv()).await;
            match next {
                Ok(Some(UpdatesLike::Updates(tl::enums::Updates::UpdateShort(u))))
                    if matches!(u.update, tl::enums::Update::LoginToken) =>
                {
                    return true;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return false,
            }
        }
    }
}
