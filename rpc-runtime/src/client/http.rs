//! The HTTP client: one `POST` per call, notification or batch, on pooled keep-alive
//! connections.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::ClientError;
use super::exchange::{Exchange, exchanging_client};
use crate::defaults::DEFAULT_REQUEST_TIMEOUT;

#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;
#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Calls a server over HTTP (or HTTPS, with the `tls` feature). Cheap to share: clones reuse
/// one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_runtime::client::ClientError> {
/// use rpc_runtime::client::{HttpClient, RpcClient};
///
/// let client = HttpClient::new("http://127.0.0.1:8080/")?;
/// let sum: i64 = client.call("sum", [1, 2, 4]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    uri: Uri,
    headers: HeaderMap,
    timeout: Duration,
    next_id: std::sync::Arc<AtomicU64>,
}

/// Configures an [`HttpClient`].
#[derive(Debug)]
pub struct HttpClientBuilder {
    headers: super::Headers,
    timeout: Duration,
    http2_only: bool,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// A response that was not a JSON-RPC answer.
#[derive(Debug, thiserror::Error)]
#[error("HTTP status {status}: {body}")]
pub struct HttpStatusError {
    /// The status the server sent.
    pub status: StatusCode,
    /// The start of the body, for the message.
    pub body: String,
}

impl HttpClientBuilder {
    /// How long a call may take, from sending to the last byte of the answer; 60 s by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A header sent with every request, such as `Authorization`: strings
    /// (`.header("x-user", "alice")`) or `http`'s types. An invalid name or value makes
    /// [`build`](Self::build) fail, saying which.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<http::HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        self.headers.insert(name, value);
        self
    }

    /// Speaks HTTP/2 from the first byte, without asking: h2c on `http://` URLs (the server
    /// must support it, as ours does), and on `https://` HTTP/2 only. Calls made at once share
    /// one connection as streams. Without it, `http://` is HTTP/1.1 and `https://` is
    /// HTTP/2 when the server picks it by ALPN, HTTP/1.1 otherwise.
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.http2_only = true;
        self
    }

    /// The TLS configuration for `https://` URLs: which roots to trust, client certificates;
    /// Mozilla's roots (`webpki-roots`) by default.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// A client of the server at `url` (`http://host:port/path`, or `https://` with the `tls`
    /// feature). Connects on first use.
    pub fn build(self, url: &str) -> Result<HttpClient, ClientError> {
        let headers = self.headers.into_map()?;
        let uri: Uri = url.parse().map_err(ClientError::transport)?;
        let schemes: &[&str] = if cfg!(feature = "tls") {
            &["http", "https"]
        } else {
            &["http"]
        };
        if !uri
            .scheme_str()
            .is_some_and(|scheme| schemes.contains(&scheme))
        {
            return Err(ClientError::Transport(
                format!(
                    "expected an {} URL, got {url}",
                    schemes.join(":// or ") + "://"
                )
                .into(),
            ));
        }
        #[cfg(not(feature = "tls"))]
        let connector = HttpConnector::new();
        #[cfg(feature = "tls")]
        let connector = {
            let tls = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(std::sync::Arc::unwrap_or_clone(
                    self.tls.unwrap_or_else(super::tls::default_config),
                ))
                .https_or_http();
            if self.http2_only {
                tls.enable_http2().build()
            } else {
                tls.enable_all_versions().build()
            }
        };
        Ok(HttpClient {
            client: Client::builder(TokioExecutor::new())
                .http2_only(self.http2_only)
                .build(connector),
            uri,
            headers,
            timeout: self.timeout,
            next_id: Default::default(),
        })
    }
}

impl HttpClient {
    /// A client of the server at `url` with the defaults.
    pub fn new(url: &str) -> Result<Self, ClientError> {
        HttpClient::builder().build(url)
    }

    /// A builder with the defaults: 60 s timeout, no extra headers, HTTP/1.1 (or HTTP/2 when
    /// a TLS server picks it).
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder {
            headers: super::Headers::default(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
            http2_only: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Posts one message; `None` when the server answers 204 (nothing to send back).
    async fn post(&self, body: String) -> Result<Option<String>, ClientError> {
        let mut request = Request::post(self.uri.clone())
            .body(Full::new(Bytes::from(body)))
            .map_err(ClientError::transport)?;
        *request.headers_mut() = self.headers.clone();
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(ClientError::transport)?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(ClientError::transport)?
                .to_bytes();
            let body = String::from_utf8(body.into())
                .map_err(|err| ClientError::Decode(err.to_string()))?;
            match status {
                StatusCode::OK => Ok(Some(body)),
                StatusCode::NO_CONTENT => Ok(None),
                status => Err(ClientError::transport(HttpStatusError {
                    status,
                    body: body.chars().take(200).collect(),
                })),
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }
}

exchanging_client!(HttpClient);

impl Exchange for HttpClient {
    fn exchange(
        &self,
        message: String,
    ) -> impl Future<Output = Result<Option<String>, ClientError>> + Send {
        self.post(message)
    }

    fn reserve_ids(&self, count: u64) -> u64 {
        self.next_id.fetch_add(count, Ordering::Relaxed)
    }
}
