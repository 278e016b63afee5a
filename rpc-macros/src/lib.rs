//! Procedural macros for `rpc-runtime`. Depend on `rpc-runtime`, which re-exports them; the
//! code they generate names only `::rpc_runtime::__private`.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod types;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Token, parse_macro_input};

use crate::ast::{Method, Origin, Service};
use crate::attr::{Kind, MethodArgs, RawArgs, ServiceArgs};
use crate::ctxt::Ctxt;

/// Exposes a function as a JSON-RPC method. Documented on `rpc_runtime::rpc_method`.
#[proc_macro_attribute]
pub fn rpc_method(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as RawArgs);
    function(Kind::Method, args, item.into()).into()
}

/// Registers a handler for inbound notifications. Documented on `rpc_runtime::rpc_notification`.
#[proc_macro_attribute]
pub fn rpc_notification(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as RawArgs);
    function(Kind::Notification, args, item.into()).into()
}

/// Serves a stream as a subscription. Documented on `rpc_runtime::rpc_subscription`.
#[proc_macro_attribute]
pub fn rpc_subscription(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as RawArgs);
    function(Kind::Subscription, args, item.into()).into()
}

/// Serves a trait's methods and generates its typed client. Documented on
/// `rpc_runtime::rpc_service`.
#[proc_macro_attribute]
pub fn rpc_service(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as RawArgs);
    service(args, item.into()).into()
}

/// Builds a router from annotated functions. Documented on `rpc_runtime::methods`.
#[proc_macro]
pub fn methods(input: TokenStream) -> TokenStream {
    let paths = parse_macro_input!(input with Punctuated::<syn::Path, Token![,]>::parse_terminated);
    let paths: Vec<_> = paths.into_iter().collect();
    expand::expand_list(&paths).into()
}

fn function(kind: Kind, args: RawArgs, item: TokenStream2) -> TokenStream2 {
    let mut item: syn::ItemFn = match syn::parse2(item) {
        Ok(item) => item,
        Err(err) => {
            let message = format!("`{}` can only be used on functions", kind.attr());
            return syn::Error::new(err.span(), message).to_compile_error();
        }
    };
    let cx = Ctxt::new();
    let args = MethodArgs::from_raw(&cx, args);
    let mut method = Method::from_syn(
        &cx,
        kind,
        Origin::Function,
        args,
        item.vis.clone(),
        item.sig.clone(),
    );
    method.docs = ast::doc_attrs(&item.attrs);
    check::method(&cx, &method);
    // The function is emitted without its `#[rpc(...)]` param attributes, which rustc does not
    // know, and is kept even when there are errors so that its callers still compile.
    item.sig = method.sig.clone();
    match cx.check() {
        Ok(()) => expand::expand_method(&method, quote!(#item)),
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#item #err)
        }
    }
}

fn service(args: RawArgs, item: TokenStream2) -> TokenStream2 {
    let item: syn::ItemTrait = match syn::parse2(item) {
        Ok(item) => item,
        Err(err) => {
            return syn::Error::new(err.span(), "`#[rpc_service]` can only be used on traits")
                .to_compile_error();
        }
    };
    let cx = Ctxt::new();
    let args = ServiceArgs::from_raw(&cx, args);
    let service = Service::from_syn(&cx, args, item);
    check::service(&cx, &service);
    match cx.check() {
        Ok(()) => expand::expand_service(&service),
        // The trait is kept, minus the macro's own attributes, so its impls still compile.
        Err(err) => {
            let item = &service.item;
            let err = err.to_compile_error();
            quote!(#item #err)
        }
    }
}
