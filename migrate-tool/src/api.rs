//! The appliance's HTTP API, as an admin.

use reqwest::Method;
use serde_json::Value;

use crate::MigrateError;

pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// `server` is the appliance's base URL over plain HTTP: run the tool on the server
    /// against its local listener (or through an SSH tunnel).
    pub fn new(server: &str, token: &str) -> Result<Api, MigrateError> {
        let base = server.trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            return Err(MigrateError::Input(format!(
                "{server}: give the appliance's local address, http://127.0.0.1:PORT (run the tool on the server, or through an SSH tunnel)"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| MigrateError::Input(e.to_string()))?;
        Ok(Api {
            base,
            token: token.to_string(),
            http,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, MigrateError> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, MigrateError> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Value, MigrateError> {
        self.send(Method::PUT, path, Some(body)).await
    }

    /// Posts `body` and hands back the answer to read as a stream (the export).
    pub async fn stream(&self, path: &str, body: Value) -> Result<reqwest::Response, MigrateError> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| MigrateError::Unreachable(format!("{path}: {e}")))?;
        if r.status().is_success() {
            return Ok(r);
        }
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        Err(refusal(status, &text))
    }

    /// Sends raw bytes (a session file).
    pub async fn post_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<Value, MigrateError> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(bytes);
        answer(path, req.send().await).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, MigrateError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(path, req.send().await).await
    }
}

async fn answer(
    path: &str,
    r: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, MigrateError> {
    let r = r.map_err(|e| MigrateError::Unreachable(format!("{path}: {e}")))?;
    let status = r.status().as_u16();
    let text = r
        .text()
        .await
        .map_err(|e| MigrateError::Unreachable(format!("{path}: {e}")))?;
    if (200..300).contains(&status) {
        return Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        });
    }
    Err(refusal(status, &text))
}

/// The appliance's error envelope as an error.
fn refusal(status: u16, text: &str) -> MigrateError {
    let json: Value = serde_json::from_str(text).unwrap_or(Value::String(text.to_string()));
    MigrateError::Api {
        status,
        code: json["error"]["code"].as_str().unwrap_or("").to_string(),
        message: json["error"]["message"]
            .as_str()
            .map_or_else(|| json.to_string(), str::to_string),
    }
}
