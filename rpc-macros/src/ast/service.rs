//! A model of an `#[rpc_service]` trait: its methods, each modelled as a free function's is.

use syn::LitStr;

use super::{Method, Origin};
use crate::attr::{Kind, MethodArgs};
use crate::ctxt::Ctxt;

/// A model of an `#[rpc_service]` trait: its methods, and the trait itself with the macro
/// attributes removed.
pub(crate) struct Service {
    pub item: syn::ItemTrait,
    pub methods: Vec<Method>,
    pub namespace: Option<LitStr>,
}

impl Service {
    pub(crate) fn from_syn(
        cx: &Ctxt,
        args: crate::attr::ServiceArgs,
        mut item: syn::ItemTrait,
    ) -> Service {
        let mut methods = Vec::new();
        for trait_item in &mut item.items {
            let syn::TraitItem::Fn(function) = trait_item else {
                cx.error_spanned_by(
                    &*trait_item,
                    "`#[rpc_service]` traits can only contain methods",
                );
                continue;
            };
            // Unmarked methods are `#[rpc_method]`s with the defaults.
            let mut marker: Option<(Kind, MethodArgs)> = None;
            for attr in &function.attrs {
                let Some(kind) = crate::attr::method_attr_kind(attr) else {
                    continue;
                };
                let args = crate::attr::method_attr_args(cx, attr);
                if marker.replace((kind, args)).is_some() {
                    cx.error_spanned_by(
                        attr,
                        "a method takes one `#[rpc_method]`, `#[rpc_notification]` or `#[rpc_subscription]`",
                    );
                }
            }
            function
                .attrs
                .retain(|attr| crate::attr::method_attr_kind(attr).is_none());
            let (kind, args) = marker.unwrap_or((Kind::Method, MethodArgs::default()));
            let mut method = Method::from_syn(
                cx,
                kind,
                Origin::Service,
                args,
                item.vis.clone(),
                function.sig.clone(),
            );
            method.docs = super::doc_attrs(&function.attrs);
            // The trait keeps the signature without its `#[rpc(...)]` param attributes.
            function.sig = method.sig.clone();
            methods.push(method);
        }
        let namespace = args.namespace;
        if let Some(namespace) = &namespace {
            let prefixed = |name: &LitStr| {
                LitStr::new(
                    &format!("{}.{}", namespace.value(), name.value()),
                    name.span(),
                )
            };
            for method in &mut methods {
                method.name = prefixed(&method.name);
                if let Some(names) = &mut method.subscription {
                    names.unsubscribe = prefixed(&names.unsubscribe);
                    names.notification = prefixed(&names.notification);
                }
            }
        }
        Service {
            item,
            methods,
            namespace,
        }
    }
}
