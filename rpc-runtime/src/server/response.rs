//! The plain responses the server makes itself (errors, redirects to the right verb), and the
//! body type of every response.

use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;

/// Every response's body: whole, as the server writes it once.
pub(super) type Body = Full<Bytes>;

/// `code` with `message` as its text body.
pub(super) fn status(code: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = code;
    response
}
