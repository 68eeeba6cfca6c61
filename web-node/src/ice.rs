//! ICE servers for the page's WebRTC (W3C WebRTC §4.2.4 `RTCIceServer`): what the relay's
//! `GET /api/ice` answers, what the user adds in settings, merged into one bounded list.
//! Pure; the browser driver hands the list to every `RTCPeerConnection`.

use serde::{Deserialize, Serialize};

/// At most this many servers reach a peer connection (browsers slow down gathering with
/// many; Firefox warns past 5).
pub const MAX_SERVERS: usize = 8;
/// Longest URL, username or credential accepted.
pub const MAX_FIELD_BYTES: usize = 512;
/// Largest `/api/ice` body parsed.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;

/// One `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The relay's `GET /api/ice` body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IceConfig {
    pub ice_servers: Vec<IceServer>,
    /// Seconds the TURN credential lives.
    pub ttl: u64,
    /// Unix seconds the TURN credential expires (absent without TURN).
    #[serde(default)]
    pub expires: Option<u64>,
}

/// Why ICE servers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    #[error("the relay's ICE configuration is not valid JSON: {0}")]
    Json(String),
    #[error("the relay's ICE configuration is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge,
    #[error("line {line}: {url:?} is not a stun:, stuns:, turn: or turns: URL")]
    Scheme { line: usize, url: String },
    #[error("line {line}: a TURN server needs a username and a password (turn:HOST:PORT USER PASSWORD)")]
    TurnWithoutCredential { line: usize },
    #[error("line {line}: too long (at most {MAX_FIELD_BYTES} bytes a field)")]
    TooLong { line: usize },
    #[error("line {line}: expected URL [USERNAME PASSWORD]")]
    Shape { line: usize },
}

fn scheme_ok(url: &str) -> bool {
    ["stun:", "stuns:", "turn:", "turns:"].iter().any(|s| url.len() > s.len() && url.get(..s.len()).is_some_and(|head| head.eq_ignore_ascii_case(s)))
}

fn is_turn(url: &str) -> bool {
    url.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("turn"))
}

impl IceServer {
    fn valid(&self) -> bool {
        !self.urls.is_empty()
            && self.urls.len() <= 4
            && self.urls.iter().all(|u| u.len() <= MAX_FIELD_BYTES && scheme_ok(u))
            && [&self.username, &self.credential].iter().all(|f| f.as_ref().is_none_or(|f| f.len() <= MAX_FIELD_BYTES))
            && (!self.urls.iter().any(|u| is_turn(u)) || (self.username.is_some() && self.credential.is_some()))
    }
}

impl IceConfig {
    /// Parses `/api/ice`, keeping only well-formed servers (a browser rejects the whole
    /// configuration when one URL is bad, so a bad entry must not cost the good ones).
    pub fn from_json(body: &[u8]) -> Result<Self, IceError> {
        if body.len() > MAX_CONFIG_BYTES {
            return Err(IceError::TooLarge);
        }
        let mut config: IceConfig = serde_json::from_slice(body).map_err(|e| IceError::Json(e.to_string()))?;
        config.ice_servers.retain(IceServer::valid);
        config.ice_servers.truncate(MAX_SERVERS);
        Ok(config)
    }

    /// Seconds from `now` (Unix seconds) until these credentials should be fetched again:
    /// halfway to expiry, at least a minute, at most an hour.
    pub fn refresh_in(&self, now: u64) -> u64 {
        let left = self.expires.map_or(self.ttl, |e| e.saturating_sub(now));
        (left / 2).clamp(60, 3600)
    }
}

/// The user's own servers, one a line: `URL [USERNAME PASSWORD]` (`#` starts a comment;
/// blank lines skipped). TURN URLs need the username and password.
pub fn parse_user_servers(text: &str) -> Result<Vec<IceServer>, IceError> {
    let mut servers = vec![];
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> = content.split_whitespace().collect();
        if fields.iter().any(|f| f.len() > MAX_FIELD_BYTES) {
            return Err(IceError::TooLong { line });
        }
        let server = match fields.as_slice() {
            [url] => IceServer { urls: vec![url.to_string()], username: None, credential: None },
            [url, user, pass] => IceServer { urls: vec![url.to_string()], username: Some(user.to_string()), credential: Some(pass.to_string()) },
            _ => return Err(IceError::Shape { line }),
        };
        if !scheme_ok(&server.urls[0]) {
            return Err(IceError::Scheme { line, url: server.urls[0].clone() });
        }
        if is_turn(&server.urls[0]) && server.username.is_none() {
            return Err(IceError::TurnWithoutCredential { line });
        }
        servers.push(server);
    }
    Ok(servers)
}

/// The list a peer connection gets: the relay's servers, then the user's, at most [`MAX_SERVERS`].
pub fn merge(relay: &[IceServer], user: &[IceServer]) -> Vec<IceServer> {
    relay.iter().chain(user).take(MAX_SERVERS).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_relays_answer_and_drops_bad_entries() {
        let body = br#"{"ice_servers":[
            {"urls":["stun:198.18.0.1:3478"]},
            {"urls":["turn:198.18.0.1:3478?transport=udp"],"username":"1700003600:page","credential":"pw"},
            {"urls":["turn:198.18.0.1:3478"]},
            {"urls":["http://example.org"]},
            {"urls":[]}
        ],"ttl":3600,"expires":1700003600}"#;
        let c = IceConfig::from_json(body).unwrap();
        assert_eq!(c.ice_servers.len(), 2);
        assert_eq!(c.ice_servers[1].username.as_deref(), Some("1700003600:page"));
        assert_eq!(c.refresh_in(1_700_000_000), 1800);
        assert_eq!(c.refresh_in(1_700_003_590), 60);
        assert!(matches!(IceConfig::from_json(b"{"), Err(IceError::Json(_))));
        assert_eq!(IceConfig::from_json(&vec![b' '; MAX_CONFIG_BYTES + 1]), Err(IceError::TooLarge));
    }

    #[test]
    fn user_lines() {
        let s = parse_user_servers("# mine\nstun:stun.example.org:3478\n\n turn:t.example.org:3478?transport=udp alice secret # work\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].credential.as_deref(), Some("secret"));
        assert_eq!(parse_user_servers("turn:x:1"), Err(IceError::TurnWithoutCredential { line: 1 }));
        assert_eq!(parse_user_servers("\nhttps://x"), Err(IceError::Scheme { line: 2, url: "https://x".into() }));
        assert_eq!(parse_user_servers("stun:x a"), Err(IceError::Shape { line: 1 }));
        assert_eq!(merge(&s, &s).len(), 4);
        assert_eq!(merge(&vec![s[0].clone(); 10], &s).len(), MAX_SERVERS);
    }

    proptest! {
        #[test]
        fn parsers_never_panic_and_keep_only_valid_servers(text in ".{0,400}", body in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(servers) = parse_user_servers(&text) {
                prop_assert!(servers.iter().all(IceServer::valid));
            }
            if let Ok(c) = IceConfig::from_json(&body) {
                prop_assert!(c.ice_servers.len() <= MAX_SERVERS && c.ice_servers.iter().all(IceServer::valid));
            }
        }

        #[test]
        fn well_formed_servers_round_trip(host in "[a-z0-9.]{1,30}", port in 1u16.., user in "[A-Za-z0-9:]{1,20}", pass in "[A-Za-z0-9+/=]{1,30}") {
            let text = format!("stun:{host}:{port}\nturn:{host}:{port} {user} {pass}\n");
            let s = parse_user_servers(&text).unwrap();
            prop_assert_eq!(s.len(), 2);
            let json = serde_json::to_vec(&serde_json::json!({ "ice_servers": s, "ttl": 60 })).unwrap();
            prop_assert_eq!(IceConfig::from_json(&json).unwrap().ice_servers, s);
        }
    }
}
