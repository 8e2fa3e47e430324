//! The command line's side of the admin socket: one JSON request, one JSON answer.

use std::path::Path;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No server runs on this data folder (no socket, or nobody listening).
    #[error("no server is running on {0}")]
    NotRunning(String),
    #[error("the server refused: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("talking to the server: {0}")]
    Io(String),
}

/// Sends `body` to `route` (e.g. `/v1/backups`) on the server running on `data`, and reads
/// its answer.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    data: &Path,
    route: &str,
    body: &B,
) -> Result<T, ClientError> {
    let sock = crate::http::admin_socket::path(data);
    let stream = match tokio::net::UnixStream::connect(&sock).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ClientError::NotRunning(data.display().to_string()));
        }
        Err(e) => return Err(ClientError::Io(format!("{}: {e}", sock.display()))),
    };
    let io = |e: &dyn std::fmt::Display| ClientError::Io(e.to_string());
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| io(&e))?;
    let driver = tokio::spawn(conn);
    let json = serde_json::to_vec(body).map_err(|e| io(&e))?;
    let req = hyper::Request::post(route)
        .header(hyper::header::HOST, "botyard")
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(json)))
        .map_err(|e| io(&e))?;
    let resp = send.send_request(req).await.map_err(|e| io(&e))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| io(&e))?
        .to_bytes();
    driver.abort();
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| io(&e));
    }
    let env: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let field = |k: &str| {
        env.pointer(&format!("/error/{k}"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    Err(ClientError::Refused {
        code: field("code"),
        message: match field("message") {
            m if m.is_empty() => status.to_string(),
            m => m,
        },
    })
}
