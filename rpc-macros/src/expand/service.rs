//! `#[rpc_service]`: the trait, made servable, and its typed client.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{ReturnType, TraitItem, parse_quote};

use super::{client, handler};
use crate::ast::Service;
use crate::attr::Kind;

// Input:
//     #[rpc_service(namespace = "math")]
//     pub trait Math {
//         async fn add(&self, a: i64, b: i64) -> i64;
//     }
// Output:
//     pub trait Math {
//         fn add(&self, a: i64, b: i64) -> impl Future<Output = i64> + Send;
//         fn into_router(self) -> Router where Self: Sized + Send + Sync + 'static {
//             let __rpc_service = Arc::new(self);
//             router(vec![{
//                 let __rpc_shared = Arc::clone(&__rpc_service);
//                 MethodDescriptor::shared("math.add", "crate::Math::add", Kind::Call, true, true,
//                     move |__rpc_cx, __rpc_params| { /* handler::body, calling __rpc_service.add */ })
//             }])
//         }
//     }
//     pub struct MathClient<C> { .. }   // see `client`
pub(crate) fn expand_service(service: &Service) -> TokenStream {
    let mut item = service.item.clone();
    let functions = item.items.iter_mut().filter_map(|item| match item {
        TraitItem::Fn(function) => Some(function),
        _ => None,
    });
    for (function, method) in functions.zip(&service.methods) {
        if method.kind == Kind::Subscription {
            make_static_stream(function);
        }
        make_send(function);
    }
    let shared = shared_impl(&item);
    item.items.push(into_router(service));
    let client = client::expand_client(service);
    quote! {
        #item
        #shared
        #client
    }
}

/// `Arc<S>` serves as `S` does, so that a service kept for pushing or inspecting its state can
/// also be served: `Arc::clone(&service).into_router()`.
//
// Input:  pub trait Math { fn add(&self, a: i64) -> impl Future<Output = i64> + Send; }
// Output: impl<S: Math> Math for Arc<S> {
//             fn add(&self, a: i64) -> impl Future<Output = i64> + Send { <S as Math>::add(self, a) }
//         }
fn shared_impl(item: &syn::ItemTrait) -> TokenStream {
    let trait_ident = &item.ident;
    let methods = item.items.iter().filter_map(|item| match item {
        TraitItem::Fn(function) => Some(&function.sig),
        _ => None,
    });
    let forwards = methods.map(|sig| {
        // The params are only passed on: `mut` would warn.
        let mut sig = sig.clone();
        for input in &mut sig.inputs {
            if let syn::FnArg::Typed(typed) = input
                && let syn::Pat::Ident(pat) = &mut *typed.pat
            {
                pat.mutability = None;
            }
        }
        let ident = &sig.ident;
        let args = sig.inputs.iter().filter_map(|input| match input {
            syn::FnArg::Typed(typed) => match &*typed.pat {
                syn::Pat::Ident(pat) => Some(&pat.ident),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        });
        quote! {
            #[inline]
            #sig {
                <__RpcService as #trait_ident>::#ident(self, #(#args),*)
            }
        }
    });
    quote! {
        impl<__RpcService: #trait_ident> #trait_ident for ::std::sync::Arc<__RpcService> {
            #(#forwards)*
        }
    }
}

/// Declares an `async fn` as returning a `Send` future, which the server needs to run it on
/// any thread; implementations may still write `async fn`.
//
// Input:  async fn add(&self, a: i64) -> i64 { a }
// Output: fn add(&self, a: i64) -> impl Future<Output = i64> + Send { async move { a } }
fn make_send(function: &mut syn::TraitItemFn) {
    if function.sig.asyncness.take().is_none() {
        return;
    }
    let output = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    function.sig.output =
        parse_quote!(-> impl ::core::future::Future<Output = #output> + ::core::marker::Send);
    if let Some(body) = &function.default {
        function.default = Some(parse_quote!({ async move #body }));
    }
}

/// Declares a subscription's `impl Stream` as `Send + 'static`, which the server needs to run
/// it on its own task after the call; the implementation says the same.
//
// Input:  fn ticks(&self) -> impl Stream<Item = u64>;
// Output: fn ticks(&self) -> impl Stream<Item = u64> + Send + 'static;
fn make_static_stream(function: &mut syn::TraitItemFn) {
    let ReturnType::Type(_, ty) = &mut function.sig.output else {
        return;
    };
    let stream = match &mut **ty {
        syn::Type::ImplTrait(stream) => stream,
        // `Result<impl Stream<..>, E>`: the stream is the first type argument.
        syn::Type::Path(path) => {
            let Some(syn::PathArguments::AngleBracketed(args)) = path
                .path
                .segments
                .last_mut()
                .map(|segment| &mut segment.arguments)
            else {
                return;
            };
            match args.args.first_mut() {
                Some(syn::GenericArgument::Type(syn::Type::ImplTrait(stream))) => stream,
                _ => return,
            }
        }
        _ => return,
    };
    let has = |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
               name: &str| {
        bounds.iter().any(|bound| match bound {
            syn::TypeParamBound::Trait(bound) => {
                bound.path.is_ident(name)
                    || bound
                        .path
                        .segments
                        .last()
                        .is_some_and(|segment| segment.ident == name)
            }
            syn::TypeParamBound::Lifetime(lifetime) => lifetime.ident == name,
            _ => false,
        })
    };
    if !has(&stream.bounds, "Send") {
        stream.bounds.push(parse_quote!(::core::marker::Send));
    }
    if !has(&stream.bounds, "static") {
        stream.bounds.push(parse_quote!('static));
    }
}

fn into_router(service: &Service) -> TraitItem {
    let p = quote!(::rpc_runtime::__private);
    let trait_ident = &service.item.ident;
    let descriptors = service.methods.iter().map(|method| {
        let ident = &method.sig.ident;
        let callee = quote!(__rpc_service.#ident);
        let own = quote!(let __rpc_service = <::std::sync::Arc<_> as ::core::clone::Clone>::clone(&__rpc_shared););
        let body = handler::body(method, callee, own);
        let name = method.name.to_token_stream();
        let args = handler::descriptor_args(method, &name, &format!("{trait_ident}::{ident}"));
        let extras = handler::descriptor_extras(method);
        quote! {{
            let __rpc_shared = <::std::sync::Arc<_> as ::core::clone::Clone>::clone(&__rpc_service);
            #p::method::MethodDescriptor::shared(
                #args,
                #[allow(unused_variables)]
                move |__rpc_cx: #p::method::Context, __rpc_params: #p::method::Params<'_>|
                    -> ::core::result::Result<#p::method::Outcome, #p::method::RpcError> {
                    #body
                },
            )#extras
        }}
    });
    let doc = format!("Serves this `{trait_ident}` over JSON-RPC: every call shares `self`.");
    parse_quote! {
        #[doc = #doc]
        fn into_router(self) -> ::rpc_runtime::__private::list::Router
        where
            Self: ::core::marker::Sized + ::core::marker::Send + ::core::marker::Sync + 'static,
        {
            let __rpc_service = ::std::sync::Arc::new(self);
            #p::list::router(::std::vec![#(#descriptors),*])
        }
    }
}
