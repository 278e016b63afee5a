//! A registered method: its name, its transport policy and its type-erased handler.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::params::Params;
use crate::schema::{SchemaFn, schema};
use crate::{Context, Guard, RpcError, Transport};

/// A method's result, serialized to JSON text, or its error.
#[doc(hidden)]
pub type MethodResult = Result<String, RpcError>;

/// What a handler hands back: sync handlers finish at once, so they skip the boxed future.
#[doc(hidden)]
pub enum Outcome {
    Ready(MethodResult),
    Pending(Pin<Box<dyn Future<Output = MethodResult> + Send>>),
}

/// Reads the params and starts the call. Params are read before the call is started, so the
/// future owns its arguments and does not borrow the message.
pub(crate) type Handler = Arc<dyn Fn(Context, Params<'_>) -> Outcome + Send + Sync>;

/// What a method's annotations say of it, for `rpc.discover`; the macros fill it in.
#[doc(hidden)]
pub struct Docs {
    /// The doc comment: its first line is the summary, the rest the description.
    pub doc: &'static str,
    pub params: Vec<ParamDoc>,
    /// `None` for a notification, or without the `openrpc` feature.
    pub result: Option<SchemaFn>,
    /// A subscription's item.
    pub item: Option<SchemaFn>,
}

/// One param, as a method's signature gives it.
#[doc(hidden)]
pub struct ParamDoc {
    /// The name in named calls.
    pub name: &'static str,
    /// `false` for an `Option` and for a rest param.
    pub required: bool,
    pub schema: Option<SchemaFn>,
}

/// Whether a name answers calls, only takes notifications, or starts subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MethodKind {
    /// `#[rpc_method]`: answers calls; a notification to it runs it and discards the result.
    Call,
    /// `#[rpc_notification]`: runs on notifications; a call (with an id) gets -32601.
    Notification,
    /// `#[rpc_subscription]`: answers a subscription id, then sends the stream's items as
    /// notifications; its unsubscribe method is registered beside it.
    Subscription,
}

/// One method as the router holds it; built by the macros.
#[derive(Clone)]
pub struct MethodDescriptor {
    pub(crate) name: &'static str,
    pub(crate) rust_path: &'static str,
    pub(crate) kind: MethodKind,
    pub(crate) http: bool,
    pub(crate) websocket: bool,
    /// Whether params may be a bare value rather than an array or object (built-ins only).
    pub(crate) scalar_params: bool,
    /// A subscription's unsubscribe method and notification names.
    pub(crate) subscription: Option<(&'static str, &'static str)>,
    /// Who may call it; anyone when `None`.
    pub(crate) guard: Option<Guard>,
    pub(crate) handler: Handler,
    /// What its annotations say of it, for `rpc.discover`.
    pub(crate) docs: Option<Arc<Docs>>,
}

impl MethodDescriptor {
    #[doc(hidden)]
    pub fn new(
        name: &'static str,
        rust_path: &'static str,
        kind: MethodKind,
        http: bool,
        websocket: bool,
        handler: fn(Context, Params<'_>) -> Result<Outcome, RpcError>,
    ) -> Self {
        MethodDescriptor::shared(name, rust_path, kind, http, websocket, handler)
    }

    /// Like [`new`](Self::new), for a handler that holds state: a service's methods share it.
    #[doc(hidden)]
    pub fn shared(
        name: &'static str,
        rust_path: &'static str,
        kind: MethodKind,
        http: bool,
        websocket: bool,
        handler: impl Fn(Context, Params<'_>) -> Result<Outcome, RpcError> + Send + Sync + 'static,
    ) -> Self {
        MethodDescriptor {
            name,
            rust_path,
            kind,
            http,
            websocket,
            scalar_params: false,
            subscription: None,
            guard: None,
            handler: Arc::new(move |cx, params| {
                handler(cx, params).unwrap_or_else(|err| Outcome::Ready(Err(err)))
            }),
            docs: None,
        }
    }

    /// Describes the method for `rpc.discover`.
    #[doc(hidden)]
    pub fn with_docs(mut self, docs: Docs) -> Self {
        self.docs = Some(Arc::new(docs));
        self
    }

    /// Makes a subscription's descriptor: `unsubscribe` ends what it starts, and its items are
    /// sent as `notification`s.
    #[doc(hidden)]
    pub fn with_subscription(
        mut self,
        unsubscribe: &'static str,
        notification: &'static str,
    ) -> Self {
        self.subscription = Some((unsubscribe, notification));
        self
    }

    /// Lets only callers that `guard` admits call the method; see [`Guard`].
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The descriptor of the method that ends this subscription's subscriptions, if it is one.
    pub(crate) fn unsubscribe_method(&self) -> Option<MethodDescriptor> {
        let (name, notification) = self.subscription?;
        let unsubscribe = MethodDescriptor::shared(
            name,
            self.rust_path,
            MethodKind::Call,
            false,
            true,
            move |cx, params| {
                let reader = params.reader::<1>(&["subscription"], false)?;
                let id = reader.required::<u64>(0)?;
                let ended = cx
                    .connection()
                    .is_some_and(|connection| connection.subscriptions().cancel(id, notification));
                Ok(Outcome::Ready(Ok(ended.to_string())))
            },
        );
        // A caller the subscription is hidden from does not find its companion either.
        let docs = Docs {
            doc: "Ends a subscription; whether it was still running.",
            params: vec![ParamDoc {
                name: "subscription",
                required: true,
                schema: schema::<u64>(),
            }],
            result: schema::<bool>(),
            item: None,
        };
        Some(MethodDescriptor {
            guard: self.guard.clone(),
            ..unsubscribe.with_docs(docs)
        })
    }

    pub(crate) fn accepting_scalar_params(mut self) -> Self {
        self.scalar_params = true;
        self
    }

    /// The JSON-RPC method name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Rust item that implements it, for messages.
    pub fn rust_path(&self) -> &'static str {
        self.rust_path
    }

    /// Whether it answers calls or takes notifications.
    pub fn kind(&self) -> MethodKind {
        self.kind
    }

    /// Whether the method exists on `transport`.
    pub fn serves(&self, transport: Transport) -> bool {
        match transport {
            Transport::Http => self.http,
            Transport::WebSocket => self.websocket,
        }
    }
}

impl fmt::Debug for MethodDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodDescriptor")
            .field("name", &self.name)
            .field("rust_path", &self.rust_path)
            .field("kind", &self.kind)
            .field("http", &self.http)
            .field("websocket", &self.websocket)
            .field("subscription", &self.subscription)
            .field("guarded", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}

/// Serializes a handler's return value (generated handlers' and the built-in methods').
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> MethodResult {
    crate::json::to_json(value).map_err(|err| {
        tracing::error!(%err, "a handler's return value could not be serialized");
        RpcError::internal()
    })
}
