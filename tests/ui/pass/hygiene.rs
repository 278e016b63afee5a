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

#[::rpc_runtime::rpc_service(namespace = "h")]
trait Hygienic {
    async fn add(&self, a: i64, b: ::std::option::Option<i64>) -> ::core::result::Result<i64, ::rpc_runtime::RpcError>;
    #[rpc_method(blocking = true)]
    fn count(&self, #[rpc(rest)] values: ::std::vec::Vec<::std::string::String>, cx: ::rpc_runtime::Context) -> usize;
    #[rpc_notification]
    fn note(&self, text: ::std::string::String);
}

struct Impl;

impl Hygienic for Impl {
    async fn add(&self, a: i64, b: ::std::option::Option<i64>) -> ::core::result::Result<i64, ::rpc_runtime::RpcError> {
        ::core::result::Result::Ok(a + b.unwrap_or(0))
    }
    fn count(&self, values: ::std::vec::Vec<::std::string::String>, cx: ::rpc_runtime::Context) -> usize {
        let _ = cx;
        values.len()
    }
    fn note(&self, text: ::std::string::String) {
        let _ = text;
    }
}

fn main() {
    let router = ::rpc_runtime::methods![add, count, note];
    ::std::assert_eq!(router.len(), 3);
    let service = Impl.into_router();
    ::std::assert_eq!(service.len(), 3);
    let _client = HygienicClient::new(::rpc_runtime::client::TestClient::new(service));
}
