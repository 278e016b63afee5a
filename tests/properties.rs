//! Properties of the dispatcher over generated input, in the normal test run: whatever arrives,
//! the answer is a valid JSON-RPC response or nothing, never a panic; ids come back exactly as
//! sent; positional and named params give the same answer.

mod common;

use common::spec;
use proptest::prelude::*;
use rpc_runtime::Transport;
use rpc_runtime::client::TestClient;
use serde_json::{Value, json};

fn client() -> TestClient {
    TestClient::builder(spec::router())
        .transport(Transport::Http)
        .state(spec::Ticks::default())
        .build()
}

/// Runs `future` to completion on a fresh single-threaded runtime.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// One response object: an `id`, and for 2.0 exactly one of `result` and `error`, for 1.0
/// both with at most one of them non-null; an error has an integer code and a string message.
fn assert_response(value: &Value) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    let has = |key: &str| object.contains_key(key);
    assert!(has("id"), "no id: {value}");
    if has("jsonrpc") {
        assert_eq!(object["jsonrpc"], "2.0", "{value}");
        assert!(
            has("result") != has("error"),
            "not exactly one of result and error: {value}"
        );
    } else {
        assert!(
            has("result") && has("error"),
            "a 1.0 answer carries both: {value}"
        );
        assert!(
            object["result"].is_null() || object["error"].is_null(),
            "{value}"
        );
    }
    if let Some(error) = object.get("error").filter(|error| !error.is_null()) {
        assert!(error["code"].is_i64(), "{value}");
        assert!(error["message"].is_string(), "{value}");
    }
}

fn assert_answer(answer: Option<String>) {
    let Some(text) = answer else { return };
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    match &value {
        Value::Array(members) => {
            assert!(!members.is_empty(), "an empty batch answer");
            members.iter().for_each(assert_response);
        }
        single => assert_response(single),
    }
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Something shaped like a request, with every field possibly wrong.
fn request_like() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        Just(json!("subtract")),
        Just(json!("sum")),
        Just(json!("echo")),
        Just(json!("greet")),
        Just(json!("rpc.subscribe")),
        json_value(),
    ];
    let version = prop_oneof![Just(json!("2.0")), Just(json!("1.0")), json_value()];
    (
        proptest::option::of(version),
        proptest::option::of(method),
        proptest::option::of(json_value()),
        proptest::option::of(json_value()),
    )
        .prop_map(|(version, method, params, id)| {
            let mut request = serde_json::Map::new();
            for (key, value) in [
                ("jsonrpc", version),
                ("method", method),
                ("params", params),
                ("id", id),
            ] {
                if let Some(value) = value {
                    request.insert(key.to_owned(), value);
                }
            }
            Value::Object(request)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_a_valid_response_or_none(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_answer(block_on(client().request_bytes(&bytes)));
    }

    #[test]
    fn any_json_gets_a_valid_response_or_none(value in json_value()) {
        assert_answer(block_on(client().request(&value.to_string())));
    }

    #[test]
    fn request_shapes_and_batches_of_them_get_valid_responses(
        requests in prop::collection::vec(request_like(), 1..8),
        batched in any::<bool>(),
    ) {
        let client = client();
        if batched {
            assert_answer(block_on(client.request(&Value::Array(requests).to_string())));
        } else {
            for request in requests {
                assert_answer(block_on(client.request(&request.to_string())));
            }
        }
    }

    #[test]
    fn ids_come_back_exactly_as_sent(
        id in prop_oneof![
            ".{0,16}".prop_map(|s| Value::from(s).to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            // Integers too large for any Rust type, and numbers in forms a parser would
            // normalize: kept as written.
            "[1-9][0-9]{20,40}",
            Just("1.50".to_owned()),
            Just("-0".to_owned()),
            Just("1e3".to_owned()),
            Just(r#""\u00e9\n""#.to_owned()),
        ],
    ) {
        let request = format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[1,2],"id":{id}}}"#);
        let answer = block_on(client().request(&request)).expect("an answer");
        let expected_tail = format!(r#""id":{id}}}"#);
        prop_assert!(answer.ends_with(&expected_tail) || answer.contains(&format!(r#""id":{id},"#)), "{} lost {}", answer, id);
    }

    #[test]
    fn positional_and_named_params_give_the_same_answer(
        minuend in any::<i64>(),
        subtrahend in any::<i64>(),
        name in ".{0,16}",
        greeting in proptest::option::of(".{0,16}"),
    ) {
        let client = client();
        let ask = |method: &str, params: Value| {
            block_on(client.request(&json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).to_string()))
        };
        prop_assert_eq!(
            ask("subtract", json!([minuend, subtrahend])),
            ask("subtract", json!({"subtrahend": subtrahend, "minuend": minuend}))
        );
        let named = match &greeting {
            Some(greeting) => json!({"name": name, "greeting": greeting}),
            None => json!({"name": name}),
        };
        let positional = match &greeting {
            Some(greeting) => json!([name, greeting]),
            None => json!([name]),
        };
        prop_assert_eq!(ask("greet", positional), ask("greet", named));
    }
}
