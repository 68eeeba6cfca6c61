//! The one error type of the HTTP API (model: axum's `examples/error-handling`): a status,
//! a message safe to show (the JSON body `{"error": …}`), and an optional detail that is
//! only logged (paths, OS errors, peer addresses never reach a client).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    detail: Option<String>,
}

impl ApiError {
    /// `message` is shown to the client as is: say what failed and what to do, nothing internal.
    pub fn new(status: StatusCode, message: String) -> Self {
        Self { status, message, detail: None }
    }

    /// Adds what the operator needs to know (logged, never sent).
    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(detail) = &self.detail {
            tracing::warn!(status = %self.status, message = %self.message, %detail, "request failed");
        } else if self.status.is_server_error() {
            tracing::warn!(status = %self.status, message = %self.message, "request failed");
        }
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_detail_is_logged_never_sent() {
        let e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file".into()).with_detail("/srv/secret/path: EIO");
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"error":"cannot read the file"}"#);
    }
}
