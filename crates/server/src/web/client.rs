//! Who is asking. Owns the one answer to "which address did this request come from" — the
//! socket peer, or, only when that peer is a configured trusted proxy, the rightmost untrusted
//! address of `Forwarded` (RFC 7239) or `X-Forwarded-For` — and the key a client's quotas are
//! counted under (an enrolled hall terminal by its device, anyone else by address).
//! Forwarding headers from any other peer are ignored: they are whatever the sender typed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

use xiaowei_store::KioskTerminal;

use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::cookie;

/// A hall terminal's device cookie: holds its device token (only the keyed hash is stored).
pub const KIOSK_COOKIE: &str = "xw_kiosk";
const DEVICE_PURPOSE: &str = "kiosk_device";

/// The keyed hash of a terminal's device token, as stored.
pub fn device_hash(state: &AppState, token: &str) -> String {
    state.cipher().token_tag(DEVICE_PURPOSE, token)
}

/// The enrolled, unrevoked terminal whose device cookie the request carries.
pub async fn terminal_of(state: &AppState, headers: &HeaderMap) -> Result<Option<KioskTerminal>, AppError> {
    match cookie(headers, KIOSK_COOKIE) {
        Some(device) => Ok(state.store().find_kiosk_by_device(&device_hash(state, device)).await?),
        None => Ok(None),
    }
}

/// The client's address: `peer`, unless `peer` is trusted, in which case the forwarding chain
/// is walked from the right, past every trusted hop, to the first address that is not one. An
/// unreadable hop (`unknown`, an obfuscated name) stops the walk at the last trusted address.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut current = peer;
    for hop in forwarded_chain(headers).iter().rev() {
        let Some(ip) = hop else { return current };
        current = *ip;
        if !is_trusted(ip) {
            return current;
        }
    }
    current
}

/// IPv4 addresses reaching a dual-stack socket as `::ffff:a.b.c.d` are matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The forwarding chain, leftmost (the original client) first: from `Forwarded` when the
/// request has one, else from `X-Forwarded-For`. `None` marks a hop that is not an address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok()).collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(parse_node)
        .collect()
}

/// One node: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let inner = value.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok()
}

/// The client's address as text, for audit records, visit counting and quotas; `unknown` when
/// the server was not given the socket peer (never in `serve`).
pub fn client_ip(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> String {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(
        || "unknown".to_owned(),
        |c| canonical(client_address(c.0.ip(), headers, state.trusted_proxies())).to_string(),
    )
}

/// The key a public quota is counted under: `kiosk:<id>` for an enrolled, unrevoked hall
/// terminal (many villagers share one terminal, and terminals share the hall's address),
/// otherwise the client's address.
#[derive(Debug, Clone)]
pub struct QuotaKey(pub String);

impl FromRequestParts<AppState> for QuotaKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(terminal) = terminal_of(state, &parts.headers).await? {
            return Ok(Self(format!("kiosk:{}", terminal.id)));
        }
        Ok(Self(client_ip(state, &parts.extensions, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|_| panic!("{text}"))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn proxies() -> Vec<IpNet> {
        crate::config::parse_proxies(&["10.0.0.0/8".into(), "192.0.2.7".into(), "fd00::/8".into()]).unwrap_or_default()
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(client_address(ip("203.0.113.9"), &spoofed, &proxies()), ip("203.0.113.9"));
        assert_eq!(client_address(ip("203.0.113.9"), &spoofed, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_is_believed_and_the_rightmost_untrusted_hop_wins() {
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.1.2.3")]);
        assert_eq!(client_address(ip("192.0.2.7"), &chain, &proxies()), ip("198.51.100.4"));
        let split = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(client_address(ip("10.0.0.1"), &split, &proxies()), ip("198.51.100.4"));
    }

    #[test]
    fn forwarded_is_read_in_its_rfc_7239_forms_and_preferred() {
        let both = headers(&[
            ("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.2"),
            ("x-forwarded-for", "7.7.7.7"),
        ]);
        assert_eq!(client_address(ip("10.0.0.1"), &both, &proxies()), ip("2001:db8:cafe::17"));
        let port = headers(&[("forwarded", "for=198.51.100.4:5000;by=10.0.0.1")]);
        assert_eq!(client_address(ip("10.0.0.1"), &port, &proxies()), ip("198.51.100.4"));
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_last_trusted_address() {
        let unknown = headers(&[("forwarded", "for=198.51.100.4, for=unknown")]);
        assert_eq!(client_address(ip("10.0.0.1"), &unknown, &proxies()), ip("10.0.0.1"));
        let none = HeaderMap::new();
        assert_eq!(client_address(ip("10.0.0.1"), &none, &proxies()), ip("10.0.0.1"));
    }

    #[test]
    fn a_mapped_ipv4_peer_matches_an_ipv4_block() {
        let chain = headers(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(client_address(ip("::ffff:10.0.0.1"), &chain, &proxies()), ip("198.51.100.4"));
    }

    #[test]
    fn a_bad_proxy_entry_is_named() {
        let error = crate::config::parse_proxies(&["10.0.0.0/33".into()]).err().unwrap_or_default();
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert_eq!(crate::config::parse_proxies(&[" 127.0.0.1 ".into()]).map(|p| p.len()), Ok(1));
    }
}
