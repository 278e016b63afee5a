//! In-process dispatch, ours beside jsonrpsee's `RpcModule::raw_json_request`, for the same
//! requests: from the request text to the response text, no socket.
//!
//! `cargo bench -p rpc-bench --bench dispatch`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonrpsee::RpcModule;
use rpc_bench::servers::{ours, theirs};
use rpc_runtime::client::TestClient;
use serde_json::value::RawValue;

fn call(method: &str, params: &str, id: usize) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":{id}}}"#)
}

fn batch(size: usize) -> String {
    let calls: Vec<String> = (0..size)
        .map(|id| call("subtract", "[42,23]", id))
        .collect();
    format!("[{}]", calls.join(","))
}

/// jsonrpsee has no in-process batch API; its server runs a batch's calls one after another
/// and joins the answers, which this does with its in-process call.
async fn jsonrpsee_batch(module: &RpcModule<theirs::Impl>, request: &str) -> String {
    let calls: Vec<&RawValue> = serde_json::from_str(request).expect("a batch");
    let mut answers = Vec::with_capacity(calls.len());
    for call in calls {
        let (answer, _) = module
            .raw_json_request(call.get(), 1)
            .await
            .expect("a request");
        answers.push(answer);
    }
    let texts: Vec<&str> = answers.iter().map(|answer| answer.get()).collect();
    format!("[{}]", texts.join(","))
}

async fn jsonrpsee_answer(module: &RpcModule<theirs::Impl>, request: &str) -> String {
    if request.starts_with('[') {
        jsonrpsee_batch(module, request).await
    } else {
        module
            .raw_json_request(request, 1)
            .await
            .expect("a request")
            .0
            .get()
            .to_owned()
    }
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = TestClient::new(ours::router());
    let theirs = theirs::module();
    let cases = [
        (
            "subtract positional",
            call("subtract", "[42,23]", 1),
            r#""result":19"#,
        ),
        (
            "subtract named",
            call("subtract", r#"{"minuend":42,"subtrahend":23}"#, 1),
            r#""result":19"#,
        ),
        (
            "1 KiB string result",
            call("text_1k", "[]", 1),
            r#""result":"xxxx"#,
        ),
        ("unknown method", call("nope", "[]", 1), "-32601"),
        ("batch of 10", batch(10), r#""result":19"#),
        ("batch of 100", batch(100), r#""result":19"#),
    ];
    for (name, request, expected) in &cases {
        // Both must do the work, not fail fast, for the comparison to mean anything.
        let (mine, theirs_answer) = runtime.block_on(async {
            (
                ours.request(request).await.unwrap_or_default(),
                jsonrpsee_answer(&theirs, request).await,
            )
        });
        assert!(mine.contains(expected), "ours, {name}: {mine}");
        assert!(
            theirs_answer.contains(expected),
            "jsonrpsee, {name}: {theirs_answer}"
        );

        let mut group = c.benchmark_group(*name);
        group.bench_function("ours", |b| {
            b.to_async(&runtime)
                .iter(|| async { black_box(ours.request(black_box(request)).await) })
        });
        group.bench_function("jsonrpsee", |b| {
            b.to_async(&runtime)
                .iter(|| async { black_box(jsonrpsee_answer(&theirs, black_box(request)).await) })
        });
        group.finish();
    }
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
