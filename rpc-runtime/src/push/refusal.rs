//! How an `on_connect` hook refuses a handshake.

use std::borrow::Cow;

use http::StatusCode;

/// An `on_connect` hook's answer to a handshake it refuses: the HTTP status and body the client
/// gets instead of the upgrade.
///
/// ```
/// use rpc_runtime::Refusal;
///
/// let refusal = Refusal::new(401, "log in first");
/// assert_eq!(refusal.status(), 401);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl Refusal {
    /// A refusal with an HTTP status (a 4xx or 5xx; anything else is answered 403) and a body.
    pub fn new(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|status| status.is_client_error() || status.is_server_error())
            .unwrap_or(StatusCode::FORBIDDEN);
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The response body.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn status_code(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for Refusal {}
