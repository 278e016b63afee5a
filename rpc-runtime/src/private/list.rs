//! `methods![...]`: the compile-time check that no two entries share a name, and the router
//! the list (or a service) becomes. expand/list.rs and expand/service.rs.

use crate::MethodDescriptor;
pub use crate::Router;

/// The router of a `methods![...]` list (or a service), whose names, unsubscribe methods
/// included, were checked at compile time.
pub fn router(methods: Vec<MethodDescriptor>) -> Router {
    methods
        .into_iter()
        .flat_map(|method| {
            let unsubscribe = method.unsubscribe_method();
            std::iter::once(method).chain(unsubscribe)
        })
        .try_fold(Router::new(), Router::register)
        .unwrap_or_else(|err| unreachable!("methods![] checks names at compile time: {err}"))
}

/// What is wrong when `names[index]` repeats an earlier name, `None` when it does not; `paths`
/// are the list's entries as written, for the message. The caller panics with it in its own
/// constant, at the user's entry, so that the error has no frame of ours to show.
pub const fn duplicate(names: &[&str], paths: &[&str], index: usize) -> Option<Message> {
    // The empty unsubscribe name of a method that is no subscription.
    if names[index].is_empty() {
        return None;
    }
    let mut earlier = 0;
    while earlier < index {
        if str_eq(names[earlier], names[index]) {
            // Each entry has two slots, its name and its unsubscribe name.
            let (first, second) = (earlier / 2 + 1, index / 2 + 1);
            let mut message = Message::new();
            if first == second {
                // A subscription whose unsubscribe name is its own name.
                message.push("`");
                message.push(paths[index]);
                message.push("` uses `");
                message.push(names[index]);
                message.push("` both as its name and its unsubscribe name");
            } else if str_eq(paths[earlier], paths[index]) {
                message.push("`");
                message.push(paths[index]);
                message.push("` is listed twice in `methods![]` (entries ");
                message.push_number(first);
                message.push(" and ");
                message.push_number(second);
                message.push("): remove one");
            } else {
                message.push("entries ");
                message.push_number(first);
                message.push(" (`");
                message.push(paths[earlier]);
                message.push("`) and ");
                message.push_number(second);
                message.push(" (`");
                message.push(paths[index]);
                message.push("`) of `methods![]` are both served as `");
                message.push(names[index]);
                message.push("`: rename one, as in `#[rpc_method(\"other.name\")]`");
            }
            return Some(message);
        }
        earlier += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A fixed buffer to build a compile-time panic message in, since `const` code cannot format.
pub struct Message {
    bytes: [u8; 256],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Message {
            bytes: [0; 256],
            len: 0,
        }
    }

    const fn push(&mut self, text: &str) {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = text[i];
            self.len += 1;
            i += 1;
        }
    }

    const fn push_number(&mut self, mut number: usize) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (number % 10) as u8;
            count += 1;
            number /= 10;
            if number == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.bytes.len() {
            count -= 1;
            self.bytes[self.len] = digits[count];
            self.len += 1;
        }
    }

    /// The message.
    pub const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            // Truncation split a character; the names are lost, the fact is not.
            Err(_) => "duplicate method name",
        }
    }
}
