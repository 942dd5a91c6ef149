//! The operations endpoint: `/metrics` (Prometheus), `/health/live`,
//! `/health/ready` and `/status` (JSON, docs/OPERATIONS.md). Read only:
//! nothing here changes what Sluice does.
//!
//! What the endpoints report comes from an [`Observe`], which the app
//! implements over its live state; this module only serves it.

pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use settings::HttpSettings;

use crate::shutdown::Cancel;

/// What the endpoints show, as the app sees it.
pub trait Observe: Send + Sync + 'static {
    /// Brings the gauges computed from live state (lag, ages, readiness)
    /// up to date, before a scrape (`/status` and `/health/ready` compute
    /// what they show themselves).
    fn refresh(&self);
    /// Why Sluice is not ready; empty when it is.
    fn not_ready(&self) -> Vec<String>;
    /// The `/status` document.
    fn status(&self) -> serde_json::Value;
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr} for the [http] endpoint: {reason}; another process may have the port: set [http] listen (or SLUICE_HTTP_LISTEN) to a free address, or to \"\" to turn the endpoint off")]
    Bind { addr: SocketAddr, reason: String },
}

/// A bound endpoint, serving once [`Endpoint::serve`] is spawned.
pub struct Endpoint {
    listener: tokio::net::TcpListener,
}

impl Endpoint {
    /// Binds `addr` now, so a port in use stops start-up with a clear
    /// error instead of a task failing later.
    pub async fn bind(addr: SocketAddr) -> Result<Endpoint, HttpError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| HttpError::Bind {
                addr,
                reason: e.to_string(),
            })?;
        Ok(Endpoint { listener })
    }

    /// The address bound (the port chosen, when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener")
    }

    /// Serves until `cancel`.
    pub async fn serve(self, observe: Arc<dyn Observe>, cancel: Cancel) {
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/health/live", get(|| async { "live\n" }))
            .route("/health/ready", get(ready))
            .route("/status", get(status))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    "not found; try /metrics, /health/live, /health/ready or /status\n",
                )
            })
            .with_state(observe);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the [http] endpoint stopped");
        }
    }
}

async fn metrics(State(o): State<Arc<dyn Observe>>) -> Response {
    o.refresh();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::get().render(),
    )
        .into_response()
}

async fn ready(State(o): State<Arc<dyn Observe>>) -> Response {
    let reasons = o.not_ready();
    if reasons.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let body = serde_json::json!({ "ready": false, "reasons": reasons });
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    }
}

async fn status(State(o): State<Arc<dyn Observe>>) -> Response {
    axum::Json(o.status()).into_response()
}
