// The generated code names everything by absolute path: it compiles with no prelude and with
// the prelude's names shadowed by the user's own.
#![no_implicit_prelude]

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct String;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct Context;

#[::rpc_runtime::rpc_method]
fn add(a: i64, b: ::std::option::Option<i64>) -> ::core::result::Result<i64, ::rpc_runtime::RpcError> {
    ::core::result::Result::Ok(a + b.unwrap_or(0))
}

#[::rpc_runtime::rpc_method(blocking = true)]
fn count(#[rpc(rest)] values: ::std::vec::Vec<::std::string::String>, cx: ::rpc_runtime::Context) -> usize {
    let _ = cx;
    values.len()
}

#[::rpc_runtime::rpc_notification]
async fn note(text: ::std::string::String) {
    let _ = text;
}

fn main() {
    let router = ::rpc_runtime::methods![add, count, note];
    ::std::assert_eq!(router.len(), 3);
}
