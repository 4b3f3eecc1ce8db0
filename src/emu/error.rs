//! API errors and the exact bodies Amazon Drive answered with (§11 of the reference):
//! `{"logref","message","code","info"}` for application errors, `{"message"}` alone for
//! gateway errors, no body at all for some 5xx.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ids;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"logref":…,"message":…,"code":…[,"info":…]}`
    App {
        status: StatusCode,
        message: String,
        code: String,
        info: Option<Value>,
    },
    /// `{"message":…}` only, as the gateway sent it (throttling, token expiry).
    Gateway { status: StatusCode, message: String },
    /// A status with an empty body (the late 504 after an upload, some 5xx).
    Empty(StatusCode),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::app(StatusCode::BAD_REQUEST, message, "")
    }

    pub fn not_found(id: &str) -> Self {
        Self::app(
            StatusCode::NOT_FOUND,
            format!("Node {id} does not exist"),
            "NOT_FOUND",
        )
    }

    pub fn app(status: StatusCode, message: impl Into<String>, code: &str) -> Self {
        Self::App {
            status,
            message: message.into(),
            code: code.to_string(),
            info: None,
        }
    }

    /// 409 for a name already taken (case-insensitively) under a parent. The message
    /// lower-cases the clashing name, as the live service did.
    pub fn name_exists(name: &str, parent: &str, existing: &str) -> Self {
        Self::App {
            status: StatusCode::CONFLICT,
            message: format!(
                "Node with the name {} already exists under parentId {parent} conflicting NodeId: {existing}",
                name.to_lowercase()
            ),
            code: "NAME_ALREADY_EXISTS".to_string(),
            info: Some(json!({ "nodeId": existing })),
        }
    }

    pub fn token_expired() -> Self {
        Self::Gateway {
            status: StatusCode::UNAUTHORIZED,
            message: "Token has expired".into(),
        }
    }

    pub fn rate_exceeded() -> Self {
        Self::Gateway {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "Rate exceeded".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::App { status, .. } | Self::Gateway { status, .. } => *status,
            Self::Empty(status) => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = match self {
            ApiError::App {
                message,
                code,
                info,
                ..
            } => {
                let mut body = json!({ "logref": ids::logref(), "message": message, "code": code });
                if let Some(info) = info {
                    body["info"] = info;
                }
                (status, axum::Json(body)).into_response()
            }
            ApiError::Gateway { message, .. } => {
                (status, axum::Json(json!({ "message": message }))).into_response()
            }
            ApiError::Empty(_) => status.into_response(),
        };
        let kind = match status.as_u16() {
            401 => "UnauthorizedException",
            403 => "AccessDeniedException",
            404 => "ResourceNotFoundException",
            409 => "ConflictException",
            429 => "ThrottlingException",
            400..=499 => "BadRequestException",
            _ => "InternalFailure",
        };
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(kind));
        response
    }
}
