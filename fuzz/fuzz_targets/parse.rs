//! Request and response parsing: any text, read as a request by the server and as an answer
//! by the client.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    rpc_runtime::__private::parse_incoming(text);
});
