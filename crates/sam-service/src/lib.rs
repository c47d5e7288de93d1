#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod devices;
mod error;
pub mod keys;
pub mod notify;
mod service;
pub mod users;

pub use devices::{DeviceView, RegisterDevice, registration_message};
pub use error::ServiceError;
pub use keys::{CertificateView, KeyView};
pub use notify::{
    Channel, FileMailbox, Notification, NotificationKind, Notifier, NotifyError, Router, Webhook,
};
pub use service::{ClientContext, Service, ServiceSettings};
pub use users::{RegisterUser, UserView, UsersPage};
