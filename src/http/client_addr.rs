//! The client's address: the socket's, or, behind a trusted reverse proxy, the one the proxy
//! names in `Forwarded` (RFC 7239) or `X-Forwarded-For`. Headers from anyone else are ignored,
//! so a client cannot pick the address its failed logins count against.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client of a request that came from `peer` with `headers`.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    // From the nearest hop back: the first address that is not one of our proxies is the
    // client; an address that cannot be read ends the walk (the peer answers for it).
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return *ip,
            None => return peer,
        }
    }
    hops.first().copied().flatten().unwrap_or(peer)
}

/// The addresses a request passed, oldest first: `Forwarded`'s `for=` when present, else
/// `X-Forwarded-For`. `None` for an entry that is not an address (`unknown`, `_hidden`).
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .take(64)
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (k, v) = pair.trim().split_once('=')?;
                        k.eq_ignore_ascii_case("for").then(|| parse_node(v))
                    })
                    .flatten()
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .map(|v| parse_node(v))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:8080`, `"[2001:db8::1]:443"`, `2001:db8::1`.
fn parse_node(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    v.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.5")]);
        // From the proxy: the nearest address that is not ours.
        assert_eq!(
            client_addr(proxy, &xff, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // From anyone else: the header is the client's own claim, ignored.
        let stranger: IpAddr = "203.0.113.1".parse().unwrap();
        assert_eq!(client_addr(stranger, &xff, &trusted), stranger);
        assert_eq!(client_addr(proxy, &xff, &[]), proxy);
        // A client that forges a first hop does not get past the last untrusted one.
        let forged = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7")]);
        assert_eq!(
            client_addr(proxy, &forged, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(client_addr(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_says() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        let h = headers(&[(
            "forwarded",
            r#"for="[2001:db8:cafe::17]:4711";proto=https, for=127.0.0.3"#,
        )]);
        assert_eq!(
            client_addr(proxy, &h, &trusted),
            "2001:db8:cafe::17".parse::<IpAddr>().unwrap()
        );
        let port = headers(&[("forwarded", "for=192.0.2.60:8080;by=203.0.113.43")]);
        assert_eq!(
            client_addr(proxy, &port, &trusted),
            "192.0.2.60".parse::<IpAddr>().unwrap()
        );
        // An obfuscated hop ends the walk at the proxy.
        let hidden = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(client_addr(proxy, &hidden, &trusted), proxy);
    }
}
