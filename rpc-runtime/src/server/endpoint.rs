//! Answers one request on the server's path: a WebSocket upgrade goes to `ws`, a `POST` is
//! read (bounded in size and time), dispatched and answered; anything else gets its status.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use http::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Bytes};

use super::response::{Body, status};
use super::shared::Shared;
use super::ws;
use crate::peer::ConnectionId;
use crate::{Context, Transport};

/// Answers one request. `counted`: the server accepted the connection itself and counts it
/// against its limit, as it then counts the WebSocket it may become.
pub(super) async fn respond<B>(
    shared: &Arc<Shared>,
    request: Request<B>,
    peer: Option<SocketAddr>,
    connection_id: ConnectionId,
    counted: bool,
) -> Response<Body>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Display,
{
    if request.uri().path() != shared.config.path {
        return status(StatusCode::NOT_FOUND, "not found");
    }
    if ws::is_upgrade(&request) {
        return ws::upgrade(shared, request, peer, counted).await;
    }
    if request.method() != Method::POST {
        let mut response = status(
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST, or GET to upgrade to WebSocket",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, GET"));
        return response;
    }
    if !is_json(request.headers()) {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > shared.config.max_request_size as u64) {
        return too_large();
    }

    let version = request.version();
    let (parts, body) = request.into_parts();
    let mut reading = std::pin::pin!(read_body(body, shared.config.max_request_size));
    // A body hyper already holds whole (the usual case) is read without arming a timer.
    let first = std::future::poll_fn(|task| Poll::Ready(reading.as_mut().poll(task))).await;
    let read = match first {
        Poll::Ready(read) => Ok(read),
        Poll::Pending => tokio::time::timeout(shared.config.timeouts.body_read, reading).await,
    };
    let body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(BodyError::TooLarge)) => return too_large(),
        Ok(Err(BodyError::Read(err))) => {
            tracing::debug!(?peer, %err, "reading a request body failed");
            return status(StatusCode::BAD_REQUEST, "could not read the request body");
        }
        Err(_) => {
            let mut response = status(StatusCode::REQUEST_TIMEOUT, "request body too slow");
            // The rest of the body may still be coming: nothing more on this connection.
            // (HTTP/2 ends the stream alone, and has no such header.)
            if version < Version::HTTP_2 {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            return response;
        }
    };
    let cx = Context::request(
        Transport::Http,
        peer,
        parts.headers,
        connection_id,
        shared.state.clone(),
        shared.hub.clone(),
    );
    match shared.dispatcher.answer_bytes(&body, &cx, None).await.text {
        Some(text) => {
            let mut response = Response::new(Full::new(Bytes::from(text)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        None => status(StatusCode::NO_CONTENT, ""),
    }
}

enum BodyError {
    TooLarge,
    Read(String),
}

/// Reads a body of at most `max` bytes. A body that arrives in one piece (the usual case) is
/// kept as it came; one that arrives in pieces is copied as it comes, because each piece is a
/// slice of a read buffer that it would keep alive, and a client sending a byte at a time would
/// make every byte hold a whole buffer.
async fn read_body<B>(body: B, max: usize) -> Result<Bytes, BodyError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Display,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut copied: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| BodyError::Read(err.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let length = first.as_ref().map_or(0, Bytes::len) + copied.len() + data.len();
        if length > max {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if copied.is_empty() => first = Some(data),
            held => {
                copied.extend_from_slice(held.as_deref().unwrap_or_default());
                copied.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(copied)))
}

/// `application/json`, with any parameters (`; charset=utf-8`). Requiring it keeps browsers
/// from posting calls cross-site with a plain form, which cannot set this type.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn too_large() -> Response<Body> {
    status(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
}
