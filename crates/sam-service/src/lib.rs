#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod access_tokens;
pub mod audit;
pub mod clients;
pub mod confirmations;
pub mod credentials;
pub mod csr;
pub mod deferred;
pub mod device_sessions;
pub mod devices;
mod error;
pub mod keys;
pub mod notify;
pub mod oauth2;
pub mod paging;
pub mod plans;
pub mod profiles;
pub mod references;
pub mod sap;
pub mod scal1;
pub mod seal;
mod secret_cache;
pub mod secret_check;
mod service;
pub mod users;
pub mod verification;

pub use access_tokens::{IssuedAccessToken, TokenHint, TokenHolder};
pub use audit::{AuditAction, OtherAction};
pub use clients::{ClientCredentials, ClientSettings, ClientView, ClientsPage, UsageMapPage};
pub use confirmations::{CodeSent, UserProfile, UserProfilePaging};
pub use credentials::{CertificateValidity, Credential, CredentialAuthorisation, CredentialsPage};
pub use csr::CsrView;
pub use deferred::DeferredResult;
pub use device_sessions::{DeviceChallenge, DeviceSession, DeviceSessionToken, session_message};
pub use devices::{DeviceView, DevicesPage, RegisterDevice, registration_message};
pub use error::{ErrorCode, ErrorKind, ServiceError, UnknownErrorCode};
pub use keys::{CertificateView, CertificatesPage, KeyView};
pub use notify::{
    Channel, FileMailbox, Notification, NotificationKind, Notifier, NotifyError, Router, Webhook,
};
pub use plans::{AlertView, AlertsPage, PlanStatus};
pub use profiles::{ProfileRules, ProfilesPage};
pub use references::ReferencePurpose;
pub use sap::{
    AuthorisationState, Authorise, AuthoriseResponse, DocumentContent, DocumentInput,
    PendingRequest, RequestState, RequestsPage, SignExpectation, Signing,
};
pub use scal1::{CodeKey, OtpSent, SecretAuthorisation, ServiceSadKey, UserSecret};
pub use seal::SealSign;
pub use service::{
    ClientContext, CryptoSourceStatus, Observer, Service, ServiceSettings,
    default_secret_check_workers,
};
pub use users::{RegisterUser, UserView, UsersPage};
