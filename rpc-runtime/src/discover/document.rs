//! The OpenRPC document: every method's object and the shared schemas, made once; each caller
//! is answered the methods it may call, with the schemas they name.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::Guard;
use crate::guard::Verdict;
use crate::schema::{self, SchemaFn};
use crate::{Context, MethodDescriptor, MethodKind, Router, Transport};

/// The OpenRPC version the document follows.
const OPENRPC: &str = "1.3.2";

/// What `rpc.discover`'s document says of the server: its `info`
/// ([`ServerBuilder::discovery_info`](crate::ServerBuilder::discovery_info)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Info {
    pub title: String,
    pub version: String,
}

impl Default for Info {
    fn default() -> Self {
        Info {
            title: "JSON-RPC API".to_owned(),
            version: "0.0.0".to_owned(),
        }
    }
}

pub(crate) struct Document {
    /// `"openrpc"` and `"info"`, as the text that opens every answer.
    head: String,
    /// Every method, in order of name.
    methods: Vec<Entry>,
    /// `components.schemas`, each definition as JSON text.
    schemas: BTreeMap<String, String>,
}

/// One method: who sees it, and what it is shown as.
struct Entry {
    name: &'static str,
    guard: Option<Guard>,
    http: bool,
    websocket: bool,
    /// The method object, as JSON text; `None` for `rpc.discover` itself, which OpenRPC
    /// leaves out of the methods.
    object: Option<String>,
    /// The shared schemas it names, directly or through others.
    schemas: BTreeSet<String>,
}

impl Document {
    /// Builds the document of `router` and of the discovery methods `extra` besides.
    pub(crate) fn build(router: &Router, extra: &[&'static str], info: &Info) -> Document {
        let mut generator = schema::generator();
        let mut methods: Vec<(Entry, Value)> = router
            .methods()
            .map(|method| {
                let object = object(method, &mut generator);
                let entry = Entry {
                    name: method.name(),
                    guard: method.guard.clone(),
                    http: method.serves(Transport::Http),
                    websocket: method.serves(Transport::WebSocket),
                    object: None,
                    schemas: BTreeSet::new(),
                };
                (entry, object)
            })
            .collect();
        for &name in extra {
            let object = json!({
                "name": name,
                "summary": "The names of the methods the caller may call, in order.",
                "params": [],
                "paramStructure": "either",
                "result": {"name": "result", "schema": {"type": "array", "items": {"type": "string"}}},
                "x-transports": ["http", "websocket"],
            });
            let entry = Entry {
                name,
                guard: None,
                http: true,
                websocket: true,
                object: None,
                schemas: BTreeSet::new(),
            };
            methods.push((entry, object));
        }
        // Callable, so listed by `rpc.methods`, but left out of its own document.
        let discover = Entry {
            name: "rpc.discover",
            guard: None,
            http: true,
            websocket: true,
            object: None,
            schemas: BTreeSet::new(),
        };
        let definitions = take_definitions(&mut generator);
        // Each definition's references, then each method's, closed over them.
        let named: BTreeMap<&str, BTreeSet<String>> = definitions
            .iter()
            .map(|(name, schema)| (name.as_str(), references(schema)))
            .collect();
        let methods = methods
            .into_iter()
            .map(|(mut entry, object)| {
                let mut schemas = BTreeSet::new();
                let mut due: Vec<String> = references(&object).into_iter().collect();
                while let Some(name) = due.pop() {
                    if let Some(more) = named.get(name.as_str()) {
                        due.extend(more.iter().filter(|n| !schemas.contains(*n)).cloned());
                    }
                    schemas.insert(name);
                }
                entry.schemas = schemas;
                entry.object = Some(object.to_string());
                entry
            })
            .chain([discover])
            .collect::<Vec<_>>();
        let mut methods = methods;
        methods.sort_by_key(|entry| entry.name);
        let head =
            json!({"openrpc": OPENRPC, "info": {"title": info.title, "version": info.version}});
        let head = head.to_string();
        Document {
            // Without its closing brace, for the methods and components to follow.
            head: head[..head.len() - 1].to_owned(),
            methods,
            schemas: definitions
                .into_iter()
                .map(|(name, schema)| (name, schema.to_string()))
                .collect(),
        }
    }

    /// The methods `cx`'s caller may call, on its transport and past their guards.
    async fn visible(&self, cx: &Context) -> Vec<&Entry> {
        let mut visible = Vec::new();
        for entry in &self.methods {
            let transport = match cx.transport() {
                Transport::Http => entry.http,
                Transport::WebSocket => entry.websocket,
            };
            if !transport {
                continue;
            }
            if let Some(guard) = &entry.guard {
                if !matches!(guard.check(cx).await, Verdict::Admit) {
                    continue;
                }
            }
            visible.push(entry);
        }
        visible
    }

    /// The names of the methods `cx`'s caller may call, in order.
    pub(crate) async fn names_for(&self, cx: &Context) -> Vec<&'static str> {
        let visible = self.visible(cx).await;
        visible.into_iter().map(|entry| entry.name).collect()
    }

    /// The document as `cx`'s caller is shown it: the methods it may call and the schemas they
    /// name, as JSON text.
    pub(crate) async fn for_caller(&self, cx: &Context) -> String {
        let mut out = self.head.clone();
        out.push_str(r#","methods":["#);
        let mut schemas = BTreeSet::new();
        let mut first = true;
        for entry in self.visible(cx).await {
            let Some(object) = &entry.object else {
                continue;
            };
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(object);
            schemas.extend(entry.schemas.iter());
        }
        out.push_str(r#"],"components":{"schemas":{"#);
        for (n, name) in schemas.into_iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&Value::String(name.clone()).to_string());
            out.push(':');
            out.push_str(self.schemas.get(name).map_or("{}", String::as_str));
        }
        out.push_str("}}}");
        out
    }
}

/// A method's object: what its annotations say, or only its name and that it takes anything.
fn object(method: &MethodDescriptor, generator: &mut schema::Generator) -> Value {
    let mut object = Map::new();
    object.insert("name".into(), method.name().into());
    let mut transports = Vec::new();
    if method.serves(Transport::Http) {
        transports.push("http");
    }
    if method.serves(Transport::WebSocket) {
        transports.push("websocket");
    }
    let Some(docs) = method.docs.as_deref() else {
        object.insert("params".into(), json!([]));
        if method.kind() != MethodKind::Notification {
            object.insert("result".into(), json!({"name": "result", "schema": {}}));
        }
        object.insert("x-transports".into(), json!(transports));
        return Value::Object(object);
    };
    // The first paragraph, on one line, is the summary, as rustdoc takes it.
    let mut paragraphs = docs.doc.trim().splitn(2, "\n\n");
    if let Some(summary) = paragraphs.next().filter(|first| !first.trim().is_empty()) {
        let summary: Vec<&str> = summary.lines().map(str::trim).collect();
        object.insert("summary".into(), summary.join(" ").into());
    }
    if let Some(rest) = paragraphs
        .next()
        .map(str::trim)
        .filter(|rest| !rest.is_empty())
    {
        object.insert("description".into(), rest.into());
    }
    let params: Vec<Value> = docs
        .params
        .iter()
        .map(|param| {
            json!({
                "name": param.name,
                "required": param.required,
                "schema": make(param.schema, generator),
            })
        })
        .collect();
    object.insert("params".into(), params.into());
    object.insert("paramStructure".into(), "either".into());
    if method.kind() != MethodKind::Notification {
        let result = json!({"name": "result", "schema": make(docs.result, generator)});
        object.insert("result".into(), result);
    }
    if let Some((unsubscribe, notification)) = method.subscription {
        object.insert(
            "x-subscription".into(),
            json!({
                "notification": notification,
                "unsubscribe": unsubscribe,
                "item": make(docs.item, generator),
            }),
        );
    }
    object.insert("x-transports".into(), json!(transports));
    Value::Object(object)
}

/// A schema as JSON; `{}` (anything) when there is none.
fn make(schema: Option<SchemaFn>, generator: &mut schema::Generator) -> Value {
    #[cfg(feature = "openrpc")]
    if let Some(schema) = schema {
        return schema(generator).to_value();
    }
    #[cfg(not(feature = "openrpc"))]
    let _ = (schema, generator);
    json!({})
}

/// The shared definitions the generator collected, each by name.
fn take_definitions(generator: &mut schema::Generator) -> Map<String, Value> {
    #[cfg(feature = "openrpc")]
    return generator.take_definitions(true);
    #[cfg(not(feature = "openrpc"))]
    {
        let _ = generator;
        Map::new()
    }
}

/// The names of the shared schemas `value` refers to (`#/components/schemas/NAME`).
fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut due = vec![value];
    while let Some(value) = due.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    if let Some(name) = target.strip_prefix("#/components/schemas/") {
                        found.insert(name.replace("~1", "/").replace("~0", "~"));
                    }
                }
                due.extend(map.values());
            }
            Value::Array(items) => due.extend(items),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_wherever_they_are() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/components/schemas/A"},
                "b": {"type": "array", "items": {"$ref": "#/components/schemas/B~1C"}},
            },
            "anyOf": [{"$ref": "#/definitions/Other"}],
        });
        let found: Vec<String> = references(&schema).into_iter().collect();
        assert_eq!(found, ["A", "B/C"]);
    }
}
