//! Opaque references to one authorisation request, bound to its client, user and key: what
//! the CSC API hands a signature application as its SAD (docs/csc.md "The SAD"). The
//! reference is not the SAD itself — that stays in the store, signed by the device or by
//! `sam`, and is verified again at Sign — but a capability to ask for that one request's
//! signature: `sad1.<request id>.<tag>`, the tag an HMAC-SHA-256 under the deployment's code
//! key over the purpose, the request id, the client, the user and the key. A reference
//! presented by another client or user, or for another credential, does not open; nor does
//! an altered one. Every node opens what another made (they share the code key), and nothing
//! is stored: the request's own state (authorised once, signed once, expiring) is the rest.

use base64ct::Encoding as _;

use crate::service::{ClientContext, Service};
use crate::{ErrorCode, ServiceError};

/// What a reference is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferencePurpose {
    /// The CSC `SAD`: `signHash` with it signs the authorised request.
    Sad,
    /// The CSC `handle` of an authorisation waiting for the user's device.
    Handle,
}

impl ReferencePurpose {
    const fn prefix(self) -> &'static str {
        match self {
            Self::Sad => "sad1.",
            Self::Handle => "hdl1.",
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Sad => "request reference: sad",
            Self::Handle => "request reference: handle",
        }
    }

    fn refused(self) -> ServiceError {
        match self {
            Self::Sad => ServiceError::new(
                ErrorCode::SadInvalid,
                "the SAD is not one this service issued to this client and user for this \
                 credential",
            ),
            Self::Handle => ServiceError::not_found("handle", "(as given)"),
        }
    }
}

impl Service {
    fn reference_tag(
        &self,
        purpose: ReferencePurpose,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
        request: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        // Ids cannot hold a line break (their grammars), so the fields cannot run together.
        let bound = format!("{}\n{user}\n{key_id}", ctx.id());
        self.code_key()?.hash(purpose.label(), request, &bound)
    }

    /// The reference to `request` of `user`'s key `key_id` under `ctx`.
    pub fn request_reference(
        &self,
        purpose: ReferencePurpose,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
        request: &str,
    ) -> Result<String, ServiceError> {
        crate::sap::request_id(request)?;
        let tag = self.reference_tag(purpose, ctx, user, key_id, request)?;
        Ok(format!(
            "{}{request}.{}",
            purpose.prefix(),
            base64ct::Base64UrlUnpadded::encode_string(&tag)
        ))
    }

    /// The request a reference names, if it was made for this client, user and key.
    pub fn open_request_reference(
        &self,
        purpose: ReferencePurpose,
        ctx: &ClientContext,
        user: &str,
        key_id: &str,
        reference: &str,
    ) -> Result<String, ServiceError> {
        let (request, tag) = reference
            .strip_prefix(purpose.prefix())
            .and_then(|rest| rest.split_once('.'))
            .filter(|(request, tag)| request.len() == 32 && tag.len() == 43)
            .ok_or_else(|| purpose.refused())?;
        crate::sap::request_id(request).map_err(|_| purpose.refused())?;
        let given = base64ct::Base64UrlUnpadded::decode_vec(tag).map_err(|_| purpose.refused())?;
        let expected = self.reference_tag(purpose, ctx, user, key_id, request)?;
        if bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_slice(),
            expected.as_slice(),
        )) {
            Ok(request.to_owned())
        } else {
            Err(purpose.refused())
        }
    }
}
