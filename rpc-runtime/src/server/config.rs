//! What a server keeps of its builder: the limits and deadlines its connections read.

use std::time::Duration;

use http::HeaderValue;

use crate::defaults::{
    DEFAULT_IO_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_REQUEST_SIZE,
    DEFAULT_MAX_STREAMS, DEFAULT_WEBSOCKET_READ_BUFFER,
};
use crate::peer::Limits;

/// Set by [`ServerBuilder`](super::ServerBuilder), then kept as it is by the server.
#[derive(Debug)]
pub(super) struct Config {
    pub path: String,
    pub max_request_size: usize,
    pub websocket_read_buffer: usize,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub max_connections: usize,
    pub max_in_flight: usize,
    pub max_streams: u32,
    pub allowed_origins: Option<Vec<HeaderValue>>,
    pub websocket_echo: bool,
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: "/".to_owned(),
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            websocket_read_buffer: DEFAULT_WEBSOCKET_READ_BUFFER,
            limits: Limits::default(),
            timeouts: Timeouts {
                header_read: DEFAULT_IO_TIMEOUT,
                body_read: DEFAULT_IO_TIMEOUT,
                write: DEFAULT_IO_TIMEOUT,
                websocket_ping: Some(DEFAULT_IO_TIMEOUT),
                shutdown: DEFAULT_IO_TIMEOUT,
            },
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_streams: DEFAULT_MAX_STREAMS,
            allowed_origins: None,
            websocket_echo: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The server's deadlines.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    pub header_read: Duration,
    pub body_read: Duration,
    pub write: Duration,
    pub websocket_ping: Option<Duration>,
    pub shutdown: Duration,
}
