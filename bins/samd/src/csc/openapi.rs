//! The OpenAPI 3.1 document of the CSC API facade, served at `GET /csc/openapi.json` beside the
//! native `/openapi.json`. The schemas are derived from the very types the handlers read and
//! write (`utoipa::ToSchema`); the operations come from [`CALLS`], which a test holds equal to
//! what `info` lists for each version — so the document names exactly the calls served. A
//! request type that both versions share carries both versions' fields, each saying which
//! version it belongs to; a field of the other version is refused (`400`).

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref,
};

use super::Version;

/// How a call is authenticated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// None (`info`).
    None,
    /// HTTP Basic and/or the TLS client certificate (`auth/login`, docs/csc.md).
    Login,
    /// The user's access token.
    Bearer,
}

/// One answer of a call: status, what it means, and its body's schema (none: no body).
type Answer = (u16, &'static str, Option<&'static str>);

/// One call of the facade.
struct Call {
    method: &'static str,
    v1: bool,
    v2: bool,
    summary: &'static str,
    request: &'static str,
    answers: &'static [Answer],
    auth: Auth,
}

/// Every call served, as `info.methods` names it.
const CALLS: &[Call] = &[
    Call {
        method: "info",
        v1: true,
        v2: true,
        summary: "Who the service is and what it implements (also served as GET)",
        request: "CscInfoRequest",
        answers: &[(200, "The service.", Some("CscInfoResponse"))],
        auth: Auth::None,
    },
    Call {
        method: "auth/login",
        v1: true,
        v2: true,
        summary: "An access token for one user of one client: the user's password as Basic \
                  under the client's TLS certificate; the client's own credentials and userID; \
                  or a refresh token with the client's credentials",
        request: "CscLoginRequest",
        answers: &[(200, "The tokens.", Some("CscLoginResponse"))],
        auth: Auth::Login,
    },
    Call {
        method: "auth/revoke",
        v1: true,
        v2: true,
        summary: "Revokes an access or refresh token of the bearer's (RFC 7009: 204 whether or \
                  not it was theirs)",
        request: "CscRevokeRequest",
        answers: &[(204, "Done.", None)],
        auth: Auth::Bearer,
    },
    Call {
        method: "credentials/list",
        v1: true,
        v2: true,
        summary: "The bearer's user's credentials (v2 also with their information)",
        request: "CscCredentialsListRequest",
        answers: &[(
            200,
            "A page of credentials.",
            Some("CscCredentialsListResponse"),
        )],
        auth: Auth::Bearer,
    },
    Call {
        method: "credentials/info",
        v1: true,
        v2: true,
        summary: "One of the bearer's user's credentials",
        request: "CscCredentialsInfoRequest",
        answers: &[(200, "The credential.", Some("CscCredentialInfo"))],
        auth: Auth::Bearer,
    },
    Call {
        method: "credentials/authorize",
        v1: true,
        v2: true,
        summary: "Authorises signatures of these hashes: by PIN or OTP (SCAL1), or on the \
                  user's device (v1 waits; v2 answers 202 with a handle)",
        request: "CscAuthorizeRequest",
        answers: &[
            (200, "The SAD.", Some("CscAuthorizeResponse")),
            (
                202,
                "v2, on the device: a handle for credentials/authorizeCheck.",
                Some("CscHandleResponse"),
            ),
        ],
        auth: Auth::Bearer,
    },
    Call {
        method: "credentials/authorizeCheck",
        v1: false,
        v2: true,
        summary: "Whether the user's device answered an authorisation",
        request: "CscAuthorizeCheckRequest",
        answers: &[
            (200, "Approved: the SAD.", Some("CscAuthorizeResponse")),
            (202, "Not answered yet.", Some("CscHandleResponse")),
        ],
        auth: Auth::Bearer,
    },
    Call {
        method: "credentials/sendOTP",
        v1: true,
        v2: true,
        summary: "Sends the user a one-time password for the credential",
        request: "CscSendOtpRequest",
        answers: &[(204, "Sent.", None)],
        auth: Auth::Bearer,
    },
    Call {
        method: "credentials/extendTransaction",
        v1: true,
        v2: true,
        summary: "Confirms that a SAD still stands (for these hashes) and how long it has",
        request: "CscExtendTransactionRequest",
        answers: &[(200, "The same SAD.", Some("CscAuthorizeResponse"))],
        auth: Auth::Bearer,
    },
    Call {
        method: "signatures/signHash",
        v1: true,
        v2: true,
        summary: "Signs exactly the authorised hashes, once (v2 operationMode A: in the \
                  background)",
        request: "CscSignHashRequest",
        answers: &[
            (200, "The signature values.", Some("CscSignHashResponse")),
            (
                202,
                "v2, operationMode A: poll signatures/signPolling.",
                Some("CscResponseIdResponse"),
            ),
        ],
        auth: Auth::Bearer,
    },
    Call {
        method: "signatures/signPolling",
        v1: false,
        v2: true,
        summary: "The outcome of an asynchronous signHash",
        request: "CscSignPollingRequest",
        answers: &[
            (200, "The signature values.", Some("CscSignHashResponse")),
            (202, "Still being made.", Some("CscResponseIdResponse")),
        ],
        auth: Auth::Bearer,
    },
    Call {
        method: "signatures/signDoc",
        v1: false,
        v2: true,
        summary: "Detached CAdES signatures (B-B; B-T with a time-stamp authority) of exactly \
                  the documents authorised with signature_format C, once",
        request: "CscSignDocRequest",
        answers: &[(200, "The signatures.", Some("CscSignDocResponse"))],
        auth: Auth::Bearer,
    },
    Call {
        method: super::time_stamp::METHOD,
        v1: true,
        v2: true,
        summary: "An RFC 3161 time-stamp token for a hash, from the configured time-stamp \
                  authority (documented and served only with one)",
        request: "CscTimestampRequest",
        answers: &[(200, "The token.", Some("CscTimestampResponse"))],
        auth: Auth::Bearer,
    },
];

/// The statuses a refusal can have (docs/api.md's kinds), each with CSC's error body.
const REFUSALS: &[(u16, &str)] = &[
    (400, "A malformed request, or one that breaks a rule."),
    (401, "Not authenticated, or an invalid access token."),
    (403, "Not allowed."),
    (
        404,
        "No such credential, request, handle or response (or not the bearer's).",
    ),
    (409, "A request no longer in the state the call needs."),
    (413, "The body is too large."),
    (423, "The user is locked after failed PINs."),
    (429, "A plan limit or throttling; retry later."),
    (501, "Not supported by this service."),
    (503, "Busy or unavailable for now; retry later."),
];

fn schema_ref(name: &str) -> Ref {
    Ref::from_schema_name(name)
}

/// The calls `version` serves, by `info`'s names, with (`time_stamps`) or without a
/// time-stamp authority.
pub(crate) fn documented(version: Version, time_stamps: bool) -> Vec<&'static str> {
    CALLS
        .iter()
        .filter(|c| match version {
            Version::V1 => c.v1,
            Version::V2 => c.v2,
        })
        .filter(|c| time_stamps || c.method != super::time_stamp::METHOD)
        .map(|c| c.method)
        .collect()
}

fn operation(call: &Call, version: Version) -> utoipa::openapi::path::Operation {
    let prefix = match version {
        Version::V1 => "v1",
        Version::V2 => "v2",
    };
    let mut responses = ResponsesBuilder::new();
    for (status, description, schema) in call.answers {
        // A v2-only answer (202 of authorize and signHash) is not v1's.
        if version == Version::V1 && *status == 202 {
            continue;
        }
        let mut response = ResponseBuilder::new().description(*description);
        if let Some(schema) = schema {
            response = response.content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref(schema)))
                    .build(),
            );
        }
        responses = responses.response(status.to_string(), response.build());
    }
    for (status, description) in REFUSALS {
        responses = responses.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(schema_ref("CscErrorResponse")))
                        .build(),
                )
                .build(),
        );
    }
    let body = RequestBodyBuilder::new()
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(schema_ref(call.request)))
                .build(),
        )
        .build();
    let mut builder = OperationBuilder::new()
        .tag(format!("CSC {prefix}"))
        .operation_id(Some(format!(
            "csc_{prefix}_{}",
            call.method.replace('/', "_")
        )))
        .summary(Some(call.summary))
        .request_body(Some(body))
        .responses(responses.build());
    builder = match call.auth {
        Auth::None => builder,
        Auth::Bearer => builder.security(SecurityRequirement::new(
            "csc_access_token",
            Vec::<String>::new(),
        )),
        Auth::Login => builder
            .security(SecurityRequirement::new(
                "client_basic",
                Vec::<String>::new(),
            ))
            .security(SecurityRequirement::new(
                "client_certificate",
                Vec::<String>::new(),
            )),
    };
    builder.build()
}

/// The document of a service with (`time_stamps`) or without a time-stamp authority.
pub(crate) fn document(time_stamps: bool) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for version in [Version::V1, Version::V2] {
        let prefix = match version {
            Version::V1 => "v1",
            Version::V2 => "v2",
        };
        for call in CALLS
            .iter()
            .filter(|c| documented(version, time_stamps).contains(&c.method))
        {
            let path = format!("/csc/{prefix}/{}", call.method);
            let mut item = PathItem::new(HttpMethod::Post, operation(call, version));
            if call.method == "info" {
                // Lenient clients GET it; the answer is the same.
                item.get = item.post.clone();
                if let Some(get) = item.get.as_mut() {
                    get.request_body = None;
                    get.operation_id = Some(format!("csc_{prefix}_info_get"));
                }
            }
            paths = paths.path(path, item);
        }
    }
    let components = super::schemas(ComponentsBuilder::new())
        .security_scheme(
            "csc_access_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        )
        .security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some(
                    "The business application's TLS client certificate (docs/csc.md)".into(),
                ),
                deprecated: None,
                extensions: None,
            },
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(
                    "sam: Cloud Signature Consortium API (1.0.4.0 at /csc/v1, 2.2.0.0 at /csc/v2)",
                )
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The CSC API facade of samd. docs/csc.md maps every call onto sam's \
                     Signature Activation Protocol.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

/// `GET /csc/openapi.json`: the calls this service serves as configured.
pub(crate) async fn serve(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> axum::Json<OpenApi> {
    axum::Json(document(state.csc_offer.time_stamps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_exactly_what_info_lists() {
        for time_stamps in [false, true] {
            for version in [Version::V1, Version::V2] {
                let mut documented = documented(version, time_stamps);
                let mut listed = super::super::info::methods(version, time_stamps);
                documented.sort_unstable();
                listed.sort_unstable();
                assert_eq!(documented, listed, "{version:?}, time-stamps {time_stamps}");
            }
            let document = serde_json::to_value(document(time_stamps)).unwrap();
            let paths = document["paths"].as_object().unwrap();
            assert_eq!(
                paths.len(),
                documented(Version::V1, time_stamps).len()
                    + documented(Version::V2, time_stamps).len()
            );
            assert_eq!(
                paths.contains_key("/csc/v2/signatures/timestamp"),
                time_stamps
            );
        }
        let document = serde_json::to_value(document(true)).unwrap();
        let paths = document["paths"].as_object().unwrap();
        // Every schema an operation names is in the components.
        let text = document.to_string();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for name in text
            .split("#/components/schemas/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
        {
            assert!(
                schemas.contains_key(name),
                "{name} is not in the components"
            );
        }
        assert!(paths["/csc/v1/info"]["get"].is_object());
        assert!(paths["/csc/v2/signatures/signPolling"]["post"].is_object());
        assert!(paths.get("/csc/v1/signatures/signPolling").is_none());
        assert!(
            paths["/csc/v1/signatures/signHash"]["post"]["responses"]
                .get("202")
                .is_none(),
            "v1 has no asynchronous answers"
        );
    }
}
