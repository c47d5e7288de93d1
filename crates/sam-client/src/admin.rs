//! The operator's side (`/admin/v1`, docs/api.md "Admin endpoints"): clients and their
//! secrets, service plans, SAM profiles, crypto sources and the audit log. Plan and profile
//! settings are JSON documents as docs/plans.md and docs/profiles.md give them.

use hyper::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::connection::{query, segment};
use crate::{Client, ClientSettings, Connection, Error, OAuthClient, Page};

/// A crypto source and whether it can serve.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct CryptoSource {
    /// Its name in the configuration.
    pub name: String,
    /// Whether it can serve now.
    pub available: bool,
    /// Why not, when it cannot.
    pub reason: Option<String>,
}

/// One page of the Usage Map: profile id → the clients (of this page) that may use it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct UsagePage {
    /// Profile id (as text) → client ids.
    pub usage: std::collections::BTreeMap<String, Vec<String>>,
    /// The cursor of the next page of clients.
    pub next: Option<String>,
}

/// One record of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its place in the chain, from 1.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// The client it concerns (empty for the operator's actions).
    pub client_id: String,
    /// Who acted (a user, a device, `admin`, `system`, or `-`).
    pub actor: String,
    /// The action's code (docs/service.md "Audit actions").
    pub action: String,
    /// `ok` or the error code.
    pub outcome: String,
    /// Ids and facts, never secrets.
    pub detail: String,
    /// The previous record's hash (hex).
    pub prev_hash: String,
    /// This record's hash (hex).
    pub hash: String,
}

/// The operator's client of `samd` (`Authorization: Bearer <admin credential>`).
pub struct AdminClient {
    connection: Connection,
    authorization: Zeroizing<String>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Clients {
    clients: Vec<Client>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Profiles {
    profiles: Vec<Value>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Alerts {
    alerts: Vec<Value>,
    next: Option<String>,
}

impl AdminClient {
    /// The operator's client over `connection`, with the admin credential.
    pub fn new(connection: Connection, credential: &str) -> Self {
        Self {
            connection,
            authorization: Zeroizing::new(format!("Bearer {credential}")),
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, Error> {
        self.connection
            .call(method, path, Some(self.authorization.as_str()), body)
            .await
    }

    // --- clients ---

    /// Register Client.
    pub async fn register_client(&self, settings: &ClientSettings) -> Result<Client, Error> {
        let body = serde_json::to_value(settings).map_err(|e| Error::Config(e.to_string()))?;
        self.call(Method::POST, "/admin/v1/clients", Some(&body))
            .await
    }

    /// Edit Client: its settings replaced by `settings`.
    pub async fn edit_client(&self, settings: &ClientSettings) -> Result<Client, Error> {
        let body = serde_json::to_value(settings).map_err(|e| Error::Config(e.to_string()))?;
        self.call(
            Method::PUT,
            &format!("/admin/v1/clients{}", segment(&settings.client_id)),
            Some(&body),
        )
        .await
    }

    /// Get Client.
    pub async fn client(&self, client_id: &str) -> Result<Client, Error> {
        self.call(
            Method::GET,
            &format!("/admin/v1/clients{}", segment(client_id)),
            None,
        )
        .await
    }

    /// List Clients: a page in client id order.
    pub async fn clients(&self, after: Option<&str>, limit: u32) -> Result<Page<Client>, Error> {
        let path = format!(
            "/admin/v1/clients{}",
            query(&[("after", after), ("limit", Some(&limit.to_string()))])
        );
        let page: Clients = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.clients,
            next: page.next,
        })
    }

    /// Set Client Secret (16–1024 characters).
    pub async fn set_client_secret(&self, client_id: &str, secret: &str) -> Result<(), Error> {
        self.call(
            Method::PUT,
            &format!("/admin/v1/clients{}/secret", segment(client_id)),
            Some(&json!({"secret": secret})),
        )
        .await
    }

    // --- OAuth 2.0 clients ---

    /// Register OAuth Client: for the sam client `client_id`, with the name its users see,
    /// its redirect URIs (`https://`, or `http://` to a loopback IP) and whether it is
    /// confidential; the answer carries the secret of a confidential one, this once.
    pub async fn register_oauth_client(
        &self,
        client_id: &str,
        name: &str,
        redirect_uris: &[String],
        confidential: bool,
    ) -> Result<OAuthClient, Error> {
        self.call(
            Method::POST,
            &format!("/admin/v1/clients{}/oauth-clients", segment(client_id)),
            Some(&json!({
                "name": name,
                "redirect_uris": redirect_uris,
                "confidential": confidential,
            })),
        )
        .await
    }

    /// List OAuth Clients of the sam client `client_id` (no secrets).
    pub async fn oauth_clients(&self, client_id: &str) -> Result<Vec<OAuthClient>, Error> {
        self.call(
            Method::GET,
            &format!("/admin/v1/clients{}/oauth-clients", segment(client_id)),
            None,
        )
        .await
    }

    /// Delete OAuth Client, with its authorisations in progress.
    pub async fn delete_oauth_client(
        &self,
        client_id: &str,
        oauth_client_id: &str,
    ) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            &format!(
                "/admin/v1/clients{}/oauth-clients{}",
                segment(client_id),
                segment(oauth_client_id)
            ),
            None,
        )
        .await
    }

    // --- service plans ---

    /// Set Plan: the plan settings (docs/plans.md); the answer is the first period.
    pub async fn set_plan(&self, client_id: &str, plan: &Value) -> Result<Value, Error> {
        self.call(
            Method::PUT,
            &format!("/admin/v1/clients{}/plan", segment(client_id)),
            Some(plan),
        )
        .await
    }

    /// Plan Status: settings, period, usage, next renewal and alerts.
    pub async fn plan(&self, client_id: &str) -> Result<Value, Error> {
        self.call(
            Method::GET,
            &format!("/admin/v1/clients{}/plan", segment(client_id)),
            None,
        )
        .await
    }

    /// Renew Plan by hand: the new period.
    pub async fn renew_plan(&self, client_id: &str) -> Result<Value, Error> {
        self.call(
            Method::POST,
            &format!("/admin/v1/clients{}/plan/renew", segment(client_id)),
            None,
        )
        .await
    }

    /// Plan Alerts: a page of the alert log (cursor `PERIOD/KIND`).
    pub async fn plan_alerts(
        &self,
        client_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Value>, Error> {
        let path = format!(
            "/admin/v1/clients{}/plan/alerts{}",
            segment(client_id),
            query(&[("after", after), ("limit", Some(&limit.to_string()))])
        );
        let page: Alerts = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.alerts,
            next: page.next,
        })
    }

    // --- SAM profiles ---

    /// Create Profile from its settings (docs/profiles.md, as JSON).
    pub async fn create_profile(&self, settings: &Value) -> Result<Value, Error> {
        self.call(Method::POST, "/admin/v1/profiles", Some(settings))
            .await
    }

    /// Get Profile.
    pub async fn profile(&self, profile_id: u32) -> Result<Value, Error> {
        self.call(
            Method::GET,
            &format!("/admin/v1/profiles/{profile_id}"),
            None,
        )
        .await
    }

    /// Edit Profile: its settings replaced.
    pub async fn edit_profile(&self, profile_id: u32, settings: &Value) -> Result<Value, Error> {
        self.call(
            Method::PUT,
            &format!("/admin/v1/profiles/{profile_id}"),
            Some(settings),
        )
        .await
    }

    /// List Profiles: a page sorted by `sort` (`id`, `name`, `created-at`, `status`) in
    /// `order` (`ascending`, `descending`).
    pub async fn profiles(
        &self,
        sort: Option<&str>,
        order: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Value>, Error> {
        let path = format!(
            "/admin/v1/profiles{}",
            query(&[
                ("sort", sort),
                ("order", order),
                ("after", after),
                ("limit", Some(&limit.to_string())),
            ])
        );
        let page: Profiles = self.call(Method::GET, &path, None).await?;
        Ok(Page {
            items: page.profiles,
            next: page.next,
        })
    }

    /// Advanced Search: a page of the profiles that match `criteria` (docs/api.md).
    pub async fn search_profiles(
        &self,
        criteria: &Value,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Value>, Error> {
        let path = format!(
            "/admin/v1/profiles/search{}",
            query(&[("after", after), ("limit", Some(&limit.to_string()))])
        );
        let page: Profiles = self.call(Method::POST, &path, Some(criteria)).await?;
        Ok(Page {
            items: page.profiles,
            next: page.next,
        })
    }

    /// Make a Copy of a profile under a new name.
    pub async fn copy_profile(
        &self,
        profile_id: u32,
        name: &str,
        description: Option<&str>,
    ) -> Result<Value, Error> {
        let mut body = json!({"name": name});
        if let Some(description) = description {
            body["description"] = description.into();
        }
        self.call(
            Method::POST,
            &format!("/admin/v1/profiles/{profile_id}/copy"),
            Some(&body),
        )
        .await
    }

    /// Activate or deactivate a profile.
    pub async fn set_profile_status(&self, profile_id: u32, active: bool) -> Result<Value, Error> {
        let status = if active { "active" } else { "inactive" };
        self.call(
            Method::PUT,
            &format!("/admin/v1/profiles/{profile_id}/status"),
            Some(&json!({"status": status})),
        )
        .await
    }

    /// Usage Map: which clients may use each profile, over a page of clients (every profile
    /// is a key of every page; the pages merged give the whole map).
    pub async fn usage_map(&self, after: Option<&str>, limit: u32) -> Result<UsagePage, Error> {
        let path = format!(
            "/admin/v1/profiles/usage{}",
            query(&[("after", after), ("limit", Some(&limit.to_string()))])
        );
        self.call(Method::GET, &path, None).await
    }

    // --- operations ---

    /// The crypto sources and whether each can serve.
    pub async fn crypto_sources(&self) -> Result<Vec<CryptoSource>, Error> {
        self.call(Method::GET, "/admin/v1/crypto-sources", None)
            .await
    }

    /// Audit Export: at most `limit` (1–10,000) records from `seq` `from` on; page on with
    /// the last `seq` + 1.
    pub async fn audit(&self, from: i64, limit: u32) -> Result<Vec<AuditRecord>, Error> {
        self.call(
            Method::GET,
            &format!("/admin/v1/audit?from={from}&limit={limit}"),
            None,
        )
        .await
    }

    /// Audit Verify: `{"intact": true, "records"}` or where and why the chain breaks.
    pub async fn audit_verify(&self) -> Result<Value, Error> {
        self.call(Method::GET, "/admin/v1/audit/verify", None).await
    }
}
