//! The 33 SAM request types of seed 002 (*Apply Transaction Limit by Request Type*): each is
//! a request a business application sends, and each can have its own limit in a plan.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::PlanError;

macro_rules! request_types {
    ($($variant:ident => $code:literal, $title:literal;)*) => {
        /// One of seed 002's SAM request types.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RequestType {
            $(
                #[doc = $title]
                $variant,
            )*
        }

        impl RequestType {
            /// Every request type, in seed 002's order.
            pub const ALL: &'static [RequestType] = &[$(RequestType::$variant),*];

            /// The stable `snake_case` code (configuration, API, audit).
            pub const fn code(self) -> &'static str {
                match self {
                    $(RequestType::$variant => $code,)*
                }
            }

            /// The name seed 002 gives it.
            pub const fn title(self) -> &'static str {
                match self {
                    $(RequestType::$variant => $title,)*
                }
            }
        }
    };
}

request_types! {
    RegisterUser => "register_user", "Register User";
    UpdateUser => "update_user", "Update User";
    DeleteUser => "delete_user", "Delete User";
    GetUser => "get_user", "Get User";
    GetUsers => "get_users", "Get Users";
    ChangePassword => "change_password", "Change Password";
    GetUserProfile => "get_user_profile", "Get User Profile";
    RecoverPassword => "recover_password", "Recover Password";
    ConfirmRecoverPassword => "confirm_recover_password", "Confirm Recover Password";
    ChangeEmail => "change_email", "Change Email";
    ConfirmChangeEmail => "confirm_change_email", "Confirm Change Email";
    ChangeMobile => "change_mobile", "Change Mobile";
    ConfirmChangeMobile => "confirm_change_mobile", "Confirm Change Mobile";
    Authenticate => "authenticate", "Authenticate";
    KeyGeneration => "key_generation", "Key Generation";
    KeyDelete => "key_delete", "Key Delete";
    GetCsr => "get_csr", "Get CSR";
    ImportCertificate => "import_certificate", "Import Certificate";
    GetCertificate => "get_certificate", "Get Certificate";
    GetCertificates => "get_certificates", "Get Certificates";
    RegisterDevice => "register_device", "Register Device";
    GetDevice => "get_device", "Get Device";
    GetDevices => "get_devices", "Get Devices";
    DeleteDevice => "delete_device", "Delete Device";
    Authorise => "authorise", "Authorise";
    Sign => "sign", "Sign";
    GetPendingRequests => "get_pending_requests", "Get Pending Requests";
    GetPendingRequestsList => "get_pending_requests_list", "Get Pending Requests List";
    DeclineRequest => "decline_request", "Decline Request";
    Status => "status", "Status";
    GenerateOtp => "generate_otp", "Generate OTP";
    VerifyOtp => "verify_otp", "Verify OTP";
    GetSamProfile => "get_sam_profile", "Get SAM Profile";
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for RequestType {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Self, PlanError> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.code() == s)
            .ok_or_else(|| PlanError::UnknownRequestType(s.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_the_seeds_33_with_unique_codes_that_round_trip() {
        assert_eq!(RequestType::ALL.len(), 33);
        let codes: std::collections::BTreeSet<_> =
            RequestType::ALL.iter().map(|t| t.code()).collect();
        assert_eq!(codes.len(), 33);
        for t in RequestType::ALL {
            assert_eq!(t.code().parse::<RequestType>().unwrap(), *t);
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.code()));
        }
        assert_eq!(RequestType::GetCsr.title(), "Get CSR");
        assert!("sign_everything".parse::<RequestType>().is_err());
    }
}
