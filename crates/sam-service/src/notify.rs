//! Notifications: OTPs, confirmation codes (recover password, change e-mail, change mobile)
//! and client alerts (service plans). A [`Notifier`] delivers one; the implementations here
//! are real and run anywhere:
//!
//! - [`FileMailbox`]: appends one JSON line per notification to a file created with mode 600 —
//!   for development and tests, a mailbox (it holds the codes it delivers), not a log;
//! - [`Webhook`]: POSTs the notification as JSON to an HTTP endpoint with an optional bearer
//!   token. SMTP and SMS gateways are reached this way: point one webhook at a small relay
//!   (or a provider's HTTP API) per channel, and route with [`Router`].
//!
//! A notification's `Debug` never shows its code, and delivery errors never contain it.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;
use zeroize::Zeroizing;

/// How a notification reaches a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Channel {
    /// E-mail.
    Email,
    /// Text message to a mobile number.
    Sms,
}

/// What a notification is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A one-time password for an authorisation request (SCAL1).
    Otp,
    /// A confirmation code for Recover Password.
    RecoverPassword,
    /// A confirmation code for Change Email.
    ChangeEmail,
    /// A confirmation code for Change Mobile.
    ChangeMobile,
    /// A service-plan alert to a client.
    PlanAlert,
}

/// One message to one recipient.
#[derive(Clone, Serialize)]
pub struct Notification {
    /// What it is for.
    pub kind: NotificationKind,
    /// How it travels.
    pub channel: Channel,
    /// The e-mail address or mobile number.
    pub recipient: String,
    /// The client it concerns.
    pub client_id: String,
    /// The user it concerns, if any.
    pub user_id: Option<String>,
    /// A subject line.
    pub subject: String,
    /// The text, without the code.
    pub text: String,
    /// The code to deliver, if any (OTP, confirmation code).
    #[serde(serialize_with = "serialize_code")]
    pub code: Option<Zeroizing<String>>,
}

fn serialize_code<S: serde::Serializer>(
    code: &Option<Zeroizing<String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match code {
        Some(code) => serializer.serialize_some(code.as_str()),
        None => serializer.serialize_none(),
    }
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notification")
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("recipient", &self.recipient)
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .field("subject", &self.subject)
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a notification was not delivered.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The notifier is configured wrongly (bad URL, unwritable file, no route).
    #[error("notifier configuration: {0}")]
    Config(String),
    /// Delivery failed; the message names the endpoint, never the code.
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// Something that delivers notifications.
pub trait Notifier: Send + Sync {
    /// Delivers `notification`, or says why not.
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError>;
}

/// Appends notifications as JSON lines to a file (mode 600), one line each.
pub struct FileMailbox {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileMailbox {
    /// A mailbox at `path`; the file is created on first delivery, readable by its owner
    /// only.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl Notifier for FileMailbox {
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let mut line = Zeroizing::new(
            serde_json::to_string(notification)
                .map_err(|e| NotifyError::Delivery(format!("encoding: {e}")))?,
        );
        line.push('\n');
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&self.path)
            .map_err(|e| NotifyError::Config(format!("mailbox {}: {e}", self.path.display())))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| NotifyError::Delivery(format!("mailbox {}: {e}", self.path.display())))
    }
}

/// POSTs each notification as JSON (`application/json`, the fields of [`Notification`]) to
/// an HTTP endpoint; any 2xx answer is delivery.
pub struct Webhook {
    url: String,
    bearer_token: Option<Zeroizing<String>>,
    agent: ureq::Agent,
}

impl Webhook {
    /// A webhook at `url` (`http://` only in this build; put a TLS-terminating relay in front
    /// of remote endpoints), with a per-request `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, NotifyError> {
        let url = url.into();
        if !url.starts_with("http://") {
            return Err(NotifyError::Config(format!(
                "webhook URL {url:?}: only http:// is supported in this build"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            url,
            bearer_token: None,
            agent,
        })
    }

    /// Sends `Authorization: Bearer TOKEN` with each request.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Zeroizing::new(token.into()));
        self
    }
}

impl Notifier for Webhook {
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let body = Zeroizing::new(
            serde_json::to_vec(notification)
                .map_err(|e| NotifyError::Delivery(format!("encoding: {e}")))?,
        );
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(token) = &self.bearer_token {
            request = request.header("Authorization", format!("Bearer {}", token.as_str()));
        }
        let response = request
            .send(body.as_slice())
            .map_err(|e| NotifyError::Delivery(format!("{}: {e}", self.url)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(NotifyError::Delivery(format!(
                "{}: HTTP status {status}",
                self.url
            )))
        }
    }
}

/// Routes each notification to the notifier of its channel.
#[derive(Default)]
pub struct Router {
    email: Option<Box<dyn Notifier>>,
    sms: Option<Box<dyn Notifier>>,
}

impl Router {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// E-mail goes to `notifier`.
    pub fn email(mut self, notifier: impl Notifier + 'static) -> Self {
        self.email = Some(Box::new(notifier));
        self
    }

    /// Text messages go to `notifier`.
    pub fn sms(mut self, notifier: impl Notifier + 'static) -> Self {
        self.sms = Some(Box::new(notifier));
        self
    }
}

impl Notifier for Router {
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let route = match notification.channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        };
        route
            .as_ref()
            .ok_or_else(|| {
                NotifyError::Config(format!(
                    "no notifier is configured for {:?}",
                    notification.channel
                ))
            })?
            .notify(notification)
    }
}
