//! A topic declaration: its name, who may subscribe, whether it keeps its last value or its
//! history.

use std::fmt;
use std::sync::Arc;

use super::History;
use crate::Context;

pub(crate) type Guard = Arc<dyn Fn(&Context) -> bool + Send + Sync>;

/// A topic clients may subscribe to with the built-in `rpc.subscribe`. Declared on the hub:
/// `Hub::builder().topic(Topic::new("news"))`.
///
/// ```
/// use rpc_runtime::{Hub, Topic};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// let hub = Hub::builder()
///     .topic(Topic::new("news"))
///     .topic(Topic::new("status").retain_last())
///     .topic(Topic::new("admin").guard(|cx| {
///         cx.connection().is_some_and(|conn| conn.get::<User>().is_some())
///     }))
///     .build();
/// assert_eq!(hub.topics(), ["admin", "news", "status"]);
/// ```
#[derive(Clone)]
pub struct Topic {
    pub(crate) name: Arc<str>,
    pub(crate) guard: Option<Guard>,
    pub(crate) retain_last: bool,
    pub(crate) history: Option<History>,
}

impl Topic {
    /// A topic anyone may subscribe to, keeping nothing.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Topic {
            name: name.into(),
            guard: None,
            retain_last: false,
            history: None,
        }
    }

    /// Only callers for whom `allowed` is true may subscribe (or see the topic in
    /// `rpc.topics`); it sees the subscribing call's [`Context`].
    pub fn guard(mut self, allowed: impl Fn(&Context) -> bool + Send + Sync + 'static) -> Self {
        self.guard = Some(Arc::new(allowed));
        self
    }

    /// Every publish is kept, and a new subscriber receives the last one at once. (Without
    /// this, [`Hub::publish_retained`](crate::Hub::publish_retained) keeps one publish.)
    pub fn retain_last(mut self) -> Self {
        self.retain_last = true;
        self
    }

    /// Numbers every publish in the topic's stream and keeps the last ones, so that a
    /// subscriber coming back gets what it missed: `rpc.subscribe` with `since` (the position
    /// it last saw), or [`Hub::subscribe_from`](crate::Hub::subscribe_from). Kept in this
    /// process, or in Redis with a broker. Subscribers that ask for their position receive
    /// each publication with its offset as one more member,
    /// `{"jsonrpc":"2.0","method":TOPIC,"params":DATA,"offset":N}`; others, as before.
    ///
    /// A topic with history keeps no retained value: [`retain_last`](Self::retain_last) is
    /// ignored, and [`Hub::publish_retained`](crate::Hub::publish_retained) publishes as
    /// [`Hub::publish`](crate::Hub::publish) does.
    pub fn history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// The topic's name, which is also the method of its notifications.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn allows(&self, cx: &Context) -> bool {
        self.guard.as_ref().is_none_or(|allowed| allowed(cx))
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("guarded", &self.guard.is_some())
            .field("retain_last", &self.retain_last)
            .field("history", &self.history)
            .finish()
    }
}
