//! `botyard healthcheck`: exit 0 when the local server answers `/healthz` with 200.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Asks `GET /healthz` on `addr`; true on a 200 within `timeout`.
pub async fn check(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut buf = Vec::with_capacity(512);
        s.take(4096)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| format!("cannot read: {e}"))?;
        let head = String::from_utf8_lossy(&buf);
        let status = head.split_whitespace().nth(1).unwrap_or("");
        if status == "200" {
            Ok(())
        } else {
            Err(format!("/healthz answered {status:?}"))
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| format!("no answer from {addr} within {timeout:?}"))?
}

/// The address to probe for a configured listen address (`0.0.0.0` → loopback).
pub fn probe_addr(listen: SocketAddr) -> SocketAddr {
    let mut a = listen;
    if a.ip().is_unspecified() {
        a.set_ip(if a.is_ipv6() {
            std::net::Ipv6Addr::LOCALHOST.into()
        } else {
            std::net::Ipv4Addr::LOCALHOST.into()
        });
    }
    a
}
