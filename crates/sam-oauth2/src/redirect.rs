//! Redirect URIs: what an operator may register for an OAuth client, how a request's
//! `redirect_uri` is matched against them, and the redirect back to the client.
//!
//! - **Registered**: absolute, `https`, or `http` to a loopback IP literal (`127.0.0.1`,
//!   `[::1]`) for native applications (RFC 8252 §7.3, §8.3: not `localhost`); no fragment
//!   (RFC 6749 §3.1.2), no user information, no white space or control characters, at most
//!   [`MAX_URI_LEN`] bytes.
//! - **Matched** by simple string comparison (RFC 9700 §4.1.3; RFC 3986 §6.2.1) — no prefix,
//!   no pattern; for loopback URIs any port is allowed, as RFC 8252 §7.3 requires, the rest
//!   still exact.
//! - **Redirected** with the response parameters added to the URI's query, its own query kept
//!   (RFC 6749 §4.1.2), and `iss` naming this server (RFC 9207), so a client talking to two
//!   servers cannot be confused about which answered (mix-up attacks, RFC 9700 §4.4).

use crate::OAuthError;

/// The longest redirect URI accepted.
pub const MAX_URI_LEN: usize = 2000;

/// A registered redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUri {
    text: String,
    loopback: bool,
}

/// The parts of an absolute URI this module looks at.
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    /// From the first `/` or `?` after the authority.
    rest: &'a str,
}

fn split(text: &str) -> Result<Parts<'_>, OAuthError> {
    let bad = |why: &str| OAuthError::invalid(format!("redirect_uri {why}"));
    if text.is_empty() || text.len() > MAX_URI_LEN {
        return Err(bad(&format!("has 1 to {MAX_URI_LEN} bytes")));
    }
    if text
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b >= 0x80)
    {
        return Err(bad(
            "has white space, control or non-ASCII characters (percent-encode them)",
        ));
    }
    if text.contains('#') {
        return Err(bad("has a fragment (RFC 6749 §3.1.2)"));
    }
    let (scheme, after) = text
        .split_once("://")
        .ok_or_else(|| bad("is not an absolute URI with an authority"))?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains('@') {
        return Err(bad("has user information"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6
            .find(']')
            .ok_or_else(|| bad("has an unclosed IPv6 literal"))?;
        let host = &authority[..close + 2];
        match &authority[close + 2..] {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("has a malformed port"))?,
                ),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if let Some(p) = port
        && (p.is_empty()
            || p.len() > 5
            || !p.bytes().all(|b| b.is_ascii_digit())
            || p.parse::<u32>().map_or(true, |n| n == 0 || n > 65535))
    {
        return Err(bad("has a malformed port"));
    }
    Ok(Parts { scheme, host, rest })
}

impl RedirectUri {
    /// A URI an operator registers.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let parts = split(text)?;
        let loopback = match parts.scheme {
            "https" => false,
            "http" if matches!(parts.host, "127.0.0.1" | "[::1]") => true,
            "http" => {
                return Err(OAuthError::invalid(
                    "redirect_uri: http is allowed only to a loopback IP literal (127.0.0.1 \
                     or [::1], RFC 8252 §7.3); use https",
                ));
            }
            _ => {
                return Err(OAuthError::invalid(
                    "redirect_uri: the scheme must be https (or http to a loopback address)",
                ));
            }
        };
        Ok(Self {
            text: text.to_owned(),
            loopback,
        })
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a request's `redirect_uri` is this one: the same string, except that a
    /// loopback URI's port may differ.
    pub fn matches(&self, requested: &str) -> bool {
        if self.text == requested {
            return true;
        }
        if !self.loopback {
            return false;
        }
        match (split(&self.text), split(requested)) {
            (Ok(ours), Ok(theirs)) => {
                ours.scheme == theirs.scheme && ours.host == theirs.host && ours.rest == theirs.rest
            }
            _ => false,
        }
    }
}

/// `requested` (a redirect URI that matched a registered one) with `params` added to its
/// query.
pub fn with_params(requested: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let query = query.finish();
    let separator = if !requested.contains('?') {
        "?"
    } else if requested.ends_with('?') || requested.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{requested}{separator}{query}")
}

/// The successful authorisation response (RFC 6749 §4.1.2, RFC 9207).
pub fn code_response(requested: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    let mut params = vec![("code", code)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    with_params(requested, &params)
}

/// The error response (RFC 6749 §4.1.2.1, RFC 9207).
pub fn error_response(
    requested: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    with_params(requested, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_uris_register_and_others_do_not() {
        for good in [
            "https://app.example/cb",
            "https://app.example:8443/cb?tenant=a",
            "https://app.example",
            "http://127.0.0.1:5000/callback",
            "http://[::1]/callback",
        ] {
            RedirectUri::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "/relative/cb",
            "app.example/cb",
            "http://app.example/cb",
            "http://localhost:5000/cb",
            "https://app.example/cb#frag",
            "https://user:pw@app.example/cb",
            "https://app.example/c b",
            "https://app.example/cb\n",
            "https://app.example:0/cb",
            "https://app.example:70000/cb",
            "https://app.example:/cb",
            "https://app.example:80a/cb",
            "https:///cb",
            "javascript://app.example/%0aalert(1)",
            "com.example.app:/cb",
            "http://[::1/cb",
            "http://[::1]x/cb",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            RedirectUri::parse(&format!("https://a.example/{}", "x".repeat(MAX_URI_LEN))).is_err()
        );
    }

    #[test]
    fn matching_is_exact_except_a_loopback_port() {
        let web = RedirectUri::parse("https://app.example/cb").unwrap();
        assert!(web.matches("https://app.example/cb"));
        for other in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example/cb/../evil",
            "https://APP.example/cb",
            "https://app.example.evil/cb",
            "https://app.example:443/cb",
            "http://app.example/cb",
            "https://app.example/c",
        ] {
            assert!(!web.matches(other), "{other}");
        }
        let native = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(native.matches("http://127.0.0.1:51234/callback"));
        assert!(native.matches("http://127.0.0.1/callback"));
        assert!(!native.matches("http://127.0.0.1:51234/callback/x"));
        assert!(!native.matches("http://[::1]:51234/callback"));
        assert!(!native.matches("https://127.0.0.1:51234/callback"));
        assert!(!native.matches("http://127.0.0.1:51234/callback#x"));
    }

    #[test]
    fn responses_keep_the_uris_query_and_name_the_issuer() {
        assert_eq!(
            code_response(
                "https://app.example/cb",
                "c1",
                Some("s 1&x"),
                "https://sam.example"
            ),
            "https://app.example/cb?code=c1&state=s+1%26x&iss=https%3A%2F%2Fsam.example"
        );
        assert_eq!(
            code_response("https://app.example/cb?tenant=a", "c1", None, "https://i"),
            "https://app.example/cb?tenant=a&code=c1&iss=https%3A%2F%2Fi"
        );
        let e = OAuthError::new(crate::ErrorCode::AccessDenied, "declined on the device");
        assert_eq!(
            error_response("https://app.example/cb?", &e, Some("s"), "https://i"),
            "https://app.example/cb?error=access_denied&error_description=declined+on+the+device&state=s&iss=https%3A%2F%2Fi"
        );
    }
}
