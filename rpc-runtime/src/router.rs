//! The set of methods a server exposes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::MethodDescriptor;

/// The methods a server exposes, by name. Build one with [`methods!`](crate::methods), which
/// rejects a duplicate name at compile time, and combine routers with [`Router::merge`].
///
/// ```
/// use rpc_runtime::{methods, rpc_method};
///
/// #[rpc_method]
/// fn ping() -> &'static str { "pong" }
///
/// #[rpc_method("admin.reset")]
/// fn reset() {}
///
/// let router = methods![ping].merge(methods![reset]).unwrap();
/// assert_eq!(router.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Router {
    methods: HashMap<&'static str, MethodDescriptor>,
}

/// A router could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouterError {
    /// Two methods claim one name; nothing is ever silently replaced.
    #[error("method name `{name}` is registered by both `{first}` and `{second}`")]
    DuplicateMethod {
        /// The contested JSON-RPC name.
        name: &'static str,
        /// The function registered first.
        first: &'static str,
        /// The function that tried to take the name too.
        second: &'static str,
    },
}

impl Router {
    /// A router with no methods.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds one method; fails if its name is taken.
    pub fn register(mut self, method: MethodDescriptor) -> Result<Self, RouterError> {
        match self.methods.entry(method.name) {
            Entry::Occupied(taken) => Err(RouterError::DuplicateMethod {
                name: method.name,
                first: taken.get().rust_path,
                second: method.rust_path,
            }),
            Entry::Vacant(slot) => {
                slot.insert(method);
                Ok(self)
            }
        }
    }

    /// All of `other`'s methods added to this router's; fails on the first name both have.
    pub fn merge(self, other: Router) -> Result<Self, RouterError> {
        let mut methods: Vec<_> = other.methods.into_values().collect();
        // Report the same conflict on every run, whatever the hash order.
        methods.sort_unstable_by_key(|m| m.name);
        methods.into_iter().try_fold(self, Router::register)
    }

    /// The registered methods, in no particular order.
    pub fn methods(&self) -> impl Iterator<Item = &MethodDescriptor> {
        self.methods.values()
    }

    /// How many methods are registered.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    /// Whether no method is registered.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&MethodDescriptor> {
        self.methods.get(name)
    }
}
