//! The built-in topic methods: `rpc.subscribe`, `rpc.unsubscribe`, `rpc.topics` and
//! `rpc.subscriptions`, optionally also under aiohttp-json-rpc's names.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::broker::Kind;
use super::hub::Hub;
use super::registry::sorted;
use super::{PushError, StreamPosition};
use crate::method::{Docs, MethodKind, Outcome, ParamDoc};
use crate::params::Params;
use crate::schema::schema;
use crate::{Connection, Context, MethodDescriptor, Router, RpcError};

type Handler = fn(Context, Params<'_>) -> Result<Outcome, RpcError>;

/// The methods, as a router to merge into the server's.
pub(crate) fn methods(hub: &Hub) -> Router {
    const SUBSCRIBE: &str = "Subscribes the connection to topics: a name or a list of names; \
        answers its subscriptions.\nNamed, `since` (each topic's last position, \
        {TOPIC: {\"offset\": N, \"epoch\": E}}) or `\"positions\": true` keep its position in \
        topics with history: what it missed since is sent first, each push then comes with its \
        `offset`, and the answer is each topic's position (null for one without history).";
    let builtins: [(&str, &str, Handler, &str, bool); 4] = [
        ("rpc.subscribe", "subscribe", subscribe, SUBSCRIBE, true),
        (
            "rpc.unsubscribe",
            "unsubscribe",
            unsubscribe,
            "Unsubscribes the connection from topics; answers its subscriptions.",
            true,
        ),
        (
            "rpc.topics",
            "get_topics",
            topics,
            "The topics the caller may subscribe to, in order.",
            false,
        ),
        (
            "rpc.subscriptions",
            "get_subscriptions",
            subscriptions,
            "The topics the connection is subscribed to, in order.",
            false,
        ),
    ];
    let mut router = Router::new();
    for (name, aiohttp_name, handler, doc, takes_topics) in builtins {
        let names = [Some(name), hub.aiohttp_names().then_some(aiohttp_name)];
        for name in names.into_iter().flatten() {
            // Topics live on connections, so these exist on WebSocket only. aiohttp-json-rpc's
            // client sends a topic as bare-string params, which they accept.
            let topics = takes_topics.then(|| ParamDoc {
                name: "topics",
                required: true,
                schema: schema::<Vec<String>>(),
            });
            let method = MethodDescriptor::new(
                name,
                concat!(module_path!(), "::builtins"),
                MethodKind::Call,
                false,
                true,
                handler,
            )
            .accepting_scalar_params()
            .with_docs(Docs {
                doc,
                params: topics.into_iter().collect(),
                result: schema::<Vec<String>>(),
                item: None,
            });
            router = router
                .register(method)
                .unwrap_or_else(|err| unreachable!("the built-in names are distinct: {err}"));
        }
    }
    router
}

fn subscribe(cx: Context, params: Params<'_>) -> Result<Outcome, RpcError> {
    let Subscribe {
        names,
        mut since,
        positions,
    } = Subscribe::read(params)?;
    if names.is_empty() {
        return Err(RpcError::invalid_params(
            "name a topic, or a list of topics",
        ));
    }
    let hub = cx.hub();
    let connection = connection(&cx)?;
    if positions || !since.is_empty() {
        hub.may_subscribe(&cx, &names)?;
        let (hub, id) = (hub.clone(), connection.id());
        return Ok(Outcome::Pending(Box::pin(async move {
            // Each topic's position; `null` for one that keeps no history.
            let mut answer = serde_json::Map::new();
            for name in names {
                let from = since.remove(&name);
                let position = match hub.subscribe_from(&name, id, from).await {
                    Ok(recovery) => serde_json::to_value(recovery).unwrap_or_default(),
                    Err(PushError::NoHistory(_)) => {
                        hub.subscribe(&name, id).await?;
                        Value::Null
                    }
                    Err(err) => return Err(err.into()),
                };
                answer.insert(name, position);
            }
            crate::method::encode(&answer)
        })));
    }
    let subscriptions = hub.subscribe_caller(&cx, connection, &names)?;
    if hub.inner.remote.is_none() {
        return answer(&subscriptions);
    }
    // Answered once every later publish reaches the caller, from whichever process.
    let hub = hub.clone();
    Ok(Outcome::Pending(Box::pin(async move {
        for name in &names {
            hub.routed(Kind::Topic, name).await;
        }
        crate::method::encode(&subscriptions)
    })))
}

fn unsubscribe(cx: Context, params: Params<'_>) -> Result<Outcome, RpcError> {
    let names = topic_names(params)?;
    let id = connection(&cx)?.id();
    for name in &names {
        cx.hub().unsubscribe(name, id);
    }
    answer(&cx.hub().subscriptions(id))
}

fn topics(cx: Context, _: Params<'_>) -> Result<Outcome, RpcError> {
    answer(&cx.hub().topics_for(&cx))
}

fn subscriptions(cx: Context, _: Params<'_>) -> Result<Outcome, RpcError> {
    answer(&cx.hub().subscriptions(connection(&cx)?.id()))
}

fn connection(cx: &Context) -> Result<&Connection, RpcError> {
    cx.connection()
        .ok_or_else(|| RpcError::method_not_found().with_data("topics need a WebSocket connection"))
}

fn answer(value: &impl Serialize) -> Result<Outcome, RpcError> {
    Ok(Outcome::Ready(crate::method::encode(value)))
}

/// What `rpc.subscribe` is asked.
#[derive(Debug, Default, PartialEq)]
struct Subscribe {
    names: Vec<String>,
    /// The position last seen in each topic, to be sent what came after.
    since: HashMap<String, StreamPosition>,
    /// Whether the caller keeps its position: its publications come with offsets, and the
    /// answer gives each topic's position instead of the list of subscriptions.
    positions: bool,
}

impl Subscribe {
    // Input: {"topics": ["news"], "since": {"news": {"offset": 17, "epoch": "9f.."}}}
    //        | {"topic": "news", "positions": true} | any form `topic_names` reads
    /// The topic names, and by name, `since` (each topic's last position) and `positions`.
    fn read(params: Params<'_>) -> Result<Self, RpcError> {
        let Some(raw) = params.raw() else {
            return Ok(Subscribe::default());
        };
        if !raw.get().starts_with('{') {
            return Ok(Subscribe {
                names: topic_names(params)?,
                ..Subscribe::default()
            });
        }
        #[derive(serde::Deserialize)]
        struct Named {
            #[serde(default)]
            since: HashMap<String, StreamPosition>,
            #[serde(default)]
            positions: bool,
        }
        let named: Named = serde_json::from_str(raw.get()).map_err(|err| {
            RpcError::invalid_params("expected `since` as {TOPIC: {\"offset\": N, \"epoch\": E}}")
                .with_data(err.to_string())
        })?;
        Ok(Subscribe {
            names: topic_names(params)?,
            since: named.since,
            positions: named.positions,
        })
    }
}

// Input: "news" | ["news"] | ["news", "status"] | [["news", "status"]] | {"topics": ...}
// Output: ["news", "status"]
/// The topic names of a call: one name, a list of names, either one positionally, or either
/// one as `topics` (or `topic`) by name.
fn topic_names(params: Params<'_>) -> Result<Vec<String>, RpcError> {
    let Some(raw) = params.raw() else {
        return Ok(Vec::new());
    };
    let value: Value = serde_json::from_str(raw.get()).map_err(|_| invalid())?;
    let value = match value {
        Value::Object(mut named) => named
            .remove("topics")
            .or_else(|| named.remove("topic"))
            .ok_or_else(invalid)?,
        Value::Array(mut items) if items.len() == 1 && items[0].is_array() => items.remove(0),
        other => other,
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(name) => Ok(vec![name]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(name) => Ok(name),
                _ => Err(invalid()),
            })
            .collect(),
        _ => Err(invalid()),
    }
}

fn invalid() -> RpcError {
    RpcError::invalid_params("expected a topic name or a list of topic names")
}

/// What the built-in methods need of the hub beyond its public API.
impl Hub {
    /// The declared topics the caller may subscribe to.
    pub(crate) fn topics_for(&self, cx: &Context) -> Vec<String> {
        let allowed = self.inner.topics.values().filter(|topic| topic.allows(cx));
        sorted(allowed.map(|topic| topic.name.to_string()))
    }

    /// Subscribes the calling connection to every topic in `names`, or to none when one is
    /// undeclared or its guard refuses the caller; answers the connection's subscriptions.
    pub(crate) fn subscribe_caller(
        &self,
        cx: &Context,
        connection: &Connection,
        names: &[String],
    ) -> Result<Vec<String>, RpcError> {
        self.may_subscribe(cx, names)?;
        let id = connection.id();
        let mut registry = self.write();
        for name in names {
            // Fails only for a connection that has ended, whose answer nobody reads.
            let _ = registry.subscribe(name, id);
        }
        Ok(registry.names_of(Kind::Topic, id))
    }

    /// Whether the caller may subscribe to every topic in `names`: each declared, and its
    /// guard allowing the caller.
    fn may_subscribe(&self, cx: &Context, names: &[String]) -> Result<(), RpcError> {
        let mut unknown = Vec::new();
        let mut forbidden = Vec::new();
        for name in names {
            match self.inner.topics.get(name.as_str()) {
                None => unknown.push(name),
                Some(topic) if !topic.allows(cx) => forbidden.push(name),
                Some(_) => {}
            }
        }
        if !unknown.is_empty() || !forbidden.is_empty() {
            return Err(
                RpcError::invalid_params("cannot subscribe: nothing was subscribed")
                    .with_data(serde_json::json!({ "unknown": unknown, "forbidden": forbidden })),
            );
        }
        Ok(())
    }

    pub(crate) fn aiohttp_names(&self) -> bool {
        self.inner.aiohttp_names
    }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;

    fn names(text: &str) -> Result<Vec<String>, RpcError> {
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        topic_names(Params::new(Some(&raw)))
    }

    fn read(text: &str) -> Result<Subscribe, RpcError> {
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        Subscribe::read(Params::new(Some(&raw)))
    }

    #[test]
    fn reads_positions_and_where_to_recover_from() {
        let asked =
            read(r#"{"topics":["news","status"],"since":{"news":{"offset":17,"epoch":"e1"}}}"#)
                .unwrap();
        assert_eq!(asked.names, ["news", "status"]);
        assert_eq!(asked.since["news"].offset, 17);
        assert_eq!(asked.since["news"].epoch, "e1");
        assert!(!asked.positions);
        assert!(
            read(r#"{"topic":"news","positions":true}"#)
                .unwrap()
                .positions
        );
        assert_eq!(read(r#"["news"]"#).unwrap().names, ["news"]);
        assert!(read(r#"{"topic":"news","since":{"news":{"offset":-1}}}"#).is_err());
    }

    #[test]
    fn reads_every_spelling_of_topic_names() {
        let both = vec!["news".to_owned(), "status".to_owned()];
        assert_eq!(names(r#""news""#).unwrap(), ["news"]);
        assert_eq!(names(r#"["news"]"#).unwrap(), ["news"]);
        assert_eq!(names(r#"["news","status"]"#).unwrap(), both);
        assert_eq!(names(r#"[["news","status"]]"#).unwrap(), both);
        assert_eq!(names(r#"{"topics":["news","status"]}"#).unwrap(), both);
        assert_eq!(names(r#"{"topic":"news"}"#).unwrap(), ["news"]);
        assert!(names("[1]").is_err());
        assert!(names(r#"{"other":"news"}"#).is_err());
        assert!(names("7").is_err());
    }
}
