//! The body of a handler, shared by free functions and service methods: read the params, call,
//! serialize the result.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Method, Output, Role};
use crate::attr::Kind;

/// The statements of `fn(__rpc_cx: Context, __rpc_params: Params<'_>) -> Result<Outcome, RpcError>`.
///
/// `callee` is what is called with the arguments (`subtract`, or `__rpc_service.subtract`);
/// `own` runs first, to bring what `callee` names into scope as an owned value that an async or
/// blocking call can take along.
//
// Input:  fn greet(name: String, greeting: Option<String>, cx: Context) -> String
// Output:
//     let __rpc_reader = __rpc_params.reader::<2usize>(&["name", "greeting"], false)?;
//     let __rpc_arg0 = __rpc_reader.required::<String>(0usize)?;
//     let __rpc_arg1 = __rpc_reader.optional::<String>(1usize)?;
//     let __rpc_arg2 = __rpc_cx;
//     Ok(Outcome::Ready({ let __rpc_value = greet(__rpc_arg0, __rpc_arg1, __rpc_arg2); encode(&__rpc_value) }))
pub(crate) fn body(method: &Method, callee: TokenStream, own: TokenStream) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    let count = method.rpc_params().count();
    let json_names = method.rpc_params().map(|param| param.json_name());
    let variadic = method
        .rpc_params()
        .any(|param| matches!(param.role, Role::Rest(_)));

    let args: Vec<_> = (0..method.params.len())
        .map(|i| format_ident!("__rpc_arg{i}"))
        .collect();
    let mut index = 0usize;
    let reads = method.params.iter().zip(&args).map(|(param, arg)| {
        let ty = &param.ty;
        let read = match &param.role {
            Role::Connection => return quote!(let #arg = __rpc_connection;),
            Role::Context => return quote!(let #arg = __rpc_cx;),
            // Spanned at the user's type, so a missing `Deserialize` impl is reported there.
            Role::Required => quote_spanned!(ty.span()=> __rpc_reader.required::<#ty>(#index)),
            Role::Optional(inner) => {
                quote_spanned!(ty.span()=> __rpc_reader.optional::<#inner>(#index))
            }
            Role::Rest(inner) => quote_spanned!(ty.span()=> __rpc_reader.rest::<#inner>(#index)),
        };
        index += 1;
        quote!(let #arg = #read?;)
    });

    let call = if method.is_async() {
        quote!(#callee(#(#args),*).await)
    } else {
        quote!(#callee(#(#args),*))
    };
    // Spanned at the return type, path included (an interpolated `#p` would keep the call
    // site's span), so a missing `Serialize` or `From` impl is reported there.
    let subscription = method
        .subscription
        .as_ref()
        .filter(|_| method.kind == Kind::Subscription);
    let encode = match (&method.output, subscription) {
        (Output::Value(ty), Some(names)) => {
            let notification = &names.notification;
            quote_spanned! {ty.span()=>
                { let __rpc_value = #call; ::rpc_runtime::__private::subscription::subscribe(&__rpc_subscriber, #notification, __rpc_value) }
            }
        }
        (Output::Fallible(ty), Some(names)) => {
            let notification = &names.notification;
            let value = fallible(ty, &call);
            quote_spanned! {ty.span()=>
                { let __rpc_value = #value; ::rpc_runtime::__private::subscription::subscribe_result(&__rpc_subscriber, #notification, __rpc_value) }
            }
        }
        (output, _) => encode(output, &call),
    };
    let blocking = method.args.blocking.as_ref().is_some_and(|flag| flag.value);
    let start = if method.is_async() {
        quote!(#p::handler::pending(async move { #encode }))
    } else if blocking {
        quote!(#p::handler::blocking(move || #encode))
    } else {
        quote!(#p::method::Outcome::Ready(#encode))
    };

    // Taken before the params, since a `Context` param moves the context.
    let connection = method
        .connection_param()
        .map(|_| quote!(let __rpc_connection = #p::handler::connection(&__rpc_cx)?;));
    let subscriber = subscription.map(
        |_| quote!(let __rpc_subscriber = <#p::method::Context as ::core::clone::Clone>::clone(&__rpc_cx);),
    );

    quote! {
        #own
        #connection
        #subscriber
        let __rpc_reader = __rpc_params.reader::<#count>(&[#(#json_names),*], #variadic)?;
        #(#reads)*
        ::core::result::Result::Ok(#start)
    }
}

/// A handler's return value, encoded as its result.
fn encode(output: &Output, call: &TokenStream) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    match output {
        Output::Unit => quote!({ #call; #p::handler::unit() }),
        Output::Value(ty) => quote_spanned! {ty.span()=>
            { let __rpc_value = #call; ::rpc_runtime::__private::handler::encode(&__rpc_value) }
        },
        Output::Fallible(ty) => {
            let value = fallible(ty, call);
            quote_spanned! {ty.span()=>
                { let __rpc_value = #value; ::rpc_runtime::__private::handler::encode_result(__rpc_value) }
            }
        }
    }
}

/// A fallible handler's return value with its error made an `RpcError`: by the user's `From`
/// impl if there is one, else by the error's `Display`; see `__private::HandlerError`. Spanned
/// at the return type, where an error type with neither is reported.
fn fallible(ty: &syn::Type, call: &TokenStream) -> TokenStream {
    quote_spanned! {ty.span()=>
        {
            #[allow(unused_imports)]
            use ::rpc_runtime::__private::handler::{ViaDisplay as _, ViaFrom as _};
            #call.map_err(|__rpc_err| ::rpc_runtime::__private::handler::HandlerError(__rpc_err).into_rpc_error())
        }
    }
}

/// What the descriptor adds to its constant arguments: a subscription's unsubscribe method
/// and notification names, and the guard.
pub(crate) fn descriptor_extras(method: &Method) -> TokenStream {
    let subscription = match &method.subscription {
        Some(names) if method.kind == Kind::Subscription => {
            let (unsubscribe, notification) = (&names.unsubscribe, &names.notification);
            quote!(.with_subscription(#unsubscribe, #notification))
        }
        _ => TokenStream::new(),
    };
    // Spanned so that a function of the wrong signature is reported at the path the user wrote.
    let guard = method.args.guard.as_ref().map(
        |path| quote_spanned!(path.span()=> .with_guard(::rpc_runtime::__private::handler::guard(#path))),
    );
    let docs = super::docs::with_docs(method);
    quote!(#subscription #guard #docs)
}

/// The descriptor's constant arguments: name, Rust path, kind and transport flags.
pub(crate) fn descriptor_args(method: &Method, name: &TokenStream, rust_path: &str) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    let kind = match method.kind {
        Kind::Method => quote!(#p::method::MethodKind::Call),
        Kind::Notification => quote!(#p::method::MethodKind::Notification),
        Kind::Subscription => quote!(#p::method::MethodKind::Subscription),
    };
    // A method that takes a `Connection`, and a subscription, exist on WebSocket only; `check`
    // rejects saying otherwise.
    let http = method.connection_param().is_none()
        && method.kind != Kind::Subscription
        && method.args.http.as_ref().is_none_or(|flag| flag.value);
    let websocket = method.args.websocket.as_ref().is_none_or(|flag| flag.value);
    quote! {
        #name,
        ::core::concat!(::core::module_path!(), "::", #rust_path),
        #kind,
        #http,
        #websocket
    }
}
