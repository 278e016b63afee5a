//! HTTP/1.1: `POST` carries JSON-RPC; a `GET` upgrade hands the connection to WebSocket.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::{Shared, ws};
use crate::context::ConnectionId;
use crate::{Context, Transport};

pub(super) type Body = Full<Bytes>;

pub(super) async fn serve_connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let connection_id = ConnectionId::next();
    let stop = shared.stop.clone();
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(respond(&shared, request, peer, connection_id).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // The timer enables hyper's header read timeout, which bounds slow-header clients.
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let finished = tokio::select! {
        finished = connection.as_mut() => finished,
        () = stop.cancelled() => {
            // Finishes the request in flight, if any, then closes.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = finished {
        tracing::debug!(%peer, %err, "HTTP connection ended with an error");
    }
}

async fn respond(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    peer: SocketAddr,
    connection_id: ConnectionId,
) -> Response<Body> {
    if request.uri().path() != shared.path {
        return status(StatusCode::NOT_FOUND, "not found");
    }
    if ws::is_upgrade(&request) {
        return ws::upgrade(shared, request, peer).await;
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
    if declared.is_some_and(|length| length > shared.max_request_size as u64) {
        return too_large();
    }

    let (parts, body) = request.into_parts();
    // Chunked bodies declare no length; the limit stops reading at the first byte too many.
    let body = match Limited::new(body, shared.max_request_size).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<LengthLimitError>() => return too_large(),
        Err(err) => {
            tracing::debug!(%peer, %err, "reading a request body failed");
            return status(StatusCode::BAD_REQUEST, "could not read the request body");
        }
    };
    let cx = Context::request(
        Transport::Http,
        Some(peer),
        parts.headers,
        connection_id,
        shared.state.clone(),
        shared.hub.clone(),
    );
    match shared.router.handle_bytes(&body, &cx).await {
        Some(answer) => {
            let mut response = Response::new(Full::new(Bytes::from(answer.text)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        None => status(StatusCode::NO_CONTENT, ""),
    }
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

pub(super) fn status(code: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = code;
    response
}
