//! Every default bound and deadline in one place, so that the server, the clients and the
//! peer that both drive agree, and a reader finds them together. Each is also a builder
//! option; the README's table of limits lists them.

use std::time::Duration;

/// The default limit on an HTTP body or a WebSocket message: 10 MiB.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 10 * 1024 * 1024;

/// The default limit on one response, a whole batch's included: 10 MiB, as the request limit.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 10 * 1024 * 1024;

/// The default limit on the members of one batch: 1,000, as geth.
pub const DEFAULT_MAX_BATCH_SIZE: usize = 1000;

/// The default WebSocket read buffer per connection: 4 KiB.
pub const DEFAULT_WEBSOCKET_READ_BUFFER: usize = 4 * 1024;

/// The default limit on open connections, HTTP and WebSocket together: 10,000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The default limit on calls one WebSocket connection has running at once: 1,024.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// The default limit on the streams one HTTP/2 connection may have open at once: 128, as
/// nginx's. Each holds at most a request and its response, so this bounds what one connection
/// can make the server hold.
pub const DEFAULT_MAX_STREAMS: u32 = 128;

/// The default bound on what a connection may have queued for sending: 1 MiB.
pub const DEFAULT_OUTBOUND_QUEUE: usize = 1024 * 1024;

/// The default bound on live subscriptions per connection, as jsonrpsee's.
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 1024;

/// The default for every read and write deadline: 30 s.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time a client waits for a response.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many notifications, and how many items of one subscription, a listener may fall behind
/// by unless its client says otherwise.
pub(crate) const DEFAULT_BUFFER: usize = 1024;
