//! Seed 002's user request types: Register User, Get User, Get Users, Update User, Delete User,
//! Change Password, Authenticate. Passwords are stored as Argon2id PHC strings (RFC 9106,
//! the `argon2` crate's defaults: 19 MiB, 2 passes, 1 lane) and checked in constant time;
//! hashing runs off the async threads.

use crate::ErrorCode;
use sam_sad::UserId;
use sam_store::{NewUser, UserRecord};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::ServiceError;
use crate::service::{ClientContext, Service};
use sam_plan::RequestType;

/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most users one Get Users page returns.
pub const MAX_PAGE: i64 = crate::paging::MAX_PAGE;

/// Register User. Its `Debug` never shows the password (SECURITY.md invariant 4).
#[derive(Clone, Default)]
pub struct RegisterUser {
    /// The user's id (1 to 50 of `a-zA-Z0-9_.@-`).
    pub user_id: String,
    /// E-mail address for confirmation codes and OTPs.
    pub email: Option<String>,
    /// Mobile number (E.164, `+` and 8 to 15 digits) for OTPs.
    pub mobile: Option<String>,
    /// A password for Authenticate, if the application uses it.
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for RegisterUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterUser")
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("mobile", &self.mobile)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A user as the API shows one: never the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// The id.
    pub user_id: String,
    /// E-mail address, if any.
    pub email: Option<String>,
    /// Mobile number, if any.
    pub mobile: Option<String>,
    /// Whether a password is set.
    pub has_password: bool,
    /// Whether repeated failures have locked Authenticate now.
    pub locked: bool,
    /// When the user was registered (RFC 3339).
    pub created_at: String,
}

/// One page of Get Users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsersPage {
    /// The users, in id order.
    pub users: Vec<UserView>,
    /// The id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

fn user_id(text: &str) -> Result<UserId, ServiceError> {
    UserId::new(text).map_err(|e| ServiceError::invalid(e.to_string()))
}

pub(crate) fn email(text: &str) -> Result<String, ServiceError> {
    let ok = text.len() <= 254
        && !text.chars().any(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        });
    if ok {
        Ok(text.to_owned())
    } else {
        Err(ServiceError::invalid(format!(
            "{text:?} is not an e-mail address"
        )))
    }
}

pub(crate) fn mobile(text: &str) -> Result<String, ServiceError> {
    let digits = text.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(ServiceError::invalid(format!(
            "{text:?} is not a mobile number in E.164 form (+ and 8 to 15 digits)"
        )))
    }
}

pub(crate) fn check_password_rules(password: &str) -> Result<(), ServiceError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ServiceError::invalid(format!(
            "a password has at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) fn view(record: UserRecord, now: sam_algorithms::UnixTime) -> UserView {
    let u = record.user;
    UserView {
        user_id: u.user_id,
        email: (!u.email.is_empty()).then_some(u.email),
        mobile: (!u.mobile.is_empty()).then_some(u.mobile),
        has_password: !u.password_hash.is_empty(),
        locked: record.locked_until.is_some_and(|until| now < until),
        created_at: u.created_at.to_string(),
    }
}

impl Service {
    /// Register User.
    pub async fn register_user(
        &self,
        ctx: &ClientContext,
        request: RegisterUser,
    ) -> Result<UserView, ServiceError> {
        let detail = format!("user={}", request.user_id);
        self.request(
            ctx,
            RequestType::RegisterUser,
            &request.user_id,
            detail,
            async {
                let id = user_id(&request.user_id)?;
                let email = request.email.as_deref().map(email).transpose()?;
                let mobile = request.mobile.as_deref().map(mobile).transpose()?;
                let password_hash = match request.password {
                    Some(p) => {
                        check_password_rules(&p)?;
                        self.secrets.hash(p).await?
                    }
                    None => String::new(),
                };
                let now = self.now();
                self.store
                    .create_user(&NewUser {
                        client_id: ctx.id().to_owned(),
                        user_id: id.as_str().to_owned(),
                        email: email.unwrap_or_default(),
                        mobile: mobile.unwrap_or_default(),
                        password_hash,
                        created_at: now,
                    })
                    .await
                    .map_err(|e| match e {
                        sam_store::StoreError::Conflict(_) => ServiceError::new(
                            ErrorCode::UserExists,
                            format!("user {} is already registered", id.as_str()),
                        ),
                        other => other.into(),
                    })?;
                self.get_user_record(ctx, id.as_str()).await
            },
        )
        .await
    }

    async fn get_user_record(
        &self,
        ctx: &ClientContext,
        id: &str,
    ) -> Result<UserView, ServiceError> {
        let record = self
            .store
            .user(ctx.id(), id)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", id))?;
        Ok(view(record, self.now()))
    }

    /// Get User.
    pub async fn get_user(&self, ctx: &ClientContext, id: &str) -> Result<UserView, ServiceError> {
        self.request(ctx, RequestType::GetUser, id, format!("user={id}"), async {
            user_id(id)?;
            self.get_user_record(ctx, id).await
        })
        .await
    }

    /// Get Users: a page of at most `limit` (1 to 1000) users after `after`.
    pub async fn get_users(
        &self,
        ctx: &ClientContext,
        after: Option<&str>,
        limit: i64,
    ) -> Result<UsersPage, ServiceError> {
        self.request(
            ctx,
            RequestType::GetUsers,
            "-",
            format!("limit={limit}"),
            async {
                let limit = crate::paging::checked_limit(limit)?;
                let records = self.store.users(ctx.id(), after, limit).await?;
                let now = self.now();
                let next = crate::paging::next_cursor(&records, limit, |r| r.user.user_id.clone());
                Ok(UsersPage {
                    users: records.into_iter().map(|r| view(r, now)).collect(),
                    next,
                })
            },
        )
        .await
    }

    /// Update User: new e-mail and/or mobile. (Seed 002's Change Email / Change Mobile
    /// confirm the new address with a code first; this is the client's direct update.)
    pub async fn update_user(
        &self,
        ctx: &ClientContext,
        id: &str,
        new_email: Option<&str>,
        new_mobile: Option<&str>,
    ) -> Result<UserView, ServiceError> {
        self.request(
            ctx,
            RequestType::UpdateUser,
            id,
            format!("user={id}"),
            async {
                user_id(id)?;
                let e = new_email.map(email).transpose()?;
                let m = new_mobile.map(mobile).transpose()?;
                if e.is_none() && m.is_none() {
                    return Err(ServiceError::invalid(
                        "nothing to update: give email and/or mobile",
                    ));
                }
                if !self
                    .store
                    .update_user_contact(ctx.id(), id, e.as_deref(), m.as_deref())
                    .await?
                {
                    return Err(ServiceError::not_found("user", id));
                }
                self.get_user_record(ctx, id).await
            },
        )
        .await
    }

    /// Delete User, with their devices, keys and certificates.
    pub async fn delete_user(&self, ctx: &ClientContext, id: &str) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::DeleteUser,
            id,
            format!("user={id}"),
            async {
                user_id(id)?;
                if self.store.delete_user(ctx.id(), id).await? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found("user", id))
                }
            },
        )
        .await
    }

    /// Change Password: the current password is required when one is set.
    pub async fn change_password(
        &self,
        ctx: &ClientContext,
        id: &str,
        current: Option<Zeroizing<String>>,
        new: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::ChangePassword,
            id,
            format!("user={id}"),
            async {
                user_id(id)?;
                check_password_rules(&new)?;
                let record = self
                    .store
                    .user(ctx.id(), id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("user", id))?;
                if !record.user.password_hash.is_empty() {
                    let current = current.ok_or_else(|| {
                        ServiceError::new(
                            ErrorCode::AuthenticationFailed,
                            "the current password is required",
                        )
                    })?;
                    if !self
                        .secrets
                        .verify(current, record.user.password_hash)
                        .await?
                    {
                        return Err(ServiceError::new(
                            ErrorCode::AuthenticationFailed,
                            "the current password is wrong",
                        ));
                    }
                }
                let hash = self.secrets.hash(new).await?;
                if self.store.set_password_hash(ctx.id(), id, &hash).await? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found("user", id))
                }
            },
        )
        .await
    }

    /// Authenticate: checks the user's password. Unknown users, users without a password and
    /// wrong passwords get the same `authentication_failed` (and cost the same time); after
    /// the configured number of failures in a row the user is locked (`user_locked`) for the
    /// configured time, whatever password is given.
    pub async fn authenticate(
        &self,
        ctx: &ClientContext,
        id: &str,
        password: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::Authenticate,
            id,
            format!("user={id}"),
            async {
                user_id(id)?;
                self.check_password(ctx, id, password).await
            },
        )
        .await
    }

    /// Checks the user's password with the lock-out of Authenticate (also the PIN of SCAL1).
    pub(crate) async fn check_password(
        &self,
        ctx: &ClientContext,
        id: &str,
        password: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let record = self.store.user(ctx.id(), id).await?;
        if let Some(until) = record.as_ref().and_then(|r| r.locked_until)
            && now < until
        {
            return Err(ServiceError::new(
                ErrorCode::UserLocked,
                format!("too many failed attempts; locked until {until}"),
            ));
        }
        let phc = record.map(|r| r.user.password_hash).unwrap_or_default();
        if self.secrets.verify(password, phc).await? {
            self.store
                .reset_failed_authentications(ctx.id(), id)
                .await?;
            return Ok(());
        }
        self.store
            .record_failed_authentication(
                ctx.id(),
                id,
                now,
                self.settings.max_failed_authentications,
                self.settings.lock_secs,
            )
            .await?;
        Err(ServiceError::new(
            ErrorCode::AuthenticationFailed,
            "wrong user or password",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let request = RegisterUser {
            user_id: "alice".into(),
            password: Some(Zeroizing::new("correct horse battery".into())),
            ..Default::default()
        };
        let shown = format!("{request:?}");
        assert!(
            shown.contains("<redacted>") && !shown.contains("horse"),
            "{shown}"
        );
    }

    #[test]
    fn contact_details_and_passwords_are_checked() {
        assert!(email("alice@example.com").is_ok());
        for bad in [
            "alice",
            "@example.com",
            "alice@example",
            "a lice@example.com",
            "alice@.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(mobile("+32470123456").is_ok());
        for bad in [
            "32470123456",
            "+3247",
            "+32 470 123456",
            "+1234567890123456",
        ] {
            assert!(mobile(bad).is_err(), "{bad}");
        }
        assert!(check_password_rules("correct horse").is_ok());
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
