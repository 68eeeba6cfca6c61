//! The server side of the WebSocket opening handshake (RFC 6455 §4.2) on hyper's upgrade.
//! It hands the raw upgraded connection to the caller, so the caller owns the framing
//! ([`crate::ws_frame`]) and its buffers; axum's `WebSocket` would keep tungstenite's.

use std::future::Future;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};

/// What the upgraded connection is: hyper's upgraded IO, as tokio reads and writes it.
pub type UpgradedIo = TokioIo<hyper::upgrade::Upgraded>;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("`{0}` is missing or wrong for a WebSocket upgrade")]
    BadHeader(&'static str),
    #[error("only WebSocket version 13 is spoken")]
    Version,
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl IntoResponse for HandshakeError {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::BAD_REQUEST, self.to_string()).into_response();
        if self == HandshakeError::Version {
            *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
            response.headers_mut().insert("sec-websocket-version", HeaderValue::from_static("13"));
        }
        response
    }
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Checks the upgrade request and answers 101; once hyper has switched protocols, `serve`
/// runs on the connection in a task of its own.
pub fn accept<F, Fut>(mut request: axum::extract::Request, serve: F) -> Result<Response, HandshakeError>
where
    F: FnOnce(UpgradedIo) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let headers = request.headers();
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeError::BadHeader("Connection"));
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeError::BadHeader("Upgrade"));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(&b"13"[..]) {
        return Err(HandshakeError::Version);
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).filter(|k| (16..=64).contains(&k.len())).ok_or(HandshakeError::BadHeader("Sec-WebSocket-Key"))?;
    let accept = HeaderValue::from_str(&accept_key(key.as_bytes())).map_err(|_| HandshakeError::BadHeader("Sec-WebSocket-Key"))?;
    let on_upgrade = request.extensions_mut().remove::<OnUpgrade>().ok_or(HandshakeError::NotUpgradable)?;
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => serve(TokioIo::new(upgraded)).await,
            Err(e) => tracing::debug!(%e, "websocket upgrade failed"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = response.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_6455_accept_key() {
        assert_eq!(super::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
