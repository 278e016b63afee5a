//! An item serialized once, however many subscriptions send it.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A value shared by every subscription that sends it, and serialized once for all of them.
///
/// A typed subscription serializes each item it sends. When one item goes to many
/// subscriptions (a `tokio::sync::broadcast` channel feeding every subscriber, say), wrap it
/// in `Shared`: the first subscription to send it serializes it, the others copy the JSON.
/// Cloning is an `Arc`'s clone.
///
/// ```
/// use rpc_runtime::Shared;
///
/// #[derive(serde::Serialize)]
/// struct Price {
///     symbol: &'static str,
///     cents: u64,
/// }
///
/// let (sender, _) = tokio::sync::broadcast::channel::<Shared<Price>>(64);
/// let price = Shared::new(Price { symbol: "ACME", cents: 1250 });
/// assert_eq!(price.cents, 1250);
/// assert_eq!(serde_json::to_string(&price).unwrap(), r#"{"symbol":"ACME","cents":1250}"#);
/// // Every receiver gets the same value, and its JSON, made above, is not made again.
/// let _ = sender.send(price);
/// ```
///
/// It serializes as the JSON text of its value whatever the serializer (a format other than
/// JSON sees serde_json's `RawValue`), and deserializes as the value.
pub struct Shared<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    value: T,
    /// The value's JSON, or why it has none, made on first use.
    json: OnceLock<Result<Box<RawValue>, String>>,
}

impl<T> Shared<T> {
    /// Wraps `value`; it is serialized when first sent.
    pub fn new(value: T) -> Self {
        Shared {
            inner: Arc::new(Inner {
                value,
                json: OnceLock::new(),
            }),
        }
    }
}

impl<T: Serialize> Shared<T> {
    /// The value as JSON, made by the first caller.
    fn json(&self) -> Result<&RawValue, &str> {
        let json = self.inner.json.get_or_init(|| {
            serde_json::value::to_raw_value(&self.inner.value).map_err(|e| e.to_string())
        });
        json.as_deref().map_err(String::as_str)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner.value
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            inner: self.inner.clone(),
        }
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.value.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.json() {
            Ok(json) => json.serialize(serializer),
            Err(err) => Err(serde::ser::Error::custom(err)),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Shared::new)
    }
}

#[cfg(feature = "openrpc")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Shared<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts its serializations.
    struct Counted<'a>(&'a AtomicUsize);

    impl Serialize for Counted<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0.fetch_add(1, Ordering::Relaxed);
            serializer.serialize_str("tick")
        }
    }

    #[test]
    fn serializes_once_for_every_clone_and_inside_other_values() {
        let count = AtomicUsize::new(0);
        let shared = Shared::new(Counted(&count));
        for _ in 0..3 {
            let notice = serde_json::json!({ "result": shared.clone() });
            assert_eq!(notice.to_string(), r#"{"result":"tick"}"#);
            let text = crate::json::to_json(&(1, shared.clone())).unwrap();
            assert_eq!(text, r#"[1,"tick"]"#);
        }
        assert_eq!(count.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_value_that_cannot_be_serialized_fails_each_time() {
        let map: std::collections::HashMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        let shared = Shared::new(map);
        assert!(serde_json::to_string(&shared).is_err());
        assert!(serde_json::to_string(&shared).is_err());
    }

    #[test]
    fn deserializes_as_its_value() {
        let shared: Shared<Vec<u8>> = serde_json::from_str("[1,2]").unwrap();
        assert_eq!(*shared, [1, 2]);
    }
}
