//! A client behind a reference or an `Arc` is a client too, so that one connection serves
//! several typed clients and helpers without being cloned or moved into them:
//! `MathClient::new(&client)`, `MathClient::new(Arc::clone(&client))`.

use std::future::Future;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::{Batch, BatchResponse, ClientError, RpcClient, Subscription, SubscriptionClient};

macro_rules! shared_clients {
    ($($shared:ty),*) => {$(
        impl<T: RpcClient> RpcClient for $shared {
            fn call_raw(
                &self,
                method: &str,
                params: Option<Box<RawValue>>,
            ) -> impl Future<Output = Result<Box<RawValue>, ClientError>> + Send {
                (**self).call_raw(method, params)
            }

            fn notify_raw(
                &self,
                method: &str,
                params: Option<Box<RawValue>>,
            ) -> impl Future<Output = Result<(), ClientError>> + Send {
                (**self).notify_raw(method, params)
            }

            fn batch(
                &self,
                batch: Batch,
            ) -> impl Future<Output = Result<BatchResponse, ClientError>> + Send {
                (**self).batch(batch)
            }
        }

        impl<T: SubscriptionClient> SubscriptionClient for $shared {
            fn subscribe_raw(
                &self,
                method: &str,
                params: Option<Box<RawValue>>,
                unsubscribe: &str,
            ) -> impl Future<Output = Result<Subscription<Box<RawValue>>, ClientError>> + Send {
                (**self).subscribe_raw(method, params, unsubscribe)
            }
        }
    )*};
}

shared_clients!(&T, Arc<T>);
