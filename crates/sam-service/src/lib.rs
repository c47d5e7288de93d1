#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod notify;

pub use notify::{
    Channel, FileMailbox, Notification, NotificationKind, Notifier, NotifyError, Router, Webhook,
};
