//! TURN REST credentials (pure): short-lived TURN usernames and passwords a relay hands to
//! the pages it serves, checked by its TURN server without any per-user state.
//!
//! The convention is draft-uberti-behave-turn-rest-00 §2.2 (what coturn's
//! `use-auth-secret`, Pion and webrtc-rs implement): the username is
//! `EXPIRY:TAG` (EXPIRY in Unix seconds), the password is
//! `base64(HMAC-SHA1(secret, username))`; the TURN server derives the RFC 8489 §9.2.2
//! long-term key `MD5(username ":" realm ":" password)` from it.

use base64::Engine;
use hmac::{KeyInit, Mac};
use sha1::Sha1;

/// Longest username accepted (TURN allows 513 bytes; ours are `EXPIRY:TAG`, far shorter).
pub const MAX_USERNAME_BYTES: usize = 128;

/// A credential as handed to a page: RTCIceServer's `username` and `credential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
    /// Unix seconds after which the TURN server refuses it.
    pub expires: u64,
}

/// Why a TURN username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("the TURN username is not EXPIRY:TAG")]
    Malformed,
    #[error("the TURN credential expired at {expired} (now {now})")]
    Expired { expired: u64, now: u64 },
    #[error("the TURN credential claims to expire at {expires}, beyond the longest lifetime this relay issues")]
    TooLong { expires: u64 },
}

/// Issues and checks credentials under one shared secret.
#[derive(Clone)]
pub struct CredentialIssuer {
    secret: Vec<u8>,
    /// Seconds a credential lives.
    ttl: u64,
}

impl std::fmt::Debug for CredentialIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialIssuer").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl CredentialIssuer {
    /// `secret`: the shared secret (any bytes); `ttl`: seconds each credential lives (≥ 1).
    pub fn new(secret: impl Into<Vec<u8>>, ttl: u64) -> Self {
        Self { secret: secret.into(), ttl: ttl.max(1) }
    }

    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// A credential valid from `now` (Unix seconds) for the issuer's TTL. `tag` says whom it
    /// was issued to (it shows in the TURN server's logs); characters other than ASCII
    /// alphanumerics, `-` and `.` are dropped, and it is cut to 64 bytes.
    pub fn issue(&self, tag: &str, now: u64) -> Credential {
        let tag: String = tag.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.').take(64).collect();
        let expires = now.saturating_add(self.ttl);
        let username = format!("{expires}:{tag}");
        let password = self.password(&username);
        Credential { username, password, expires }
    }

    /// The password for `username`: base64(HMAC-SHA1(secret, username)).
    pub fn password(&self, username: &str) -> String {
        let mut mac = <hmac::Hmac<Sha1> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(username.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// The password for `username` if it is one of ours and still valid at `now`. A
    /// username claiming a lifetime longer than the TTL (plus a minute of clock skew) is
    /// refused, so a forged far-future expiry cannot be made valid by guessing.
    pub fn check(&self, username: &str, now: u64) -> Result<String, CredentialError> {
        if username.len() > MAX_USERNAME_BYTES {
            return Err(CredentialError::Malformed);
        }
        let (expiry, _tag) = username.split_once(':').ok_or(CredentialError::Malformed)?;
        if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialError::Malformed);
        }
        let expires: u64 = expiry.parse().map_err(|_| CredentialError::Malformed)?;
        if expires < now {
            return Err(CredentialError::Expired { expired: expires, now });
        }
        if expires > now.saturating_add(self.ttl).saturating_add(60) {
            return Err(CredentialError::TooLong { expires });
        }
        Ok(self.password(username))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_the_turn_rest_example() {
        // coturn's turnutils / the draft's construction, computed independently with
        // `printf %s 1700000600:page | openssl dgst -sha1 -hmac secret -binary | base64`.
        let issuer = CredentialIssuer::new(b"secret".to_vec(), 600);
        let c = issuer.issue("page", 1_700_000_000);
        assert_eq!(c.username, "1700000600:page");
        assert_eq!(c.expires, 1_700_000_600);
        assert_eq!(c.password, "Sfm03yD6/7BgtysfN/OMbFcHCks=");
        assert_eq!(issuer.check(&c.username, 1_700_000_000).unwrap(), c.password);
    }

    #[test]
    fn refuses_expired_malformed_and_overlong_names() {
        let issuer = CredentialIssuer::new(b"k".to_vec(), 600);
        let c = issuer.issue("x", 1000);
        assert_eq!(issuer.check(&c.username, 1601), Err(CredentialError::Expired { expired: 1600, now: 1601 }));
        for bad in ["", "1600", ":x", "abc:x", "-5:x", "+1600:x", "1600 :x"] {
            assert_eq!(issuer.check(bad, 1000), Err(CredentialError::Malformed), "{bad:?}");
        }
        assert_eq!(issuer.check("99999999999:x", 1000), Err(CredentialError::TooLong { expires: 99_999_999_999 }));
        assert_eq!(issuer.check(&format!("1600:{}", "a".repeat(200)), 1000), Err(CredentialError::Malformed));
    }

    #[test]
    fn tags_are_cleaned() {
        let c = CredentialIssuer::new(b"k".to_vec(), 10).issue("a b:c/ü-1.2", 0);
        assert_eq!(c.username, "10:abc-1.2");
    }

    proptest! {
        #[test]
        fn what_is_issued_checks_until_it_expires(secret in proptest::collection::vec(any::<u8>(), 0..64), tag in ".{0,80}", now in 0u64..4_000_000_000, ttl in 1u64..100_000, later in 0u64..200_000) {
            let issuer = CredentialIssuer::new(secret, ttl);
            let c = issuer.issue(&tag, now);
            let checked = issuer.check(&c.username, now + later);
            if later <= ttl {
                prop_assert_eq!(checked, Ok(c.password));
            } else {
                let is_expired = matches!(checked, Err(CredentialError::Expired { .. }));
                prop_assert!(is_expired);
            }
        }

        #[test]
        fn another_secret_gives_another_password(a in proptest::collection::vec(any::<u8>(), 1..32), b in proptest::collection::vec(any::<u8>(), 1..32)) {
            prop_assume!(a != b);
            let name = "1700000600:page";
            prop_assert_ne!(CredentialIssuer::new(a, 600).password(name), CredentialIssuer::new(b, 600).password(name));
        }

        #[test]
        fn check_never_panics(name in ".{0,300}", now in any::<u64>()) {
            let _ = CredentialIssuer::new(b"k".to_vec(), 600).check(&name, now);
        }
    }
}
