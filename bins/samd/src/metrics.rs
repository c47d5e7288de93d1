//! `/metrics` in the Prometheus text format (OpenMetrics): HTTP requests and their latencies
//! per route, the service's outcomes, signatures by key type, SAD refusals by reason, plan
//! refusals by code, and the health of each crypto source. The service reports through
//! [`sam_service::Observer`]; the HTTP figures come from a middleware; token health is read
//! when scraped.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    action: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    key_spec: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The outcomes that are a SAD (or its evidence) refused.
const SAD_REFUSALS: &[&str] = &[
    "sad_invalid",
    "sad_expired",
    "sad_replayed",
    "sad_unknown",
    "assertion_invalid",
    "otp_invalid",
];

/// Every metric of this process.
pub(crate) struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
    sad_refusals: Family<ReasonLabels, Counter>,
    plan_refusals: Family<ReasonLabels, Counter>,
    signatures: Family<KeyLabels, Counter>,
    token_available: Family<SourceLabels, Gauge>,
    open_keys: Family<SourceLabels, Gauge>,
    commit_groups: Gauge,
    grouped_transactions: Gauge,
}

impl Metrics {
    /// The registry with every metric registered.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("sam");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        let http_latency =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            http_latency.clone(),
        );
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "requests",
            "Service requests by request type and outcome (ok or the error code)",
            outcomes.clone(),
        );
        let sad_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "sad_failures",
            "SADs (or their SCAL1 evidence) refused, by reason",
            sad_refusals.clone(),
        );
        let plan_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "plan_refusals",
            "Requests refused by the client's service plan, by code",
            plan_refusals.clone(),
        );
        let signatures = Family::<KeyLabels, Counter>::default();
        registry.register(
            "signatures",
            "Signatures made, by key type",
            signatures.clone(),
        );
        let token_available = Family::<SourceLabels, Gauge>::default();
        registry.register(
            "crypto_source_available",
            "Whether each crypto source can sign now (1) or not (0)",
            token_available.clone(),
        );
        let open_keys = Family::<SourceLabels, Gauge>::default();
        registry.register(
            "crypto_source_open_keys",
            "Keys each crypto source keeps open between signatures now (the software source's \
             key cache)",
            open_keys.clone(),
        );
        let commit_groups = Gauge::default();
        registry.register(
            "store_commit_groups",
            "SQLite commits of grouped write transactions since start (group commit)",
            commit_groups.clone(),
        );
        let grouped_transactions = Gauge::default();
        registry.register(
            "store_grouped_transactions",
            "Write transactions those commits held since start; divided by the commits, the \
             mean group size",
            grouped_transactions.clone(),
        );
        Self {
            registry,
            open_keys,
            commit_groups,
            grouped_transactions,
            http_requests,
            http_latency,
            outcomes,
            sad_refusals,
            plan_refusals,
            signatures,
            token_available,
        }
    }

    /// The text exposition, with token health read now.
    fn render(&self, service: &sam_service::Service) -> String {
        for source in service.crypto_sources() {
            self.token_available
                .get_or_create(&SourceLabels {
                    source: source.name,
                })
                .set(i64::from(source.available));
        }
        for (source, open) in service.open_keys() {
            self.open_keys
                .get_or_create(&SourceLabels { source })
                .set(i64::try_from(open).unwrap_or(i64::MAX));
        }
        if let Some(commits) = service.store().group_commits() {
            self.commit_groups
                .set(i64::try_from(commits.groups).unwrap_or(i64::MAX));
            self.grouped_transactions
                .set(i64::try_from(commits.members).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "the metrics cannot be written");
        }
        text
    }
}

impl sam_service::Observer for Metrics {
    fn outcome(&self, action: sam_service::AuditAction, outcome: &str) {
        self.outcomes
            .get_or_create(&OutcomeLabels {
                action: action.code().to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        if SAD_REFUSALS.contains(&outcome) {
            self.sad_refusals
                .get_or_create(&ReasonLabels {
                    reason: outcome.to_owned(),
                })
                .inc();
        }
        if outcome.starts_with("plan_") {
            self.plan_refusals
                .get_or_create(&ReasonLabels {
                    reason: outcome.to_owned(),
                })
                .inc();
        }
    }

    fn signed(&self, key_spec: &str, count: usize) {
        self.signatures
            .get_or_create(&KeyLabels {
                key_spec: key_spec.to_owned(),
            })
            .inc_by(count as u64);
    }
}

/// Counts each request and its latency under its route (the path template, not the path,
/// so ids do not multiply the series).
pub(crate) async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics
        .http_latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&state.service),
    )
        .into_response()
}
