//! A small SOCKS5 proxy for tests (RFC 1928 CONNECT with IPv4/IPv6 targets, no-auth or
//! username/password per RFC 1929). It records where clients asked to go.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Socks5 {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Socks5 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Socks5 {
    /// Listens on 127.0.0.1; with `auth`, only that username and password get through.
    pub async fn start(auth: Option<(&str, &str)>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let targets = Arc::new(Mutex::new(Vec::new()));
        let auth = auth.map(|(u, p)| (u.to_string(), p.to_string()));
        let t = targets.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let (t, auth) = (t.clone(), auth.clone());
                tokio::spawn(async move {
                    let _ = serve(s, auth, t).await;
                });
            }
        });
        Ok(Socks5 {
            addr,
            targets,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where clients connected through the proxy.
    pub fn targets(&self) -> Vec<SocketAddr> {
        self.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

async fn serve(
    mut s: TcpStream,
    auth: Option<(String, String)>,
    targets: Arc<Mutex<Vec<SocketAddr>>>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut methods).await?;
    match &auth {
        None => s.write_all(&[5, 0]).await?,
        Some((user, pass)) => {
            s.write_all(&[5, 2]).await?;
            let mut v = [0u8; 2];
            s.read_exact(&mut v).await?;
            let mut u = vec![0u8; usize::from(v[1])];
            s.read_exact(&mut u).await?;
            let mut pl = [0u8; 1];
            s.read_exact(&mut pl).await?;
            let mut p = vec![0u8; usize::from(pl[0])];
            s.read_exact(&mut p).await?;
            if u != user.as_bytes() || p != pass.as_bytes() {
                s.write_all(&[1, 1]).await?;
                return Ok(());
            }
            s.write_all(&[1, 0]).await?;
        }
    }
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await?;
    let ip = match req[3] {
        1 => {
            let mut b = [0u8; 4];
            s.read_exact(&mut b).await?;
            IpAddr::V4(Ipv4Addr::from(b))
        }
        4 => {
            let mut b = [0u8; 16];
            s.read_exact(&mut b).await?;
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => {
            s.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await?;
    let target = SocketAddr::new(ip, u16::from_be_bytes(port));
    targets
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(target);
    let mut upstream = match TcpStream::connect(target).await {
        Ok(u) => u,
        Err(_) => {
            s.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    s.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut s, &mut upstream).await?;
    Ok(())
}
