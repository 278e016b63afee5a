// An associated type, which a client cannot know.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Store {
    type Value;
    fn get(&self, key: String) -> Option<String>;
}

fn main() {}
