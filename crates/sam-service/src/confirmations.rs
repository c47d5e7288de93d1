//! Seed 002's request types that change a user's credentials or contact details with a
//! confirmation code — Recover Password / Confirm Recover Password, Change Email / Confirm
//! Change Email, Change Mobile / Confirm Change Mobile — and Get User Profile.
//!
//! - **Recover Password** sends a code to the user's registered e-mail (or mobile); the
//!   confirmation sets the new password and lifts a lock-out. Whoever can read that mailbox
//!   can reset the password: that is what recovery means, and why the code is short-lived
//!   and limited in attempts.
//! - **Change Email** / **Change Mobile** send the code to the *new* address, so the change
//!   proves the user controls it; the address waits in the code's payload (not a secret) and
//!   is written only when the code is confirmed.
//!
//! Codes are stored as HMAC-SHA-256 under the service's code key, bound to purpose and user,
//! with `confirmation_validity_secs` and `code_attempts` (docs/service.md); a new code
//! replaces the previous one of the same purpose.

use crate::ErrorCode;
use sam_store::{CodeCheck, NewCode};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::notify::{Channel, Notification, NotificationKind};
use crate::sap::user_id;
use crate::service::{ClientContext, Service};
use crate::users::{UserView, check_password_rules, email, mobile};
use crate::{DeviceView, KeyView, ServiceError};
use sam_plan::RequestType;

/// Where a confirmation code was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeSent {
    /// `email` or `sms`.
    pub channel: Channel,
    /// Until when the code may be used (RFC 3339).
    pub expires_at: String,
    /// How many attempts it allows.
    pub attempts: i64,
}

/// Get User Profile: the user with a page of their devices and a page of their keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserProfile {
    /// The user.
    pub user: UserView,
    /// Their registered devices, in id order.
    pub devices: Vec<DeviceView>,
    /// The device id to pass as `devices_after` for more, when there may be more.
    pub devices_next: Option<String>,
    /// Their keys, in id order.
    pub keys: Vec<KeyView>,
    /// The key id to pass as `keys_after` for more, when there may be more.
    pub keys_next: Option<String>,
}

/// Which page of a user's devices and keys Get User Profile gives.
#[derive(Clone, Copy, Debug)]
pub struct UserProfilePaging<'a> {
    /// Devices after this id (none: from the first).
    pub devices_after: Option<&'a str>,
    /// Keys after this id (none: from the first).
    pub keys_after: Option<&'a str>,
    /// At most this many of each (1 to 1000).
    pub limit: i64,
}

impl Default for UserProfilePaging<'_> {
    fn default() -> Self {
        Self {
            devices_after: None,
            keys_after: None,
            limit: 100,
        }
    }
}

/// What a confirmation code confirms.
#[derive(Clone, Copy)]
enum Purpose {
    RecoverPassword,
    ChangeEmail,
    ChangeMobile,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Self::RecoverPassword => "recover_password",
            Self::ChangeEmail => "change_email",
            Self::ChangeMobile => "change_mobile",
        }
    }

    fn kind(self) -> NotificationKind {
        match self {
            Self::RecoverPassword => NotificationKind::RecoverPassword,
            Self::ChangeEmail => NotificationKind::ChangeEmail,
            Self::ChangeMobile => NotificationKind::ChangeMobile,
        }
    }

    /// The request types of seed 002: the change and its confirmation.
    fn request_types(self) -> (RequestType, RequestType) {
        match self {
            Self::RecoverPassword => (
                RequestType::RecoverPassword,
                RequestType::ConfirmRecoverPassword,
            ),
            Self::ChangeEmail => (RequestType::ChangeEmail, RequestType::ConfirmChangeEmail),
            Self::ChangeMobile => (RequestType::ChangeMobile, RequestType::ConfirmChangeMobile),
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Self::RecoverPassword => "Your password recovery code",
            Self::ChangeEmail => "Confirm your new e-mail address",
            Self::ChangeMobile => "Confirm your new mobile number",
        }
    }
}

fn code_id(purpose: Purpose, user: &str) -> String {
    format!("{}:{user}", purpose.name())
}

impl Service {
    /// Issues a code for `purpose` to `recipient` by `channel`, with `payload`.
    async fn send_code(
        &self,
        ctx: &ClientContext,
        user: &str,
        purpose: Purpose,
        channel: Channel,
        recipient: String,
        payload: String,
    ) -> Result<CodeSent, ServiceError> {
        let now = self.now();
        let expires_at = now
            .checked_add_secs(self.settings.confirmation_validity_secs)
            .ok_or_else(|| ServiceError::internal("code expiry out of range"))?;
        let code = crate::scal1::random_code(self.settings.otp_digits)?;
        let id = code_id(purpose, user);
        self.store
            .issue_code(&NewCode {
                code_id: format!("{}:{}", ctx.id(), id),
                client_id: ctx.id().to_owned(),
                user_id: user.to_owned(),
                purpose: purpose.name().into(),
                code_hash: self.code_key()?.hash(purpose.name(), &id, &code)?,
                payload,
                attempts: self.settings.code_attempts,
                created_at: now,
                expires_at,
            })
            .await?;
        self.deliver(Notification {
            kind: purpose.kind(),
            channel,
            recipient,
            client_id: ctx.id().to_owned(),
            user_id: Some(user.to_owned()),
            subject: purpose.subject().into(),
            text: format!("Your confirmation code. It expires at {expires_at}."),
            code: Some(code),
        })
        .await?;
        Ok(CodeSent {
            channel,
            expires_at: expires_at.to_string(),
            attempts: self.settings.code_attempts,
        })
    }

    /// Checks a code; its payload when it matches.
    async fn confirm_code(
        &self,
        ctx: &ClientContext,
        user: &str,
        purpose: Purpose,
        code: &str,
    ) -> Result<String, ServiceError> {
        let id = code_id(purpose, user);
        let check = self
            .store
            .check_code(
                ctx.id(),
                user,
                &format!("{}:{}", ctx.id(), id),
                purpose.name(),
                &self.code_key()?.hash(purpose.name(), &id, code)?,
                self.now(),
            )
            .await?;
        match check {
            CodeCheck::Confirmed { payload } => Ok(payload),
            CodeCheck::Wrong { attempts_left } => Err(ServiceError::new(
                ErrorCode::CodeInvalid,
                format!("wrong confirmation code; {attempts_left} attempts left"),
            )),
            CodeCheck::Unusable => Err(ServiceError::new(
                ErrorCode::CodeInvalid,
                "no usable confirmation code: request a new one",
            )),
        }
    }

    async fn user_contact(
        &self,
        ctx: &ClientContext,
        user: &str,
    ) -> Result<(String, String), ServiceError> {
        let record = self
            .store
            .user(ctx.id(), user)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", user))?;
        Ok((record.user.email, record.user.mobile))
    }

    /// Recover Password: sends a code to the user's registered e-mail (`Channel::Email`) or
    /// mobile (`Channel::Sms`).
    pub async fn recover_password(
        &self,
        ctx: &ClientContext,
        user: &str,
        channel: Channel,
    ) -> Result<CodeSent, ServiceError> {
        self.request(
            ctx,
            RequestType::RecoverPassword,
            user,
            format!("user={user} channel={channel:?}"),
            async {
                user_id(user)?;
                let (email, mobile) = self.user_contact(ctx, user).await?;
                let recipient = match channel {
                    Channel::Email => email,
                    Channel::Sms => mobile,
                };
                if recipient.is_empty() {
                    return Err(ServiceError::invalid(format!(
                        "user {user} has no {} to send a code to",
                        match channel {
                            Channel::Email => "e-mail address",
                            Channel::Sms => "mobile number",
                        }
                    )));
                }
                self.send_code(
                    ctx,
                    user,
                    Purpose::RecoverPassword,
                    channel,
                    recipient,
                    String::new(),
                )
                .await
            },
        )
        .await
    }

    /// Confirm Recover Password: with the code, sets the new password (and lifts a lock-out).
    pub async fn confirm_recover_password(
        &self,
        ctx: &ClientContext,
        user: &str,
        code: Zeroizing<String>,
        new_password: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::ConfirmRecoverPassword,
            user,
            format!("user={user}"),
            async {
                user_id(user)?;
                // Check the new password before the code, so a bad one does not spend the code.
                check_password_rules(&new_password)?;
                self.confirm_code(ctx, user, Purpose::RecoverPassword, &code)
                    .await?;
                let hash = self.secrets.hash(new_password).await?;
                if self.store.set_password_hash(ctx.id(), user, &hash).await? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found("user", user))
                }
            },
        )
        .await
    }

    /// Change Email: sends a code to the new address, which replaces the user's once
    /// confirmed.
    pub async fn change_email(
        &self,
        ctx: &ClientContext,
        user: &str,
        new_email: &str,
    ) -> Result<CodeSent, ServiceError> {
        self.change_contact(ctx, user, Purpose::ChangeEmail, new_email)
            .await
    }

    /// Confirm Change Email.
    pub async fn confirm_change_email(
        &self,
        ctx: &ClientContext,
        user: &str,
        code: Zeroizing<String>,
    ) -> Result<UserView, ServiceError> {
        self.confirm_contact(ctx, user, Purpose::ChangeEmail, code)
            .await
    }

    /// Change Mobile: sends a code by SMS to the new number, which replaces the user's once
    /// confirmed.
    pub async fn change_mobile(
        &self,
        ctx: &ClientContext,
        user: &str,
        new_mobile: &str,
    ) -> Result<CodeSent, ServiceError> {
        self.change_contact(ctx, user, Purpose::ChangeMobile, new_mobile)
            .await
    }

    /// Confirm Change Mobile.
    pub async fn confirm_change_mobile(
        &self,
        ctx: &ClientContext,
        user: &str,
        code: Zeroizing<String>,
    ) -> Result<UserView, ServiceError> {
        self.confirm_contact(ctx, user, Purpose::ChangeMobile, code)
            .await
    }

    /// Change Email or Change Mobile: the code goes to the new address itself.
    async fn change_contact(
        &self,
        ctx: &ClientContext,
        user: &str,
        purpose: Purpose,
        new: &str,
    ) -> Result<CodeSent, ServiceError> {
        self.request(
            ctx,
            purpose.request_types().0,
            user,
            format!("user={user}"),
            async {
                user_id(user)?;
                let (address, channel) = match purpose {
                    Purpose::ChangeMobile => (mobile(new)?, Channel::Sms),
                    _ => (email(new)?, Channel::Email),
                };
                self.user_contact(ctx, user).await?;
                self.send_code(ctx, user, purpose, channel, address.clone(), address)
                    .await
            },
        )
        .await
    }

    /// Confirm Change Email or Confirm Change Mobile: writes the confirmed address.
    async fn confirm_contact(
        &self,
        ctx: &ClientContext,
        user: &str,
        purpose: Purpose,
        code: Zeroizing<String>,
    ) -> Result<UserView, ServiceError> {
        self.request(
            ctx,
            purpose.request_types().1,
            user,
            format!("user={user}"),
            async {
                user_id(user)?;
                let address = self.confirm_code(ctx, user, purpose, &code).await?;
                let (email, mobile) = match purpose {
                    Purpose::ChangeMobile => (None, Some(address.as_str())),
                    _ => (Some(address.as_str()), None),
                };
                self.store
                    .update_user_contact(ctx.id(), user, email, mobile)
                    .await?;
                self.user_view(ctx, user).await
            },
        )
        .await
    }

    async fn user_view(&self, ctx: &ClientContext, user: &str) -> Result<UserView, ServiceError> {
        let record = self
            .store
            .user(ctx.id(), user)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", user))?;
        Ok(crate::users::view(record, self.now()))
    }

    /// Get User Profile: the user, their devices and their keys.
    pub async fn get_user_profile(
        &self,
        ctx: &ClientContext,
        user: &str,
        paging: UserProfilePaging<'_>,
    ) -> Result<UserProfile, ServiceError> {
        self.request(
            ctx,
            RequestType::GetUserProfile,
            user,
            format!("user={user}"),
            async {
                user_id(user)?;
                let limit = crate::paging::checked_limit(paging.limit)?;
                let view = self.user_view(ctx, user).await?;
                let devices: Vec<DeviceView> = self
                    .store
                    .devices(ctx.id(), user, paging.devices_after, limit)
                    .await?
                    .into_iter()
                    .map(crate::devices::view)
                    .collect();
                let keys: Vec<KeyView> = self
                    .store
                    .keys(ctx.id(), user, paging.keys_after, limit)
                    .await?
                    .iter()
                    .map(|k| crate::keys::view(k, false))
                    .collect();
                Ok(UserProfile {
                    user: view,
                    devices_next: crate::paging::next_cursor(&devices, limit, |d| {
                        d.device_id.clone()
                    }),
                    devices,
                    keys_next: crate::paging::next_cursor(&keys, limit, |k| k.key_id.clone()),
                    keys,
                })
            },
        )
        .await
    }
}
