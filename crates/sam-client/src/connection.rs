//! One `samd`, shared by every role that talks to it (client, device, operator): the
//! connections, and the call that turns a request into a typed answer or an [`Error`].

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::transport::{Call, Endpoint, Transport};
use crate::{Error, Page};

/// How long a call may take by default, connection and answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to one `samd` (cheap to clone; clones share the kept-alive connections).
#[derive(Clone)]
pub struct Connection {
    transport: Arc<Transport>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Talks to `endpoint`, each call bounded by [`DEFAULT_TIMEOUT`].
    pub fn new(endpoint: Endpoint) -> Self {
        Self::with_timeout(endpoint, DEFAULT_TIMEOUT)
    }

    /// Talks to `endpoint`, each call bounded by `timeout`.
    pub fn with_timeout(endpoint: Endpoint, timeout: Duration) -> Self {
        Self {
            transport: Arc::new(Transport::new(endpoint, timeout)),
        }
    }

    /// `GET /healthz`: the process runs.
    pub async fn health(&self) -> Result<(), Error> {
        self.plain("/healthz").await
    }

    /// `GET /readyz`: the database takes a durable write now (otherwise the refusal says
    /// why, with status 503).
    pub async fn ready(&self) -> Result<(), Error> {
        self.plain("/readyz").await
    }

    async fn plain(&self, path: &str) -> Result<(), Error> {
        let answer = self
            .transport
            .send(Call {
                method: hyper::Method::GET,
                path,
                authorization: None,
                body: None,
            })
            .await?;
        if answer.status == 200 {
            Ok(())
        } else {
            Err(Error::Api {
                status: answer.status,
                code: None,
                error: format!("http_{}", answer.status),
                message: String::from_utf8_lossy(&answer.body[..answer.body.len().min(512)])
                    .into_owned(),
                retry_after: answer.retry_after,
            })
        }
    }

    /// Sends a request and reads a JSON answer of type `T` (for `()`, an empty `204`).
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: hyper::Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, Error> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Config(format!("request body: {e}")))?;
        let answer = self
            .transport
            .send(Call {
                method,
                path,
                authorization,
                body,
            })
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(Error::from_answer(
                answer.status,
                &answer.body,
                answer.retry_after,
            ));
        }
        let body: &[u8] = if answer.body.is_empty() {
            b"null"
        } else {
            &answer.body
        };
        serde_json::from_slice(body).map_err(|e| Error::Answer(format!("{path}: {e}")))
    }
}

/// `/segment` of a path: every byte but the unreserved ones of RFC 3986 percent-encoded, so
/// an id cannot change the path it is put in.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    out.push('/');
    encode_into(&mut out, text);
    out
}

fn encode_into(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A query string of the pairs whose value is given.
pub(crate) fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if let Some(value) = value {
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(name);
            out.push('=');
            encode_into(&mut out, value);
        }
    }
    out
}

/// Reads every page of a list: `page` is called with `None`, then with each page's `next`
/// until there is none. A server that gives the same cursor twice is an error, not a loop.
///
/// ```no_run
/// # async fn users(client: &sam_client::SamClient) -> Result<(), sam_client::Error> {
/// let everyone = sam_client::all_pages(|after| async move {
///     client.users(after.as_deref(), 1000).await
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, Error>>,
{
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let Page {
            items: mut these,
            next,
        } = page(after.take()).await?;
        items.append(&mut these);
        match next {
            None => return Ok(items),
            Some(cursor) => {
                if !seen.insert(cursor.clone()) {
                    return Err(Error::Answer(format!(
                        "the server gave the page cursor {cursor:?} twice"
                    )));
                }
                after = Some(cursor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert_eq!(segment("alice"), "/alice");
        assert_eq!(segment("a/../b"), "/a%2F..%2Fb");
        assert_eq!(segment("x?y#z"), "/x%3Fy%23z");
        assert_eq!(segment("é"), "/%C3%A9");
        assert_eq!(
            query(&[("after", Some("a&b=c")), ("limit", Some("5")), ("x", None)]),
            "?after=a%26b%3Dc&limit=5"
        );
        assert_eq!(query(&[("after", None)]), "");
    }

    #[tokio::test]
    async fn every_page_is_read_and_a_repeated_cursor_is_refused() {
        let pages = all_pages(|after| async move {
            Ok(match after.as_deref() {
                None => Page {
                    items: vec![1, 2],
                    next: Some("2".into()),
                },
                Some("2") => Page {
                    items: vec![3],
                    next: None,
                },
                Some(other) => panic!("unexpected cursor {other}"),
            })
        })
        .await
        .unwrap();
        assert_eq!(pages, vec![1, 2, 3]);
        let looping = all_pages(|_| async {
            Ok(Page {
                items: vec![0],
                next: Some("again".into()),
            })
        })
        .await;
        assert!(matches!(looping, Err(Error::Answer(_))));
    }
}
