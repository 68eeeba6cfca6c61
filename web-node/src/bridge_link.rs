//! The page ↔ relay bridge link (`ws(s)://relay/bridge/{infohash}`): how the relay says
//! "no" and how the page reads it, defined once for both sides.
//!
//! The link carries the BitTorrent peer wire in binary frames. A relay that will not take a
//! page (too many files bridged, no disk room left for this file, too many pages on it)
//! closes the WebSocket with [`REFUSED_CLOSE_CODE`] and a reason of at most
//! [`MAX_REASON_BYTES`]; the page shows that reason with the transfer ([`refusal`]) and
//! retries after its usual backoff, since the relay's room may come back.

/// RFC 6455 close code 1013, "try again later": the relay refused the page, for a reason.
pub const REFUSED_CLOSE_CODE: u16 = 1013;
/// A WebSocket close reason holds at most 123 bytes of UTF-8.
pub const MAX_REASON_BYTES: usize = 123;

/// What a page shows for its bridge link closing with `code` and `reason`: the relay's
/// refusal, or `None` for any other close (the relay went away, the network dropped).
pub fn refusal(code: u16, reason: &str) -> Option<String> {
    if code != REFUSED_CLOSE_CODE {
        return None;
    }
    let reason = reason.trim();
    let reason = if reason.is_empty() { "no reason given" } else { cut(reason) };
    Some(format!("the relay will not bridge this file: {reason}"))
}

/// `reason` cut to [`MAX_REASON_BYTES`] at a char boundary (what fits in a close frame).
pub fn cut(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_refusal_code_is_a_refusal() {
        assert_eq!(refusal(1013, " no room "), Some("the relay will not bridge this file: no room".into()));
        assert_eq!(refusal(1013, ""), Some("the relay will not bridge this file: no reason given".into()));
        for code in [1000, 1001, 1006, 1011] {
            assert_eq!(refusal(code, "bye"), None, "{code}");
        }
    }

    #[test]
    fn reasons_are_cut_at_a_char_boundary_within_a_close_frame() {
        let long = "é".repeat(100);
        let cut = cut(&long);
        assert!(cut.len() <= MAX_REASON_BYTES && cut.len() % 2 == 0);
        assert_eq!(super::cut("short"), "short");
    }
}
