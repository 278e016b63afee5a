//! Rules about a method as a whole: what its parts must be together.

use std::collections::HashMap;

use crate::ast::{Method, Origin, Output, Role, Service};
use crate::attr::Kind;
use crate::ctxt::Ctxt;

pub(crate) fn method(cx: &Ctxt, method: &Method) {
    signature(cx, method);
    name(cx, method);
    if method.kind == Kind::Subscription {
        subscription(cx, method);
    } else {
        transports(cx, method);
        for arg in [&method.args.unsubscribe, &method.args.notification]
            .into_iter()
            .flatten()
        {
            cx.error_spanned_by(arg, format!("only a `#[rpc_subscription]` has unsubscribe and notification names; `{}` takes neither", method.attr()));
        }
    }
    output(cx, method);
    params(cx, method);
}

/// A subscription exists on WebSocket only, returns a stream, and has names for its
/// unsubscribe method and its notifications.
fn subscription(cx: &Ctxt, method: &Method) {
    fn on(flag: &Option<syn::LitBool>) -> Option<&syn::LitBool> {
        flag.as_ref().filter(|flag| flag.value)
    }
    fn off(flag: &Option<syn::LitBool>) -> Option<&syn::LitBool> {
        flag.as_ref().filter(|flag| !flag.value)
    }
    if let Some(http) = on(&method.args.http) {
        cx.error_spanned_by(http, "a subscription sends its items over the connection it was made on, which HTTP does not keep: remove `http = true`");
    }
    if let Some(websocket) = off(&method.args.websocket) {
        cx.error_spanned_by(websocket, "a subscription needs WebSocket, the only transport that can carry its items: remove `websocket = false`");
    }
    if let Some(blocking) = on(&method.args.blocking) {
        cx.error_spanned_by(blocking, "`blocking = true` is not supported on subscriptions: make the function `async` and do blocking work in `tokio::task::spawn_blocking`");
    }
    if matches!(method.output, Output::Unit) {
        cx.syn_error(syn::Error::new(
            method.output.span(&method.sig),
            "a subscription returns the stream of its items: write `-> impl Stream<Item = T> + Send + 'static` (or `Result<impl Stream<...>, E>` to refuse it)",
        ));
    }
    let name = method.name.value();
    match &method.subscription {
        None => {
            let missing: Vec<_> = [
                ("unsubscribe", &method.args.unsubscribe),
                ("notification", &method.args.notification),
            ]
            .into_iter()
            .filter(|(_, given)| given.is_none())
            .map(|(key, _)| format!("`{key} = \"...\"`"))
            .collect();
            cx.error_spanned_by(
                &method.name,
                format!("`{name}` does not start with `subscribe_`, so its other names cannot be derived: give {}", missing.join(" and ")),
            );
        }
        Some(names) => {
            for other in [&names.unsubscribe, &names.notification] {
                if other.value() == name {
                    cx.error_spanned_by(
                        other,
                        format!("`{name}` is the subscription's own name: choose another"),
                    );
                }
            }
            if names.unsubscribe.value() == names.notification.value() {
                cx.error_spanned_by(
                    &names.notification,
                    "the notification cannot be named like the unsubscribe method",
                );
            }
        }
    }
}

fn signature(cx: &Ctxt, method: &Method) {
    let attr = method.attr();
    let sig = &method.sig;
    let generic = match method.origin {
        Origin::Function => format!("`{attr}` cannot be used on generic functions"),
        Origin::Service => format!("`{attr}` methods cannot be generic"),
    };
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(&sig.generics, &generic);
    }
    for param in &method.params {
        if let syn::Type::ImplTrait(impl_trait) = &param.ty {
            cx.error_spanned_by(impl_trait, &generic);
        }
    }
    if let Some(unsafety) = &sig.unsafety {
        cx.error_spanned_by(
            unsafety,
            format!("`{attr}` cannot be used on unsafe functions"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(
            variadic,
            format!("`{attr}` cannot be used on C-variadic functions"),
        );
    }
}

fn name(cx: &Ctxt, method: &Method) {
    let name = method.name.value();
    if name.is_empty() {
        cx.error_spanned_by(&method.name, "the method name cannot be empty");
    } else if name.starts_with("rpc.") {
        cx.error_spanned_by(
            &method.name,
            "method names beginning with `rpc.` are reserved by JSON-RPC for the protocol itself",
        );
    }
}

fn transports(cx: &Ctxt, method: &Method) {
    let off = |flag: &Option<syn::LitBool>| flag.as_ref().is_some_and(|flag| !flag.value);
    let on = |flag: &Option<syn::LitBool>| flag.as_ref().is_some_and(|flag| flag.value);
    if let Some(param) = method.connection_param() {
        let ty = &param.ty;
        let ty = quote::quote!(#ty).to_string().replace(' ', "");
        if on(&method.args.http) {
            cx.error_spanned_by(
                &method.args.http,
                format!("a method that takes a `{ty}` exists on WebSocket only, since HTTP has no connection to push to: remove `http = true`, or take `Context` and use `cx.connection()`, which is `None` over HTTP"),
            );
        }
        if off(&method.args.websocket) {
            cx.error_spanned_by(
                &method.args.websocket,
                format!("a method that takes a `{ty}` needs WebSocket, since HTTP has no connection to push to: remove `websocket = false`, or remove the `{ty}` param"),
            );
        }
        return;
    }
    if off(&method.args.http) && off(&method.args.websocket) {
        cx.error_spanned_by(
            &method.args.websocket,
            "a method served on no transport can never be called: remove `http = false` or `websocket = false`",
        );
    }
    if let Some(blocking) = method.args.blocking.as_ref().filter(|flag| flag.value) {
        if method.is_async() {
            cx.error_spanned_by(
                blocking,
                "`blocking = true` is for sync functions: an async function runs on the runtime's own tasks",
            );
        }
    }
}

fn output(cx: &Ctxt, method: &Method) {
    if method.kind == Kind::Notification && !matches!(method.output, Output::Unit) {
        cx.syn_error(syn::Error::new(
            method.output.span(&method.sig),
            "a notification handler cannot return a value, since notifications are never answered: remove the return type",
        ));
    }
}

fn params(cx: &Ctxt, method: &Method) {
    let mut names: HashMap<String, &syn::Ident> = HashMap::new();
    let mut context = None;
    let mut connection = None;
    let rpc_params: Vec<_> = method.rpc_params().collect();
    for param in &method.params {
        let (first, injected) = match param.role {
            Role::Context => (&mut context, "Context"),
            Role::Connection => (&mut connection, "Connection"),
            _ => (&mut None, ""),
        };
        if param.role.is_injected() {
            if let Some(first) = first.replace(&param.ident) {
                cx.error_spanned_by(
                    &param.ty,
                    format!("only one `{injected}` param is allowed, and `{first}` is one"),
                );
            }
            if let Some(rename) = &param.rename {
                cx.error_spanned_by(
                    rename,
                    format!(
                        "the `{injected}` param is not read from the request, so it has no name"
                    ),
                );
            }
            continue;
        }
        let json_name = param.json_name();
        if let Some(first) = names.insert(json_name.clone(), &param.ident) {
            let at = param
                .rename
                .as_ref()
                .map_or(param.ident.span(), syn::LitStr::span);
            cx.syn_error(syn::Error::new(
                at,
                format!("param name `{json_name}` is already used by `{first}`"),
            ));
        }
        if let (Role::Rest(inner), Some(rest)) = (&param.role, &param.rest) {
            if inner.is_none() {
                cx.error_spanned_by(&param.ty, "a `#[rpc(rest)]` param collects the remaining params, so its type must be `Vec<T>`");
            }
            let is_last = rpc_params
                .last()
                .is_some_and(|last| std::ptr::eq(*last, param));
            if !is_last {
                cx.error_spanned_by(rest, "only the last param can be `#[rpc(rest)]`");
            }
        }
    }
}

pub(crate) fn service(cx: &Ctxt, service: &Service) {
    let generics = &service.item.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        cx.error_spanned_by(
            generics,
            "`#[rpc_service]` cannot be used on generic traits",
        );
    }
    if let Some(namespace) = &service.namespace {
        let value = namespace.value();
        if value.is_empty() || value.starts_with('.') || value.ends_with('.') {
            cx.error_spanned_by(
                namespace,
                "the namespace must be a name without a leading or trailing `.`, like `\"math\"`",
            );
        }
    }
    let client = format!("{}Client", service.item.ident);
    let mut names: HashMap<String, &syn::Ident> = HashMap::new();
    for method in &service.methods {
        self::method(cx, method);
        let ident = &method.sig.ident;
        let generated = if ident == "into_router" {
            Some("the method `#[rpc_service]` adds to the trait".to_owned())
        } else if ident == "new" {
            Some(format!("the constructor of the generated `{client}`"))
        } else {
            None
        };
        if let Some(generated) = generated {
            cx.error_spanned_by(
                ident,
                format!("`{ident}` is {generated}: rename this method (its JSON-RPC name can stay `{ident}` with `#[rpc_method(\"{ident}\")]`)"),
            );
        }
        let unsubscribe = method.subscription.as_ref().map(|names| &names.unsubscribe);
        for name in std::iter::once(&method.name).chain(unsubscribe) {
            if let Some(first) = names.insert(name.value(), ident) {
                let at = method
                    .args
                    .name
                    .as_ref()
                    .map_or(ident.span(), syn::LitStr::span);
                cx.syn_error(syn::Error::new(
                    at,
                    format!(
                        "method name `{}` is already used by `{first}`",
                        name.value()
                    ),
                ));
            }
        }
        if method.kind == Kind::Subscription {
            if method.item_type().is_none() && !matches!(method.output, Output::Unit) {
                cx.syn_error(syn::Error::new(
                    method.output.span(&method.sig),
                    "the typed client needs the item type: write the return type as `impl Stream<Item = T> + Send + 'static`",
                ));
            }
        } else if method.output.success_type().is_none() {
            cx.syn_error(syn::Error::new(
                method.output.span(&method.sig),
                "the typed client needs the success type: write the return type as `Result<T, E>`",
            ));
        }
    }
}
