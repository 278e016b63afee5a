// A type in `methods![]` that is not an annotated function.
use rpc_runtime::methods;

struct Add;

fn main() {
    let _router = methods![Add];
}
