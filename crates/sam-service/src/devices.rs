//! Seed 002's device request types: Register Device, Get Device, Get Devices, Delete Device.
//!
//! Registering needs **proof of possession** of the authorisation key: the device signs
//! [`registration_message`] — `"sam-device-registration-v1" 0x00 client 0x00 user 0x00 device
//! 0x00 SHA-256(SubjectPublicKeyInfo)` — with the key it registers, in the JOSE algorithm it
//! names (RSA and ECDSA sign the message's hash under the algorithm's hash; ML-DSA signs the
//! message). The profile's device rules apply: the authorisation key spec, biometric and
//! secure-element requirements, and the maximum number of devices (exact under races).

use crate::ErrorCode;
use sam_algorithms::{JwsAlgorithm, KeySpec, SignatureAlgorithm};
use sam_profile::ProfileId;
use sam_sad::{DeviceId, UserId};
use sam_store::{DeviceAdd, StoredDevice};
use serde::Serialize;

use crate::ServiceError;
use crate::service::{ClientContext, Service};
use sam_plan::RequestType;

/// Register Device.
#[derive(Clone, Debug, Default)]
pub struct RegisterDevice {
    /// The user it authorises for.
    pub user_id: String,
    /// The device's id (1 to 64 of `a-zA-Z0-9_.-`).
    pub device_id: String,
    /// The profile whose device rules apply (`None`: the client's default profile).
    pub profile_id: Option<u32>,
    /// The authorisation public key, DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// The JOSE algorithm the device signs SADs with (e.g. `ES256`, `ML-DSA-65`).
    pub algorithm: String,
    /// Whether the key is unlocked by biometrics.
    pub biometric: bool,
    /// Whether the key lives in a secure element.
    pub secure_element: bool,
    /// The signature over [`registration_message`] with that key.
    pub proof: Vec<u8>,
}

/// One page of Get Devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicesPage {
    /// The user's devices, in id order.
    pub devices: Vec<DeviceView>,
    /// The id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// A device as the API shows one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceView {
    /// The id.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// Its JOSE algorithm.
    pub algorithm: String,
    /// Biometric unlock.
    pub biometric: bool,
    /// Secure element.
    pub secure_element: bool,
    /// When it was registered (RFC 3339).
    pub created_at: String,
}

pub use sam_sad::registration_message;

pub(crate) fn view(d: StoredDevice) -> DeviceView {
    DeviceView {
        device_id: d.device_id,
        user_id: d.user_id,
        algorithm: d.algorithm,
        biometric: d.biometric,
        secure_element: d.secure_element,
        created_at: d.created_at.to_string(),
    }
}

/// Checks the proof of possession under the registered key.
pub(crate) fn check_proof(
    algorithm: JwsAlgorithm,
    spec: KeySpec,
    spki: &[u8],
    message: &[u8],
    proof: &[u8],
) -> Result<(), ServiceError> {
    let signature = algorithm.signature_algorithm();
    let padding = match signature {
        SignatureAlgorithm::RsaPss(_) => sam_algorithms::RsaPadding::Pss,
        _ => sam_algorithms::RsaPadding::Pkcs1v15,
    };
    let input = match signature.hash_algorithm() {
        Some(h) => sam_keys::Input::Digest(h.digest(message)),
        None => sam_keys::Input::Message(message),
    };
    sam_keys::verify(spki, spec, padding, &input, proof).map_err(|_| {
        ServiceError::new(
            ErrorCode::ProofOfPossessionFailed,
            "the proof does not verify under the registered key",
        )
    })
}

impl Service {
    /// Register Device.
    pub async fn register_device(
        &self,
        ctx: &ClientContext,
        request: RegisterDevice,
    ) -> Result<DeviceView, ServiceError> {
        let detail = format!(
            "user={} device={} profile={:?}",
            request.user_id, request.device_id, request.profile_id
        );
        let actor = request.user_id.clone();
        self.request(ctx, RequestType::RegisterDevice, &actor, detail, async {
            let user =
                UserId::new(&request.user_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
            let device = DeviceId::new(&request.device_id)
                .map_err(|e| ServiceError::invalid(e.to_string()))?;
            let profile_id = self.requested_profile(ctx, request.profile_id).await?;
            ProfileId::new(profile_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
            let profile = self.client_profile(ctx, profile_id).await?;
            let rules = &profile.settings().authorisation_key;
            let algorithm: JwsAlgorithm = request.algorithm.parse().map_err(|_| {
                ServiceError::invalid(format!("unknown JOSE algorithm {:?}", request.algorithm))
            })?;
            let spec = sam_keys::public_key_spec(&request.public_key)
                .map_err(|e| ServiceError::invalid(format!("public key: {e}")))?;
            if spec != rules.key {
                return Err(ServiceError::new(
                    ErrorCode::DeviceNotAllowed,
                    format!("the profile's devices hold {} keys, not {spec}", rules.key),
                ));
            }
            if !algorithm.fits_key(spec) {
                return Err(ServiceError::invalid(format!(
                    "{algorithm} does not fit a {spec} key"
                )));
            }
            // Seed 001's device *Hashing Algorithm*: the hash of the JOSE algorithm the device
            // signs its messages with (pure ML-DSA has none of its own).
            if let Some(hash) = algorithm.signature_algorithm().hash_algorithm()
                && hash != rules.hash_algorithm
            {
                return Err(ServiceError::new(
                    ErrorCode::DeviceNotAllowed,
                    format!(
                        "the profile's devices sign with {}, not {hash} ({algorithm})",
                        rules.hash_algorithm
                    ),
                ));
            }
            if rules.biometric_required && !request.biometric {
                return Err(ServiceError::new(
                    ErrorCode::DeviceNotAllowed,
                    "the profile requires biometric unlock",
                ));
            }
            if rules.secure_element_required && !request.secure_element {
                return Err(ServiceError::new(
                    ErrorCode::DeviceNotAllowed,
                    "the profile requires a secure element",
                ));
            }
            let message = registration_message(
                ctx.id(),
                user.as_str(),
                device.as_str(),
                &request.public_key,
            );
            check_proof(
                algorithm,
                spec,
                &request.public_key,
                &message,
                &request.proof,
            )?;

            let record = StoredDevice {
                device_id: device.as_str().to_owned(),
                client_id: ctx.id().to_owned(),
                user_id: user.as_str().to_owned(),
                public_key: request.public_key.clone(),
                algorithm: algorithm.name().to_owned(),
                biometric: request.biometric,
                secure_element: request.secure_element,
                created_at: self.now(),
            };
            match self
                .store
                .add_device(&record, i64::from(rules.device_limit()))
                .await?
            {
                DeviceAdd::Added => Ok(view(record)),
                DeviceAdd::UnknownUser => Err(ServiceError::not_found("user", user.as_str())),
                DeviceAdd::LimitReached => Err(ServiceError::new(
                    ErrorCode::DeviceLimitReached,
                    format!(
                        "the profile allows {} devices per user",
                        rules.device_limit()
                    ),
                )),
                DeviceAdd::DuplicateId => Err(ServiceError::new(
                    ErrorCode::DeviceExists,
                    format!("device {} is already registered", device.as_str()),
                )),
            }
        })
        .await
    }

    /// Get Device.
    pub async fn get_device(
        &self,
        ctx: &ClientContext,
        id: &str,
    ) -> Result<DeviceView, ServiceError> {
        self.request(
            ctx,
            RequestType::GetDevice,
            "-",
            format!("device={id}"),
            async {
                DeviceId::new(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                self.store
                    .device(ctx.id(), id)
                    .await?
                    .map(view)
                    .ok_or_else(|| ServiceError::not_found("device", id))
            },
        )
        .await
    }

    /// Get Devices of a user: a page of at most `limit` (1 to 1000) in id order after the
    /// device id `after`.
    pub async fn get_devices(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<DevicesPage, ServiceError> {
        self.request(
            ctx,
            RequestType::GetDevices,
            user_id,
            format!("user={user_id}"),
            async {
                UserId::new(user_id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                let limit = crate::paging::checked_limit(limit)?;
                if self.store.user(ctx.id(), user_id).await?.is_none() {
                    return Err(ServiceError::not_found("user", user_id));
                }
                let devices: Vec<DeviceView> = self
                    .store
                    .devices(ctx.id(), user_id, after, limit)
                    .await?
                    .into_iter()
                    .map(view)
                    .collect();
                let next = crate::paging::next_cursor(&devices, limit, |d| d.device_id.clone());
                Ok(DevicesPage { devices, next })
            },
        )
        .await
    }

    /// Delete Device: SADs it signs are refused from now on (its key is gone).
    pub async fn delete_device(&self, ctx: &ClientContext, id: &str) -> Result<(), ServiceError> {
        self.request(
            ctx,
            RequestType::DeleteDevice,
            "-",
            format!("device={id}"),
            async {
                DeviceId::new(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
                if self.store.delete_device(ctx.id(), id).await? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found("device", id))
                }
            },
        )
        .await
    }
}
