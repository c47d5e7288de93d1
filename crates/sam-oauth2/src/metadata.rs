//! The authorisation server metadata document (RFC 8414 §2), served at
//! `/.well-known/oauth-authorization-server` and named by `info.oauth2` (CSC API 2.2.0.0
//! §11.1): the endpoints, and exactly what this server accepts.

use serde::Serialize;

/// The metadata document.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Metadata {
    /// The issuer identifier (`iss` of every authorisation response, RFC 9207).
    pub issuer: String,
    /// `oauth2/authorize`.
    pub authorization_endpoint: String,
    /// `oauth2/token`.
    pub token_endpoint: String,
    /// `oauth2/revoke` (RFC 7009).
    pub revocation_endpoint: String,
    /// `oauth2/pushed_authorize` (RFC 9126).
    pub pushed_authorization_request_endpoint: String,
    /// `["code"]`.
    pub response_types_supported: Vec<&'static str>,
    /// `["query"]`.
    pub response_modes_supported: Vec<&'static str>,
    /// The grants the token endpoint takes.
    pub grant_types_supported: Vec<&'static str>,
    /// `["S256"]`.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// How clients authenticate at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The same for the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `service` and `credential`.
    pub scopes_supported: Vec<&'static str>,
    /// `["credential"]` (RFC 9396 §10).
    pub authorization_details_types_supported: Vec<&'static str>,
    /// `true`: every authorisation response carries `iss` (RFC 9207 §3).
    pub authorization_response_iss_parameter_supported: bool,
    /// `false`: requests may come by PAR or directly.
    pub require_pushed_authorization_requests: bool,
}

impl Metadata {
    /// The document of the server whose issuer identifier is `issuer` (an `https` URL
    /// without a trailing slash) and whose endpoints are under `endpoints_base` (e.g.
    /// `https://sam.example/csc/v2/oauth2`).
    pub fn new(issuer: &str, endpoints_base: &str) -> Self {
        let endpoint = |name: &str| format!("{endpoints_base}/{name}");
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: endpoint("authorize"),
            token_endpoint: endpoint("token"),
            revocation_endpoint: endpoint("revoke"),
            pushed_authorization_request_endpoint: endpoint("pushed_authorize"),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            // client_credentials is read (`Grant`) but not served by sam: its tokens would
            // speak for no user, and every signature is a user's.
            grant_types_supported: vec!["authorization_code", "refresh_token"],
            code_challenge_methods_supported: vec!["S256"],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            scopes_supported: vec!["service", "credential"],
            authorization_details_types_supported: vec!["credential"],
            authorization_response_iss_parameter_supported: true,
            require_pushed_authorization_requests: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_the_endpoints_under_the_base() {
        let m = Metadata::new("https://sam.example", "https://sam.example/csc/v2/oauth2");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["issuer"], "https://sam.example");
        assert_eq!(
            json["pushed_authorization_request_endpoint"],
            "https://sam.example/csc/v2/oauth2/pushed_authorize"
        );
        assert_eq!(
            json["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(json["authorization_response_iss_parameter_supported"], true);
    }
}
