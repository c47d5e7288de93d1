//! What every handler shares: the service, the admin credential's hash, and the settings the
//! API layer reads on each request (the instance id and SAD format devices answer with, the
//! hash-count limit), taken from the configuration once at start.

use std::sync::Arc;

use sam_profile::SadFormat;
use sam_service::Service;

use crate::config::Config;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The SAM service.
    pub(crate) service: Arc<Service>,
    /// The Argon2id hash of the admin credential; `None`: the admin API is closed.
    pub(crate) admin_credential_hash: Option<String>,
    /// This instance's id (the audience of SADs), for devices.
    pub(crate) instance_id: String,
    /// The SAD format devices answer in: `json` or `der`.
    pub(crate) sad_format: SadFormat,
    /// The metrics, which the service also reports to.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    /// How the CSC API facade presents the service.
    pub(crate) csc: Arc<crate::config::CscConfig>,
    /// What the crypto sources sign, as the CSC API's `info` names it (fixed at start).
    pub(crate) csc_offer: Arc<crate::csc::Offer>,
}

impl AppState {
    /// The state for `service` under `config`.
    pub(crate) fn new(
        service: Arc<Service>,
        metrics: Arc<crate::metrics::Metrics>,
        admin_credential_hash: Option<String>,
        config: &Config,
    ) -> Self {
        Self {
            csc_offer: Arc::new(crate::csc::Offer::of(&service)),
            service,
            metrics,
            admin_credential_hash,
            instance_id: config.instance_id.clone(),
            sad_format: config.signing.sad_format,
            csc: Arc::new(config.csc.clone()),
        }
    }
}
