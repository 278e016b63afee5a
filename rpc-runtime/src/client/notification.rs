//! Notifications a client receives from the server.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ClientError;
use super::wire::decode;
use crate::protocol::{Message, Request};

/// A notification the server sent on its own.
#[derive(Clone, Debug)]
pub struct Notification {
    method: String,
    params: Option<Box<RawValue>>,
    offset: Option<u64>,
}

impl Notification {
    pub(crate) fn from_request(request: &Request<'_>) -> Self {
        Notification {
            method: request.method.to_string(),
            params: request.params.map(RawValue::to_owned),
            offset: request.offset,
        }
    }

    /// Reads one notification message; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match Message::parse(text).ok()? {
            Message::Request(request) if request.id.is_none() => {
                Some(Notification::from_request(&request))
            }
            _ => None,
        }
    }

    /// A topic publication's offset in the topic's stream, sent to subscribers that keep
    /// their position (see `rpc.subscribe`'s `positions`); `None` for other notifications.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// The notification's method name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The params, decoded; `()` or `Option` for a notification without params.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        match &self.params {
            Some(params) => decode(params),
            None => {
                serde_json::from_str("null").map_err(|err| ClientError::Decode(err.to_string()))
            }
        }
    }
}

#[cfg(feature = "client")]
pub use self::stream::{Notifications, TypedNotifications};

#[cfg(feature = "client")]
mod stream {
    use std::marker::PhantomData;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_util::Stream;
    use futures_util::stream::BoxStream;
    use serde::de::DeserializeOwned;
    use tokio::sync::broadcast;

    use super::{ClientError, Notification};

    /// The notifications the server sends from the moment this was created, in order.
    #[derive(Debug)]
    pub struct Notifications {
        receiver: broadcast::Receiver<Notification>,
    }

    impl Notifications {
        pub(crate) fn new(receiver: broadcast::Receiver<Notification>) -> Self {
            Notifications { receiver }
        }

        /// The next notification; `None` once the connection has closed. A reader that falls
        /// more than the builder's `notification_buffer` behind loses the oldest, with a warning.
        pub async fn recv(&mut self) -> Option<Notification> {
            loop {
                match self.receiver.recv().await {
                    Ok(notification) => return Some(notification),
                    Err(broadcast::error::RecvError::Lagged(lost)) => {
                        tracing::warn!(
                            lost,
                            "a notification reader fell behind; notifications were lost"
                        );
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    }

    /// The notifications of one method, their params decoded as `T`, from the moment this was
    /// created, in order. A [`Stream`] too.
    pub struct TypedNotifications<T> {
        stream: BoxStream<'static, Result<T, ClientError>>,
        _item: PhantomData<fn() -> T>,
    }

    impl<T: DeserializeOwned> TypedNotifications<T> {
        pub(crate) fn new(method: String, notifications: Notifications) -> Self {
            let stream = futures_util::stream::unfold(
                (method, notifications),
                |(method, mut notifications)| async move {
                    loop {
                        let notification = notifications.recv().await?;
                        if notification.method() == method {
                            let item = notification.params::<T>();
                            return Some((item, (method, notifications)));
                        }
                    }
                },
            );
            TypedNotifications {
                stream: Box::pin(stream),
                _item: PhantomData,
            }
        }

        /// The next item; `None` once the connection has closed. Params that do not decode as
        /// `T` are an `Err` item, and the stream goes on.
        pub async fn recv(&mut self) -> Option<Result<T, ClientError>> {
            futures_util::StreamExt::next(&mut self.stream).await
        }
    }

    impl<T> Stream for TypedNotifications<T> {
        type Item = Result<T, ClientError>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.stream.as_mut().poll_next(cx)
        }
    }

    impl<T> std::fmt::Debug for TypedNotifications<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TypedNotifications").finish_non_exhaustive()
        }
    }
}
